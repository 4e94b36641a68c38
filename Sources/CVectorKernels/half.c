#include "cxr_half.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* Sixteen fp16 values, as 32-bit lanes, widened (see cxr_half.h). */
AVX512 static inline __m512 widen16(__m512i h) {
    const __m512i exponent_in = _mm512_set1_epi32(0x7C00);
    __m512i sign = _mm512_slli_epi32(_mm512_and_si512(h, _mm512_set1_epi32(0x8000)), 16);
    __m512i shifted = _mm512_slli_epi32(_mm512_and_si512(h, _mm512_set1_epi32(0x7FFF)), 13);
    __m512 f = _mm512_mul_ps(_mm512_castsi512_ps(shifted), _mm512_castsi512_ps(_mm512_set1_epi32(0x77800000)));
    __mmask16 special = _mm512_cmpeq_epi32_mask(_mm512_and_si512(h, exponent_in), exponent_in);
    f = _mm512_mask_mov_ps(f, special, _mm512_castsi512_ps(_mm512_or_si512(shifted, _mm512_set1_epi32(0x7F800000))));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(f), sign));
}

AVX512 void cxr_half_to_float(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
        _mm512_storeu_ps(dst + i, widen16(h));
    }
    if (i < count) {
        /* The last, partial block through a zero-padded copy (masked 16-bit loads would need AVX-512BW). The
           portable code widens the last count % 8 values one at a time by float32's own conversion, which also
           sets a NaN's quiet bit: so here too. */
        uint16_t rest[16] = {0};
        memcpy(rest, src + i, (count - i) * sizeof(uint16_t));
        __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)rest));
        __mmask16 nan = _mm512_cmpeq_epi32_mask(_mm512_and_si512(h, _mm512_set1_epi32(0x7C00)),
                                                _mm512_set1_epi32(0x7C00)) &
                        _mm512_test_epi32_mask(h, _mm512_set1_epi32(0x03FF)) &
                        (__mmask16)~((1u << (count - count % 8 - i)) - 1);
        __m512i bits = _mm512_castps_si512(widen16(h));
        bits = _mm512_mask_or_epi32(bits, nan, bits, _mm512_set1_epi32(0x00400000));
        _mm512_mask_storeu_ps(dst + i, (__mmask16)((1u << (count - i)) - 1), _mm512_castsi512_ps(bits));
    }
}
#else
void cxr_half_to_float(const uint16_t *src, float *dst, size_t count) {
    (void)src, (void)dst, (void)count;
}
#endif
