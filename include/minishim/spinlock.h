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
