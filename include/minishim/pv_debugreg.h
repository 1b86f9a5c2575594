/*
 * The guest's debug registers (pv/debugreg.c): set_debugreg's rules for
 * %dr0-3, %dr6 and %dr7 (Xen 4.17 arch/x86/pv/misc-hypercalls.c,
 * set_debugreg()), the reset state, loading them on the vCPU's CPU and
 * the guest's #DB, and the set_debugreg/get_debugreg hypercalls.
 */
#ifndef MINISHIM_PV_DEBUGREG_H
#define MINISHIM_PV_DEBUGREG_H

#include <minishim/pv.h>

/* pv/debugreg.c: set_debugreg for v (the current vCPU, or one being
 * initialised); the reserved-bit rules for %dr6/%dr7; the register reset
 * state; VCPUOP_initialise's debugreg[]; loading v's registers on its
 * CPU; merging a guest #DB's %dr6 (before the bounce). */
long pv_set_debugreg(struct vcpu *v, int reg, unsigned long value);
uint64_t pv_dr6_adjust(uint64_t dr6);
uint64_t pv_dr7_adjust(uint64_t dr7);
void pv_debugreg_reset(struct vcpu *v);
void pv_debugreg_set_context(struct vcpu *v, const uint64_t dr[8]);
void pv_debugreg_load(const struct vcpu *v);
void pv_debug_exception(struct vcpu *v);

long do_set_debugreg(int reg, unsigned long value);
long do_get_debugreg(int reg);

#endif
