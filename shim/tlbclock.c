/*
 * The TLB clock. See include/minishim/tlbclock.h for how callers use it.
 *
 * INVARIANT: cpu_time[c] = t > 0 means CPU c itself executed a full flush
 * (global entries included) that began after the global clock reached t.
 * Therefore, if a page's stamp s was taken after its last mapping was
 * removed, and cpu_time[c] > s, then:
 *   1. c holds no TLB entry for the page (its flush began after the clock
 *      moved past s, so after the mapping was gone), and
 *   2. c is not inside an IRQ-off spurious #PF walk that started before s
 *      (it was running flush_local, which is never called from the walk).
 * Point 2 is why only flushes a CPU executes itself (flush_local: local
 * flushes and the flush IPI handler) advance its time. An L0-assisted
 * flush does remove c's entries, but it does not wait for c to leave a
 * page-table walk, so it must NOT advance cpu_time: counting it would let
 * tlbclock_filter() skip a CPU that still walks a freed page-table page
 * (the hazard behind Xen's 2020 "x86/tlb: fix assisted flush usage").
 * Assisted flushes simply leave the times where they were: the filter then
 * keeps more CPUs in the mask (more IPIs), never fewer.
 *
 * Nothing is trusted that could be stale: the clock never wraps (at the top
 * it switches itself off for good, and every filter then keeps the whole
 * mask), a stamp of 0 means "unknown", and a stamp ahead of the clock is
 * treated as corrupt.
 */
#include <minishim/tlbclock.h>

static bool enabled;
static uint64_t clock_now;               /* last value handed to a flush */
static uint64_t cpu_time[NR_CPUS];

void tlbclock_init(bool on, uint64_t start)
{
    enabled = on && start != 0;
    __atomic_store_n(&clock_now, start, __ATOMIC_SEQ_CST);
    for (unsigned int c = 0; c < NR_CPUS; c++)
        cpu_time[c] = 0;
}

bool tlbclock_enabled(void)
{
    return __atomic_load_n(&enabled, __ATOMIC_SEQ_CST);
}

uint64_t tlbclock_now(void)
{
    if (!tlbclock_enabled())
        return 0;
    return __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);
}

uint64_t tlbclock_pre_flush(void)
{
    uint64_t old = __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);

    if (!tlbclock_enabled())
        return 0;
    do {
        if (old == UINT64_MAX) {
            /* Out of time: never wrap (a wrapped clock would make old
             * stamps look recent). From now on nothing is filtered. */
            __atomic_store_n(&enabled, false, __ATOMIC_SEQ_CST);
            return 0;
        }
    } while (!__atomic_compare_exchange_n(&clock_now, &old, old + 1, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old + 1;
}

void tlbclock_post_flush(unsigned int cpu, uint64_t t)
{
    uint64_t cur;

    if (t == 0 || cpu >= NR_CPUS)
        return;
    /* Monotonic per CPU: a late post_flush of an older flush must not
     * move the time back (that would only be conservative, but keep the
     * value meaningful). */
    cur = __atomic_load_n(&cpu_time[cpu], __ATOMIC_SEQ_CST);
    while (cur < t && !__atomic_compare_exchange_n(&cpu_time[cpu], &cur, t, false,
                                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}

uint64_t tlbclock_cpu_time(unsigned int cpu)
{
    return cpu < NR_CPUS ? __atomic_load_n(&cpu_time[cpu], __ATOMIC_SEQ_CST) : 0;
}

void tlbclock_filter(cpumask_t *mask, uint64_t stamp)
{
    uint64_t now;

    if (!tlbclock_enabled() || stamp == 0)
        return;
    now = __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);
    if (stamp > now)
        return;             /* from the future: not a stamp we handed out */
    for_each_cpu(c, mask) {
        /* cpu_time == stamp is not enough: that flush may have started
         * before the page's last mapping was removed. */
        if (tlbclock_cpu_time(c) > stamp)
            cpumask_clear_cpu(mask, c);
    }
}
