#include "cxr_gelu.h"
#include "cxr_silu.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* Every product and sum rounds on its own, in both paths, so that they agree bit for bit. */
#pragma clang fp contract(off)

/* erf(|x|) by a Taylor polynomial of degree 3 around the nearest r = i / 128 (i = 0...512, |x| clamped to 4,
   where erf is 1 in float): with d = |x| - r (exact, |d| <= 1/256) and s = erf'(r) = 2/sqrt(pi) exp(-r^2),
   erf(r + d) = erf(r) + s (d - r d^2 + (2 r^2 - 1)/3 d^3) + O(d^4), whose truncation (< 1e-10) is far below
   float rounding. Tables: erf(r), s and (2 r^2 - 1)/3 per r. */
enum { ERF_STEPS_PER_UNIT = 128, ERF_ENTRIES = 4 * ERF_STEPS_PER_UNIT + 1 };
static float erf_value[ERF_ENTRIES], erf_value_low[ERF_ENTRIES], erf_slope[ERF_ENTRIES], erf_slope_low[ERF_ENTRIES],
    erf_cubic[ERF_ENTRIES];
static int use_avx512;
static pthread_once_t erf_once = PTHREAD_ONCE_INIT;

static void erf_build(void) {
    use_avx512 = cxr_vector_kernels_supported();
    for (int i = 0; i < ERF_ENTRIES; i++) {
        double r = (double)i / ERF_STEPS_PER_UNIT;
        double value = erf(r), slope = 1.1283791670955126 * exp(-r * r);
        erf_value[i] = (float)value;
        erf_value_low[i] = (float)(value - erf_value[i]);
        erf_slope[i] = (float)slope;
        erf_slope_low[i] = (float)(slope - erf_slope[i]);
        erf_cubic[i] = (float)((2 * r * r - 1) / 3);
    }
}

static inline float erf_scalar(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    uint32_t absBits = bits & 0x7FFFFFFFu;
    float a;
    memcpy(&a, &absBits, 4);
    if (!(a < 4.0f)) a = 4.0f; /* also NaN, whose result is set below */
    int i = (int)(a * (float)ERF_STEPS_PER_UNIT + 0.5f);
    float r = (float)i * (1.0f / ERF_STEPS_PER_UNIT);
    float d = a - r;
    float p = erf_cubic[i] * d - r;
    p = p * d;
    p = p * d + d;
    float y = erf_value[i] + (erf_slope[i] * p + (erf_slope_low[i] * p + erf_value_low[i]));
    uint32_t yBits;
    memcpy(&yBits, &y, 4);
    yBits |= bits & 0x80000000u;
    memcpy(&y, &yBits, 4);
    return x != x ? x : y;
}

static inline float gelu_scalar(float v) { return (0.5f * v) * (1.0f + erf_scalar(v * 0.70710678118654752f)); }

float cxr_erf(float x) {
    pthread_once(&erf_once, erf_build);
    return erf_scalar(x);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* erf_scalar in 16 lanes: the same operations in the same order. */
AVX512 static inline __m512 erf16(__m512 x) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    __m512i bits = _mm512_castps_si512(x);
    __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, bits));
    /* min(a, 4) that gives 4 for NaN, as `!(a < 4)` above. */
    a = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(4.0f), _CMP_LT_OQ), _mm512_set1_ps(4.0f), a);
    __m512i i = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(a, _mm512_set1_ps((float)ERF_STEPS_PER_UNIT)),
                                                  _mm512_set1_ps(0.5f)));
    __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(i), _mm512_set1_ps(1.0f / ERF_STEPS_PER_UNIT));
    __m512 d = _mm512_sub_ps(a, r);
    __m512 p = _mm512_sub_ps(_mm512_mul_ps(_mm512_i32gather_ps(i, erf_cubic, 4), d), r);
    p = _mm512_mul_ps(p, d);
    p = _mm512_add_ps(_mm512_mul_ps(p, d), d);
    __m512 low = _mm512_add_ps(_mm512_mul_ps(_mm512_i32gather_ps(i, erf_slope_low, 4), p),
                               _mm512_i32gather_ps(i, erf_value_low, 4));
    __m512 y = _mm512_add_ps(_mm512_i32gather_ps(i, erf_value, 4),
                             _mm512_add_ps(_mm512_mul_ps(_mm512_i32gather_ps(i, erf_slope, 4), p), low));
    y = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), _mm512_and_si512(bits, sign)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);
}

AVX512 static void geglu_avx512(const float *value, const float *gate, float *out, size_t count) {
    size_t i = 0;
    for (; i < count; i += 16) {
        __mmask16 m = count - i >= 16 ? 0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
        __m512 g = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, value + i), g));
    }
}
#endif

void cxr_geglu(const float *value, const float *gate, float *out, size_t count) {
    pthread_once(&erf_once, erf_build);
#if defined(__x86_64__)
    if (use_avx512) {
        geglu_avx512(value, gate, out, count);
        return;
    }
#endif
    for (size_t i = 0; i < count; i++) out[i] = value[i] * gelu_scalar(gate[i]);
}
