/* The guest's xenstore connection bridged to L0's (pv/store.c): the page
 * moved onto the guest's store frame, start_info, and events both ways,
 * with the test playing L0 Xen. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/l0.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_store.h>
#include <minishim/xen-public.h>
#include <xen/event_channel.h>
#include "fake/fake_l0.h"

#define L0_STORE_PFN  0xfeffcUL
#define L0_STORE_PORT 3
#define GUEST_STORE_MFN 0x1234UL

static struct shared_info shinfo;           /* the guest's */
static struct start_info si;
static uint64_t store_pfn_param;
static unsigned int nr_l0_sends, nr_moves;
static uint32_t last_l0_send;
static uint64_t move_from, move_to;
static long move_rc;

static long l0(unsigned int nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    if (nr == __HYPERVISOR_memory_op && a1 == XENMEM_add_to_physmap) {
        struct xen_add_to_physmap *x = (void *)a2;

        if (x->space == XENMAPSPACE_shared_info) {
            fake_xen_map_shinfo(x->gpfn);
            return 0;
        }
        cr_assert_eq(x->space, XENMAPSPACE_gmfn);
        cr_assert_eq(x->domid, DOMID_SELF);
        nr_moves++;
        move_from = x->idx;
        move_to = x->gpfn;
        return move_rc;
    }
    if (nr == __HYPERVISOR_hvm_op && a1 == HVMOP_set_param)
        return 0;
    if (nr == __HYPERVISOR_hvm_op && a1 == HVMOP_get_param) {
        struct xen_hvm_param *p = (void *)a2;

        p->value = p->index == HVM_PARAM_STORE_PFN ? store_pfn_param :
                   p->index == HVM_PARAM_STORE_EVTCHN ? L0_STORE_PORT : 0;
        return 0;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_send) {
        nr_l0_sends++;
        last_l0_send = ((struct evtchn_send *)a2)->port;
        return 0;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_unmask) {
        fake_xen_unmask(((struct evtchn_unmask *)a2)->port);
        return 0;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_status) {
        struct evtchn_status *s = (void *)a2;

        if (s->port != L0_STORE_PORT)
            return -XEN_EINVAL;
        s->status = EVTCHNSTAT_interdomain;
        s->vcpu = 0;
        s->u.interdomain.dom = 0;
        s->u.interdomain.port = 16;
        return 0;
    }
    return -XEN_ENOSYS;
}

static void setup(void)
{
    fake_reset();
    cr_assert_eq(fake_xen_up(l0), 0);
    memset(&pv_dom, 0, sizeof(pv_dom));
    memset(&shinfo, 0, sizeof(shinfo));
    memset(&si, 0, sizeof(si));
    pv_dom.built = true;
    pv_dom.shared_info = &shinfo;
    pv_dom.start_info = &si;
    pv_dom.store_mfn = mfn(GUEST_STORE_MFN);
    pv_dom.nr_vcpus = 1;
    pv_dom.vcpus[0].vcpu_info = &shinfo.vcpu_info[0];
    pv_dom.vcpus[0].kernel_mode = true;
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
    pv_evtchn_reset();
    store_pfn_param = L0_STORE_PFN;
    nr_l0_sends = nr_moves = 0;
    last_l0_send = 0;
    move_from = move_to = 0;
    move_rc = 0;
}

TestSuite(pv_store, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static void store_up(void)
{
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    cr_assert_eq(pv_store_init(), 0);
}

static bool guest_pending(evtchn_port_t p)
{
    return shinfo.evtchn_pending[p / 64] & (1UL << (p % 64));
}

Test(pv_store, page_moved_onto_the_guest_frame_and_published)
{
    store_up();
    cr_expect_eq(nr_moves, 1);
    cr_expect_eq(move_from, L0_STORE_PFN);
    cr_expect_eq(move_to, GUEST_STORE_MFN, "onto the frame the builder gave the guest");
    cr_expect_eq(si.store_mfn, GUEST_STORE_MFN);
    cr_expect_neq(si.store_evtchn, 0);
    cr_expect_eq(si.store_evtchn, pv_dom.store_port);
}

Test(pv_store, guest_send_reaches_l0)
{
    struct evtchn_send s;

    store_up();
    s.port = si.store_evtchn;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, gp(&s)), 0);
    cr_expect_eq(nr_l0_sends, 1);
    cr_expect_eq(last_l0_send, L0_STORE_PORT);
    cr_expect_eq(pv_store_nr_to_l0(), 1);
}

Test(pv_store, l0_event_makes_the_guest_port_pending)
{
    store_up();
    cr_assert_not_null(fake_xen_shinfo);
    cr_expect_not(guest_pending(si.store_evtchn));
    /* L0: xenstored notified the shim's store port. */
    fake_xen_raise(L0_STORE_PORT);
    l0_evtchn_upcall(NULL);
    cr_expect(guest_pending(si.store_evtchn));
    cr_expect(pv_evtchn_is_pending(si.store_evtchn));
    cr_expect_eq(pv_store_nr_from_l0(), 1);
    /* Unmasked port, events masked in vcpu_info: selector and upcall
     * flag set as Xen's evtchn_2l_set_pending does. */
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 1);
}

Test(pv_store, status_is_interdomain_to_dom0_and_close_refused)
{
    struct evtchn_status st = { .dom = DOMID_SELF };
    struct evtchn_close c;

    store_up();
    st.port = si.store_evtchn;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_interdomain);
    cr_expect_eq(st.u.interdomain.dom, 0);
    cr_expect_eq(st.u.interdomain.port, 16);
    c.port = si.store_evtchn;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), -XEN_EINVAL);
}

Test(pv_store, no_l0_events_no_store)
{
    /* QEMU-direct: l0_evtchn_init never ran. */
    cr_expect_eq(pv_store_init(), -XEN_ENODEV);
    cr_expect_eq(si.store_mfn, 0);
    cr_expect_eq(si.store_evtchn, 0);
    cr_expect_eq(nr_moves, 0);
}

Test(pv_store, l0_without_xenstore)
{
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    store_pfn_param = 0;
    cr_expect_eq(pv_store_init(), -XEN_ENODEV);
    cr_expect_eq(si.store_mfn, 0);
    cr_expect_eq(nr_moves, 0);
}

Test(pv_store, move_refused_leaves_no_store)
{
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    move_rc = -XEN_EXDEV;
    cr_expect_eq(pv_store_init(), -XEN_EXDEV);
    cr_expect_eq(si.store_mfn, 0);
    cr_expect_eq(si.store_evtchn, 0);
    cr_expect_eq(pv_dom.store_port, 0);
}

Test(pv_store, no_domain)
{
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    pv_dom.built = false;
    cr_expect_eq(pv_store_init(), -XEN_EINVAL);
}

/* ---- inject=l0-evtchn-send-fail (docs/fault-injection.md) ---- */

#include <setjmp.h>
#include <minishim/console.h>
#include <minishim/inject.h>
#include "fake/fake_console.h"

#include "fake/fake_inject.h"

static void arm(uint32_t n)
{
    fake_inject_arm(INJECT_L0_EVTCHN_SEND_FAIL, n);
}

/* One refused kick is sent again: xenstored hears the guest. */
Test(pv_store, one_refused_kick_is_sent_again)
{
    struct evtchn_send s;

    store_up();
    arm(1);
    s.port = si.store_evtchn;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, gp(&s)), 0);
    cr_expect_eq(inject_fired(INJECT_L0_EVTCHN_SEND_FAIL), 1);
    cr_expect_eq(nr_l0_sends, 1, "the second try reached L0");
    cr_expect_eq(last_l0_send, L0_STORE_PORT);
    inject_init(NULL);
}

/* L0 keeps refusing: the domain is crashed with the reason, not left
 * waiting for a reply that cannot come. */
Test(pv_store, refused_kicks_crash_the_domain_with_the_reason)
{
    struct evtchn_send s;
    jmp_buf jb;
    volatile bool crashed = false;

    store_up();
    fake_console_capture();
    arm(INJECT_COUNT_ALWAYS);
    s.port = si.store_evtchn;
    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0)
        (void)do_event_channel_op(EVTCHNOP_send, gp(&s));
    else
        crashed = true;
    fake_halt_jmp = NULL;
    inject_init(NULL);
    cr_expect(crashed, "the shim shut down");
    cr_expect_eq(nr_l0_sends, 0);
    cr_expect(strstr(fake_console_out, "guest: domain crashed: L0 refused EVTCHNOP_send on "
                     "the xenstore port 3 twice (-5)"), "%s", fake_console_out);
    cr_expect(strstr(fake_console_out, "shutting down (crash)"), "%s", fake_console_out);
}

/* inject=l0-memop-fail: L0 refuses the store page's move (guest build):
 * the shim says which call failed, and the guest is given no xenstore
 * (start_info store fields 0, as for a domain without one) rather than a
 * frame that is not the store ring. The memory op never reached L0. */
Test(pv_store, refused_memory_op_leaves_no_store_and_says_so)
{
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    fake_console_capture();
    fake_inject_arm(INJECT_L0_MEMOP_FAIL, 1);
    cr_expect_eq(pv_store_init(), -INJECT_L0_ERRNO);
    inject_init(NULL);
    cr_expect_eq(nr_moves, 0);
    cr_expect_eq(si.store_mfn, 0);
    cr_expect_eq(si.store_evtchn, 0);
    cr_expect_eq(pv_dom.store_port, 0);
    cr_expect(strstr(fake_console_out, "xenstore: cannot move L0's store page feffc to guest "
                     "frame 1234 (-5)"), "%s", fake_console_out);
}
