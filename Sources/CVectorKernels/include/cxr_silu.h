#ifndef CXR_SILU_H
#define CXR_SILU_H

#include <stddef.h>

/* SiLU in place in AVX-512, bit for bit FastMath.siluInPlace (Sources/CXRTensor/FastMath.swift): the same Cephes
   exp and the same float operations in the same order, 16 lanes at a time instead of two SSE halves of 8.

   Why: the Swift code is built for baseline x86-64, where its 8-lane vectors run as pairs of SSE operations with
   SSE division; SiLU after GroupNorm was a tenth of the bundled model's VAE decode. */

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this CPU and OS can run the AVX-512 kernels of this module (AVX-512F with ZMM state enabled). */
int cxr_vector_kernels_supported(void);

/* p[i] = p[i] / (1 + e^-p[i]) for i < count. Must only be called where cxr_vector_kernels_supported() is 1. */
void cxr_silu_inplace(float *p, size_t count);

#ifdef __cplusplus
}
#endif

#endif
