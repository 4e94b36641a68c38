// libFuzzer's driver entry point (compiler-rt, linked by -sanitize=fuzzer). SwiftPM links every executable with
// `main` aliased to `<module>_main`, so the fuzz targets define that symbol and hand control to libFuzzer here.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
