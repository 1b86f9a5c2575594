/*
 * savetest - xl save / xl restore of a running PV guest behind its shim.
 * The guest answers dom0's suspend request as Linux does (drivers/xen/
 * manage.c: control/shutdown reads "suspend", the guest clears it, then
 * HYPERVISOR_suspend: SCHEDOP_shutdown(SHUTDOWN_suspend) with its
 * start_info frame in the third argument), "rounds=N" times (default 1).
 * dom0 runs `xl save` then `xl restore` when the console shows
 * "savetest: waiting for dom0's suspend request" (run-bed.sh
 * --guest-action).
 *
 * After each resume (return value 0: a new domain) the guest checks that
 * it carries on as a new domain must: start_info rewritten (magic, store
 * and console ports), its console answers (console_init again), xenstore
 * on the store port it names (a new domid, a write and read back), the
 * event channels it had are gone (VIRQ_TIMER binds again) and new ones
 * work (a one-shot timer fires on the new VIRQ_TIMER port; an unbound
 * port to dom0 is allocated and closed), and system time goes on.
 * Without an L0 toolstack (QEMU-direct) there is no xenstore: SKIP.
 */
#include <xen/errno.h>
#include "guest.h"
#include <xen/event_channel.h>
#include <xen/io/xs_wire.h>
#include <xen/vcpu.h>

#define PTE_P_RW_U 7UL
#define NS_PER_MS 1000000ULL
/* A round trip through dom0's xenstored under nested TCG. */
#define REPLY_NS    (30000ULL * NS_PER_MS)
/* From the marker to dom0's suspend request: xl save of the whole guest. */
#define REQUEST_NS  (300000ULL * NS_PER_MS)
#define POLL_NS     (100ULL * NS_PER_MS)
#define TIMER_NS    (100ULL * NS_PER_MS)

static uint8_t scratch[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct xenstore_domain_interface *xs;
static struct shared_info *shinfo;
static evtchn_port_t store_port;
static uint32_t next_req_id = 1;

static uint64_t now_ns(void)
{
    return guest_system_time_ns(&shinfo->vcpu_info[0].time);
}

static long evtchn_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static bool pending(evtchn_port_t p)
{
    return __atomic_load_n(&shinfo->evtchn_pending[p / 64], __ATOMIC_SEQ_CST) &
           (1UL << (p % 64));
}

static void clear_pending(evtchn_port_t p)
{
    __atomic_fetch_and(&shinfo->evtchn_pending[p / 64], ~(1UL << (p % 64)),
                       __ATOMIC_SEQ_CST);
}

/* SCHEDOP_poll on port p for at most timeout_ns; true if p is pending. */
static bool poll_port(evtchn_port_t p, uint64_t timeout_ns)
{
    struct sched_poll sp = { .nr_ports = 1, .timeout = now_ns() + timeout_ns };

    set_xen_guest_handle(sp.ports, &p);
    if (!pending(p)) {
        long rc = hypercall_sched_op(SCHEDOP_poll, &sp);

        if (rc)
            test_fatal("SCHEDOP_poll(port %u) = %ld", p, rc);
    }
    return pending(p);
}

static void notify_store(void)
{
    struct evtchn_send s = { .port = store_port };
    long rc = evtchn_op(EVTCHNOP_send, &s);

    if (rc)
        test_fatal("EVTCHNOP_send(store port %u) = %ld", store_port, rc);
}

static void ring_notify(void *ctx)
{
    (void)ctx;
    notify_store();
}

/* Wait for the store port until *(uint64_t *)ctx (ns); false after it. */
static bool ring_wait(void *ctx)
{
    if (now_ns() > *(uint64_t *)ctx)
        return false;
    poll_port(store_port, POLL_NS);
    clear_pending(store_port);
    return true;
}


/* One request (path NUL [value]), its reply type; payload into out. */
static uint32_t xs_op(uint32_t type, const char *path, const char *value, char *out,
                      size_t out_size)
{
    static char body[XENSTORE_PAYLOAD_MAX + 1];
    size_t pl = strlen(path) + 1, vl = value ? strlen(value) : 0;
    struct xsd_sockmsg m = { .type = type, .req_id = next_req_id++ };
    struct xsd_sockmsg r;
    uint64_t until = now_ns() + REPLY_NS;
    struct xs_ring_client ring = { .xs = xs, .notify = ring_notify, .wait = ring_wait };

    if (pl + vl > XENSTORE_PAYLOAD_MAX)
        test_fatal("xenstore request too long");
    memcpy(body, path, pl);
    if (vl)
        memcpy(body + pl, value, vl);
    m.len = (uint32_t)(pl + vl);
    ring.ctx = &until;
    xs_ring_write(&ring, &m, sizeof(m));
    xs_ring_write(&ring, body, m.len);
    xs_ring_read(&ring, &r, sizeof(r));
    if (r.len > XENSTORE_PAYLOAD_MAX)
        test_fatal("xenstore reply length %u", r.len);
    xs_ring_read(&ring, body, r.len);
    body[r.len] = 0;
    check(r.req_id == m.req_id, "reply req_id %u, want %u", r.req_id, m.req_id);
    snprintf(out, out_size, "%s", body);
    return r.type;
}

/* Map the store page start_info names and take its port. */
static void connect_store(void)
{
    long rc = hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)scratch,
                         (start_info->store_mfn << PAGE_SHIFT) | PTE_P_RW_U, UVMF_INVLPG);

    if (rc)
        test_fatal("update_va_mapping(store_mfn %#lx) = %ld",
                   (unsigned long)start_info->store_mfn, rc);
    xs = (volatile struct xenstore_domain_interface *)scratch;
    store_port = start_info->store_evtchn;
    if (!store_port)
        test_fatal("store_evtchn is 0");
    check(xs->req_prod - xs->req_cons <= XENSTORE_RING_SIZE &&
          xs->rsp_prod - xs->rsp_cons <= XENSTORE_RING_SIZE,
          "store ring indices corrupt: req %u/%u rsp %u/%u",
          xs->req_cons, xs->req_prod, xs->rsp_cons, xs->rsp_prod);
}

static unsigned long read_domid(void)
{
    char out[32];
    unsigned long d = 0;
    uint32_t t = xs_op(XS_READ, "domid", NULL, out, sizeof(out));
    const char *c = out;

    check(t == XS_READ, "XS_READ domid: type %u (%s)", t, out);
    while (*c >= '0' && *c <= '9')
        d = d * 10 + (unsigned long)(*c++ - '0');
    check(c != out && !*c && d > 0 && d < DOMID_FIRST_RESERVED,
          "domid \"%s\" is not a domU's", out);
    return d;
}

static void write_read(const char *key, const char *val)
{
    char out[64];
    uint32_t t = xs_op(XS_WRITE, key, val, out, sizeof(out));

    check(t == XS_WRITE, "XS_WRITE %s: type %u (%s)", key, t, out);
    t = xs_op(XS_READ, key, NULL, out, sizeof(out));
    check(t == XS_READ && !strcmp(out, val), "XS_READ %s: type %u \"%s\", want \"%s\"",
          key, t, out, val);
}

static evtchn_port_t bind_virq_timer(void)
{
    struct evtchn_bind_virq b = { .virq = VIRQ_TIMER, .vcpu = 0 };
    long rc = evtchn_op(EVTCHNOP_bind_virq, &b);

    check(rc == 0, "bind_virq(VIRQ_TIMER) = %ld", rc);
    return rc ? 0 : b.port;
}

/* A one-shot timer TIMER_NS ahead must fire on the VIRQ_TIMER port. */
static void check_timer(evtchn_port_t p)
{
    uint64_t t0 = now_ns(), until = t0 + 10000ULL * NS_PER_MS;
    long rc;

    if (!p)
        return;
    /* The periodic timer (Xen's default 10 ms, again after a resume)
     * would raise VIRQ_TIMER too: stopped, as Linux's xen_timer_resume. */
    rc = hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 0, NULL);
    check(rc == 0, "VCPUOP_stop_periodic_timer = %ld", rc);
    clear_pending(p);
    rc = hypercall1(__HYPERVISOR_set_timer_op, t0 + TIMER_NS);
    check(rc == 0, "set_timer_op = %ld", rc);
    while (!pending(p) && now_ns() < until)
        poll_port(p, 1000ULL * NS_PER_MS);
    check(pending(p), "no VIRQ_TIMER event on port %u within 10 s", p);
    check(now_ns() - t0 >= TIMER_NS, "timer fired after %lu ns, set for %llu",
          (unsigned long)(now_ns() - t0), TIMER_NS);
    clear_pending(p);
}

/* An interdomain port to dom0: allocated and closed (L0's, behind a shim). */
static void check_unbound(void)
{
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };
    struct evtchn_close c;
    long rc = evtchn_op(EVTCHNOP_alloc_unbound, &a);

    check(rc == 0, "alloc_unbound(dom0) = %ld", rc);
    if (rc)
        return;
    c.port = a.port;
    rc = evtchn_op(EVTCHNOP_close, &c);
    check(rc == 0, "close(%u) = %ld", a.port, rc);
}

/* Wait for "suspend" in control/shutdown and acknowledge it as Linux's
 * shutdown_handler does (the key written empty). */
static void wait_suspend_request(void)
{
    char out[32];
    uint64_t until = now_ns() + REQUEST_NS;

    for (;;) {
        uint32_t t = xs_op(XS_READ, "control/shutdown", NULL, out, sizeof(out));

        if (t == XS_READ && !strcmp(out, "suspend"))
            break;
        if (now_ns() > until)
            test_fatal("no suspend request from dom0 in %llu s", REQUEST_NS / 1000000000ULL);
        poll_port(store_port, 200ULL * NS_PER_MS);    /* a sleep */
        clear_pending(store_port);
    }
    xs_op(XS_WRITE, "control/shutdown", "", out, sizeof(out));
}

static unsigned int parse_rounds(void)
{
    const char *s = strstr((const char *)start_info->cmd_line, "rounds=");
    unsigned int n = 0;

    if (!s)
        return 1;
    for (s += 7; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (unsigned int)(*s - '0');
    return n ? n : 1;
}

void test_main(void)
{
    unsigned int rounds = parse_rounds();
    unsigned long domid, si_mfn = guest_mfn_of(start_info);
    evtchn_port_t timer_port;
    char key[48], val[48];

    if (!start_info->store_mfn)
        test_skip("no xenstore: start_info store_mfn is 0 (no L0 toolstack)");
    shinfo = guest_map_shared_info();
    connect_store();
    domid = read_domid();
    timer_port = bind_virq_timer();
    check_timer(timer_port);
    printk("savetest: dom%lu, %u round(s), start_info mfn %#lx\n", domid, rounds, si_mfn);
    for (unsigned int r = 1; r <= rounds && !test_failures(); r++) {
        struct sched_shutdown sd = { .reason = SHUTDOWN_suspend };
        unsigned long nd;
        uint64_t t0;
        long rc;

        printk("savetest: round %u: waiting for dom0's suspend request\n", r);
        wait_suspend_request();
        t0 = now_ns();
        rc = hypercall3(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &sd, si_mfn);
        /* The console may have a new port: look at start_info again. */
        console_init();
        printk("savetest: round %u: HYPERVISOR_suspend returned %ld\n", r, rc);
        if (!check(rc == 0, "round %u: HYPERVISOR_suspend = %ld, want 0 (resumed)", r, rc))
            break;
        check(!strncmp(start_info->magic, "xen-3.0-x86_64", 14), "start_info magic \"%.32s\"",
              start_info->magic);
        check(start_info->console.domU.evtchn != 0, "console evtchn 0 after resume");
        check(now_ns() >= t0, "system time went back across the restore");
        connect_store();
        nd = read_domid();
        check(nd != domid, "round %u: still dom%lu: not a new domain?", r, nd);
        printk("savetest: round %u: now dom%lu, store port %u, console port %u\n", r, nd,
               store_port, start_info->console.domU.evtchn);
        domid = nd;
        snprintf(key, sizeof(key), "data/savetest-%u", r);
        snprintf(val, sizeof(val), "round-%u-%lx", r, (unsigned long)guest_rdtsc());
        write_read(key, val);
        timer_port = bind_virq_timer();     /* the old binding went with the old domain */
        check_timer(timer_port);
        check_unbound();
    }
    printk("savetest: %u xenstore requests\n", next_req_id - 1);
}
