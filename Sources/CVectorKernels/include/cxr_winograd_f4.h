#ifndef CXR_WINOGRAD_F4_H
#define CXR_WINOGRAD_F4_H

/* The input and output transforms of Winograd F(4x4,3x3) in AVX-512 for a run of adjacent tiles along one tile
   row, bit for bit transformF4InputRun and transformF4OutputRun (Sources/CXRTensor/WinogradF4.swift): the same
   float operations in the same order, 16 tiles at a time, the patch columns gathered (zero outside the plane)
   instead of split into phases by a scalar loop, and the output blocks interleaved by permutes.

   Why: the portable transforms run as pairs of SSE operations; in a 512 px UNet step's 64x64 layers and a VAE
   decoder's large ones they were a fifth to a quarter of the F(4x4,3x3) layers' time. Must only be called where
   cxr_vector_kernels_supported() is 1. */

#ifdef __cplusplus
extern "C" {
#endif

/* V = B^T d B of the 6x6 patches of `length` tiles of an h x w plane, the first patch at (y0, x0) (outside the
   plane is zero), tile i's 36 values at v[xi * v_stride + i]. */
void cxr_winograd_f4_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                               long v_stride);

/* Y = A^T M A + bias of `length` tiles, tile i's 36 products at m[xi * m_stride + i], into the 4x4 blocks at
   (oy, ox + 4 i) of an ho x wo plane, cut at its edges. */
void cxr_winograd_f4_output_run(const float *m, long m_stride, long length, float bias, float *plane, long ho,
                                long wo, long oy, long ox);

#ifdef __cplusplus
}
#endif

#endif
