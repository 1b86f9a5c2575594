/* Event channels across vCPUs (pv/event.c) and blocking (pv/vcpu.c):
 * per-vCPU VIRQs, the kick sent to another vCPU's shim CPU, bind_vcpu's
 * rules, SCHEDOP_block/poll waking on events, deadlines and VCPUOP_down,
 * VCPUOP_register_vcpu_info and the runstate (Xen 4.17
 * xen/common/event_channel.c, event_2l.c, sched/core.c, domain.c). Fake
 * CPUs: the test runs as CPU 0 (vCPU 0); "another CPU" is played from the
 * IPI send hook and the halt hook. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <minishim/apic.h>
#include <minishim/ipi.h>
#include <minishim/pv_evtchn_fifo.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_sched.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/smp.h>
#include <minishim/timer.h>
#include <minishim/xen-public.h>
#include <xen/event_channel.h>
#include <xen/vcpu.h>
#include "test_mm_env.h"
#include "fake/fake_console.h"
#include <minishim/pv_state_dump.h>
#include <minishim/trap.h>
#include <minishim/pv_evtchn.h>
#include "fake/fake_l0.h"

#define HV_PTR 0xffff830000001000ULL
#define NVCPU 3

static struct shared_info shinfo;
static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

/* IPIs the logic sent: per target CPU, event-check vector only. */
static unsigned int kicks[NVCPU];
static unsigned int other_vectors;
static void (*on_kick)(unsigned int cpu);

static void send_hook(const cpumask_t *targets, unsigned int vector)
{
    for_each_cpu(c, targets) {
        if (vector != IPI_VECTOR_EVENT) {
            other_vectors++;
            continue;
        }
        if (c < NVCPU)
            kicks[c]++;
        if (on_kick)
            on_kick(c);
    }
}

static void setup(void)
{
    mm_setup();                 /* guest frames for register_vcpu_info */
    fake_guest_fault_start = fake_guest_fault_end = 0;
    memset(&pv_dom, 0, sizeof(pv_dom));
    memset(&shinfo, 0, sizeof(shinfo));
    pv_dom.shared_info = &shinfo;
    pv_dom.nr_vcpus = NVCPU;
    for (unsigned int i = 0; i < NVCPU; i++) {
        pv_dom.vcpus[i].id = i;
        pv_dom.vcpus[i].vcpu_info = &shinfo.vcpu_info[i];
        pv_dom.vcpus[i].initialised = true;
        pv_dom.vcpus[i].started = true;
        shinfo.vcpu_info[i].evtchn_upcall_mask = 1;
        percpu[i].vcpu = &pv_dom.vcpus[i];
        cpumask_set(&cpu_online_mask, i);
    }
    pv_evtchn_reset();
    /* A 1 GHz TSC (CPUID 15h), as test_pv_time.c: pv_now_ns() moves
     * 1000 ns per read. */
    fake_set_cpuid(0, 0x15, 0, 0, 0);
    fake_set_cpuid(0x15, 1, 1, 1000000000u, 0);
    fake_port_in[0x71] = 0;
    clock_init();
    memset(kicks, 0, sizeof(kicks));
    other_vectors = 0;
    on_kick = NULL;
    fake_wfi_hook = NULL;
    ipi_set_send_hook(send_hook);
    fake_cpu_id = 0;
    pv_vcpu_runstate_init();
    for (unsigned int i = 1; i < NVCPU; i++) {   /* all running */
        pv_dom.vcpus[i].runstate.state = RUNSTATE_running;
        pv_dom.vcpus[i].parked = false;
    }
}

static void teardown(void)
{
    ipi_set_send_hook(NULL);
    fake_wfi_hook = NULL;
    for (unsigned int i = 0; i < NVCPU; i++)
        percpu[i].vcpu = NULL;
}

TestSuite(pv_event, .init = setup, .fini = teardown, .timeout = 10);

static evtchn_port_t bind_ipi(unsigned int vcpu)
{
    struct evtchn_bind_ipi b = { .vcpu = vcpu };

    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_ipi, gp(&b)), 0);
    return b.port;
}

static long send(evtchn_port_t p)
{
    struct evtchn_send s = { .port = p };

    return do_event_channel_op(EVTCHNOP_send, gp(&s));
}

static bool pending(evtchn_port_t p)
{
    return shinfo.evtchn_pending[p / 64] & (1UL << (p % 64));
}

Test(pv_event, per_vcpu_virqs)
{
    struct evtchn_bind_virq b0 = { .virq = VIRQ_TIMER, .vcpu = 0 };
    struct evtchn_bind_virq b1 = { .virq = VIRQ_TIMER, .vcpu = 1 };
    struct evtchn_bind_virq g = { .virq = VIRQ_DOM_EXC, .vcpu = 1 };
    struct evtchn_close c;

    /* Xen evtchn_bind_virq: one binding per vCPU for VIRQ_TIMER. */
    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&b0)), 0);
    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&b1)), 0);
    cr_expect_neq(b0.port, b1.port);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&b1)), -XEN_EEXIST);
    /* A global VIRQ binds on vCPU 0 only. */
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&g)), -XEN_EINVAL);
    g.vcpu = 0;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&g)), 0);

    shinfo.vcpu_info[1].evtchn_upcall_mask = 0;
    pv_send_vcpu_virq(&pv_dom.vcpus[1], VIRQ_TIMER);
    cr_expect(pending(b1.port));
    cr_expect_not(pending(b0.port), "vCPU 0's timer stays quiet");
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_upcall_pending, 1);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 0);
    cr_expect_eq(kicks[1], 1, "vCPU 1's CPU is told");
    pv_send_vcpu_virq(&pv_dom.vcpus[2], VIRQ_TIMER);   /* not bound: nothing */
    cr_expect_eq(kicks[2], 0);

    /* Closing vCPU 1's timer frees its binding (and the pending bit). */
    c.port = b1.port;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), 0);
    cr_expect_not(pending(b1.port), "free_evtchn clears pending");
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&b1)), 0);
    cr_expect_eq(pv_dom.vcpus[0].virq_to_evtchn[VIRQ_TIMER], b0.port);
}

Test(pv_event, send_to_another_vcpu_kicks_its_cpu)
{
    evtchn_port_t p1 = bind_ipi(1), p0 = bind_ipi(0);

    shinfo.vcpu_info[1].evtchn_upcall_mask = 0;
    cr_expect_eq(send(p1), 0);
    cr_expect(pending(p1));
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_upcall_pending, 1);
    cr_expect(shinfo.vcpu_info[1].evtchn_pending_sel & 1);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 0, "not the sender's");
    cr_expect_eq(kicks[1], 1);
    /* Already pending: Xen kicks only on the 0 -> 1 transition. */
    cr_expect_eq(send(p1), 0);
    cr_expect_eq(kicks[1], 1);
    /* To ourselves: delivered on the way out, no IPI. */
    cr_expect_eq(send(p0), 0);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 1);
    cr_expect_eq(kicks[0], 0);
    cr_expect_eq(other_vectors, 0, "the kick waits for nobody (no call IPI)");

    /* A masked port: pending, no upcall, no kick; unmask re-raises it on
     * the port's vCPU and kicks then. */
    shinfo.vcpu_info[2].evtchn_upcall_mask = 0;
    {
        evtchn_port_t p2 = bind_ipi(2);
        struct evtchn_unmask u = { .port = p2 };

        shinfo.evtchn_mask[0] |= 1UL << p2;
        cr_expect_eq(send(p2), 0);
        cr_expect_eq(shinfo.vcpu_info[2].evtchn_upcall_pending, 0);
        cr_expect_eq(kicks[2], 0);
        cr_expect_eq(do_event_channel_op(EVTCHNOP_unmask, gp(&u)), 0);
        cr_expect_eq(shinfo.vcpu_info[2].evtchn_upcall_pending, 1);
        cr_expect_eq(kicks[2], 1);
    }
    /* A CPU that is not online gets no IPI. */
    cpumask_clear_cpu(&cpu_online_mask, 1);
    shinfo.vcpu_info[1].evtchn_upcall_pending = 0;
    shinfo.evtchn_pending[0] = 0;
    cr_expect_eq(send(p1), 0);
    cr_expect_eq(kicks[1], 1);
}

Test(pv_event, bind_vcpu_rules)
{
    struct evtchn_bind_virq t = { .virq = VIRQ_TIMER, .vcpu = 0 };
    struct evtchn_bind_virq g = { .virq = VIRQ_DOM_EXC, .vcpu = 0 };
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
    struct evtchn_bind_vcpu bv;
    struct evtchn_status st = { .dom = DOMID_SELF };
    evtchn_port_t ipi = bind_ipi(0);

    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&t)), 0);
    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&g)), 0);
    cr_assert_eq(do_event_channel_op(EVTCHNOP_alloc_unbound, gp(&au)), 0);
#define BV(port_, vcpu_) (bv = (struct evtchn_bind_vcpu){ .port = (port_), .vcpu = (vcpu_) }, \
                          do_event_channel_op(EVTCHNOP_bind_vcpu, gp(&bv)))
    cr_expect_eq(BV(g.port, NVCPU), -XEN_ENOENT, "no such vCPU, checked first");
    cr_expect_eq(BV(5000, NVCPU), -XEN_ENOENT);
    cr_expect_eq(BV(5000, 1), -XEN_EINVAL, "bad port");
    cr_expect_eq(BV(ipi, 1), -XEN_EINVAL, "IPI ports stay");
    cr_expect_eq(BV(t.port, 1), -XEN_EINVAL, "per-vCPU VIRQ stays");
    cr_expect_eq(BV(700, 1), -XEN_EINVAL, "a free port");
    cr_expect_eq(BV(0, 1), -XEN_EINVAL, "port 0");
    cr_expect_eq(BV(g.port, 2), 0, "global VIRQ moves");
    cr_expect_eq(BV(au.port, 1), 0, "unbound moves");
    cr_expect_eq(BV(pv_evtchn_alloc_shim_port(NULL), 1), 0, "interdomain moves");
#undef BV
    st.port = g.port;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_virq);
    cr_expect_eq(st.vcpu, 2, "status reports the vCPU");
    st.port = ipi;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.vcpu, 0);
    /* An event on the moved port now raises vCPU 2's upcall. */
    shinfo.vcpu_info[2].evtchn_upcall_mask = 0;
    pv_evtchn_set_pending(g.port);
    cr_expect(pending(g.port));
    cr_expect_eq(shinfo.vcpu_info[2].evtchn_upcall_pending, 1);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 0);
    cr_expect_eq(kicks[2], 1);
}

Test(pv_event, reset_closes_guest_ports)
{
    struct evtchn_reset r = { .dom = DOMID_SELF };
    struct evtchn_status st = { .dom = DOMID_SELF };
    struct evtchn_bind_virq t = { .virq = VIRQ_TIMER, .vcpu = 1 };
    evtchn_port_t shim = pv_evtchn_alloc_shim_port(NULL);
    evtchn_port_t ipi = bind_ipi(1);

    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&t)), 0);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_reset, gp(&r)), 0);
    st.port = ipi;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_closed);
    cr_expect_eq(pv_dom.vcpus[1].virq_to_evtchn[VIRQ_TIMER], 0);
    st.port = shim;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_interdomain, "the shim's backend stays");
    r.dom = 3;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_reset, gp(&r)), -XEN_ESRCH);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_reset, HV_PTR), -XEN_EFAULT);
}

/* ------------------------------------------------------------ blocking --- */

static evtchn_port_t wake_port;
static unsigned int wfi_calls, wfi_send_at;

/* The halt hook plays vCPU 1 on CPU 1 sending to wake_port. */
static void wfi_send(void)
{
    if (++wfi_calls != wfi_send_at)
        return;
    fake_cpu_id = 1;
    cr_expect_eq(send(wake_port), 0);
    fake_cpu_id = 0;
}

Test(pv_event, block_sleeps_until_another_vcpu_sends)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    struct vcpu_runstate_info r;

    wake_port = bind_ipi(0);
    wfi_calls = 0;
    wfi_send_at = 3;
    fake_wfi_hook = wfi_send;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    cr_expect_eq(wfi_calls, 3, "halted until the send, not before");
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_mask, 0, "events enabled");
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 1);
    cr_expect_not(v->blocked);
    cr_expect_eq(kicks[0], 1, "the sender kicked CPU 0");
    pv_vcpu_runstate_get(v, &r);
    cr_expect_eq(r.state, RUNSTATE_running);
    cr_expect_gt(r.time[RUNSTATE_blocked], 0, "blocked time accounted");

    /* Upcall already pending: no halt at all. */
    wfi_calls = 0;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    cr_expect_eq(wfi_calls, 0);
}

static unsigned int wfi_seq;
static evtchn_port_t seq_ports[2];

static void wfi_two_sends(void)
{
    wfi_seq++;
    fake_cpu_id = 1;
    if (wfi_seq == 1)
        send(seq_ports[0]);     /* masked: must not wake */
    else if (wfi_seq == 4)
        send(seq_ports[1]);
    fake_cpu_id = 0;
}

Test(pv_event, block_wakes_only_on_an_upcall)
{
    seq_ports[0] = bind_ipi(0);
    seq_ports[1] = bind_ipi(0);
    shinfo.evtchn_mask[0] = 1UL << seq_ports[0];
    wfi_seq = 0;
    fake_wfi_hook = wfi_two_sends;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    cr_expect_eq(wfi_seq, 4, "the masked port did not wake it");
    cr_expect(pending(seq_ports[0]));
}

static void wfi_down(void)
{
    if (++wfi_calls == 2)
        __atomic_store_n(&pv_dom.vcpus[0].down, true, __ATOMIC_SEQ_CST);
}

Test(pv_event, block_ends_when_taken_down)
{
    wfi_calls = 0;
    fake_wfi_hook = wfi_down;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    cr_expect_eq(wfi_calls, 2, "left the sleep when downed (it parks next)");
    cr_expect_not(pv_dom.vcpus[0].blocked);
}

/* The halt hook plays a kick whose interrupt never arrives: vCPU 0 is
 * made runnable behind its back, and only the timer the sleep armed can
 * end the halt (it "fires" by moving the TSC past its deadline). */
static uint64_t lost_kick_armed, lost_kick_tsc;

static void wfi_lost_kick(void)
{
    if (++wfi_calls != 1)
        return;
    lost_kick_tsc = fake_tsc;
    lost_kick_armed = fake_msr_value(0x6e0);        /* IA32_TSC_DEADLINE */
    __atomic_store_n(&shinfo.vcpu_info[0].evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&pv_dom.vcpus[0].blocked, false, __ATOMIC_SEQ_CST);
    if (lost_kick_armed)
        fake_tsc = lost_kick_armed;
}

Test(pv_event, lost_kick_is_found_at_the_sleep_backstop)
{
    fake_set_cpuid(1, 0, 0, CPUID1_ECX_X2APIC | (1u << 24), CPUID1_EDX_APIC);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_X2APIC);
    clock_init();
    cr_assert(timer_available());
    wfi_calls = 0;
    fake_wfi_hook = wfi_lost_kick;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    cr_expect_eq(wfi_calls, 1, "woke once, at the backstop");
    /* No timer of the vCPU's own is set: without the backstop nothing
     * would have been armed and the halt would never end. 1 GHz TSC. */
    cr_expect_gt(lost_kick_armed, lost_kick_tsc, "a halt with no timer armed");
    cr_expect_leq(lost_kick_armed - lost_kick_tsc, 50000000u + 100000u,
                  "backstop later than 50 ms");
    cr_expect_not(pv_dom.vcpus[0].blocked);
}

/* The race the sleep's backstop closes (pv/vcpu.c sleep_arm_backstop):
 * vCPU 0's own deadline is near (under the 50 ms backstop); the timer
 * pv_time_check() armed for it fires after the check but before the
 * sleep turns interrupts off. Its interrupt clears what timer_armed()
 * says, and the deadline is still v's: unless the sleep re-arms it,
 * the halt has no timer behind it and the vCPU sleeps for good (seen on
 * the bed: blocked, deadline 880 s past, timer off). The wrmsr hook
 * plays the deadline arriving just as pv_time_check() arms it: the TSC
 * moves past it and the timer's interrupt is taken (the interrupt comes
 * at the irq_restore that ends timer_arm()). */
static uint64_t race_deadline_ns, race_deadline_tsc, race_armed_at_halt, race_msr_at_halt;
static bool race_fired;

static void wrmsr_timer_fires_after_check(uint32_t msr, uint64_t val)
{
    struct cpu_regs r = { .vector = TIMER_VECTOR, .cs = 0xe008 };   /* shim context */

    if (msr != 0x6e0 || !val || race_fired)                         /* IA32_TSC_DEADLINE */
        return;
    race_fired = true;
    if (fake_tsc < race_deadline_tsc)
        fake_tsc = race_deadline_tsc;
    trap_handle(&r, 0);
}

static void wfi_after_race(void)
{
    if (++wfi_calls != 1)
        return;
    race_armed_at_halt = timer_armed();
    race_msr_at_halt = fake_msr_value(0x6e0);
    /* End the test either way: the timer fires, the next check raises
     * VIRQ_TIMER; unblock directly so a broken sleep cannot hang here. */
    __atomic_store_n(&pv_dom.vcpus[0].blocked, false, __ATOMIC_SEQ_CST);
}

Test(pv_event, timer_firing_between_check_and_sleep_is_rearmed)
{
    struct vcpu_set_singleshot_timer t;

    fake_set_cpuid(1, 0, 0, CPUID1_ECX_X2APIC | (1u << 24), CPUID1_EDX_APIC);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_X2APIC);
    clock_init();
    cr_assert(timer_available());
    /* A deadline 10 ms out: sooner than the backstop, so the sleep arms
     * no backstop of its own and relies on this one. */
    t = (struct vcpu_set_singleshot_timer){ .timeout_abs_ns = pv_now_ns() + 10000000u };
    cr_assert_eq(pv_vcpu_timer_op(VCPUOP_set_singleshot_timer, &pv_dom.vcpus[0], gp(&t)), 0);
    race_deadline_ns = t.timeout_abs_ns;
    race_deadline_tsc = fake_tsc + 10000000u + 1000000u;    /* 1 GHz: past it */
    timer_arm(0);               /* so the check's arm reaches the hardware */
    race_fired = false;
    race_armed_at_halt = race_msr_at_halt = 0;
    fake_wrmsr_hook = wrmsr_timer_fires_after_check;
    wfi_calls = 0;
    fake_wfi_hook = wfi_after_race;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    fake_wrmsr_hook = NULL;
    cr_assert(race_fired, "the check armed the vCPU's deadline (the race's first half)");
    cr_expect_eq(wfi_calls, 1);
    cr_expect_eq(race_armed_at_halt, race_deadline_ns,
                 "halted with %#lx armed, not the vCPU's deadline %#lx",
                 (unsigned long)race_armed_at_halt, (unsigned long)race_deadline_ns);
    cr_expect_neq(race_msr_at_halt, 0, "no TSC deadline in the hardware at the halt");
}

static void poll_call(const evtchn_port_t *ports, unsigned int n, uint64_t timeout,
                      long want, const char *why)
{
    struct sched_poll sp = { .nr_ports = n, .timeout = timeout };

    set_xen_guest_handle(sp.ports, (evtchn_port_t *)ports);
    cr_expect_eq(do_sched_op(SCHEDOP_poll, gp(&sp)), want, "%s", why);
    cr_expect_eq(pv_dom.vcpus[0].poll_evtchn, 0);
    cr_expect_not(pv_dom.vcpus[0].blocked);
}

Test(pv_event, poll)
{
    evtchn_port_t a = bind_ipi(0), b = bind_ipi(1);
    evtchn_port_t list[3] = { a, b, 4096 };
    evtchn_port_t bad[1] = { 4096 };

    shinfo.evtchn_mask[0] = ~0UL;               /* pollers mask their ports */
    /* Xen do_poll errnos. */
    poll_call(list, 129, 0, -XEN_EINVAL, "more than 128 ports");
    poll_call((const evtchn_port_t *)HV_PTR, 1, 0, -XEN_EFAULT, "ports in the shim");
    poll_call(bad, 1, 0, -XEN_EINVAL, "port beyond the 2-level space");
    /* A pending port ends the poll before later (bad) ports are read. */
    fake_cpu_id = 1;
    cr_expect_eq(send(b), 0);
    fake_cpu_id = 0;
    wfi_calls = 0;
    fake_wfi_hook = wfi_send;
    wfi_send_at = 100;
    poll_call(list, 3, 0, 0, "b pending");
    cr_expect_eq(wfi_calls, 0, "no sleep");
    shinfo.evtchn_pending[0] = 0;
    /* An upcall that needs delivery ends it before any port is read. */
    shinfo.vcpu_info[0].evtchn_upcall_pending = 1;
    shinfo.vcpu_info[0].evtchn_upcall_mask = 0;
    poll_call(bad, 1, 0, 0, "upcall pending: 0 even with a bad port");
    shinfo.vcpu_info[0].evtchn_upcall_pending = 0;
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;

    /* Sleeps until the one polled port fires (from another vCPU). */
    wake_port = a;
    wfi_calls = 0;
    wfi_send_at = 2;
    poll_call(list, 1, 0, 0, "woken by a");
    cr_expect_eq(wfi_calls, 2);
    cr_expect(pending(a));
    cr_expect_eq(kicks[0], 1, "check_pollers kicked the poller's CPU");
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 0, "masked: no upcall");
}

Test(pv_event, poll_single_port_ignores_other_ports)
{
    evtchn_port_t a = bind_ipi(0), b = bind_ipi(0);
    evtchn_port_t one[1] = { a };

    shinfo.evtchn_mask[0] = ~0UL;
    seq_ports[0] = b;           /* not polled: no wake */
    seq_ports[1] = a;
    wfi_seq = 0;
    fake_wfi_hook = wfi_two_sends;
    poll_call(one, 1, 0, 0, "woken by a only");
    cr_expect_eq(wfi_seq, 4);
}

Test(pv_event, poll_timeout)
{
    evtchn_port_t a = bind_ipi(0);
    evtchn_port_t one[1] = { a };
    uint64_t now;

    shinfo.evtchn_mask[0] = ~0UL;
    wfi_calls = 0;
    wfi_send_at = 1000000;      /* nobody sends */
    fake_wfi_hook = wfi_send;
    /* A deadline in the past: returns without waiting for anyone. */
    poll_call(one, 1, 1, 0, "deadline passed");
    /* A deadline ahead: sleeps until time reaches it (the fake TSC moves
     * on every read), never returns early. */
    now = pv_now_ns();
    poll_call(one, 1, now + 50000, 0, "deadline ahead");
    cr_expect_geq(pv_now_ns(), now + 50000);
    cr_expect_gt(wfi_calls, 0, "it halted meanwhile");
    cr_expect_eq(pv_dom.vcpus[0].poll_deadline, 0);
}

/* --------------------------------------------------- down of a spinner --- */

static void kick_parks(unsigned int cpu)
{
    /* What CPU cpu does on the kick: trap to the shim, see down, park. */
    if (cpu < NVCPU && pv_dom.vcpus[cpu].down)
        __atomic_store_n(&pv_dom.vcpus[cpu].parked, true, __ATOMIC_SEQ_CST);
}

Test(pv_event, down_kicks_and_waits_for_the_vcpu)
{
    on_kick = kick_parks;
    cr_expect_eq(do_vcpu_op(VCPUOP_down, 2, 0), 0);
    cr_expect_eq(kicks[2], 1, "the spinning vCPU is interrupted");
    cr_expect(pv_dom.vcpus[2].parked, "and has stopped when down returns");
    cr_expect_eq(do_vcpu_op(VCPUOP_is_up, 2, 0), 0);
}

/* --------------------------------------------------- register_vcpu_info --- */

Test(pv_event, register_vcpu_info)
{
    struct vcpu_register_vcpu_info ri = { .mfn = G(5).mfn, .offset = 128 };
    struct vcpu_info *nvi = (struct vcpu_info *)(fake_mem + (G(5).mfn << PAGE_SHIFT) + 128);
    evtchn_port_t p1 = bind_ipi(1);

    cr_assert_eq(pv_mm_get_page_and_type(G(5), PGT_WRITABLE), 0);  /* mapped RW */
    shinfo.vcpu_info[0].evtchn_upcall_mask = 0;
    shinfo.vcpu_info[0].arch.cr2 = 0x1234;
    /* The reference shim's errnos (pv/vcpu.c register_vcpu_info). */
    ri.offset = PAGE_SIZE - sizeof(struct vcpu_info) + 8;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_ENXIO, "past the page");
    ri.offset = 132;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_ENXIO, "misaligned");
    ri.offset = PAGE_SIZE;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_EINVAL, "not in the frame");
    ri.offset = 128;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 1, gp(&ri)), -XEN_EINVAL,
                 "another vCPU that is up");
    ri.mfn = SHIM_FRAME.mfn;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_EINVAL, "not a guest frame");
    ri.mfn = 0;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_EINVAL, "frame 0");
    {
        /* A page-table page cannot take a writable type. */
        memset(tab(G(6)), 0, PAGE_SIZE);
        cr_assert_eq(pv_mm_pin_table(G(6), 1), 0);
        ri.mfn = G(6).mfn;
        cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_EINVAL, "an L1");
    }
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, HV_PTR), -XEN_EFAULT);
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, NVCPU, gp(&ri)), -XEN_ENOENT);

    ri.mfn = G(5).mfn;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), 0);
    cr_expect_eq(pv_dom.vcpus[0].vcpu_info, nvi);
    cr_expect_eq(nvi->arch.cr2, 0x1234, "contents copied");
    cr_expect_eq(nvi->evtchn_upcall_mask, 0);
    cr_expect_eq(nvi->evtchn_pending_sel, ~0UL, "every selector bit set");
    cr_expect_eq(nvi->evtchn_upcall_pending, 1, "and an upcall");
    cr_expect_eq(F(G(5))->type_count, 2, "a writable type ref is held");
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 0, gp(&ri)), -XEN_EINVAL, "once only");

    /* An offline vCPU may be registered by another: then events for it
     * land in the new place, the old slot stays untouched. */
    pv_dom.vcpus[1].down = true;
    ri.offset = 256;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_vcpu_info, 1, gp(&ri)), 0);
    nvi = (struct vcpu_info *)(fake_mem + (G(5).mfn << PAGE_SHIFT) + 256);
    nvi->evtchn_upcall_pending = 0;
    nvi->evtchn_pending_sel = 0;
    nvi->evtchn_upcall_mask = 0;
    cr_expect_eq(send(p1), 0);
    cr_expect_eq(nvi->evtchn_upcall_pending, 1);
    cr_expect(nvi->evtchn_pending_sel & 1);
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_upcall_pending, 0);
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_pending_sel, 0);
}

/* ------------------------------------------------------------- runstate --- */

Test(pv_event, runstate)
{
    struct vcpu_runstate_info r, area;
    struct vcpu_register_runstate_memory_area ra = { .addr.p = gp(&area) };

    pv_vcpu_runstate_init();            /* vCPU 0 running, others offline */
    pv_vcpu_runstate_get(&pv_dom.vcpus[1], &r);
    cr_expect_eq(r.state, RUNSTATE_offline);
    cr_expect_gt(r.time[RUNSTATE_offline], 0);
    cr_expect_eq(do_vcpu_op(VCPUOP_get_runstate_info, 2, gp(&r)), 0);
    cr_expect_eq(r.state, RUNSTATE_offline);
    cr_expect_eq(do_vcpu_op(VCPUOP_get_runstate_info, 0, gp(&r)), 0);
    cr_expect_eq(r.state, RUNSTATE_running);
    cr_expect_eq(do_vcpu_op(VCPUOP_get_runstate_info, 0, HV_PTR), -XEN_EFAULT);
    cr_expect_eq(do_vcpu_op(VCPUOP_get_runstate_info, NVCPU, gp(&r)), -XEN_ENOENT);

    /* Registration writes the area at once; transitions rewrite it. */
    memset(&area, 0xff, sizeof(area));
    cr_expect_eq(do_vcpu_op(VCPUOP_register_runstate_memory_area, 0, gp(&ra)), 0);
    cr_expect_eq(area.state, RUNSTATE_running);
    pv_vcpu_runstate_change(&pv_dom.vcpus[0], RUNSTATE_blocked);
    cr_expect_eq(area.state, RUNSTATE_blocked);
    pv_vcpu_runstate_change(&pv_dom.vcpus[0], RUNSTATE_running);
    cr_expect_eq(area.state, RUNSTATE_running);
    cr_expect_gt(area.time[RUNSTATE_blocked], 0);
    cr_expect_eq(area.state_entry_time & XEN_RUNSTATE_UPDATE, 0);
    /* Exact accounting with the clock frozen (1 tick = 1 ns). */
    fake_tsc_step = 0;
    pv_vcpu_runstate_init();
    fake_tsc += 5000;
    pv_vcpu_runstate_change(&pv_dom.vcpus[0], RUNSTATE_blocked);
    fake_tsc += 3000;
    pv_vcpu_runstate_change(&pv_dom.vcpus[0], RUNSTATE_running);
    fake_tsc += 2000;
    pv_vcpu_runstate_get(&pv_dom.vcpus[0], &r);
    cr_expect_eq(r.time[RUNSTATE_running], 7000);
    cr_expect_eq(r.time[RUNSTATE_blocked], 3000);
    cr_expect_eq(r.time[RUNSTATE_runnable] + r.time[RUNSTATE_offline], 0);
    cr_expect_eq(area.time[RUNSTATE_blocked], 3000, "the area got the same");
    pv_vcpu_runstate_get(&pv_dom.vcpus[1], &r);
    cr_expect_eq(r.time[RUNSTATE_offline], 10000, "offline all along");
    /* VMASST_TYPE_runstate_update_flag: the flag is clear once written. */
    pv_dom.vm_assist |= 1UL << VMASST_TYPE_runstate_update_flag;
    pv_vcpu_runstate_change(&pv_dom.vcpus[0], RUNSTATE_blocked);
    cr_expect_eq(area.state, RUNSTATE_blocked);
    cr_expect_eq(area.state_entry_time & XEN_RUNSTATE_UPDATE, 0);
    fake_tsc_step = 1000;

    /* Bad areas: not a guest range is -EFAULT; NULL stops updates. */
    ra.addr.p = HV_PTR;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_runstate_memory_area, 0, gp(&ra)), -XEN_EFAULT);
    cr_expect_eq(do_vcpu_op(VCPUOP_register_runstate_memory_area, 0, HV_PTR), -XEN_EFAULT);
    ra.addr.p = 0;
    cr_expect_eq(do_vcpu_op(VCPUOP_register_runstate_memory_area, 0, gp(&ra)), 0);
    area.state = 77;
    pv_vcpu_runstate_change(&pv_dom.vcpus[0], RUNSTATE_blocked);
    cr_expect_eq(area.state, 77, "unregistered: not written");
}

/* ------------------------------------------------------------ FIFO ABI --- */
/* Xen 4.17 xen/common/event_fifo.c and the FIFO parts of
 * event_channel.c: EVTCHNOP_init_control, expand_array, set_priority and
 * delivery through the per-vCPU, per-priority queues. */

#define FIFO_PEND   (1u << EVTCHN_FIFO_PENDING)
#define FIFO_MASK   (1u << EVTCHN_FIFO_MASKED)
#define FIFO_LINKED (1u << EVTCHN_FIFO_LINKED)

static struct evtchn_fifo_control_block *fifo_cb(mfn_t m, unsigned int off)
{
    return (struct evtchn_fifo_control_block *)(fake_mem + (m.mfn << PAGE_SHIFT) + off);
}

static event_word_t *fifo_words(mfn_t m)
{
    return (event_word_t *)(fake_mem + (m.mfn << PAGE_SHIFT));
}

static long init_control(mfn_t m, unsigned int off, unsigned int vcpu)
{
    struct evtchn_init_control ic = { .control_gfn = m.mfn, .offset = off, .vcpu = vcpu };
    long rc = do_event_channel_op(EVTCHNOP_init_control, gp(&ic));

    if (!rc)
        cr_expect_eq(ic.link_bits, EVTCHN_FIFO_LINK_BITS);
    return rc;
}

static long expand_array(mfn_t m)
{
    struct evtchn_expand_array e = { .array_gfn = m.mfn };

    return do_event_channel_op(EVTCHNOP_expand_array, gp(&e));
}

static long set_priority(evtchn_port_t p, uint32_t prio)
{
    struct evtchn_set_priority sp = { .port = p, .priority = prio };

    return do_event_channel_op(EVTCHNOP_set_priority, gp(&sp));
}

Test(pv_event, fifo_argument_checks)
{
    /* The 2-level ABI has no FIFO state yet. */
    cr_expect_eq(expand_array(G(10)), -XEN_EOPNOTSUPP, "expand before init_control");
    cr_expect_eq(set_priority(1, 3), -XEN_ENOSYS, "2-level: no priorities");
    cr_expect_eq(set_priority(100000, 3), -XEN_EINVAL, "port outside the space first");

    memset(tab(G(10)), 0, PAGE_SIZE);
    cr_expect_eq(init_control(G(10), 0, NVCPU), -XEN_ENOENT, "no such vCPU");
    cr_expect_eq(init_control(G(10), PAGE_SIZE - 72 + 8, 0), -XEN_EINVAL, "crosses the page");
    cr_expect_eq(init_control(G(10), 4, 0), -XEN_EINVAL, "not 8-byte aligned");
    cr_expect_eq(init_control(SHIM_FRAME, 0, 0), -XEN_EINVAL, "not a guest frame");
    cr_expect_eq(init_control(mfn(1ULL << 60), 0, 0), -XEN_EINVAL, "absurd frame");
    memset(tab(G(11)), 0, PAGE_SIZE);
    cr_assert_eq(pv_mm_pin_table(G(11), 1), 0);
    cr_expect_eq(init_control(G(11), 0, 0), -XEN_EINVAL, "a page table is not writable");
    cr_expect_not(pv_fifo_active(), "failures leave the 2-level ABI");
    cr_expect_eq(do_event_channel_op(EVTCHNOP_init_control, HV_PTR), -XEN_EFAULT);

    cr_expect_eq(init_control(G(10), PAGE_SIZE - 72, 0), 0, "the last offset that fits");
    cr_expect(pv_fifo_active());
    cr_expect_eq(init_control(G(12), 0, 0), -XEN_EINVAL, "a vCPU registers once");
    cr_expect_eq(F(G(12))->type_count, 0, "and the refused frame keeps no reference");
    cr_expect_eq(F(G(10))->type_count, 1, "the control block holds a writable type");
    cr_expect_eq(pv_mm_pin_table(G(10), 1), -XEN_EINVAL, "so it cannot become a page table");

    cr_expect_eq(set_priority(1, EVTCHN_FIFO_PRIORITY_MIN + 1), -XEN_EINVAL, "priority past 15");
    cr_expect_eq(set_priority(1, EVTCHN_FIFO_PRIORITY_MIN), 0);
    cr_expect_eq(expand_array(SHIM_FRAME), -XEN_EINVAL, "array page not the guest's");
    cr_expect_eq(expand_array(G(11)), -XEN_EINVAL, "array page a page table");
    /* 128 pages of 1024 words cover the 2^17 ports; the 129th is -ENOSPC. */
    for (unsigned int i = 0; i < 128; i++)
        cr_assert_eq(expand_array(G(20)), 0, "page %u", i);
    cr_expect_eq(expand_array(G(20)), -XEN_ENOSPC);
    cr_expect_eq(F(G(20))->type_count, 128, "one reference per page");

    /* EVTCHNOP_reset goes back to the 2-level ABI and drops every frame. */
    {
        struct evtchn_reset r = { .dom = DOMID_SELF };

        cr_expect_eq(do_event_channel_op(EVTCHNOP_reset, gp(&r)), 0);
    }
    cr_expect_not(pv_fifo_active());
    cr_expect_eq(F(G(10))->type_count, 0);
    cr_expect_eq(F(G(20))->type_count, 0);
    cr_expect_eq(set_priority(1, 3), -XEN_ENOSYS);
    cr_expect_eq(init_control(G(10), 0, 0), 0, "and FIFO may start again");
}

Test(pv_event, fifo_delivery)
{
    struct evtchn_fifo_control_block *cb1 = fifo_cb(G(10), 64);
    event_word_t *w = fifo_words(G(11));
    evtchn_port_t p, q, r, early;
    struct evtchn_unmask u;
    evtchn_port_t pp[1];

    memset(tab(G(10)), 0, PAGE_SIZE);
    memset(tab(G(11)), 0, PAGE_SIZE);
    memset(tab(G(12)), 0, PAGE_SIZE);
    shinfo.vcpu_info[1].evtchn_upcall_mask = 0;
    /* An event raised under the 2-level ABI survives the switch. */
    early = bind_ipi(1);
    cr_expect_eq(send(early), 0);
    shinfo.vcpu_info[1].evtchn_upcall_pending = 0;
    kicks[1] = 0;
    cr_assert_eq(init_control(G(12), 0, 0), 0);
    cr_assert_eq(init_control(G(10), 64, 1), 0);
    /* Bound and raised before its event word exists: kept for later. */
    p = bind_ipi(1);
    cr_expect_eq(send(p), 0);
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_upcall_pending, 0);
    cr_assert_eq(expand_array(G(11)), 0);
    cr_expect_eq(w[early], FIFO_PEND | FIFO_LINKED | p, "2-level event re-raised, then p behind it");
    cr_expect_eq(w[p], FIFO_PEND | FIFO_LINKED);
    cr_expect_eq(cb1->head[EVTCHN_FIFO_PRIORITY_DEFAULT], early);
    cr_expect_eq(cb1->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_upcall_pending, 1);
    cr_expect_eq(kicks[1], 1);
    cr_expect_eq(shinfo.evtchn_pending[0], 1UL << early, "no 2-level bits any more");

    /* Same priority: linked behind the tail, no new READY edge. */
    q = bind_ipi(1);
    cr_expect_eq(send(q), 0);
    cr_expect_eq(w[p] & EVTCHN_FIFO_LINK_MASK, q);
    cr_expect_eq(w[q], FIFO_PEND | FIFO_LINKED);
    cr_expect_eq(kicks[1], 1, "the queue was not empty");
    cr_expect_eq(send(q), 0, "already pending: nothing changes");
    cr_expect_eq(w[q], FIFO_PEND | FIFO_LINKED);

    /* Another priority: its own head and READY bit. */
    r = bind_ipi(1);
    cr_expect_eq(set_priority(r, 2), 0);
    cr_expect_eq(send(r), 0);
    cr_expect_eq(cb1->head[2], r);
    cr_expect_eq(w[r], FIFO_PEND | FIFO_LINKED, "heads its queue, links nothing");
    cr_expect_eq(cb1->ready, (1u << 2) | (1u << EVTCHN_FIFO_PRIORITY_DEFAULT));

    /* The guest consumes the default queue (clears LINKED and PENDING of
     * each): the next event there starts a new queue at the head. */
    w[early] = w[p] = w[q] = 0;
    cb1->ready = 0;
    cb1->head[EVTCHN_FIFO_PRIORITY_DEFAULT] = 0;
    shinfo.vcpu_info[1].evtchn_upcall_pending = 0;
    cr_expect_eq(send(p), 0);
    cr_expect_eq(cb1->head[EVTCHN_FIFO_PRIORITY_DEFAULT], p);
    cr_expect_eq(w[q], 0, "the consumed old tail is not linked to");
    cr_expect_eq(cb1->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    cr_expect_eq(shinfo.vcpu_info[1].evtchn_upcall_pending, 1);

    /* Masked: PENDING only; unmask links it. */
    w[q] = FIFO_MASK;
    cr_expect_eq(send(q), 0);
    cr_expect_eq(w[q], FIFO_MASK | FIFO_PEND);
    cr_expect_eq(w[p] & EVTCHN_FIFO_LINK_MASK, 0);
    u.port = q;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_unmask, gp(&u)), 0);
    cr_expect_eq(w[q], FIFO_PEND | FIFO_LINKED);
    cr_expect_eq(w[p] & EVTCHN_FIFO_LINK_MASK, q);

    /* SCHEDOP_poll reads the FIFO PENDING bit. */
    pp[0] = q;
    poll_call(pp, 1, 0, 0, "FIFO-pending port ends the poll at once");

    /* A closed port still LINKED is busy: not handed out again. */
    {
        struct evtchn_close c = { .port = q };
        evtchn_port_t n;

        cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), 0);
        cr_expect_eq(w[q], FIFO_LINKED, "close clears PENDING only");
        n = bind_ipi(0);
        cr_expect_neq(n, q, "busy port skipped");
    }

    /* A vCPU without a control block: the event is pending, never linked
     * nor signalled (Xen drops it: the guest may not unmask before). */
    {
        evtchn_port_t z;

        shinfo.vcpu_info[2].evtchn_upcall_mask = 0;
        z = bind_ipi(2);
        cr_expect_eq(send(z), 0);
        cr_expect_eq(w[z], FIFO_PEND);
        cr_expect_eq(shinfo.vcpu_info[2].evtchn_upcall_pending, 0);
    }
}

/* An NMI from L0 (`xl trigger <domid> nmi`) is never fatal: in shim
 * context (as when it wakes a halted CPU) the handler only asks for the
 * state dump, which the next safe point prints once; the dump names the
 * vCPU whose port is pending and unmasked, and whether it is blocked. */
Test(pv_event, nmi_asks_for_a_state_dump_once)
{
    struct cpu_regs nmi = { .vector = X86_EXC_NMI, .cs = 0xe008 };
    evtchn_port_t p1 = bind_ipi(1);
    unsigned long before = trap_nmi_count();
    char want[96];

    shinfo.vcpu_info[1].evtchn_upcall_mask = 0;
    cr_assert_eq(send(p1), 0);
    pv_dom.vcpus[2].blocked = true;
    fake_console_capture();
    pv_state_dump_check();
    cr_expect_eq(fake_console_out[0], 0, "no NMI, no dump");

    trap_handle(&nmi, 0);           /* trap_fatal would end the test */
    cr_expect_eq(trap_nmi_count(), before + 1);
    pv_state_dump_check();
    cr_expect(strstr(fake_console_out, "dump: NMI"), "%s", fake_console_out);
    snprintf(want, sizeof(want), "dump: vCPU 1: timer off, periodic off, poll off; "
             "1 port(s) pending and unmasked: %u", p1);
    cr_expect(strstr(fake_console_out, want), "%s", fake_console_out);
    cr_expect(strstr(fake_console_out, "dump: vCPU 0: timer off, periodic off, poll off; "
                     "0 port(s)"), "%s", fake_console_out);
    cr_expect(strstr(fake_console_out, "dump: vCPU 2: blocked, "),
              "%s", fake_console_out);
    cr_expect(strstr(fake_console_out, "dump: vCPU 1: running"), "%s", fake_console_out);
    /* Each vCPU's shim CPU: its timer as the shim believes it armed. */
    cr_expect(strstr(fake_console_out, "dump: vCPU 2: CPU 2 timer off, 0 timer interrupts"),
              "%s", fake_console_out);

    fake_console_capture();
    pv_state_dump_check();
    cr_expect_eq(fake_console_out[0], 0, "one dump per NMI: %s", fake_console_out);
}

/* ------------------------------------- interdomain channels through L0 --- */

/*
 * The test plays a Xen L0 for the shim's domain (id 7): its port space
 * (ports 1 and 2 already L0's xenstore and console channels), the lowest
 * free port for alloc_unbound and bind_interdomain (Xen's get_free_port),
 * close, send and status; dom0 has an unbound port 40 for us.
 */
#define L0_DOMID 7
enum { L0_FREE, L0_UNBOUND, L0_INTERDOMAIN };
static struct { uint8_t state; domid_t rdom; evtchn_port_t rport; } l0p[L0_EVTCHN_MAX_PORTS];
static unsigned int l0_sends, l0_closes, l0_calls;
static evtchn_port_t l0_last_send;
static long l0_alloc_rc;

static evtchn_port_t l0_get_free(void)
{
    for (evtchn_port_t p = 1; p < L0_EVTCHN_MAX_PORTS; p++)
        if (l0p[p].state == L0_FREE)
            return p;
    return 0;
}

static long evt_l0(unsigned int nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    if (nr == __HYPERVISOR_memory_op && a1 == XENMEM_add_to_physmap) {
        fake_xen_map_shinfo(((struct xen_add_to_physmap *)a2)->gpfn);
        return 0;
    }
    if (nr == __HYPERVISOR_hvm_op)
        return 0;
    cr_assert_eq(nr, __HYPERVISOR_event_channel_op);
    l0_calls++;
    switch (a1) {
    case EVTCHNOP_alloc_unbound: {
        struct evtchn_alloc_unbound *a = (void *)a2;
        evtchn_port_t p;

        if (l0_alloc_rc)
            return l0_alloc_rc;
        if (a->dom != DOMID_SELF && a->dom != L0_DOMID)
            return -XEN_EPERM;
        p = l0_get_free();
        if (!p)
            return -XEN_ENOSPC;
        l0p[p].state = L0_UNBOUND;
        l0p[p].rdom = a->remote_dom;
        a->port = p;
        return 0;
    }
    case EVTCHNOP_bind_interdomain: {
        struct evtchn_bind_interdomain *b = (void *)a2;
        evtchn_port_t p;

        if (b->remote_dom != 0 || b->remote_port != 40)
            return -XEN_EINVAL;
        p = l0_get_free();
        l0p[p].state = L0_INTERDOMAIN;
        l0p[p].rdom = 0;
        l0p[p].rport = 40;
        b->local_port = p;
        return 0;
    }
    case EVTCHNOP_close: {
        struct evtchn_close *c = (void *)a2;

        if (c->port >= L0_EVTCHN_MAX_PORTS || l0p[c->port].state == L0_FREE)
            return -XEN_EINVAL;
        l0p[c->port].state = L0_FREE;
        l0_closes++;
        return 0;
    }
    case EVTCHNOP_send: {
        struct evtchn_send *s = (void *)a2;

        if (s->port >= L0_EVTCHN_MAX_PORTS || l0p[s->port].state == L0_FREE)
            return -XEN_EINVAL;
        l0_sends++;
        l0_last_send = s->port;
        return 0;
    }
    case EVTCHNOP_status: {
        struct evtchn_status *st = (void *)a2;

        cr_assert_eq(st->dom, DOMID_SELF);
        if (st->port >= L0_EVTCHN_MAX_PORTS)
            return -XEN_EINVAL;
        st->vcpu = 0;
        switch (l0p[st->port].state) {
        case L0_FREE: st->status = EVTCHNSTAT_closed; break;
        case L0_UNBOUND: st->status = EVTCHNSTAT_unbound;
                         st->u.unbound.dom = l0p[st->port].rdom; break;
        default: st->status = EVTCHNSTAT_interdomain;
                 st->u.interdomain.dom = l0p[st->port].rdom;
                 st->u.interdomain.port = l0p[st->port].rport; break;
        }
        return 0;
    }
    case EVTCHNOP_unmask:
        fake_xen_unmask(((struct evtchn_unmask *)a2)->port);
        return 0;
    }
    return -XEN_ENOSYS;
}

static void evtchn_l0_setup(void)
{
    setup();
    memset(l0p, 0, sizeof(l0p));
    l0p[1].state = l0p[2].state = L0_INTERDOMAIN;
    l0_sends = l0_closes = l0_calls = 0;
    l0_last_send = 0;
    l0_alloc_rc = 0;
    cr_assert_eq(fake_xen_up(evt_l0), 0);
    cr_assert_eq(l0_evtchn_init(L0_UPCALL_VECTOR), 0);
    pv_dom.domid = L0_DOMID;
    cr_assert_eq(pv_evtchn_use_l0(), 0);
}

TestSuite(pv_evtchn_l0, .init = evtchn_l0_setup, .fini = teardown, .timeout = 10);

static long alloc_unbound(domid_t dom, domid_t remote, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound a = { .dom = dom, .remote_dom = remote };
    long rc = do_event_channel_op(EVTCHNOP_alloc_unbound, gp(&a));

    *port = a.port;
    return rc;
}

static evtchn_port_t bind_interdomain_40(void)
{
    struct evtchn_bind_interdomain b = { .remote_dom = 0, .remote_port = 40 };

    cr_assert_eq(do_event_channel_op(EVTCHNOP_bind_interdomain, gp(&b)), 0);
    return b.local_port;
}

Test(pv_evtchn_l0, no_l0_means_no_forwarding)
{
    pv_evtchn_reset();
    l0_evtchn_reset();
    cr_expect_eq(pv_evtchn_use_l0(), -XEN_ENODEV);
    cr_expect_not(pv_evtchn_is_l0());
    {
        struct evtchn_bind_interdomain b = { .remote_dom = 0, .remote_port = 40 };

        cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_interdomain, gp(&b)), -XEN_ENOSYS);
    }
    cr_expect_eq(l0_calls, 0);
}

Test(pv_evtchn_l0, alloc_unbound_is_l0s_port_and_number)
{
    evtchn_port_t p;
    struct evtchn_status st = { .dom = DOMID_SELF };

    cr_expect_eq(alloc_unbound(DOMID_SELF, 0, &p), 0);
    cr_expect_eq(p, 3, "L0's lowest free port (1 and 2 are L0's own channels)");
    cr_expect_eq(l0p[3].state, L0_UNBOUND);
    cr_expect_eq(l0p[3].rdom, 0, "for dom0's backend");
    st.port = p;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_unbound, "L0's status");
    cr_expect_eq(st.u.unbound.dom, 0);
    /* The guest's own L0 id is itself too; another domain is L0's call. */
    cr_expect_eq(alloc_unbound(L0_DOMID, 0, &p), 0);
    cr_expect_eq(p, 4);
    cr_expect_eq(alloc_unbound(3, 0, &p), -XEN_EPERM, "L0's errno");
    /* L0 out of ports. */
    l0_alloc_rc = -XEN_ENOSPC;
    cr_expect_eq(alloc_unbound(DOMID_SELF, 0, &p), -XEN_ENOSPC);
}

Test(pv_evtchn_l0, local_ports_reserve_their_numbers_in_l0)
{
    evtchn_port_t ipi = bind_ipi(1), un, shim;
    struct evtchn_bind_virq v = { .virq = VIRQ_TIMER, .vcpu = 0 };

    cr_expect_eq(ipi, 3, "the IPI port's number comes from L0");
    cr_expect_eq(l0p[3].state, L0_UNBOUND);
    cr_expect_eq(l0p[3].rdom, DOMID_SELF, "reserved: unbound to ourselves");
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&v)), 0);
    cr_expect_eq(v.port, 4);
    shim = pv_evtchn_alloc_shim_port(NULL);
    cr_expect_eq(shim, 5);
    cr_expect_eq(alloc_unbound(DOMID_SELF, 0, &un), 0);
    cr_expect_eq(un, 6, "a forwarded channel never gets a local port's number");
    /* The local ports stay local: an IPI send raises the port here. */
    cr_expect_eq(send(ipi), 0);
    cr_expect(pending(ipi));
    cr_expect_eq(l0_sends, 0);
    /* Closing a local port gives its number back to L0. */
    {
        struct evtchn_close c = { .port = ipi };

        cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), 0);
    }
    cr_expect_eq(l0p[3].state, L0_FREE);
    cr_expect_eq(alloc_unbound(DOMID_SELF, 0, &un), 0);
    cr_expect_eq(un, 3);
    /* A VIRQ already bound: -EEXIST, and the reserved number goes back. */
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&v)), -XEN_EEXIST);
    cr_expect_eq(l0p[7].state, L0_FREE);
}

Test(pv_evtchn_l0, send_close_status_are_l0s)
{
    evtchn_port_t p = bind_interdomain_40();
    struct evtchn_status st = { .dom = DOMID_SELF, .port = p };
    struct evtchn_close c = { .port = p };

    cr_expect_eq(p, 3);
    cr_expect_eq(send(p), 0);
    cr_expect_eq(l0_sends, 1);
    cr_expect_eq(l0_last_send, 3);
    cr_expect_not(pending(p), "a send goes to the remote end, not to us");
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_interdomain);
    cr_expect_eq(st.u.interdomain.dom, 0);
    cr_expect_eq(st.u.interdomain.port, 40);
    st = (struct evtchn_status){ .dom = L0_DOMID, .port = p };
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0, "own L0 id");
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), 0);
    cr_expect_eq(l0p[3].state, L0_FREE);
    cr_expect_eq(l0_closes, 1);
    cr_expect_eq(send(p), -XEN_EINVAL, "closed");
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), -XEN_EINVAL);
    cr_expect_eq(l0_closes, 1);
    /* A remote port L0 refuses: L0's errno, nothing left behind. */
    {
        struct evtchn_bind_interdomain b = { .remote_dom = 0, .remote_port = 41 };

        cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_interdomain, gp(&b)), -XEN_EINVAL);
    }
}

Test(pv_evtchn_l0, l0_upcall_raises_the_port_on_its_vcpu)
{
    evtchn_port_t p = bind_interdomain_40();
    struct evtchn_bind_vcpu bv = { .port = p, .vcpu = 2 };
    struct evtchn_close c = { .port = p };

    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_vcpu, gp(&bv)), 0);
    shinfo.vcpu_info[2].evtchn_upcall_mask = 0;
    fake_xen_raise(p);                  /* dom0's backend notifies */
    l0_evtchn_upcall(NULL);
    cr_expect(pending(p));
    cr_expect(shinfo.vcpu_info[2].evtchn_upcall_pending, "on the vCPU it is bound to");
    cr_expect_not(shinfo.vcpu_info[0].evtchn_upcall_pending);
    cr_expect_eq(kicks[2], 1, "vCPU 2's CPU is told");
    cr_expect_not(fake_xen_pending(p), "consumed in L0");
    /* After close, an L0 event on that number raises nothing. */
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&c)), 0);
    shinfo.evtchn_pending[0] = 0;
    fake_xen_raise(p);
    l0_evtchn_upcall(NULL);
    cr_expect_not(pending(p));
}

Test(pv_evtchn_l0, reset_closes_l0_channels_and_reservations)
{
    evtchn_port_t a = bind_interdomain_40(), b = bind_ipi(0), u;
    struct evtchn_reset r = { .dom = DOMID_SELF };

    cr_expect_eq(alloc_unbound(DOMID_SELF, 0, &u), 0);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_reset, gp(&r)), 0);
    cr_expect_eq(l0p[a].state, L0_FREE);
    cr_expect_eq(l0p[b].state, L0_FREE);
    cr_expect_eq(l0p[u].state, L0_FREE);
    cr_expect_eq(l0p[1].state, L0_INTERDOMAIN, "L0's own channels stay");
    r.dom = L0_DOMID;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_reset, gp(&r)), 0, "own L0 id");
}
