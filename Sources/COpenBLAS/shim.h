#include <cblas.h>
/* OpenBLAS extensions (declared in its cblas.h on Debian, repeated here for clarity). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* The kernel set OpenBLAS chose when it loaded (e.g. "Haswell", "SkylakeX") and its build configuration
   (version, DYNAMIC_ARCH or the one fixed target). */
char *openblas_get_corename(void);
char *openblas_get_config(void);
