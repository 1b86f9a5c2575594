/*
 * IPIs between shim CPUs (contract: include/minishim/ipi.h; vectors:
 * include/minishim/apic.h).
 *
 * Each sender CPU owns one request slot (what to run, and the mask of
 * targets that have not acknowledged yet). A target learns about a request
 * from its own "pending senders" mask, which the sender sets before the
 * interrupt. ipi_service() runs every pending request on this CPU and
 * acknowledges it; it is called from the flush and call vectors, and by a
 * sender while it waits, so two CPUs that call each other with interrupts
 * disabled both make progress (each serves the other's request from its
 * wait loop) instead of deadlocking. What a request does is its caller's
 * business: this file only runs fn(arg) (the flush engine's remote flush
 * is one such function, shim/flush_ipi.c).
 *
 * A target that goes offline before it picked a request up is dropped
 * from the wait (what it missed is the caller's to make good: the flush
 * engine flushes a CPU's TLB when it comes back online, smp.c).
 */
#include <minishim/apic.h>
#include <minishim/arch.h>
#include <minishim/inject.h>
#include <minishim/ipi.h>
#include <minishim/percpu.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/spinlock.h>

struct ipi_slot {
    void (*fn)(void *);
    void *arg;
    unsigned int vector;
    cpumask_t pending;              /* targets that have not acknowledged */
} __aligned(64);

static struct ipi_slot slots[NR_CPUS];
static uint64_t resends;            /* ipi_resend_count() */

/*
 * Spins of a sender's wait loop before it sends its vector again to the
 * targets that have not picked the request up. An edge IPI whose IRR bit
 * is already set merges with it, and one to a CPU that already served us
 * only makes it scan once more, so a resend is harmless; it unsticks a
 * target whose interrupt went missing. QEMU 7.2 TCG has been seen holding
 * a flush vector in a target's IRR (ISR empty, PPR 0, guest running with
 * IF=1) indefinitely while the sender waited with interrupts off; a second
 * IPI makes the target poll its APIC again.
 */
#define IPI_RESEND_SPINS (1u << 20)
static cpumask_t pending_from[NR_CPUS];    /* [target]: senders to serve */

/* Test hook: how the request reaches the target (default: the APIC). */
static void (*send_fn)(const cpumask_t *targets, unsigned int vector);

void ipi_set_send_hook(void (*fn)(const cpumask_t *, unsigned int))
{
    send_fn = fn;
}

/* The vector to targets (all_but_self: the shorthand reaches them). */
static void send_raw(const cpumask_t *targets, unsigned int vector, bool all_but_self)
{
    if (send_fn)
        send_fn(targets, vector);
    else if (all_but_self)
        apic_send_ipi_all_but_self(vector);     /* one ICR write */
    else
        apic_send_ipi_mask(targets, vector);
}

/*
 * A first send, through the IPI fault points (docs/fault-injection.md):
 * a dropped IPI is recovered by the sender's resend (flush and call) or
 * the sleep backstop (event check); a duplicate is served as one; a late
 * one only waits longer. Resends go straight to send_raw: they are the
 * recovery. Unarmed, one load and a not-taken branch.
 */
#define IPI_FAULTS ((1u << INJECT_IPI_DROP) | (1u << INJECT_IPI_DUP) | \
                    (1u << INJECT_IPI_DELAY))

static void send_first(const cpumask_t *targets, unsigned int vector, bool all_but_self)
{
    if (inject_any_armed(IPI_FAULTS)) {
        if (inject_hit(INJECT_IPI_DROP))
            return;
        if (inject_hit(INJECT_IPI_DELAY))
            apic_udelay(INJECT_IPI_DELAY_US);
        if (inject_hit(INJECT_IPI_DUP))
            send_raw(targets, vector, all_but_self);
    }
    send_raw(targets, vector, all_but_self);
}

static void atomic_mask_set(cpumask_t *m, unsigned int cpu)
{
    __atomic_fetch_or(&m->bits[cpu / 64], 1ULL << (cpu % 64), __ATOMIC_SEQ_CST);
}

static bool atomic_mask_test_clear(cpumask_t *m, unsigned int cpu)
{
    uint64_t bit = 1ULL << (cpu % 64);

    return __atomic_fetch_and(&m->bits[cpu / 64], ~bit, __ATOMIC_SEQ_CST) & bit;
}

/* Read a bit other CPUs set and clear atomically: one atomic load. */
static bool atomic_mask_test(const cpumask_t *m, unsigned int cpu)
{
    return (__atomic_load_n(&m->bits[cpu / 64], __ATOMIC_ACQUIRE) >> (cpu % 64)) & 1;
}

static bool atomic_mask_empty(const cpumask_t *m)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        if (__atomic_load_n(&m->bits[i], __ATOMIC_ACQUIRE))
            return false;
    return true;
}

static bool cpu_is_online(unsigned int cpu)
{
    return (__atomic_load_n(&cpu_online_mask.bits[cpu / 64], __ATOMIC_ACQUIRE) >>
            (cpu % 64)) & 1;
}

/* Slotless work kinds, in the order of their first post. */
static struct ipi_async *async_works[IPI_ASYNC_MAX];
static unsigned int nr_async;
static spinlock_t async_lock = SPINLOCK_INIT;

/* Once per kind, at its first post: published in async_works before
 * registered is set, so a poster that sees registered (acquire) knows
 * every server will find the kind. */
static void async_register(struct ipi_async *w)
{
    unsigned long flags;

    if (__atomic_load_n(&w->registered, __ATOMIC_ACQUIRE))
        return;
    flags = arch_irq_save();
    spin_lock(&async_lock);
    if (!w->registered) {
        if (nr_async >= IPI_ASYNC_MAX)
            panic("ipi: more than %u kinds of async work", IPI_ASYNC_MAX);
        async_works[nr_async] = w;
        __atomic_store_n(&nr_async, nr_async + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&w->registered, true, __ATOMIC_RELEASE);
    }
    spin_unlock(&async_lock);
    arch_irq_restore(flags);
}

void ipi_service(void)
{
    unsigned int self = arch_cpu_id();
    unsigned int n = __atomic_load_n(&nr_async, __ATOMIC_ACQUIRE);

    for (unsigned int i = 0; i < n; i++)
        if (atomic_mask_test_clear(&async_works[i]->pending, self))
            async_works[i]->fn();

    for (unsigned int s = 0; s < NR_CPUS; s++) {
        struct ipi_slot *slot = &slots[s];

        if (!atomic_mask_test_clear(&pending_from[self], s))
            continue;
        if (slot->fn)
            slot->fn(slot->arg);
        /* Acknowledge only after the work is done: the sender may be
         * waiting for completion (and may then reuse the slot). */
        atomic_mask_test_clear(&slot->pending, self);
    }
}

/*
 * Wait until every target acknowledged; serve our own requests meanwhile.
 * A target that went offline is dropped, but only if it had not picked
 * the request up yet (we take our bit back from its pending set): one
 * that did is running it and will acknowledge, and must not find the
 * slot refilled under it.
 */
static void resend(struct ipi_slot *slot, unsigned int self)
{
    cpumask_t late;

    cpumask_clear(&late);
    for (unsigned int c = 0; c < NR_CPUS; c++)
        if (atomic_mask_test(&slot->pending, c) && cpu_is_online(c) &&
            atomic_mask_test(&pending_from[c], self))
            cpumask_set(&late, c);
    if (cpumask_empty(&late))
        return;                     /* picked up: they are working on it */
    __atomic_fetch_add(&resends, 1, __ATOMIC_RELAXED);
    send_raw(&late, slot->vector, false);
}

uint64_t ipi_resend_count(void)
{
    return __atomic_load_n(&resends, __ATOMIC_RELAXED);
}

static void wait_slot(struct ipi_slot *slot, unsigned int self)
{
    unsigned int spins = 0;

    while (!atomic_mask_empty(&slot->pending)) {
        if (++spins % IPI_RESEND_SPINS == 0)
            resend(slot, self);
        ipi_service();
        for (unsigned int c = 0; c < NR_CPUS; c++)
            if (atomic_mask_test(&slot->pending, c) && !cpu_is_online(c) &&
                atomic_mask_test_clear(&pending_from[c], self))
                atomic_mask_test_clear(&slot->pending, c);
        arch_cpu_relax();
    }
}

static void remote_set(cpumask_t *out, const cpumask_t *mask, unsigned int self)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        out->bits[i] = mask->bits[i] &
                       __atomic_load_n(&cpu_online_mask.bits[i], __ATOMIC_ACQUIRE);
    cpumask_clear_cpu(out, self);
}

/* remote is every other online CPU (and there are several): the
 * all-but-self shorthand reaches them with one ICR write. CPUs that are
 * offline get it too and ignore it (nothing is pending for them). */
static bool all_but_self(const cpumask_t *remote, unsigned int self)
{
    cpumask_t others;

    remote_set(&others, &cpu_online_mask, self);
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        if (others.bits[i] != remote->bits[i])
            return false;
    return cpumask_weight(remote) >= 2;
}

void ipi_remote_call(const cpumask_t *mask, unsigned int vector, void (*fn)(void *),
                     void *arg, bool wait)
{
    unsigned int self = arch_cpu_id();
    struct ipi_slot *slot = &slots[self];
    unsigned long flags;
    cpumask_t remote;

    remote_set(&remote, mask, self);
    if (cpumask_empty(&remote))
        return;

    flags = arch_irq_save();
    wait_slot(slot, self);          /* a previous no-wait request */
    slot->vector = vector;
    slot->fn = fn;
    slot->arg = arg;
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        __atomic_store_n(&slot->pending.bits[i], remote.bits[i], __ATOMIC_RELEASE);
    for_each_cpu(c, &remote)
        atomic_mask_set(&pending_from[c], self);
    send_first(&remote, vector, !send_fn && all_but_self(&remote, self));
    if (wait)
        wait_slot(slot, self);
    arch_irq_restore(flags);
}

void ipi_call_mask(const cpumask_t *mask, void (*fn)(void *), void *arg, bool wait)
{
    ipi_remote_call(mask, IPI_VECTOR_CALL, fn, arg, wait);
}

void ipi_async_post(struct ipi_async *w, const cpumask_t *mask, unsigned int vector)
{
    unsigned int self = arch_cpu_id();
    unsigned long flags;
    cpumask_t remote;

    async_register(w);
    remote_set(&remote, mask, self);
    if (cpumask_empty(&remote))
        return;
    for_each_cpu(c, &remote)
        atomic_mask_set(&w->pending, c);
    flags = arch_irq_save();
    if (send_fn)
        send_fn(&remote, vector);
    else
        apic_send_ipi_mask(&remote, vector);
    arch_irq_restore(flags);
}

void ipi_event_check(unsigned int cpu)
{
    unsigned long flags;
    cpumask_t one;

    if (cpu >= NR_CPUS || cpu == arch_cpu_id() || !cpu_is_online(cpu))
        return;
    cpumask_clear(&one);
    cpumask_set(&one, cpu);
    /* Interrupts off: an xAPIC ICR write is two register writes. */
    flags = arch_irq_save();
    send_first(&one, IPI_VECTOR_EVENT, false);
    arch_irq_restore(flags);
}

void ipi_event_interrupt(struct cpu_regs *regs)
{
    (void)regs;
    apic_eoi();
}

/* The flush and call vectors: acknowledge the interrupt, then serve. EOI
 * first, so a request posted after our scan raises a fresh interrupt. */
void ipi_interrupt(struct cpu_regs *regs)
{
    (void)regs;
    apic_eoi();
    /* inject=cpu-stall: this CPU does not run for a while with the
     * request pending, as when L0 preempts the vCPU; senders wait. */
    if (inject_hit(INJECT_CPU_STALL))
        apic_udelay(INJECT_CPU_STALL_US);
    ipi_service();
}
