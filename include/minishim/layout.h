/*
 * Virtual layout of the shim, inside the Xen-reserved range
 * 0xFFFF800000000000-0xFFFF87FFFFFFFFFF (L4 slots 256-271), mirroring Xen's
 * own layout (xen/arch/x86/include/asm/config.h) so that a PV guest sees
 * what it would see under Xen.
 */
#ifndef MINISHIM_LAYOUT_H
#define MINISHIM_LAYOUT_H

#define SHIM_VIRT_START        0xFFFF800000000000UL  /* = Xen HYPERVISOR_VIRT_START */
#define SHIM_VIRT_END          0xFFFF880000000000UL
#define RO_MPT_VIRT_START      0xFFFF800000000000UL  /* slot 256: guest-readable M2P */
#define RO_MPT_VIRT_END        0xFFFF804000000000UL
#define DIRECTMAP_VIRT_START   0xFFFF830000000000UL  /* slot 262: all RAM + the image */
#define SHIM_PHYS_BASE         0x200000UL

#define L4_SLOT_FIRST_RESERVED 256
#define L4_SLOT_LAST_RESERVED  271
#define L4_SLOT_DIRECTMAP      262

/* The early page tables map this much RAM in the direct map (2 MiB pages). */
#define EARLY_DIRECTMAP_SIZE   (4UL << 30)

#endif
