#ifndef CXR_WINOGRAD_H
#define CXR_WINOGRAD_H

#include <stddef.h>

/* The input and output transforms of Winograd F(2x2,3x3) in AVX-512 for a run of adjacent tiles along one tile
   row, bit for bit transformInputRun and transformOutputRun (Sources/CXRTensor/Winograd.swift): the same
   additions in the same order, 16 tiles at a time, with the patch rows split into even and odd positions by
   permutes instead of a scalar loop, and masked loads and stores at the plane's edges.

   Why: in the bundled model's VAE (32-64 channels) the transforms took as long as the GEMMs between them. Must
   only be called where cxr_vector_kernels_supported() is 1. */

#ifdef __cplusplus
extern "C" {
#endif

/* V = B^T d B of the 4x4 patches of `length` tiles of an h x w plane, the first patch at (y0, x0) (outside the
   plane is zero), tile i's 16 values at v[xi * v_stride + i]. */
void cxr_winograd_f2_input_run(const float *plane, long h, long w, long y0, long x0, long length, float *v,
                               long v_stride);

/* Y = A^T M A + bias of `length` tiles, tile i's 16 products at m[xi * m_stride + i], into the 2x2 blocks at
   (oy, ox + 2 i) of an ho x wo plane, cut at its edges. */
void cxr_winograd_f2_output_run(const float *m, long m_stride, long length, float bias, float *plane, long ho,
                                long wo, long oy, long ox);

#ifdef __cplusplus
}
#endif

#endif
