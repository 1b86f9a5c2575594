/*
 * sysctl.c - the one sysctl a PV test guest makes: debug key 'f', which
 * makes minishim print its flush statistics (a minishim addition: Xen
 * lets no domU have any debug key; the reference answers -EPERM).
 */
#define __XEN_TOOLS__ 1         /* xen/sysctl.h is the toolstack's interface */
#include "guest.h"
#include <xen/sysctl.h>

long guest_debug_key(char key)
{
    char keys[1] = { key };
    struct xen_sysctl op;

    memset(&op, 0, sizeof(op));
    op.cmd = XEN_SYSCTL_debug_keys;
    op.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    set_xen_guest_handle(op.u.debug_keys.keys, keys);
    op.u.debug_keys.nr_keys = 1;
    return hypercall1(__HYPERVISOR_sysctl, &op);
}
