#include "cxr_bf16.h"

#include "bf16_round.h"

/* Every sum rounds on its own, in the order of the fp32 transform (CVectorKernels' winograd_f2.c). */
#pragma clang fp contract(off)

#if defined(__x86_64__)

/* Lanes j < 16 whose position start + j lies in [0, limit). */
static inline __mmask16 inside(long start, long limit) {
    long lo = start < 0 ? -start : 0, hi = limit - start < 16 ? limit - start : 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* V = B^T d B of tiles i...i + 15 of a run (tile i's patch at (y0, x0 + 2i)), v[xi] lane l = tile i + l: the same
   loads, permutes and additions as cxr_winograd_f2_input_run, so the same float32 values. */
BF16_TARGET static inline void transform16(const float *plane, long h, long w, long y0, long px, __m512 v[16]) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __mmask16 m0 = inside(px, w), m1 = inside(px + 16, w), m2 = inside(px + 2, w), m3 = inside(px + 18, w);
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
    /* B^T d on the rows, then . B on the columns. */
    for (int c = 0; c < 4; c++) {
        __m512 u0 = _mm512_sub_ps(t[0][c], t[2][c]), u1 = _mm512_add_ps(t[1][c], t[2][c]);
        __m512 u2 = _mm512_sub_ps(t[2][c], t[1][c]), u3 = _mm512_sub_ps(t[1][c], t[3][c]);
        t[0][c] = u0, t[1][c] = u1, t[2][c] = u2, t[3][c] = u3;
    }
    for (int r = 0; r < 4; r++) {
        v[4 * r + 0] = _mm512_sub_ps(t[r][0], t[r][2]);
        v[4 * r + 1] = _mm512_add_ps(t[r][1], t[r][2]);
        v[4 * r + 2] = _mm512_sub_ps(t[r][2], t[r][1]);
        v[4 * r + 3] = _mm512_sub_ps(t[r][1], t[r][3]);
    }
}

BF16_TARGET void cxr_bf16_winograd_f2_pack_run(const float *plane0, const float *plane1, long h, long w, long y0,
                                               long x0, long length, uint16_t *const *operands, size_t k, size_t pair,
                                               size_t column) {
    size_t kp = (k + 1) / 2;
    for (long i = 0; i < length; i += 16) {
        long px = x0 + 2 * i;
        __m512 v0[16], v1[16];
        transform16(plane0, h, w, y0, px, v0);
        if (plane1) transform16(plane1, h, w, y0, px, v1);
        /* Columns column + i + l: lanes before the panel's end go to this panel, the rest to the next one. */
        size_t col = column + (size_t)i, panel = col / CXR_BF16_NR, s = col % CXR_BF16_NR;
        long count = length - i < 16 ? length - i : 16;
        __mmask16 keep = (__mmask16)(count >= 16 ? 0xFFFF : (1u << count) - 1);
        size_t room = CXR_BF16_NR - s;
        __mmask16 here = keep & (__mmask16)(room >= 16 ? 0xFFFF : (1u << room) - 1), next = keep & ~here;
        size_t offset = panel * CXR_BF16_NR * kp + pair * CXR_BF16_NR;
        for (int xi = 0; xi < 16; xi++) {
            __m512i lo = bf16_lanes(v0[xi]);
            __m512i word = plane1 ? _mm512_or_si512(lo, _mm512_slli_epi32(bf16_lanes(v1[xi]), 16)) : lo;
            uint32_t *out = (uint32_t *)operands[xi] + offset;
            _mm512_mask_storeu_epi32(out + s, here, word);
            /* Lane l >= room lands at column l - room of the next panel. */
            if (next) _mm512_mask_storeu_epi32(out + CXR_BF16_NR * kp - room, next, word);
        }
    }
}

#else

void cxr_bf16_winograd_f2_pack_run(const float *plane0, const float *plane1, long h, long w, long y0, long x0,
                                   long length, uint16_t *const *operands, size_t k, size_t pair, size_t column) {
    (void)plane0, (void)plane1, (void)h, (void)w, (void)y0, (void)x0, (void)length, (void)operands;
    (void)k, (void)pair, (void)column;
}

#endif
