#include "cxr_winograd.h"

#include <stdint.h>

/* Every sum rounds on its own, in the order the Swift code adds. */
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#include "winograd_f2_tiles.h"

#define AVX512 __attribute__((target("avx512f")))

static inline __mmask16 first(long count) { return count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1); }

AVX512 void cxr_winograd_f2_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                                      long v_stride) {
    for (long i = 0; i < length; i += 16) {
        __m512 t[16];
        cxr_winograd_f2_tiles16(plane, h, w, y0, x0 + 2 * i, t);
        __mmask16 keep = first(length - i);
        for (int xi = 0; xi < 16; xi++) _mm512_mask_storeu_ps(v + xi * v_stride + i, keep, t[xi]);
    }
}

AVX512 void cxr_winograd_f2_output_run(const float *m, long m_stride, long length, float bias, float *plane, long ho,
                                       long wo, long oy, long ox) {
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    float *top = plane + oy * wo + ox, *bottom = top + wo;
    int has_bottom = oy + 1 < ho;
    /* The last tile of a row of odd width has no right column. */
    long full_width = (wo - ox) / 2 < length ? (wo - ox) / 2 : length;
    const __m512 b = _mm512_set1_ps(bias);
    for (long i = 0; i < length; i += 16) {
        long count = length - i < 16 ? length - i : 16;
        long rights = full_width - i < 0 ? 0 : full_width - i < count ? full_width - i : count;
        __mmask16 lanes = first(count);
        __m512 x[16];
        for (int k = 0; k < 16; k++) x[k] = _mm512_maskz_loadu_ps(lanes, m + k * m_stride + i);
        /* A^T M: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 on the rows of M. */
        __m512 s0[4], s1[4];
        for (int c = 0; c < 4; c++) {
            s0[c] = _mm512_add_ps(_mm512_add_ps(x[c], x[4 + c]), x[8 + c]);
            s1[c] = _mm512_sub_ps(_mm512_sub_ps(x[4 + c], x[8 + c]), x[12 + c]);
        }
        /* Output pixels 2l (left) and 2l + 1 (right) of tile i + l: left for l < count, right for l < rights. */
        uint64_t bits = 0;
        for (long l = 0; l < count; l++) bits |= (uint64_t)1 << (2 * l) | (uint64_t)(l < rights) << (2 * l + 1);
        __mmask16 store_low = (__mmask16)bits, store_high = (__mmask16)(bits >> 16);
        for (int row = 0; row < 1 + has_bottom; row++) {
            __m512 *s = row ? s1 : s0;
            __m512 left = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]), b);
            __m512 right = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]), b);
            float *dst = (row ? bottom : top) + 2 * i;
            _mm512_mask_storeu_ps(dst, store_low, _mm512_permutex2var_ps(left, low, right));
            _mm512_mask_storeu_ps(dst + 16, store_high, _mm512_permutex2var_ps(left, high, right));
        }
    }
}
#else
void cxr_winograd_f2_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                               long v_stride) {
    (void)plane, (void)h, (void)w, (void)y0, (void)x0, (void)length, (void)v, (void)v_stride;
}
void cxr_winograd_f2_output_run(const float *m, long m_stride, long length, float bias, float *plane, long ho,
                                long wo, long oy, long ox) {
    (void)m, (void)m_stride, (void)length, (void)bias, (void)plane, (void)ho, (void)wo, (void)oy, (void)ox;
}
#endif
