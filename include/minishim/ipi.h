/*
 * Inter-processor interrupts between shim CPUs (implementation:
 * shim/ipi.c over the local APIC). Remote operations are spelled as a local
 * part (flush_local) plus a remote part (these), as in seL4.
 */
#ifndef MINISHIM_IPI_H
#define MINISHIM_IPI_H

#include <minishim/cpumask.h>
#include <minishim/flush.h>

/*
 * Make every online CPU in mask except the caller run flush_local(req) from
 * the flush vector; returns once each has done so. CPUs not online are
 * skipped. Safe to call with interrupts disabled (it must not deadlock
 * against a CPU that is itself waiting in ipi_flush_mask).
 */
void ipi_flush_mask(const cpumask_t *mask, const struct flush_request *req);

/* Run fn(arg) on every online CPU in mask except the caller; with wait,
 * return only after all have finished. */
void ipi_call_mask(const cpumask_t *mask, void (*fn)(void *), void *arg, bool wait);

#endif
