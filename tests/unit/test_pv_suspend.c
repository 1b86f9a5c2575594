/*
 * Save/restore (pv/suspend.c): the guest's SCHEDOP_shutdown(SHUTDOWN_suspend)
 * through the real hypercall dispatcher, with the test playing L0 Xen.
 * L0's suspend returns 0 (restored into a new domain: new shared_info,
 * new store/console ports, no other port, a new id), 1 (cancelled) or an
 * error; Xen's pv_shim_shutdown is the model for what the shim does then.
 */
#include "test_mm_env.h"
#include <minishim/timer.h>
#include <minishim/ipi.h>
#include <minishim/l0.h>
#include <minishim/pv.h>
#include <minishim/pv_console.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_store.h>
#include <minishim/pv_suspend.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include "fake/fake_l0.h"

#define NVCPU 2
#define L0_STORE_PFN 0xfeffcUL
#define STORE_MFN   G(10)
#define CONSOLE_MFN G(11)
#define SI_MFN      G(12)
#define GNT_MFN     G(20)
#define OLD_DOMID 7
#define NEW_DOMID 9

static struct shared_info shinfo;

/* L0: its port space, its store port and its answers. */
static uint8_t l0_port_used[L0_EVTCHN_MAX_PORTS];
static uint64_t l0_store_port;
static long suspend_rc;                 /* what L0's SCHEDOP_shutdown returns */
static unsigned int nr_suspends, nr_shinfo_maps, nr_callback_sets, nr_grant_maps;
static unsigned int last_grant_idx;
static uint64_t last_grant_gpfn;
static uint64_t store_at;               /* the gfn the store page is at now */
static uint64_t store_at_suspend;       /* ... when L0 suspended us */
static unsigned int shutdown_reason;
static void (*during_suspend)(void);

static evtchn_port_t l0_alloc(void)
{
    for (evtchn_port_t p = 1; p < L0_EVTCHN_MAX_PORTS; p++)
        if (!l0_port_used[p]) {
            l0_port_used[p] = 1;
            return p;
        }
    return 0;
}

/* What restore gives: a new domain whose only ports are the store and
 * console channels the toolstack made (libxl: the lowest free numbers). */
static void new_domain(void)
{
    memset(l0_port_used, 0, sizeof(l0_port_used));
    l0_store_port = l0_alloc();
    (void)l0_alloc();                   /* the console's */
    fake_set_cpuid(0x40000004, XEN_HVM_CPUID_DOMID_PRESENT, 0, NEW_DOMID, 0);
}

static long l0(unsigned int nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    switch (nr) {
    case __HYPERVISOR_memory_op: {
        struct xen_add_to_physmap *x = (void *)a2;

        cr_assert_eq(a1, XENMEM_add_to_physmap);
        if (x->space == XENMAPSPACE_shared_info) {
            nr_shinfo_maps++;
            fake_xen_map_shinfo(x->gpfn);
        } else if (x->space == XENMAPSPACE_grant_table) {
            nr_grant_maps++;
            last_grant_idx = (unsigned int)x->idx;
            last_grant_gpfn = x->gpfn;
        } else {
            cr_assert_eq(x->space, XENMAPSPACE_gmfn);
            cr_assert_eq(x->idx, store_at, "the store page moves from where it is");
            store_at = x->gpfn;
        }
        return 0;
    }
    case __HYPERVISOR_hvm_op: {
        struct xen_hvm_param *p = (void *)a2;

        if (a1 == HVMOP_set_param) {
            if (p->index == HVM_PARAM_CALLBACK_IRQ)
                nr_callback_sets++;
            return 0;
        }
        p->value = p->index == HVM_PARAM_STORE_PFN ? L0_STORE_PFN :
                   p->index == HVM_PARAM_STORE_EVTCHN ? l0_store_port : 0;
        return 0;
    }
    case __HYPERVISOR_grant_table_op: {
        struct gnttab_query_size *q = (void *)a2;

        cr_assert_eq(a1, GNTTABOP_query_size);
        q->nr_frames = 1;
        q->max_nr_frames = 4;
        q->status = GNTST_okay;
        return 0;
    }
    case __HYPERVISOR_sched_op: {
        struct sched_shutdown *s = (void *)a2;

        cr_assert_eq(a1, SCHEDOP_shutdown);
        shutdown_reason = s->reason;
        nr_suspends++;
        store_at_suspend = store_at;
        if (during_suspend)
            during_suspend();
        if (suspend_rc == 0)
            new_domain();
        return suspend_rc;
    }
    case __HYPERVISOR_event_channel_op:
        switch (a1) {
        case EVTCHNOP_alloc_unbound: {
            struct evtchn_alloc_unbound *a = (void *)a2;

            a->port = l0_alloc();
            return a->port ? 0 : -XEN_ENOSPC;
        }
        case EVTCHNOP_close: {
            struct evtchn_close *c = (void *)a2;

            if (c->port >= L0_EVTCHN_MAX_PORTS || !l0_port_used[c->port])
                return -XEN_EINVAL;
            l0_port_used[c->port] = 0;
            return 0;
        }
        case EVTCHNOP_status: {
            struct evtchn_status *st = (void *)a2;

            st->status = EVTCHNSTAT_interdomain;
            st->u.interdomain.dom = 0;
            st->u.interdomain.port = 30;
            return 0;
        }
        case EVTCHNOP_unmask:
            fake_xen_unmask(((struct evtchn_unmask *)a2)->port);
            return 0;
        case EVTCHNOP_send:
            return 0;
        }
        break;
    }
    return -XEN_ENOSYS;
}

static mfn_t gnt_alloc(void)
{
    return GNT_MFN;
}

static void setup(void)
{
    struct pv_gnttab_config gc = {
        .domid = OLD_DOMID, .max_frames = 4, .max_version = 1,
        .alloc_frame = gnt_alloc, .l0 = true,
    };

    mm_setup();
    fake_guest_fault_start = fake_guest_fault_end = 0;
    memset(&pv_dom, 0, sizeof(pv_dom));
    memset(&shinfo, 0, sizeof(shinfo));
    pv_dom.built = true;
    pv_dom.shared_info = &shinfo;
    pv_dom.shared_info_mfn = G(13);
    pv_dom.nr_pages = 0x1000;
    pv_dom.nr_vcpus = NVCPU;
    pv_dom.store_mfn = STORE_MFN;
    pv_dom.console_mfn = CONSOLE_MFN;
    pv_dom.start_info = (struct start_info *)tab(SI_MFN);
    memset(pv_dom.start_info, 0, PAGE_SIZE);
    for (unsigned int i = 0; i < NVCPU; i++) {
        pv_dom.vcpus[i].id = i;
        pv_dom.vcpus[i].vcpu_info = &shinfo.vcpu_info[i];
        pv_dom.vcpus[i].initialised = true;
        pv_dom.vcpus[i].started = true;
        percpu[i].vcpu = &pv_dom.vcpus[i];
        cpumask_set(&cpu_online_mask, i);
    }
    pv_dom.vcpus[0].kernel_mode = true;
    pv_dom.vcpus[1].parked = true;      /* stops at once when asked */
    fake_set_cpuid(0, 0x15, 0, 0, 0);
    fake_set_cpuid(0x15, 1, 1, 1000000000u, 0);
    fake_port_in[0x71] = 0;
    clock_init();
    fake_cpu_id = 0;

    memset(l0_port_used, 0, sizeof(l0_port_used));
    l0_store_port = l0_alloc();         /* 1 */
    (void)l0_alloc();                   /* 2: the console's */
    suspend_rc = 0;
    nr_suspends = nr_shinfo_maps = nr_callback_sets = nr_grant_maps = 0;
    last_grant_idx = 0;
    last_grant_gpfn = 0;
    store_at = L0_STORE_PFN;
    store_at_suspend = 0;
    shutdown_reason = ~0u;
    during_suspend = NULL;
    /* Xen's CPUID leaves with the domid (xen_domid), then the backend. */
    fake_xen_cpuid(0x40000000, 0x40000005, FAKE_XEN_HCALL_MSR);
    fake_set_cpuid(0x40000004, XEN_HVM_CPUID_DOMID_PRESENT, 0, OLD_DOMID, 0);
    fake_wrmsr_hook = fake_xen_msr_hook;
    l0_setup(L0_FLUSH_USE_AUTO);
    cr_assert_eq(fake_xen_up(l0), 0);
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    pv_dom.domid = OLD_DOMID;
    pv_evtchn_reset();
    cr_assert_eq(pv_evtchn_use_l0(), 0);
    cr_assert_eq(pv_gnttab_reset(&gc), 0);
    pv_console_init();
    cr_assert_eq(pv_store_init(), 0);
    pv_time_init();
    cr_assert_eq(store_at, STORE_MFN.mfn);
}

static void teardown(void)
{
    for (unsigned int i = 0; i < NVCPU; i++)
        percpu[i].vcpu = NULL;
    fake_set_cpuid(0x40000004, 0, 0, 0, 0);
}

TestSuite(pv_suspend, .init = setup, .fini = teardown, .timeout = 20);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

/* HYPERVISOR_suspend(si): SCHEDOP_shutdown with the start_info frame in
 * the third argument, through the dispatcher as a guest's call comes. */
static long guest_suspend(mfn_t si)
{
    struct sched_shutdown sd = { .reason = SHUTDOWN_suspend };
    const unsigned long args[6] = { SCHEDOP_shutdown, gp(&sd), si.mfn, 0, 0, 0 };
    struct cpu_regs r = { 0 };

    return pv_do_hypercall(&r, __HYPERVISOR_sched_op, args);
}

static evtchn_port_t bind_virq_timer(void)
{
    struct evtchn_bind_virq b = { .virq = VIRQ_TIMER, .vcpu = 0 };

    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&b)), 0);
    return b.port;
}

static uint32_t port_status(evtchn_port_t p)
{
    struct evtchn_status st = { .dom = DOMID_SELF, .port = p };

    cr_assert_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    return st.status;
}

static long setup_table(xen_pfn_t *frame)
{
    struct gnttab_setup_table op = { .dom = DOMID_SELF, .nr_frames = 1 };

    set_xen_guest_handle(op.frame_list, frame);
    return do_grant_table_op(GNTTABOP_setup_table, gp(&op), 1);
}

static long register_info(mfn_t m)
{
    struct vcpu_register_vcpu_info ri = { .mfn = m.mfn, .offset = 64 };

    return pv_vcpu_op_info(VCPUOP_register_vcpu_info, &pv_dom.vcpus[0], gp(&ri));
}

Test(pv_suspend, resumed_in_a_new_domain)
{
    const struct start_info *si = (const struct start_info *)tab(SI_MFN);
    evtchn_port_t virq = bind_virq_timer();
    evtchn_port_t old_store = pv_dom.store_port, old_console = pv_dom.console_port;
    xen_pfn_t f = 0;
    unsigned int maps;

    cr_assert_eq(setup_table(&f), 0);
    cr_assert_eq(f, GNT_MFN.mfn);
    cr_assert_eq(register_info(G(5)), 0);
    cr_assert_eq(do_set_timer_op(pv_now_ns() + 1000000000ULL), 0);
    cr_assert_gt(pv_domain_watchdog(0, 60), 0);
    maps = nr_shinfo_maps;

    cr_expect_eq(guest_suspend(SI_MFN), 0, "a real resume is 0 for the guest");
    cr_expect_eq(nr_suspends, 1);
    cr_expect_eq(shutdown_reason, SHUTDOWN_suspend);
    cr_expect_eq(store_at_suspend, L0_STORE_PFN,
                 "the store page is at L0's pfn while the domain is saved");
    cr_expect_eq(store_at, STORE_MFN.mfn, "and on the guest's frame again after");
    /* L0 connection made again (hypervisor_resume). */
    cr_expect_eq(nr_shinfo_maps, maps + 1);
    cr_expect_eq(nr_callback_sets, 2);
    cr_expect_eq(pv_dom.domid, NEW_DOMID);
    /* Every old port is gone; store and console have new ones. */
    cr_expect_eq(port_status(virq), EVTCHNSTAT_closed);
    cr_expect_eq(pv_dom.vcpus[0].virq_to_evtchn[VIRQ_TIMER], 0);
    cr_expect_neq(pv_dom.store_port, 0);
    cr_expect_neq(pv_dom.console_port, 0);
    cr_expect(l0_port_used[pv_dom.store_port] && l0_port_used[pv_dom.console_port],
              "the new ports' numbers are reserved in the new domain");
    (void)old_store; (void)old_console;
    /* start_info as Xen's write_start_info leaves it. */
    cr_expect_str_eq(si->magic, "xen-3.0-x86_64");
    cr_expect_eq(si->store_evtchn, pv_dom.store_port);
    cr_expect_eq(si->store_mfn, STORE_MFN.mfn);
    cr_expect_eq(si->console.domU.evtchn, pv_dom.console_port);
    cr_expect_eq(si->console.domU.mfn, CONSOLE_MFN.mfn);
    cr_expect_eq(si->shared_info, G(13).mfn << PAGE_SHIFT);
    cr_expect_eq(si->nr_pages, 0x1000);
    /* The guest's store port reaches L0's new store port. */
    fake_xen_raise((uint32_t)l0_store_port);
    l0_evtchn_upcall(NULL);
    cr_expect(pv_evtchn_is_pending(pv_dom.store_port));
    /* vcpu_info unmapped: back in shared_info, and can be registered again. */
    cr_expect_eq(pv_dom.vcpus[0].vcpu_info, &shinfo.vcpu_info[0]);
    cr_expect_eq(register_info(G(5)), 0);
    /* Timers: singleshot stopped, periodic at Xen's default; no watchdog. */
    cr_expect_not(pv_dom.vcpus[0].timer_set);
    cr_expect_eq(pv_dom.vcpus[0].periodic_period, 10000000ULL);
    cr_expect_eq(pv_dom.watchdog_inuse, 0);
    /* Grant table: setup_table maps L0's new frame 0 onto the same frame. */
    maps = nr_grant_maps;
    f = 0;
    cr_expect_eq(setup_table(&f), 0);
    cr_expect_eq(f, GNT_MFN.mfn);
    cr_expect_eq(nr_grant_maps, maps + 1);
    cr_expect_eq(last_grant_idx, 0);
    cr_expect_eq(last_grant_gpfn, GNT_MFN.mfn);
    /* The other vCPU is free to run again. */
    cr_expect_not(pv_suspend_holds(&pv_dom.vcpus[1]));
    /* A second round works the same way. */
    cr_expect_eq(guest_suspend(SI_MFN), 0);
    cr_expect_eq(nr_suspends, 2);
    cr_expect_eq(store_at, STORE_MFN.mfn);
}

static void expect_same_domain(evtchn_port_t virq, evtchn_port_t store, evtchn_port_t console,
                               unsigned int maps)
{
    cr_expect_eq(nr_shinfo_maps, maps, "no new shared_info: the same domain");
    cr_expect_eq(port_status(virq), EVTCHNSTAT_virq, "ports stay");
    cr_expect_eq(pv_dom.store_port, store);
    cr_expect_eq(pv_dom.console_port, console);
    cr_expect_eq(pv_dom.domid, OLD_DOMID);
    cr_expect_eq(store_at, STORE_MFN.mfn, "the store page is the guest's again");
    /* L0's store port bound and unmasked again. */
    fake_xen_raise((uint32_t)l0_store_port);
    l0_evtchn_upcall(NULL);
    cr_expect(pv_evtchn_is_pending(store));
    cr_expect_not(pv_suspend_holds(&pv_dom.vcpus[1]));
}

Test(pv_suspend, cancelled_is_1_and_nothing_changes)
{
    evtchn_port_t virq = bind_virq_timer();
    evtchn_port_t store = pv_dom.store_port, console = pv_dom.console_port;
    unsigned int maps = nr_shinfo_maps;

    suspend_rc = 1;
    cr_expect_eq(guest_suspend(SI_MFN), 1, "xc_domain_resume's fast path: cancelled");
    cr_expect_eq(nr_suspends, 1);
    cr_expect_eq(store_at_suspend, L0_STORE_PFN);
    expect_same_domain(virq, store, console, maps);
}

Test(pv_suspend, l0_error_is_the_guests_errno)
{
    evtchn_port_t virq = bind_virq_timer();
    evtchn_port_t store = pv_dom.store_port, console = pv_dom.console_port;
    unsigned int maps = nr_shinfo_maps;

    suspend_rc = -XEN_EPERM;
    cr_expect_eq(guest_suspend(SI_MFN), -XEN_EPERM);
    expect_same_domain(virq, store, console, maps);
}

Test(pv_suspend, only_vcpu0_may_suspend)
{
    fake_cpu_id = 1;
    cr_expect_eq(guest_suspend(SI_MFN), -XEN_EINVAL);
    fake_cpu_id = 0;
    cr_expect_eq(nr_suspends, 0, "L0 never asked");
    cr_expect_eq(store_at, STORE_MFN.mfn);
}

/* vCPU 1 asks too while vCPU 0's suspend is in L0. */
static long second_rc;
static void second_suspend(void)
{
    cr_expect(pv_suspend_holds(&pv_dom.vcpus[1]), "vCPU 1 is held meanwhile");
    fake_cpu_id = 1;
    second_rc = guest_suspend(SI_MFN);
    fake_cpu_id = 0;
}

Test(pv_suspend, a_second_suspend_meanwhile_is_refused)
{
    during_suspend = second_suspend;
    second_rc = 12345;
    cr_expect_eq(guest_suspend(SI_MFN), 0);
    cr_expect_eq(second_rc, -XEN_EINVAL);
    cr_expect_eq(nr_suspends, 1);
}

Test(pv_suspend, start_info_must_be_a_writable_guest_frame)
{
    cr_expect_eq(guest_suspend(SHIM_FRAME), -XEN_EINVAL, "a shim frame");
    cr_expect_eq(guest_suspend(mfn(NR_FRAMES + 5)), -XEN_EINVAL, "no frame at all");
    cr_expect_eq(nr_suspends, 0, "refused before L0 is asked");
    /* The check took no reference it kept: the frame is still free to
     * become a page table. */
    cr_expect_eq(guest_suspend(SI_MFN), 0);
    cr_expect_eq(pv_mm_frame(SI_MFN)->type_count, 0);
}

Test(pv_suspend, a_vcpu_that_does_not_stop_makes_it_ebusy)
{
    pv_dom.vcpus[1].parked = false;     /* running guest code, never stops */
    cr_expect_eq(guest_suspend(SI_MFN), -XEN_EBUSY);
    cr_expect_eq(nr_suspends, 0);
    cr_expect_not(pv_suspend_holds(&pv_dom.vcpus[1]), "released again");
}

/* A guest on the FIFO ABI: after a resume in a new domain it is back on
 * 2-level with its control block's reference dropped, so Linux's
 * evtchn_fifo_resume can register it again (a second init_control on a
 * live one is -EINVAL). Cancelled: the FIFO ABI stays. */
static long init_control(mfn_t m)
{
    struct evtchn_init_control ic = { .control_gfn = m.mfn, .offset = 0, .vcpu = 0 };

    return do_event_channel_op(EVTCHNOP_init_control, gp(&ic));
}

Test(pv_suspend, fifo_abi_starts_over_in_a_new_domain)
{
    cr_assert_eq(init_control(G(30)), 0);
    cr_assert_eq(init_control(G(30)), -XEN_EINVAL, "registered once only");
    cr_assert_eq(pv_mm_frame(G(30))->type_count, 1);
    suspend_rc = 1;
    cr_expect_eq(guest_suspend(SI_MFN), 1);
    cr_expect_eq(init_control(G(30)), -XEN_EINVAL, "cancelled: still the FIFO ABI");
    suspend_rc = 0;
    cr_expect_eq(guest_suspend(SI_MFN), 0);
    cr_expect_eq(pv_mm_frame(G(30))->type_count, 0, "the control block's reference dropped");
    cr_expect_eq(init_control(G(30)), 0, "registered again after the resume");
}
