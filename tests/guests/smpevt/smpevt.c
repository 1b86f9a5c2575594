/*
 * smpevt - event channels across 4 vCPUs: IPI ping-pong between
 * every ordered pair of vCPUs, EVTCHNOP_bind_vcpu moving delivery,
 * SCHEDOP_block woken by another vCPU's send, SCHEDOP_poll with and
 * without a pending port and with a timeout, per-vCPU VIRQ_TIMER waking a
 * blocked vCPU, VCPUOP_register_vcpu_info on every vCPU (upcalls arrive in
 * the new place, never the old), runstate areas and get_runstate_info,
 * taking down a vCPU that spins in guest code, and Xen's errnos for bad
 * arguments (Xen 4.17 xen/common/event_channel.c, sched/core.c do_poll,
 * domain.c do_vcpu_op / map_vcpu_info).
 *
 * vCPU 0 drives; vCPUs 1..3 sit in a command loop, blocked in
 * SCHEDOP_block until vCPU 0 sends on their "kick" port. Only vCPU 0
 * uses the console.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/callback.h>
#include <xen/vcpu.h>

#define NV        4
#define NPORTS    128               /* ports this guest looks at */
#define ROUNDS    3                 /* pings per ordered pair */
#define MS        1000000ULL
/* Give up on anything after 10 s: on the TCG bed a wake-up of a vCPU
 * that L0 descheduled takes hundreds of ms. */
#define WAIT_NS   (10000 * MS)

static struct shared_info *shinfo;
static struct vcpu_info *volatile vinfo[NV];
/* The page the vCPUs move their vcpu_info to (offset 64 + 64 * id). */
static uint8_t vinfo_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct vcpu_runstate_info rs_area[NV];
static uint8_t ap_stack[NV][4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct vcpu_guest_context ctx;
static const unsigned long *p2m;

/* Which ports each vCPU consumes, and what it saw. */
static volatile uint64_t mine[NV][NPORTS / 64];
static volatile unsigned long hits[NV][NPORTS];
static volatile unsigned long upcalls[NV];
/* ping_port[i][j]: bound to j, i sends; pong_port[i][j]: bound to i, j
 * answers from its callback. */
static evtchn_port_t ping_port[NV][NV], pong_port[NV][NV];
static volatile uint8_t ping_from[NPORTS], ping_to[NPORTS];
static evtchn_port_t kick_port[NV], done_port, timer_port[NV];

/* Commands for vCPUs 1..3. */
enum { CMD_PING = 1, CMD_SEND, CMD_SPIN, CMD_TIMER, CMD_RUNSTATE };
struct ctl {
    volatile unsigned long seq, done;
    volatile int cmd;
    volatile unsigned long arg, arg2;
    volatile long result;
    volatile unsigned long spins;
    volatile int stop;
};
static struct ctl ctl[NV];
static volatile unsigned int ap_ready[NV];
static volatile long ap_reg_rc[NV] = { -1, -1, -1, -1 };

#define expect(call, want) do {                                             \
        long r_ = (call);                                                   \
        check(r_ == (want), "%s: got %ld, want %ld", #call, r_, (long)(want)); \
    } while (0)

static long evtchn_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static long send(evtchn_port_t p)
{
    struct evtchn_send s = { .port = p };

    return evtchn_op(EVTCHNOP_send, &s);
}

/* The vCPU we run on, from the stack we are on. */
static unsigned int my_id(void)
{
    unsigned long sp = (unsigned long)__builtin_frame_address(0);

    for (unsigned int i = 1; i < NV; i++)
        if (sp >= (unsigned long)ap_stack[i] &&
            sp < (unsigned long)ap_stack[i] + sizeof(ap_stack[i]))
            return i;
    return 0;
}

/* ------------------------------------------------------------ time --- */


/* Xen system time from this vCPU's vcpu_time_info (pvclock). */
static uint64_t now_ns(void)
{
    return guest_system_time_ns(&vinfo[my_id()]->time);
}

static void delay_ns(uint64_t ns)
{
    uint64_t end = now_ns() + ns;

    while (now_ns() < end)
        asm volatile("pause");
}

/* ------------------------------------------------------------ events --- */

/* Event callback body (any vCPU): consume this vCPU's pending, unmasked
 * ports (2-level ABI), answer pings. */
static void sev_event(const uint64_t *f)
{
    unsigned int id = my_id();
    struct vcpu_info *vi = vinfo[id];
    xen_ulong_t sel;

    (void)f;
    upcalls[id]++;
    sel = guest_evtchn_take_sel(vi);
    for (unsigned int w = 0; w < NPORTS / 64; w++) {
        xen_ulong_t p, got;

        if (!(sel & (1UL << w)))
            continue;
        p = shinfo->evtchn_pending[w] & ~shinfo->evtchn_mask[w] & mine[id][w];
        got = __atomic_fetch_and(&shinfo->evtchn_pending[w], ~p, __ATOMIC_SEQ_CST) & p;
        for (unsigned int b = 0; b < 64; b++) {
            unsigned int port = w * 64 + b;

            if (!(got & (1UL << b)))
                continue;
            hits[id][port]++;
            if (ping_from[port])
                send(pong_port[ping_from[port] - 1][id]);
        }
    }
}

static void own(unsigned int vcpu, evtchn_port_t p)
{
    if (p < NPORTS)
        __atomic_fetch_or(&mine[vcpu][p / 64], 1UL << (p % 64), __ATOMIC_SEQ_CST);
    else
        check(false, "port %u beyond what this guest watches", p);
}

static evtchn_port_t bind_ipi(unsigned int vcpu)
{
    struct evtchn_bind_ipi b = { .vcpu = vcpu };
    long rc = evtchn_op(EVTCHNOP_bind_ipi, &b);

    if (rc)
        test_fatal("bind_ipi(%u) = %ld", vcpu, rc);
    own(vcpu, b.port);
    shinfo->evtchn_mask[b.port / 64] &= ~(1UL << (b.port % 64));
    return b.port;
}

static void events_on(unsigned int id)
{
    __atomic_store_n(&vinfo[id]->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    /* Deliver anything that arrived while masked (Xen checks on unmask
     * only through a hypercall: force one). */
    if (vinfo[id]->evtchn_upcall_pending)
        hypercall2(__HYPERVISOR_xen_version, XENVER_version, NULL);
}

static void block(void)
{
    hypercall_sched_op(SCHEDOP_block, NULL);
}

static long poll(evtchn_port_t *ports, unsigned int n, uint64_t timeout)
{
    struct sched_poll sp = { .nr_ports = n, .timeout = timeout };

    set_xen_guest_handle(sp.ports, ports);
    return hypercall_sched_op(SCHEDOP_poll, &sp);
}

/* Wait until *v >= want or WAIT_NS passes: sleep in SCHEDOP_poll with no
 * port and a 10 ms timeout (an upcall for us ends it early). */
static bool wait_for(volatile unsigned long *v, unsigned long want)
{
    uint64_t end = now_ns() + WAIT_NS;

    while (*v < want) {
        if (now_ns() > end)
            return false;
        poll(NULL, 0, now_ns() + 10 * MS);
    }
    return true;
}

/* Xen's default 100 Hz VIRQ_TIMER would wake blocked and polling vCPUs:
 * every vCPU stops it, so that only the events under test wake them. */
static void stop_periodic(unsigned int id)
{
    hypercall_vcpu_op(VCPUOP_stop_periodic_timer, id, NULL);
}

/* ------------------------------------------------------ the other vCPUs --- */

static void register_vcpu_info(unsigned int id)
{
    struct vcpu_register_vcpu_info ri = {
        .mfn = guest_mfn_of(vinfo_page), .offset = 64 + 64 * id,
    };
    struct vcpu_info *old = &shinfo->vcpu_info[id];
    long rc;

    /* Masked, and nothing pending in the old place from now on: the test
     * checks at the end that nothing was delivered there. */
    old->evtchn_upcall_mask = 1;
    old->evtchn_upcall_pending = 0;
    __atomic_store_n(&old->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    rc = hypercall_vcpu_op(VCPUOP_register_vcpu_info, id, &ri);
    if (!rc)
        vinfo[id] = (struct vcpu_info *)(vinfo_page + ri.offset);
    ap_reg_rc[id] = rc;
}

static void run_cmd(unsigned int id, struct ctl *c)
{
    switch (c->cmd) {
    case CMD_PING: {
        /* Ping vCPU arg ROUNDS times, each time until its pong. */
        unsigned int j = (unsigned int)c->arg;
        long bad = 0;

        for (unsigned int r = 0; r < ROUNDS; r++) {
            unsigned long before = hits[id][pong_port[id][j]];

            if (send(ping_port[id][j]))
                bad++;
            if (!wait_for(&hits[id][pong_port[id][j]], before + 1))
                bad++;
        }
        c->result = bad;
        break;
    }
    case CMD_SEND:
        /* After arg2 ns, send on port arg. */
        delay_ns(c->arg2);
        c->result = send((evtchn_port_t)c->arg);
        break;
    case CMD_SPIN: {
        /* Acknowledge, then spin in guest code until told to stop. */
        unsigned long n = 0;

        c->done = c->seq;
        send(done_port);
        while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
            __atomic_store_n(&c->spins, ++n, __ATOMIC_SEQ_CST);
        return;
    }
    case CMD_TIMER: {
        /* Our own singleshot timer in arg ns wakes our block. */
        struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = now_ns() + c->arg };
        unsigned long before = hits[id][timer_port[id]];
        long rc = hypercall_vcpu_op(VCPUOP_set_singleshot_timer, id, &t);

        if (!rc)
            rc = wait_for(&hits[id][timer_port[id]], before + 1) ? 0 : -XEN_ETIME;
        c->result = rc;
        break;
    }
    case CMD_RUNSTATE:
        /* Our own area reads "running" while we run (xen/public/vcpu.h). */
        c->result = rs_area[id].state == RUNSTATE_running &&
                    rs_area[id].time[RUNSTATE_blocked] > 0 &&
                    (rs_area[id].state_entry_time & XEN_RUNSTATE_UPDATE) == 0;
        break;
    default:
        c->result = -1;
        break;
    }
    c->done = c->seq;
    send(done_port);
}

void ap_main(unsigned long id);
GUEST_AP_ENTRY(ap_entry, ap_main);

void ap_main(unsigned long id)
{
    struct ctl *c = &ctl[id];
    struct vcpu_register_runstate_memory_area ra = { .addr.v = &rs_area[id] };

    stop_periodic((unsigned int)id);
    register_vcpu_info((unsigned int)id);
    hypercall_vcpu_op(VCPUOP_register_runstate_memory_area, (unsigned int)id, &ra);
    __atomic_store_n(&ap_ready[id], 1, __ATOMIC_SEQ_CST);
    events_on((unsigned int)id);
    for (;;) {
        while (__atomic_load_n(&c->done, __ATOMIC_SEQ_CST) ==
               __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST))
            block();
        run_cmd((unsigned int)id, c);
    }
}

/* Run a command on vCPU id and wait for it (sleeping in poll with a
 * timeout, so a lost wake-up fails instead of hanging; vCPU 0 keeps
 * answering pings meanwhile). */
static bool command(unsigned int id, int cmd, unsigned long arg, unsigned long arg2)
{
    struct ctl *c = &ctl[id];
    uint64_t end;
    unsigned long seq = c->seq + 1;

    c->cmd = cmd;
    c->arg = arg;
    c->arg2 = arg2;
    c->result = -999;
    __atomic_store_n(&c->seq, seq, __ATOMIC_SEQ_CST);
    if (send(kick_port[id]))
        return false;
    end = now_ns() + WAIT_NS;
    while (__atomic_load_n(&c->done, __ATOMIC_SEQ_CST) != seq) {
        if (now_ns() > end) {
            check(false, "vCPU %u did not finish command %d", id, cmd);
            return false;
        }
        poll(NULL, 0, now_ns() + 10 * MS);
    }
    return true;
}

static void fill_ctx(unsigned int id, unsigned long l4_mfn)
{
    guest_vcpu_ctx(&ctx, (unsigned long)ap_entry,
                   (unsigned long)(ap_stack[id] + sizeof(ap_stack[id])), id, l4_mfn);
    ctx.event_callback_eip = (unsigned long)guest_event_callback;
}

/* ------------------------------------------------------------ vCPU 0 --- */

static void map_shared_info(void)
{
    /* Every port masked; the ones under test are unmasked when bound. */
    shinfo = guest_map_shared_info();
    for (unsigned int i = 0; i < NV; i++)
        vinfo[i] = &shinfo->vcpu_info[i];
    for (unsigned int w = 0; w < ARRAY_SIZE(shinfo->evtchn_pending); w++)
        __atomic_store_n(&shinfo->evtchn_pending[w], 0, __ATOMIC_SEQ_CST);
}

static void test_register_errors(unsigned long l4)
{
    struct vcpu_register_vcpu_info ri = { .mfn = guest_mfn_of(vinfo_page), .offset = 64 };

    /* Debian's Xen 4.17.7 (map_guest_area): a vcpu_info that does not fit
     * in the page, or is misaligned, is -ENXIO; other refusals -EINVAL. */
    ri.offset = PAGE_SIZE - sizeof(struct vcpu_info) + 8;
    expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, &ri), -XEN_ENXIO);
    ri.offset = 68;
    expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, &ri), -XEN_ENXIO);
    ri.offset = 64;
    ri.mfn = l4;        /* a page table: no writable type */
    expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, &ri), -XEN_EINVAL);
    expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, (void *)0xffff830000000000UL),
           -XEN_EFAULT);
    expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 4096, &ri), -XEN_ENOENT);
}

static void test_bad_args(void)
{
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 1 };
    struct evtchn_bind_vcpu bc;
    struct vcpu_runstate_info r;
    struct vcpu_register_runstate_memory_area ra = { .addr.p = 0xffff830000000000UL };
    evtchn_port_t bad[1] = { 4096 };

    /* bind_virq: per-vCPU VIRQ once per vCPU; global VIRQs on vCPU 0. */
    expect(evtchn_op(EVTCHNOP_bind_virq, &bv), -XEN_EEXIST);
    bv.vcpu = 4096;
    expect(evtchn_op(EVTCHNOP_bind_virq, &bv), -XEN_ENOENT);
    bv.virq = VIRQ_DOM_EXC;
    bv.vcpu = 1;
    expect(evtchn_op(EVTCHNOP_bind_virq, &bv), -XEN_EINVAL);
    /* bind_vcpu: IPI and per-vCPU VIRQ ports stay; bad vCPU; bad port. */
    bc = (struct evtchn_bind_vcpu){ .port = ping_port[0][1], .vcpu = 2 };
    expect(evtchn_op(EVTCHNOP_bind_vcpu, &bc), -XEN_EINVAL);
    bc = (struct evtchn_bind_vcpu){ .port = timer_port[1], .vcpu = 2 };
    expect(evtchn_op(EVTCHNOP_bind_vcpu, &bc), -XEN_EINVAL);
    bc = (struct evtchn_bind_vcpu){ .port = timer_port[1], .vcpu = 4096 };
    expect(evtchn_op(EVTCHNOP_bind_vcpu, &bc), -XEN_ENOENT);
    bc = (struct evtchn_bind_vcpu){ .port = 4000, .vcpu = 1 };
    expect(evtchn_op(EVTCHNOP_bind_vcpu, &bc), -XEN_EINVAL);
    /* bind_ipi to no such vCPU. */
    {
        struct evtchn_bind_ipi bi = { .vcpu = 4096 };

        expect(evtchn_op(EVTCHNOP_bind_ipi, &bi), -XEN_ENOENT);
    }
    /* poll (events masked here, so no upcall ends it early). */
    expect(poll(bad, 129, 0), -XEN_EINVAL);
    expect(poll(bad, 1, 0), -XEN_EINVAL);
    expect(poll((evtchn_port_t *)0xffff830000000000UL, 1, 0), -XEN_EFAULT);
    /* runstate. */
    expect(hypercall_vcpu_op(VCPUOP_get_runstate_info, 1, (void *)0xffff830000000000UL),
           -XEN_EFAULT);
    expect(hypercall_vcpu_op(VCPUOP_get_runstate_info, 4096, &r), -XEN_ENOENT);
    expect(hypercall_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &ra), -XEN_EFAULT);
    /* register_vcpu_info: once only, and not for another vCPU that is up. */
    {
        struct vcpu_register_vcpu_info ri = { .mfn = guest_mfn_of(vinfo_page), .offset = 512 };

        expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, &ri), -XEN_EINVAL);
        expect(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri), -XEN_EINVAL);
    }
}

static void test_ping_pong(void)
{
    unsigned int pairs = 0;

    for (unsigned int i = 0; i < NV; i++) {
        for (unsigned int j = 0; j < NV; j++) {
            long bad = 0;

            uint64_t t0 = now_ns();

            if (i == j)
                continue;
            if (i == 0) {
                for (unsigned int r = 0; r < ROUNDS; r++) {
                    unsigned long before = hits[0][pong_port[0][j]];

                    bad += send(ping_port[0][j]) != 0;
                    bad += !wait_for(&hits[0][pong_port[0][j]], before + 1);
                }
            } else if (!command(i, CMD_PING, j, 0)) {
                bad = -1;
            } else {
                bad = ctl[i].result;
            }
            if (check(bad == 0, "ping %u -> %u: %ld rounds lost", i, j, bad))
                pairs++;
            printk("smpevt: ping %u -> %u: %u rounds in %lu ms\n", i, j, ROUNDS,
                   (unsigned long)((now_ns() - t0) / MS));
            check(hits[j][ping_port[i][j]] >= ROUNDS, "vCPU %u got %lu pings from %u",
                  j, hits[j][ping_port[i][j]], i);
        }
    }
    printk("smpevt: IPI ping-pong: %u ordered pairs x %u rounds\n", pairs, ROUNDS);
}

static void test_block_woken_by_send(void)
{
    evtchn_port_t p = ping_port[1][0];      /* bound to vCPU 0, unmasked */
    unsigned long before = hits[0][p];
    uint64_t t0 = now_ns();

    /* vCPU 1 sends on p in 20 ms; we block until its upcall. */
    ctl[1].cmd = CMD_SEND;
    ctl[1].arg = p;
    ctl[1].arg2 = 20 * MS;
    __atomic_store_n(&ctl[1].seq, ctl[1].seq + 1, __ATOMIC_SEQ_CST);
    send(kick_port[1]);
    /* SCHEDOP_block itself: nothing else wakes vCPU 0 (no periodic
     * timer), so a lost wake-up hangs here and the runner times out. */
    while (hits[0][p] < before + 1 && now_ns() - t0 < WAIT_NS)
        block();
    check(hits[0][p] >= before + 1, "block was never woken by vCPU 1's send");
    check(now_ns() - t0 >= 20 * MS, "woke after %lu ns, before the send",
          (unsigned long)(now_ns() - t0));
    wait_for(&ctl[1].done, ctl[1].seq);
    printk("smpevt: block: woken by vCPU 1's send after %lu us\n",
           (unsigned long)((now_ns() - t0) / 1000));
}

static void test_poll(void)
{
    evtchn_port_t p = ping_port[2][0];      /* bound to vCPU 0 */
    evtchn_port_t list[2] = { ping_port[3][0], p };
    uint64_t t0, t1;
    long rc;

    /* Polled ports are masked: poll, not the callback, sees them. */
    vinfo[0]->evtchn_upcall_mask = 1;
    shinfo->evtchn_mask[p / 64] |= 1UL << (p % 64);
    shinfo->evtchn_mask[list[0] / 64] |= 1UL << (list[0] % 64);

    /* Already pending: at once. */
    send(p);
    t0 = now_ns();
    expect(poll(&p, 1, 0), 0);
    check(now_ns() - t0 < 1000 * MS, "poll of a pending port slept");
    __atomic_fetch_and(&shinfo->evtchn_pending[p / 64], ~(1UL << (p % 64)), __ATOMIC_SEQ_CST);

    /* Not pending: sleeps until vCPU 2 sends on it 30 ms later. */
    ctl[2].cmd = CMD_SEND;
    ctl[2].arg = p;
    ctl[2].arg2 = 30 * MS;
    t0 = now_ns();
    __atomic_store_n(&ctl[2].seq, ctl[2].seq + 1, __ATOMIC_SEQ_CST);
    send(kick_port[2]);
    /* Polling several ports, any port's event may wake us (Xen
     * evtchn_check_pollers): poll again until p is pending. */
    do
        rc = poll(list, 2, t0 + WAIT_NS);
    while (!rc && !(shinfo->evtchn_pending[p / 64] & (1UL << (p % 64))) &&
           now_ns() - t0 < WAIT_NS);
    t1 = now_ns();
    check(rc == 0, "poll woken by a send: %ld", rc);
    check(shinfo->evtchn_pending[p / 64] & (1UL << (p % 64)), "port not pending after poll");
    check(t1 - t0 >= 30 * MS && t1 - t0 < WAIT_NS, "poll returned after %lu us",
          (unsigned long)((t1 - t0) / 1000));
    printk("smpevt: poll: woken by vCPU 2's send after %lu us\n",
           (unsigned long)((t1 - t0) / 1000));
    while (ctl[2].done != ctl[2].seq)
        poll(&done_port, 1, now_ns() + 10 * MS);
    __atomic_fetch_and(&shinfo->evtchn_pending[p / 64], ~(1UL << (p % 64)), __ATOMIC_SEQ_CST);

    /* Nobody sends: the timeout ends it, not before the deadline. An
     * upcall already pending (masked) means no 0 -> 1 transition can
     * kick us out early (Xen vcpu_mark_events_pending). */
    vinfo[0]->evtchn_upcall_pending = 1;
    t0 = now_ns();
    rc = poll(&p, 1, t0 + 50 * MS);
    t1 = now_ns();
    check(rc == 0, "poll with timeout: %ld", rc);
    check(t1 >= t0 + 50 * MS, "poll timed out %lu us early",
          (unsigned long)((t0 + 50 * MS - t1) / 1000));
    check(t1 - t0 < WAIT_NS, "poll timeout took %lu us", (unsigned long)((t1 - t0) / 1000));
    printk("smpevt: poll: 50 ms timeout returned after %lu us\n",
           (unsigned long)((t1 - t0) / 1000));

    shinfo->evtchn_mask[p / 64] &= ~(1UL << (p % 64));
    shinfo->evtchn_mask[list[0] / 64] &= ~(1UL << (list[0] % 64));
    events_on(0);
}

static void test_timers(void)
{
    for (unsigned int i = 1; i < NV; i++) {
        unsigned long before0 = hits[0][timer_port[0]];

        if (command(i, CMD_TIMER, 5 * MS, 0))
            check(ctl[i].result == 0, "vCPU %u: its timer did not wake its block: %ld",
                  i, ctl[i].result);
        check(hits[0][timer_port[0]] == before0, "vCPU %u's timer reached vCPU 0", i);
    }
    printk("smpevt: per-vCPU VIRQ_TIMER woke vCPUs 1..%u\n", NV - 1);
}

static void test_bind_vcpu(void)
{
    evtchn_port_t c = start_info->console.domU.evtchn;
    struct evtchn_bind_vcpu bc = { .port = c, .vcpu = 2 };
    struct evtchn_unmask u = { .port = c };
    unsigned long before;
    long rc;

    if (!c || c >= NPORTS) {
        printk("smpevt: bind_vcpu: no console port below %u, skipped\n", NPORTS);
        return;
    }
    /* The console backend's "output consumed" notification (an
     * interdomain port) moves to vCPU 2. */
    rc = evtchn_op(EVTCHNOP_bind_vcpu, &bc);
    check(rc == 0, "bind_vcpu(console port %u, 2) = %ld", c, rc);
    if (rc)
        return;
    own(2, c);
    before = hits[2][c];
    expect(evtchn_op(EVTCHNOP_unmask, &u), 0);
    printk("smpevt: bind_vcpu: console port %u now notifies vCPU 2\n", c);
    check(wait_for(&hits[2][c], before + 1), "vCPU 2 never saw the console port");
    check(hits[0][c] == 0, "vCPU 0 saw the console port");
    shinfo->evtchn_mask[c / 64] |= 1UL << (c % 64);
    bc.vcpu = 0;
    expect(evtchn_op(EVTCHNOP_bind_vcpu, &bc), 0);
}

static void test_runstate(void)
{
    struct vcpu_runstate_info r;
    uint64_t now, sum;

    for (unsigned int i = 1; i < NV; i++) {
        expect(hypercall_vcpu_op(VCPUOP_get_runstate_info, i, &r), 0);
        now = now_ns();
        sum = r.time[0] + r.time[1] + r.time[2] + r.time[3];
        /* Xen: a vCPU woken from block (the previous test's events) is
         * runnable until its pCPU picks it up; with L0 preempting the
         * shim's vCPUs that window is real (seen under the reference
         * shim on the bed). Offline would be wrong. */
        check(r.state == RUNSTATE_blocked || r.state == RUNSTATE_running ||
              r.state == RUNSTATE_runnable,
              "vCPU %u idle in block: state %d", i, r.state);
        check(r.time[RUNSTATE_running] > 0 && r.time[RUNSTATE_blocked] > 0,
              "vCPU %u: running %lu blocked %lu ns", i,
              (unsigned long)r.time[RUNSTATE_running], (unsigned long)r.time[RUNSTATE_blocked]);
        check(r.state_entry_time <= now && sum <= now,
              "vCPU %u: entry %lu sum %lu now %lu", i, (unsigned long)r.state_entry_time,
              (unsigned long)sum, (unsigned long)now);
        if (command(i, CMD_RUNSTATE, 0, 0))
            check(ctl[i].result == 1, "vCPU %u: its runstate area (state %d, blocked %lu)",
                  i, rs_area[i].state, (unsigned long)rs_area[i].time[RUNSTATE_blocked]);
    }
    expect(hypercall_vcpu_op(VCPUOP_get_runstate_info, 0, &r), 0);
    check(r.state == RUNSTATE_running, "vCPU 0 reads itself as %d", r.state);
}

static void test_down_spinner(void)
{
    struct vcpu_runstate_info r;
    unsigned long a, b;

    ctl[3].stop = 0;
    if (!command(3, CMD_SPIN, 0, 0))
        return;
    for (unsigned int i = 0; i < 1000000 && ctl[3].spins < 1000; i++)
        asm volatile("pause");
    check(ctl[3].spins >= 1000, "vCPU 3 does not spin");
    expect(hypercall_vcpu_op(VCPUOP_down, 3, NULL), 0);
    expect(hypercall_vcpu_op(VCPUOP_is_up, 3, NULL), 0);
    delay_ns(5 * MS);           /* a spinner not yet stopped shows here */
    a = ctl[3].spins;
    delay_ns(20 * MS);
    b = ctl[3].spins;
    check(a == b, "vCPU 3 kept spinning after VCPUOP_down (%lu -> %lu)", a, b);
    expect(hypercall_vcpu_op(VCPUOP_get_runstate_info, 3, &r), 0);
    check(r.state == RUNSTATE_offline, "vCPU 3 down: runstate %d", r.state);
    expect(hypercall_vcpu_op(VCPUOP_up, 3, NULL), 0);
    for (unsigned int i = 0; i < 100 && ctl[3].spins == b; i++)
        delay_ns(MS);
    check(ctl[3].spins > b, "vCPU 3 did not resume spinning after VCPUOP_up");
    __atomic_store_n(&ctl[3].stop, 1, __ATOMIC_SEQ_CST);
    printk("smpevt: down: spinning vCPU 3 stopped at %lu, resumed after up\n", b);
}

void test_main(void)
{
    unsigned long l4;
    long rc;

    p2m = (const unsigned long *)start_info->mfn_list;
    l4 = guest_mfn_of((const void *)start_info->pt_base);
    rc = hypercall_vcpu_op(VCPUOP_is_up, NV - 1, NULL);
    if (rc == -XEN_ENOENT)
        test_skip("needs %u vCPUs (VCPUOP_is_up(%u) = -ENOENT)", NV, NV - 1);

    guest_event_hook = sev_event;
    rc = hypercall3(__HYPERVISOR_set_callbacks, guest_event_callback, 0, 0);
    check(rc == 0, "set_callbacks = %ld", rc);
    stop_periodic(0);
    map_shared_info();
    test_register_errors(l4);
    register_vcpu_info(0);
    check(ap_reg_rc[0] == 0, "register_vcpu_info(0) = %ld", ap_reg_rc[0]);
    {
        struct vcpu_register_runstate_memory_area ra = { .addr.v = &rs_area[0] };

        expect(hypercall_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &ra), 0);
        check(rs_area[0].state == RUNSTATE_running, "own area at registration: %d",
              rs_area[0].state);
    }

    /* Ports: pings and pongs for every ordered pair, a kick per vCPU,
     * done notifications and a timer on every vCPU. */
    for (unsigned int i = 0; i < NV; i++)
        for (unsigned int j = 0; j < NV; j++)
            if (i != j) {
                ping_port[i][j] = bind_ipi(j);
                pong_port[i][j] = bind_ipi(i);
                if (ping_port[i][j] < NPORTS) {
                    ping_from[ping_port[i][j]] = (uint8_t)(i + 1);
                    ping_to[ping_port[i][j]] = (uint8_t)j;
                }
            }
    for (unsigned int i = 1; i < NV; i++)
        kick_port[i] = bind_ipi(i);
    done_port = bind_ipi(0);
    for (unsigned int i = 0; i < NV; i++) {
        struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = i };

        rc = evtchn_op(EVTCHNOP_bind_virq, &bv);
        if (rc)
            test_fatal("bind_virq(TIMER, %u) = %ld", i, rc);
        timer_port[i] = bv.port;
        own(i, bv.port);
        shinfo->evtchn_mask[bv.port / 64] &= ~(1UL << (bv.port % 64));
    }
    {
        struct evtchn_status st = { .dom = DOMID_SELF, .port = ping_port[0][2] };

        expect(evtchn_op(EVTCHNOP_status, &st), 0);
        check(st.status == EVTCHNSTAT_ipi && st.vcpu == 2,
              "status of an IPI port bound to vCPU 2: %u on %u", st.status, st.vcpu);
        st.port = timer_port[3];
        expect(evtchn_op(EVTCHNOP_status, &st), 0);
        check(st.status == EVTCHNSTAT_virq && st.vcpu == 3 && st.u.virq == VIRQ_TIMER,
              "status of vCPU 3's timer: %u on %u virq %u", st.status, st.vcpu, st.u.virq);
    }

    /* vCPUs 1..3 up: each registers its vcpu_info and runstate area. */
    for (unsigned int i = 1; i < NV; i++) {
        fill_ctx(i, l4);
        expect(hypercall_vcpu_op(VCPUOP_initialise, i, &ctx), 0);
        expect(hypercall_vcpu_op(VCPUOP_up, i, NULL), 0);
    }
    for (unsigned int i = 1; i < NV; i++) {
        for (unsigned long n = 0; n < 200000000UL && !ap_ready[i]; n++)
            asm volatile("pause");
        if (!ap_ready[i])
            test_fatal("vCPU %u never started", i);
        check(ap_reg_rc[i] == 0, "vCPU %u: register_vcpu_info = %ld", i, ap_reg_rc[i]);
    }
    events_on(0);
    printk("smpevt: %u vCPUs up, vcpu_info moved on every one\n", NV);

    test_ping_pong();
    test_block_woken_by_send();
    test_poll();
    test_timers();
    test_bind_vcpu();
    test_runstate();
    vinfo[0]->evtchn_upcall_mask = 1;
    test_bad_args();
    events_on(0);
    test_down_spinner();

    /* Upcalls arrived in the registered places, never the old slots. */
    for (unsigned int i = 0; i < NV; i++) {
        check(upcalls[i] > 0, "vCPU %u had no upcall", i);
        check(shinfo->vcpu_info[i].evtchn_pending_sel == 0 &&
              shinfo->vcpu_info[i].evtchn_upcall_pending == 0,
              "vCPU %u: the old vcpu_info slot was used (sel %lx pending %u)", i,
              (unsigned long)shinfo->vcpu_info[i].evtchn_pending_sel,
              shinfo->vcpu_info[i].evtchn_upcall_pending);
    }
    printk("smpevt: upcalls per vCPU: %lu %lu %lu %lu\n", upcalls[0], upcalls[1],
           upcalls[2], upcalls[3]);
}
