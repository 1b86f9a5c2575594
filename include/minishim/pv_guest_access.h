/*
 * Reading and writing guest memory by guest virtual address, as Xen's
 * copy_{from,to}_guest: the range is checked first (Xen's access_ok: never
 * the hypervisor range 0xFFFF800000000000-0xFFFF87FFFFFFFFFF, never
 * non-canonical), then copied with a fault-safe copy. -XEN_EFAULT on
 * either failure; nothing outside the range is touched.
 */
#ifndef MINISHIM_PV_GUEST_ACCESS_H
#define MINISHIM_PV_GUEST_ACCESS_H

#include <minishim/layout.h>
#include <minishim/types.h>
#include <minishim/x86.h>

/* Xen's __addr_ok (asm/x86_64/uaccess.h): va is in the lower canonical
 * half or above the hypervisor range, the only addresses a guest may
 * hand over. */
static inline bool guest_addr_ok(uint64_t va)
{
    return va < X86_LOWER_HALF_END || va >= SHIM_VIRT_END;
}

/*
 * Xen's access_ok(): the whole range lies in the lower canonical half, or
 * in the upper half above the hypervisor range. A guest pointer into the
 * shim (its direct map, stacks, page tables) is refused before any
 * access. Inline, so the PV MMU (pv/mm.c) needs nothing else of the
 * copies (its fuzz target links it alone).
 */
static inline bool guest_access_ok(uint64_t va, size_t len)
{
    uint64_t end = va + len;

    if (end < va)
        return false;
    if (end <= X86_LOWER_HALF_END)
        return true;
    return va >= SHIM_VIRT_END;
}
int copy_from_guest(void *dst, uint64_t src_va, size_t len);
int copy_to_guest(uint64_t dst_va, const void *src, size_t len);

#endif
