#include <dlfcn.h>
#include <dnnl.h>
#include <dnnl_debug.h>

/* dnnl_sgemm on the calling thread only. Debian's oneDNN runs its parallel regions through OpenMP (libgomp) with
 * one thread per core by default; cxr-edit's own thread pool already splits every GEMM among the threads (see
 * ComputeThreads), so a second level of threads would only compete for the same cores. OpenMP's thread count is a
 * per-thread setting (the calling thread's nthreads-var), so it is set to 1 once on each thread that multiplies.
 * omp.h is not on clang's path and libgomp.so is not on the linker's, so the call is found with dlsym in the
 * libgomp that libdnnl itself loaded; a oneDNN built without OpenMP has no such symbol and nothing to limit (its
 * runtime is reported by `OneDNN.runtime`). */
static inline dnnl_status_t cxr_dnnl_sgemm(
    char transa, char transb, dnnl_dim_t m, dnnl_dim_t n, dnnl_dim_t k, float alpha, const float *a, dnnl_dim_t lda,
    const float *b, dnnl_dim_t ldb, float beta, float *c, dnnl_dim_t ldc) {
    static __thread int limited;
    if (!limited) {
        void (*set_num_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
        if (set_num_threads) set_num_threads(1);
        limited = 1;
    }
    return dnnl_sgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* The OpenMP threads a oneDNN parallel region on this thread would use (1 after cxr_dnnl_sgemm ran here), or -1
 * without OpenMP: lets the tests check the limit instead of trusting it. */
static inline int cxr_dnnl_openmp_max_threads(void) {
    int (*get_max_threads)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    return get_max_threads ? get_max_threads() : -1;
}
