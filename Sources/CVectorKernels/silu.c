#include "cxr_silu.h"
#include "cxr_cpuid.h"

/* Every product and sum rounds on its own, as in the Swift code. */
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

int cxr_vector_kernels_supported(void) {
    uint32_t r[4];
    if (!cxr_cpuid(7, 0, r) || !((r[1] >> 16) & 1)) return 0;
    /* The OS must save the YMM and ZMM state (XCR0 bits 1-2 and 5-7). */
    return (cxr_xgetbv0() & 0xE6) == 0xE6;
}

#define AVX512 __attribute__((target("avx512f")))

/* FastMath.exp: clamp to [-87.33, 88.7] (NaN becomes -87.33, as FastMath.maximum gives its first operand for a
   NaN second one), Cephes range reduction and polynomial, 2^n from the exponent bits. _mm512_max_ps(v, c) returns
   c where v is NaN and v where v > c, as FastMath.maximum(c, v) does (equal values are equal either way). */
AVX512 static inline __m512 exp16(__m512 v) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 x = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.7f));
    __m512 t = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic));
    x = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f)));
    x = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, z), x), _mm512_set1_ps(1.0f));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(y, scale);
}

AVX512 void cxr_silu_inplace(float *p, size_t count) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 m = count - i >= 16 ? 0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, p + i);
        __m512 e = exp16(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), sign)));
        _mm512_mask_storeu_ps(p + i, m, _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
    }
}
#else
int cxr_vector_kernels_supported(void) { return 0; }
void cxr_silu_inplace(float *p, size_t count) {
    (void)p;
    (void)count;
}
#endif
