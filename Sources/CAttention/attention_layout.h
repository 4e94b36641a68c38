#ifndef CXR_ATTENTION_LAYOUT_H
#define CXR_ATTENTION_LAYOUT_H

#include <math.h>
#include <stddef.h>
#include <string.h>

/* The scratch layout both fused kernels (attention.c on AVX-512, attention_avx2.c on AVX2) share, so that one
   cxr_attention_scratch_count and one packing of the keys serve either. */

/* Score rows hold a block's keys from the start of its first 16-key panel: up to 15 leading columns when the
   block starts inside a panel (any key_block works; the tests use 1, 3, 7). */
static inline size_t cxr_score_stride(size_t key_block) { return (key_block + 15 + 15) / 16 * 16; }

/* Floats per row of the unnormalised output rows: d rounded up to 16 (the AVX2 kernel uses the first
   ceil(d / 8) vectors of 8). */
static inline size_t cxr_padded_dim(size_t d) { return (d + 15) / 16 * 16; }

/* The scalar bookkeeping of the online softmax, the same in both kernels. */

/* Zeroes the rows' unnormalised outputs and starts each row's running maximum m (-inf) and sum l (0). */
static inline void cxr_start_rows(float *o, float *m, float *l, size_t rows, size_t dpad) {
    memset(o, 0, rows * dpad * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        m[r] = -INFINITY;
        l[r] = 0;
    }
}

/* Keys the rows first_row ..< first_row + rows need: causal rows see keys 0 ... first_row + r, so keys past the
   block's last row are never needed. */
static inline size_t cxr_needed_keys(size_t lk, int causal, size_t first_row, size_t rows) {
    return causal && first_row + rows < lk ? first_row + rows : lk;
}

/* Of the key block k0 ..< k0 + n, how many keys row first_row + r may see (all of them unless causal). */
static inline size_t cxr_visible_keys(int causal, size_t first_row, size_t r, size_t k0, size_t n) {
    if (!causal) return n;
    size_t seen = first_row + r + 1; /* keys this row may see */
    return seen <= k0 ? 0 : seen - k0 < n ? seen - k0 : n;
}

#endif
