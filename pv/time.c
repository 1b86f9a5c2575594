/*
 * Guest time: Xen system time, vcpu_time_info and the wallclock in
 * shared_info, and the per-vCPU timers (set_timer_op, VCPUOP singleshot
 * and periodic) that raise VIRQ_TIMER. Contract with the event code:
 * include/minishim/pv_time.h. Facts from Xen 4.17:
 *   xen/arch/x86/time.c       __update_vcpu_system_time, update_domain_wallclock_time
 *   xen/common/sched/core.c   do_set_timer_op, vcpu_periodic_timer_work_locked
 *   xen/common/domain.c       VCPUOP_{set,stop}_{singleshot,periodic}_timer
 *   xen/arch/x86/pv/domain.c  pv_vcpu_initialise: a 100 Hz periodic timer
 */
#include <minishim/arch.h>
#include <minishim/ipi.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_time.h>
#include <minishim/timer.h>
#include <minishim/pv_evtchn.h>
#include <xen/vcpu.h>

/* "PV guests by default have a 100Hz ticker" (pv_vcpu_initialise). */
#define PERIODIC_DEFAULT_NS (10 * NS_PER_MS)
/* VCPUOP_set_periodic_timer bounds: MILLISECS(1) and STIME_DELTA_MAX. */
#define PERIODIC_MIN_NS     NS_PER_MS
#define STIME_DELTA_MAX     (~0ULL >> 2)
/* do_set_timer_op: deadlines beyond 2^50 ns, or negative, fire in 100 ms. */
#define HUGE_TIMEOUT_SHIFT  50
#define HUGE_TIMEOUT_NS     (100 * NS_PER_MS)

uint64_t pv_now_ns(void)
{
    return clock_now_ns();
}

/* Xen version_update_begin/_end: odd while the record changes. */
static inline uint32_t version_update_begin(uint32_t v) { return (v + 1) | 1; }
static inline uint32_t version_update_end(uint32_t v)   { return v + 1; }

/*
 * Xen update_secondary_system_time: the copy at the guest address
 * VCPUOP_register_vcpu_time_memory_area named (Linux's vDSO pvclock page),
 * written with the same odd/even version protocol, through v's own
 * address space (v is current: its own CPU runs this), faults ignored.
 */
static void update_secondary_time(struct vcpu *v, volatile struct vcpu_time_info *u)
{
    struct vcpu_time_info t;
    uint64_t va = v->time_info_guest;
    uint32_t ver;

    if (!va || v != pv_current())
        return;
    t = *u;
    if (copy_from_guest(&ver, va + offsetof(struct vcpu_time_info, version), sizeof(ver)))
        return;
    ver = version_update_begin(ver);
    if (copy_to_guest(va + offsetof(struct vcpu_time_info, version), &ver, sizeof(ver)))
        return;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    t.version = ver;
    if (copy_to_guest(va, &t, sizeof(t)))
        return;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    ver = version_update_end(ver);
    copy_to_guest(va + offsetof(struct vcpu_time_info, version), &ver, sizeof(ver));
}

/*
 * Xen __update_vcpu_system_time: publish the record, only when it changed
 * unless forced. Every vCPU gets the same record (one TSC stamp and scale
 * for the whole shim, see timer.h), so a guest reading vCPU A's clock and
 * then vCPU B's never sees time go back. flags: 0, as Xen's pv-shim sets
 * them (XEN_PVCLOCK_TSC_STABLE_BIT only with clocksource=tsc).
 */
static void update_vcpu_time(struct vcpu *v, bool force)
{
    volatile struct vcpu_time_info *u;
    struct time_scale ts;
    uint64_t tsc, stime;

    if (!v->vcpu_info)
        return;
    u = &v->vcpu_info->time;
    clock_stamp(&tsc, &stime, &ts);
    if (!force && !(u->version & 1) && u->tsc_timestamp == tsc && u->system_time == stime &&
        u->tsc_to_system_mul == ts.mul_frac && u->tsc_shift == ts.shift && u->flags == 0)
        return;
    u->version = version_update_begin(u->version);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    u->tsc_timestamp = tsc;
    u->system_time = stime;
    u->tsc_to_system_mul = ts.mul_frac;
    u->tsc_shift = ts.shift;
    u->flags = 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    u->version = version_update_end(u->version);
    update_secondary_time(v, u);
}

/* Xen update_domain_wallclock_time. */
static void update_wallclock(void)
{
    volatile struct shared_info *s = pv_dom.shared_info;
    uint64_t sec = 0;
    uint32_t nsec = 0;

    if (!s)
        return;
    clock_wallclock(&sec, &nsec);
    s->wc_version = version_update_begin(s->wc_version);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->wc_sec = (uint32_t)sec;
    s->wc_nsec = nsec;
    s->wc_sec_hi = (uint32_t)(sec >> 32);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->wc_version = version_update_end(s->wc_version);
}

static void send_timer_event(struct vcpu *v)
{
    pv_send_vcpu_virq(v, VIRQ_TIMER);
}

void pv_time_init(void)
{
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++) {
        pv_dom.vcpus[i].periodic_period = PERIODIC_DEFAULT_NS;
        pv_dom.vcpus[i].periodic_last_event = 0;
        update_vcpu_time(&pv_dom.vcpus[i], true);
    }
    update_wallclock();
}

void pv_time_vcpu_start(struct vcpu *v)
{
    update_vcpu_time(v, true);
    pv_time_check(v);
}

/* After a restore into a new L0 domain: the wall clock from L0 again,
 * published in shared_info (update_domain_wallclock_time). */
void pv_time_resume_wallclock(void)
{
    clock_wallclock_resync();
    update_wallclock();
}

void pv_time_after_resume(struct vcpu *v)
{
    v->timer_set = false;
    v->timer_deadline = 0;
    v->periodic_period = PERIODIC_DEFAULT_NS;
    v->periodic_last_event = pv_now_ns();
    update_vcpu_time(v, true);
    pv_time_reprogram(v);
}

/* The earlier of two deadlines, 0 meaning none. */
static uint64_t sooner(uint64_t d, uint64_t t)
{
    return t && (!d || t < d) ? t : d;
}

uint64_t pv_time_next_deadline(const struct vcpu *v)
{
    uint64_t d = 0;

    if (v->timer_set)
        d = v->timer_deadline ? v->timer_deadline : 1;
    if (v->periodic_period) {
        uint64_t n = v->periodic_last_event + v->periodic_period;

        d = sooner(d, n ? n : 1);
    }
    d = sooner(d, __atomic_load_n(&v->poll_deadline, __ATOMIC_RELAXED));
    /* The domain's watchdogs wake every vCPU's CPU (pv/watchdog.c). */
    return sooner(d, pv_watchdog_next_deadline());
}

static void time_arm(struct vcpu *v)
{
    if (this_cpu()->vcpu == v) {
        timer_arm(pv_time_next_deadline(v));
        return;
    }
    /* Another vCPU's timers changed (VCPUOP_set_periodic_timer may name
     * any vCPU): its CPU re-arms in pv_time_check on the kick. */
    if (v->started && v->id < NR_CPUS)
        ipi_event_check(v->id);
}

/* v's timers changed (any vCPU may change them: VCPUOP_set_periodic_timer
 * names one): the next pv_time_check on v's CPU does the full check. */
void pv_time_reprogram(struct vcpu *v)
{
    __atomic_fetch_add(&v->timer_gen, 1, __ATOMIC_SEQ_CST);
    time_arm(v);
}

/*
 * Run on every exit to the guest. Reading the clock is an L0 round trip
 * where L0 traps RDTSC (tens of µs on a nested bed: as much as an L0
 * flush hypercall), so it is skipped when nothing can be due: v's timers
 * did not change since the last full check, and this CPU's timer still
 * holds v's next deadline, so its interrupt has not come yet (the
 * interrupt clears what timer_armed() returns) and will make the next
 * exit do the full check. A deadline that passed while interrupts were
 * off here raises that interrupt as soon as the guest runs.
 */
void pv_time_check(struct vcpu *v)
{
    uint64_t gen = __atomic_load_n(&v->timer_gen, __ATOMIC_SEQ_CST);
    uint64_t next, now;

    /* The guest can scribble over its vcpu_info: put the record back
     * (forced once after another vCPU registered v's time area). */
    update_vcpu_time(v, __atomic_exchange_n(&v->time_info_pending, false,
                                            __ATOMIC_SEQ_CST));
    if (gen == v->timer_checked_gen && this_cpu()->vcpu == v) {
        next = pv_time_next_deadline(v);
        if (next && next == timer_armed())
            return;
    }
    now = pv_now_ns();
    pv_watchdog_check(now);
    if (v->timer_set && now >= v->timer_deadline) {
        v->timer_set = false;
        send_timer_event(v);
    }
    /* Xen vcpu_periodic_timer_work_locked. */
    if (v->periodic_period && now >= v->periodic_last_event + v->periodic_period) {
        send_timer_event(v);
        v->periodic_last_event = now;
    }
    time_arm(v);
    v->timer_checked_gen = gen;
}

long do_set_timer_op(uint64_t timeout)
{
    struct vcpu *v = pv_current();
    uint64_t now = pv_now_ns();
    int64_t offset = (int64_t)(timeout - now);

    if (timeout == 0) {
        v->timer_set = false;
    } else if ((int64_t)timeout < 0 ||
               (offset > 0 && (uint32_t)(offset >> HUGE_TIMEOUT_SHIFT) != 0)) {
        /* Xen's "Linux workaround": a wrapped or absurdly far deadline
         * (old Linux jiffy wrap, or no timer pending) fires in 100 ms. */
        v->timer_deadline = now + HUGE_TIMEOUT_NS;
        v->timer_set = true;
    } else {
        /* A past deadline fires at once: pv_time_check on the way out. */
        v->timer_deadline = timeout;
        v->timer_set = true;
    }
    pv_time_reprogram(v);
    return 0;
}

long pv_vcpu_timer_op(int cmd, struct vcpu *v, uint64_t arg)
{
    switch (cmd) {
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer t;

        if (v != pv_current())
            return -XEN_EINVAL;
        if (copy_from_guest(&t, arg, sizeof(t)))
            return -XEN_EFAULT;
        /*
         * Xen 4.17 ignores VCPU_SSHOTTMR_future (commit 19c6cbd90965
         * "xen/vcpu: ignore VCPU_SSHOTTMR_future"; public/vcpu.h: "can be
         * ignored by the hypervisor"): a past deadline stops the timer and
         * sends the event at once, flag or not.
         */
        if (t.timeout_abs_ns < pv_now_ns()) {
            v->timer_set = false;
            send_timer_event(v);
        } else {
            v->timer_deadline = t.timeout_abs_ns;
            v->timer_set = true;
        }
        pv_time_reprogram(v);
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        if (v != pv_current())
            return -XEN_EINVAL;
        v->timer_set = false;
        pv_time_reprogram(v);
        return 0;
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer p;
        uint64_t now;

        if (copy_from_guest(&p, arg, sizeof(p)))
            return -XEN_EFAULT;
        if (p.period_ns < PERIODIC_MIN_NS || p.period_ns > STIME_DELTA_MAX)
            return -XEN_EINVAL;
        /* Xen vcpu_set_periodic_timer: an event at once if a period has
         * passed since the last one, then every period from now. */
        now = pv_now_ns();
        v->periodic_period = p.period_ns;
        if (now >= v->periodic_last_event + p.period_ns) {
            send_timer_event(v);
            v->periodic_last_event = now;
        }
        pv_time_reprogram(v);
        return 0;
    }
    case VCPUOP_stop_periodic_timer:
        v->periodic_period = 0;
        pv_time_reprogram(v);
        return 0;
    case VCPUOP_register_vcpu_time_memory_area: {
        struct vcpu_register_time_memory_area a;

        /* Xen arch_do_vcpu_op: the address must be a guest range (NULL
         * is, and stops the copies); then a forced update writes it. */
        if (copy_from_guest(&a, arg, sizeof(a)))
            return -XEN_EFAULT;
        if (!guest_access_ok(a.addr.p, sizeof(struct vcpu_time_info)))
            return -XEN_EFAULT;
        v->time_info_guest = a.addr.p;
        if (v == pv_current()) {
            update_vcpu_time(v, true);
        } else {
            /* Its address space is its own: written on its own CPU. */
            __atomic_store_n(&v->time_info_pending, true, __ATOMIC_SEQ_CST);
            if (v->started && v->id < NR_CPUS)
                ipi_event_check(v->id);
        }
        return 0;
    }
    default:
        return -XEN_ENOSYS;
    }
}
