/*
 * Guest memory access by virtual address (see pv_guest_access.h). The
 * guest's page tables are live while the shim serves it; the hardware
 * does the translation and the exception table turns a fault into
 * -EFAULT, so a bad guest pointer can never fault the shim itself.
 */
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/layout.h>
#include <minishim/pv_guest_access.h>

int copy_from_guest(void *dst, uint64_t src_va, size_t len)
{
    if (!guest_access_ok(src_va, len))
        return -XEN_EFAULT;
    return arch_copy_from_guest(dst, src_va, len) ? -XEN_EFAULT : 0;
}

int copy_to_guest(uint64_t dst_va, const void *src, size_t len)
{
    if (!guest_access_ok(dst_va, len))
        return -XEN_EFAULT;
    return arch_copy_to_guest(dst_va, src, len) ? -XEN_EFAULT : 0;
}
