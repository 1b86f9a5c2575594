/*
 * The PV hypercalls the shim serves (Xen's argument lists, guest pointers
 * as uint64_t guest virtual addresses). Each returns 0 / a value or a
 * negative Xen errno, as Xen 4.17 does for a 64-bit PV domU.
 */
#ifndef MINISHIM_PV_HYPERCALL_H
#define MINISHIM_PV_HYPERCALL_H

#include <minishim/pv.h>

#define PV_NR_HYPERCALLS 64

/* Dispatch hypercall nr with up to six arguments (-XEN_ENOSYS if none). */
long pv_do_hypercall(struct cpu_regs *regs, unsigned int nr,
                     const unsigned long args[6]);
/* Handle the SYSCALL the guest kernel made: dispatch on regs->rax. */
void pv_hypercall(struct cpu_regs *regs);

long do_console_io(unsigned int cmd, unsigned int count, uint64_t buf);
long do_sched_op(int cmd, uint64_t arg);
/* The legacy hypercalls 6, 16 and 19 (Xen's *_compat). */
long do_sched_op_compat(int cmd, unsigned long arg);
long do_event_channel_op_compat(uint64_t arg);
long do_physdev_op_compat(uint64_t arg);
/* nmi_op (pv/traps.c): the NMI callback, as CALLBACKTYPE_nmi. */
long do_nmi_op(unsigned int cmd, uint64_t arg);
long do_xen_version(int cmd, uint64_t arg);
long do_set_trap_table(uint64_t traps);
long do_set_callbacks(unsigned long event, unsigned long failsafe,
                      unsigned long syscall);
long do_callback_op(int cmd, uint64_t arg);
long do_stack_switch(unsigned long ss, unsigned long esp);
long do_fpu_taskswitch(int set);
long do_set_segment_base(unsigned int which, unsigned long base);
long do_vm_assist(unsigned int cmd, unsigned int type);
long do_multicall(struct cpu_regs *regs, uint64_t call_list, unsigned int nr_calls);
long do_memory_op(unsigned long cmd, uint64_t arg);
long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg);
long do_event_channel_op(int cmd, uint64_t arg);
long do_set_debugreg(int reg, unsigned long value);
long do_get_debugreg(int reg);
long do_physdev_op(int cmd, uint64_t arg);
/* After a resume in a new L0 domain: no PIRQ EOI map (pv/physdev.c). */
void pv_physdev_forget_eoi_map(void);
long do_iret(struct cpu_regs *regs);
long do_set_gdt(uint64_t frame_list, unsigned int entries);
long do_update_descriptor(uint64_t maddr, uint64_t desc);
/* pv/sysctl.c: an unprivileged domU's sysctl, plus debug key 'f'. */
long do_sysctl(uint64_t arg);

#endif
