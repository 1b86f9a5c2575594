/*
 * The PV CPUID policy (pv/traps.c): Xen's PV featureset applied to the
 * host's leaf values.
 */
#ifndef MINISHIM_PV_CPUID_H
#define MINISHIM_PV_CPUID_H

#include <minishim/types.h>

struct cpuid_regs;
void pv_cpuid_policy(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);

#endif
