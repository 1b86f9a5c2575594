/*
 * The PV builder's M2P mapping; page-table indexing (L*_SHIFT, PT_INDEX)
 * and the entry bits (PTE_*) are x86.h's.
 */
#ifndef MINISHIM_PV_PT_H
#define MINISHIM_PV_PT_H

#include <minishim/x86.h>

/* M2P setup (pv/domain.c): 0 or -XEN_ENOMEM. */
int pv_m2p_init(void);

#endif
