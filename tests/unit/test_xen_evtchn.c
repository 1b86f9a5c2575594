/* L0 event channels (hypercall/xen_evtchn.c): shared_info mapping, the
 * callback vector, binding, the upcall's 2-level scan, send and status,
 * with the test playing L0 Xen. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/l0.h>
#include <minishim/xen-public.h>
#include <xen/event_channel.h>
#include "fake/fake_l0.h"

static uint64_t callback_irq;
static unsigned int nr_set_callback, nr_sends, nr_unmasks, nr_status;
static uint32_t last_send, last_unmask;
static long physmap_rc, set_param_rc;

static long l0(unsigned int nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    if (nr == __HYPERVISOR_memory_op && a1 == XENMEM_add_to_physmap) {
        struct xen_add_to_physmap *x = (void *)a2;

        cr_assert_eq(x->domid, DOMID_SELF);
        cr_assert_eq(x->space, XENMAPSPACE_shared_info);
        cr_assert_eq(x->idx, 0);
        if (physmap_rc)
            return physmap_rc;
        fake_xen_map_shinfo(x->gpfn);
        return 0;
    }
    if (nr == __HYPERVISOR_hvm_op && a1 == HVMOP_set_param) {
        struct xen_hvm_param *p = (void *)a2;

        cr_assert_eq(p->domid, DOMID_SELF);
        cr_assert_eq(p->index, HVM_PARAM_CALLBACK_IRQ);
        nr_set_callback++;
        callback_irq = p->value;
        return set_param_rc;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_send) {
        nr_sends++;
        last_send = ((struct evtchn_send *)a2)->port;
        return 0;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_unmask) {
        uint32_t p = ((struct evtchn_unmask *)a2)->port;

        nr_unmasks++;
        last_unmask = p;
        fake_xen_unmask(p);
        return 0;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_status) {
        struct evtchn_status *s = (void *)a2;

        nr_status++;
        cr_assert_eq(s->dom, DOMID_SELF);
        if (s->port != 3)
            return -XEN_EINVAL;
        s->status = EVTCHNSTAT_interdomain;
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
    callback_irq = 0;
    nr_set_callback = nr_sends = nr_unmasks = nr_status = 0;
    last_send = last_unmask = 0;
    physmap_rc = set_param_rc = 0;
}

TestSuite(xen_evtchn, .init = setup);

static uint32_t got_port[8];
static void *got_arg[8];
static unsigned int nr_got;

static void handler(uint32_t port, void *arg)
{
    cr_assert_lt(nr_got, 8);
    got_port[nr_got] = port;
    got_arg[nr_got++] = arg;
}

static void init_ok(void)
{
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    cr_assert_not_null(fake_xen_shinfo);
    nr_got = 0;
}

Test(xen_evtchn, init_maps_shared_info_and_sets_vector_callback)
{
    init_ok();
    cr_expect(l0_evtchn_ready());
    cr_expect_eq(nr_set_callback, 1);
    /* public hvm/params.h: type in bits 63:56, 2 = vector. */
    cr_expect_eq(callback_irq, (2ULL << 56) | L0_UPCALL_VECTOR);
    for (unsigned int i = 0; i < ARRAY_SIZE(fake_xen_shinfo->evtchn_mask); i++)
        cr_expect_eq(fake_xen_shinfo->evtchn_mask[i], ~0UL, "word %u not masked", i);
    cr_expect_eq(l0_evtchn_init(L0_UPCALL_VECTOR), -XEN_EEXIST);
}

Test(xen_evtchn, init_failures)
{
    cr_expect_eq(l0_evtchn_init(0x1f), -XEN_EINVAL, "an exception vector");
    cr_expect_eq(l0_evtchn_init(0x100), -XEN_EINVAL);
    physmap_rc = -XEN_EPERM;
    cr_expect_eq(l0_evtchn_init(L0_UPCALL_VECTOR), -XEN_EPERM);
    cr_expect_not(l0_evtchn_ready());
    physmap_rc = 0;
    set_param_rc = -XEN_EINVAL;
    cr_expect_eq(l0_evtchn_init(L0_UPCALL_VECTOR), -XEN_EINVAL);
    cr_expect_not(l0_evtchn_ready(), "no upcalls: not ready");
}

Test(xen_evtchn, everything_is_enodev_before_init)
{
    struct evtchn_status st;

    cr_expect_eq(l0_evtchn_bind(3, handler, NULL), -XEN_ENODEV);
    cr_expect_eq(l0_evtchn_send(3), -XEN_ENODEV);
    cr_expect_eq(l0_evtchn_unmask(3), -XEN_ENODEV);
    cr_expect_eq(l0_evtchn_status(3, &st), -XEN_ENODEV);
    l0_evtchn_upcall(NULL);                 /* harmless */
    cr_expect_eq(l0_evtchn_nr_upcalls(), 0);
    cr_expect_eq(fake_nr_hypercalls, 0);
}

Test(xen_evtchn, bind_checks_and_unmasks)
{
    int a;

    init_ok();
    cr_expect_eq(l0_evtchn_bind(0, handler, NULL), -XEN_EINVAL, "port 0 is reserved");
    cr_expect_eq(l0_evtchn_bind(L0_EVTCHN_MAX_PORTS, handler, NULL), -XEN_EINVAL);
    cr_expect_eq(l0_evtchn_bind(3, NULL, NULL), -XEN_EINVAL);
    cr_expect_eq(nr_unmasks, 0);
    cr_expect_eq(l0_evtchn_bind(3, handler, &a), 0);
    cr_expect_eq(nr_unmasks, 1);
    cr_expect_eq(last_unmask, 3);
    cr_expect_eq(l0_evtchn_bind(3, handler, NULL), -XEN_EEXIST);
}

Test(xen_evtchn, upcall_dispatches_pending_unmasked_ports)
{
    int a, b;

    init_ok();
    cr_assert_eq(l0_evtchn_bind(3, handler, &a), 0);
    cr_assert_eq(l0_evtchn_bind(130, handler, &b), 0);   /* third word */
    fake_xen_raise(130);
    fake_xen_raise(3);
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 2);
    cr_expect_eq(got_port[0], 3);               /* lowest word first */
    cr_expect_eq(got_arg[0], &a);
    cr_expect_eq(got_port[1], 130);
    cr_expect_eq(got_arg[1], &b);
    cr_expect_not(fake_xen_pending(3));
    cr_expect_not(fake_xen_pending(130));
    cr_expect_eq(fake_xen_shinfo->vcpu_info[0].evtchn_upcall_pending, 0);
    cr_expect_eq(fake_xen_shinfo->vcpu_info[0].evtchn_pending_sel, 0);

    /* Nothing new: nothing called. */
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 2);
    /* The same port again. */
    fake_xen_raise(3);
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 3);
    cr_expect_eq(got_port[2], 3);
    cr_expect_eq(l0_evtchn_nr_upcalls(), 3);
}

Test(xen_evtchn, masked_ports_stay_pending_unbound_ones_are_spurious)
{
    init_ok();
    cr_assert_eq(l0_evtchn_bind(3, handler, NULL), 0);
    /* Port 5 is not bound: masked since init, so pending but no upcall. */
    fake_xen_raise(5);
    cr_expect_eq(fake_xen_shinfo->vcpu_info[0].evtchn_upcall_pending, 0);
    /* Even with its selector bit set by another port, a masked port is
     * not dispatched and stays pending for whoever unmasks it. */
    fake_xen_raise(3);
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 1);
    cr_expect_eq(got_port[0], 3);
    cr_expect(fake_xen_pending(5));
    /* A pending, unmasked port nobody bound: cleared and counted. */
    fake_xen_shinfo->evtchn_mask[0] &= ~(1UL << 7);
    fake_xen_raise(7);
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 1);
    cr_expect_not(fake_xen_pending(7));
    cr_expect_eq(l0_evtchn_nr_spurious(), 1);
}

Test(xen_evtchn, upcall_uses_this_cpus_vcpu_info)
{
    init_ok();
    cr_assert_eq(l0_evtchn_bind(3, handler, NULL), 0);
    fake_xen_raise(3);                                /* vCPU 0's vcpu_info */
    fake_cpu_id = 1;
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 0, "vCPU 1 has nothing pending");
    cr_expect_eq(fake_xen_shinfo->vcpu_info[0].evtchn_upcall_pending, 1);
    fake_cpu_id = 0;
    l0_evtchn_upcall(NULL);
    cr_expect_eq(nr_got, 1);
}

Test(xen_evtchn, send_and_status_go_to_l0)
{
    struct evtchn_status st;

    init_ok();
    cr_expect_eq(l0_evtchn_send(0), -XEN_EINVAL);
    cr_expect_eq(nr_sends, 0);
    cr_expect_eq(l0_evtchn_send(3), 0);
    cr_expect_eq(nr_sends, 1);
    cr_expect_eq(last_send, 3);
    cr_expect_eq(l0_evtchn_status(3, &st), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_interdomain);
    cr_expect_eq(st.u.interdomain.dom, 0);
    cr_expect_eq(st.u.interdomain.port, 16);
    cr_expect_eq(l0_evtchn_status(4, &st), -XEN_EINVAL, "L0's answer passed through");
}
