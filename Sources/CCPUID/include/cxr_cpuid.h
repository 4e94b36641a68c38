#ifndef CXR_CPUID_H
#define CXR_CPUID_H

#include <stdint.h>

/* The x86 CPUID instruction and the XCR0 register, which Swift cannot reach without inline assembly.
   On other architectures both report "unavailable" (return 0) and the registers stay zero. */

/* Fills regs with EAX, EBX, ECX, EDX of CPUID(leaf, subleaf). Returns 0 when the leaf is above the highest one
   the CPU supports (or on a non-x86 build), 1 otherwise. */
int cxr_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/* XCR0: which register states the operating system saves (bit 1-2 SSE/AVX, 5-7 AVX-512, 17-18 AMX tiles).
   0 when the OS has not enabled XSAVE (then no AVX state may be used) or on a non-x86 build. */
uint64_t cxr_xgetbv0(void);

#endif
