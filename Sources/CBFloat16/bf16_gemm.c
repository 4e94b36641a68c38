#include "cxr_bf16.h"

#include <string.h>

#include "bf16_round.h"

/* Layout (see the header): A panels are MR rows, each row its k pairs as 32-bit words, so packing a row-major
   activation is a straight conversion of each row (no transpose per call); B panels are, for each k pair, NR
   32-bit column words, so the kernel loads 16 columns x 2 k values with one vector load. */

static size_t kpairs_of(size_t k) { return (k + 1) / 2; }

size_t cxr_bf16_packed_a_count(size_t m, size_t k) {
    return ((m + CXR_BF16_MR - 1) / CXR_BF16_MR) * CXR_BF16_MR * kpairs_of(k) * 2;
}

size_t cxr_bf16_packed_b_count(size_t k, size_t n) {
    return ((n + CXR_BF16_NR - 1) / CXR_BF16_NR) * CXR_BF16_NR * kpairs_of(k) * 2;
}

#if defined(__x86_64__)
#include "cxr_cpuid.h"

int cxr_bf16_supported(void) {
    uint32_t r[4];
    if (!cxr_cpuid(7, 0, r)) return 0;
    int f = (r[1] >> 16) & 1, dq = (r[1] >> 17) & 1, bw = (r[1] >> 30) & 1, vl = (r[1] >> 31) & 1;
    if (!(f && dq && bw && vl) || r[0] < 1) return 0;
    uint32_t s[4];
    if (!cxr_cpuid(7, 1, s) || !((s[0] >> 5) & 1)) return 0;
    /* The OS must save the YMM and ZMM state (XCR0 bits 1-2 and 5-7). */
    return (cxr_xgetbv0() & 0xE6) == 0xE6;
}

BF16_TARGET void cxr_bf16_pack_a(const float *a, size_t lda, int trans, size_t m, size_t k, uint16_t *dst,
                                 size_t panel0, size_t panel1) {
    size_t kp = kpairs_of(k);
    for (size_t panel = panel0; panel < panel1; panel++) {
        for (size_t r = 0; r < CXR_BF16_MR; r++) {
            size_t i = panel * CXR_BF16_MR + r;
            uint32_t *row = (uint32_t *)(dst) + (panel * CXR_BF16_MR + r) * kp;
            if (i >= m) { memset(row, 0, kp * 4); continue; }
            size_t p = 0;
            if (!trans) {
                const float *src = a + i * lda;
                /* 16 pairs (32 floats) at a time: even and odd elements land in the low/high halves. */
                for (; 2 * p + 32 <= k; p += 16) {
                    __m512i lo = bf16_lanes(_mm512_loadu_ps(src + 2 * p));
                    __m512i hi = bf16_lanes(_mm512_loadu_ps(src + 2 * p + 16));
                    /* lo lanes hold elements 0..15, hi 16..31; pair q = (e[2q], e[2q+1]). */
                    __m512i idx_even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
                    __m512i idx_odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
                    __m512i even = _mm512_permutex2var_epi32(lo, idx_even, hi);
                    __m512i odd = _mm512_permutex2var_epi32(lo, idx_odd, hi);
                    _mm512_storeu_si512(row + p, _mm512_or_si512(even, _mm512_slli_epi32(odd, 16)));
                }
                for (; p < kp; p++) {
                    uint32_t e0 = to_bf16(src[2 * p]);
                    uint32_t e1 = 2 * p + 1 < k ? to_bf16(src[2 * p + 1]) : 0;
                    row[p] = e0 | e1 << 16;
                }
            } else {
                for (; p < kp; p++) {
                    uint32_t e0 = to_bf16(a[(2 * p) * lda + i]);
                    uint32_t e1 = 2 * p + 1 < k ? to_bf16(a[(2 * p + 1) * lda + i]) : 0;
                    row[p] = e0 | e1 << 16;
                }
            }
        }
    }
}

BF16_TARGET void cxr_bf16_pack_b(const float *b, size_t ldb, int trans, size_t k, size_t n, uint16_t *dst,
                                 size_t panel0, size_t panel1) {
    size_t kp = kpairs_of(k);
    for (size_t panel = panel0; panel < panel1; panel++) {
        uint32_t *out = (uint32_t *)(dst) + panel * CXR_BF16_NR * kp;
        size_t j0 = panel * CXR_BF16_NR;
        size_t cols = n - j0 < CXR_BF16_NR ? n - j0 : CXR_BF16_NR;
        for (size_t p = 0; p < kp; p++) {
            uint32_t *w = out + p * CXR_BF16_NR;
            int odd_ok = 2 * p + 1 < k;
            if (!trans && cols == CXR_BF16_NR) {
                const float *r0 = b + (2 * p) * ldb + j0, *r1 = r0 + ldb;
                for (int h = 0; h < 2; h++) {
                    __m512i e0 = bf16_lanes(_mm512_loadu_ps(r0 + 16 * h));
                    __m512i e1 = odd_ok ? bf16_lanes(_mm512_loadu_ps(r1 + 16 * h)) : _mm512_setzero_si512();
                    _mm512_storeu_si512(w + 16 * h, _mm512_or_si512(e0, _mm512_slli_epi32(e1, 16)));
                }
                continue;
            }
            for (size_t j = 0; j < CXR_BF16_NR; j++) {
                if (j >= cols) { w[j] = 0; continue; }
                float f0 = trans ? b[(j0 + j) * ldb + 2 * p] : b[(2 * p) * ldb + j0 + j];
                uint32_t e1 = 0;
                if (odd_ok) e1 = to_bf16(trans ? b[(j0 + j) * ldb + 2 * p + 1] : b[(2 * p + 1) * ldb + j0 + j]);
                w[j] = (uint32_t)to_bf16(f0) | e1 << 16;
            }
        }
    }
}

/* One MR x NR block of C over kc pairs: 16 accumulators, VDPBF16PS adds a[2p]*b[2p] + a[2p+1]*b[2p+1] in
   float32 per lane. `first` applies beta (this is the first k block); later blocks add to C. */
BF16_TARGET static void kernel(size_t kc, const uint32_t *a, size_t a_row, const uint32_t *b, float alpha,
                               float beta, int first, float *c, size_t ldc, size_t rows, size_t cols) {
    __m512 acc[CXR_BF16_MR][2];
    for (int r = 0; r < CXR_BF16_MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (size_t p = 0; p < kc; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * CXR_BF16_NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * CXR_BF16_NR + 16);
        for (int r = 0; r < CXR_BF16_MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r * a_row + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    for (size_t r = 0; r < rows; r++) {
        float *cr = c + r * ldc;
        __m512 v0 = _mm512_mul_ps(va, acc[r][0]), v1 = _mm512_mul_ps(va, acc[r][1]);
        if (!first) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
        } else if (beta != 0) {
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

/* k is split into blocks of KC pairs so one B micro-panel (KC x NR, 32 KB) stays in L1 while the A panels of
   an MC block (MCP panels, 256 KB) come from L2. */
enum { KC = 256, MCP = 32 };

BF16_TARGET void cxr_bf16_gemm(size_t m, size_t n, size_t k, float alpha, const uint16_t *pa, const uint16_t *pb,
                               float beta, float *c, size_t ldc, size_t ap0, size_t ap1, size_t bp0, size_t bp1) {
    size_t kp = kpairs_of(k);
    const uint32_t *a32 = (const uint32_t *)pa, *b32 = (const uint32_t *)pb;
    if (kp == 0) {
        /* k = 0: C = beta * C over the block. */
        for (size_t i = ap0 * CXR_BF16_MR; i < m && i < ap1 * CXR_BF16_MR; i++)
            for (size_t j = bp0 * CXR_BF16_NR; j < n && j < bp1 * CXR_BF16_NR; j++)
                c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    for (size_t k0 = 0; k0 < kp; k0 += KC) {
        size_t kc = kp - k0 < KC ? kp - k0 : KC;
        for (size_t am = ap0; am < ap1; am += MCP) {
            size_t amEnd = am + MCP < ap1 ? am + MCP : ap1;
            for (size_t bp = bp0; bp < bp1; bp++) {
                size_t j0 = bp * CXR_BF16_NR;
                size_t cols = n - j0 < CXR_BF16_NR ? n - j0 : CXR_BF16_NR;
                const uint32_t *bpanel = b32 + bp * CXR_BF16_NR * kp + k0 * CXR_BF16_NR;
                for (size_t ap = am; ap < amEnd; ap++) {
                    size_t i0 = ap * CXR_BF16_MR;
                    size_t rows = m - i0 < CXR_BF16_MR ? m - i0 : CXR_BF16_MR;
                    const uint32_t *apanel = a32 + ap * CXR_BF16_MR * kp + k0;
                    kernel(kc, apanel, kp, bpanel, alpha, beta, k0 == 0, c + i0 * ldc + j0, ldc, rows, cols);
                }
            }
        }
    }
}

#else

int cxr_bf16_supported(void) { return 0; }

void cxr_bf16_pack_a(const float *a, size_t lda, int trans, size_t m, size_t k, uint16_t *dst,
                     size_t panel0, size_t panel1) {
    (void)a; (void)lda; (void)trans; (void)m; (void)k; (void)dst; (void)panel0; (void)panel1;
}

void cxr_bf16_pack_b(const float *b, size_t ldb, int trans, size_t k, size_t n, uint16_t *dst,
                     size_t panel0, size_t panel1) {
    (void)b; (void)ldb; (void)trans; (void)k; (void)n; (void)dst; (void)panel0; (void)panel1;
}

void cxr_bf16_gemm(size_t m, size_t n, size_t k, float alpha, const uint16_t *pa, const uint16_t *pb,
                   float beta, float *c, size_t ldc, size_t ap0, size_t ap1, size_t bp0, size_t bp1) {
    (void)m; (void)n; (void)k; (void)alpha; (void)pa; (void)pb; (void)beta; (void)c; (void)ldc;
    (void)ap0; (void)ap1; (void)bp0; (void)bp1;
}

#endif
