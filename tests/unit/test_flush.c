/*
 * The flush decision table: flag sets x L0 (none, Xen, Hyper-V; working,
 * failing, not recommended) x mask shapes x TLB clock on/off x flush=
 * policy. Each case checks exactly which path ran (local flush kind, IPI
 * targets, L0 calls) and which one counter moved.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <minishim/inject.h>
#include "test_flush_env.h"
#include "fake/fake_console.h"
#include "fake/fake_inject.h"

#define NCPUS 4                          /* CPUs 0..3 online; 5 exists, offline */
#define FLUSH_UNKNOWN_FLAG (1u << 5)     /* not on the assist whitelist        */

struct flag_case { unsigned int flags; unsigned int order; };

static const struct flag_case flag_cases[] = {
    { 0, 0 },                                    /* nothing to flush            */
    { FLUSH_NO_ASSIST, 0 },                      /* still nothing               */
    { FLUSH_TLB, 0 },
    { FLUSH_TLB_GLOBAL, 0 },
    { FLUSH_TLB | FLUSH_TLB_GLOBAL, 0 },
    { FLUSH_TLB | FLUSH_VA_VALID, 0 },
    { FLUSH_TLB_GLOBAL | FLUSH_VA_VALID, 3 },
    { FLUSH_TLB | FLUSH_VA_VALID, 9 },           /* above the INVLPG limit       */
    { FLUSH_TLB | FLUSH_NO_ASSIST, 0 },
    { FLUSH_TLB_GLOBAL | FLUSH_NO_ASSIST, 0 },
    { FLUSH_TLB | FLUSH_VA_VALID | FLUSH_NO_ASSIST, 2 },
    { FLUSH_TLB | FLUSH_UNKNOWN_FLAG, 0 },
};

/* Mask shapes, as bit patterns over CPUs 0..5 (CPU 0 is the caller). */
static const uint64_t masks[] = {
    0x00,       /* empty                 */
    0x01,       /* self only             */
    0x0f,       /* self + all others     */
    0x05,       /* self + one other      */
    0x0e,       /* others only (all)     */
    0x04,       /* one other only        */
    0x20,       /* offline only          */
    0x21,       /* self + offline        */
    0x26,       /* others + offline      */
};

static const enum flush_policy policies[] = {
    FLUSH_POLICY_AUTO, FLUSH_POLICY_IPI, FLUSH_POLICY_ASSIST,
};

/* The specification of the decision (shim/flush.c's header), restated. */
static enum flush_reason expected_reason(unsigned int flags, uint64_t mask,
                                         enum env_l0 l0, enum flush_policy pol)
{
    uint64_t remote = mask & 0x0e;

    if (!(flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL)))
        return FLUSH_R_NOTHING;
    if (!remote)
        return (mask & 1) ? FLUSH_R_LOCAL_ONLY : FLUSH_R_NOTHING;
    if (flags & FLUSH_NO_ASSIST)
        return FLUSH_R_IPI_NO_ASSIST;
    if (pol == FLUSH_POLICY_IPI)
        return FLUSH_R_IPI_POLICY;
    if (flags & FLUSH_UNKNOWN_FLAG)
        return FLUSH_R_IPI_FLAGS;
    if (l0 == ENV_NONE)
        return FLUSH_R_IPI_NO_BACKEND;
    if (l0 == ENV_HV_NOTREC && pol == FLUSH_POLICY_AUTO)
        return FLUSH_R_IPI_NO_BACKEND;
    if (l0 == ENV_XEN_FAIL || l0 == ENV_HV_FAIL)
        return FLUSH_R_IPI_FALLBACK;
    return FLUSH_R_ASSISTED;
}

static bool is_ipi(enum flush_reason r)
{
    return r == FLUSH_R_IPI_NO_ASSIST || r == FLUSH_R_IPI_POLICY ||
           r == FLUSH_R_IPI_FLAGS || r == FLUSH_R_IPI_NO_BACKEND ||
           r == FLUSH_R_IPI_FALLBACK;
}

/* What one CPU's flush_local must have done for these flags. */
static void check_local(unsigned int cpu, const struct flag_case *fc, bool expect,
                        const char *ctx)
{
    unsigned int inv = 0, full = 0, glob = 0;

    if (expect && (fc->flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL))) {
        if ((fc->flags & FLUSH_VA_VALID) && fc->order <= FLUSH_INVLPG_MAX_ORDER)
            inv = 1u << fc->order;
        else if (fc->flags & (FLUSH_TLB_GLOBAL | FLUSH_VA_VALID))
            glob = 1;
        else
            full = 1;
    }
    cr_expect_eq(fake_cpu_invlpg[cpu], inv, "%s: cpu%u invlpg %u want %u", ctx, cpu,
                 fake_cpu_invlpg[cpu], inv);
    cr_expect_eq(fake_cpu_flushes[cpu], full, "%s: cpu%u full flushes %u want %u", ctx,
                 cpu, fake_cpu_flushes[cpu], full);
    cr_expect_eq(fake_cpu_global_flushes[cpu], glob, "%s: cpu%u global flushes %u want %u",
                 ctx, cpu, fake_cpu_global_flushes[cpu], glob);
}

static void run_case(enum env_l0 l0, enum flush_policy pol, bool clock,
                     const struct flag_case *fc, uint64_t mask_bits)
{
    cpumask_t mask = env_mask(mask_bits);
    enum flush_reason want = expected_reason(fc->flags, mask_bits, l0, pol);
    uint64_t remote = mask_bits & 0x0e;
    bool tries_l0 = want == FLUSH_R_ASSISTED || want == FLUSH_R_IPI_FALLBACK;
    bool covered = want == FLUSH_R_ASSISTED && l0 == ENV_XEN_OK;
    bool global_kind = (fc->flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL)) &&
                       (fc->flags & (FLUSH_TLB_GLOBAL | FLUSH_VA_VALID)) &&
                       !((fc->flags & FLUSH_VA_VALID) && fc->order <= FLUSH_INVLPG_MAX_ORDER);
    struct flush_stats st;
    char ctx[160];

    snprintf(ctx, sizeof(ctx), "l0=%d policy=%s clock=%d flags=%#x order=%u mask=%#lx",
             l0, flush_policy_name(pol), clock, fc->flags, fc->order,
             (unsigned long)mask_bits);
    env_setup(l0, NCPUS, pol, clock);

    flush_mask(&mask, fc->flags, va(0x00007f0000123456ULL), fc->order);

    flush_stats_get(&st);
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
        cr_expect_eq(st.reason[r], r == want ? 1u : 0u, "%s: counter '%s' = %lu (want reason '%s')",
                     ctx, flush_reason_name(r), (unsigned long)st.reason[r],
                     flush_reason_name(want));

    /* Local part: CPU 0 flushed iff in the mask, unless L0's flush covered
     * it (Xen's HVMOP_flush_tlbs flushes the caller too). */
    check_local(0, fc, (mask_bits & 1) && !covered, ctx);

    /* L0: called once exactly when the decision reached it. */
    cr_expect_eq(env_l0_flush_calls(), tries_l0 ? 1u : 0u, "%s: %u L0 flush calls", ctx,
                 env_l0_flush_calls());
    if (l0 == ENV_XEN_OK || l0 == ENV_XEN_FAIL) {
        if (tries_l0)
            cr_expect_eq(env_xen_flush_arg, 0, "%s: HVMOP_flush_tlbs arg must be NULL", ctx);
    }

    /* IPIs: one call to exactly the online remote CPUs, iff an IPI reason. */
    cr_expect_eq(fake_nr_ipi_calls, is_ipi(want) ? 1u : 0u, "%s: %u IPI calls", ctx,
                 fake_nr_ipi_calls);
    if (is_ipi(want))
        cr_expect_eq(fake_ipi_last_targets.bits[0], remote, "%s: IPI targets %#lx", ctx,
                     (unsigned long)fake_ipi_last_targets.bits[0]);
    for (unsigned int c = 1; c < 6; c++) {
        bool hit = is_ipi(want) && (remote & (1ULL << c));

        cr_expect_eq(fake_ipi_received[c], hit ? 1u : 0u, "%s: cpu%u IPIs", ctx, c);
        check_local(c, fc, hit, ctx);
    }

    /* Counters of remote CPUs. */
    cr_expect_eq(st.ipi_cpus, is_ipi(want) ? (uint64_t)__builtin_popcountll(remote) : 0, "%s", ctx);
    cr_expect_eq(st.assist_cpus, want == FLUSH_R_ASSISTED ? (uint64_t)__builtin_popcountll(remote) : 0,
                 "%s", ctx);
    cr_expect_eq(st.backend_errors, want == FLUSH_R_IPI_FALLBACK ? 1u : 0u, "%s", ctx);

    /* TLB clock: only CPUs that executed a global-kind flush themselves
     * advance; never through L0; never with the clock off. */
    for (unsigned int c = 0; c < 6; c++) {
        bool ran = (c == 0) ? (mask_bits & 1) && want != FLUSH_R_NOTHING && !covered
                            : is_ipi(want) && (remote & (1ULL << c));
        bool moves = clock && ran && global_kind;

        cr_expect_eq(tlbclock_cpu_time(c) != 0, moves, "%s: cpu%u clock time %lu", ctx, c,
                     (unsigned long)tlbclock_cpu_time(c));
    }
}

Test(flush_table, every_combination)
{
    static const enum env_l0 l0s[] = {
        ENV_NONE, ENV_XEN_OK, ENV_XEN_FAIL, ENV_HV_OK, ENV_HV_FAIL, ENV_HV_NOTREC,
    };
    unsigned int n = 0;

    for (size_t a = 0; a < ARRAY_SIZE(l0s); a++)
        for (size_t p = 0; p < ARRAY_SIZE(policies); p++)
            for (int clock = 0; clock < 2; clock++)
                for (size_t f = 0; f < ARRAY_SIZE(flag_cases); f++)
                    for (size_t m = 0; m < ARRAY_SIZE(masks); m++, n++)
                        run_case(l0s[a], policies[p], clock, &flag_cases[f], masks[m]);
    cr_assert_eq(n, 6u * 3 * 2 * ARRAY_SIZE(flag_cases) * ARRAY_SIZE(masks));
}

/* A few rows spelled out by hand, as documentation of the policy. */
static enum flush_reason only_reason(void)
{
    struct flush_stats st;
    int found = -1;

    flush_stats_get(&st);
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++) {
        if (st.reason[r]) {
            cr_assert_eq(found, -1, "two reasons counted");
            cr_assert_eq(st.reason[r], 1);
            found = (int)r;
        }
    }
    cr_assert_neq(found, -1, "no reason counted");
    return (enum flush_reason)found;
}

Test(flush_rows, guest_flush_on_xen_is_assisted)
{
    cpumask_t m = env_mask(0x0f);

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_ASSISTED);
    cr_assert_eq(env_xen_flushes, 1);
    cr_assert_eq(fake_nr_ipi_calls, 0);
    /* HVMOP_flush_tlbs flushes the caller too: no separate local flush
     * (three CR4 accesses, each an L0 exit on a nested L0). */
    cr_assert_eq(fake_cpu_global_flushes[0], 0);
}

/* The local part is skipped only when L0 really flushed: if L0 fails the
 * caller flushes itself before the IPIs. Hyper-V (a VP set that names
 * the remote CPUs only) never covers the caller. */
Test(flush_rows, local_part_skipped_only_when_l0_covers_the_caller)
{
    cpumask_t m = env_mask(0x0f);

    env_setup(ENV_XEN_FAIL, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_FALLBACK);
    cr_assert_eq(fake_cpu_global_flushes[0], 1, "L0 failed: the caller flushes itself");

    env_setup(ENV_HV_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB | FLUSH_VA_VALID, va(0x5000), 0);
    cr_assert_eq(only_reason(), FLUSH_R_ASSISTED);
    cr_assert_eq(fake_cpu_invlpg[0], 1, "Hyper-V does not flush the caller");

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB | FLUSH_VA_VALID | FLUSH_NO_ASSIST, va(0x5000), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_NO_ASSIST);
    cr_assert_eq(fake_cpu_invlpg[0], 1, "not assisted: local part as always");
}

Test(flush_rows, retype_flush_on_xen_goes_by_ipi)
{
    cpumask_t m = env_mask(0x0f);

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_ASSIST, true);
    flush_mask(&m, FLUSH_TLB_GLOBAL | FLUSH_NO_ASSIST, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_NO_ASSIST);
    cr_assert_eq(env_xen_flushes, 0);
    cr_assert_eq(fake_nr_ipi_calls, 1);
    cr_assert_eq(fake_ipi_last_targets.bits[0], 0x0e);
}

Test(flush_rows, flush_ipi_sends_nothing_to_l0)
{
    cpumask_t m = env_mask(0x0f);

    env_setup(ENV_HV_OK, 4, FLUSH_POLICY_IPI, true);
    flush_mask(&m, FLUSH_TLB, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_POLICY);
    cr_assert_eq(fake_nr_hv_calls, 0);
}

Test(flush_rows, backend_error_falls_back_and_records_errno)
{
    cpumask_t m = env_mask(0x06);
    struct flush_stats st;

    env_setup(ENV_XEN_FAIL, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_FALLBACK);
    flush_stats_get(&st);
    cr_assert_eq(st.backend_errors, 1);
    cr_assert_eq(st.last_backend_error, -XEN_EINVAL);
    cr_assert_eq(fake_ipi_last_targets.bits[0], 0x06);
}

Test(flush_rows, hyperv_not_recommended_auto_vs_assist)
{
    cpumask_t m = env_mask(0x03);

    env_setup(ENV_HV_NOTREC, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_NO_BACKEND);

    env_setup(ENV_HV_NOTREC, 4, FLUSH_POLICY_ASSIST, true);
    flush_mask(&m, FLUSH_TLB, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_ASSISTED);
    cr_assert_eq(fake_nr_hv_calls, 1);
}

Test(flush_rows, caller_on_another_cpu)
{
    cpumask_t m = env_mask(0x0f);

    env_setup(ENV_NONE, 4, FLUSH_POLICY_AUTO, true);
    fake_cpu_id = 2;
    flush_mask(&m, FLUSH_TLB, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_NO_BACKEND);
    cr_assert_eq(fake_ipi_last_targets.bits[0], 0x0b);
    cr_assert_eq(fake_cpu_flushes[2], 1);
    cr_assert_eq(fake_ipi_received[2], 0);
}

Test(flush_rows, invlpg_addresses)
{
    struct flush_request req = {
        .flags = FLUSH_TLB | FLUSH_VA_VALID, .va = va(0x7f0000123456ULL), .order = 2,
    };

    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    flush_local(&req);
    cr_assert_eq(fake_nr_invlpg, 4);
    cr_assert_eq(fake_invlpg_log[0], 0x7f0000123000ULL);
    cr_assert_eq(fake_invlpg_log[1], 0x7f0000124000ULL);
    cr_assert_eq(fake_invlpg_log[2], 0x7f0000125000ULL);
    cr_assert_eq(fake_invlpg_log[3], 0x7f0000126000ULL);
    cr_assert_eq(fake_nr_local_flushes, 0);
}

Test(flush_rows, non_canonical_pages_are_skipped)
{
    /* 4 pages from the last canonical lower-half page: only the first is
     * canonical. */
    struct flush_request req = {
        .flags = FLUSH_TLB | FLUSH_VA_VALID, .va = va(0x00007ffffffff000ULL), .order = 2,
    };

    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    flush_local(&req);
    cr_assert_eq(fake_nr_invlpg, 1);
    cr_assert_eq(fake_invlpg_log[0], 0x00007ffffffff000ULL);
}

Test(flush_rows, none_backend_refuses)
{
    cpumask_t m = env_mask(0x02);

    env_setup(ENV_NONE, 2, FLUSH_POLICY_AUTO, true);
    cr_assert_eq(l0_flush_caps(), 0);
    cr_assert_eq(l0_flush_tlb(&m, va(0), 0, FLUSH_TLB), -XEN_EOPNOTSUPP);
}

Test(flush_rows, l0_never_gets_an_empty_set)
{
    cpumask_t empty = env_mask(0);

    env_setup(ENV_XEN_OK, 2, FLUSH_POLICY_AUTO, true);
    cr_assert_eq(l0_flush_tlb(&empty, va(0), 0, FLUSH_TLB), -XEN_EINVAL);
    cr_assert_eq(env_xen_flushes, 0);
}

Test(flush_rows, xen_call_shape)
{
    cpumask_t m = env_mask(0x02);

    env_setup(ENV_XEN_OK, 2, FLUSH_POLICY_AUTO, true);
    cr_assert_eq(l0_flush_caps(),
                 L0_FLUSH_AVAILABLE | L0_FLUSH_RECOMMENDED | L0_FLUSH_COVERS_CALLER);
    cr_assert_eq(l0_flush_tlb(&m, va(0x1234000), 3, FLUSH_TLB | FLUSH_VA_VALID), 0);
    cr_assert_eq(env_xen_flushes, 1);
    cr_assert_eq(env_xen_flush_arg, 0, "HVMOP_flush_tlbs takes a NULL argument");
}

/* Histograms: log2 buckets, and the remote part is timed. */
Test(flush_stats, buckets)
{
    cr_assert_eq(flush_hist_bucket(0), 0);
    cr_assert_eq(flush_hist_bucket(1), 0);
    cr_assert_eq(flush_hist_bucket(2), 1);
    cr_assert_eq(flush_hist_bucket(3), 1);
    cr_assert_eq(flush_hist_bucket(1023), 9);
    cr_assert_eq(flush_hist_bucket(1024), 10);
    cr_assert_eq(flush_hist_bucket(UINT64_MAX), FLUSH_HIST_BUCKETS - 1);
}

/*
 * Timing a remote part costs two TSC reads. Where a read is trapped by L0
 * (dearer than FLUSH_TSC_TRAPPED_CYCLES, measured by flush_init) only 1
 * remote flush in FLUSH_TIMING_SAMPLE is timed; every one is still
 * counted. With cheap reads every one is timed.
 */
static uint64_t hist_total(const struct flush_stats *st, enum flush_path p)
{
    uint64_t n = 0;

    for (unsigned int b = 0; b < FLUSH_HIST_BUCKETS; b++)
        n += st->hist[p][b];
    return n;
}

Test(flush_stats, timing_sampled_when_tsc_reads_are_trapped)
{
    cpumask_t m = env_mask(0x06);
    struct flush_stats st;
    uint64_t reads;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    fake_tsc_step = 40000;              /* a TSC read is an L0 round trip */
    flush_init(FLUSH_POLICY_AUTO);
    cr_assert_eq(flush_timing_every(), FLUSH_TIMING_SAMPLE);
    cr_assert_eq(flush_tsc_read_cycles(), 40000);
    reads = fake_tsc;
    for (unsigned int i = 0; i < 2 * FLUSH_TIMING_SAMPLE; i++)
        flush_mask(&m, FLUSH_TLB, va(0), 0);
    flush_stats_get(&st);
    cr_expect_eq(st.reason[FLUSH_R_ASSISTED], 2 * FLUSH_TIMING_SAMPLE);
    cr_expect_eq(st.assist_cpus, 2 * 2 * FLUSH_TIMING_SAMPLE);
    cr_expect_eq(hist_total(&st, FLUSH_PATH_ASSIST), 2, "timed flushes");
    cr_expect_eq((fake_tsc - reads) / 40000, 2 * 2, "TSC reads: two per timed flush only");

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    cr_assert_eq(flush_timing_every(), 1, "fake TSC step 1000: not trapped");
    for (unsigned int i = 0; i < 2 * FLUSH_TIMING_SAMPLE; i++)
        flush_mask(&m, FLUSH_TLB, va(0), 0);
    flush_stats_get(&st);
    cr_expect_eq(hist_total(&st, FLUSH_PATH_ASSIST), 2 * FLUSH_TIMING_SAMPLE);
}

Test(flush_stats, remote_latency_recorded_per_path)
{
    cpumask_t m = env_mask(0x06);
    struct flush_stats st;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB, va(0), 0);                       /* assisted */
    flush_mask(&m, FLUSH_TLB | FLUSH_NO_ASSIST, va(0), 0);     /* IPI      */
    m = env_mask(0x01);
    flush_mask(&m, FLUSH_TLB, va(0), 0);                       /* local: not timed */
    flush_stats_get(&st);
    /* The fake TSC advances 1000 per read: one bracket = 1000 cycles. */
    for (unsigned int b = 0; b < FLUSH_HIST_BUCKETS; b++) {
        cr_expect_eq(st.hist[FLUSH_PATH_ASSIST][b], b == 9 ? 1u : 0u, "assist bucket %u", b);
        cr_expect_eq(st.hist[FLUSH_PATH_IPI][b], b == 9 ? 1u : 0u, "ipi bucket %u", b);
    }
}

Test(flush_stats, print_names_every_counter)
{
    cpumask_t m = env_mask(0x06);

    env_setup(ENV_XEN_FAIL, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB, va(0), 0);
    fake_console_capture();
    console_set_level(LOG_INFO);
    flush_stats_print();
    cr_assert(strstr(fake_console_out, "flush: stats policy=auto nothing=0 local=0 ipi-forced=0 "
                     "ipi-policy=0 ipi-flags=0 ipi-nobackend=0 assisted=0 ipi-fallback=1 "
                     "ipi-cpus=2 assist-cpus=0 l0-errors=1 l0-last-error=-22 spurious-pf=0 "
                     "retype-local=0 retype-ipi=0 retype-assisted=0 ipi-resends=0 tlbclock-skipped=0 "
                     "walker-stale-reads=0 balloon-local=0 balloon-ipi=0 balloon-assisted=0\n"),
              "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, "flush: ipi remote-flush latency, TSC cycles (1 flushes):\n"
                     "flush:   [2^9, 2^10) 1\n"), "%s", fake_console_out);
    cr_assert_null(strstr(fake_console_out, "assisted remote-flush"), "%s", fake_console_out);
}

/*
 * Page-table retype flushes (FLUSH_TAG_PT_RETYPE, pv/mm.c) are counted by
 * outcome as well. The tag itself never changes the decision, so the
 * retype-assisted counter would show a retype flush that lost its
 * FLUSH_NO_ASSIST (the bed asserts it stays 0).
 */
Test(flush_retype, tagged_flushes_counted_by_outcome)
{
    cpumask_t all = env_mask(0x0f), self = env_mask(0x01);
    struct flush_stats st;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&all, FLUSH_TLB_GLOBAL | FLUSH_NO_ASSIST | FLUSH_TAG_PT_RETYPE, va(0), 0);
    flush_mask(&self, FLUSH_TLB_GLOBAL | FLUSH_NO_ASSIST | FLUSH_TAG_PT_RETYPE, va(0), 0);
    flush_mask(&all, FLUSH_TLB_GLOBAL, va(0), 0);                 /* untagged */
    flush_stats_get(&st);
    cr_assert_eq(st.reason[FLUSH_R_IPI_NO_ASSIST], 1);
    cr_assert_eq(st.reason[FLUSH_R_LOCAL_ONLY], 1);
    cr_assert_eq(st.reason[FLUSH_R_ASSISTED], 1);
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
        cr_assert_eq(st.retype[r], (r == FLUSH_R_IPI_NO_ASSIST || r == FLUSH_R_LOCAL_ONLY) ? 1u : 0u,
                     "retype[%s] = %lu", flush_reason_name(r), (unsigned long)st.retype[r]);
    cr_assert_eq(env_xen_flushes, 1);
}

Test(flush_retype, the_tag_alone_does_not_force_ipis)
{
    cpumask_t all = env_mask(0x0f);
    struct flush_stats st;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&all, FLUSH_TLB_GLOBAL | FLUSH_TAG_PT_RETYPE, va(0), 0);
    flush_stats_get(&st);
    cr_assert_eq(st.reason[FLUSH_R_ASSISTED], 1, "a tag is not a flag off the whitelist");
    cr_assert_eq(st.retype[FLUSH_R_ASSISTED], 1);
    cr_assert_eq(fake_nr_ipi_calls, 0);
    fake_console_capture();
    console_set_level(LOG_INFO);
    flush_stats_print();
    cr_assert(strstr(fake_console_out, " retype-local=0 retype-ipi=0 retype-assisted=1 ipi-resends=0 tlbclock-skipped=0 walker-stale-reads=0 balloon-local=0 balloon-ipi=0 balloon-assisted=0\n"), "%s", fake_console_out);
}

Test(flush_retype, tag_never_reaches_the_backend)
{
    cpumask_t m = env_mask(0x06);

    env_setup(ENV_HV_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_mask(&m, FLUSH_TLB | FLUSH_TAG_PT_RETYPE, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_ASSISTED);
    cr_assert_eq(fake_nr_hv_calls, 1);
}

/* inject=l0-flush-fail: L0 is not even asked, the IPI fallback runs and is
 * counted as after a real L0 error. */
Test(flush_inject, l0_flush_fail_falls_back_to_ipis)
{
    cpumask_t m = env_mask(0x0f);
    struct flush_stats st;

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    fake_inject_arm(INJECT_L0_FLUSH_FAIL, 1);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_FALLBACK);
    cr_assert_eq(env_xen_flushes, 0);
    cr_assert_eq(fake_ipi_last_targets.bits[0], 0x0e);
    flush_stats_get(&st);
    cr_assert_eq(st.backend_errors, 1);
    cr_assert_eq(st.last_backend_error, -XEN_EIO);
    cr_assert_eq(inject_fired(INJECT_L0_FLUSH_FAIL), 1);
    /* Used up: the next one is assisted again. */
    flush_stats_reset();
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_ASSISTED);
    cr_assert_eq(env_xen_flushes, 1);
    inject_init(NULL);
}

Test(flush_inject, l0_flush_fail_not_reached_without_assist)
{
    cpumask_t m = env_mask(0x0f);

    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_IPI, true);
    fake_inject_arm(INJECT_L0_FLUSH_FAIL, INJECT_COUNT_ALWAYS);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(only_reason(), FLUSH_R_IPI_POLICY);
    cr_assert_eq(inject_fired(INJECT_L0_FLUSH_FAIL), 0);
    inject_init(NULL);
}
