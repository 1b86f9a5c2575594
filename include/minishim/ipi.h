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

/*
 * A full flush (global entries too) that every online CPU in mask except
 * the caller runs when it next serves the flush vector; returns at once,
 * without waiting for any target nor for an earlier request (it uses no
 * request slot). It gives no completion guarantee: for inject=
 * fake-l0-flush only (shim/flush.c), which stands in for an L0 flush.
 */
void ipi_flush_async(const cpumask_t *mask);

/*
 * Event check (Xen's smp_send_event_check_cpu): interrupt CPU cpu on
 * IPI_VECTOR_EVENT and return at once. The handler does nothing but EOI;
 * the interrupt wakes a CPU halted in arch_wait_for_interrupt, and one
 * taken in guest context passes through the guest trap handler (which
 * delivers pending upcalls, parks a downed vCPU). No-op for this CPU or a
 * CPU that is not online. Never waits for the target: safe under locks.
 */
void ipi_event_check(unsigned int cpu);

/* How often a waiting sender re-sent its vector to targets that had not
 * picked its request up (shim/ipi.c IPI_RESEND_SPINS). */
uint64_t ipi_resend_count(void);

#endif
