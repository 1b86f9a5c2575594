/*
 * rdmsr/wrmsr emulation for the PV guest kernel (pv/msr.c): Xen 4.17's
 * guest_rdmsr/guest_wrmsr and pv/emul-priv-op.c read_msr/write_msr.
 */
#ifndef MINISHIM_PV_MSR_H
#define MINISHIM_PV_MSR_H

#include <minishim/pv.h>
#include <minishim/arch.h>

/* true: *val is the result; false: #GP(0) to the guest. */
bool pv_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
/* true: done (possibly dropped, as Xen); false: #GP(0). */
bool pv_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);

/* CPUID as the guest sees it (pv/traps.c). */
void pv_guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);

#endif
