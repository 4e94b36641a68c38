#ifndef CXR_WINOGRAD_WEIGHTS_H
#define CXR_WINOGRAD_WEIGHTS_H

/* The weight transforms of Winograd F(2x2,3x3) and F(4x4,3x3), U = G g G^T, in AVX-512, 16 kernels at a time:
   bit for bit the portable loops of `winogradWeights` (Sources/CXRTensor/Winograd.swift) and `winogradF4Weights`
   (WinogradF4.swift), the same float operations in the same order.

   Why: an SD 1.5-size UNet's fp32 3x3 weights are too large to keep transformed (16/9 of them as float32), so
   they are transformed on every call, and the portable loop, one kernel at a time with 16 scattered stores, was
   7% of a 512 px UNet step. Must only be called where cxr_vector_kernels_supported() is 1. */

#ifdef __cplusplus
extern "C" {
#endif

/* The 16 transformed values of `count` 3x3 kernels stored one after the other in g (9 floats each, row by row),
   kernel i's value xi (4 * row + column of U) at u[xi * u_stride + i]. */
void cxr_winograd_f2_weights(const float *g, long count, float *u, long u_stride);

/* The same for F(4x4,3x3): 36 transformed values per kernel, value xi = 6 * row + column of U. */
void cxr_winograd_f4_weights(const float *g, long count, float *u, long u_stride);

#ifdef __cplusplus
}
#endif

#endif
