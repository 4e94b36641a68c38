/* Single-threaded sgemm, oneDNN's dnnl_sgemm against OpenBLAS's cblas_sgemm, on the SD 1.5 UNet's GEMM shapes
 * (row-major, B transposed as the linear layers call it), best of 5; prints GFLOP/s, the time ratio and the largest
 * difference. The evidence behind "oneDNN sgemm adopted" in docs/performance.md. Not part of the package (OpenBLAS
 * is no longer one of its dependencies):
 *   apt-get install -y libdnnl-dev libopenblas-dev
 *   gcc -O2 Tools/bench/onednn/sgemm_compare.c -o /tmp/sgemm_compare -lopenblas -ldnnl -fopenmp
 *   /tmp/sgemm_compare                          # each library's kernels for this CPU (OPENBLAS_CORETYPE respected)
 *   ONEDNN_MAX_CPU_ISA=AVX2 /tmp/sgemm_compare  # oneDNN as on an AVX2-only CPU
 */
#include <cblas.h>
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *filled(long count) {
    float *x = malloc(sizeof(float) * count);
    for (long i = 0; i < count; i++) x[i] = (rand() % 1000) / 1000.f - .5f;
    return x;
}

int main(void) {
    /* One thread each: cxr-edit splits GEMMs among its own threads and calls the library on each. */
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    /* M (tokens or tiles), K, N of the UNet's linear layers and Winograd products at 512 px. */
    const int shapes[][3] = {{8192, 320, 320},  {8192, 320, 1280}, {2048, 640, 640}, {2048, 2560, 640},
                             {512, 1280, 1280}, {512, 1280, 5120}, {512, 5120, 1280}, {1024, 320, 320},
                             {256, 1280, 1280}, {1089, 640, 640},  {4225, 320, 320}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *a = filled((long)m * k), *b = filled((long)k * n);
        float *c = malloc(sizeof(float) * m * n), *d = malloc(sizeof(float) * m * n);
        double openblas = INFINITY, onednn = INFINITY;
        for (int r = 0; r < 5; r++) {
            double t = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
            t = now() - t;
            if (t < openblas) openblas = t;
            t = now();
            dnnl_sgemm('N', 'T', m, n, k, 1, a, k, b, k, 0, d, n);
            t = now() - t;
            if (t < onednn) onednn = t;
        }
        double largest = 0;
        for (long i = 0; i < (long)m * n; i++) largest = fmax(largest, fabs((double)c[i] - d[i]));
        const double gflop = 2.0 * m * n * k / 1e9;
        printf("M %5d K %5d N %5d  OpenBLAS %6.1f GFLOP/s  oneDNN %6.1f GFLOP/s  time ratio %.2f  largest diff %.2e\n",
               m, k, n, gflop / openblas, gflop / onednn, onednn / openblas, largest);
        free(a);
        free(b);
        free(c);
        free(d);
    }
    return 0;
}
