/* Guest time (pv/time.c, shim/timer.c): Xen's TSC scale maths against
 * worked values, vcpu_time_info/wallclock publication, the timer
 * hypercalls' errnos and deadline rules (Xen 4.17 xen/common/domain.c,
 * xen/common/sched/core.c) and what the per-CPU timer is armed for. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/apic.h>
#include <minishim/l0.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_vcpu.h>
#include <minishim/pv_time.h>
#include <minishim/timer.h>
#include <minishim/percpu.h>
#include <minishim/trap.h>
#include <minishim/xen-public.h>
#include <minishim/pv_evtchn.h>
#include <xen/event_channel.h>
#include <xen/vcpu.h>
#include "fake/fake.h"
#include "pv_env.h"

#define HV_PTR 0xffff830000001000ULL
#define MSR_TSC_DEADLINE 0x6e0

static struct shared_info shinfo;
static evtchn_port_t timer_port;

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

/* A 1 GHz TSC (CPUID 15h: crystal 1 GHz, ratio 1/1): 1 tick = 1 ns. */
static void clock_1ghz(void)
{
    fake_set_cpuid(0, 0x15, 0, 0, 0);
    fake_set_cpuid(0x15, 1, 1, 1000000000u, 0);
    fake_port_in[0x71] = 0;     /* a CMOS that reads 0: no valid date */
    clock_init();
}

static void setup(void)
{
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };

    pv_env_reset(&shinfo, 2);
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
    pv_evtchn_reset();
    clock_1ghz();
    fake_tsc_step = 0;          /* time moves only when a test says so */
    pv_time_init();
    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&bv)), 0);
    timer_port = bv.port;
    shinfo.evtchn_pending[0] = 0;
}

TestSuite(pv_time, .init = setup);

static void advance_ns(uint64_t ns) { fake_tsc += ns; }   /* 1 GHz */

static bool timer_pending(void)
{
    return shinfo.evtchn_pending[timer_port / 64] & (1UL << (timer_port % 64));
}

static void clear_timer(void)
{
    shinfo.evtchn_pending[timer_port / 64] &= ~(1UL << (timer_port % 64));
}

static struct vcpu *v0(void) { return &pv_dom.vcpus[0]; }

/* ------------------------------------------------------ scale maths --- */

Test(pv_time, scale_worked_values)
{
    /* Xen set_time_scale(), worked by hand: (10^9 << 32) / (f normalised
     * into (10^9, 2*10^9]) with the power of two in shift. */
    static const struct { uint64_t hz; uint32_t mul; int8_t shift; } w[] = {
        { 1000000000ULL, 0x80000000u, 1 },
        { 3000000000ULL, 0xaaaaaaaau, -1 },
        { 100000000ULL,  0xa0000000u, 4 },
        { 2096032000ULL, 0xf445657cu, -1 },
        { 2500000000ULL, 0xccccccccu, -1 },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(w); i++) {
        struct time_scale ts;

        time_scale_set(&ts, w[i].hz);
        cr_expect_eq(ts.mul_frac, w[i].mul, "%lu Hz: mul %#x, want %#x",
                     (unsigned long)w[i].hz, ts.mul_frac, w[i].mul);
        cr_expect_eq(ts.shift, w[i].shift, "%lu Hz: shift %d", (unsigned long)w[i].hz, ts.shift);
        /* One second of ticks is one second, to within a few ns. */
        uint64_t ns = time_scale_delta(w[i].hz, &ts);
        cr_expect(ns <= NS_PER_S && ns + 16 >= NS_PER_S, "%lu Hz: 1 s = %lu ns",
                  (unsigned long)w[i].hz, (unsigned long)ns);
    }
}

/* A rate of 0 used to spin forever normalising (timeout: a hang fails). */
Test(pv_time, scale_of_zero_rate_is_zero, .timeout = 5)
{
    struct time_scale ts = { 0x12345678u, 3 };

    time_scale_set(&ts, 0);
    cr_expect_eq(ts.mul_frac, 0);
    cr_expect_eq(ts.shift, 0);
    cr_expect_eq(time_scale_delta(123456789ULL, &ts), 0);
    /* The smallest non-zero rate still gets a proper scale: 1 Hz. */
    time_scale_set(&ts, 1);
    cr_expect_eq(time_scale_delta(1, &ts), NS_PER_S);
}

Test(pv_time, scale_delta_large)
{
    struct time_scale ts;

    /* A day of a 3 GHz TSC: no 64-bit overflow in the product. */
    time_scale_set(&ts, 3000000000ULL);
    /* mul_frac truncates (0xaaaaaaaa for 2/3): a day reads ~20 us short. */
    uint64_t ns = time_scale_delta(3000000000ULL * 86400, &ts);
    cr_expect(ns <= 86400 * NS_PER_S && ns >= 86400 * NS_PER_S - 100000,
              "a day of 3 GHz ticks = %lu ns", (unsigned long)ns);
}

Test(pv_time, mktime_worked_values)
{
    cr_expect_eq(clock_mktime(1970, 1, 1, 0, 0, 0), 0);
    cr_expect_eq(clock_mktime(2000, 3, 1, 0, 0, 0), 951868800ULL);
    cr_expect_eq(clock_mktime(2024, 2, 29, 12, 34, 56), 1709210096ULL);
    cr_expect_eq(clock_mktime(2038, 1, 19, 3, 14, 8), 2147483648ULL);
    cr_expect_eq(clock_mktime(2100, 12, 31, 23, 59, 59), 4133980799ULL);
}

Test(pv_time, calibration_sources)
{
    cr_expect_eq(clock_tsc_khz(), 1000000);
    cr_expect_str_eq(clock_source(), "cpuid-15h");
    /* Xen L0's time leaf wins over CPUID 15h. */
    fake_set_cpuid_sig(0x40000000, 0x40000005, "XenVMMXenVMM");
    fake_set_cpuid(0x40000003, 0, 0, 2096032, 0);
    l0_setup(L0_FLUSH_USE_AUTO);
    clock_init();
    cr_expect_eq(clock_tsc_khz(), 2096032);
    cr_expect_str_eq(clock_source(), "xen-cpuid");
}

/* ----------------------------------------------- published records --- */

Test(pv_time, vcpu_time_info_published)
{
    struct vcpu_time_info *t = &shinfo.vcpu_info[1].time;
    uint64_t tsc, stime;
    struct time_scale ts;
    uint32_t ver;

    clock_stamp(&tsc, &stime, &ts);
    cr_expect_eq(t->version % 2, 0, "version odd after update");
    cr_expect_neq(t->version, 0);
    cr_expect_eq(t->tsc_to_system_mul, 0x80000000u);
    cr_expect_eq(t->tsc_shift, 1);
    cr_expect_eq(t->tsc_timestamp, tsc);
    cr_expect_eq(t->system_time, stime);
    cr_expect_eq(t->flags, 0, "Xen's pv-shim sets no pvclock flags");
    /* Same record on every vCPU: cross-vCPU reads stay monotonic. */
    cr_expect_eq(memcmp(&shinfo.vcpu_info[0].time.tsc_timestamp, &t->tsc_timestamp,
                        sizeof(*t) - 8), 0);
    /* Nothing changed: no version bump on the way out. */
    ver = shinfo.vcpu_info[0].time.version;
    pv_time_check(v0());
    cr_expect_eq(shinfo.vcpu_info[0].time.version, ver);
    /* The guest scribbled over it: put back, version moves by 2. */
    shinfo.vcpu_info[0].time.tsc_to_system_mul = 1;
    pv_time_check(v0());
    cr_expect_eq(shinfo.vcpu_info[0].time.tsc_to_system_mul, 0x80000000u);
    cr_expect_eq(shinfo.vcpu_info[0].time.version, ver + 2);
}

Test(pv_time, pv_now_follows_the_record)
{
    struct vcpu_time_info *t = &shinfo.vcpu_info[0].time;
    struct time_scale ts = { t->tsc_to_system_mul, t->tsc_shift };

    advance_ns(123456789);
    cr_expect_eq(pv_now_ns(), t->system_time + time_scale_delta(fake_tsc - t->tsc_timestamp, &ts));
}

Test(pv_time, cmos_garbage_is_not_a_date)
{
    /* Every CMOS register reads 0 (setup): month 0 is no date, so no
     * wallclock rather than a wrong one. */
    cr_expect_not(clock_wallclock(&(uint64_t){0}, &(uint32_t){0}));
}

Test(pv_time, wallclock_in_shared_info)
{
    /* No wallclock source here: Xen's protocol still holds (even version). */
    cr_expect_eq(shinfo.wc_version % 2, 0);
    cr_expect_neq(shinfo.wc_version, 0);
}

/* ---------------------------------------------------- timer hypercalls --- */

Test(pv_time, periodic_default_100hz)
{
    cr_expect_eq(v0()->periodic_period, 10 * NS_PER_MS);
    cr_expect_eq(pv_dom.vcpus[1].periodic_period, 10 * NS_PER_MS);
}

Test(pv_time, periodic_errnos)
{
    struct vcpu_set_periodic_timer p;

    p.period_ns = 0;
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v0(), gp(&p)), -XEN_EINVAL);
    p.period_ns = NS_PER_MS - 1;
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v0(), gp(&p)), -XEN_EINVAL);
    p.period_ns = 1ULL << 62;    /* > STIME_DELTA_MAX */
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v0(), gp(&p)), -XEN_EINVAL);
    p.period_ns = (1ULL << 62) - 1;
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v0(), gp(&p)), 0);
    p.period_ns = NS_PER_MS;
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v0(), gp(&p)), 0);
    cr_expect_eq(v0()->periodic_period, NS_PER_MS);
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v0(), HV_PTR), -XEN_EFAULT);
    /* Any vCPU may set another's periodic timer (Xen: no v == current). */
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, &pv_dom.vcpus[1], gp(&p)), 0);
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_stop_periodic_timer, v0(), 0), 0);
    cr_expect_eq(v0()->periodic_period, 0);
    cr_expect_eq(pv_vcpu_timer_op(99, v0(), 0), -XEN_ENOSYS);
}

Test(pv_time, singleshot_errnos)
{
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = pv_now_ns() + NS_PER_S };

    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_singleshot_timer, &pv_dom.vcpus[1], gp(&t)),
                 -XEN_EINVAL, "another vCPU's singleshot timer");
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_stop_singleshot_timer, &pv_dom.vcpus[1], 0),
                 -XEN_EINVAL);
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_singleshot_timer, v0(), HV_PTR), -XEN_EFAULT);
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_singleshot_timer, v0(), gp(&t)), 0);
    cr_expect(v0()->timer_set);
    cr_expect_eq(v0()->timer_deadline, t.timeout_abs_ns);
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_stop_singleshot_timer, v0(), 0), 0);
    cr_expect_not(v0()->timer_set);
}

Test(pv_time, singleshot_past_fires_at_once_future_flag_ignored)
{
    struct vcpu_set_singleshot_timer t = { .flags = VCPU_SSHOTTMR_future };

    advance_ns(NS_PER_S);
    t.timeout_abs_ns = pv_now_ns() - 1;
    /* Xen 4.17 ignores VCPU_SSHOTTMR_future: 0, and the event now. */
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_singleshot_timer, v0(), gp(&t)), 0);
    cr_expect(timer_pending(), "past deadline did not raise VIRQ_TIMER");
    cr_expect_not(v0()->timer_set);
}

Test(pv_time, singleshot_fires_at_deadline_not_before)
{
    struct vcpu_set_singleshot_timer t;

    v0()->periodic_period = 0;
    t.timeout_abs_ns = pv_now_ns() + 5 * NS_PER_MS;
    t.flags = 0;
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_singleshot_timer, v0(), gp(&t)), 0);
    advance_ns(5 * NS_PER_MS - 1);
    pv_time_check(v0());
    cr_expect_not(timer_pending(), "fired early");
    advance_ns(1);
    pv_time_check(v0());
    cr_expect(timer_pending(), "did not fire at its deadline");
    cr_expect_not(v0()->timer_set, "one-shot timer still set");
    clear_timer();
    advance_ns(NS_PER_S);
    pv_time_check(v0());
    cr_expect_not(timer_pending(), "one-shot timer fired twice");
}

Test(pv_time, set_timer_op_rules)
{
    uint64_t now;

    advance_ns(NS_PER_S);
    now = pv_now_ns();
    cr_expect_eq(do_set_timer_op(now + 1000), 0);
    cr_expect(v0()->timer_set);
    cr_expect_eq(v0()->timer_deadline, now + 1000);
    cr_expect_eq(do_set_timer_op(0), 0);
    cr_expect_not(v0()->timer_set, "set_timer_op(0) must cancel");
    /* Negative, and more than 2^50 ns ahead: 100 ms from now (Xen's
     * Linux workaround). Just under 2^50 ahead is taken as is. */
    cr_expect_eq(do_set_timer_op(~0ULL), 0);
    cr_expect_eq(v0()->timer_deadline, now + 100 * NS_PER_MS);
    cr_expect_eq(do_set_timer_op(now + (1ULL << 51)), 0);
    cr_expect_eq(v0()->timer_deadline, now + 100 * NS_PER_MS);
    cr_expect_eq(do_set_timer_op(now + (1ULL << 50) - 1), 0);
    cr_expect_eq(v0()->timer_deadline, now + (1ULL << 50) - 1);
    /* In the past: set, and fires on the way back to the guest. */
    cr_expect_eq(do_set_timer_op(1), 0);
    pv_time_check(v0());
    cr_expect(timer_pending());
}

Test(pv_time, reprogram_picks_earliest)
{
    struct vcpu *v = v0();
    uint64_t now = pv_now_ns();

    v->periodic_period = 0;
    v->timer_set = false;
    v->poll_deadline = 0;
    cr_expect_eq(pv_time_next_deadline(v), 0, "nothing pending: disarm");
    v->timer_set = true;
    v->timer_deadline = now + 300;
    cr_expect_eq(pv_time_next_deadline(v), now + 300);
    v->periodic_period = 200;
    v->periodic_last_event = now;
    cr_expect_eq(pv_time_next_deadline(v), now + 200);
    v->poll_deadline = now + 100;
    cr_expect_eq(pv_time_next_deadline(v), now + 100);
    v->poll_deadline = now + 1000;
    cr_expect_eq(pv_time_next_deadline(v), now + 200);
    v->periodic_period = 0;
    cr_expect_eq(pv_time_next_deadline(v), now + 300);
    v->timer_set = false;
    cr_expect_eq(pv_time_next_deadline(v), now + 1000);
}

Test(pv_time, periodic_fires_and_rearms)
{
    struct vcpu_set_periodic_timer p = { .period_ns = 10 * NS_PER_MS };
    struct vcpu *v = v0();
    uint64_t t0;

    advance_ns(NS_PER_S);
    /* Xen vcpu_set_periodic_timer: a period has passed since the last
     * event (never), so one event now, then every period. */
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_set_periodic_timer, v, gp(&p)), 0);
    cr_expect(timer_pending());
    clear_timer();
    t0 = v->periodic_last_event;
    cr_expect_eq(pv_time_next_deadline(v), t0 + 10 * NS_PER_MS);
    advance_ns(10 * NS_PER_MS - 1);
    pv_time_check(v);
    cr_expect_not(timer_pending(), "periodic fired early");
    advance_ns(1);
    pv_time_check(v);
    cr_expect(timer_pending(), "periodic did not fire");
    cr_expect_eq(v->periodic_last_event, t0 + 10 * NS_PER_MS);
    cr_expect_eq(pv_time_next_deadline(v), t0 + 20 * NS_PER_MS, "not re-armed");
    clear_timer();
    cr_expect_eq(pv_vcpu_timer_op(VCPUOP_stop_periodic_timer, v, 0), 0);
    advance_ns(NS_PER_S);
    pv_time_check(v);
    cr_expect_not(timer_pending(), "stopped periodic timer fired");
}

/* The local APIC timer in TSC-deadline mode (x2APIC, CPUID.1:ECX[24]). */
Test(pv_time, tsc_deadline_armed)
{
    uint64_t now;

    fake_set_cpuid(1, 0, 0, CPUID1_ECX_X2APIC | (1u << 24), CPUID1_EDX_APIC);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_X2APIC);
    clock_init();
    cr_assert(timer_available());
    now = clock_now_ns();
    timer_arm(now + 5000);
    cr_expect_eq(fake_msr_value(0x832) & 0xff, TIMER_VECTOR, "LVT timer vector");
    cr_expect_eq((fake_msr_value(0x832) >> 17) & 3, 2, "LVT timer not in TSC-deadline mode");
    cr_expect_eq(fake_msr_value(MSR_TSC_DEADLINE), fake_tsc + 5000 + 1);
    /* Same deadline again: no second MSR write. */
    unsigned int writes = fake_msr_writes(MSR_TSC_DEADLINE);
    timer_arm(now + 5000);
    cr_expect_eq(fake_msr_writes(MSR_TSC_DEADLINE), writes);
    /* Far away: clamped, fires early, the check re-arms. */
    timer_arm(now + 3600 * NS_PER_S);
    cr_expect(fake_msr_value(MSR_TSC_DEADLINE) <= fake_tsc + NS_PER_S);
    timer_arm(0);
    cr_expect_eq(fake_msr_value(MSR_TSC_DEADLINE), 0, "disarm");
}

/*
 * pv_time_check runs on every exit to the guest; where L0 traps RDTSC a
 * clock read is an L0 round trip, so it reads the clock only when
 * something may be due: not while this CPU's timer still holds v's next
 * deadline and v's timers did not change. A change (here set_timer_op
 * with a past deadline, which Xen delivers on the way out) or the
 * timer's interrupt brings the full check back.
 */
Test(pv_time, check_reads_the_clock_only_when_something_may_be_due)
{
    struct vcpu *v = v0();
    struct cpu_regs irq = { .vector = TIMER_VECTOR };
    uint64_t before;

    fake_set_cpuid(1, 0, 0, CPUID1_ECX_X2APIC | (1u << 24), CPUID1_EDX_APIC);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_X2APIC);
    clock_init();
    cr_assert(timer_available());
    this_cpu()->vcpu = v;                       /* v runs on this CPU */
    advance_ns(NS_PER_S);
    pv_time_check(v);                           /* full: arms the periodic */
    clear_timer();
    cr_assert_eq(timer_armed(), pv_time_next_deadline(v));

    fake_tsc_step = 1;                          /* each TSC read moves time */
    before = fake_tsc;
    pv_time_check(v);
    cr_expect_eq(fake_tsc, before, "the clock was read with nothing due");

    /* A past deadline set by the guest: delivered on this exit. */
    cr_assert_eq(do_set_timer_op(fake_tsc - 1000), 0);
    before = fake_tsc;
    pv_time_check(v);
    cr_expect_neq(fake_tsc, before, "a timer change must bring the full check");
    cr_expect(timer_pending(), "set_timer_op's past deadline not delivered on the way out");
    clear_timer();
    pv_time_check(v);
    before = fake_tsc;
    pv_time_check(v);
    cr_expect_eq(fake_tsc, before);

    /* The periodic deadline comes: the interrupt, then the full check. */
    fake_tsc_step = 0;
    advance_ns(20 * NS_PER_MS);
    trap_handle(&irq, 0);
    cr_expect_eq(timer_armed(), 0, "the interrupt clears the armed deadline");
    pv_time_check(v);
    cr_expect(timer_pending(), "periodic event after the timer interrupt");
    cr_expect_eq(timer_armed(), pv_time_next_deadline(v), "re-armed");
}

/* VCPUOP_register_vcpu_time_memory_area (Xen arch_do_vcpu_op and
 * update_secondary_system_time): a copy of the vCPU's record at a guest
 * address, written at once and whenever the record is; a hypervisor
 * address -EFAULT, NULL stops it. VCPUOP_get_physid: -EINVAL for a domU. */
Test(pv_time, secondary_time_area)
{
    static struct vcpu_time_info area;
    struct vcpu_register_time_memory_area a = { .addr.p = gp(&area) };
    struct vcpu_get_physid id;

    memset(&area, 0xaa, sizeof(area));
    area.version = 6;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, HV_PTR), -XEN_EFAULT);
    a.addr.p = HV_PTR;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, gp(&a)), -XEN_EFAULT,
                 "area in the hypervisor's range");
    a.addr.p = gp(&area);
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, gp(&a)), 0);
    cr_expect_eq(area.system_time, shinfo.vcpu_info[0].time.system_time);
    cr_expect_eq(area.tsc_timestamp, shinfo.vcpu_info[0].time.tsc_timestamp);
    cr_expect_eq(area.tsc_to_system_mul, shinfo.vcpu_info[0].time.tsc_to_system_mul);
    cr_expect_eq(area.tsc_shift, shinfo.vcpu_info[0].time.tsc_shift);
    cr_expect_eq(area.flags, 0);
    cr_expect_eq(area.version, 8, "its own version, odd then even: 6 -> 7 -> 8");
    /* NULL is a guest address: accepted, and nothing is written any more. */
    a.addr.p = 0;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, gp(&a)), 0);
    area.version = 20;
    pv_time_vcpu_start(&pv_dom.vcpus[0]);       /* a forced update */
    cr_expect_eq(area.version, 20, "unregistered: not written");
    cr_expect_eq(do_vcpu_op(VCPUOP_get_physid, 0, gp(&id)), -XEN_EINVAL);
    cr_expect_eq(do_vcpu_op(VCPUOP_get_physid, 5, gp(&id)), -XEN_ENOENT);
}
