/*
 * memory_op (pv/memory_op.c): every sub-op with Xen 4.17's checks.
 */
#ifndef MINISHIM_PV_MEMORY_OP_H
#define MINISHIM_PV_MEMORY_OP_H

#include <minishim/types.h>

long do_memory_op(unsigned long cmd, uint64_t arg);

/* Ballooning counts (pv/memory_op.c), in frames: out of the guest, back
 * in, released to L0, freed to the shim's pool without a Xen L0, kept in
 * the pool when L0 did not take them, brought back from L0, L0 calls that
 * failed and the last error. */
struct pv_balloon_stats {
    unsigned long out, in, released_l0, freed_local, kept, back_from_l0;
    unsigned long l0_errors;
    long l0_last_error;
};
void pv_balloon_stats_get(struct pv_balloon_stats *out);
/* One "balloon: ..." line when anything was ballooned (shutdown, and
 * sysctl debug key 'f'). */
void pv_balloon_print(void);

#endif
