/*
 * x86-64 page-table indexing as the PV builder and the M2P mapping use it;
 * the entry bits are x86.h's PTE_*.
 */
#ifndef MINISHIM_PV_PT_H
#define MINISHIM_PV_PT_H

#include <minishim/x86.h>

#define L1_SHIFT 12
#define L2_SHIFT 21
#define L3_SHIFT 30
#define L4_SHIFT 39
#define PT_INDEX(va, shift) (((va) >> (shift)) & 511)

/* M2P setup (pv/domain.c): 0 or -XEN_ENOMEM. */
int pv_m2p_init(void);

#endif
