#include "cxr_winograd_f4.h"

#include <stdint.h>

/* Every product and sum rounds on its own, in the order the Swift code computes them. */
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

static inline __mmask16 first(long count) { return count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1); }

/* B^T applied to six values, lane-wise, as `inputTransform` in WinogradF4.swift. */
AVX512 static inline void input_transform(const __m512 d[6], __m512 t[6]) {
    const __m512 half = _mm512_set1_ps(0.5f), two = _mm512_set1_ps(2.0f);
    const __m512 three_halves = _mm512_set1_ps(1.5f), five_halves = _mm512_set1_ps(2.5f);
    __m512 d42 = _mm512_sub_ps(d[4], d[2]);
    t[0] = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(d[0], d[4]), _mm512_mul_ps(two, d[2])),
                         _mm512_mul_ps(three_halves, _mm512_sub_ps(d[1], d[3])));
    t[1] = _mm512_sub_ps(_mm512_sub_ps(_mm512_sub_ps(d[4], d[1]), _mm512_mul_ps(five_halves, d[2])),
                         _mm512_mul_ps(half, d[3]));
    t[2] = _mm512_sub_ps(_mm512_add_ps(_mm512_add_ps(d[4], d[1]), _mm512_mul_ps(half, d[2])),
                         _mm512_mul_ps(five_halves, d[3]));
    t[3] = _mm512_add_ps(d42, _mm512_mul_ps(half, _mm512_sub_ps(d[3], d[1])));
    t[4] = _mm512_add_ps(d42, _mm512_mul_ps(two, _mm512_sub_ps(d[1], d[3])));
    t[5] = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(d[1], d[5]), _mm512_mul_ps(two, d[3])),
                         _mm512_mul_ps(three_halves, _mm512_sub_ps(d[2], d[4])));
}

AVX512 void cxr_winograd_f4_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                                      long v_stride) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i four_lanes = _mm512_slli_epi32(lane, 2);
    for (long i = 0; i < length; i += 16) {
        __mmask16 keep = first(length - i);
        long px = x0 + 4 * i;
        /* Patch column j of tile i + l is px + 4 l + j: the lanes inside the plane for each j. */
        __mmask16 inside[6];
        for (int j = 0; j < 6; j++) {
            __m512i x = _mm512_add_epi32(four_lanes, _mm512_set1_epi32((int)(px + j)));
            inside[j] = keep & _mm512_cmpge_epi32_mask(x, _mm512_setzero_si512()) &
                        _mm512_cmplt_epi32_mask(x, _mm512_set1_epi32((int)w));
        }
        /* d[r][j]: patch row r, column j; then B^T d down each column. */
        __m512 d[6][6], t[6][6];
        for (int r = 0; r < 6; r++) {
            long yy = y0 + r;
            for (int j = 0; j < 6; j++) {
                d[j][r] = yy < 0 || yy >= h ? _mm512_setzero_ps()
                                            : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside[j], four_lanes,
                                                                       plane + yy * w + px + j, 4);
            }
        }
        for (int j = 0; j < 6; j++) input_transform(d[j], t[j]);
        /* . B along each transformed row r: its six columns t[0...5][r]. */
        for (int r = 0; r < 6; r++) {
            __m512 row[6], out[6];
            for (int j = 0; j < 6; j++) row[j] = t[j][r];
            input_transform(row, out);
            for (int j = 0; j < 6; j++) _mm512_mask_storeu_ps(v + (6 * r + j) * v_stride + i, keep, out[j]);
        }
    }
}

/* A^T applied to six values, lane-wise, as `outputTransform` in WinogradF4.swift. */
AVX512 static inline void output_transform(const __m512 m[6], __m512 y[4]) {
    __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), _mm512_add_ps(m[3], m[4]));
    y[1] = _mm512_add_ps(b, _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(2.0f), m[3]),
                                          _mm512_mul_ps(_mm512_set1_ps(0.5f), m[4])));
    y[2] = _mm512_add_ps(a, _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(4.0f), m[3]),
                                          _mm512_mul_ps(_mm512_set1_ps(0.25f), m[4])));
    y[3] = _mm512_add_ps(_mm512_add_ps(b, _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(8.0f), m[3]),
                                                        _mm512_mul_ps(_mm512_set1_ps(0.125f), m[4]))),
                         m[5]);
}

AVX512 void cxr_winograd_f4_output_run(const float *m, long m_stride, long length, float bias, float *plane, long ho,
                                       long wo, long oy, long ox) {
    /* Interleaving y0...y3 of 16 tiles into 64 consecutive pixels: pairs (y0, y1) and (y2, y3), then pairs of
       pairs. */
    const __m512i pairs_low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i pairs_high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i quads_low = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i quads_high = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    long rows = ho - oy < 4 ? ho - oy : 4;
    const __m512 b = _mm512_set1_ps(bias);
    for (long i = 0; i < length; i += 16) {
        long count = length - i < 16 ? length - i : 16;
        __mmask16 lanes = first(count);
        /* A^T M, column by column of M: s[j][r] for output row r. */
        __m512 s[6][4];
        for (int j = 0; j < 6; j++) {
            __m512 column[6];
            for (int k = 0; k < 6; k++) column[k] = _mm512_maskz_loadu_ps(lanes, m + (6 * k + j) * m_stride + i);
            output_transform(column, s[j]);
        }
        /* Pixels x + 4 l + q of the block row (tile i + l, column q) that fall inside the plane. */
        long x = ox + 4 * i;
        long inside = wo - x < 4 * count ? wo - x : 4 * count;
        uint64_t bits = inside >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << inside) - 1;
        for (long r = 0; r < rows; r++) {
            __m512 row[6], y[4];
            for (int j = 0; j < 6; j++) row[j] = s[j][r];
            output_transform(row, y);
            for (int q = 0; q < 4; q++) y[q] = _mm512_add_ps(y[q], b);
            __m512 p01l = _mm512_permutex2var_ps(y[0], pairs_low, y[1]);
            __m512 p01h = _mm512_permutex2var_ps(y[0], pairs_high, y[1]);
            __m512 p23l = _mm512_permutex2var_ps(y[2], pairs_low, y[3]);
            __m512 p23h = _mm512_permutex2var_ps(y[2], pairs_high, y[3]);
            float *dst = plane + (oy + r) * wo + x;
            _mm512_mask_storeu_ps(dst, (__mmask16)bits, _mm512_permutex2var_ps(p01l, quads_low, p23l));
            _mm512_mask_storeu_ps(dst + 16, (__mmask16)(bits >> 16), _mm512_permutex2var_ps(p01l, quads_high, p23l));
            _mm512_mask_storeu_ps(dst + 32, (__mmask16)(bits >> 32), _mm512_permutex2var_ps(p01h, quads_low, p23h));
            _mm512_mask_storeu_ps(dst + 48, (__mmask16)(bits >> 48), _mm512_permutex2var_ps(p01h, quads_high, p23h));
        }
    }
}
#else
void cxr_winograd_f4_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                               long v_stride) {
    (void)plane, (void)h, (void)w, (void)y0, (void)x0, (void)length, (void)v, (void)v_stride;
}
void cxr_winograd_f4_output_run(const float *m, long m_stride, long length, float bias, float *plane, long ho,
                                long wo, long oy, long ox) {
    (void)m, (void)m_stride, (void)length, (void)bias, (void)plane, (void)ho, (void)wo, (void)oy, (void)ox;
}
#endif
