#ifndef CXR_ATTENTION_LAYOUT_H
#define CXR_ATTENTION_LAYOUT_H

#include <stddef.h>

/* The scratch layout both fused kernels (attention.c on AVX-512, attention_avx2.c on AVX2) share, so that one
   cxr_attention_scratch_count and one packing of the keys serve either. */

/* Score rows hold a block's keys from the start of its first 16-key panel: up to 15 leading columns when the
   block starts inside a panel (any key_block works; the tests use 1, 3, 7). */
static inline size_t cxr_score_stride(size_t key_block) { return (key_block + 15 + 15) / 16 * 16; }

/* Floats per row of the unnormalised output rows: d rounded up to 16 (the AVX2 kernel uses the first
   ceil(d / 8) vectors of 8). */
static inline size_t cxr_padded_dim(size_t d) { return (d + 15) / 16 * 16; }

#endif
