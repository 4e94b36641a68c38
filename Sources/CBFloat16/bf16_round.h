#ifndef CXR_BF16_ROUND_H
#define CXR_BF16_ROUND_H

/* float32 -> bf16 rounding shared by the packing routines (bf16_gemm.c) and the Winograd input transform that
   packs as it goes (winograd_f2_pack.c), so both round every value the same way. Internal to CBFloat16. */

#include <stdint.h>
#include <string.h>

/* float32 -> bf16 bits, round to nearest even; NaN kept NaN (quiet bit set) rather than rounded to infinity. */
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* 16 floats -> 16 bf16 (RNE) in the low halves of 32-bit lanes. Same rounding as to_bf16, NaN included (not
   VCVTNEPS2BF16, which flushes subnormals to zero). */
BF16_TARGET static inline __m512i bf16_lanes(__m512 f) {
    __m512i u = _mm512_castps_si512(f);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)),
                                            _mm512_set1_epi32(0x7F800000));
    __m512i q = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    return _mm512_mask_mov_epi32(r, nan, q);
}
#endif

#endif
