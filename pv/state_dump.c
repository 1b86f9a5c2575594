/*
 * State dump on an NMI from L0 (`xl trigger <domid> nmi [vcpu]`): a hung
 * guest under the shim shows, per vCPU, whether the shim holds it
 * (blocked, down, parked) or runs it, its upcall flags and the ports that
 * are pending and not masked (an event the shim marked but never
 * delivered shows up here), its timers against now, and with the FIFO
 * ABI the ready bits and queues. The NMI handler only asks for it
 * (shim/trap.c); it is printed here, at the next safe point of the CPU
 * that took the NMI: its next exit to the guest, or its next wake-up
 * while it sleeps for a blocked or down vCPU (an NMI wakes hlt).
 * Reads are unlocked snapshots: a dump must work while a lock is stuck.
 */
#include <minishim/console.h>
#include <minishim/percpu.h>
#include <minishim/pv_evtchn_fifo.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_state_dump.h>
#include <minishim/pv_time.h>
#include <minishim/timer.h>
#include <minishim/trap.h>
#include <minishim/pv_evtchn.h>

#include <stdio.h>

#define DUMP_PORTS 8
#define DUMP_QUEUES 4

/* Signed microseconds from now to deadline d (0: "off"). */
static void fmt_deadline(char *b, size_t n, uint64_t d, uint64_t now)
{
    if (!d)
        snprintf(b, n, "off");
    else
        snprintf(b, n, "%+ld us", (long)((int64_t)(d - now) / 1000));
}

static const char *vcpu_state(const struct vcpu *v)
{
    if (__atomic_load_n(&v->down, __ATOMIC_RELAXED))
        return __atomic_load_n(&v->parked, __ATOMIC_RELAXED) ? "down (parked)" : "down";
    if (__atomic_load_n(&v->blocked, __ATOMIC_RELAXED))
        return "blocked";
    if (!v->started && v->id)
        return "not started";
    return "running";
}

static void dump_vcpu(const struct vcpu *v, uint64_t now)
{
    evtchn_port_t pend[DUMP_PORTS];
    char line[200], t1[32], t2[32], t3[32];
    unsigned int np, nq, len;
    uint8_t prio[DUMP_QUEUES];
    uint32_t head[DUMP_QUEUES], tail[DUMP_QUEUES], ready;
    const struct vcpu_info *vi = v->vcpu_info;

    pr_info("dump: vCPU %u: %s, %s mode, upcall pending %u mask %u sel %#lx\n",
            v->id, vcpu_state(v), v->kernel_mode ? "kernel" : "user",
            vi ? vi->evtchn_upcall_pending : 0, vi ? vi->evtchn_upcall_mask : 0,
            vi ? (unsigned long)vi->evtchn_pending_sel : 0UL);
    fmt_deadline(t1, sizeof(t1), v->timer_set ? v->timer_deadline : 0, now);
    fmt_deadline(t2, sizeof(t2), v->periodic_period ?
                 v->periodic_last_event + v->periodic_period : 0, now);
    fmt_deadline(t3, sizeof(t3), v->poll_deadline, now);
    np = pv_evtchn_debug_pending(v, pend, DUMP_PORTS);
    len = (unsigned int)snprintf(line, sizeof(line), "timer %s, periodic %s, poll %s; "
                                 "%u port(s) pending and unmasked", t1, t2, t3, np);
    for (unsigned int i = 0; i < np && i < DUMP_PORTS && len < sizeof(line); i++)
        len += (unsigned int)snprintf(line + len, sizeof(line) - len, "%s%u",
                                      i ? " " : ": ", pend[i]);
    pr_info("dump: vCPU %u: %s\n", v->id, line);
    /* vCPU n runs on shim CPU n: what that CPU's timer holds, as the shim
     * believes (a deadline L0 lost shows here as armed but long past). */
    {
        unsigned long fired;
        uint64_t armed = timer_armed_on(v->id, &fired);

        fmt_deadline(t1, sizeof(t1), armed, now);
        pr_info("dump: vCPU %u: CPU %u timer %s, %lu timer interrupts taken\n",
                v->id, v->id, t1, fired);
    }
    if (!pv_fifo_active())
        return;
    ready = pv_fifo_debug_queues(v->id, &nq, prio, head, tail, DUMP_QUEUES);
    len = (unsigned int)snprintf(line, sizeof(line), "fifo ready %#x", ready);
    for (unsigned int i = 0; i < nq && len < sizeof(line); i++)
        len += (unsigned int)snprintf(line + len, sizeof(line) - len,
                                      ", q%u head %u tail %u", prio[i], head[i], tail[i]);
    pr_info("dump: vCPU %u: %s\n", v->id, line);
}

void pv_state_dump_check(void)
{
    uint64_t now, armed;
    char t[32];

    if (!trap_nmi_take_dump())
        return;
    now = pv_now_ns();
    armed = timer_armed();
    fmt_deadline(t, sizeof(t), armed, now);
    pr_info("dump: NMI %lu, on CPU %u at %lu.%06lu s system time: %u vCPU(s), "
            "%s event channels (interdomain ones %s), grant table %s, this CPU's "
            "timer %s; %lu interrupt(s) taken in the idle hlt's sti shadow\n",
            trap_nmi_count(), this_cpu()->id,
            (unsigned long)(now / 1000000000ULL), (unsigned long)(now / 1000 % 1000000),
            pv_dom.nr_vcpus, pv_fifo_active() ? "FIFO" : "2-level",
            pv_evtchn_is_l0() ? "L0's" : "local", pv_gnttab_is_l0() ? "L0's" : "local", t,
            trap_wfi_shadow_count());
    for (unsigned int i = 0; i < pv_dom.nr_vcpus && i < PV_MAX_VCPUS; i++)
        dump_vcpu(&pv_dom.vcpus[i], now);
}
