#include "cxr_bf16.h"

#include "bf16_round.h"

/* Every sum rounds on its own, in the order of the fp32 transform (CVectorKernels' winograd_f2.c). */
#pragma clang fp contract(off)

#if defined(__x86_64__)

/* The fp32 transform's own code (CVectorKernels), so the same float32 values before rounding. */
#include "../CVectorKernels/winograd_f2_tiles.h"

BF16_TARGET void cxr_bf16_winograd_f2_pack_run(const float *plane0, const float *plane1, long h, long w, long y0,
                                               long x0, long length, uint16_t *const *operands, size_t k, size_t pair,
                                               size_t column) {
    size_t kp = (k + 1) / 2;
    for (long i = 0; i < length; i += 16) {
        long px = x0 + 2 * i;
        __m512 v0[16], v1[16];
        cxr_winograd_f2_tiles16(plane0, h, w, y0, px, v0);
        if (plane1) cxr_winograd_f2_tiles16(plane1, h, w, y0, px, v1);
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
