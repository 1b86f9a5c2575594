/*
 * Guest vCPUs beyond the first (pv/vcpu.c): VCPUOP_initialise / up /
 * down / is_up. Guest vCPU n runs on shim CPU n.
 */
#ifndef MINISHIM_PV_VCPU_H
#define MINISHIM_PV_VCPU_H

#include <minishim/pv.h>

/* The checks of Xen's arch_set_info_guest (PV, 64-bit) that need no
 * domain state, plus minishim's limits: 0 or -XEN_EINVAL. */
int pv_vcpu_check_context(const struct vcpu_guest_context *c);

/* VCPUOP_initialise/up/down/is_up for vcpuid < pv_dom.nr_vcpus. */
long pv_vcpu_op_updown(int cmd, unsigned int vcpuid, uint64_t arg);

/* If v is down, stay in the shim (halted) until it is brought up again. */
void pv_vcpu_park(struct vcpu *v);

/* Load v's guest state on this CPU and enter it; never returns. */
void __noreturn pv_vcpu_enter(struct vcpu *v);

/* smp_set_ap_work callback: run vCPU cpu on shim CPU cpu once it is up. */
void pv_vcpu_ap_work(unsigned int cpu);

#endif
