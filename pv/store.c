/*
 * The guest's xenstore connection on a Xen L0: the ring page and event
 * channel L0's toolstack gave the shim's domain (HVM_PARAM_STORE_PFN /
 * HVM_PARAM_STORE_EVTCHN), handed to the PV guest as Xen's pv-shim does
 * (pv_shim_setup_dom in xen/arch/x86/pv/shim.c).
 *
 * The page: the builder gave the guest a frame of its own for xenstore
 * (in its P2M, the M2P and the initial mapping, right after start_info).
 * L0's store page is moved onto exactly that frame (XENMAPSPACE_gmfn;
 * the RAM page that was there goes back to L0), so the guest maps
 * store_mfn like any frame of its own RAM and nothing else changes.
 * xenstored's mapping follows the page. Xen's pv-shim instead maps L0's
 * frame where it is (0xfeffc on the bed), which minishim's frame tables,
 * sized to RAM, do not cover.
 *
 * The event channel: a shim-owned guest port (pv/event.c ECS_SHIM) whose
 * EVTCHNOP_send becomes EVTCHNOP_send on L0's port, and L0's port bound
 * (hypercall/xen_evtchn.c) so that its upcall makes the guest port
 * pending. EVTCHNOP_status on it answers what L0 says about its own port:
 * interdomain, xenstored's domain and port.
 */
#include <minishim/xen-public.h>
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/pv.h>
#include <minishim/pv_store.h>
#include <minishim/pv_evtchn.h>
#include <xen/event_channel.h>

static uint32_t l0_port;
static evtchn_port_t guest_port;
static unsigned long to_l0, from_l0;
/* L0's pfn for the store page (HVM_PARAM_STORE_PFN), where it sat before
 * it was moved onto the guest's frame; 0: no store. */
static uint64_t l0_pfn;

/*
 * Guest EVTCHNOP_send on the store port. Xen's pv-shim hands L0's answer
 * back to the guest (pv_shim_event_channel_op), but guest kernels ignore
 * it (Linux's notify_remote_via_evtchn) and would wait for xenstored's
 * reply forever: a kick L0 refused is tried once more, and if L0 refuses
 * again the domain is crashed with the reason rather than left hanging.
 */
static void guest_notify(void)
{
    int rc;

    to_l0++;
    rc = l0_evtchn_send(l0_port);
    if (rc) {
        pr_warn("xenstore: L0 refused EVTCHNOP_send on port %u (%d); trying again\n",
                l0_port, rc);
        rc = l0_evtchn_send(l0_port);
    }
    if (rc)
        pv_domain_crash("L0 refused EVTCHNOP_send on the xenstore port %u twice (%d): "
                        "the guest's xenstore request would be lost", l0_port, rc);
}

/* L0 upcall for the store port (interrupt context). */
static void l0_notify(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    from_l0++;
    pv_evtchn_set_pending(guest_port);
}

int pv_store_init(void)
{
    struct evtchn_status st;
    uint64_t pfn = 0, port = 0;
    domid_t rdom = 0;
    evtchn_port_t rport = 0;
    int rc;

    l0_port = 0;
    l0_pfn = 0;
    guest_port = 0;
    to_l0 = from_l0 = 0;
    if (!pv_dom.built || !pv_dom.store_mfn.mfn)
        return -XEN_EINVAL;
    if (!l0_evtchn_ready())
        return -XEN_ENODEV;
    rc = xen_get_hvm_param(HVM_PARAM_STORE_PFN, &pfn);
    if (!rc)
        rc = xen_get_hvm_param(HVM_PARAM_STORE_EVTCHN, &port);
    if (rc)
        return rc;
    if (!pfn || !port || port >= L0_EVTCHN_MAX_PORTS)
        return -XEN_ENODEV;     /* a domain without xenstore */
    /* Xen's pv-shim forwards status of a port it does not handle to L0:
     * interdomain, remote dom0 (xenstored). Ask L0 once. */
    if (!l0_evtchn_status((uint32_t)port, &st) && st.status == EVTCHNSTAT_interdomain) {
        rdom = st.u.interdomain.dom;
        rport = st.u.interdomain.port;
    }
    rc = xen_move_frame(pfn, pv_dom.store_mfn.mfn);
    if (rc) {
        pr_err("xenstore: cannot move L0's store page %lx to guest frame %lx (%d)\n",
               (unsigned long)pfn, (unsigned long)pv_dom.store_mfn.mfn, rc);
        return rc;
    }
    l0_pfn = pfn;
    guest_port = pv_evtchn_alloc_shim_port(guest_notify);
    if (!guest_port)
        return -XEN_ENOSPC;
    pv_evtchn_set_shim_remote(guest_port, rdom, rport);
    l0_port = (uint32_t)port;
    rc = l0_evtchn_bind(l0_port, l0_notify, NULL);
    if (rc) {
        /* The guest port stays (shim ports cannot be closed) but is not
         * published: the guest sees no xenstore. */
        pr_err("xenstore: cannot bind L0 port %u (%d)\n", l0_port, rc);
        l0_port = 0;
        return rc;
    }
    pv_dom.store_port = guest_port;
    if (pv_dom.start_info) {
        pv_dom.start_info->store_mfn = pv_dom.store_mfn.mfn;
        pv_dom.start_info->store_evtchn = guest_port;
    }
    pr_info("xenstore: L0 page %lx -> guest mfn %lx, L0 port %u (dom%u port %u) -> guest port %u\n",
            (unsigned long)pfn, (unsigned long)pv_dom.store_mfn.mfn, l0_port,
            rdom, rport, guest_port);
    return 0;
}

unsigned long pv_store_nr_to_l0(void)
{
    return to_l0;
}

unsigned long pv_store_nr_from_l0(void)
{
    return from_l0;
}

/*
 * Save/restore (pv/suspend.c). libxc saves an HVM domain's store page as
 * the gfn HVM_PARAM_STORE_PFN names: on restore it clears that gfn and
 * seeds the xenstore grant with it (xc_sr_restore_x86_hvm.c, handle_hvm_params;
 * xc_dom_gnttab_seed), and xenstored maps it there. Xen's pv-shim never
 * moves the page, so its pv_shim_shutdown has nothing to do; here the
 * page goes back to L0's pfn before the suspend, and onto the guest's
 * frame again after it (pv_store_resume). 0 or L0's errno.
 */
int pv_store_suspend(void)
{
    int rc;

    if (!l0_pfn)
        return 0;
    if (l0_port)
        l0_evtchn_unbind(l0_port);
    rc = xen_move_frame(pv_dom.store_mfn.mfn, l0_pfn);
    if (rc) {
        pr_err("xenstore: cannot move the store page back to L0's pfn %lx (%d)\n",
               (unsigned long)l0_pfn, rc);
        if (l0_port)
            l0_evtchn_bind(l0_port, l0_notify, NULL);
    }
    return rc;
}

/*
 * After the suspend. Cancelled (same L0 domain): the page back onto the
 * guest's frame, L0's port bound again. Resumed in a new domain: the
 * guest's ports are gone (pv_evtchn_forget_all), so the store is set up
 * as at boot from the new domain's HVM params: the page (xenstored's,
 * cleared by the toolstack) onto the guest's frame again, a new guest
 * port bridged to L0's new store port, start_info rewritten. 0 or an
 * errno (the guest then has no xenstore; the caller says so).
 */
int pv_store_resume(bool new_domain)
{
    int rc;

    if (!l0_pfn)
        return 0;
    if (new_domain)
        return pv_store_init();
    rc = xen_move_frame(l0_pfn, pv_dom.store_mfn.mfn);
    if (!rc && l0_port)
        rc = l0_evtchn_bind(l0_port, l0_notify, NULL);
    return rc;
}
