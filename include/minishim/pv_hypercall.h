/*
 * The PV hypercall entry (pv/hypercall.c): Xen's pv_hypercall_table and
 * multicall. Each family's do_* (Xen's argument lists, guest pointers as
 * uint64_t guest virtual addresses; 0 / a value or a negative Xen errno,
 * as Xen 4.17 answers a 64-bit PV domU) is declared in its own header:
 * pv_traps.h, pv_mm.h, pv_descriptor.h, pv_debugreg.h, pv_memory_op.h,
 * pv_time.h, pv_version.h, pv_console.h, pv_vcpu.h, pv_sched.h,
 * pv_evtchn.h, pv_physdev.h, pv_grant.h, pv_sysctl.h.
 */
#ifndef MINISHIM_PV_HYPERCALL_H
#define MINISHIM_PV_HYPERCALL_H

#include <minishim/regs.h>
#include <minishim/types.h>

#define PV_NR_HYPERCALLS 64

/* Dispatch hypercall nr with up to six arguments (-XEN_ENOSYS if none). */
long pv_do_hypercall(struct cpu_regs *regs, unsigned int nr,
                     const unsigned long args[6]);
/* Handle the SYSCALL the guest kernel made: dispatch on regs->rax. */
void pv_hypercall(struct cpu_regs *regs);
long do_multicall(struct cpu_regs *regs, uint64_t call_list, unsigned int nr_calls);

#endif
