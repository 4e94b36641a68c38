#ifndef CXR_GELU_H
#define CXR_GELU_H

#include <stddef.h>

/* GELU with an erf of our own (exact GELU, `gelu` in torch), vectorised with AVX-512 where the CPU has it.

   Why not libm's erff: it is scalar (about 5 ns a call here) and GEGLU evaluates one per hidden value, which made
   it a fifth of the bundled model's UNet step. The erf here gives the same bits on every CPU: the AVX-512 and the
   portable path do the same float operations in the same order (no fused multiply-adds), and its table is
   built from double-precision erf and exp, rounded to float. */

#ifdef __cplusplus
extern "C" {
#endif

/* erf(x) in float: within about one unit in the last place of the exact value (checked against double erf over
   every float in the tests); erf(+-0) = +-0, +-1 from |x| >= 4, NaN for NaN. */
float cxr_erf(float x);

/* out[i] = value[i] * gelu(gate[i]) for i < count, gelu(v) = (0.5 v)(1 + erf(v / sqrt 2)) as PyTorch writes it:
   one row of GEGLU. out may not overlap value or gate. */
void cxr_geglu(const float *value, const float *gate, float *out, size_t count);

#ifdef __cplusplus
}
#endif

#endif
