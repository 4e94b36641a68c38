#ifndef CXR_ATTENTION_SOFTMAX_AVX512_H
#define CXR_ATTENTION_SOFTMAX_AVX512_H

/* The AVX-512 online softmax both AVX-512 fused kernels (attention.c in fp32, attention_bf16.c with bf16
   products) run on their fp32 score tiles, so the two precisions differ only in their products. Internal to
   CAttention; x86-64 only. */

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,fma")))
#define INLINE static inline __attribute__((always_inline))

/* e^x in 16 lanes: FastMath.exp's Cephes range reduction and polynomial (Sources/CXRTensor/FastMath.swift), with
   its lower clamp at -87.33 (e^x ~ 1e-38 below, not 0), written with FMAs, and 2^n applied by VSCALEFPS instead
   of building the exponent bits: 5 fewer instructions of ~20 per 16 scores, and the softmax is a quarter of the
   kernel's time at d = 40. No upper clamp: the softmax only exponentiates x <= 0 (and VSCALEFPS would give
   infinity, not garbage, on overflow). */
AVX512 INLINE __m512 exp16(__m512 x) {
    const __m512 magic = _mm512_set1_ps(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    x = _mm512_max_ps(_mm512_set1_ps(-87.33f), x);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), magic), magic);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, z, x), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(y, n);
}

AVX512 INLINE float exp1(float x) { return _mm512_cvtss_f32(exp16(_mm512_set1_ps(x))); }

static inline __mmask16 lanes(size_t count) { return count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1); }

/* One key block of a row's online softmax: with running maximum m and sum l over the earlier blocks, the scores
   row[0..<valid] (unscaled) become p_j = e^(scale * row[j] - m') with m' = max(m, scale * max row), row[valid..<n]
   become 0, l = l e^(m - m') + sum p_j; returns e^(m - m'), the factor the row's partial output must be scaled by
   (1 when the maximum did not change or no key is valid, 0 before the first valid key). scale > 0, so the
   maximum of the scaled scores is the scaled maximum. */
AVX512 INLINE float softmax_block(float *row, size_t valid, size_t n, float scale, float *m, float *l) {
    if (valid == 0) {
        memset(row, 0, n * sizeof(float));
        return 1;
    }
    __m512 mx = _mm512_set1_ps(-INFINITY);
    size_t j = 0;
    for (; j + 16 <= valid; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(row + j));
    if (j < valid) mx = _mm512_mask_max_ps(mx, lanes(valid - j), mx, _mm512_maskz_loadu_ps(lanes(valid - j), row + j));
    float newMax = _mm512_reduce_max_ps(mx) * scale;
    if (*m > newMax) newMax = *m;
    float correction = *m == newMax ? 1 : *m == -INFINITY ? 0 : exp1(*m - newMax);
    const __m512 sc = _mm512_set1_ps(scale), shift = _mm512_set1_ps(-newMax);
    __m512 sum = _mm512_setzero_ps();
    for (j = 0; j + 16 <= valid; j += 16) {
        __m512 e = exp16(_mm512_fmadd_ps(_mm512_loadu_ps(row + j), sc, shift));
        _mm512_storeu_ps(row + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (j < valid) {
        __mmask16 k = lanes(valid - j);
        __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, row + j), sc, shift)));
        /* The whole vector: masked keys of this vector become 0 too. */
        _mm512_mask_storeu_ps(row + j, lanes(n - j), e);
        sum = _mm512_add_ps(sum, e);
        j += 16;
    }
    if (j < n) memset(row + j, 0, (n - j) * sizeof(float));
    *l = *l * correction + _mm512_reduce_add_ps(sum);
    *m = newMax;
    return correction;
}

/* softmax_block on one row of the score tile, then that row's partial output (dv vectors of 16) scaled by the
   factor it returns: the step both kernels take between their score and their P V products. */
AVX512 INLINE void softmax_row(float *row, size_t valid, size_t n, float scale, float *m, float *l, float *o,
                               size_t dv) {
    float correction = softmax_block(row, valid, n, scale, m, l);
    if (correction != 1) {
        const __m512 cv = _mm512_set1_ps(correction);
        for (size_t c = 0; c < dv; c++) _mm512_storeu_ps(o + c * 16, _mm512_mul_ps(cv, _mm512_loadu_ps(o + c * 16)));
    }
}

/* Rows per P V tile for c output vectors, both kernels' register budget (32 vectors): R x C accumulators + C
   values + 1 broadcast, so 8 rows up to 3 vectors, 6 rows at 4, 4 rows at 5-6. */
static inline int value_rows(int c) { return c <= 3 ? 8 : c == 4 ? 6 : 4; }

#endif
