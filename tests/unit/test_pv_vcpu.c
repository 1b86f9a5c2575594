/* Guest vCPUs (pv/vcpu.c): the vcpu_guest_context checks of Xen's
 * arch_set_info_guest and the errnos of do_vcpu_op for
 * initialise/up/down/is_up (Xen 4.17 xen/common/domain.c). */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_vcpu.h>
#include <minishim/timer.h>
#include <minishim/xen-public.h>
#include <xen/vcpu.h>
#include "fake/fake.h"
#include "pv_env.h"

#define NONCANON 0x0000800000000000ULL

static struct shared_info shinfo;
static struct vcpu_guest_context ctx;

static void good_ctx(void)
{
    memset(&ctx, 0, sizeof(ctx));
    ctx.flags = VGCF_in_kernel;
    ctx.user_regs.rip = 0xffffffff80001000ULL;
    ctx.user_regs.rsp = 0xffffffff80200000ULL;
    ctx.user_regs.cs = FLAT_KERNEL_CS;
    ctx.user_regs.ss = FLAT_KERNEL_SS;
    ctx.user_regs.rflags = 0x202;
    ctx.kernel_ss = FLAT_KERNEL_SS;
    ctx.kernel_sp = ctx.user_regs.rsp;
    ctx.ctrlreg[3] = xen_pfn_to_cr3(0x1234);
}

static void setup(void)
{
    pv_env_reset(&shinfo, 2);
    pv_dom.vcpus[1].down = true;
    good_ctx();
}

TestSuite(pv_vcpu, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

Test(pv_vcpu, good_context_passes)
{
    cr_expect_eq(pv_vcpu_check_context(&ctx), 0);
    /* An RPL-0 selector is the guest kernel's (Xen fixes it up to 3). */
    ctx.user_regs.cs = FLAT_KERNEL_CS & ~3;
    ctx.user_regs.ss = FLAT_KERNEL_SS & ~3;
    cr_expect_eq(pv_vcpu_check_context(&ctx), 0);
    /* Xen arch_set_info_guest: without VGCF_in_kernel the vCPU starts in
     * user mode on ctrlreg[1]'s L4. */
    good_ctx();
    ctx.flags = 0;
    ctx.user_regs.cs = FLAT_USER_CS;
    ctx.user_regs.ss = FLAT_USER_SS;
    ctx.ctrlreg[1] = xen_pfn_to_cr3(0x1235);
    cr_expect_eq(pv_vcpu_check_context(&ctx), 0);
}

#define BAD(field_stmt, why) do {                                          \
        good_ctx();                                                         \
        field_stmt;                                                         \
        cr_expect_eq(pv_vcpu_check_context(&ctx), -XEN_EINVAL, why);        \
    } while (0)

Test(pv_vcpu, bad_contexts_are_einval)
{
    BAD(ctx.user_regs.rip = NONCANON, "non-canonical rip");
    BAD(ctx.user_regs.rsp = NONCANON, "non-canonical rsp");
    BAD(ctx.kernel_sp = NONCANON, "non-canonical kernel_sp");
    BAD(ctx.fs_base = NONCANON, "fs_base");
    BAD(ctx.gs_base_kernel = NONCANON, "gs_base_kernel");
    BAD(ctx.gs_base_user = NONCANON, "gs_base_user");
    BAD(ctx.event_callback_eip = NONCANON, "event callback");
    BAD(ctx.failsafe_callback_eip = NONCANON, "failsafe callback");
    BAD(ctx.syscall_callback_eip = NONCANON, "syscall callback");
    BAD((ctx.ldt_ents = 1, ctx.ldt_base = NONCANON), "non-canonical LDT");
    BAD(ctx.ldt_base = NONCANON, "non-canonical LDT base, even without entries");
    BAD(ctx.ldt_base = 0xffff830000000000ULL, "LDT base in the hypervisor's range");
    BAD(ctx.trap_ctxt[14].address = NONCANON, "non-canonical trap handler");
    BAD(ctx.ldt_base = 0x1008, "unaligned LDT base");
    BAD(ctx.ldt_ents = 8193, "LDT too long");
    BAD(ctx.gdt_ents = FIRST_RESERVED_GDT_ENTRY + 1, "GDT into Xen's entries");
    /* A per-vCPU GDT/LDT is accepted (tests/unit/test_pv_emul.c). */
    BAD(ctx.user_regs.cs = 0x13, "a GDT selector without a GDT in the context");
    BAD(ctx.flags = 0, "user mode without a user L4 (ctrlreg[1])");
    BAD(ctx.user_regs.cs = 0x10, "the shim's ring-0 code selector");
    BAD(ctx.user_regs.cs = FLAT_KERNEL_SS, "a data selector as CS");
    BAD(ctx.user_regs.ss = FLAT_KERNEL_CS, "a code selector as SS");
    BAD(ctx.user_regs.ss = 0x2b | 4, "an LDT selector");
    BAD(ctx.ctrlreg[3] = 0, "no L4");
    BAD(ctx.ctrlreg[3] = 0xfff, "frame 0 with offset bits");
}

Test(pv_vcpu, no_such_vcpu_is_enoent)
{
    /* do_vcpu_op: domain_vcpu() == NULL -> -ENOENT, for any command. */
    cr_expect_eq(do_vcpu_op(VCPUOP_is_up, 2, 0), -XEN_ENOENT);
    cr_expect_eq(do_vcpu_op(VCPUOP_up, 2, 0), -XEN_ENOENT);
    cr_expect_eq(do_vcpu_op(VCPUOP_down, 4096, 0), -XEN_ENOENT);
    cr_expect_eq(do_vcpu_op(VCPUOP_initialise, ~0u, gp(&ctx)), -XEN_ENOENT);
}

Test(pv_vcpu, up_down_state)
{
    cr_expect_eq(do_vcpu_op(VCPUOP_is_up, 0, 0), 1);
    cr_expect_eq(do_vcpu_op(VCPUOP_is_up, 1, 0), 0);
    /* VCPUOP_up of a vCPU never initialised: -EINVAL, still down. */
    cr_expect_eq(do_vcpu_op(VCPUOP_up, 1, 0), -XEN_EINVAL);
    cr_expect_eq(do_vcpu_op(VCPUOP_is_up, 1, 0), 0);
    /* Up of a vCPU that is up is no error (Xen: nothing to wake). */
    cr_expect_eq(do_vcpu_op(VCPUOP_up, 0, 0), 0);
    /* Down of a vCPU that is down: 0 (vCPU 0 stays up). */
    cr_expect_eq(do_vcpu_op(VCPUOP_down, 1, 0), 0);
    cr_expect_eq(do_vcpu_op(VCPUOP_is_up, 0, 0), 1);
}

Test(pv_vcpu, initialise_errors)
{
    /* default_initialise_vcpu: an initialised vCPU is -EEXIST. */
    cr_expect_eq(do_vcpu_op(VCPUOP_initialise, 0, gp(&ctx)), -XEN_EEXIST);
    /* The context is copied first: a fault is -EFAULT. */
    fake_guest_fault_start = gp(&ctx) + 100;
    fake_guest_fault_end = gp(&ctx) + 101;
    cr_expect_eq(do_vcpu_op(VCPUOP_initialise, 1, gp(&ctx)), -XEN_EFAULT);
    fake_guest_fault_start = fake_guest_fault_end = 0;
    /* A rejected context leaves the vCPU uninitialised. */
    ctx.user_regs.rip = NONCANON;
    cr_expect_eq(do_vcpu_op(VCPUOP_initialise, 1, gp(&ctx)), -XEN_EINVAL);
    cr_expect_not(pv_dom.vcpus[1].initialised);
    cr_expect_eq(do_vcpu_op(VCPUOP_up, 1, 0), -XEN_EINVAL);
}

/* Parking (pv_vcpu_park): offline while down, parked flag for a
 * VCPUOP_down waiting on another CPU, running again once up. */
static unsigned int park_wfi;

static void up_on_third_halt(void)
{
    cr_expect(pv_dom.vcpus[0].parked, "parked while halted");
    if (++park_wfi == 3)
        __atomic_store_n(&pv_dom.vcpus[0].down, false, __ATOMIC_SEQ_CST);
}

Test(pv_vcpu, park_until_up_with_runstate)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    struct vcpu_runstate_info r;

    /* A 1 GHz TSC (as test_pv_time.c) so that pv_now_ns() moves. */
    fake_set_cpuid(0, 0x15, 0, 0, 0);
    fake_set_cpuid(0x15, 1, 1, 1000000000u, 0);
    fake_port_in[0x71] = 0;
    clock_init();
    pv_vcpu_runstate_init();
    cr_expect_not(v->parked, "vCPU 0 runs from the start");
    cr_expect(pv_dom.vcpus[1].parked, "the others never ran");
    pv_vcpu_park(v);                    /* not down: returns at once */
    cr_expect_eq(fake_nr_wfi, 0);
    v->down = true;
    park_wfi = 0;
    fake_wfi_hook = up_on_third_halt;
    pv_vcpu_park(v);
    fake_wfi_hook = NULL;
    cr_expect_eq(park_wfi, 3, "halted until brought up");
    cr_expect_not(v->parked);
    pv_vcpu_runstate_get(v, &r);
    cr_expect_eq(r.state, RUNSTATE_running);
    cr_expect_gt(r.time[RUNSTATE_offline], 0, "the parked time is offline time");
}

Test(pv_vcpu, down_of_self_does_not_wait)
{
    /* vCPU 1 up and running; vCPU 0 downs itself: 0 at once (it parks on
     * the way out), no kick and no wait for its own parked flag. */
    pv_dom.vcpus[1].down = false;
    cr_expect_eq(do_vcpu_op(VCPUOP_down, 0, 0), 0);
    cr_expect(pv_dom.vcpus[0].down);
    cr_expect_not(pv_dom.vcpus[0].parked);
    /* The last vCPU going down would power the domain off (Xen). */
}
