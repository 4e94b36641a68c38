#ifndef CXR_WINOGRAD_F2_TILES_H
#define CXR_WINOGRAD_F2_TILES_H

/* The AVX-512 Winograd F(2x2,3x3) input transform of 16 tiles, shared by the fp32 transform (winograd_f2.c) and the
   one that packs bf16 operands as it goes (CBFloat16's winograd_f2_pack.c, which includes this file by its path), so
   both compute every value with the same loads, permutes and additions. Not a public header: it needs
   <immintrin.h>, which the Swift importer is not given. Includers set `#pragma clang fp contract(off)`. */

#if defined(__x86_64__)
#include <immintrin.h>

/* Lanes j < 16 whose position start + j lies in [0, limit). */
static inline __mmask16 cxr_lanes_inside(long start, long limit) {
    long lo = start < 0 ? -start : 0, hi = limit - start < 16 ? limit - start : 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* V = B^T d B of tiles i...i + 15 of a run (tile i's 4x4 patch at (y0, px), the next ones 2 columns on; rows and
   columns outside the h x w plane read as zero): v[4 r + c] lane l = V[r][c] of tile i + l. */
__attribute__((target("avx512f"))) static inline void cxr_winograd_f2_tiles16(const float *plane, long h, long w,
                                                                              long y0, long px, __m512 v[16]) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __mmask16 m0 = cxr_lanes_inside(px, w), m1 = cxr_lanes_inside(px + 16, w);
    __mmask16 m2 = cxr_lanes_inside(px + 2, w), m3 = cxr_lanes_inside(px + 18, w);
    /* Patch row r's values at tiles i...i + 15: t0 (even positions), t1 (odd), t2 and t3 (the same, one tile on). */
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
    for (int c = 0; c < 4; c++) {
        __m512 u0 = _mm512_sub_ps(t[0][c], t[2][c]), u1 = _mm512_add_ps(t[1][c], t[2][c]);
        __m512 u2 = _mm512_sub_ps(t[2][c], t[1][c]), u3 = _mm512_sub_ps(t[1][c], t[3][c]);
        t[0][c] = u0, t[1][c] = u1, t[2][c] = u2, t[3][c] = u3;
    }
    /* . B on the columns: the same four combinations. */
    for (int r = 0; r < 4; r++) {
        v[4 * r + 0] = _mm512_sub_ps(t[r][0], t[r][2]);
        v[4 * r + 1] = _mm512_add_ps(t[r][1], t[r][2]);
        v[4 * r + 2] = _mm512_sub_ps(t[r][2], t[r][1]);
        v[4 * r + 3] = _mm512_sub_ps(t[r][1], t[r][3]);
    }
}
#endif

#endif
