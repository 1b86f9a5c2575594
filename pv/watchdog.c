/*
 * Domain watchdogs (SCHEDOP_watchdog), as Xen 4.17's domain_watchdog()
 * and domain_watchdog_timeout() (xen/common/sched/core.c):
 *
 *   - PV_NR_WATCHDOGS (Xen's NR_DOMAIN_WATCHDOG_TIMERS, 2) slots per
 *     domain; Xen needs no per-domain setting for them (its
 *     watchdog_timeout= command-line option is the host's NMI watchdog);
 *   - id 0 takes the first free slot, arms it for now + timeout seconds
 *     and returns its id (slot + 1); both slots taken: -ENOSPC in 32
 *     bits (below). A timeout
 *     of 0 here arms a watchdog that is due at once, as in Xen;
 *   - id 1..2 names a slot: -EINVAL when it is free; timeout 0 destroys
 *     it, any other timeout re-arms it for now + timeout seconds;
 *   - id above 2: -EINVAL (Xen checks id > NR_DOMAIN_WATCHDOG_TIMERS).
 *
 * A watchdog that expires shuts the domain down with SHUTDOWN_watchdog
 * (Xen: domain_shutdown(d, SHUTDOWN_watchdog); behind a shim,
 * pv_shim_shutdown() hands every reason but suspend to L0, which is what
 * shim_shutdown() does). The deadlines ride on the vCPU timers
 * (pv/time.c): the earliest one is part of every vCPU's next deadline,
 * so whichever CPU sees it first fires it, with vCPUs running, blocked
 * or in the shim; a change re-arms every vCPU's timer.
 */
#include <minishim/console.h>
#include <minishim/pv.h>
#include <minishim/pv_console.h>
#include <minishim/pv_time.h>
#include <minishim/shim.h>
#include <minishim/timer.h>

static uint64_t deadline_in(uint32_t timeout_s)
{
    /* Xen: NOW() + SECONDS(timeout); 2^32 s fits 64-bit ns. */
    return pv_now_ns() + (uint64_t)timeout_s * NS_PER_S;
}

static void watchdogs_changed(void)
{
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++)
        pv_time_reprogram(&pv_dom.vcpus[i]);
}

long pv_domain_watchdog(uint32_t id, uint32_t timeout)
{
    long rc = 0;

    if (id > PV_NR_WATCHDOGS)
        return -XEN_EINVAL;
    spin_lock(&pv_dom.watchdog_lock);
    if (id == 0) {
        /* Xen returns "id == NR_DOMAIN_WATCHDOG_TIMERS ? -ENOSPC : id + 1"
         * with id a uint32_t: the conditional is unsigned, so a full table
         * gives -ENOSPC as 32 bits, zero-extended (0xffffffe4; seen from
         * the reference shim on the bed). A caller through an
         * int-returning wrapper, as Linux's HYPERVISOR_sched_op, sees
         * -ENOSPC. */
        rc = (long)(uint32_t)-XEN_ENOSPC;
        for (unsigned int n = 0; n < PV_NR_WATCHDOGS; n++) {
            if (pv_dom.watchdog_inuse & (1u << n))
                continue;
            __atomic_store_n(&pv_dom.watchdog_deadline[n], deadline_in(timeout),
                             __ATOMIC_RELAXED);
            __atomic_fetch_or(&pv_dom.watchdog_inuse, 1u << n, __ATOMIC_SEQ_CST);
            rc = n + 1;
            break;
        }
    } else if (!(pv_dom.watchdog_inuse & (1u << (id - 1)))) {
        rc = -XEN_EINVAL;
    } else if (timeout == 0) {
        __atomic_fetch_and(&pv_dom.watchdog_inuse, ~(1u << (id - 1)), __ATOMIC_SEQ_CST);
    } else {
        __atomic_store_n(&pv_dom.watchdog_deadline[id - 1], deadline_in(timeout),
                         __ATOMIC_SEQ_CST);
    }
    spin_unlock(&pv_dom.watchdog_lock);
    if (rc >= 0 && rc <= PV_NR_WATCHDOGS)
        watchdogs_changed();
    return rc;
}

/* Read without the lock (every exit to the guest may ask): a slot seen
 * half-changed is re-read after the writer's pv_time_reprogram. */
uint64_t pv_watchdog_next_deadline(void)
{
    uint32_t inuse = __atomic_load_n(&pv_dom.watchdog_inuse, __ATOMIC_SEQ_CST);
    uint64_t d = 0;

    for (unsigned int n = 0; n < PV_NR_WATCHDOGS; n++) {
        uint64_t t;

        if (!(inuse & (1u << n)))
            continue;
        t = __atomic_load_n(&pv_dom.watchdog_deadline[n], __ATOMIC_RELAXED);
        if (!t)
            t = 1;
        if (!d || t < d)
            d = t;
    }
    return d;
}

void pv_watchdog_check(uint64_t now)
{
    uint32_t inuse;
    unsigned int n;

    if (!__atomic_load_n(&pv_dom.watchdog_inuse, __ATOMIC_RELAXED))
        return;
    spin_lock(&pv_dom.watchdog_lock);
    inuse = pv_dom.watchdog_inuse;
    for (n = 0; n < PV_NR_WATCHDOGS; n++)
        if ((inuse & (1u << n)) && now >= pv_dom.watchdog_deadline[n])
            break;
    /* One CPU shuts down; another that sees it due too has nothing to do
     * (Xen: a domain already shutting down ignores its watchdogs). */
    if (n == PV_NR_WATCHDOGS || pv_dom.watchdog_fired) {
        spin_unlock(&pv_dom.watchdog_lock);
        return;
    }
    pv_dom.watchdog_fired = true;
    spin_unlock(&pv_dom.watchdog_lock);
    pv_console_drain_final();
    pr_info("guest: watchdog %u fired (checked on vCPU %u's CPU)\n", n + 1,
            pv_current()->id);
    shim_shutdown(SHUTDOWN_watchdog);
}

/* After a resume in a new L0 domain (pv/suspend.c): every watchdog gone,
 * as Xen's pv_shim_shutdown does (watchdog_domain_destroy + _init). */
void pv_watchdog_forget(void)
{
    spin_lock(&pv_dom.watchdog_lock);
    __atomic_store_n(&pv_dom.watchdog_inuse, 0, __ATOMIC_SEQ_CST);
    for (unsigned int n = 0; n < PV_NR_WATCHDOGS; n++)
        __atomic_store_n(&pv_dom.watchdog_deadline[n], 0, __ATOMIC_RELAXED);
    spin_unlock(&pv_dom.watchdog_lock);
    watchdogs_changed();
}
