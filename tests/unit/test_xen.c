/* Xen L0 backend: hypercall page set-up and the calls it makes. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/xen-public.h>
#include "fake/fake_l0.h"

#define HCALL_MSR 0x40000000

static struct l0_detect d;
static uint64_t installed_page_pa;

/* L0 plays its part: writing the MSR fills the page with code. */
static void fill_page_on_msr(uint32_t msr, uint64_t val)
{
    if (msr == HCALL_MSR) {
        installed_page_pa = val;
        fake_xen_fill_hcall_page(val);
    }
}

static void setup(void)
{
    fake_reset();
    console_remove_all_sinks();
    memset(&d, 0, sizeof(d));
    d.xen = true;
    d.xen_hcall_pages = 1;
    d.xen_hcall_msr = HCALL_MSR;
    installed_page_pa = 0;
}

TestSuite(xen, .init = setup);

static unsigned int last_nr;
static unsigned long last_a[5];
static struct sched_shutdown last_shutdown;
static char last_console[256];

static long l0(unsigned int nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4, unsigned long a5)
{
    last_nr = nr;
    last_a[0] = a1; last_a[1] = a2; last_a[2] = a3; last_a[3] = a4; last_a[4] = a5;
    if (nr == __HYPERVISOR_sched_op && a1 == SCHEDOP_shutdown)
        memcpy(&last_shutdown, (void *)a2, sizeof(last_shutdown));
    if (nr == __HYPERVISOR_console_io && a1 == CONSOLEIO_write && a2 < sizeof(last_console)) {
        memcpy(last_console, (void *)a3, a2);
        last_console[a2] = '\0';
    }
    if (nr == __HYPERVISOR_hvm_op && a1 == HVMOP_get_param) {
        struct xen_hvm_param *p = (void *)a2;

        if (p->domid != DOMID_SELF)
            return -XEN_EPERM;
        if (p->index == HVM_PARAM_CONSOLE_PFN) {
            p->value = 0xfeffc;
            return 0;
        }
        return -XEN_EINVAL;
    }
    return 0;
}

Test(xen, init_installs_hypercall_page_through_msr)
{
    fake_wrmsr_hook = fill_page_on_msr;
    cr_assert_eq(xen_init(&d), 0);
    cr_expect_eq(fake_msr_writes(HCALL_MSR), 1);
    cr_expect_eq(installed_page_pa & 0xfff, 0, "page-aligned, page index 0");
    cr_expect_neq(installed_page_pa, 0);
}

Test(xen, init_fails_when_page_stays_empty)
{
    /* No hook: L0 ignored the MSR write. */
    cr_expect_eq(xen_init(&d), -XEN_EIO);
}

Test(xen, init_refuses_bad_detection)
{
    d.xen_hcall_pages = 0;
    cr_expect_eq(xen_init(&d), -XEN_ENODEV);
    d.xen_hcall_pages = 1;
    d.xen = false;
    cr_expect_eq(xen_init(&d), -XEN_ENODEV);
    cr_expect_eq(fake_msr_writes(HCALL_MSR), 0);
}

Test(xen, console_shutdown_and_params)
{
    uint64_t v = 0;

    fake_wrmsr_hook = fill_page_on_msr;
    cr_assert_eq(xen_init(&d), 0);
    fake_hypercall_handler = l0;

    xen_console_write("hello L0\n", 9);
    cr_expect_eq(last_nr, __HYPERVISOR_console_io);
    cr_expect_eq(last_a[0], CONSOLEIO_write);
    cr_expect_str_eq(last_console, "hello L0\n");
    cr_expect_eq((uint64_t)(uintptr_t)fake_last_hypercall_page, installed_page_pa,
                 "calls go through the installed page");

    cr_expect_eq(xen_shutdown(SHUTDOWN_crash), 0);
    cr_expect_eq(last_nr, __HYPERVISOR_sched_op);
    cr_expect_eq(last_shutdown.reason, SHUTDOWN_crash);

    cr_expect_eq(xen_get_hvm_param(HVM_PARAM_CONSOLE_PFN, &v), 0);
    cr_expect_eq(v, 0xfeffc);
    v = 7;
    cr_expect_eq(xen_get_hvm_param(HVM_PARAM_STORE_PFN, &v), -XEN_EINVAL);
    cr_expect_eq(v, 7, "value untouched on error");
}

Test(xen, l0_shutdown_without_xen_uses_debug_exit_then_halts)
{
    jmp_buf jb;

    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0) {
        l0_shutdown(SHUTDOWN_crash);
        cr_assert_fail("l0_shutdown returned");
    }
    cr_expect_eq(fake_nr_halts, 1);
    cr_assert_geq(fake_nr_port_writes, 1);
    cr_expect_eq(fake_port_log[0].port, ISA_DEBUG_EXIT_PORT);
    cr_expect_eq(fake_port_log[0].val, ISA_DEBUG_EXIT_BASE + SHUTDOWN_crash);
}

/* The guest's domid is the shim domain's in L0: CPUID base+4 ECX when EAX
 * has XEN_HVM_CPUID_DOMID_PRESENT, else 1 (Xen's get_initial_domain_id). */
Test(xen, domid_from_cpuid_leaf_4)
{
    uint16_t id = 0;

    fake_reset();
    cr_expect_eq(xen_domid(&id), -XEN_ENODEV, "no Xen L0");
    fake_wrmsr_hook = fake_xen_msr_hook;
    fake_set_cpuid(1, 0, 0, 1u << 31, 0);
    fake_set_cpuid_sig(0x40000000, 0x40000005, "XenVMMXenVMM");
    fake_set_cpuid(0x40000001, (4u << 16) | 17, 0, 0, 0);
    fake_set_cpuid(0x40000002, 1, FAKE_XEN_HCALL_MSR, 0, 0);
    fake_set_cpuid(0x40000004, 1u << 4, 0, 42, 0);
    l0_setup(L0_FLUSH_USE_AUTO);
    cr_assert_eq(l0_kind(), L0_XEN);
    cr_expect_eq(xen_domid(&id), 0);
    cr_expect_eq(id, 42);
    fake_set_cpuid(0x40000004, 0, 0, 42, 0);
    cr_expect_eq(xen_domid(&id), 0);
    cr_expect_eq(id, 1, "no DOMID_PRESENT flag: Xen's shim takes 1");
}
