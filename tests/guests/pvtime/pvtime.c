/*
 * pvtime - guest time as a Xen PV guest sees it: the pvclock in
 * vcpu_time_info (version protocol, monotonic, sane scale), the wallclock
 * in shared_info, and the vCPU timers (set_timer_op, VCPUOP singleshot and
 * periodic) delivering VIRQ_TIMER, with Xen 4.17's answers for past, far
 * and bad deadlines (xen/common/sched/core.c do_set_timer_op,
 * xen/common/domain.c VCPUOP_*_timer).
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/callback.h>

#define NS_PER_MS 1000000ULL
#define NS_PER_S  1000000000ULL

static struct shared_info *shinfo;
static evtchn_port_t timer_port;
static volatile unsigned int nr_timer_upcalls;
static volatile uint64_t last_upcall_ns;


/* Linux pvclock_scale_delta(): ((delta << shift) * mul) >> 32. */
static uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

struct pvclock_snap {
    uint32_t version, mul;
    int8_t shift;
    uint8_t flags;
    uint64_t tsc_timestamp, system_time;
};

static void pvclock_snapshot(struct pvclock_snap *s)
{
    volatile struct vcpu_time_info *t = &shinfo->vcpu_info[0].time;
    unsigned int tries = 0;

    do {
        s->version = t->version;
        asm volatile ("" ::: "memory");
        s->tsc_timestamp = t->tsc_timestamp;
        s->system_time = t->system_time;
        s->mul = t->tsc_to_system_mul;
        s->shift = t->tsc_shift;
        s->flags = t->flags;
        asm volatile ("" ::: "memory");
        if (++tries > 10000000)
            test_fatal("vcpu_time_info version stuck at %u", s->version);
    } while ((s->version & 1) || s->version != t->version);
}

/* Xen system time now (ns), read as Linux pvclock_clocksource_read does. */
static uint64_t pvclock_now(void)
{
    volatile struct vcpu_time_info *t = &shinfo->vcpu_info[0].time;
    uint32_t ver;
    uint64_t ns;

    do {
        ver = t->version;
        asm volatile ("" ::: "memory");
        ns = t->system_time + scale_delta(guest_rdtsc() - t->tsc_timestamp,
                                          t->tsc_to_system_mul, t->tsc_shift);
        asm volatile ("" ::: "memory");
    } while ((ver & 1) || ver != t->version);
    return ns;
}

/* Event callback body: count VIRQ_TIMER, consume every pending port. */
static void pvt_event(const uint64_t *f)
{
    (void)f;
    struct vcpu_info *vi = &shinfo->vcpu_info[0];
    xen_ulong_t sel;

    sel = guest_evtchn_take_sel(vi);
    for (unsigned int w = 0; sel; w++, sel >>= 1) {
        xen_ulong_t p;

        if (!(sel & 1))
            continue;
        p = guest_evtchn_take_word(shinfo, w);
        if (timer_port && w == timer_port / 64 && (p & (1UL << (timer_port % 64)))) {
            last_upcall_ns = pvclock_now();
            nr_timer_upcalls++;
        }
    }
}

static long evtchn_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static long vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
    return hypercall_vcpu_op(cmd, vcpu, arg);
}

static long set_singleshot(uint64_t abs_ns, uint32_t flags)
{
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = abs_ns, .flags = flags };

    return vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
}

static long set_periodic(unsigned int vcpu, uint64_t period)
{
    struct vcpu_set_periodic_timer p = { .period_ns = period };

    return vcpu_op(VCPUOP_set_periodic_timer, vcpu, &p);
}

/* Unmask events as Linux xen_irq_enable() does: an upcall that became
 * pending while masked is only delivered on the next entry to the
 * hypervisor, so force one (xen_force_evtchn_callback: any hypercall). */
static void events_on(void)
{
    __atomic_store_n(&shinfo->vcpu_info[0].evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&shinfo->vcpu_info[0].evtchn_upcall_pending, __ATOMIC_SEQ_CST))
        hypercall_xen_version(XENVER_version, NULL);
}
static void events_off(void) { shinfo->vcpu_info[0].evtchn_upcall_mask = 1; }

/* Spin (events on) until the timer upcall count passes 'count' or the
 * pvclock reaches 'until'; returns the count then. Without hypercalls,
 * only a timer interrupt can bring the event; with them, the hypervisor
 * looks at the timers on every return, so one fired early shows. */
static unsigned int spin_until_hc(unsigned int count, uint64_t until, bool hypercalls)
{
    events_on();
    while (nr_timer_upcalls <= count && pvclock_now() < until) {
        if (hypercalls)
            hypercall_xen_version(XENVER_version, NULL);
        else
            asm volatile ("pause");
    }
    events_off();
    return nr_timer_upcalls;
}

static unsigned int spin_until(unsigned int count, uint64_t until)
{
    return spin_until_hc(count, until, false);
}

static void map_shared_info(void)
{
    /* Only the timer port raises upcalls: everything masked, stale
     * state dropped (see pvevents for why it can be there). */
    shinfo = guest_map_shared_info();
    shinfo->vcpu_info[0].evtchn_upcall_pending = 0;
    __atomic_store_n(&shinfo->vcpu_info[0].evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    for (unsigned int w = 0; w < ARRAY_SIZE(shinfo->evtchn_pending); w++)
        __atomic_store_n(&shinfo->evtchn_pending[w], 0, __ATOMIC_SEQ_CST);
}

static void test_time_info(void)
{
    struct pvclock_snap s;
    uint64_t hz;

    pvclock_snapshot(&s);
    printk("vcpu_time_info: version %u tsc_timestamp %#lx system_time %lu mul %#x "
           "shift %d flags %#x\n", s.version, (unsigned long)s.tsc_timestamp,
           (unsigned long)s.system_time, s.mul, s.shift, s.flags);
    check(s.mul != 0, "tsc_to_system_mul is 0: the pvclock was never published");
    check(s.shift >= -32 && s.shift <= 32, "tsc_shift %d", s.shift);
    /* Frequency = ((10^9 << 32) / mul) >> shift (xen.h). */
    if (s.mul) {
        hz = (NS_PER_S << 32) / s.mul;
        hz = s.shift < 0 ? hz << -s.shift : hz >> s.shift;
        printk("pvclock: TSC frequency %lu kHz\n", (unsigned long)(hz / 1000));
        check(hz >= 100000000ULL && hz <= 20000000000ULL,
              "implausible TSC frequency %lu Hz", (unsigned long)hz);
    }
    /* Bits Xen defines: TSC_STABLE (1), GUEST_STOPPED (2). */
    check(!(s.flags & ~3), "unknown vcpu_time_info flags %#x", s.flags);
}

static void test_monotonic(void)
{
    uint64_t prev = pvclock_now(), first = prev, now;
    unsigned int backwards = 0;

    for (unsigned int i = 0; i < 20000; i++) {
        now = pvclock_now();
        if (now < prev && !backwards++)
            printk("pvclock went back: %lu after %lu (read %u)\n",
                   (unsigned long)now, (unsigned long)prev, i);
        prev = now;
        if (i % 1000 == 0)      /* a busy loop between some reads */
            for (volatile unsigned int j = 0; j < 20000; j++)
                ;
    }
    check(backwards == 0, "pvclock went backwards %u times", backwards);
    check(prev > first, "pvclock did not advance over 20000 reads (%lu)",
          (unsigned long)prev);
    /* The hypercall path (which may refresh the record) keeps it monotonic. */
    for (unsigned int i = 0; i < 200; i++) {
        now = pvclock_now();
        hypercall_xen_version(XENVER_version, NULL);
        check(pvclock_now() >= now, "pvclock went back across a hypercall");
    }
}

static void test_rate(void)
{
    struct pvclock_snap a, b;
    uint64_t t0 = pvclock_now(), tsc0 = guest_rdtsc(), t1, tsc1, scaled;
    int64_t diff;

    pvclock_snapshot(&a);
    /* About 1.2 s: long enough that Xen refreshes the record once. */
    while (pvclock_now() - t0 < 1200 * NS_PER_MS)
        hypercall_xen_version(XENVER_version, NULL);
    t1 = pvclock_now();
    tsc1 = guest_rdtsc();
    pvclock_snapshot(&b);
    /* The pvclock advances at the rate the record's scale gives the TSC. */
    scaled = scale_delta(tsc1 - tsc0, b.mul, b.shift);
    diff = (int64_t)(t1 - t0) - (int64_t)scaled;
    printk("rate: pvclock %lu ns, TSC %lu ticks = %lu ns scaled\n",
           (unsigned long)(t1 - t0), (unsigned long)(tsc1 - tsc0), (unsigned long)scaled);
    check(diff < (int64_t)(scaled / 50) && -diff < (int64_t)(scaled / 50),
          "pvclock advanced %lu ns while the TSC advanced %lu ns (scaled)",
          (unsigned long)(t1 - t0), (unsigned long)scaled);
    /* A refreshed record must agree with the old one's scale (within 2%). */
    if (b.tsc_timestamp != a.tsc_timestamp) {
        uint64_t ds = b.system_time - a.system_time;
        uint64_t dt = scale_delta(b.tsc_timestamp - a.tsc_timestamp, a.mul, a.shift);

        printk("rate: record refreshed: system_time +%lu ns, TSC +%lu ns scaled\n",
               (unsigned long)ds, (unsigned long)dt);
        check(ds + dt / 50 >= dt && ds <= dt + dt / 50,
              "record refresh: system_time +%lu ns but TSC +%lu ns",
              (unsigned long)ds, (unsigned long)dt);
    }
}

static void test_wallclock(void)
{
    volatile struct shared_info *s = shinfo;
    uint32_t ver, nsec;
    uint64_t sec, now;
    unsigned int tries = 0;

    do {
        ver = s->wc_version;
        asm volatile ("" ::: "memory");
        sec = s->wc_sec | ((uint64_t)s->wc_sec_hi << 32);
        nsec = s->wc_nsec;
        asm volatile ("" ::: "memory");
        if (++tries > 10000000)
            test_fatal("wc_version stuck at %u", ver);
    } while ((ver & 1) || ver != s->wc_version);
    /* wc_* is the wall time at system time 0. */
    now = sec + (nsec + pvclock_now()) / NS_PER_S;
    printk("wallclock: wc_version %u wc_sec %lu wc_nsec %u -> now %lu s since 1970\n",
           ver, (unsigned long)sec, nsec, (unsigned long)now);
    check(nsec < NS_PER_S, "wc_nsec %u out of range", nsec);
    check(now >= 1704067200ULL, "wallclock %lu is before 2024", (unsigned long)now);
    check(now < 4102444800ULL, "wallclock %lu is after 2100", (unsigned long)now);
}

static void bind_timer(void)
{
    struct evtchn_bind_virq b = { .virq = VIRQ_TIMER, .vcpu = 0 };
    struct evtchn_unmask u;
    long rc;

    rc = evtchn_op(EVTCHNOP_bind_virq, &b);
    if (rc)
        test_fatal("bind_virq(TIMER) = %ld", rc);
    timer_port = b.port;
    u.port = b.port;
    rc = evtchn_op(EVTCHNOP_unmask, &u);
    if (rc)
        test_fatal("unmask(timer port) = %ld", rc);
}

static void test_singleshot(void)
{
    unsigned int n = nr_timer_upcalls;
    uint64_t now = pvclock_now(), deadline = now + 200 * NS_PER_MS;
    long rc;

    rc = set_singleshot(deadline, 0);
    check(rc == 0, "set_singleshot_timer(+200ms) = %ld", rc);
    n = spin_until(n, now + 30 * NS_PER_S);
    if (check(n == nr_timer_upcalls && n > 0 && last_upcall_ns, "singleshot timer never fired")) {
        printk("singleshot: fired %ld us after its deadline\n",
               (long)((int64_t)(last_upcall_ns - deadline) / 1000));
        /* Never early (Xen fires at or after expiry; 1 ms for skew). */
        check(last_upcall_ns + NS_PER_MS >= deadline,
              "singleshot fired %lu us early", (unsigned long)((deadline - last_upcall_ns) / 1000));
    }
    /* Again, entering the hypervisor all the time: still not early. */
    n = nr_timer_upcalls;
    now = pvclock_now();
    deadline = now + 200 * NS_PER_MS;
    rc = set_singleshot(deadline, 0);
    check(rc == 0, "set_singleshot_timer(+200ms) = %ld", rc);
    if (check(spin_until_hc(n, now + 30 * NS_PER_S, true) > n,
              "singleshot timer never fired (hypercall loop)"))
        check(last_upcall_ns + NS_PER_MS >= deadline,
              "singleshot fired %lu us early (hypercall loop)",
              (unsigned long)((deadline - last_upcall_ns) / 1000));

    /* One-shot: nothing more within 300 ms. */
    n = nr_timer_upcalls;
    check(spin_until(n, pvclock_now() + 300 * NS_PER_MS) == n,
          "singleshot timer fired again");

    /*
     * A deadline in the past fires at once. Xen 4.17 ignores
     * VCPU_SSHOTTMR_future (commit 19c6cbd90965, "xen/vcpu: ignore
     * VCPU_SSHOTTMR_future"; public/vcpu.h: "can be ignored by the
     * hypervisor"): 0 and an immediate event, not -ETIME.
     */
    n = nr_timer_upcalls;
    rc = set_singleshot(pvclock_now() - NS_PER_MS, VCPU_SSHOTTMR_future);
    check(rc == 0, "set_singleshot_timer(past, future flag) = %ld, Xen 4.17 ignores the flag", rc);
    check(spin_until(n, pvclock_now() + 5 * NS_PER_S) > n,
          "past singleshot deadline did not fire");

    /* Stopped before it expires: no event. */
    n = nr_timer_upcalls;
    rc = set_singleshot(pvclock_now() + 100 * NS_PER_MS, 0);
    check(rc == 0, "set_singleshot_timer = %ld", rc);
    rc = vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL);
    check(rc == 0, "stop_singleshot_timer = %ld", rc);
    check(spin_until(n, pvclock_now() + 400 * NS_PER_MS) == n,
          "stopped singleshot timer fired");
}

static void test_set_timer_op(void)
{
    unsigned int n = nr_timer_upcalls;
    uint64_t t0, deadline;
    long rc;

    deadline = pvclock_now() + 100 * NS_PER_MS;
    rc = hypercall1(__HYPERVISOR_set_timer_op, deadline);
    check(rc == 0, "set_timer_op(+100ms) = %ld", rc);
    if (check(spin_until(n, pvclock_now() + 30 * NS_PER_S) > n, "set_timer_op timer never fired"))
        check(last_upcall_ns + NS_PER_MS >= deadline, "set_timer_op fired %lu us early",
              (unsigned long)((deadline - last_upcall_ns) / 1000));

    /* set_timer_op(0) cancels. */
    n = nr_timer_upcalls;
    rc = hypercall1(__HYPERVISOR_set_timer_op, pvclock_now() + 100 * NS_PER_MS);
    check(rc == 0, "set_timer_op = %ld", rc);
    rc = hypercall1(__HYPERVISOR_set_timer_op, 0);
    check(rc == 0, "set_timer_op(0) = %ld", rc);
    check(spin_until(n, pvclock_now() + 400 * NS_PER_MS) == n, "set_timer_op(0) did not cancel");

    /* A past deadline fires at once (1 ns: long past). */
    n = nr_timer_upcalls;
    rc = hypercall1(__HYPERVISOR_set_timer_op, 1);
    check(rc == 0, "set_timer_op(1) = %ld", rc);
    check(spin_until(n, pvclock_now() + 5 * NS_PER_S) > n, "past set_timer_op did not fire");

    /*
     * Absurd deadlines - negative, or more than 2^50 ns ahead - fire after
     * 100 ms (Xen's "Linux workaround" in do_set_timer_op).
     */
    for (unsigned int i = 0; i < 2; i++) {
        uint64_t bad = i ? pvclock_now() + (1ULL << 51) : ~0ULL;

        n = nr_timer_upcalls;
        t0 = pvclock_now();
        rc = hypercall1(__HYPERVISOR_set_timer_op, bad);
        check(rc == 0, "set_timer_op(%#lx) = %ld", (unsigned long)bad, rc);
        if (check(spin_until(n, t0 + 30 * NS_PER_S) > n,
                  "set_timer_op(%#lx) never fired (Xen: after 100 ms)", (unsigned long)bad))
            check(last_upcall_ns - t0 >= 90 * NS_PER_MS,
                  "set_timer_op(%#lx) fired after %lu us, Xen waits 100 ms",
                  (unsigned long)bad, (unsigned long)((last_upcall_ns - t0) / 1000));
    }
}

static void test_periodic(void)
{
    unsigned int n, got;
    uint64_t t0;
    long rc;

    rc = set_periodic(0, 10 * NS_PER_MS);
    check(rc == 0, "set_periodic_timer(10ms) = %ld", rc);
    n = nr_timer_upcalls;
    t0 = pvclock_now();
    events_on();
    while (pvclock_now() - t0 < 300 * NS_PER_MS)
        asm volatile ("pause");
    events_off();
    got = nr_timer_upcalls - n;
    printk("periodic: %u upcalls in 300 ms at 10 ms\n", got);
    check(got >= 3, "periodic timer: only %u upcalls in 300 ms", got);
    check(got <= 35, "periodic timer: %u upcalls in 300 ms at a 10 ms period", got);
    rc = vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    check(rc == 0, "stop_periodic_timer = %ld", rc);
    n = nr_timer_upcalls;
    check(spin_until(n + 1, pvclock_now() + 300 * NS_PER_MS) <= n + 1,
          "periodic timer still running after stop");
}

static void test_block(void)
{
    unsigned int n = nr_timer_upcalls;
    uint64_t deadline = pvclock_now() + 100 * NS_PER_MS, woke;
    long rc;

    rc = set_singleshot(deadline, 0);
    check(rc == 0, "set_singleshot_timer = %ld", rc);
    /* SCHEDOP_block enables events and sleeps until one arrives. */
    rc = hypercall_sched_op(SCHEDOP_block, NULL);
    woke = pvclock_now();
    events_off();
    check(rc == 0, "SCHEDOP_block = %ld", rc);
    check(nr_timer_upcalls > n, "SCHEDOP_block returned without the timer event");
    check(woke + NS_PER_MS >= deadline,
          "SCHEDOP_block returned %lu us before the timer deadline",
          (unsigned long)((deadline - woke) / 1000));
}

static void test_bad_args(void)
{
    long rc;

    /* Xen: period below 1 ms, or above STIME_DELTA_MAX, is -EINVAL. */
    rc = set_periodic(0, 0);
    check(rc == -XEN_EINVAL, "set_periodic_timer(0) = %ld, want -EINVAL", rc);
    rc = set_periodic(0, NS_PER_MS - 1);
    check(rc == -XEN_EINVAL, "set_periodic_timer(1ms-1) = %ld, want -EINVAL", rc);
    rc = set_periodic(0, 1ULL << 62);
    check(rc == -XEN_EINVAL, "set_periodic_timer(2^62) = %ld, want -EINVAL", rc);
    rc = vcpu_op(VCPUOP_set_periodic_timer, 0, (void *)0xffff800000000000UL);
    check(rc == -XEN_EFAULT, "set_periodic_timer(hypervisor pointer) = %ld, want -EFAULT", rc);
    rc = vcpu_op(VCPUOP_set_singleshot_timer, 0, (void *)0xffff800000000000UL);
    check(rc == -XEN_EFAULT, "set_singleshot_timer(hypervisor pointer) = %ld, want -EFAULT", rc);
    rc = vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    check(rc == 0, "stop_periodic_timer = %ld", rc);
    /* No such vCPU. */
    rc = set_periodic(4096, 10 * NS_PER_MS);
    check(rc == -XEN_ENOENT, "set_periodic_timer(vcpu 4096) = %ld, want -ENOENT", rc);
    /* Singleshot timers are per-vCPU and only for the caller itself. */
    if (vcpu_op(VCPUOP_is_up, 1, NULL) >= 0) {
        struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = 1 };

        rc = vcpu_op(VCPUOP_set_singleshot_timer, 1, &t);
        check(rc == -XEN_EINVAL, "set_singleshot_timer(other vCPU) = %ld, want -EINVAL", rc);
        rc = vcpu_op(VCPUOP_stop_singleshot_timer, 1, NULL);
        check(rc == -XEN_EINVAL, "stop_singleshot_timer(other vCPU) = %ld, want -EINVAL", rc);
    }
}

/*
 * VCPUOP_register_vcpu_time_memory_area (Xen arch_do_vcpu_op; Linux's
 * vDSO pvclock page): a copy of vCPU 0's vcpu_time_info at a guest
 * address, written at once with an even version; a hypervisor address
 * -EFAULT; NULL unregisters. VCPUOP_get_physid is for a hardware
 * domain's pinned vCPUs only: -EINVAL here.
 */
static void test_secondary_time(void)
{
    static struct vcpu_time_info area;
    struct vcpu_register_time_memory_area a = { .addr.v = &area };
    volatile struct vcpu_time_info *t = &shinfo->vcpu_info[0].time;
    struct vcpu_get_physid id;
    long rc;

    memset(&area, 0, sizeof(area));
    rc = vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &a);
    check(rc == 0, "register_vcpu_time_memory_area = %ld", rc);
    check(area.version && !(area.version & 1), "time area version %u", area.version);
    check(area.tsc_to_system_mul == t->tsc_to_system_mul && area.tsc_shift == t->tsc_shift &&
          area.system_time == t->system_time && area.tsc_timestamp == t->tsc_timestamp,
          "time area: mul %u shift %d stime %lu tsc %lu; vcpu_info: %u %d %lu %lu",
          area.tsc_to_system_mul, area.tsc_shift, (unsigned long)area.system_time,
          (unsigned long)area.tsc_timestamp, t->tsc_to_system_mul, t->tsc_shift,
          (unsigned long)t->system_time, (unsigned long)t->tsc_timestamp);
    a.addr.p = 0xffff830000001000UL;
    rc = vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &a);
    check(rc == -XEN_EFAULT, "time area in the hypervisor = %ld, want -EFAULT", rc);
    a.addr.p = 0;
    rc = vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &a);
    check(rc == 0, "time area NULL (unregister) = %ld", rc);
    rc = vcpu_op(VCPUOP_get_physid, 0, &id);
    check(rc == -XEN_EINVAL, "VCPUOP_get_physid = %ld, want -EINVAL", rc);
    printk("vcpu time area: version %u, get_physid %ld\n", area.version, rc);
}

void test_main(void)
{
    long rc;

    guest_event_hook = pvt_event;
    rc = hypercall3(__HYPERVISOR_set_callbacks, guest_event_callback, 0, 0);
    check(rc == 0, "set_callbacks = %ld", rc);
    map_shared_info();
    /* PV vCPUs start with a 100 Hz periodic timer (Xen pv_vcpu_initialise). */
    rc = vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    check(rc == 0, "stop_periodic_timer = %ld", rc);

    test_time_info();
    test_secondary_time();
    test_monotonic();
    test_rate();
    test_wallclock();
    bind_timer();
    test_bad_args();
    test_singleshot();
    test_set_timer_op();
    test_periodic();
    test_block();
}
