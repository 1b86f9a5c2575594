/*
 * The TLB clock: filtering by per-page stamps, equality, stale and
 * corrupt stamps, tlbclock=off, the end of time (no wrap), and which
 * flushes advance a CPU's time (only the ones it executes itself).
 */
#include <criterion/criterion.h>
#include "test_flush_env.h"

static void cpu_full_flush(unsigned int cpu)
{
    uint64_t t = tlbclock_pre_flush();

    tlbclock_post_flush(cpu, t);
}

TestSuite(tlbclock, .init = fake_reset);

Test(tlbclock, filter_drops_cpus_that_flushed_after_the_stamp)
{
    cpumask_t m = env_mask(0x0f);
    uint64_t stamp;

    tlbclock_init(true, 1);
    stamp = tlbclock_now();
    cr_assert_eq(stamp, 1);
    cpu_full_flush(1);
    cpu_full_flush(3);
    tlbclock_filter(&m, stamp);
    cr_assert_eq(m.bits[0], 0x05);
}

Test(tlbclock, flush_before_the_stamp_does_not_count)
{
    cpumask_t m = env_mask(0x03);
    uint64_t stamp;

    tlbclock_init(true, 1);
    cpu_full_flush(1);              /* time 2 */
    stamp = tlbclock_now();         /* 2: the flush may have begun before */
    tlbclock_filter(&m, stamp);
    cr_assert_eq(m.bits[0], 0x03, "cpu time == stamp must still flush");
    cpu_full_flush(1);              /* time 3 */
    tlbclock_filter(&m, stamp);
    cr_assert_eq(m.bits[0], 0x01);
}

Test(tlbclock, zero_and_future_stamps_filter_nothing)
{
    cpumask_t m = env_mask(0x0f);

    tlbclock_init(true, 1);
    for (unsigned int c = 0; c < 4; c++)
        cpu_full_flush(c);
    tlbclock_filter(&m, 0);
    cr_assert_eq(m.bits[0], 0x0f, "stamp 0 = unknown");
    tlbclock_filter(&m, tlbclock_now() + 1);
    cr_assert_eq(m.bits[0], 0x0f, "a stamp from the future is corrupt");
    tlbclock_filter(&m, UINT64_MAX);
    cr_assert_eq(m.bits[0], 0x0f);
}

Test(tlbclock, off_filters_nothing)
{
    cpumask_t m = env_mask(0x0f);

    tlbclock_init(false, 1);
    cr_assert_not(tlbclock_enabled());
    cr_assert_eq(tlbclock_now(), 0);
    cr_assert_eq(tlbclock_pre_flush(), 0);
    cpu_full_flush(1);
    cr_assert_eq(tlbclock_cpu_time(1), 0);
    tlbclock_filter(&m, 1);
    cr_assert_eq(m.bits[0], 0x0f);
}

Test(tlbclock, end_of_time_switches_the_clock_off)
{
    cpumask_t m = env_mask(0x0f);
    uint64_t stamp;

    tlbclock_init(true, UINT64_MAX - 1);
    stamp = tlbclock_now();
    cr_assert_eq(tlbclock_pre_flush(), UINT64_MAX);
    tlbclock_post_flush(1, UINT64_MAX);
    /* The next tick would wrap to 0: the clock stops instead. */
    cr_assert_eq(tlbclock_pre_flush(), 0);
    cr_assert_not(tlbclock_enabled());
    tlbclock_filter(&m, stamp);
    cr_assert_eq(m.bits[0], 0x0f, "no filtering once the clock is off");
    cr_assert_eq(tlbclock_now(), 0);
}

Test(tlbclock, post_flush_never_moves_back)
{
    tlbclock_init(true, 1);
    tlbclock_post_flush(2, 5);
    tlbclock_post_flush(2, 3);
    cr_assert_eq(tlbclock_cpu_time(2), 5);
    tlbclock_post_flush(2, 0);
    cr_assert_eq(tlbclock_cpu_time(2), 5);
}

/* Through the engine: which flushes advance a CPU's time. */
Test(tlbclock, engine_local_global_flush_advances)
{
    struct flush_request g = { .flags = FLUSH_TLB_GLOBAL };
    struct flush_request n = { .flags = FLUSH_TLB };
    struct flush_request v = { .flags = FLUSH_TLB | FLUSH_VA_VALID, .order = 0 };
    struct flush_request big = { .flags = FLUSH_TLB | FLUSH_VA_VALID, .order = 10 };

    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    flush_local(&n);
    cr_assert_eq(tlbclock_cpu_time(0), 0, "non-global flush leaves globals");
    flush_local(&v);
    cr_assert_eq(tlbclock_cpu_time(0), 0, "INVLPG is not a full flush");
    flush_local(&g);
    cr_assert_eq(tlbclock_cpu_time(0), 2);
    flush_local(&big);
    cr_assert_eq(tlbclock_cpu_time(0), 3, "a large VA range is a full global flush");
}

Test(tlbclock, assisted_flush_does_not_advance_remote_times)
{
    cpumask_t m = env_mask(0x0f);
    cpumask_t f;
    uint64_t stamp;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    stamp = tlbclock_now();
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(env_xen_flushes, 1);
    f = m;
    tlbclock_filter(&f, stamp);
    /* L0's flush proves nothing about an IRQ-off walk anywhere (see
     * shim/tlbclock.c), and HVMOP_flush_tlbs also did CPU 0's part, so no
     * CPU's time moved. */
    cr_assert_eq(f.bits[0], 0x0f);

    /* Hyper-V flushes the remote CPUs only: CPU 0 flushed itself. */
    env_setup(ENV_HV_OK, 4, FLUSH_POLICY_AUTO, true);
    stamp = tlbclock_now();
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    f = m;
    tlbclock_filter(&f, stamp);
    cr_assert_eq(f.bits[0], 0x0e);
}

Test(tlbclock, ipi_flush_advances_remote_times)
{
    cpumask_t m = env_mask(0x0f);
    cpumask_t f;
    uint64_t stamp;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    stamp = tlbclock_now();
    flush_mask(&m, FLUSH_TLB_GLOBAL | FLUSH_NO_ASSIST, va(0), 0);
    f = m;
    tlbclock_filter(&f, stamp);
    cr_assert_eq(f.bits[0], 0);
    /* A page freed after that flush still needs every CPU. */
    stamp = tlbclock_now();
    f = m;
    tlbclock_filter(&f, stamp);
    cr_assert_eq(f.bits[0], 0x0f);
}
