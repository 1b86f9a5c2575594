/*
 * flush-safety=defer: walk epochs and the grace period that replaces the
 * IPI interlock with the spurious-#PF walker (the argument, step by step:
 * docs/flush-safety.md).
 *
 * INVARIANT: walk_epoch[c] is odd exactly while CPU c is between
 * walk_epoch_enter() and walk_epoch_exit(), i.e. inside the IRQ-off walk of
 * spurious_page_fault(). Both updates are locked read-modify-writes (full
 * barriers), and flush_defer_grace() issues a full barrier before its
 * snapshot, so for a page-table page unhooked before the snapshot either
 * the walker's loads see it unhooked, or the snapshot sees the walker's
 * odd epoch and waits until that walk has ended (Dekker's pattern).
 * Epochs are only compared for equality with a snapshot, so the wrap at
 * 2^64 is harmless (UINT64_MAX is odd: parity survives it).
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/flush_defer.h>
#include <minishim/percpu.h>
#include <minishim/timer.h>

static enum flush_safety safety = FLUSH_SAFETY_IPI;
static uint64_t walk_epochs[NR_CPUS];
static struct flush_defer_stats dstats;

#define ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void flush_defer_init(enum flush_safety mode, uint64_t epoch_start)
{
    safety = mode;
    for (unsigned int c = 0; c < NR_CPUS; c++)
        __atomic_store_n(&walk_epochs[c], epoch_start & ~1ULL, __ATOMIC_SEQ_CST);
    memset(&dstats, 0, sizeof(dstats));
}

enum flush_safety flush_safety(void)
{
    return safety;
}

const char *flush_safety_name(enum flush_safety mode)
{
    switch (mode) {
    case FLUSH_SAFETY_IPI: return "ipi";
    case FLUSH_SAFETY_DEFER: return "defer";
    }
    return "?";
}

void walk_epoch_enter(void)
{
    unsigned int c = arch_cpu_id();

    /* Locked add: a full barrier before the walk's first load. */
    if (c < NR_CPUS)
        __atomic_fetch_add(&walk_epochs[c], 1, __ATOMIC_SEQ_CST);
}

void walk_epoch_exit(void)
{
    unsigned int c = arch_cpu_id();

    /* Every entry read of the walk is done before the epoch moves on. */
    if (c < NR_CPUS)
        __atomic_fetch_add(&walk_epochs[c], 1, __ATOMIC_SEQ_CST);
}

uint64_t walk_epoch(unsigned int cpu)
{
    return cpu < NR_CPUS ? __atomic_load_n(&walk_epochs[cpu], __ATOMIC_SEQ_CST) : 0;
}

void walk_grace_start(struct walk_grace *g, const cpumask_t *cpus)
{
    /* The unhook (and the flush) before this snapshot are globally visible
     * before any epoch is read. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    cpumask_clear(&g->pending);
    for_each_cpu(c, cpus) {
        uint64_t e = walk_epoch(c);

        g->snap[c] = e;
        if (e & 1)
            cpumask_set(&g->pending, c);
    }
}

bool walk_grace_poll(struct walk_grace *g)
{
    for_each_cpu(c, &g->pending) {
        /* Moved on: the walk seen in the snapshot has ended (a new one
         * began after the unhook and cannot reach the page). */
        if (walk_epoch(c) != g->snap[c])
            cpumask_clear_cpu(&g->pending, c);
    }
    return cpumask_empty(&g->pending);
}

bool flush_defer_grace(unsigned int self, cpumask_t *laggards)
{
    struct walk_grace g;
    cpumask_t cpus;
    uint64_t t0, until, dt, max;
    bool done;

    /* Every CPU, online or not: one that is not cannot be walking (its
     * epoch is even), and a CPU that came online during the flush must
     * not be missed. */
    cpumask_clear(&cpus);
    for (unsigned int c = 0; c < NR_CPUS; c++)
        if (c != self)
            cpumask_set(&cpus, c);
    ADD(dstats.retypes, 1);
    walk_grace_start(&g, &cpus);
    if (walk_grace_poll(&g)) {
        cpumask_clear(laggards);
        return true;
    }
    t0 = arch_rdtsc();
    until = clock_now_ns() + FLUSH_DEFER_WAIT_NS;
    while (!(done = walk_grace_poll(&g)) && clock_now_ns() < until)
        arch_cpu_relax();
    dt = arch_rdtsc() - t0;
    ADD(dstats.waited, 1);
    max = GET(dstats.wait_max_cycles);
    while (max < dt && !__atomic_compare_exchange_n(&dstats.wait_max_cycles, &max, dt, false,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    *laggards = g.pending;
    return done;
}

void flush_defer_count_fallback(void)
{
    ADD(dstats.fallback, 1);
}

void flush_defer_stats_get(struct flush_defer_stats *out)
{
    out->retypes = GET(dstats.retypes);
    out->waited = GET(dstats.waited);
    out->wait_max_cycles = GET(dstats.wait_max_cycles);
    out->fallback = GET(dstats.fallback);
}
