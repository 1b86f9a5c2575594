/*
 * shim/smp.c: trampoline page choice, smp_cpu_up / smp_cpu_down argument
 * checks and the native INIT-SIPI-SIPI path against the fake APIC, and
 * the Xen VCPUOP_initialise / VCPUOP_up path against a fake L0.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <xen/vcpu.h>
#include <xen/hvm/hvm_vcpu.h>
#include <minishim/apic.h>
#include <minishim/bootinfo.h>
#include <minishim/cmdline.h>
#include <minishim/ipi.h>
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>
#include <minishim/smp.h>
#include "fake/fake.h"
#include "fake/fake_l0.h"
#include "test_acpi_madt.h"

static struct boot_info bi;

static void setup(void)
{
    fake_reset();
    console_remove_all_sinks();
    memset(&bi, 0, sizeof(bi));
}

TestSuite(smp, .init = setup, .timeout = 30);

Test(smp, trampoline_is_highest_low_ram_page)
{
    bootinfo_add_memmap(&bi, 0, 0x9fc00, 1);
    bootinfo_add_memmap(&bi, 0x9fc00, 0x400, 2);
    bootinfo_add_memmap(&bi, 0x100000, 0x1000000, 1);
    cr_expect_eq(smp_pick_trampoline(&bi), 0x9e000);
}

Test(smp, trampoline_avoids_modules)
{
    bootinfo_add_memmap(&bi, 0, 0x9fc00, 1);
    bi.nr_modules = 1;
    bi.modules[0].start = pa(0x9d800);
    bi.modules[0].size = 0x1000;          /* covers 0x9d000 and 0x9e000 pages */
    cr_expect_eq(smp_pick_trampoline(&bi), 0x9c000);
}

Test(smp, trampoline_needs_a_whole_low_ram_page)
{
    bootinfo_add_memmap(&bi, 0x2000, 0x800, 1);      /* half a page */
    bootinfo_add_memmap(&bi, 0x5000, 0x1000, 2);     /* not RAM */
    bootinfo_add_memmap(&bi, 0x100000, 0x1000000, 1);
    cr_expect_eq(smp_pick_trampoline(&bi), 0);
    bootinfo_add_memmap(&bi, 0x0, 0x1000, 1);         /* page 0 is never used */
    cr_expect_eq(smp_pick_trampoline(&bi), 0);
}

Test(smp, up_down_argument_checks)
{
    nr_cpus_possible = 2;
    cr_expect_eq(smp_cpu_up(0), -XEN_EINVAL);
    cr_expect_eq(smp_cpu_up(2), -XEN_EINVAL);
    cr_expect_eq(smp_cpu_up(1), -XEN_ENODEV);          /* smp_init not run */
    cr_expect_eq(smp_cpu_down(0), -XEN_EINVAL);
    cr_expect_eq(smp_cpu_down(5), -XEN_EINVAL);
    cr_expect_eq(smp_cpu_down(1), -XEN_ENOENT);         /* not online */
}

/* A two-CPU xAPIC machine (APIC ids 0 and 6). */
static void two_cpus_native(void)
{
    fake_set_cpuid(1, 0, 0, 0, 1u << 9);
    arch_wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    bootinfo_add_memmap(&bi, 0, 0x9fc00, 1);
    tables_begin();
    lapic(0, 0, 1);
    lapic(1, 6, 1);
    tables_end();
    cr_assert_eq(smp_init(&bi, pa(RSDP_PA)), 0);
    cr_assert_eq(nr_cpus_possible, 2);
    cr_assert_eq(percpu[1].apic_id, 6);
    cpumask_set(&cpu_online_mask, 0);
}

static unsigned int sipis;
static uint32_t sipi_hi;

/* The "AP": a STARTUP IPI brings it online (as smp_ap_main would). */
static void ap_online_on_sipi_hook_write(void)
{
    for (unsigned int i = 0; i < fake_nr_mmio_writes && i < FAKE_MMIO_LOG; i++) {
        if (fake_mmio_log[i].addr == 0xfee00300 &&
            (fake_mmio_log[i].val & 0x700) == ICR_DM_STARTUP) {
            sipis++;
            sipi_hi = fake_mmio_log[i - 1].val;
        }
    }
}

static uint32_t mmio_read_online(uint64_t a)
{
    (void)a;
    /* Any register read while waiting: the AP has started by now. */
    if (sipis == 0) {
        ap_online_on_sipi_hook_write();
        if (sipis)
            cpumask_set(&cpu_online_mask, 1);
    }
    return 0;
}

Test(smp, native_up_sends_init_sipi_to_the_trampoline)
{
    two_cpus_native();
    sipis = 0;
    fake_mmio_read_hook = mmio_read_online;
    /* The first ICR-busy read after the SIPIs marks CPU 1 online; a later
     * read in the wait loop is not needed since online is polled. */
    cr_expect_eq(smp_cpu_up(1), 0);
    ap_online_on_sipi_hook_write();
    cr_expect_eq(fake_nr_cpu_prepare, 1);
    cr_expect_eq(fake_nr_ap_trampoline, 1);
    cr_expect_eq(fake_last_trampoline, 0x9e000);
    cr_expect_geq(sipis, 1);
    cr_expect_eq(sipi_hi, 6u << 24);
    /* STARTUP vector = trampoline page number. */
    for (unsigned int i = 0; i < fake_nr_mmio_writes; i++)
        if ((fake_mmio_log[i].val & 0x700) == ICR_DM_STARTUP && fake_mmio_log[i].addr == 0xfee00300)
            cr_expect_eq(fake_mmio_log[i].val & 0xff, 0x9e);
    cr_expect_eq(smp_cpu_up(1), -XEN_EEXIST);
}

Test(smp, native_up_times_out_when_the_cpu_never_comes)
{
    two_cpus_native();
    cr_expect_eq(smp_cpu_up(1), -XEN_ETIMEDOUT);
    cr_expect_not(cpumask_test(&cpu_online_mask, 1));
}

/* ---- Xen L0: VCPUOP_initialise (64-bit vcpu_hvm_context) + VCPUOP_up ---- */

static struct vcpu_hvm_context got_ctx;
static unsigned int nr_init, nr_up, init_vcpu, up_vcpu;

static long xen_l0(unsigned int nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a4; (void)a5;
    if (nr != __HYPERVISOR_vcpu_op)
        return -XEN_ENOSYS;
    if (a1 == VCPUOP_initialise) {
        nr_init++;
        init_vcpu = (unsigned int)a2;
        memcpy(&got_ctx, (void *)a3, sizeof(got_ctx));
        return 0;
    }
    if (a1 == VCPUOP_up) {
        nr_up++;
        up_vcpu = (unsigned int)a2;
        cpumask_set(&cpu_online_mask, (unsigned int)a2);    /* it runs */
        return 0;
    }
    return -XEN_ENOSYS;
}

Test(smp, xen_up_initialises_a_64bit_vcpu_then_ups_it)
{
    struct arch_ap_regs r;

    cr_assert_eq(fake_xen_up(xen_l0), 0);

    arch_ap_regs(3, &r);
    cr_assert_eq(xen_vcpu_start(3, &r), 0);
    cr_expect_eq(nr_init, 1);
    cr_expect_eq(init_vcpu, 3);
    cr_expect_eq(got_ctx.mode, VCPU_HVM_MODE_64B);
    cr_expect_eq(got_ctx.cpu_regs.x86_64.rip, r.rip);
    cr_expect_eq(got_ctx.cpu_regs.x86_64.rsp, r.rsp);
    cr_expect_eq(got_ctx.cpu_regs.x86_64.cr3, r.cr3);
    cr_expect_eq(got_ctx.cpu_regs.x86_64.cr0, r.cr0);
    cr_expect_eq(got_ctx.cpu_regs.x86_64.cr4, r.cr4);
    cr_expect_eq(got_ctx.cpu_regs.x86_64.efer, r.efer);
    cr_expect_eq(nr_up, 1);
    cr_expect_eq(up_vcpu, 3);
}

static long xen_l0_refuses(unsigned int nr, unsigned long a1, unsigned long a2,
                           unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)nr; (void)a2; (void)a3; (void)a4; (void)a5;
    if (a1 == VCPUOP_up)
        nr_up++;
    return a1 == VCPUOP_initialise ? -XEN_ENOENT : 0;
}

Test(smp, xen_initialise_error_is_returned_and_no_up)
{
    struct arch_ap_regs r;

    cr_assert_eq(fake_xen_up(xen_l0_refuses), 0);
    nr_up = 0;
    arch_ap_regs(9, &r);
    cr_expect_eq(xen_vcpu_start(9, &r), -XEN_ENOENT);
    cr_expect_eq(nr_up, 0);
}

/* ---- take-down: wake the CPU, wait until it has left the online mask ---- */

static unsigned int woken;

/* The target takes the call vector and, seeing its park request, leaves
 * the online mask (what smp_ap_main does). */
static void park_on_ipi(const cpumask_t *targets, unsigned int vector)
{
    unsigned int self = fake_cpu_id;

    (void)vector;
    for_each_cpu(c, targets) {
        fake_cpu_id = c;
        ipi_service();
        woken++;
        cpumask_clear_cpu(&cpu_online_mask, c);
    }
    fake_cpu_id = self;
}

static void no_delivery(const cpumask_t *targets, unsigned int vector)
{
    (void)targets; (void)vector;
}

Test(smp, down_wakes_the_cpu_and_waits_for_it)
{
    two_cpus_native();
    cpumask_set(&cpu_online_mask, 1);
    ipi_set_send_hook(park_on_ipi);
    woken = 0;
    cr_expect_eq(smp_cpu_down(1), 0);
    cr_expect_eq(woken, 1);
    cr_expect_not(cpumask_test(&cpu_online_mask, 1));
    cr_expect_eq(smp_cpu_down(1), -XEN_ENOENT);
}

Test(smp, down_refuses_the_caller_itself)
{
    two_cpus_native();
    cpumask_set(&cpu_online_mask, 1);
    ipi_set_send_hook(no_delivery);
    fake_cpu_id = 1;
    cr_expect_eq(smp_cpu_down(1), -XEN_EINVAL);
    fake_cpu_id = 0;
    cr_expect(cpumask_test(&cpu_online_mask, 1));
}

/* ---- the smp-selftest option ---- */

Test(smp, selftest_option)
{
    struct shim_config cfg;

    cmdline_defaults(&cfg);
    cr_expect_not(cfg.smp_selftest);
    cr_expect_eq(cmdline_parse("smp-selftest", &cfg, NULL, NULL), 0);
    cr_expect(cfg.smp_selftest);
    cr_expect_eq(cmdline_parse("smp-selftest=off", &cfg, NULL, NULL), 0);
    cr_expect_not(cfg.smp_selftest);
    cr_expect_eq(cmdline_parse("smp-selftest=on", &cfg, NULL, NULL), 0);
    cr_expect(cfg.smp_selftest);
    cr_expect_eq(cmdline_parse("smp-selftest=maybe", &cfg, NULL, NULL), 1);
    cr_expect(cfg.smp_selftest, "a bad value keeps the previous setting");
}

/* ---- Xen L0 end to end: smp_cpu_up / down / up again ---- */

static unsigned int xen_inits, xen_ups, xen_is_up_calls;
static bool vcpu1_up;

static long xen_l0_vcpus(unsigned int nr, unsigned long a1, unsigned long a2,
                         unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    if (nr != __HYPERVISOR_vcpu_op || a2 != 1)
        return -XEN_ENOSYS;
    switch (a1) {
    case VCPUOP_initialise:
        xen_inits++;
        return 0;
    case VCPUOP_up:
        xen_ups++;
        vcpu1_up = true;
        cpumask_set(&cpu_online_mask, 1);          /* the AP comes online */
        return 0;
    case VCPUOP_is_up:
        xen_is_up_calls++;
        return vcpu1_up;
    }
    return -XEN_ENOSYS;
}

/* CPU 1 parks: leaves the online mask and downs itself (VCPUOP_down). */
static void park_xen(const cpumask_t *targets, unsigned int vector)
{
    unsigned int self = fake_cpu_id;

    (void)vector;
    for_each_cpu(c, targets) {
        fake_cpu_id = c;
        ipi_service();
        cpumask_clear_cpu(&cpu_online_mask, c);
        vcpu1_up = false;
    }
    fake_cpu_id = self;
}

/* A Xen L0 (hypercall page, VCPUOP handler xen_l0_vcpus) and two CPUs
 * in the MADT, as Xen numbers them (vCPU i has APIC id 2i); smp_init done,
 * the L0 call counters zero. */
static void xen_two_cpus(void)
{
    fake_set_cpuid(1, 0, 0, (1u << 31) | (1u << 21), 1u << 9);
    fake_xen_cpuid(0x40000000, 0x40000005, FAKE_XEN_HCALL_MSR);
    fake_wrmsr_hook = fake_xen_msr_hook;
    l0_setup(L0_FLUSH_USE_AUTO);
    fake_wrmsr_hook = NULL;
    cr_assert_eq(l0_kind(), L0_XEN);
    fake_hypercall_handler = xen_l0_vcpus;
    arch_wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    tables_begin();
    lapic(0, 0, 1);
    lapic(1, 2, 1);          /* Xen: vCPU i has APIC id 2i */
    tables_end();
    cr_assert_eq(smp_init(&bi, pa(RSDP_PA)), 0);
    cpumask_set(&cpu_online_mask, 0);
    xen_inits = xen_ups = xen_is_up_calls = 0;
}

Test(smp, xen_l0_up_down_up_initialises_once)
{
    xen_two_cpus();

    cr_expect_eq(smp_cpu_up(1), 0);
    cr_expect_eq(xen_inits, 1);
    cr_expect_eq(xen_ups, 1);
    cr_expect_eq(fake_nr_ap_trampoline, 0, "no trampoline under Xen");

    ipi_set_send_hook(park_xen);
    cr_expect_eq(smp_cpu_down(1), 0);
    cr_expect_geq(xen_is_up_calls, 1, "waits for L0 to report the vCPU down");

    cr_expect_eq(smp_cpu_up(1), 0);
    cr_expect_eq(xen_inits, 1, "a vCPU is initialised once; later ups resume it");
    cr_expect_eq(xen_ups, 2);
}

/* ---- inject=l0-vcpuop-fail (docs/fault-injection.md) ---- */

#include <minishim/inject.h>


#include "fake/fake_inject.h"

static void arm_vcpuop(uint32_t n)
{
    fake_inject_arm(INJECT_L0_VCPUOP_FAIL, n);
}

/* L0 refuses to start the vCPU: the caller (the guest's VCPUOP_up, through
 * pv/vcpu.c) gets L0's errno and nothing is half started; the next
 * attempt initialises it. */
Test(smp, l0_refusing_vcpu_start_returns_its_errno)
{
    xen_two_cpus();
    arm_vcpuop(1);
    cr_expect_eq(smp_cpu_up(1), -INJECT_L0_ERRNO);
    cr_expect_eq(xen_inits, 0);
    cr_expect_not(cpumask_test(&cpu_online_mask, 1));
    cr_expect_eq(smp_cpu_up(1), 0);
    cr_expect_eq(xen_inits, 1);
    cr_expect_eq(xen_ups, 1);
    inject_init(NULL);
}

/* L0 fails VCPUOP_is_up while the shim waits for a vCPU to go down: the
 * wait ends with L0's error (it used to keep polling, then say 0). */
Test(smp, l0_failing_is_up_ends_the_down_wait_with_its_errno)
{
    xen_two_cpus();
    cr_assert_eq(smp_cpu_up(1), 0);
    ipi_set_send_hook(park_xen);
    vcpu1_up = true;            /* L0 has not downed it yet */
    arm_vcpuop(1);
    cr_expect_eq(smp_cpu_down(1), -INJECT_L0_ERRNO);
    cr_expect_eq(xen_is_up_calls, 0, "the failed call never reached L0");
    inject_init(NULL);
    ipi_set_send_hook(NULL);
}
