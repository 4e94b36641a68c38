#ifndef CXR_ATTENTION_H
#define CXR_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

/* Fused fp32 attention on AVX-512 (flash-attention style): for a block of query rows of one head, the score tile
   Q K^T of one key block at a time is computed by a register-blocked kernel into a small scratch tile, turned
   into probabilities by an online softmax (running maximum and sum per row, vectorised exp), and multiplied into
   the output rows at once, so nothing of size queries x keys is ever written. Row-major, as linear layers lay
   out the projections: a head's rows are `d` contiguous floats at a stride of `ld` floats.

   K is packed once per head (panels of 16 keys, each key's d values as one column: the score kernel then loads
   16 keys' values for one dimension with one vector load); Q and V are read in place. */

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this CPU and OS can run the kernel (AVX-512F with ZMM state enabled). */
int cxr_attention_supported(void);

/* Floats in one head's packed keys: lk rounded up to 16, times d. */
size_t cxr_attention_packed_keys_count(size_t lk, size_t d);

/* Packs keys k[j * ldk + e] (j < lk, e < d) into dst; keys past lk in the last panel are zero. */
void cxr_attention_pack_keys(const float *k, size_t ldk, size_t lk, size_t d, float *dst);

/* Floats of scratch one call of cxr_attention_rows with at most `rows` rows and blocks of `key_block` keys
   needs (the score tile, the unnormalised output rows, the running maxima and sums). */
size_t cxr_attention_scratch_count(size_t rows, size_t key_block, size_t d);

/* out[r * ldo + e] = softmax_j(scale * q_r . k_j) v_j for query rows r < rows of one head, where q_r is
   q[r * ldq ...], k_j the packed keys, v_j = v[j * ldv ...] (e < d). With causal nonzero, row r is query
   first_row + r and sees keys 0 ... first_row + r only. key_block >= 1 keys are scored at a time; scratch holds
   cxr_attention_scratch_count(rows, key_block, d) floats. Must only be called where cxr_attention_supported()
   is 1. */
void cxr_attention_rows(const float *q, size_t ldq, const float *packed_keys, const float *v, size_t ldv,
                        size_t lk, size_t d, float scale, size_t rows, int causal, size_t first_row,
                        size_t key_block, float *out, size_t ldo, float *scratch);

/* 1 when this CPU and OS can run the AVX2 variant (AVX2 and FMA with YMM state enabled). */
int cxr_attention_avx2_supported(void);

/* cxr_attention_rows in AVX2 + FMA (8 lanes, 16 registers; attention_avx2.c), for x86 CPUs without AVX-512 such
   as Zen 1-3 and Haswell to Alder Lake: the same packed keys, scratch, arguments and result up to float rounding.
   Must only be called where cxr_attention_avx2_supported() is 1. */
void cxr_attention_rows_avx2(const float *q, size_t ldq, const float *packed_keys, const float *v, size_t ldv,
                             size_t lk, size_t d, float scale, size_t rows, int causal, size_t first_row,
                             size_t key_block, float *out, size_t ldo, float *scratch);

/* The bf16 variant of cxr_attention_rows (attention_bf16.c; AVX512-BF16, for `--precision bf16`): Q, K and V
   rounded to bf16 (to nearest even), Q K^T and P V by VDPBF16PS with float32 sums, the online softmax in float32
   and its probabilities rounded to bf16 before P V. K and V are packed once per head by the two functions below
   (sizes in uint16 values); odd key blocks are rounded up to even ones. Must only be called where
   cxr_attention_supported() and cxr_bf16_supported() are 1. */
size_t cxr_attention_bf16_packed_keys_count(size_t lk, size_t d);
size_t cxr_attention_bf16_packed_values_count(size_t lk, size_t d);
/* Panels of 16 keys, each key's dimension pairs (k[e], k[e + 1]) as one 32-bit column word. */
void cxr_attention_bf16_pack_keys(const float *k, size_t ldk, size_t lk, size_t d, uint16_t *dst);
/* Per pair of keys (2i, 2i + 1), the words (v[2i][e], v[2i + 1][e]) for e < d rounded up to 16. */
void cxr_attention_bf16_pack_values(const float *v, size_t ldv, size_t lk, size_t d, uint16_t *dst);
/* Floats of scratch one call of cxr_attention_rows_bf16 needs. */
size_t cxr_attention_bf16_scratch_count(size_t rows, size_t key_block, size_t d);
void cxr_attention_rows_bf16(const float *q, size_t ldq, const uint16_t *packed_keys,
                             const uint16_t *packed_values, size_t lk, size_t d, float scale, size_t rows,
                             int causal, size_t first_row, size_t key_block, float *out, size_t ldo,
                             float *scratch);

/* Atomically adds 1 to *counter and returns its previous value: hands out work items to threads in order,
   so a thread that the shared machine descheduled takes fewer of them instead of holding up the others. */
size_t cxr_attention_claim(size_t *counter);

#ifdef __cplusplus
}
#endif

#endif
