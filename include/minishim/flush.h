/*
 * The flush engine's interface (implementation: shim/flush.c, the only
 * place that decides HOW a flush is delivered). Callers say WHAT must be
 * flushed and WHY; no other file chooses between IPIs and L0
 * (docs/architecture.md, "Layers").
 */
#ifndef MINISHIM_FLUSH_H
#define MINISHIM_FLUSH_H

#include <minishim/cpumask.h>

/* What to flush. */
#define FLUSH_TLB          (1u << 0)   /* non-global TLB entries            */
#define FLUSH_TLB_GLOBAL   (1u << 1)   /* global entries too                */
#define FLUSH_VA_VALID     (1u << 2)   /* only 'va' (with 'order'), not all */
/* Why / constraints. */
#define FLUSH_NO_ASSIST    (1u << 8)   /* must be delivered by IPI: interlocks
                                          with the IRQ-off spurious #PF walker
                                          (retype away from a page table) */
#define FLUSH_PT_REUSE     (1u << 9)   /* precedes the reuse (retype) of a
                                          former page-table page: the flush
                                          must also exclude the spurious-#PF
                                          walker. flush.c does that by IPI
                                          (flush-safety=ipi: as NO_ASSIST) or
                                          by a grace period over walk epochs
                                          (defer; shim/flush_defer.c) */
/* Telemetry tags: say what a flush is for; they never change how it is
 * delivered (remote_reason() and the backends ignore them). */
#define FLUSH_TAG_PT_RETYPE (1u << 12)  /* a page-table page changes type
                                          (pv/mm.c type_change_flush) */
#define FLUSH_TAG_BALLOON   (1u << 13)  /* guest frames leave the guest
                                          (ballooned out) before their
                                          release or reuse (pv/memory_op.c) */
#define FLUSH_TAGS          (FLUSH_TAG_PT_RETYPE | FLUSH_TAG_BALLOON)

struct flush_request {
    unsigned int flags;
    vaddr_t va;                 /* with FLUSH_VA_VALID                     */
    unsigned int order;         /* flush 2^order pages from va             */
};

/* Flush this CPU as req says. Also run by the flush IPI handler. */
void flush_local(const struct flush_request *req);
/* Flush every CPU in mask (this one included if set); returns when done. */
void flush_mask(const cpumask_t *mask, unsigned int flags, vaddr_t va,
                unsigned int order);

/*
 * The remote part by IPI (shim/flush_ipi.c): every online CPU in mask
 * except the caller runs flush_local(req) from the flush vector; returns
 * once each has done so (so a CPU that acknowledged has left any
 * interrupts-off walk: the safety rule's interlock). Safe with interrupts
 * disabled (shim/ipi.c's remote call serves requests while it waits).
 */
void flush_ipi_mask(const cpumask_t *mask, const struct flush_request *req);
/*
 * A full flush (global entries too) that every online CPU in mask except
 * the caller runs when it next serves its IPIs; returns at once, without
 * waiting for any target nor for an earlier request. No completion
 * guarantee: for inject=fake-l0-flush only (shim/flush.c's
 * fake_l0_flush, which sends it to the CPUs inside the walker).
 */
void flush_ipi_async(const cpumask_t *mask);

/*
 * Semantics the engine guarantees (and every backend must honour):
 * - FLUSH_TLB alone (no VA): every non-global entry (a CR3 reload).
 *   PV guest user mappings may be global, so a guest "flush everything"
 *   must say FLUSH_TLB_GLOBAL.
 * - FLUSH_TLB_GLOBAL: every entry, global ones included.
 * - FLUSH_VA_VALID: the 2^order pages from va, global entries included
 *   (INVLPG semantics). Above FLUSH_INVLPG_MAX_ORDER the local part is a
 *   full global flush; an assisted flush may also flush more than asked.
 * - Neither TLB flag: nothing to flush (counted, no work).
 * - CPUs in mask that are not online are skipped: a CPU coming online
 *   must start from a fully flushed TLB (AP start-up loads CR3 fresh).
 */
#define FLUSH_INVLPG_MAX_ORDER 4        /* up to 16 INVLPGs, then a full flush */
/* Flags an L0-assisted flush may carry; any other bit means IPIs. */
#define FLUSH_ASSIST_WHITELIST (FLUSH_TLB | FLUSH_TLB_GLOBAL | FLUSH_VA_VALID)

/* flush= on the command line. 'assist' uses L0 even when L0 does not
 * recommend it (Hyper-V CPUID 0x40000004); NO_ASSIST is always honoured. */
enum flush_policy { FLUSH_POLICY_AUTO, FLUSH_POLICY_IPI, FLUSH_POLICY_ASSIST };

/* Set the policy once at boot (after l0_setup). Default: auto. */
void flush_init(enum flush_policy policy);
enum flush_policy flush_policy(void);
/* Remote-flush timing: 1 when every remote part is timed, else
 * FLUSH_TIMING_SAMPLE (TSC reads are trapped by L0: flush.c's header);
 * and what one TSC read cost when flush_init measured it, in cycles. */
#define FLUSH_TIMING_SAMPLE 16u
unsigned int flush_timing_every(void);
uint64_t flush_tsc_read_cycles(void);
const char *flush_policy_name(enum flush_policy p);

/*
 * Telemetry (shim/flush_stats.c). Every flush_mask call is counted under
 * exactly one reason: the first that applies, in this order.
 */
enum flush_reason {
    FLUSH_R_NOTHING,        /* no TLB flag, or no online CPU in the mask   */
    FLUSH_R_LOCAL_ONLY,     /* only this CPU needed flushing               */
    FLUSH_R_IPI_NO_ASSIST,  /* forced IPI: caller said FLUSH_NO_ASSIST     */
    FLUSH_R_IPI_POLICY,     /* flush=ipi                                   */
    FLUSH_R_IPI_FLAGS,      /* a flag outside FLUSH_ASSIST_WHITELIST       */
    FLUSH_R_IPI_NO_BACKEND, /* L0 has no flush op (or, in auto, does not
                               recommend it)                              */
    FLUSH_R_ASSISTED,       /* remote part done by L0                      */
    FLUSH_R_IPI_FALLBACK,   /* L0 refused or failed; IPIs did it           */
    FLUSH_NR_REASONS
};
const char *flush_reason_name(enum flush_reason r);

/* Remote-flush latency histograms: bucket b counts remote parts that took
 * [2^b, 2^(b+1)) TSC cycles (bucket 0 also holds 0 and 1). */
#define FLUSH_HIST_BUCKETS 48
enum flush_path { FLUSH_PATH_ASSIST, FLUSH_PATH_IPI, FLUSH_NR_PATHS };

struct flush_stats {
    uint64_t reason[FLUSH_NR_REASONS];
    uint64_t ipi_cpus;              /* remote CPUs flushed by IPI, summed   */
    uint64_t assist_cpus;           /* remote CPUs flushed by L0, summed    */
    uint64_t backend_errors;
    int64_t last_backend_error;     /* last -errno from l0_flush_tlb        */
    uint64_t hist[FLUSH_NR_PATHS][FLUSH_HIST_BUCKETS];
    uint64_t spurious_pf;           /* #PFs spurious_page_fault() absorbed  */
    /* flush_mask calls tagged FLUSH_TAG_PT_RETYPE, by reason again: the
     * bed asserts that none was assisted and some went by IPI. */
    uint64_t retype[FLUSH_NR_REASONS];
    /* ... and those tagged FLUSH_TAG_BALLOON (frames leaving the guest):
     * the same rule, the same assertion. */
    uint64_t balloon[FLUSH_NR_REASONS];
    /* CPUs the TLB clock removed from type-change flushes (pv/mm.c). */
    uint64_t tlbclock_skipped;
    /* debug=pt-gen: spurious #PF walker reads from a frame that was no
     * longer a page table (shim/ptdebug.c). */
    uint64_t walker_stale_reads;
};

unsigned int flush_hist_bucket(uint64_t cycles);
void flush_stats_count(enum flush_reason r);
/* The same flush counted once more under its tag (FLUSH_TAG_*). */
void flush_stats_count_tagged(enum flush_reason r, unsigned int flags);
/* cycles == FLUSH_UNTIMED: a remote part not timed (sampling): counted,
 * kept out of the histogram. */
#define FLUSH_UNTIMED UINT64_MAX
void flush_stats_remote(enum flush_path path, unsigned int nr_cpus, uint64_t cycles);
void flush_stats_backend_error(int rc);
void flush_stats_spurious_pf(void);
void flush_stats_tlbclock_skipped(unsigned int nr_cpus);
/* One more walker stale read (debug=pt-gen); returns the new count. */
uint64_t flush_stats_walker_stale_read(void);
/* A consistent-enough copy (each counter is read atomically). */
void flush_stats_get(struct flush_stats *out);
void flush_stats_reset(void);
/* Print every counter and both histograms at info level. */
void flush_stats_print(void);

#endif
