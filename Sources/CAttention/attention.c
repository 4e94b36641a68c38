#include "cxr_attention.h"
#include "attention_layout.h"

#include <math.h>
#include <string.h>

size_t cxr_attention_packed_keys_count(size_t lk, size_t d) { return (lk + 15) / 16 * 16 * d; }

size_t cxr_attention_scratch_count(size_t rows, size_t key_block, size_t d) {
    return rows * cxr_score_stride(key_block) + rows * cxr_padded_dim(d) + 2 * rows;
}

void cxr_attention_pack_keys(const float *k, size_t ldk, size_t lk, size_t d, float *dst) {
    size_t panels = (lk + 15) / 16;
    for (size_t p = 0; p < panels; p++) {
        float *panel = dst + p * 16 * d;
        for (size_t t = 0; t < 16; t++) {
            size_t j = p * 16 + t;
            if (j < lk) {
                const float *row = k + j * ldk;
                for (size_t e = 0; e < d; e++) panel[e * 16 + t] = row[e];
            } else {
                for (size_t e = 0; e < d; e++) panel[e * 16 + t] = 0;
            }
        }
    }
}

size_t cxr_attention_claim(size_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

#if defined(__x86_64__)
#include <immintrin.h>
#include "cxr_cpuid.h"
#include "attention_softmax_avx512.h"

int cxr_attention_supported(void) {
    uint32_t r[4];
    /* AVX512F, and AVX512DQ for the 8-lane halves of the d % 16 == 8 tiles (every AVX-512 CPU but Xeon Phi). */
    if (!cxr_cpuid(7, 0, r) || !((r[1] >> 16) & 1) || !((r[1] >> 17) & 1)) return 0;
    /* The OS must save the YMM and ZMM state (XCR0 bits 1-2 and 5-7). */
    return (cxr_xgetbv0() & 0xE6) == 0xE6;
}

/* Scores s[r][c * 16 + t] = q_r . k_(c * 16 + t) for R query rows and C panels of 16 keys: R x C accumulators
   in registers, each dimension e one vector load per panel and one broadcast per row. R, C are constants at
   every call, so the loops unroll and the accumulators stay in registers. */
AVX512 INLINE void score_tile(int R, int C, const float *q, size_t ldq, const float *kp, size_t d, float *s,
                              size_t lds) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (size_t e = 0; e < d; e++) {
        __m512 kv[4];
        for (int c = 0; c < C; c++) kv[c] = _mm512_loadu_ps(kp + (size_t)c * 16 * d + e * 16);
        for (int r = 0; r < R; r++) {
            __m512 qb = _mm512_set1_ps(q[r * ldq + e]);
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(qb, kv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm512_storeu_ps(s + r * lds + c * 16, acc[r][c]);
}

/* o[r][c * 16 ...] += sum_j p[r][j] v_j[c * 16 ...] for R rows and C vectors of 16 output values; the last
   vector's values past d are loaded as zero (`last`), so V is read in place, without padding. */
AVX512 INLINE void value_tile(int R, int C, const float *p, size_t lds, const float *v, size_t ldv, size_t n,
                              float *o, size_t ldo, __mmask16 last) {
    __m512 acc[8][6];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_loadu_ps(o + r * ldo + c * 16);
    for (size_t j = 0; j < n; j++) {
        __m512 vv[6];
        const float *vr = v + j * ldv;
        for (int c = 0; c < C - 1; c++) vv[c] = _mm512_loadu_ps(vr + c * 16);
        vv[C - 1] = _mm512_maskz_loadu_ps(last, vr + (C - 1) * 16);
        for (int r = 0; r < R; r++) {
            __m512 pb = _mm512_set1_ps(p[r * lds + j]);
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(pb, vv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm512_storeu_ps(o + r * ldo + c * 16, acc[r][c]);
}

/* value_tile for d % 16 == 8 (SD 1.5's d = 40: 2.5 vectors), which would waste a third of the last vector's
   FMAs on padding: the 8-value tails of rows r and r + 1 share one accumulator (lanes 0-7 and 8-15), fed by the
   tail of v_j loaded into both halves and the two rows' probabilities blended into one vector. R (even) rows,
   CF full vectors plus the tail: CF = 2, R = 8 does 20 FMAs and 4 blends per key instead of 24 FMAs. */
AVX512 INLINE void value_tile_pairs(int R, int CF, const float *p, size_t lds, const float *v, size_t ldv,
                                    size_t n, float *o, size_t ldo) {
    __m512 acc[8][3], tail[4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < CF; c++) acc[r][c] = _mm512_loadu_ps(o + r * ldo + c * 16);
    for (int t = 0; t < R / 2; t++)
        tail[t] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(o + 2 * t * ldo + CF * 16)),
                                     _mm256_loadu_ps(o + (2 * t + 1) * ldo + CF * 16), 1);
    for (size_t j = 0; j < n; j++) {
        __m512 vv[3];
        const float *vr = v + j * ldv;
        for (int c = 0; c < CF; c++) vv[c] = _mm512_loadu_ps(vr + c * 16);
        __m512 vt = _mm512_broadcast_f32x8(_mm256_loadu_ps(vr + CF * 16));
        for (int t = 0; t < R / 2; t++) {
            __m512 p0 = _mm512_set1_ps(p[2 * t * lds + j]), p1 = _mm512_set1_ps(p[(2 * t + 1) * lds + j]);
            for (int c = 0; c < CF; c++) {
                acc[2 * t][c] = _mm512_fmadd_ps(p0, vv[c], acc[2 * t][c]);
                acc[2 * t + 1][c] = _mm512_fmadd_ps(p1, vv[c], acc[2 * t + 1][c]);
            }
            tail[t] = _mm512_fmadd_ps(_mm512_mask_blend_ps(0xFF00, p0, p1), vt, tail[t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < CF; c++) _mm512_storeu_ps(o + r * ldo + c * 16, acc[r][c]);
    for (int t = 0; t < R / 2; t++) {
        _mm256_storeu_ps(o + 2 * t * ldo + CF * 16, _mm512_castps512_ps256(tail[t]));
        _mm256_storeu_ps(o + (2 * t + 1) * ldo + CF * 16, _mm512_extractf32x8_ps(tail[t], 1));
    }
}

AVX512 static void value_pairs_8_1(const float *p, size_t lds, const float *v, size_t ldv, size_t n, float *o,
                                   size_t ldo) {
    value_tile_pairs(8, 1, p, lds, v, ldv, n, o, ldo);
}
AVX512 static void value_pairs_8_2(const float *p, size_t lds, const float *v, size_t ldv, size_t n, float *o,
                                   size_t ldo) {
    value_tile_pairs(8, 2, p, lds, v, ldv, n, o, ldo);
}
AVX512 static void value_pairs_6_3(const float *p, size_t lds, const float *v, size_t ldv, size_t n, float *o,
                                   size_t ldo) {
    value_tile_pairs(6, 3, p, lds, v, ldv, n, o, ldo);
}

typedef void (*score_fn)(const float *, size_t, const float *, size_t, float *, size_t);
typedef void (*value_fn)(const float *, size_t, const float *, size_t, size_t, float *, size_t, __mmask16);

#define SCORE(R, C)                                                                                              \
    AVX512 static void score_##R##_##C(const float *q, size_t ldq, const float *kp, size_t d, float *s,        \
                                       size_t lds) {                                                             \
        score_tile(R, C, q, ldq, kp, d, s, lds);                                                                 \
    }
#define SCORE_ROW(R) SCORE(R, 1) SCORE(R, 2) SCORE(R, 3) SCORE(R, 4)
SCORE_ROW(1) SCORE_ROW(2) SCORE_ROW(3) SCORE_ROW(4) SCORE_ROW(5) SCORE_ROW(6)
#define SCORE_ENTRY(R) {NULL, score_##R##_1, score_##R##_2, score_##R##_3, score_##R##_4}
enum { SCORE_ROWS = 6, SCORE_PANELS = 4 };
static const score_fn score_kernels[7][5] = {
    {NULL}, SCORE_ENTRY(1), SCORE_ENTRY(2), SCORE_ENTRY(3), SCORE_ENTRY(4), SCORE_ENTRY(5), SCORE_ENTRY(6)};

#define VALUE(R, C)                                                                                              \
    AVX512 static void value_##R##_##C(const float *p, size_t lds, const float *v, size_t ldv, size_t n,       \
                                       float *o, size_t ldo, __mmask16 last) {                                   \
        value_tile(R, C, p, lds, v, ldv, n, o, ldo, last);                                                       \
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

AVX512 void cxr_attention_rows(const float *q, size_t ldq, const float *packed_keys, const float *v, size_t ldv,
                               size_t lk, size_t d, float scale, size_t rows, int causal, size_t first_row,
                               size_t key_block, float *out, size_t ldo, float *scratch) {
    if (rows == 0 || d == 0) return;
    const size_t lds = cxr_score_stride(key_block), dpad = cxr_padded_dim(d), dv = dpad / 16;
    float *s = scratch, *o = s + rows * lds, *m = o + rows * dpad, *l = m + rows;
    cxr_start_rows(o, m, l, rows, dpad);
    const __mmask16 last = lanes(d - (dv - 1) * 16);
    /* Output vectors in groups of at most 6, as even as possible (d = 160: 5 + 5, not 6 + 4). */
    const size_t groups = (dv + 5) / 6, groupWidth = (dv + groups - 1) / groups;
    typedef void (*pairs_fn)(const float *, size_t, const float *, size_t, size_t, float *, size_t);
    pairs_fn pairs = NULL;
    size_t pairRows = 8;
    if (d % 16 == 8) {
        if (dv == 2) pairs = value_pairs_8_1;
        if (dv == 3) pairs = value_pairs_8_2;
        if (dv == 4) pairs = value_pairs_6_3, pairRows = 6;
    }
    const size_t keys = cxr_needed_keys(lk, causal, first_row, rows);
    for (size_t k0 = 0; k0 < keys; k0 += key_block) {
        const size_t n = key_block < keys - k0 ? key_block : keys - k0;
        const size_t lead = k0 % 16, panels = (lead + n + 15) / 16;
        const float *kp = packed_keys + (k0 / 16) * 16 * d;
        for (size_t r0 = 0; r0 < rows; r0 += SCORE_ROWS) {
            size_t rr = rows - r0 < SCORE_ROWS ? rows - r0 : SCORE_ROWS;
            for (size_t c0 = 0; c0 < panels; c0 += SCORE_PANELS) {
                size_t cc = panels - c0 < SCORE_PANELS ? panels - c0 : SCORE_PANELS;
                score_kernels[rr][cc](q + r0 * ldq, ldq, kp + c0 * 16 * d, d, s + r0 * lds + c0 * 16, lds);
            }
        }
        for (size_t r = 0; r < rows; r++) {
            const size_t valid = cxr_visible_keys(causal, first_row, r, k0, n);
            softmax_row(s + r * lds + lead, valid, n, scale, &m[r], &l[r], o + r * dpad, dv);
        }
        const float *vb = v + k0 * ldv;
        const float *pb = s + lead;
        size_t r0 = 0;
        /* d = 24, 40, 56: pairs of rows share the half-vector tail (value_tile_pairs); other rows below. */
        if (pairs != NULL)
            for (; r0 + pairRows <= rows; r0 += pairRows)
                pairs(pb + r0 * lds, lds, vb, ldv, n, o + r0 * dpad, dpad);
        for (size_t c0 = 0; c0 < dv; c0 += groupWidth) {
            size_t cc = dv - c0 < groupWidth ? dv - c0 : groupWidth;
            __mmask16 mask = c0 + cc == dv ? last : 0xFFFF;
            size_t maxRows = (size_t)value_rows((int)cc);
            for (size_t r = r0; r < rows; r += maxRows) {
                size_t rr = rows - r < maxRows ? rows - r : maxRows;
                value_kernels[rr][cc](pb + r * lds, lds, vb + c0 * 16, ldv, n, o + r * dpad + c0 * 16, dpad, mask);
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

int cxr_attention_supported(void) { return 0; }

void cxr_attention_rows(const float *q, size_t ldq, const float *packed_keys, const float *v, size_t ldv,
                        size_t lk, size_t d, float scale, size_t rows, int causal, size_t first_row,
                        size_t key_block, float *out, size_t ldo, float *scratch) {
    (void)q; (void)ldq; (void)packed_keys; (void)v; (void)ldv; (void)lk; (void)d; (void)scale; (void)rows;
    (void)causal; (void)first_row; (void)key_block; (void)out; (void)ldo; (void)scratch;
}

#endif
