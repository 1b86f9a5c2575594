/*
 * xenstore - the xenstore connection a PV domU gets in start_info: the
 * ring page (store_mfn) mapped like the guest's own RAM, and the event
 * channel (store_evtchn) bridged to xenstored in dom0. Speaks the ring
 * protocol of xen/io/xs_wire.h: XS_READ "domid", XS_GET_DOMAIN_PATH and
 * XS_READ of the home path, XS_WRITE then XS_READ of a key under data/,
 * XS_DIRECTORY, and the XS_ERROR "ENOENT" reply for a missing key.
 *
 * Waiting is SCHEDOP_poll on the (masked) store port, bounded by time;
 * each reply must also leave the store port pending, which proves the
 * event from xenstored reached the guest. Without an L0 (QEMU-direct) the
 * shim has no xenstore to offer: store_mfn is 0 and the test SKIPs.
 */
#include <xen/errno.h>
#include "guest.h"
#include <xen/event_channel.h>
#include <xen/io/xs_wire.h>


/* Scratch page whose mapping is replaced by the store page. */
static uint8_t scratch[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct xenstore_domain_interface *xs;
static struct shared_info *shinfo;
static evtchn_port_t port;
static uint32_t next_req_id = 1;
static unsigned int events_seen;

/*
 * A reply takes a round trip through dom0 under TCG. The budget is 30 s
 * of Xen system time (pvclock in vcpu_info, what SCHEDOP_poll's timeout
 * is measured in) and, should system time not advance, 60 s of TSC at
 * >= 1 GHz. Each poll sleeps at most 100 ms.
 */
#define WAIT_NS     (30ULL * 1000 * 1000 * 1000)
#define WAIT_CYCLES (60ULL * 1000 * 1000 * 1000)
#define EVENT_WAIT_NS (5ULL * 1000 * 1000 * 1000)
#define POLL_NS     (100ULL * 1000 * 1000)

struct deadline { uint64_t ns, tsc; };


/* Xen system time from vCPU 0's vcpu_time_info (public xen.h). */
static uint64_t now_ns(void)
{
    return guest_system_time_ns(&shinfo->vcpu_info[0].time);
}

static struct deadline deadline_from_now(void)
{
    return (struct deadline){ .ns = now_ns() + WAIT_NS, .tsc = guest_rdtsc() + WAIT_CYCLES };
}

static long evtchn_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static bool port_pending(void)
{
    return __atomic_load_n(&shinfo->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) &
           (1UL << (port % 64));
}

static void clear_port(void)
{
    __atomic_fetch_and(&shinfo->evtchn_pending[port / 64], ~(1UL << (port % 64)),
                       __ATOMIC_SEQ_CST);
}

/* Wait for the store port (SCHEDOP_poll with a timeout; an early or
 * spurious return is allowed); counts the events seen. False once the
 * time budget is spent. */
static bool wait_event(const struct deadline *d)
{
    struct sched_poll sp = { .nr_ports = 1 };
    uint64_t now = now_ns();

    if (now > d->ns || guest_rdtsc() > d->tsc)
        return false;
    set_xen_guest_handle(sp.ports, &port);
    sp.timeout = now + POLL_NS;
    if (!port_pending()) {
        long rc = hypercall_sched_op(SCHEDOP_poll, &sp);

        if (rc)
            test_fatal("SCHEDOP_poll(store port %u) = %ld", port, rc);
    }
    if (port_pending()) {
        clear_port();
        events_seen++;
    }
    return true;
}

static void notify(void)
{
    struct evtchn_send s = { .port = port };
    long rc = evtchn_op(EVTCHNOP_send, &s);

    if (rc)
        test_fatal("EVTCHNOP_send(store port %u) = %ld", port, rc);
}

static void ring_notify(void *ctx)
{
    (void)ctx;
    notify();
}

static bool ring_wait(void *ctx)
{
    return wait_event(ctx);
}


/*
 * One request, one reply. body holds len bytes (the strings with their
 * NULs as the wire wants them). Returns the reply type; the payload (at
 * most XENSTORE_PAYLOAD_MAX) is put NUL-terminated into out.
 */
static uint32_t xs_request(uint32_t type, const char *body, size_t len,
                           char *out, uint32_t *out_len)
{
    static char payload[XENSTORE_PAYLOAD_MAX + 1];
    struct xsd_sockmsg m = { .type = type, .req_id = next_req_id++, .tx_id = 0,
                             .len = (uint32_t)len };
    struct xsd_sockmsg r;
    struct deadline deadline = deadline_from_now();
    unsigned int before = events_seen;
    struct xs_ring_client ring = { .xs = xs, .notify = ring_notify, .wait = ring_wait,
                                   .ctx = &deadline };

    clear_port();
    xs_ring_write(&ring, &m, sizeof(m));
    xs_ring_write(&ring, body, len);
    xs_ring_read(&ring, &r, sizeof(r));
    if (r.len > XENSTORE_PAYLOAD_MAX)
        test_fatal("reply length %u exceeds XENSTORE_PAYLOAD_MAX", r.len);
    xs_ring_read(&ring, payload, r.len);
    payload[r.len] = 0;
    check(r.req_id == m.req_id, "reply req_id %u, want %u", r.req_id, m.req_id);
    /* xenstored notifies after every reply it writes; the notification
     * may trail the data: allow it 5 s more. */
    deadline = deadline_from_now();
    deadline.ns -= WAIT_NS - EVENT_WAIT_NS;
    deadline.tsc -= WAIT_CYCLES - EVENT_WAIT_NS * 2;
    while (events_seen == before && wait_event(&deadline))
        ;
    /* Systematic when it happens: stop with the reason as the result. */
    if (events_seen == before)
        test_fatal("no event on the store port for the reply to request type %u", type);
    memcpy(out, payload, r.len + 1);
    *out_len = r.len;
    return r.type;
}

/* body = path NUL [value] */
static uint32_t xs_op(uint32_t type, const char *path, const char *value,
                      char *out, uint32_t *out_len)
{
    static char body[XENSTORE_PAYLOAD_MAX];
    size_t pl = strlen(path) + 1, vl = value ? strlen(value) : 0;

    if (pl + vl > sizeof(body))
        test_fatal("request too long");
    memcpy(body, path, pl);
    if (vl)
        memcpy(body + pl, value, vl);
    return xs_request(type, body, pl + vl, out, out_len);
}

/* Is name one of the NUL-separated entries of an XS_DIRECTORY reply? */
static bool dir_has(const char *list, uint32_t len, const char *name)
{
    for (uint32_t i = 0; i < len; i += strlen(list + i) + 1)
        if (!strcmp(list + i, name))
            return true;
    return false;
}

static void map_pages(void)
{
    long rc;

    /* Masked ports still become pending and wake SCHEDOP_poll; masking
     * keeps upcalls away (events stay disabled in vcpu_info anyway). */
    shinfo = guest_map_shared_info();

    /* The store page must be mappable like the guest's own RAM (Linux
     * maps it through its direct map). */
    rc = hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)scratch,
                    (start_info->store_mfn << PAGE_SHIFT) | (_P | _RW | _US), UVMF_INVLPG);
    if (rc)
        test_fatal("update_va_mapping(store_mfn %#lx) = %ld",
                   (unsigned long)start_info->store_mfn, rc);
    xs = (volatile struct xenstore_domain_interface *)scratch;
}

static void unmap_store(void)
{
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;
    unsigned long pfn = ((unsigned long)scratch - (unsigned long)_image_start) >> PAGE_SHIFT;
    long rc = hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)scratch,
                         (p2m[pfn] << PAGE_SHIFT) | (_P | _RW | _US), UVMF_INVLPG);

    check(rc == 0, "restoring the scratch mapping: %ld", rc);
}

static void check_status(void)
{
    struct evtchn_status st = { .dom = DOMID_SELF, .port = port };
    long rc = evtchn_op(EVTCHNOP_status, &st);

    /* As under Xen: an interdomain channel to xenstored in dom0. */
    check(rc == 0, "EVTCHNOP_status(store port %u) = %ld", port, rc);
    check(rc || st.status == EVTCHNSTAT_interdomain,
          "store port status %u, want interdomain (%u)", st.status,
          EVTCHNSTAT_interdomain);
    check(rc || st.u.interdomain.dom == 0,
          "store port remote domain %u, want 0", st.u.interdomain.dom);
    printk("xenstore: port %u -> dom%u port %u\n", port, st.u.interdomain.dom,
           st.u.interdomain.port);
}

void test_main(void)
{
    static char out[XENSTORE_PAYLOAD_MAX + 1], home[64], val[48];
    unsigned long domid = 0;
    uint32_t len, t;

    if (!start_info->store_mfn)
        test_skip("no xenstore: start_info store_mfn is 0 (no L0 toolstack)");
    port = start_info->store_evtchn;
    check(port != 0, "store_evtchn is 0 with store_mfn %#lx",
          (unsigned long)start_info->store_mfn);
    if (!port)
        return;
    printk("xenstore: store_mfn %#lx evtchn %u\n",
           (unsigned long)start_info->store_mfn, port);
    map_pages();
    check_status();
    printk("xenstore: ring req %u/%u rsp %u/%u connection %u features %#x\n",
           xs->req_cons, xs->req_prod, xs->rsp_cons, xs->rsp_prod,
           xs->connection, xs->server_features);
    check(xs->req_prod - xs->req_cons <= XENSTORE_RING_SIZE &&
          xs->rsp_prod - xs->rsp_cons <= XENSTORE_RING_SIZE,
          "store ring indices corrupt at start");

    /* "domid", relative to the home path /local/domain/<domid>. */
    t = xs_op(XS_READ, "domid", NULL, out, &len);
    check(t == XS_READ, "XS_READ domid: reply type %u (%s)", t, out);
    if (t == XS_READ) {
        char *end = out;

        while (*end >= '0' && *end <= '9')
            domid = domid * 10 + (unsigned long)(*end++ - '0');
        check(end != out && *end == 0 && domid > 0 && domid < DOMID_FIRST_RESERVED,
              "domid \"%s\" is not a domU id", out);
        printk("xenstore: domid %lu\n", domid);
    }

    /* The home path, from xenstored and by reading it. */
    snprintf(val, sizeof(val), "%lu", domid);
    t = xs_op(XS_GET_DOMAIN_PATH, val, NULL, out, &len);
    snprintf(home, sizeof(home), "/local/domain/%lu", domid);
    check(t == XS_GET_DOMAIN_PATH && !strcmp(out, home),
          "XS_GET_DOMAIN_PATH %s: type %u \"%s\", want \"%s\"", val, t, out, home);
    t = xs_op(XS_READ, home, NULL, out, &len);
    check(t == XS_READ, "XS_READ %s: reply type %u (%s)", home, t, out);

    /* Write a key under data/ (writable by the domain), read it back. */
    snprintf(val, sizeof(val), "minishim-%lx", (unsigned long)guest_rdtsc());
    t = xs_op(XS_WRITE, "data/minishim-test", val, out, &len);
    check(t == XS_WRITE && !strcmp(out, "OK"),
          "XS_WRITE data/minishim-test: type %u \"%s\"", t, out);
    t = xs_op(XS_READ, "data/minishim-test", NULL, out, &len);
    check(t == XS_READ && len == strlen(val) && !strcmp(out, val),
          "XS_READ data/minishim-test: type %u \"%s\" (%u bytes), want \"%s\"",
          t, out, len, val);

    /* Directories: the home directory and data/. */
    t = xs_op(XS_DIRECTORY, home, NULL, out, &len);
    check(t == XS_DIRECTORY && dir_has(out, len, "domid") && dir_has(out, len, "data"),
          "XS_DIRECTORY %s: type %u, no \"domid\" and \"data\" in %u bytes", home, t, len);
    t = xs_op(XS_DIRECTORY, "data", NULL, out, &len);
    check(t == XS_DIRECTORY && dir_has(out, len, "minishim-test"),
          "XS_DIRECTORY data: type %u, no \"minishim-test\" in %u bytes", t, len);

    /* A missing key: XS_ERROR with the errno name. */
    t = xs_op(XS_READ, "data/minishim-no-such-key", NULL, out, &len);
    check(t == XS_ERROR && !strcmp(out, "ENOENT"),
          "XS_READ of a missing key: type %u \"%s\", want XS_ERROR \"ENOENT\"", t, out);

    printk("xenstore: %u replies, %u store events\n", next_req_id - 1, events_seen);
    unmap_store();
}
