/*
 * xl save / restore / migrate of the guest with the shim around it: the
 * guest's SCHEDOP_shutdown(SHUTDOWN_suspend) suspends the shim's own
 * domain in L0, as Xen 4.17's pv_shim_shutdown (xen/arch/x86/pv/shim.c)
 * does, reached from domain_shutdown (xen/common/domain.c).
 *
 * L0's SCHEDOP_shutdown(SHUTDOWN_suspend) returns when the domain runs
 * again: 0 when it was restored into a new domain (everything L0 held for
 * us is new: shared_info, callback, event channels, grant table, domid),
 * 1 when the suspend was cancelled and the same domain goes on
 * (xc_domain_resume's fast path sets the return value), or an error. The
 * guest gets the same answer (Linux's xen_suspend: si->cancelled). After
 * a real resume the shim reconnects to L0 and forgets what the guest must
 * set up again, as Xen's shim does: the grant frames, every event channel
 * (the console and store get new ports, written into start_info), the
 * registered vcpu_info areas, the watchdogs, the PIRQ EOI map, the
 * singleshot timers (periodic ones back to the default period).
 *
 * Where this differs from Xen's shim, and why:
 *   - SHUTDOWN_suspend from a vCPU other than 0 is -EINVAL; Xen's shim
 *     BUG()s (BUG_ON(current->vcpu_id != 0)), which crashes the whole
 *     domain. This also answers a second suspend while one is in progress
 *     (only vCPU 0 suspends, and it is busy with the first).
 *   - The start_info frame the guest names in rdx must be its own and
 *     take a writable type, else -EINVAL before anything is suspended;
 *     Xen's shim maps whatever frame rdx names (write_start_info).
 *   - The other vCPUs are paused by parking them in the shim (the same
 *     place VCPUOP_down parks a vCPU); one that does not stop within
 *     PAUSE_WAIT_NS makes the suspend -EBUSY (Xen's vcpu_pause waits).
 *   - The store page goes back to L0's pfn for the suspend (pv/store.c
 *     moved it onto the guest's frame at boot; Xen's shim never moves it).
 *   - A vCPU that is down keeps its context (Xen resets it with
 *     vcpu_reset, so that VCPUOP_initialise may be issued again).
 */
#include <string.h>
#include <minishim/console.h>
#include <minishim/ipi.h>
#include <minishim/l0.h>
#include <minishim/pv_console.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_physdev.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_store.h>
#include <minishim/pv_suspend.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/timer.h>
#include <minishim/xen-public.h>

#define PAUSE_WAIT_NS (1000ULL * NS_PER_MS)

/* The third argument of each vCPU's sched_op call in progress. */
static uint64_t hcall_arg[PV_MAX_VCPUS];
/* The vCPU suspending the domain (NULL: none): the others stay parked. */
static struct vcpu *suspender;
static unsigned long nr_resumed, nr_cancelled;

void pv_suspend_note_arg(uint64_t arg)
{
    struct vcpu *v = pv_current();

    if (v && v->id < PV_MAX_VCPUS)
        hcall_arg[v->id] = arg;
}

bool pv_suspend_available(void)
{
    return l0_evtchn_ready() && pv_evtchn_is_l0();
}

bool pv_suspend_holds(const struct vcpu *v)
{
    const struct vcpu *s = __atomic_load_n(&suspender, __ATOMIC_SEQ_CST);

    return s && s != v;
}

static void unpause_others(void)
{
    __atomic_store_n(&suspender, NULL, __ATOMIC_SEQ_CST);
    for (unsigned int i = 1; i < pv_dom.nr_vcpus; i++)
        if (pv_dom.vcpus[i].started)
            ipi_event_check(i);
}

/* A vCPU that runs no guest code and will not before it is unpaused:
 * parked (down, or held by us), blocked (it parks on its way out), or
 * never started. */
static bool stopped(const struct vcpu *o)
{
    return !o->started || __atomic_load_n(&o->parked, __ATOMIC_SEQ_CST) ||
           __atomic_load_n(&o->blocked, __ATOMIC_SEQ_CST);
}

/* Xen's vcpu_pause_by_systemcontroller on every other vCPU: kicked into
 * the shim, where pv_vcpu_park holds it while pv_suspend_holds(). */
static long pause_others(struct vcpu *self)
{
    uint64_t until;

    __atomic_store_n(&suspender, self, __ATOMIC_SEQ_CST);
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++)
        if (i != self->id && pv_dom.vcpus[i].started)
            ipi_event_check(i);
    until = pv_now_ns() + PAUSE_WAIT_NS;
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++) {
        const struct vcpu *o = &pv_dom.vcpus[i];

        if (o == self)
            continue;
        while (!stopped(o)) {
            if (pv_now_ns() > until) {
                pr_warn("suspend: guest vCPU %u did not stop; suspend refused\n", i);
                unpause_others();
                return -XEN_EBUSY;
            }
            arch_cpu_relax();
        }
    }
    return 0;
}

/* Xen's write_start_info: the fields a new domain changes, in the frame
 * the guest named. */
static void write_start_info(mfn_t m)
{
    struct start_info *si = arch_phys_to_virt(mfn_to_paddr(m));

    static const char magic[] = "xen-3.0-x86_64";

    memset(si->magic, 0, sizeof(si->magic));
    memcpy(si->magic, magic, sizeof(magic));
    si->nr_pages = pv_dom.nr_pages;
    si->shared_info = mfn_to_paddr(pv_dom.shared_info_mfn).pa;
    si->flags = 0;
    si->store_mfn = pv_dom.store_port ? pv_dom.store_mfn.mfn : 0;
    si->store_evtchn = pv_dom.store_port;
    si->console.domU.mfn = pv_dom.console_mfn.mfn;
    si->console.domU.evtchn = pv_dom.console_port;
}

/* L0 resumed us in a new domain: reconnect, and forget what the guest
 * sets up again. A connection to L0 that cannot be made again crashes
 * the domain with the reason: the guest would wait for it forever. */
static void resume_new_domain(mfn_t si_mfn)
{
    int rc = l0_evtchn_resume();

    if (rc)
        pv_domain_crash("suspend: cannot map L0's shared_info / set the upcall "
                        "after resume (%d)", rc);
    /* The shim's own console ring: the toolstack cleared the page, and
     * its port is a new one. */
    if (xen_pvconsole_ready() && xen_pvconsole_init())
        pr_warn("suspend: L0's console ring is gone after resume\n");
    if (xen_domid(&pv_dom.domid))
        pv_dom.domid = 0;
    pv_gnttab_forget_l0(pv_dom.domid);
    pv_evtchn_forget_all();
    pv_dom.console_port = pv_dom.store_port = 0;
    pv_console_reconnect();
    rc = pv_store_resume(true);
    if (rc)
        pv_domain_crash("suspend: cannot reconnect the guest's xenstore after resume (%d)",
                        rc);
    pv_watchdog_forget();
    pv_physdev_forget_eoi_map();
    write_start_info(si_mfn);
    pv_time_resume_wallclock();
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++) {
        pv_vcpu_forget_info(&pv_dom.vcpus[i]);
        pv_time_after_resume(&pv_dom.vcpus[i]);
    }
}

long pv_suspend(struct vcpu *v)
{
    mfn_t si_mfn = mfn(hcall_arg[v->id]);
    long rc;

    /* Xen's shim: BUG_ON(current->vcpu_id != 0); see the top comment. */
    if (v->id != 0)
        return -XEN_EINVAL;
    if (!pv_mm_frame_is_guest(si_mfn) || pv_mm_get_page_and_type(si_mfn, PGT_WRITABLE))
        return -XEN_EINVAL;
    rc = pause_others(v);
    if (rc)
        goto out;
    rc = pv_store_suspend();
    if (rc) {
        unpause_others();
        goto out;
    }
    pv_console_kick();          /* the guest's last words before it */
    pr_info("suspend: guest asked to suspend; suspending the domain in L0 (dom%u)\n",
            pv_dom.domid);
    rc = xen_shutdown(SHUTDOWN_suspend);
    if (rc == 0) {
        resume_new_domain(si_mfn);
        nr_resumed++;
        pr_info("suspend: resumed in a new L0 domain: dom%u, store port %u, "
                "console port %u (%lu resumed, %lu cancelled so far)\n",
                pv_dom.domid, pv_dom.store_port, pv_dom.console_port,
                nr_resumed, nr_cancelled);
    } else {
        int src = pv_store_resume(false);

        if (src)
            pv_domain_crash("suspend: cannot give the xenstore page back to the guest (%d)",
                            src);
        if (rc > 0)
            nr_cancelled++;
        pr_info("suspend: L0 answered %ld: %s\n", rc,
                rc > 0 ? "cancelled, the same domain goes on" : "not suspended");
    }
    unpause_others();
out:
    pv_mm_put_page_and_type(si_mfn);
    return rc;
}
