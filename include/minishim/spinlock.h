/*
 * Ticket-free test-and-set spinlock on compiler atomics: portable between
 * the image and the hosted unit tests. IRQ-safe variants save the flags.
 */
#ifndef MINISHIM_SPINLOCK_H
#define MINISHIM_SPINLOCK_H

#include <minishim/arch.h>

typedef struct { volatile int locked; } spinlock_t;
#define SPINLOCK_INIT { 0 }

static inline void spin_lock(spinlock_t *l)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            arch_cpu_relax();
}

/*
 * For a lock whose holder may wait for this CPU to acknowledge an IPI (the
 * MMU lock: flushes are sent with it held). Spinning for it with
 * interrupts off would never acknowledge, and holder and spinner would
 * wait for each other forever; so the spinner runs serve() (the IPI
 * service routine, shim/ipi.c ipi_service) between attempts, as a sender
 * waiting for acknowledgements does. Xen avoids the case by taking such
 * locks with interrupts on only (check_lock(), on_selected_cpus()'s
 * ASSERT(local_irq_is_enabled())); the shim has paths that cannot (trap
 * fix-ups, a vCPU's first entry), hence this.
 */
static inline void spin_lock_serving(spinlock_t *l, void (*serve)(void))
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
            serve();
            arch_cpu_relax();
        }
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
    unsigned long flags = arch_irq_save();

    spin_lock(l);
    return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
    spin_unlock(l);
    arch_irq_restore(flags);
}

#endif
