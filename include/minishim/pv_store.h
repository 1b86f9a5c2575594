/*
 * The PV guest's xenstore connection, bridged to the one L0 gave the shim
 * (pv/store.c).
 */
#ifndef MINISHIM_PV_STORE_H
#define MINISHIM_PV_STORE_H

#include <minishim/types.h>

/*
 * After the domain is built, with L0 event channels up: move L0's store
 * page onto the guest's xenstore frame, bridge a guest port to L0's store
 * port and fill start_info's store_mfn / store_evtchn. 0, or a Xen errno
 * with the store fields left 0: -XEN_ENODEV without a Xen L0 (QEMU-direct)
 * or without xenstore, -XEN_EINVAL with no built domain.
 */
int pv_store_init(void);
/* Save/restore (pv/suspend.c): the store page back to L0's pfn before
 * the L0 suspend; after it, back to the guest (new_domain: set up again
 * from the new domain's params, with a new guest port). 0 or an errno. */
int pv_store_suspend(void);
int pv_store_resume(bool new_domain);
/* Notifications forwarded guest -> L0 and L0 -> guest. */
unsigned long pv_store_nr_to_l0(void);
unsigned long pv_store_nr_from_l0(void);

#endif
