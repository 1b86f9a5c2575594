/*
 * flush-safety=defer (shim/flush_defer.c; the argument is in
 * docs/flush-safety.md): per-CPU walk epochs that let a flush before the
 * reuse of a former page-table page go to L0, and then wait only for the
 * CPUs that are inside a spurious-#PF walk at that moment, instead of
 * interlocking with every target CPU through a flush IPI.
 */
#ifndef MINISHIM_FLUSH_DEFER_H
#define MINISHIM_FLUSH_DEFER_H

#include <minishim/cpumask.h>

/* flush-safety= on the command line. */
enum flush_safety {
    FLUSH_SAFETY_IPI,       /* FLUSH_PT_REUSE flushes go by IPI (Xen's rule) */
    FLUSH_SAFETY_DEFER,     /* any path, then a grace period over walk epochs */
};

/* How long a retype waits for CPUs inside a walk before it falls back to
 * the IPI interlock for them. */
#define FLUSH_DEFER_WAIT_NS (1000ULL * 1000)

/* Boot (and tests): the mode, and every CPU's epoch set to epoch_start
 * rounded down to even (tests start near 2^64 to exercise the wrap). */
void flush_defer_init(enum flush_safety mode, uint64_t epoch_start);
enum flush_safety flush_safety(void);
const char *flush_safety_name(enum flush_safety mode);

/* The walker (shim/spurious_pf.c), with interrupts off: enter before the
 * first read of CR3, exit after the last entry read. */
void walk_epoch_enter(void);
void walk_epoch_exit(void);
uint64_t walk_epoch(unsigned int cpu);

/*
 * A grace period: start() snapshots the epochs of the CPUs in cpus and
 * keeps those inside a walk (odd) as pending; poll() drops every pending
 * CPU whose epoch moved and returns true when none is left.
 */
struct walk_grace {
    cpumask_t pending;
    uint64_t snap[NR_CPUS];
};
void walk_grace_start(struct walk_grace *g, const cpumask_t *cpus);
bool walk_grace_poll(struct walk_grace *g);

/*
 * The grace period flush_mask() runs after a FLUSH_PT_REUSE flush in
 * defer mode: every CPU but the caller, waited for at most
 * FLUSH_DEFER_WAIT_NS. Returns false with *laggards = the CPUs still
 * inside their walk when the bound was hit (the caller then interlocks
 * with them by IPI); counts the wait in the statistics.
 */
bool flush_defer_grace(unsigned int self, cpumask_t *laggards);

struct flush_defer_stats {
    uint64_t retypes;           /* FLUSH_PT_REUSE flushes that ran a grace  */
    uint64_t waited;            /* ... that found a CPU inside a walk       */
    uint64_t wait_max_cycles;   /* the longest such wait (TSC cycles)       */
    uint64_t fallback;          /* ... that hit the bound: IPI interlock    */
};
void flush_defer_stats_get(struct flush_defer_stats *out);
void flush_defer_count_fallback(void);

#endif
