/*
 * The hypercalls of the guest's trap and segment state (pv/traps.c):
 * trap table, callbacks (NMI included), kernel stack, FPU task switch,
 * segment bases and iret.
 */
#ifndef MINISHIM_PV_TRAPS_H
#define MINISHIM_PV_TRAPS_H

#include <minishim/regs.h>
#include <minishim/types.h>

long do_set_trap_table(uint64_t traps);
long do_set_callbacks(unsigned long event, unsigned long failsafe,
                      unsigned long syscall);
long do_callback_op(int cmd, uint64_t arg);
/* nmi_op: the NMI callback, as CALLBACKTYPE_nmi. */
long do_nmi_op(unsigned int cmd, uint64_t arg);
long do_stack_switch(unsigned long ss, unsigned long esp);
long do_fpu_taskswitch(int set);
long do_set_segment_base(unsigned int which, unsigned long base);
long do_iret(struct cpu_regs *regs);

#endif
