/*
 * Sets of shim CPUs. One bit per shim CPU (= guest vCPU, pinned 1:1).
 */
#ifndef MINISHIM_CPUMASK_H
#define MINISHIM_CPUMASK_H

#include <minishim/types.h>

#define NR_CPUS 64          /* shim CPUs supported (= max guest vCPUs) */
#define CPUMASK_WORDS ((NR_CPUS + 63) / 64)

typedef struct { uint64_t bits[CPUMASK_WORDS]; } cpumask_t;

static inline void cpumask_clear(cpumask_t *m)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        m->bits[i] = 0;
}

static inline void cpumask_set(cpumask_t *m, unsigned int cpu)
{
    m->bits[cpu / 64] |= 1ULL << (cpu % 64);
}

static inline void cpumask_clear_cpu(cpumask_t *m, unsigned int cpu)
{
    m->bits[cpu / 64] &= ~(1ULL << (cpu % 64));
}

static inline bool cpumask_test(const cpumask_t *m, unsigned int cpu)
{
    return cpu < NR_CPUS && (m->bits[cpu / 64] >> (cpu % 64)) & 1;
}

static inline bool cpumask_empty(const cpumask_t *m)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        if (m->bits[i])
            return false;
    return true;
}

/* Bit count without libgcc: the image links no libgcc, and without
 * -mpopcnt gcc turns __builtin_popcountll into a call to __popcountdi2. */
static inline unsigned int popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned int)((x * 0x0101010101010101ULL) >> 56);
}

static inline unsigned int cpumask_weight(const cpumask_t *m)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        n += popcount64(m->bits[i]);
    return n;
}

static inline void cpumask_and(cpumask_t *d, const cpumask_t *a, const cpumask_t *b)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        d->bits[i] = a->bits[i] & b->bits[i];
}

static inline void cpumask_or(cpumask_t *d, const cpumask_t *a, const cpumask_t *b)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        d->bits[i] = a->bits[i] | b->bits[i];
}

static inline void cpumask_andnot(cpumask_t *d, const cpumask_t *a, const cpumask_t *b)
{
    for (unsigned int i = 0; i < CPUMASK_WORDS; i++)
        d->bits[i] = a->bits[i] & ~b->bits[i];
}

/* First set CPU at or after 'from', or NR_CPUS. */
static inline unsigned int cpumask_next(const cpumask_t *m, unsigned int from)
{
    for (unsigned int c = from; c < NR_CPUS; c++)
        if (cpumask_test(m, c))
            return c;
    return NR_CPUS;
}

#define for_each_cpu(c, m) \
    for (unsigned int c = cpumask_next((m), 0); c < NR_CPUS; c = cpumask_next((m), c + 1))

#endif
