/*
 * physdev_op and the legacy physdev_op_compat (pv/physdev.c).
 */
#ifndef MINISHIM_PV_PHYSDEV_H
#define MINISHIM_PV_PHYSDEV_H

#include <minishim/types.h>

long do_physdev_op(int cmd, uint64_t arg);
/* The legacy hypercall 19 (Xen's do_physdev_op_compat). */
long do_physdev_op_compat(uint64_t arg);

/* After a resume in a new L0 domain: no PIRQ EOI map (pv/physdev.c). */
void pv_physdev_forget_eoi_map(void);

#endif
