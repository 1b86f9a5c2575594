/*
 * Inter-processor interrupts between shim CPUs (implementation:
 * shim/ipi.c over the local APIC). A generic remote call: the IPI layer
 * knows nothing of what the function does. Remote operations are spelled
 * as a local operation plus this remote call, as in seL4; the flush
 * engine's remote flush is flush_ipi_mask (shim/flush_ipi.c).
 */
#ifndef MINISHIM_IPI_H
#define MINISHIM_IPI_H

#include <minishim/cpumask.h>
#include <minishim/regs.h>

/*
 * The remote call: make every online CPU in mask except the caller run
 * fn(arg) from the handler of vector (IPI_VECTOR_FLUSH or IPI_VECTOR_CALL,
 * include/minishim/apic.h); CPUs not online are skipped. With wait, return
 * once every target has finished fn; without, return once the request is
 * posted (the caller's next remote call first waits for it, so arg must
 * stay valid until then). Safe to call with interrupts disabled: a sender
 * serves the requests posted to it while it waits, so two CPUs calling
 * each other do not deadlock. fn runs with interrupts off and must not
 * wait for another CPU except through this call.
 */
void ipi_remote_call(const cpumask_t *mask, unsigned int vector, void (*fn)(void *),
                     void *arg, bool wait);

/* ipi_remote_call on the call vector. */
void ipi_call_mask(const cpumask_t *mask, void (*fn)(void *), void *arg, bool wait);

/*
 * Work a CPU runs the next time it serves IPIs, posted without a request
 * slot: posting never waits (neither for the targets nor for an earlier
 * request), and a CPU posted to several times before it serves runs fn
 * once. No completion guarantee. The owner defines one static struct per
 * kind of work, { .fn = ... }; ipi.c takes note of it at its first post
 * (at most IPI_ASYNC_MAX kinds).
 */
#define IPI_ASYNC_MAX 4
struct ipi_async {
    void (*fn)(void);
    cpumask_t pending;      /* targets that have not run fn yet (ipi.c's) */
    bool registered;        /* ipi.c's */
};
/* Mark every online CPU in mask except the caller and send them vector. */
void ipi_async_post(struct ipi_async *w, const cpumask_t *mask, unsigned int vector);

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

/* Serve every request posted to this CPU (the vectors, wait loops, idle). */
void ipi_service(void);
/* Interrupt handler for IPI_VECTOR_FLUSH and IPI_VECTOR_CALL. */
void ipi_interrupt(struct cpu_regs *regs);
/* Interrupt handler for IPI_VECTOR_EVENT (EOI only). */
void ipi_event_interrupt(struct cpu_regs *regs);
/* Unit tests: replace the APIC send by fn (NULL restores the APIC). */
void ipi_set_send_hook(void (*fn)(const cpumask_t *targets, unsigned int vector));

#endif
