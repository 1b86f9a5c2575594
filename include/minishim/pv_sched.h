/*
 * sched_op and the legacy sched_op_compat (pv/sched.c): yield, block,
 * poll, the watchdogs and the guest's shutdown.
 */
#ifndef MINISHIM_PV_SCHED_H
#define MINISHIM_PV_SCHED_H

#include <minishim/types.h>

long do_sched_op(int cmd, uint64_t arg);
/* The legacy hypercall 6 (Xen's do_sched_op_compat). */
long do_sched_op_compat(int cmd, unsigned long arg);

#endif
