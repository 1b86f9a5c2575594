/*
 * The TLB clock (shim/tlbclock.c): lets page-type changes flush only the
 * CPUs that may still cache a stale translation of a page, instead of every
 * CPU (the idea of Xen's tlbflush_clock).
 *
 * How it is used (pv/mm.c, Xen's tlbflush_timestamp):
 *  - Each time a typed mapping of a frame goes, after the entry is cleared,
 *    the frame's own field records  stamp = tlbclock_now()  (never a field
 *    shared with other page state: a stale or reinterpreted stamp would
 *    skip a needed flush).
 *  - On a type change:  mask = CPUs that may hold it;
 *    tlbclock_filter(&mask, stamp);  flush_mask(&mask, ...).
 * A stamp of 0 means "unknown": nothing is filtered.
 */
#ifndef MINISHIM_TLBCLOCK_H
#define MINISHIM_TLBCLOCK_H

#include <minishim/cpumask.h>

/* Boot: enabled = tlbclock=on. start is the first clock value (1 at boot;
 * tests start near the top to exercise the wrap). */
void tlbclock_init(bool enabled, uint64_t start);
/* False when tlbclock=off or after the clock ran out (wrap). */
bool tlbclock_enabled(void);

/* The page stamp to record now. 0 when the clock is off. */
uint64_t tlbclock_now(void);

/*
 * Bracket a full flush (global entries included) that THIS CPU executes:
 *   t = tlbclock_pre_flush();  <flush>;  tlbclock_post_flush(cpu, t);
 * flush_local() does this; nothing else should.
 */
uint64_t tlbclock_pre_flush(void);
void tlbclock_post_flush(unsigned int cpu, uint64_t t);
/* The time of cpu's last full flush (0: none recorded). */
uint64_t tlbclock_cpu_time(unsigned int cpu);

/* Remove from mask every CPU that has fully flushed since stamp. With the
 * clock off, or a stamp of 0 or from the future, mask is left unchanged. */
void tlbclock_filter(cpumask_t *mask, uint64_t stamp);

#endif
