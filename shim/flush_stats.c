/*
 * Flush telemetry: one counter per decision reason, remote CPU totals,
 * backend errors and log2 histograms of remote-flush latency in TSC
 * cycles. Counters are bumped with relaxed atomics from any CPU; printed
 * at shutdown (shim_shutdown) and on demand (flush_stats_print).
 */
#include <stdio.h>
#include <string.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/flush_defer.h>
#include <minishim/ipi.h>

static struct flush_stats stats;

#define ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

const char *flush_reason_name(enum flush_reason r)
{
    static const char *const names[FLUSH_NR_REASONS] = {
        [FLUSH_R_NOTHING] = "nothing to flush",
        [FLUSH_R_LOCAL_ONLY] = "local only",
        [FLUSH_R_IPI_NO_ASSIST] = "ipi: forced (NO_ASSIST)",
        [FLUSH_R_IPI_POLICY] = "ipi: flush=ipi",
        [FLUSH_R_IPI_FLAGS] = "ipi: flags not assistable",
        [FLUSH_R_IPI_NO_BACKEND] = "ipi: no L0 flush",
        [FLUSH_R_ASSISTED] = "assisted by L0",
        [FLUSH_R_IPI_FALLBACK] = "ipi: fallback after L0 error",
    };

    return (unsigned int)r < FLUSH_NR_REASONS ? names[r] : "?";
}

unsigned int flush_hist_bucket(uint64_t cycles)
{
    unsigned int b;

    if (cycles < 2)
        return 0;
    b = 63u - (unsigned int)__builtin_clzll(cycles);
    return b < FLUSH_HIST_BUCKETS ? b : FLUSH_HIST_BUCKETS - 1;
}

void flush_stats_count(enum flush_reason r)
{
    if ((unsigned int)r < FLUSH_NR_REASONS)
        ADD(stats.reason[r], 1);
}

void flush_stats_count_tagged(enum flush_reason r, unsigned int flags)
{
    if ((unsigned int)r >= FLUSH_NR_REASONS)
        return;
    if (flags & FLUSH_TAG_PT_RETYPE)
        ADD(stats.retype[r], 1);
    if (flags & FLUSH_TAG_BALLOON)
        ADD(stats.balloon[r], 1);
}

void flush_stats_remote(enum flush_path path, unsigned int nr_cpus, uint64_t cycles)
{
    if ((unsigned int)path >= FLUSH_NR_PATHS)
        return;
    if (path == FLUSH_PATH_ASSIST)
        ADD(stats.assist_cpus, nr_cpus);
    else
        ADD(stats.ipi_cpus, nr_cpus);
    if (cycles != FLUSH_UNTIMED)
        ADD(stats.hist[path][flush_hist_bucket(cycles)], 1);
}

void flush_stats_backend_error(int rc)
{
    ADD(stats.backend_errors, 1);
    __atomic_store_n(&stats.last_backend_error, (int64_t)rc, __ATOMIC_RELAXED);
}

void flush_stats_spurious_pf(void)
{
    ADD(stats.spurious_pf, 1);
}

void flush_stats_tlbclock_skipped(unsigned int nr_cpus)
{
    if (nr_cpus)
        ADD(stats.tlbclock_skipped, nr_cpus);
}

uint64_t flush_stats_walker_stale_read(void)
{
    return ADD(stats.walker_stale_reads, 1) + 1;
}

void flush_stats_get(struct flush_stats *out)
{
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
        out->reason[r] = GET(stats.reason[r]);
    out->ipi_cpus = GET(stats.ipi_cpus);
    out->assist_cpus = GET(stats.assist_cpus);
    out->backend_errors = GET(stats.backend_errors);
    out->last_backend_error = GET(stats.last_backend_error);
    for (unsigned int p = 0; p < FLUSH_NR_PATHS; p++)
        for (unsigned int b = 0; b < FLUSH_HIST_BUCKETS; b++)
            out->hist[p][b] = GET(stats.hist[p][b]);
    out->spurious_pf = GET(stats.spurious_pf);
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
        out->retype[r] = GET(stats.retype[r]);
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
        out->balloon[r] = GET(stats.balloon[r]);
    out->tlbclock_skipped = GET(stats.tlbclock_skipped);
    out->walker_stale_reads = GET(stats.walker_stale_reads);
}

void flush_stats_reset(void)
{
    memset(&stats, 0, sizeof(stats));
}

static void print_hist(const char *name, const uint64_t *h)
{
    uint64_t total = 0;

    for (unsigned int b = 0; b < FLUSH_HIST_BUCKETS; b++)
        total += h[b];
    if (!total)
        return;
    if (flush_timing_every() > 1)
        pr_info("flush: %s remote-flush latency, TSC cycles (%lu timed flushes, 1 in %u: "
                "a TSC read costs %lu cycles here):\n", name, (unsigned long)total,
                flush_timing_every(), (unsigned long)flush_tsc_read_cycles());
    else
        pr_info("flush: %s remote-flush latency, TSC cycles (%lu flushes):\n", name,
                (unsigned long)total);
    for (unsigned int b = 0; b < FLUSH_HIST_BUCKETS; b++)
        if (h[b])
            pr_info("flush:   [2^%u, 2^%u) %lu\n", b, b + 1, (unsigned long)h[b]);
}

/*
 * One "flush: stats" line of key=value pairs (stable keys, for the test
 * scripts that grep it), then the histograms that have entries.
 */
void flush_stats_print(void)
{
    static const char *const key[FLUSH_NR_REASONS] = {
        [FLUSH_R_NOTHING] = "nothing",
        [FLUSH_R_LOCAL_ONLY] = "local",
        [FLUSH_R_IPI_NO_ASSIST] = "ipi-forced",
        [FLUSH_R_IPI_POLICY] = "ipi-policy",
        [FLUSH_R_IPI_FLAGS] = "ipi-flags",
        [FLUSH_R_IPI_NO_BACKEND] = "ipi-nobackend",
        [FLUSH_R_ASSISTED] = "assisted",
        [FLUSH_R_IPI_FALLBACK] = "ipi-fallback",
    };
    struct flush_stats s;
    char line[640];
    int n;

    flush_stats_get(&s);
    n = snprintf(line, sizeof(line), "flush: stats policy=%s",
                 flush_policy_name(flush_policy()));
    for (unsigned int r = 0; r < FLUSH_NR_REASONS && n > 0 && (size_t)n < sizeof(line); r++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%lu", key[r],
                      (unsigned long)s.reason[r]);
    if (n > 0 && (size_t)n < sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n,
                 " ipi-cpus=%lu assist-cpus=%lu l0-errors=%lu l0-last-error=%ld spurious-pf=%lu",
                 (unsigned long)s.ipi_cpus, (unsigned long)s.assist_cpus,
                 (unsigned long)s.backend_errors, (long)s.last_backend_error,
                 (unsigned long)s.spurious_pf);
    /* Retype-away-from-page-table flushes (FLUSH_TAG_PT_RETYPE) that had
     * remote CPUs: by IPI, and to L0 (must stay 0: the safety rule in
     * flush.c); and those that needed this CPU only. */
    {
        uint64_t ipi = 0, bipi = 0;
        size_t m = strlen(line);

        for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
            if (r != FLUSH_R_NOTHING && r != FLUSH_R_LOCAL_ONLY && r != FLUSH_R_ASSISTED) {
                ipi += s.retype[r];
                bipi += s.balloon[r];
            }
        if (m < sizeof(line))
            snprintf(line + m, sizeof(line) - m,
                     " retype-local=%lu retype-ipi=%lu retype-assisted=%lu",
                     (unsigned long)s.retype[FLUSH_R_LOCAL_ONLY], (unsigned long)ipi,
                     (unsigned long)s.retype[FLUSH_R_ASSISTED]);
        m = strlen(line);
        if (m < sizeof(line))
            snprintf(line + m, sizeof(line) - m, " ipi-resends=%lu tlbclock-skipped=%lu",
                     (unsigned long)ipi_resend_count(), (unsigned long)s.tlbclock_skipped);
        /* debug=pt-gen (shim/ptdebug.c): page-table reads of the spurious
         * #PF walker from a frame retyped under it; 0 unless the safety
         * rule is broken (or the aid is off). */
        m = strlen(line);
        if (m < sizeof(line))
            snprintf(line + m, sizeof(line) - m, " walker-stale-reads=%lu",
                     (unsigned long)s.walker_stale_reads);
        /* Flushes before ballooned-out frames are released or reused
         * (FLUSH_TAG_BALLOON): the same rule as retypes. */
        m = strlen(line);
        if (m < sizeof(line))
            snprintf(line + m, sizeof(line) - m,
                     " balloon-local=%lu balloon-ipi=%lu balloon-assisted=%lu",
                     (unsigned long)s.balloon[FLUSH_R_LOCAL_ONLY], (unsigned long)bipi,
                     (unsigned long)s.balloon[FLUSH_R_ASSISTED]);
    }
    pr_info("%s\n", line);
    /* flush-safety (shim/flush_defer.c), on a line of its own: retype
     * flushes that ran a walk-epoch grace period, those that found a CPU
     * inside a walk, the longest wait, those that fell back to the IPI
     * interlock. */
    {
        struct flush_defer_stats d;

        flush_defer_stats_get(&d);
        pr_info("flush: safety flush-safety=%s defer-retypes=%lu defer-waited=%lu"
                " defer-wait-max-cycles=%lu defer-fallback=%lu\n",
                flush_safety_name(flush_safety()), (unsigned long)d.retypes,
                (unsigned long)d.waited, (unsigned long)d.wait_max_cycles,
                (unsigned long)d.fallback);
    }
    print_hist("assisted", s.hist[FLUSH_PATH_ASSIST]);
    print_hist("ipi", s.hist[FLUSH_PATH_IPI]);
}
