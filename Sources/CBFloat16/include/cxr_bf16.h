#ifndef CXR_BF16_H
#define CXR_BF16_H

#include <stddef.h>
#include <stdint.h>

/* bfloat16 GEMM with float32 accumulation on AVX512-BF16 (VDPBF16PS): oneDNN's BLAS-style API has no bf16 GEMM
   (its bf16 products are matmul primitives built per shape). Row-major, C = alpha * A * B + beta * C.

   Operands are packed first, so a weight can be packed once and reused for every call:
   - A (m x k): panels of CXR_BF16_MR rows; within a panel, for each pair of k, the MR row pairs
     (a[r][2p], a[r][2p+1]) as 32-bit words. Size: cxr_bf16_packed_a_count(m, k) uint16 values.
   - B (k x n): panels of CXR_BF16_NR columns; within a panel, for each pair of k, the NR column pairs
     (b[2p][j], b[2p+1][j]). Size: cxr_bf16_packed_b_count(k, n).
   Padding rows, columns and the odd k are zero, so they add nothing. Rounding float32 -> bf16 is to nearest,
   ties to even (as VCVTNEPS2BF16 and PyTorch); NaN stays NaN. */

#define CXR_BF16_MR 8
#define CXR_BF16_NR 32

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this CPU and OS can run the kernel (AVX512F/BW/VL + AVX512_BF16 with ZMM state enabled). */
int cxr_bf16_supported(void);

size_t cxr_bf16_packed_a_count(size_t m, size_t k);
size_t cxr_bf16_packed_b_count(size_t k, size_t n);

/* Packs op(A) (m x k) where op(A) = A (trans 0, a[i*lda + p]) or A^T (trans 1, a[p*lda + i]).
   Packs whole panels [panel0, panel1) only, so callers can split the work across threads. */
void cxr_bf16_pack_a(const float *a, size_t lda, int trans, size_t m, size_t k, uint16_t *dst,
                     size_t panel0, size_t panel1);
/* Packs op(B) (k x n): B (trans 0, b[p*ldb + j]) or B^T (trans 1, b[j*ldb + p]); panels [panel0, panel1). */
void cxr_bf16_pack_b(const float *b, size_t ldb, int trans, size_t k, size_t n, uint16_t *dst,
                     size_t panel0, size_t panel1);

/* C rows of A-panels [ap0, ap1) x columns of B-panels [bp0, bp1) of C = alpha * A * B + beta * C
   (beta 0: C is not read, so it may hold anything, NaN included). Must only be called where
   cxr_bf16_supported() is 1. Disjoint panel ranges write disjoint parts of C (safe across threads). */
void cxr_bf16_gemm(size_t m, size_t n, size_t k, float alpha, const uint16_t *pa, const uint16_t *pb,
                   float beta, float *c, size_t ldc, size_t ap0, size_t ap1, size_t bp0, size_t bp1);

/* Winograd F(2x2,3x3)'s input transform V = B^T d B, packed as it is computed: for `length` adjacent tiles along a
   tile row of channels 2 * pair (plane0) and 2 * pair + 1 (plane1; NULL where k is odd and this is its last pair),
   h x w planes, the first patch at (y0, x0) (outside the plane is zero), the 16 values of each tile rounded to bf16
   and written as columns column...column + length - 1 of the 16 packed B operands (k x n, the layout above)
   operands[xi]. The float32 values are bit for bit those of cxr_winograd_f2_input_run, and the rounding
   that of cxr_bf16_pack_b, so the operands are the ones packing V would give, without writing V in float32 and
   reading it back. Padding columns of the last panel are left as they are (the kernel stores none of their sums).
   Must only be called where cxr_bf16_supported() is 1. */
void cxr_bf16_winograd_f2_pack_run(const float *plane0, const float *plane1, long h, long w, long y0, long x0,
                                   long length, uint16_t *const *operands, size_t k, size_t pair, size_t column);

#ifdef __cplusplus
}
#endif

#endif
