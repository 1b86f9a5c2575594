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

/* Xen vcpu_unblock + vcpu_kick: clear v's blocked state and interrupt its
 * shim CPU (unless it is this one). */
void pv_vcpu_kick(struct vcpu *v);
/* Sleep (interrupts on, halted) until v is unblocked (v->blocked
 * cleared), its poll deadline passes or it is taken down; runs
 * pv_time_check(v) after every wake-up. v is the current vCPU. */
void pv_vcpu_sleep(struct vcpu *v);
/* SCHEDOP_block (Xen vcpu_block_enable_events). */
long pv_vcpu_block(struct vcpu *v);

/* Runstate (Xen vcpu_runstate_change): every vCPU's state from now on;
 * vCPU 0 running, the others offline. Called once when the guest starts. */
void pv_vcpu_runstate_init(void);
void pv_vcpu_runstate_change(struct vcpu *v, int state);
/* Xen vcpu_runstate_get: the times including the current state so far. */
void pv_vcpu_runstate_get(struct vcpu *v, struct vcpu_runstate_info *r);

/* VCPUOP_register_vcpu_info, VCPUOP_register_runstate_memory_area,
 * VCPUOP_get_runstate_info on vCPU v (Xen 4.17 do_vcpu_op). */
long pv_vcpu_op_info(int cmd, struct vcpu *v, uint64_t arg);
/* After a resume in a new L0 domain: v's registered vcpu_info unmapped
 * (back to its shared_info slot), as Xen's unmap_vcpu_info. */
void pv_vcpu_forget_info(struct vcpu *v);

/* Load v's guest state on this CPU and enter it; never returns. */
void __noreturn pv_vcpu_enter(struct vcpu *v);

/* smp_set_ap_work callback: run vCPU cpu on shim CPU cpu once it is up. */
void pv_vcpu_ap_work(unsigned int cpu);

/* vcpu_op: -XEN_ENOENT for no such vCPU, then each sub-op. */
long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg);

#endif
