#include "cxr_attention.h"
#include "attention_layout.h"

#include <stdint.h>
#include <string.h>

/* The fused AVX-512 kernel with both products in bf16 (VDPBF16PS: two bf16 products summed into each float32
   lane), what PyTorch's bf16 autocast runs too: Q, K and V are rounded to bf16 once, the scores and the output
   accumulate in float32, the online softmax (attention_softmax_avx512.h, the fp32 kernel's) runs on float32
   scores, and only the probabilities are rounded to bf16 before P V. Each VDPBF16PS does the multiply-adds of two
   FMAs, over half the bytes.

   VDPBF16PS pairs adjacent bf16 values in a 32-bit word, so each operand is laid out with the summed index in
   pairs: Q and K pair dimensions (e, e + 1), P and V pair keys (j, j + 1). Rounding is VCVTNE(2)PS2BF16's: to
   nearest even, as PyTorch, with float32 subnormals flushed to zero (below 1.2e-38: nothing here is that small
   but probabilities that are 0 in any precision). */

static size_t dim_pairs(size_t d) { return (d + 1) / 2; }

/* Key blocks must start on an even key, so that a block's keys pair as the packed values do. */
static size_t even_block(size_t key_block) { return key_block + (key_block & 1); }

size_t cxr_attention_bf16_packed_keys_count(size_t lk, size_t d) { return (lk + 15) / 16 * 16 * dim_pairs(d) * 2; }

size_t cxr_attention_bf16_packed_values_count(size_t lk, size_t d) { return (lk + 1) / 2 * cxr_padded_dim(d) * 2; }

size_t cxr_attention_bf16_scratch_count(size_t rows, size_t key_block, size_t d) {
    const size_t lds = cxr_score_stride(even_block(key_block));
    /* The fp32 kernel's tiles, then the rows' Q pairs and their probabilities' key pairs (32-bit words). */
    return rows * lds + rows * cxr_padded_dim(d) + 2 * rows + rows * dim_pairs(d) + rows * lds / 2;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "attention_softmax_avx512.h"

#define BF16 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512bf16,fma")))

/* src[0 ..< count] (at most 32 floats; the rest read as 0) as 16 words of bf16 pairs (src[2i], src[2i + 1]). */
BF16 INLINE __m512i pairs_of(const float *src, size_t count) {
    __m512 lo = _mm512_maskz_loadu_ps(lanes(count), src);
    __m512 hi = count > 16 ? _mm512_maskz_loadu_ps(lanes(count - 16), src + 16) : _mm512_setzero_ps();
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* Rows of `count` floats as `ceil(count / 2)` words of bf16 pairs each (the last pair's second value 0 when
   count is odd). */
BF16 INLINE void round_pairs(const float *src, size_t count, uint32_t *dst) {
    const size_t words = dim_pairs(count);
    for (size_t w = 0; w < words; w += 16)
        _mm512_mask_storeu_epi32(dst + w, lanes(words - w), pairs_of(src + 2 * w, count - 2 * w));
}

/* Panels of 16 keys as the fp32 packing, with each key's dimension pairs as one 32-bit column word: the score
   kernel loads 16 keys' values of one dimension pair with one vector load. Each key's row is rounded 16 pairs at
   a time and its words stored one by one down its column (a 16-lane scatter
   took 0.92% of a bf16 UNet step on Zen 5, this 0.81%: the time is reading K's rows). */
BF16 void cxr_attention_bf16_pack_keys(const float *k, size_t ldk, size_t lk, size_t d, uint16_t *dst) {
    const size_t dp = dim_pairs(d), panels = (lk + 15) / 16;
    uint32_t *words = (uint32_t *)dst, row[16];
    memset(words, 0, panels * 16 * dp * sizeof(uint32_t));
    for (size_t j = 0; j < lk; j++) {
        uint32_t *column = words + j / 16 * 16 * dp + j % 16;
        for (size_t w = 0; w < dp; w += 16) {
            _mm512_storeu_si512(row, pairs_of(k + j * ldk + 2 * w, d - 2 * w));
            const size_t count = dp - w < 16 ? dp - w : 16;
            for (size_t i = 0; i < count; i++) column[(w + i) * 16] = row[i];
        }
    }
}

/* For each pair of keys (2i, 2i + 1), the words (v[2i][e], v[2i + 1][e]) for e < d rounded up to 16 (zero
   past d and past lk): the P V kernel loads 16 output values of a key pair with one vector load, no mask. */
BF16 void cxr_attention_bf16_pack_values(const float *v, size_t ldv, size_t lk, size_t d, uint16_t *dst) {
    const size_t dpad = cxr_padded_dim(d);
    uint32_t *words = (uint32_t *)dst;
    for (size_t i = 0; i < (lk + 1) / 2; i++) {
        const float *v0 = v + 2 * i * ldv, *v1 = v0 + ldv;
        const int second = 2 * i + 1 < lk;
        for (size_t e = 0; e < dpad; e += 16) {
            const __mmask16 valid = lanes(d - e);
            __m512i a = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(valid, v0 + e)));
            __m512i b = _mm512_setzero_si512();
            if (second) b = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(valid, v1 + e)));
            _mm512_storeu_si512(words + i * dpad + e, _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
        }
    }
}

/* score_tile of attention.c over dimension pairs: R x C accumulators, per pair one load per panel of 16 keys
   and one broadcast per row. */
BF16 INLINE void score_tile(int R, int C, const uint32_t *q, size_t ldq, const uint32_t *kp, size_t dp, float *s,
                            size_t lds) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (size_t e = 0; e < dp; e++) {
        __m512bh kv[4];
        for (int c = 0; c < C; c++) kv[c] = (__m512bh)_mm512_loadu_si512(kp + (size_t)c * 16 * dp + e * 16);
        for (int r = 0; r < R; r++) {
            __m512bh qb = (__m512bh)_mm512_set1_epi32((int)q[r * ldq + e]);
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qb, kv[c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm512_storeu_ps(s + r * lds + c * 16, acc[r][c]);
}

/* value_tile of attention.c over key pairs: o[r][c * 16 ...] += p[r][2i] v_2i + p[r][2i + 1] v_2i+1 for the
   n2 key pairs of the block. The packed values are zero past d, so no lane is masked. */
BF16 INLINE void value_tile(int R, int C, const uint32_t *p, size_t ldp, const uint32_t *v, size_t ldv, size_t n2,
                            float *o, size_t ldo) {
    __m512 acc[8][6];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_loadu_ps(o + r * ldo + c * 16);
    for (size_t i = 0; i < n2; i++) {
        __m512bh vv[6];
        for (int c = 0; c < C; c++) vv[c] = (__m512bh)_mm512_loadu_si512(v + i * ldv + c * 16);
        for (int r = 0; r < R; r++) {
            __m512bh pb = (__m512bh)_mm512_set1_epi32((int)p[r * ldp + i]);
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], pb, vv[c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm512_storeu_ps(o + r * ldo + c * 16, acc[r][c]);
}

/* value_tile_pairs of attention.c (d % 16 == 8): rows r and r + 1 share one accumulator for their 8-value
   tails, fed by the tail's words loaded into both halves and the two rows' probability words blended. */
BF16 INLINE void value_tile_pairs(int R, int CF, const uint32_t *p, size_t ldp, const uint32_t *v, size_t ldv,
                                  size_t n2, float *o, size_t ldo) {
    __m512 acc[8][3], tail[4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < CF; c++) acc[r][c] = _mm512_loadu_ps(o + r * ldo + c * 16);
    for (int t = 0; t < R / 2; t++)
        tail[t] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(o + 2 * t * ldo + CF * 16)),
                                     _mm256_loadu_ps(o + (2 * t + 1) * ldo + CF * 16), 1);
    for (size_t i = 0; i < n2; i++) {
        __m512bh vv[3];
        const uint32_t *vr = v + i * ldv;
        for (int c = 0; c < CF; c++) vv[c] = (__m512bh)_mm512_loadu_si512(vr + c * 16);
        __m512bh vt = (__m512bh)_mm512_broadcast_i32x8(_mm256_loadu_si256((const __m256i *)(vr + CF * 16)));
        for (int t = 0; t < R / 2; t++) {
            __m512i p0 = _mm512_set1_epi32((int)p[2 * t * ldp + i]);
            __m512i p1 = _mm512_set1_epi32((int)p[(2 * t + 1) * ldp + i]);
            for (int c = 0; c < CF; c++) {
                acc[2 * t][c] = _mm512_dpbf16_ps(acc[2 * t][c], (__m512bh)p0, vv[c]);
                acc[2 * t + 1][c] = _mm512_dpbf16_ps(acc[2 * t + 1][c], (__m512bh)p1, vv[c]);
            }
            tail[t] = _mm512_dpbf16_ps(tail[t], (__m512bh)_mm512_mask_blend_epi32(0xFF00, p0, p1), vt);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < CF; c++) _mm512_storeu_ps(o + r * ldo + c * 16, acc[r][c]);
    for (int t = 0; t < R / 2; t++) {
        _mm256_storeu_ps(o + 2 * t * ldo + CF * 16, _mm512_castps512_ps256(tail[t]));
        _mm256_storeu_ps(o + (2 * t + 1) * ldo + CF * 16, _mm512_extractf32x8_ps(tail[t], 1));
    }
}

typedef void (*pairs_fn)(const uint32_t *, size_t, const uint32_t *, size_t, size_t, float *, size_t);
#define PAIRS(R, CF)                                                                                             \
    BF16 static void value_pairs_##R##_##CF(const uint32_t *p, size_t ldp, const uint32_t *v, size_t ldv,        \
                                            size_t n2, float *o, size_t ldo) {                                   \
        value_tile_pairs(R, CF, p, ldp, v, ldv, n2, o, ldo);                                                     \
    }
PAIRS(8, 1) PAIRS(8, 2) PAIRS(6, 3)

typedef void (*score_fn)(const uint32_t *, size_t, const uint32_t *, size_t, float *, size_t);
#define SCORE(R, C)                                                                                              \
    BF16 static void score_##R##_##C(const uint32_t *q, size_t ldq, const uint32_t *kp, size_t dp, float *s,     \
                                     size_t lds) {                                                               \
        score_tile(R, C, q, ldq, kp, dp, s, lds);                                                                \
    }
#define SCORE_ROW(R) SCORE(R, 1) SCORE(R, 2) SCORE(R, 3) SCORE(R, 4)
SCORE_ROW(1) SCORE_ROW(2) SCORE_ROW(3) SCORE_ROW(4) SCORE_ROW(5) SCORE_ROW(6)
#define SCORE_ENTRY(R) {NULL, score_##R##_1, score_##R##_2, score_##R##_3, score_##R##_4}
enum { SCORE_ROWS = 6, SCORE_PANELS = 4 };
static const score_fn score_kernels[7][5] = {
    {NULL}, SCORE_ENTRY(1), SCORE_ENTRY(2), SCORE_ENTRY(3), SCORE_ENTRY(4), SCORE_ENTRY(5), SCORE_ENTRY(6)};

typedef void (*value_fn)(const uint32_t *, size_t, const uint32_t *, size_t, size_t, float *, size_t);
#define VALUE(R, C)                                                                                              \
    BF16 static void value_##R##_##C(const uint32_t *p, size_t ldp, const uint32_t *v, size_t ldv, size_t n2,    \
                                     float *o, size_t ldo) {                                                     \
        value_tile(R, C, p, ldp, v, ldv, n2, o, ldo);                                                            \
    }
/* Register budget: value_rows (attention_softmax_avx512.h). */
#define VALUE_ROW(R) VALUE(R, 1) VALUE(R, 2) VALUE(R, 3)
VALUE_ROW(1) VALUE_ROW(2) VALUE_ROW(3) VALUE_ROW(4) VALUE_ROW(5) VALUE_ROW(6) VALUE_ROW(7) VALUE_ROW(8)
VALUE(1, 4) VALUE(2, 4) VALUE(3, 4) VALUE(4, 4) VALUE(5, 4) VALUE(6, 4)
VALUE(1, 5) VALUE(2, 5) VALUE(3, 5) VALUE(4, 5)
VALUE(1, 6) VALUE(2, 6) VALUE(3, 6) VALUE(4, 6)
static const value_fn value_kernels[9][7] = {
    {NULL},
    {NULL, value_1_1, value_1_2, value_1_3, value_1_4, value_1_5, value_1_6},
    {NULL, value_2_1, value_2_2, value_2_3, value_2_4, value_2_5, value_2_6},
    {NULL, value_3_1, value_3_2, value_3_3, value_3_4, value_3_5, value_3_6},
    {NULL, value_4_1, value_4_2, value_4_3, value_4_4, value_4_5, value_4_6},
    {NULL, value_5_1, value_5_2, value_5_3, value_5_4, NULL, NULL},
    {NULL, value_6_1, value_6_2, value_6_3, value_6_4, NULL, NULL},
    {NULL, value_7_1, value_7_2, value_7_3, NULL, NULL, NULL},
    {NULL, value_8_1, value_8_2, value_8_3, NULL, NULL, NULL},
};

/* cxr_attention_rows's streaming, step for step: score tile, online softmax in float32, rescaling of the partial
   output, P V into it, division by the sums at the end. */
BF16 void cxr_attention_rows_bf16(const float *q, size_t ldq, const uint16_t *packed_keys,
                                  const uint16_t *packed_values, size_t lk, size_t d, float scale, size_t rows,
                                  int causal, size_t first_row, size_t key_block, float *out, size_t ldo,
                                  float *scratch) {
    if (rows == 0 || d == 0) return;
    const size_t block = even_block(key_block), lds = cxr_score_stride(block), ldp = lds / 2;
    const size_t dpad = cxr_padded_dim(d), dv = dpad / 16, dp = dim_pairs(d);
    float *s = scratch, *o = s + rows * lds, *m = o + rows * dpad, *l = m + rows;
    uint32_t *qp = (uint32_t *)(l + rows), *pp = qp + rows * dp;
    const uint32_t *keys = (const uint32_t *)packed_keys, *values = (const uint32_t *)packed_values;
    cxr_start_rows(o, m, l, rows, dpad);
    for (size_t r = 0; r < rows; r++) round_pairs(q + r * ldq, d, qp + r * dp);
    const __mmask16 last = lanes(d - (dv - 1) * 16);
    const size_t groups = (dv + 5) / 6, groupWidth = (dv + groups - 1) / groups;
    pairs_fn pairs = NULL;
    size_t pairRows = 8;
    if (d % 16 == 8) {
        if (dv == 2) pairs = value_pairs_8_1;
        if (dv == 3) pairs = value_pairs_8_2;
        if (dv == 4) pairs = value_pairs_6_3, pairRows = 6;
    }
    const size_t needed = cxr_needed_keys(lk, causal, first_row, rows);
    for (size_t k0 = 0; k0 < needed; k0 += block) {
        const size_t n = block < needed - k0 ? block : needed - k0, n2 = (n + 1) / 2;
        const size_t lead = k0 % 16, panels = (lead + n + 15) / 16;
        const uint32_t *kp = keys + (k0 / 16) * 16 * dp;
        for (size_t r0 = 0; r0 < rows; r0 += SCORE_ROWS) {
            size_t rr = rows - r0 < SCORE_ROWS ? rows - r0 : SCORE_ROWS;
            for (size_t c0 = 0; c0 < panels; c0 += SCORE_PANELS) {
                size_t cc = panels - c0 < SCORE_PANELS ? panels - c0 : SCORE_PANELS;
                score_kernels[rr][cc](qp + r0 * dp, dp, kp + c0 * 16 * dp, dp, s + r0 * lds + c0 * 16, lds);
            }
        }
        for (size_t r = 0; r < rows; r++) {
            const size_t valid = cxr_visible_keys(causal, first_row, r, k0, n);
            softmax_row(s + r * lds + lead, valid, n, scale, &m[r], &l[r], o + r * dpad, dv);
            /* The sums l keep the float32 probabilities; only the P V operand is rounded. */
            round_pairs(s + r * lds + lead, n, pp + r * ldp);
        }
        /* k0 is even (the block is), so the block's key pairs are the packed ones from pair k0 / 2. */
        const uint32_t *vb = values + k0 / 2 * dpad;
        size_t r0 = 0;
        if (pairs != NULL)
            for (; r0 + pairRows <= rows; r0 += pairRows) pairs(pp + r0 * ldp, ldp, vb, dpad, n2, o + r0 * dpad, dpad);
        for (size_t c0 = 0; c0 < dv; c0 += groupWidth) {
            size_t cc = dv - c0 < groupWidth ? dv - c0 : groupWidth;
            size_t maxRows = (size_t)value_rows((int)cc);
            for (size_t r = r0; r < rows; r += maxRows) {
                size_t rr = rows - r < maxRows ? rows - r : maxRows;
                value_kernels[rr][cc](pp + r * ldp, ldp, vb + c0 * 16, dpad, n2, o + r * dpad + c0 * 16, dpad);
            }
        }
    }
    for (size_t r = 0; r < rows; r++) {
        const __m512 inv = _mm512_set1_ps(1 / l[r]);
        for (size_t c = 0; c < dv; c++)
            _mm512_mask_storeu_ps(out + r * ldo + c * 16, c + 1 == dv ? last : 0xFFFF,
                                  _mm512_mul_ps(inv, _mm512_loadu_ps(o + r * dpad + c * 16)));
    }
}

#else

void cxr_attention_bf16_pack_keys(const float *k, size_t ldk, size_t lk, size_t d, uint16_t *dst) {
    (void)k; (void)ldk; (void)lk; (void)d; (void)dst;
}

void cxr_attention_bf16_pack_values(const float *v, size_t ldv, size_t lk, size_t d, uint16_t *dst) {
    (void)v; (void)ldv; (void)lk; (void)d; (void)dst;
}

void cxr_attention_rows_bf16(const float *q, size_t ldq, const uint16_t *packed_keys,
                             const uint16_t *packed_values, size_t lk, size_t d, float scale, size_t rows,
                             int causal, size_t first_row, size_t key_block, float *out, size_t ldo,
                             float *scratch) {
    (void)q; (void)ldq; (void)packed_keys; (void)packed_values; (void)lk; (void)d; (void)scale; (void)rows;
    (void)causal; (void)first_row; (void)key_block; (void)out; (void)ldo; (void)scratch;
}

#endif
