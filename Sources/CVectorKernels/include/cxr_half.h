#ifndef CXR_HALF_H
#define CXR_HALF_H

#include <stddef.h>
#include <stdint.h>

/* IEEE fp16 -> float32 widening in AVX-512, 16 values at a time: bit for bit HalfWidening.halfToFloat
   (Sources/CXRTensor/Weight.swift), the same integer and float operations (the value's bits moved into float
   position and scaled by 2^112, infinities and NaNs given the all-ones exponent, payload kept, sign restored),
   exact for every input; in the last count % 8 values (which the portable code converts one at a time) NaNs also
   get the quiet bit, as there.

   Why: an SD 1.5-size UNet's fp16 weights are widened before every GEMM that uses them (too large to keep as
   float32), about 0.8 billion values per 512 px step; the portable code runs as pairs of SSE operations. Must
   only be called where cxr_vector_kernels_supported() is 1. */

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = src[i] widened, for i < count. */
void cxr_half_to_float(const uint16_t *src, float *dst, size_t count);

#ifdef __cplusplus
}
#endif

#endif
