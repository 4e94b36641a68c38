#include "cxr_winograd.h"

#include <stdint.h>

/* Every sum rounds on its own, in the order the Swift code adds. */
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* Lanes j < 16 whose position start + j lies in [0, limit). */
static inline __mmask16 inside(long start, long limit) {
    long lo = start < 0 ? -start : 0, hi = limit - start < 16 ? limit - start : 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

static inline __mmask16 first(long count) { return count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1); }

AVX512 void cxr_winograd_f2_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                                      long v_stride) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (long i = 0; i < length; i += 16) {
        long px = x0 + 2 * i;
        __mmask16 m0 = inside(px, w), m1 = inside(px + 16, w), m2 = inside(px + 2, w), m3 = inside(px + 18, w);
        /* Patch row r's values at tiles i...i + 15: t0 (even positions), t1 (odd), t2 and t3 (the same, one tile
           on). */
        __m512 t[4][4];
        for (int r = 0; r < 4; r++) {
            long yy = y0 + r;
            if (yy < 0 || yy >= h) {
                for (int c = 0; c < 4; c++) t[r][c] = _mm512_setzero_ps();
                continue;
            }
            const float *src = plane + yy * w + px;
            __m512 a = _mm512_maskz_loadu_ps(m0, src), b = _mm512_maskz_loadu_ps(m1, src + 16);
            __m512 c = _mm512_maskz_loadu_ps(m2, src + 2), d = _mm512_maskz_loadu_ps(m3, src + 18);
            t[r][0] = _mm512_permutex2var_ps(a, even, b);
            t[r][1] = _mm512_permutex2var_ps(a, odd, b);
            t[r][2] = _mm512_permutex2var_ps(c, even, d);
            t[r][3] = _mm512_permutex2var_ps(c, odd, d);
        }
        /* B^T d on the rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3. */
        __m512 u[4][4];
        for (int c = 0; c < 4; c++) {
            u[0][c] = _mm512_sub_ps(t[0][c], t[2][c]);
            u[1][c] = _mm512_add_ps(t[1][c], t[2][c]);
            u[2][c] = _mm512_sub_ps(t[2][c], t[1][c]);
            u[3][c] = _mm512_sub_ps(t[1][c], t[3][c]);
        }
        /* . B on the columns: t0 - t2, t1 + t2, t2 - t1, t1 - t3. */
        __mmask16 keep = first(length - i);
        for (int r = 0; r < 4; r++) {
            float *out = v + 4 * r * v_stride + i;
            _mm512_mask_storeu_ps(out, keep, _mm512_sub_ps(u[r][0], u[r][2]));
            _mm512_mask_storeu_ps(out + v_stride, keep, _mm512_add_ps(u[r][1], u[r][2]));
            _mm512_mask_storeu_ps(out + 2 * v_stride, keep, _mm512_sub_ps(u[r][2], u[r][1]));
            _mm512_mask_storeu_ps(out + 3 * v_stride, keep, _mm512_sub_ps(u[r][1], u[r][3]));
        }
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
