/*
 * The IPI engine (shim/ipi.c): who is targeted (self excluded, offline
 * skipped), that wait means completion, the APIC encoding it chooses
 * (one IPI per CPU vs the all-but-self shorthand), dropping a target that
 * goes offline, and no deadlock when CPUs with interrupts disabled IPI each
 * other (host threads play the CPUs).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <minishim/apic.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/ipi.h>
#include <minishim/percpu.h>
#include <minishim/smp.h>
#include <minishim/trap.h>
#include <minishim/x86.h>
#include "fake/fake.h"

static void setup(void)
{
    fake_reset();
    console_remove_all_sinks();
}

TestSuite(ipi, .init = setup, .timeout = 15);

static cpumask_t sent_to;
static unsigned int nr_sends, last_vector;
static bool deliver;            /* run the targets synchronously */
static unsigned int ran_on[NR_CPUS];

static void send_hook(const cpumask_t *targets, unsigned int vector)
{
    unsigned int self = fake_cpu_id;

    sent_to = *targets;
    last_vector = vector;
    nr_sends++;
    if (!deliver)
        return;
    for_each_cpu(c, targets) {
        fake_cpu_id = c;
        ipi_service();
    }
    fake_cpu_id = self;
}

static void record(void *arg)
{
    (void)arg;
    ran_on[fake_cpu_id]++;
}

static void online(unsigned int n)
{
    cpumask_clear(&cpu_online_mask);
    for (unsigned int c = 0; c < n; c++)
        cpumask_set(&cpu_online_mask, c);
}

static cpumask_t mask_of(unsigned int a, unsigned int b, unsigned int c)
{
    cpumask_t m;

    cpumask_clear(&m);
    cpumask_set(&m, a);
    cpumask_set(&m, b);
    cpumask_set(&m, c);
    return m;
}

Test(ipi, self_excluded_offline_skipped)
{
    cpumask_t m = mask_of(0, 1, 2);

    online(4);
    cpumask_clear_cpu(&cpu_online_mask, 2);           /* CPU 2 offline */
    ipi_set_send_hook(send_hook);
    deliver = true;
    ipi_call_mask(&m, record, NULL, true);
    cr_expect_eq(nr_sends, 1);
    cr_expect_eq(last_vector, IPI_VECTOR_CALL);
    cr_expect(cpumask_test(&sent_to, 1));
    cr_expect_not(cpumask_test(&sent_to, 0), "the sender is never a target");
    cr_expect_not(cpumask_test(&sent_to, 2), "offline CPUs are skipped");
    cr_expect_not(cpumask_test(&sent_to, 3), "only CPUs in the mask");
    cr_expect_eq(ran_on[1], 1);
    cr_expect_eq(ran_on[0] + ran_on[2] + ran_on[3], 0);
}

Test(ipi, empty_remote_set_sends_nothing)
{
    cpumask_t m = mask_of(0, 0, 0);

    online(4);
    ipi_set_send_hook(send_hook);
    ipi_call_mask(&m, record, NULL, true);
    flush_ipi_mask(&m, &(struct flush_request){ .flags = FLUSH_TLB });
    cr_expect_eq(nr_sends, 0);
}

Test(ipi, no_wait_runs_at_service_and_acknowledges)
{
    cpumask_t m = mask_of(1, 2, 3);

    online(4);
    ipi_set_send_hook(send_hook);
    deliver = false;
    ipi_call_mask(&m, record, NULL, false);           /* returns at once */
    cr_expect_eq(ran_on[1] + ran_on[2] + ran_on[3], 0);
    fake_cpu_id = 2;
    ipi_service();                                    /* CPU 2 takes the vector */
    ipi_service();                                    /* nothing twice */
    fake_cpu_id = 0;
    cr_expect_eq(ran_on[2], 1);
    cr_expect_eq(ran_on[1], 0);
}

Test(ipi, flush_runs_flush_local_on_each_target)
{
    cpumask_t m = mask_of(0, 1, 3);
    struct flush_request req = { .flags = FLUSH_TLB | FLUSH_TLB_GLOBAL };

    online(4);
    ipi_set_send_hook(send_hook);
    deliver = true;
    flush_ipi_mask(&m, &req);
    cr_expect_eq(last_vector, IPI_VECTOR_FLUSH);
    cr_expect_eq(fake_cpu_global_flushes[1], 1);
    cr_expect_eq(fake_cpu_global_flushes[3], 1);
    cr_expect_eq(fake_cpu_global_flushes[0], 0, "the caller's own flush is flush_local's job");
    cr_expect_eq(fake_cpu_global_flushes[2], 0);
}

Test(ipi, target_going_offline_is_dropped_from_the_wait)
{
    cpumask_t m = mask_of(1, 1, 1);

    online(3);
    ipi_set_send_hook(send_hook);
    deliver = false;
    /* A no-wait call to CPU 1, which then goes offline without serving it.
     * The next call from this CPU reuses the slot: it must not wait for
     * CPU 1's acknowledgement forever. */
    ipi_call_mask(&m, record, NULL, false);
    cpumask_clear_cpu(&cpu_online_mask, 1);
    m = mask_of(2, 2, 2);
    deliver = true;
    ipi_call_mask(&m, record, NULL, true);
    cr_expect_eq(ran_on[2], 1);
    cr_expect_eq(ran_on[1], 0);
}

/* ---- the APIC encoding the engine picks (xAPIC through the fake) ---- */

static void xapic_cpus(unsigned int n)
{
    fake_set_cpuid(1, 0, 0, 0, 1u << 9);
    arch_wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_XAPIC);
    for (unsigned int c = 0; c < n; c++)
        percpu[c].apic_id = 10 + c;
    online(n);
    fake_nr_mmio_writes = 0;
}

Test(ipi, all_others_use_the_all_but_self_shorthand)
{
    xapic_cpus(3);
    ipi_call_mask(&cpu_online_mask, record, NULL, false);
    cr_assert_eq(fake_nr_mmio_writes, 2);
    cr_expect_eq(fake_mmio_log[1].addr, 0xfee00300);
    cr_expect_eq(fake_mmio_log[1].val, 0x000c40f2);
}

Test(ipi, some_cpus_get_one_ipi_each)
{
    cpumask_t m = mask_of(0, 2, 3);

    xapic_cpus(4);
    ipi_call_mask(&m, record, NULL, false);
    /* CPUs 2 and 3 of 1..3: one fixed IPI each, high half first. */
    cr_assert_eq(fake_nr_mmio_writes, 4);
    cr_expect_eq(fake_mmio_log[0].val, 12u << 24);
    cr_expect_eq(fake_mmio_log[1].val, 0x40f2);
    cr_expect_eq(fake_mmio_log[2].val, 13u << 24);
    cr_expect_eq(fake_mmio_log[3].val, 0x40f2);
}

/* ---- two CPUs calling each other with interrupts disabled ---- */

static volatile bool go;
static unsigned int done[NR_CPUS];

static void *cpu_thread(void *arg)
{
    unsigned int self = (unsigned int)(uintptr_t)arg;
    cpumask_t others;

    fake_cpu_id = self;
    cpumask_clear(&others);
    for (unsigned int c = 1; c <= 2; c++)
        if (c != self)
            cpumask_set(&others, c);
    while (!go)
        ;
    for (unsigned int i = 0; i < 1000; i++) {
        unsigned long f = arch_irq_save();
        /* Nobody takes the vector (no delivery): only serving from the
         * wait loop can make progress. */
        ipi_call_mask(&others, record, NULL, true);
        arch_irq_restore(f);
    }
    __atomic_store_n(&done[self], 1, __ATOMIC_SEQ_CST);
    /* Keep serving until everyone is done, as an idle CPU would. */
    while (__atomic_load_n(&done[1], __ATOMIC_SEQ_CST) + __atomic_load_n(&done[2], __ATOMIC_SEQ_CST) < 2)
        ipi_service();
    return NULL;
}

static void count_only(const cpumask_t *t, unsigned int v)
{
    (void)t; (void)v;
}

Test(ipi, cpus_calling_each_other_with_irqs_off_do_not_deadlock, .timeout = 20)
{
    pthread_t th[3];

    online(3);
    ipi_set_send_hook(count_only);
    for (unsigned int c = 1; c <= 2; c++)
        pthread_create(&th[c], NULL, cpu_thread, (void *)(uintptr_t)c);
    go = true;
    for (unsigned int c = 1; c <= 2; c++)
        pthread_join(th[c], NULL);
    /* Each of CPU 1 and 2 ran every call of the other. */
    cr_expect_eq(ran_on[1], 1000);
    cr_expect_eq(ran_on[2], 1000);
}

/* ---- interrupt vectors in the trap path (shim/trap.c) ---- */

static unsigned int irq_calls, guest_calls;

static void irq_fn(struct cpu_regs *r) { (void)r; irq_calls++; }
static void guest_fn(struct cpu_regs *r) { (void)r; guest_calls++; }

/* An interrupt (or NMI) an L0 delivers on the idle wait's hlt, inside
 * sti's shadow, returns past the hlt: returning to it would halt with the
 * wake-up consumed (the bed's 4-vCPU Linux hang: a vCPU made runnable,
 * its CPU halted with no timer armed). Elsewhere the return address is
 * left alone, and so is guest context. */
Test(ipi, interrupt_on_the_idle_hlt_resumes_past_it)
{
    struct cpu_regs r = { .cs = 0xe008, .rip = FAKE_WFI_HLT_RIP, .vector = IPI_VECTOR_CALL };
    unsigned long before = trap_wfi_shadow_count();

    trap_set_irq_handler(IPI_VECTOR_CALL, irq_fn);
    trap_handle(&r, 0);
    cr_expect_eq(r.rip, FAKE_WFI_HLT_RIP + 1, "resumed at %#lx", (unsigned long)r.rip);
    cr_expect_eq(trap_wfi_shadow_count(), before + 1);
    r = (struct cpu_regs){ .cs = 0xe008, .rip = FAKE_WFI_HLT_RIP, .vector = X86_EXC_NMI };
    trap_handle(&r, 0);
    cr_expect_eq(r.rip, FAKE_WFI_HLT_RIP + 1, "an NMI there too");
    r = (struct cpu_regs){ .cs = 0xe008, .rip = FAKE_WFI_HLT_RIP + 1, .vector = IPI_VECTOR_CALL };
    trap_handle(&r, 0);
    cr_expect_eq(r.rip, FAKE_WFI_HLT_RIP + 1, "past the hlt: untouched");
    r = (struct cpu_regs){ .cs = 0xe033, .rip = FAKE_WFI_HLT_RIP, .vector = IPI_VECTOR_CALL };
    trap_set_guest_handler(guest_fn);
    trap_handle(&r, 0);
    cr_expect_eq(r.rip, FAKE_WFI_HLT_RIP, "guest context: untouched");
    cr_expect_eq(trap_wfi_shadow_count(), before + 2);
}

Test(ipi, interrupt_vectors_dispatch_before_the_guest_handler)
{
    struct cpu_regs r = { 0 };

    trap_set_guest_handler(guest_fn);
    trap_set_irq_handler(IPI_VECTOR_CALL, irq_fn);
    trap_set_irq_handler(X86_EXC_PF, irq_fn);      /* exceptions cannot be taken over */
    r.cs = 0xe033;                                  /* taken in guest context */
    r.vector = IPI_VECTOR_CALL;
    trap_handle(&r, 0);
    cr_expect_eq(irq_calls, 1);
    /* ... and then the guest handler, which acts on the way back to the
     * guest (events, parking a downed vCPU: pv_guest_trap). */
    cr_expect_eq(guest_calls, 1);
    r.vector = 0x30;                                /* no handler: the guest's */
    trap_handle(&r, 0);
    r.vector = X86_EXC_PF;
    trap_handle(&r, 0);
    cr_expect_eq(irq_calls, 1);
    cr_expect_eq(guest_calls, 3);
    r.cs = 0xe008;                                  /* shim context, IPI vector */
    r.vector = IPI_VECTOR_CALL;
    trap_handle(&r, 0);
    cr_expect_eq(irq_calls, 2);
}

/* A target whose interrupt went missing: the first send is lost, so the
 * waiting sender must send the vector again to it (and only to it), and
 * count that; a target that already picked the request up is not re-sent. */
static unsigned int lose_first;

static void lossy_hook(const cpumask_t *targets, unsigned int vector)
{
    unsigned int self = fake_cpu_id;

    sent_to = *targets;
    last_vector = vector;
    if (nr_sends++ < lose_first)
        return;                         /* lost on the way */
    for_each_cpu(c, targets) {
        fake_cpu_id = c;
        ipi_service();
    }
    fake_cpu_id = self;
}

Test(ipi, lost_interrupt_is_resent)
{
    cpumask_t m = mask_of(1, 1, 1);
    uint64_t before = ipi_resend_count();

    online(2);
    ipi_set_send_hook(lossy_hook);
    nr_sends = 0;
    lose_first = 1;
    memset(ran_on, 0, sizeof(ran_on));
    ipi_call_mask(&m, record, NULL, true);
    cr_assert_eq(ran_on[1], 1, "the call ran once on the target");
    cr_assert_eq(nr_sends, 2, "sent, then re-sent once");
    cr_assert_eq(last_vector, IPI_VECTOR_CALL);
    cr_assert(cpumask_test(&sent_to, 1) && cpumask_weight(&sent_to) == 1);
    cr_assert_eq(ipi_resend_count(), before + 1);

    /* Delivered at once: no resend. */
    nr_sends = 0;
    lose_first = 0;
    ipi_call_mask(&m, record, NULL, true);
    cr_assert_eq(nr_sends, 1);
    cr_assert_eq(ipi_resend_count(), before + 1);
    ipi_set_send_hook(NULL);
}

/* ---- the IPI fault points (inject=ipi-drop|ipi-dup|ipi-delay|cpu-stall) ---- */

#include "fake/fake_inject.h"

/* A dropped IPI: the sender's resend brings the request to the target,
 * which serves it once. Without the drop, no resend would be counted. */
Test(ipi, inject_drop_is_recovered_by_the_resend)
{
    cpumask_t m = mask_of(1, 1, 1);
    uint64_t before = ipi_resend_count();

    online(2);
    ipi_set_send_hook(send_hook);
    deliver = true;
    nr_sends = 0;
    memset(ran_on, 0, sizeof(ran_on));
    fake_inject_arm(INJECT_IPI_DROP, 1);
    ipi_call_mask(&m, record, NULL, true);
    cr_expect_eq(inject_fired(INJECT_IPI_DROP), 1);
    cr_expect_eq(ran_on[1], 1, "served once, after the resend");
    cr_expect_eq(nr_sends, 1, "only the resend reached the hook");
    cr_expect_eq(ipi_resend_count(), before + 1);
    inject_init(NULL);
    ipi_set_send_hook(NULL);
    deliver = false;
}

/* A duplicate: two sends, one service; a late one: still delivered. */
Test(ipi, inject_dup_and_delay_are_served_once)
{
    cpumask_t m = mask_of(1, 1, 1);

    online(2);
    ipi_set_send_hook(send_hook);
    deliver = true;
    nr_sends = 0;
    memset(ran_on, 0, sizeof(ran_on));
    fake_inject_arm(INJECT_IPI_DUP, 1);
    ipi_call_mask(&m, record, NULL, true);
    cr_expect_eq(inject_fired(INJECT_IPI_DUP), 1);
    cr_expect_eq(nr_sends, 2);
    cr_expect_eq(ran_on[1], 1, "the request ran once");

    nr_sends = 0;
    fake_inject_arm(INJECT_IPI_DELAY, 1);
    uint64_t t0 = fake_tsc;
    ipi_call_mask(&m, record, NULL, true);
    cr_expect_eq(inject_fired(INJECT_IPI_DELAY), 1);
    cr_expect_eq(nr_sends, 1);
    cr_expect_eq(ran_on[1], 2);
    cr_expect_gt(fake_tsc - t0, 1000, "the send waited");
    inject_init(NULL);
    ipi_set_send_hook(NULL);
    deliver = false;
}

/* A dropped event-check IPI is not sent (the sleep backstop in
 * pv/vcpu.c covers it); the next one is. */
Test(ipi, inject_drop_of_an_event_check)
{
    online(2);
    ipi_set_send_hook(send_hook);
    nr_sends = 0;
    fake_inject_arm(INJECT_IPI_DROP, 1);
    ipi_event_check(1);
    cr_expect_eq(nr_sends, 0);
    ipi_event_check(1);
    cr_expect_eq(nr_sends, 1);
    cr_expect_eq(last_vector, IPI_VECTOR_EVENT);
    inject_init(NULL);
    ipi_set_send_hook(NULL);
}

/* A stalled target still serves what was pending once it runs. */
Test(ipi, inject_cpu_stall_then_serves)
{
    cpumask_t m = mask_of(1, 1, 1);
    struct cpu_regs r;

    online(2);
    ipi_set_send_hook(count_only);
    memset(ran_on, 0, sizeof(ran_on));
    memset(&r, 0, sizeof(r));
    ipi_call_mask(&m, record, NULL, false);
    fake_inject_arm(INJECT_CPU_STALL, 1);
    fake_cpu_id = 1;
    uint64_t t0 = fake_tsc;
    ipi_interrupt(&r);
    fake_cpu_id = 0;
    cr_expect_eq(inject_fired(INJECT_CPU_STALL), 1);
    cr_expect_gt(fake_tsc - t0, 1000, "it stalled");
    cr_expect_eq(ran_on[1], 1);
    inject_init(NULL);
    ipi_set_send_hook(NULL);
}

static unsigned int async_ran[NR_CPUS];
static void async_fn(void) { async_ran[fake_cpu_id]++; }
static struct ipi_async async_work = { .fn = async_fn };

/* Slotless work: posting never waits (not even for an earlier no-wait
 * call's slot), a CPU posted to twice before it serves runs the work
 * once, and the caller and offline CPUs are never posted to. */
Test(ipi, async_work_is_posted_without_waiting_and_coalesces)
{
    cpumask_t m = mask_of(0, 1, 2);

    online(2);
    ipi_set_send_hook(send_hook);
    deliver = false;
    ipi_call_mask(&m, record, NULL, false);       /* slot left busy */
    ipi_async_post(&async_work, &m, IPI_VECTOR_FLUSH);
    ipi_async_post(&async_work, &m, IPI_VECTOR_FLUSH);
    cr_expect_eq(nr_sends, 3, "sent at once, no wait for the busy slot");
    cr_expect_eq(last_vector, IPI_VECTOR_FLUSH);
    cr_expect_eq(sent_to.bits[0], 1ULL << 1, "only CPU 1: not self, not offline");
    cr_expect_eq(async_ran[1], 0, "nothing runs before the target serves");
    fake_cpu_id = 1;
    ipi_service();
    ipi_service();
    fake_cpu_id = 0;
    cr_expect_eq(async_ran[1], 1, "two posts, one run");
    cr_expect_eq(ran_on[1], 1, "the slotted call ran too");
    cr_expect_eq(async_ran[0] + async_ran[2], 0);
    ipi_set_send_hook(NULL);
}
