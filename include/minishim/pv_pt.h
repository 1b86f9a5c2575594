/*
 * x86-64 page-table entry bits (SDM vol. 3 4.5) as the PV builder and
 * the M2P mapping use them. The PV MMU (pv_mm.h) may share these.
 */
#ifndef MINISHIM_PV_PT_H
#define MINISHIM_PV_PT_H

#define _PAGE_PRESENT  0x001UL
#define _PAGE_RW       0x002UL
#define _PAGE_USER     0x004UL
#define _PAGE_ACCESSED 0x020UL
#define _PAGE_DIRTY    0x040UL
#define _PAGE_PSE      0x080UL
#define PT_ADDR_MASK   0x000FFFFFFFFFF000UL

#define L1_SHIFT 12
#define L2_SHIFT 21
#define L3_SHIFT 30
#define L4_SHIFT 39
#define PT_INDEX(va, shift) (((va) >> (shift)) & 511)

/* M2P setup (pv/domain.c): 0 or -XEN_ENOMEM. */
int pv_m2p_init(void);

#endif
