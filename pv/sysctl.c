/*
 * sysctl for the PV guest: Xen's answers to an unprivileged domU, with one
 * exception the shim adds for its test guests: XEN_SYSCTL_debug_keys with
 * only the key 'f' prints the flush statistics (shim/flush_stats.c), so a
 * test can log them between its phases, on demand.
 *
 * Xen 4.17 xen/common/sysctl.c do_sysctl(), in order:
 *   copy_from_guest of the whole struct fails      -> -EFAULT
 *   interface_version != XEN_SYSCTL_INTERFACE_VERSION -> -EACCES
 *   xsm_sysctl(XSM_PRIV, cmd); the dummy XSM policy
 *   (xen/include/xsm/dummy.h xsm_default_action) gives a domain that is
 *   not the control domain                          -> -EPERM
 * debug_keys (privileged Xen) reads nr_keys bytes from the keys handle
 * (-EFAULT if one cannot be read) and handles each key; it copies nothing
 * back (copyback = 0). Here the keys are all read and checked first, so a
 * request with any key other than 'f' does nothing and gets Xen's -EPERM.
 */
#define __XEN_TOOLS__ 1         /* xen/sysctl.h is for "node control tools" */
#include <minishim/xen-public.h>
#include <xen/sysctl.h>
#include <minishim/flush.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_sysctl.h>

/* More than this many keys in one call is refused (-EINVAL): hypercalls are
 * not preemptible here, and each 'f' prints several lines. Xen has no limit
 * because only the control domain may call it. */
#define SYSCTL_MAX_DEBUG_KEYS 8

long do_sysctl(uint64_t arg)
{
    struct xen_sysctl op;
    char keys[SYSCTL_MAX_DEBUG_KEYS];
    uint32_t n;

    if (copy_from_guest(&op, arg, sizeof(op)))
        return -XEN_EFAULT;
    if (op.interface_version != XEN_SYSCTL_INTERFACE_VERSION)
        return -XEN_EACCES;
    if (op.cmd != XEN_SYSCTL_debug_keys)
        return -XEN_EPERM;

    n = op.u.debug_keys.nr_keys;
    if (n > SYSCTL_MAX_DEBUG_KEYS)
        return -XEN_EINVAL;
    if (n && copy_from_guest(keys, (uint64_t)(uintptr_t)op.u.debug_keys.keys.p, n))
        return -XEN_EFAULT;
    for (uint32_t i = 0; i < n; i++)
        if (keys[i] != 'f')
            return -XEN_EPERM;
    for (uint32_t i = 0; i < n; i++) {
        flush_stats_print();
        pv_balloon_print();
    }
    return 0;
}
