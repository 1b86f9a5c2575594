/*
 * The flush engine's interface (implementation: shim/flush.c, the only
 * place that decides HOW a flush is delivered). Callers say WHAT must be
 * flushed and WHY; see DESIGN.md "One place for each decision".
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
                                          (retype away from a page table,
                                          allocator reuse) */

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

#endif
