/*
 * Save/restore and migration of the guest with the shim around it
 * (pv/suspend.c): the guest's SCHEDOP_shutdown(SHUTDOWN_suspend) suspends
 * the shim's domain in L0, as Xen 4.17's pv_shim_shutdown does.
 */
#ifndef MINISHIM_PV_SUSPEND_H
#define MINISHIM_PV_SUSPEND_H

#include <minishim/pv.h>

/* The hypercall's third argument (rdx: the start_info frame a PV guest
 * names in HYPERVISOR_suspend), noted by the sched_op entry points for
 * the current vCPU before do_sched_op runs. */
void pv_suspend_note_arg(uint64_t arg);

/* True when a suspend can go to L0 (a Xen L0 with event channels): the
 * guest's SHUTDOWN_suspend is then pv_suspend's, otherwise it is a
 * shutdown like any other (no L0 can save the domain). */
bool pv_suspend_available(void);

/*
 * SHUTDOWN_suspend from the current vCPU v. Returns what the guest's
 * HYPERVISOR_suspend returns: 0 resumed in a new L0 domain (restore,
 * migration), 1 cancelled (the same domain goes on: a failed save, or
 * `xl save -c`), or a negative Xen errno (nothing was suspended).
 */
long pv_suspend(struct vcpu *v);

/* True while another vCPU than v suspends the domain: v stays parked
 * (pv_vcpu_park). */
bool pv_suspend_holds(const struct vcpu *v);

#endif
