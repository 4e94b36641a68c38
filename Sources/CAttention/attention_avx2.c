/* The fused attention kernel of attention.c for x86 CPUs with AVX2 and FMA but no AVX-512 (Zen 1-3, Haswell to
   Alder Lake): the same algorithm, packed keys and scratch layout (attention_layout.h), in 8-lane vectors and a
   register budget of 16 instead of 32. Compiled with per-function target attributes, so the package still builds
   for baseline x86-64 and only calls these functions where cxr_attention_avx2_supported() says the CPU has them. */
#include "cxr_attention.h"
#include "attention_layout.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include "cxr_cpuid.h"

#define AVX2 __attribute__((target("avx,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

int cxr_attention_avx2_supported(void) {
    uint32_t r[4];
    /* FMA (CPUID 1 ECX bit 12), AVX (bit 28), AVX2 (CPUID 7 EBX bit 5). */
    if (!cxr_cpuid(1, 0, r) || !((r[2] >> 12) & 1) || !((r[2] >> 28) & 1)) return 0;
    if (!cxr_cpuid(7, 0, r) || !((r[1] >> 5) & 1)) return 0;
    /* The OS must save the XMM and YMM state (XCR0 bits 1-2); cxr_xgetbv0 is 0 without OS XSAVE support. */
    return (cxr_xgetbv0() & 0x6) == 0x6;
}

/* e^x in 8 lanes: exactly FastMath.exp (Sources/CXRTensor/FastMath.swift) and attention.c's exp16, the Cephes
   range reduction and polynomial with the lower clamp at -87.33; 2^n is built in the exponent bits, as FastMath
   does, since AVX2 has no VSCALEFPS. No upper clamp: the softmax only exponentiates x <= 0. */
AVX2 INLINE __m256 exp8(__m256 x) {
    const __m256 magic = _mm256_set1_ps(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    x = _mm256_max_ps(_mm256_set1_ps(-87.33f), x);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, z, x), _mm256_set1_ps(1.0f));
    /* n is an integer in [-126, 0] here: its bits are t's low mantissa bits minus magic's. */
    __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

AVX2 INLINE float exp1(float x) { return _mm256_cvtss_f32(exp8(_mm256_set1_ps(x))); }

/* All-ones in lanes i < count (as many as 8), for masked loads and stores. */
AVX2 INLINE __m256i lanes(size_t count) {
    int c = count >= 8 ? 8 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 INLINE float reduce_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

AVX2 INLINE float reduce_add(__m256 v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_add_ss(m, _mm_shuffle_ps(m, m, 1)));
}

/* Scores s[r][c * 16 + t] = q_r . k_(c * 16 + t) for R query rows and `panels` panels of 16 keys, one panel at a
   time: 6 rows x 2 vectors are 12 accumulators, plus 2 key vectors and a broadcast (15 of the 16 registers: the
   6x16 tile of Haswell SGEMM kernels). The packed layout is attention.c's; a panel's 16 keys of dimension e are
   two vector loads. */
AVX2 INLINE void score_tile(int R, const float *q, size_t ldq, const float *kp, size_t d, float *s, size_t lds,
                            size_t panels) {
    for (size_t c = 0; c < panels; c++, kp += 16 * d, s += 16) {
        __m256 acc[6][2];
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (size_t e = 0; e < d; e++) {
            __m256 k0 = _mm256_loadu_ps(kp + e * 16), k1 = _mm256_loadu_ps(kp + e * 16 + 8);
            for (int r = 0; r < R; r++) {
                __m256 qb = _mm256_broadcast_ss(q + r * ldq + e);
                acc[r][0] = _mm256_fmadd_ps(qb, k0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(qb, k1, acc[r][1]);
            }
        }
        for (int r = 0; r < R; r++) {
            _mm256_storeu_ps(s + r * lds, acc[r][0]);
            _mm256_storeu_ps(s + r * lds + 8, acc[r][1]);
        }
    }
}

/* o[r][c * 8 ...] += sum_j p[r][j] v_j[c * 8 ...] for R rows and C vectors of 8 output values. With MASKED, the
   last vector's values past d are loaded as zero (`last`), so V is read in place without reading past its end;
   d % 8 == 0 (every SD head size) takes the unmasked copy, since a masked load per key costs more than a load. */
AVX2 INLINE void value_tile(int R, int C, int MASKED, const float *p, size_t lds, const float *v, size_t ldv,
                            size_t n, float *o, size_t ldo, __m256i last) {
    __m256 acc[12][2];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_loadu_ps(o + r * ldo + c * 8);
    for (size_t j = 0; j < n; j++) {
        __m256 vv[2];
        const float *vr = v + j * ldv;
        for (int c = 0; c < C - MASKED; c++) vv[c] = _mm256_loadu_ps(vr + c * 8);
        if (MASKED) vv[C - 1] = _mm256_maskload_ps(vr + (C - 1) * 8, last);
        for (int r = 0; r < R; r++) {
            __m256 pb = _mm256_broadcast_ss(p + r * lds + j);
            for (int c = 0; c < C; c++) acc[r][c] = _mm256_fmadd_ps(pb, vv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm256_storeu_ps(o + r * ldo + c * 8, acc[r][c]);
}

typedef void (*score_fn)(const float *, size_t, const float *, size_t, float *, size_t, size_t);
typedef void (*value_fn)(const float *, size_t, const float *, size_t, size_t, float *, size_t, __m256i);

#define SCORE(R)                                                                                                 \
    AVX2 static void score_##R(const float *q, size_t ldq, const float *kp, size_t d, float *s, size_t lds,    \
                               size_t panels) {                                                                  \
        score_tile(R, q, ldq, kp, d, s, lds, panels);                                                            \
    }
SCORE(1) SCORE(2) SCORE(3) SCORE(4) SCORE(5) SCORE(6)
enum { SCORE_ROWS = 6, VALUE_WIDTH = 2 };
static const score_fn score_kernels[7] = {NULL, score_1, score_2, score_3, score_4, score_5, score_6};

#define VALUE(R, C)                                                                                              \
    AVX2 static void value_##R##_##C(const float *p, size_t lds, const float *v, size_t ldv, size_t n, float *o, \
                                     size_t ldo, __m256i last) {                                                 \
        value_tile(R, C, 0, p, lds, v, ldv, n, o, ldo, last);                                                    \
    }                                                                                                            \
    AVX2 static void masked_##R##_##C(const float *p, size_t lds, const float *v, size_t ldv, size_t n,         \
                                      float *o, size_t ldo, __m256i last) {                                      \
        value_tile(R, C, 1, p, lds, v, ldv, n, o, ldo, last);                                                    \
    }
/* Register budget (16 vectors): R x C accumulators + C values + 1 broadcast, so 6 rows of 2 vectors (15) and,
   for an odd vector count's last one, 12 rows of 1 (14; 8 rows took 12% longer per vector at d = 40). Not 4 rows
   of 3 (16, every register): clang then spilled an accumulator and shuffled registers every key, and that tile
   took twice the time per vector of the 6 x 2 one (d = 80: 75 ms against 60 ms with pairs, 1 thread). */
VALUE(1, 1) VALUE(2, 1) VALUE(3, 1) VALUE(4, 1) VALUE(5, 1) VALUE(6, 1) VALUE(7, 1) VALUE(8, 1)
VALUE(9, 1) VALUE(10, 1) VALUE(11, 1) VALUE(12, 1)
VALUE(1, 2) VALUE(2, 2) VALUE(3, 2) VALUE(4, 2) VALUE(5, 2) VALUE(6, 2)
static const value_fn value_kernels[2][13][3] = {
    {
        {NULL},
        {NULL, value_1_1, value_1_2},
        {NULL, value_2_1, value_2_2},
        {NULL, value_3_1, value_3_2},
        {NULL, value_4_1, value_4_2},
        {NULL, value_5_1, value_5_2},
        {NULL, value_6_1, value_6_2},
        {NULL, value_7_1, NULL},
        {NULL, value_8_1, NULL},
        {NULL, value_9_1, NULL},
        {NULL, value_10_1, NULL},
        {NULL, value_11_1, NULL},
        {NULL, value_12_1, NULL},
    },
    {
        {NULL},
        {NULL, masked_1_1, masked_1_2},
        {NULL, masked_2_1, masked_2_2},
        {NULL, masked_3_1, masked_3_2},
        {NULL, masked_4_1, masked_4_2},
        {NULL, masked_5_1, masked_5_2},
        {NULL, masked_6_1, masked_6_2},
        {NULL, masked_7_1, NULL},
        {NULL, masked_8_1, NULL},
        {NULL, masked_9_1, NULL},
        {NULL, masked_10_1, NULL},
        {NULL, masked_11_1, NULL},
        {NULL, masked_12_1, NULL},
    },
};
static int value_rows(int c) { return c == 1 ? 12 : 6; }

/* attention.c's softmax_block in 8 lanes (see there for the contract): scores row[0..<valid] become
   e^(scale * row[j] - m'), row[valid..<n] 0; updates m and l and returns the factor e^(m - m'). */
AVX2 INLINE float softmax_block(float *row, size_t valid, size_t n, float scale, float *m, float *l) {
    if (valid == 0) {
        memset(row, 0, n * sizeof(float));
        return 1;
    }
    const __m256 minusInf = _mm256_set1_ps(-INFINITY);
    __m256 mx = minusInf;
    size_t j = 0;
    for (; j + 8 <= valid; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(row + j));
    if (j < valid) {
        __m256i k = lanes(valid - j);
        mx = _mm256_max_ps(mx, _mm256_blendv_ps(minusInf, _mm256_maskload_ps(row + j, k), _mm256_castsi256_ps(k)));
    }
    float newMax = reduce_max(mx) * scale;
    if (*m > newMax) newMax = *m;
    float correction = *m == newMax ? 1 : *m == -INFINITY ? 0 : exp1(*m - newMax);
    const __m256 sc = _mm256_set1_ps(scale), shift = _mm256_set1_ps(-newMax);
    __m256 sum = _mm256_setzero_ps();
    for (j = 0; j + 8 <= valid; j += 8) {
        __m256 e = exp8(_mm256_fmadd_ps(_mm256_loadu_ps(row + j), sc, shift));
        _mm256_storeu_ps(row + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (j < valid) {
        __m256i k = lanes(valid - j);
        __m256 e = _mm256_and_ps(_mm256_castsi256_ps(k),
                                 exp8(_mm256_fmadd_ps(_mm256_maskload_ps(row + j, k), sc, shift)));
        /* The whole vector (up to n): masked keys of this vector become 0 too. */
        _mm256_maskstore_ps(row + j, lanes(n - j), e);
        sum = _mm256_add_ps(sum, e);
        j += 8;
    }
    if (j < n) memset(row + j, 0, (n - j) * sizeof(float));
    *l = *l * correction + reduce_add(sum);
    *m = newMax;
    return correction;
}

AVX2 void cxr_attention_rows_avx2(const float *q, size_t ldq, const float *packed_keys, const float *v,
                                  size_t ldv, size_t lk, size_t d, float scale, size_t rows, int causal,
                                  size_t first_row, size_t key_block, float *out, size_t ldo, float *scratch) {
    if (rows == 0 || d == 0) return;
    const size_t lds = cxr_score_stride(key_block), dpad = cxr_padded_dim(d), dv = (d + 7) / 8;
    float *s = scratch, *o = s + rows * lds, *m = o + rows * dpad, *l = m + rows;
    cxr_start_rows(o, m, l, rows, dpad);
    const __m256i last = lanes(d - (dv - 1) * 8);
    const int tailMasked = d % 8 != 0;
    /* Output vectors in pairs, the last one alone where their count is odd (d = 40: 2 + 2 + 1). */
    const size_t groups = (dv + VALUE_WIDTH - 1) / VALUE_WIDTH, narrow = dv / groups, wide = dv % groups;
    const size_t keys = cxr_needed_keys(lk, causal, first_row, rows);
    for (size_t k0 = 0; k0 < keys; k0 += key_block) {
        const size_t n = key_block < keys - k0 ? key_block : keys - k0;
        const size_t lead = k0 % 16, panels = (lead + n + 15) / 16;
        const float *kp = packed_keys + (k0 / 16) * 16 * d;
        for (size_t r0 = 0; r0 < rows; r0 += SCORE_ROWS) {
            size_t rr = rows - r0 < SCORE_ROWS ? rows - r0 : SCORE_ROWS;
            score_kernels[rr](q + r0 * ldq, ldq, kp, d, s + r0 * lds, lds, panels);
        }
        for (size_t r = 0; r < rows; r++) {
            const size_t valid = cxr_visible_keys(causal, first_row, r, k0, n);
            float correction = softmax_block(s + r * lds + lead, valid, n, scale, &m[r], &l[r]);
            if (correction != 1) {
                const __m256 cv = _mm256_set1_ps(correction);
                for (size_t c = 0; c < dv; c++)
                    _mm256_storeu_ps(o + r * dpad + c * 8, _mm256_mul_ps(cv, _mm256_loadu_ps(o + r * dpad + c * 8)));
            }
        }
        const float *vb = v + k0 * ldv;
        const float *pb = s + lead;
        for (size_t g = 0, c0 = 0; g < groups; g++) {
            size_t cc = narrow + (g < wide ? 1 : 0);
            int masked = tailMasked && c0 + cc == dv;
            size_t maxRows = (size_t)value_rows((int)cc);
            for (size_t r = 0; r < rows; r += maxRows) {
                size_t rr = rows - r < maxRows ? rows - r : maxRows;
                value_kernels[masked][rr][cc](pb + r * lds, lds, vb + c0 * 8, ldv, n, o + r * dpad + c0 * 8, dpad,
                                              last);
            }
            c0 += cc;
        }
    }
    const __m256i all = lanes(8);
    for (size_t r = 0; r < rows; r++) {
        const __m256 inv = _mm256_set1_ps(1 / l[r]);
        for (size_t c = 0; c < dv; c++)
            _mm256_maskstore_ps(out + r * ldo + c * 8, c + 1 == dv ? last : all,
                                _mm256_mul_ps(inv, _mm256_loadu_ps(o + r * dpad + c * 8)));
    }
}

#else

int cxr_attention_avx2_supported(void) { return 0; }

void cxr_attention_rows_avx2(const float *q, size_t ldq, const float *packed_keys, const float *v, size_t ldv,
                             size_t lk, size_t d, float scale, size_t rows, int causal, size_t first_row,
                             size_t key_block, float *out, size_t ldo, float *scratch) {
    (void)q; (void)ldq; (void)packed_keys; (void)v; (void)ldv; (void)lk; (void)d; (void)scale; (void)rows;
    (void)causal; (void)first_row; (void)key_block; (void)out; (void)ldo; (void)scratch;
}

#endif
