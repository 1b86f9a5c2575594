/*
 * Application processors: the CPU list, bring-up and take-down, the AP
 * idle loop, and the smp-selftest (interface: include/minishim/smp.h).
 *
 * Start methods:
 *  - Xen L0: VCPUOP_initialise with a 64-bit vcpu_hvm_context, VCPUOP_up
 *    (Xen public vcpu.h, hvm/hvm_vcpu.h). Shim CPU n is Xen vCPU n: Xen's
 *    MADT for HVM/PVH guests lists vCPU i with APIC id 2i, in vCPU order
 *    (tools/libacpi build_madt), and vCPU 0 is the boot CPU. Take-down is
 *    VCPUOP_down on itself; the next VCPUOP_up resumes it.
 *  - Otherwise (QEMU-direct, Hyper-V/KVM L0): INIT-SIPI-SIPI through the
 *    local APIC with the real-mode trampoline (boot/trampoline.S) in a low
 *    RAM page (the frame allocator never hands out the low 1 MiB).
 *    Take-down halts the CPU with interrupts off; INIT restarts it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <xen/vcpu.h>
#include <minishim/acpi.h>
#include <minishim/apic.h>
#include <minishim/arch.h>
#include <minishim/bootinfo.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/ipi.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>
#include <minishim/smp.h>
#include <minishim/timer.h>
#include <minishim/spinlock.h>
#include <minishim/trap.h>

#define TRAMPOLINE_LOW   0x1000UL
#define TRAMPOLINE_HIGH  0x9f000UL      /* below the EBDA / VGA hole */
#define UP_TIMEOUT_US    5000000UL      /* L0 may preempt the new vCPU */

static bool smp_ready;
static bool use_xen;
static paddr_t trampoline;
static spinlock_t updown_lock = SPINLOCK_INIT;
static bool xen_started[NR_CPUS];
static bool park_request[NR_CPUS];
static void (*ap_work)(unsigned int cpu);

void smp_set_ap_work(void (*fn)(unsigned int cpu))
{
    ap_work = fn;
}

static bool online(unsigned int cpu)
{
    return (__atomic_load_n(&cpu_online_mask.bits[cpu / 64], __ATOMIC_ACQUIRE) >>
            (cpu % 64)) & 1;
}

static void set_online(unsigned int cpu, bool on)
{
    uint64_t bit = 1ULL << (cpu % 64);

    percpu[cpu].online = on;
    if (on)
        __atomic_fetch_or(&cpu_online_mask.bits[cpu / 64], bit, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&cpu_online_mask.bits[cpu / 64], ~bit, __ATOMIC_SEQ_CST);
}

uint64_t smp_pick_trampoline(const struct boot_info *bi)
{
    uint64_t best = 0;

    for (unsigned int i = 0; i < bi->nr_memmap; i++) {
        const struct boot_memmap_entry *e = &bi->memmap[i];
        uint64_t lo, hi;

        if (e->type != XEN_HVM_MEMMAP_TYPE_RAM || e->addr + e->size < e->addr)
            continue;
        lo = ALIGN_UP(MAX(e->addr, TRAMPOLINE_LOW), PAGE_SIZE);
        hi = ALIGN_DOWN(MIN(e->addr + e->size, TRAMPOLINE_HIGH), PAGE_SIZE);
        for (uint64_t p = hi; p >= lo + PAGE_SIZE && p > best + PAGE_SIZE; p -= PAGE_SIZE) {
            uint64_t page = p - PAGE_SIZE;
            bool clash = false;

            for (unsigned int m = 0; m < bi->nr_modules; m++) {
                uint64_t ms = bi->modules[m].start.pa, me = ms + bi->modules[m].size;

                if (page < me && page + PAGE_SIZE > ms)
                    clash = true;
            }
            if (!clash) {
                best = page;
                break;
            }
        }
    }
    return best;
}

static void spurious_interrupt(struct cpu_regs *regs)
{
    /* SDM 10.9: the spurious vector is not acknowledged with an EOI. */
    (void)regs;
}

int smp_init(const struct boot_info *bi, paddr_t rsdp)
{
    struct acpi_cpu list[NR_CPUS];
    enum apic_mode mode;
    uint32_t self;
    unsigned int next = 1;
    bool found = false;
    int n;

    trap_set_irq_handler(IPI_VECTOR_FLUSH, ipi_interrupt);
    trap_set_irq_handler(IPI_VECTOR_CALL, ipi_interrupt);
    trap_set_irq_handler(IPI_VECTOR_EVENT, ipi_event_interrupt);
    trap_set_irq_handler(APIC_SPURIOUS_VECTOR, spurious_interrupt);

    mode = apic_init_bsp();
    if (mode == APIC_MODE_NONE) {
        pr_warn("smp: no local APIC; running on the boot CPU only\n");
        return -XEN_ENODEV;
    }
    self = apic_id();
    percpu[0].apic_id = self;

    n = acpi_list_cpus(rsdp, list, NR_CPUS);
    if (n <= 0) {
        pr_info("smp: no usable MADT; running on the boot CPU only\n");
        nr_cpus_possible = 1;
        return -XEN_ENOENT;
    }
    if (n > NR_CPUS) {
        pr_warn("smp: MADT lists %d CPUs; using the first %u\n", n, NR_CPUS);
        n = NR_CPUS;
    }
    /* CPU 0 is the boot CPU; the others follow in MADT order. */
    for (int i = 0; i < n; i++) {
        bool dup = false;

        if (list[i].apic_id == self && !found) {
            percpu[0].acpi_id = list[i].acpi_id;
            found = true;
            continue;
        }
        for (unsigned int c = 0; c < next; c++)
            if (percpu[c].apic_id == list[i].apic_id)
                dup = true;
        if (dup) {
            pr_warn("smp: MADT lists APIC id %u twice; ignoring the second\n",
                    list[i].apic_id);
            continue;
        }
        if (mode != APIC_MODE_X2APIC && list[i].apic_id > 0xfe) {
            pr_warn("smp: APIC id %u needs x2APIC mode; CPU ignored\n", list[i].apic_id);
            continue;
        }
        if (next >= NR_CPUS)
            break;
        percpu[next].id = next;
        percpu[next].apic_id = list[i].apic_id;
        percpu[next].acpi_id = list[i].acpi_id;
        next++;
    }
    if (!found)
        pr_warn("smp: the boot CPU (APIC id %u) is not in the MADT\n", self);
    nr_cpus_possible = next;

    use_xen = l0_kind() == L0_XEN;
    if (use_xen && (!found || list[0].apic_id != self))
        pr_warn("smp: the boot CPU is not the MADT's first entry; shim CPU n "
                "may not be Xen vCPU n\n");
    if (!use_xen && nr_cpus_possible > 1) {
        trampoline = pa(smp_pick_trampoline(bi));
        if (!trampoline.pa)
            pr_warn("smp: no free RAM page below 640 KiB for the AP trampoline\n");
    }
    smp_ready = true;
    pr_info("smp: %u CPU%s possible, %s, boot CPU APIC id %u, APs start via %s\n",
            nr_cpus_possible, nr_cpus_possible == 1 ? "" : "s",
            mode == APIC_MODE_X2APIC ? "x2APIC" : "xAPIC", self,
            use_xen ? "VCPUOP_initialise/VCPUOP_up" : "INIT-SIPI-SIPI");
    if (trampoline.pa)
        pr_debug("smp: AP trampoline at %lx\n", (unsigned long)trampoline.pa);
    return 0;
}

/* Wait (bounded) until cpu's online state is 'want'. */
static bool wait_online(unsigned int cpu, bool want)
{
    for (unsigned long t = 0; t < UP_TIMEOUT_US / 10; t++) {
        if (online(cpu) == want)
            return true;
        ipi_service();
        apic_udelay(10);
    }
    return online(cpu) == want;
}

static int start_cpu(unsigned int cpu)
{
    struct arch_ap_regs r;
    int rc;

    if (use_xen && xen_started[cpu])
        return xen_vcpu_op(VCPUOP_up, cpu);      /* resumes after its VCPUOP_down */
    rc = arch_cpu_prepare(cpu);
    if (rc)
        return rc;
    if (use_xen) {
        arch_ap_regs(cpu, &r);
        rc = xen_vcpu_start(cpu, &r);
        if (!rc)
            xen_started[cpu] = true;
        return rc;
    }
    if (!trampoline.pa)
        return -XEN_ENODEV;
    rc = arch_ap_trampoline(cpu, trampoline);
    if (rc)
        return rc;
    apic_start_ap(percpu[cpu].apic_id, (unsigned int)(trampoline.pa >> PAGE_SHIFT));
    return 0;
}

int smp_cpu_up(unsigned int cpu)
{
    int rc;

    if (cpu == 0 || cpu >= nr_cpus_possible)
        return -XEN_EINVAL;
    if (!smp_ready)
        return -XEN_ENODEV;
    spin_lock(&updown_lock);
    if (online(cpu)) {
        spin_unlock(&updown_lock);
        return -XEN_EEXIST;
    }
    __atomic_store_n(&park_request[cpu], false, __ATOMIC_SEQ_CST);
    rc = start_cpu(cpu);
    if (!rc && !wait_online(cpu, true)) {
        pr_err("smp: CPU %u (APIC id %u) did not come online\n", cpu,
               percpu[cpu].apic_id);
        rc = -XEN_ETIMEDOUT;
    }
    spin_unlock(&updown_lock);
    return rc;
}

static void nop(void *arg)
{
    (void)arg;
}

int smp_cpu_down(unsigned int cpu)
{
    cpumask_t one;
    int rc = 0;

    if (cpu == 0 || cpu >= nr_cpus_possible || cpu == arch_cpu_id())
        return -XEN_EINVAL;
    spin_lock(&updown_lock);
    if (!online(cpu)) {
        spin_unlock(&updown_lock);
        return -XEN_ENOENT;
    }
    __atomic_store_n(&park_request[cpu], true, __ATOMIC_SEQ_CST);
    cpumask_clear(&one);
    cpumask_set(&one, cpu);
    ipi_call_mask(&one, nop, NULL, true);        /* wake it from hlt */
    if (!wait_online(cpu, false))
        rc = -XEN_ETIMEDOUT;
    /* Xen: a VCPUOP_up issued before its own VCPUOP_down took effect would
     * be lost; wait until L0 reports it down. An error from L0 (Xen's
     * do_vcpu_op: -ENOENT for a vCPU it does not know) ends the wait with
     * that error, and so does the time-out: neither is "down". */
    for (unsigned long t = 0; !rc && use_xen; t++) {
        int up;

        if (t == UP_TIMEOUT_US / 10) {
            rc = -XEN_ETIMEDOUT;
            break;
        }
        up = xen_vcpu_op(VCPUOP_is_up, cpu);
        if (up == 0)
            break;
        if (up < 0) {
            pr_err("smp: L0 VCPUOP_is_up(%u) failed (%d)\n", cpu, up);
            rc = up;
            break;
        }
        apic_udelay(10);
    }
    spin_unlock(&updown_lock);
    return rc;
}

#define IDLE_BACKSTOP_NS (50 * NS_PER_MS)
static unsigned long down_refusals;     /* VCPUOP_down L0 refused */

void smp_ap_main(void)
{
    unsigned int cpu = arch_cpu_id();
    int rc;

    apic_init_ap();
    l0_cpu_init();              /* per-CPU L0 state (Hyper-V VP index) */
    for (;;) {
        /* Anything this CPU cached before it went down is stale: flush
         * senders dropped it from their waits while it was offline. Online
         * first, then flush: a sender that read the online mask before
         * this CPU was in it changed its tables before our flush; one that
         * reads it after includes us. The other order leaves a window
         * where a sender skips us and we have already flushed. */
        set_online(cpu, true);
        arch_flush_tlb_local(true);
        while (!__atomic_load_n(&park_request[cpu], __ATOMIC_SEQ_CST)) {
            ipi_service();
            if (ap_work && !__atomic_load_n(&park_request[cpu], __ATOMIC_SEQ_CST))
                ap_work(cpu);
            if (!__atomic_load_n(&park_request[cpu], __ATOMIC_SEQ_CST)) {
                /* The wake-up (a guest vCPU to run, a park request) is an
                 * IPI; one that is lost (inject=ipi-drop) costs at most
                 * the backstop, as in pv_vcpu_sleep. */
                if (timer_available())
                    timer_arm(clock_now_ns() + IDLE_BACKSTOP_NS);
                arch_wait_for_interrupt();
            }
        }
        set_online(cpu, false);
        ipi_service();          /* requests posted before we left the mask */
        if (!use_xen)
            arch_halt_forever();        /* until the next INIT-SIPI-SIPI */
        /* Returns at the next VCPUOP_up. Refused by L0, the loop takes it
         * again: park_request is still set, so the CPU leaves the online
         * mask at once (the downer waits for VCPUOP_is_up, bounded). */
        rc = xen_vcpu_op(VCPUOP_down, cpu);
        if (rc && __atomic_add_fetch(&down_refusals, 1, __ATOMIC_RELAXED) <= 3)
            pr_warn("smp: L0 VCPUOP_down(%u) failed (%d); trying again\n", cpu, rc);
    }
}

/* ------------------------------------------------------------ selftest --- */

static unsigned int st_seen[NR_CPUS];
static unsigned int st_calls;
static unsigned int st_cross_done;

static void st_record(void *arg)
{
    unsigned int c = arch_cpu_id();

    (void)arg;
    if (c < NR_CPUS)
        __atomic_store_n(&st_seen[c], c + 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&st_calls, 1, __ATOMIC_SEQ_CST);
}

/* Run on each AP from its call vector (interrupts off): flush every other
 * CPU, while the boot CPU flushes everyone with interrupts off too. */
static void st_cross_flush(void *arg)
{
    const struct flush_request *req = arg;

    flush_ipi_mask(&cpu_online_mask, req);
    __atomic_fetch_add(&st_cross_done, 1, __ATOMIC_SEQ_CST);
}

static void st_fail(unsigned int *fails, char *why, size_t len, const char *fmt, ...)
    __printf(4, 5);
static void st_fail(unsigned int *fails, char *why, size_t len, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pr_err("smp-selftest: %s\n", msg);
    if (!(*fails)++)
        snprintf(why, len, "%s", msg);
}

static unsigned int calls(void)
{
    return __atomic_load_n(&st_calls, __ATOMIC_SEQ_CST);
}

int smp_selftest(void)
{
    static const struct flush_request req = { .flags = FLUSH_TLB };
    unsigned int n = nr_cpus_possible, up = 1, fails = 0, before;
    char why[160] = "";
    unsigned long flags;
    int rc;

#define FAIL(...) st_fail(&fails, why, sizeof(why), __VA_ARGS__)

    pr_info("smp-selftest: %u possible CPU%s\n", n, n == 1 ? "" : "s");
    for (unsigned int c = 1; c < n; c++) {
        rc = smp_cpu_up(c);
        if (rc)
            FAIL("CPU %u up failed (%d)", c, rc);
        else
            up++;
    }
    pr_info("smp-selftest: %u CPU%s online\n", cpumask_weight(&cpu_online_mask),
            cpumask_weight(&cpu_online_mask) == 1 ? "" : "s");

    /* Each CPU, alone: runs the call, and arch_cpu_id() there is its own. */
    for_each_cpu(c, &cpu_online_mask) {
        cpumask_t one;

        if (c == 0)
            continue;
        cpumask_clear(&one);
        cpumask_set(&one, c);
        st_seen[c] = 0;
        before = calls();
        ipi_call_mask(&one, st_record, NULL, true);
        if (calls() != before + 1 || st_seen[c] != c + 1)
            FAIL("call to CPU %u: ran %u time(s), reported CPU id %d", c,
                 calls() - before, (int)st_seen[c] - 1);
    }

    /* Whole mask (self excluded), then 100 no-wait calls and one wait. */
    st_seen[0] = 0;
    before = calls();
    ipi_call_mask(&cpu_online_mask, st_record, NULL, true);
    if (calls() != before + up - 1 || st_seen[0])
        FAIL("mask call: %u calls for %u remote CPUs%s", calls() - before, up - 1,
             st_seen[0] ? ", and the sender ran it" : "");
    before = calls();
    for (unsigned int i = 0; i < 100; i++)
        ipi_call_mask(&cpu_online_mask, st_record, NULL, false);
    ipi_call_mask(&cpu_online_mask, st_record, NULL, true);
    if (calls() != before + 101 * (up - 1))
        FAIL("no-wait calls: %u of %u ran", calls() - before, 101 * (up - 1));

    /* Flushes, and two-way flushes with interrupts disabled everywhere. */
    for (unsigned int i = 0; i < 100; i++)
        flush_ipi_mask(&cpu_online_mask, &req);
    st_cross_done = 0;
    ipi_call_mask(&cpu_online_mask, st_cross_flush, (void *)&req, false);
    flags = arch_irq_save();
    for (unsigned int i = 0; i < 10; i++)
        flush_ipi_mask(&cpu_online_mask, &req);
    arch_irq_restore(flags);
    ipi_call_mask(&cpu_online_mask, nop, NULL, true);
    if (__atomic_load_n(&st_cross_done, __ATOMIC_SEQ_CST) != up - 1)
        FAIL("cross flush: %u of %u CPUs finished", st_cross_done, up - 1);

    /* Down, and one CPU up and down again. */
    for (unsigned int c = 1; c < n; c++)
        if (online(c) && (rc = smp_cpu_down(c)))
            FAIL("CPU %u down failed (%d)", c, rc);
    if (cpumask_weight(&cpu_online_mask) != 1)
        FAIL("%u CPUs still online after take-down", cpumask_weight(&cpu_online_mask));
    if (n > 1) {
        cpumask_t one;

        cpumask_clear(&one);
        cpumask_set(&one, 1);
        if ((rc = smp_cpu_up(1))) {
            FAIL("CPU 1 second up failed (%d)", rc);
        } else {
            st_seen[1] = 0;
            ipi_call_mask(&one, st_record, NULL, true);
            if (st_seen[1] != 2)
                FAIL("CPU 1 after re-up reported CPU id %d", (int)st_seen[1] - 1);
            if ((rc = smp_cpu_down(1)))
                FAIL("CPU 1 second down failed (%d)", rc);
        }
    }
    if (fails)
        pr_err("smp-selftest: FAIL (%u failure%s): %s\n", fails, fails == 1 ? "" : "s", why);
    else
        pr_info("smp-selftest: PASS: %u CPUs up, CPU ids, calls (one, mask, no-wait), "
                "flushes, cross flush with interrupts off, down, re-up\n", up);
#undef FAIL
    return (int)fails;
}
