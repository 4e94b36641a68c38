#include "cxr_winograd_weights.h"

/* Every sum and product rounds on its own, in the order the Swift code computes them. */
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

AVX512 void cxr_winograd_f2_weights(const float *g, long count, float *u, long u_stride) {
    /* Lane l reads kernel l of the block: its values lie 9 floats apart. */
    const __m512i kernel = _mm512_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108, 117, 126, 135);
    const __m512 half = _mm512_set1_ps(0.5f);
    for (long i = 0; i < count; i += 16) {
        __mmask16 lanes = count - i >= 16 ? 0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        const float *block = g + 9 * i;
        __m512 x[9];
        for (int j = 0; j < 9; j++) x[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, kernel, block + j, 4);
        /* G g, column k of the kernel: t0 = g0, t1 = 0.5 ((g0 + g1) + g2), t2 = 0.5 ((g0 - g1) + g2), t3 = g2 for
           its rows g0, g1, g2. */
        __m512 t[4][3];
        for (int k = 0; k < 3; k++) {
            __m512 g0 = x[k], g1 = x[3 + k], g2 = x[6 + k];
            t[0][k] = g0;
            t[1][k] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(g0, g1), g2));
            t[2][k] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(g0, g1), g2));
            t[3][k] = g2;
        }
        /* (G g) G^T, row r of G g = (a, b, d): a, 0.5 ((a + b) + d), 0.5 ((a - b) + d), d. */
        for (int r = 0; r < 4; r++) {
            __m512 a = t[r][0], b = t[r][1], d = t[r][2];
            float *out = u + 4 * r * u_stride + i;
            _mm512_mask_storeu_ps(out, lanes, a);
            _mm512_mask_storeu_ps(out + u_stride, lanes, _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(a, b), d)));
            _mm512_mask_storeu_ps(
                out + 2 * u_stride, lanes, _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(a, b), d)));
            _mm512_mask_storeu_ps(out + 3 * u_stride, lanes, d);
        }
    }
}

/* G times three values (g0, g1, g2) of F(4x4,3x3), as `weightTransform` in WinogradF4.swift: g0,
   -1/3 ((g0 + g2) + g1), 1/3 ((g0 + g2) - g1), 1/15 ((g0 + 2 g1) + 4 g2), 1/15 ((8 g1 - 16 g0) - 4 g2), g2. */
AVX512 static inline void f4_column(__m512 g0, __m512 g1, __m512 g2, __m512 t[6]) {
    const __m512 third = _mm512_set1_ps(1.0f / 3.0f), minus_third = _mm512_set1_ps(-(1.0f / 3.0f));
    const __m512 fifteenth = _mm512_set1_ps(1.0f / 15.0f);
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    const __m512 sixteen = _mm512_set1_ps(16.0f);
    __m512 outer = _mm512_add_ps(g0, g2);
    t[0] = g0;
    t[1] = _mm512_mul_ps(minus_third, _mm512_add_ps(outer, g1));
    t[2] = _mm512_mul_ps(third, _mm512_sub_ps(outer, g1));
    t[3] = _mm512_mul_ps(
        fifteenth, _mm512_add_ps(_mm512_add_ps(g0, _mm512_mul_ps(two, g1)), _mm512_mul_ps(four, g2)));
    t[4] = _mm512_mul_ps(
        fifteenth,
        _mm512_sub_ps(_mm512_sub_ps(_mm512_mul_ps(eight, g1), _mm512_mul_ps(sixteen, g0)), _mm512_mul_ps(four, g2)));
    t[5] = g2;
}

AVX512 void cxr_winograd_f4_weights(const float *g, long count, float *u, long u_stride) {
    const __m512i kernel = _mm512_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108, 117, 126, 135);
    for (long i = 0; i < count; i += 16) {
        __mmask16 lanes = count - i >= 16 ? 0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        const float *block = g + 9 * i;
        __m512 x[9];
        for (int j = 0; j < 9; j++) x[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, kernel, block + j, 4);
        /* G g, one kernel column k at a time: t[k][r] = (G g)[r][k]. */
        __m512 t[3][6];
        for (int k = 0; k < 3; k++) f4_column(x[k], x[3 + k], x[6 + k], t[k]);
        /* Row r of (G g) G^T: G times that row's three values. */
        for (int r = 0; r < 6; r++) {
            __m512 s[6];
            f4_column(t[0][r], t[1][r], t[2][r], s);
            for (int j = 0; j < 6; j++) _mm512_mask_storeu_ps(u + (6 * r + j) * u_stride + i, lanes, s[j]);
        }
    }
}
#else
void cxr_winograd_f4_weights(const float *g, long count, float *u, long u_stride) {
    (void)g, (void)count, (void)u, (void)u_stride;
}
void cxr_winograd_f2_weights(const float *g, long count, float *u, long u_stride) {
    (void)g, (void)count, (void)u, (void)u_stride;
}
#endif
