#include "cxr_cpuid.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

int cxr_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    /* __get_cpuid_count checks the leaf against the highest one of its range before executing CPUID. */
    return __get_cpuid_count(leaf, subleaf, &regs[0], &regs[1], &regs[2], &regs[3]) ? 1 : 0;
}

uint64_t cxr_xgetbv0(void) {
    uint32_t regs[4];
    /* XGETBV faults unless the OS set CR4.OSXSAVE, which CPUID.1:ECX bit 27 mirrors. */
    if (!cxr_cpuid(1, 0, regs) || !(regs[2] & (1u << 27))) return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

#else

int cxr_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
    (void)leaf; (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    return 0;
}

uint64_t cxr_xgetbv0(void) { return 0; }

#endif
