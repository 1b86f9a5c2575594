/*
 * Reading and writing guest memory by guest virtual address, as Xen's
 * copy_{from,to}_guest: the range is checked first (Xen's access_ok: never
 * the hypervisor range 0xFFFF800000000000-0xFFFF87FFFFFFFFFF, never
 * non-canonical), then copied with a fault-safe copy. -XEN_EFAULT on
 * either failure; nothing outside the range is touched.
 */
#ifndef MINISHIM_PV_GUEST_ACCESS_H
#define MINISHIM_PV_GUEST_ACCESS_H

#include <minishim/types.h>

bool guest_access_ok(uint64_t va, size_t len);
int copy_from_guest(void *dst, uint64_t src_va, size_t len);
int copy_to_guest(uint64_t dst_va, const void *src, size_t len);

#endif
