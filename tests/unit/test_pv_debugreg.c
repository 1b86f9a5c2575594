/* Guest debug registers (pv/debugreg.c) and the user %gs selector load
 * (SEGBASE_GS_USER_SEL in pv/traps.c), against Xen 4.17's set_debugreg(),
 * do_debug() and do_set_segment_base(). The fake arch keeps per-CPU
 * debug registers, so the tests see what reached the hardware. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/pv.h>
#include <minishim/pv_traps.h>
#include <minishim/regs.h>
#include <minishim/trap.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include <minishim/pv_debugreg.h>
#include "fake/fake.h"
#include "pv_env.h"

#define MSR_GS_BASE        0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define HV_ADDR            0xFFFF830000001000UL

static struct shared_info shinfo;
static uint64_t kstack[64] __attribute__((aligned(16)));

static void setup(void)
{
    pv_env_reset(&shinfo, 2);
    for (unsigned int i = 0; i < 2; i++)
        pv_debugreg_reset(&pv_dom.vcpus[i]);
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
}

TestSuite(pv_dr, .init = setup);

/* Host with RTM (CPUID.7.0:EBX[11]) and a max leaf that reaches 7. */
static void give_rtm(void)
{
    fake_set_cpuid(0, 7, 0, 0, 0);
    fake_set_cpuid(7, 0, 1u << 11, 0, 0);
}

Test(pv_dr, reset_state)
{
    cr_expect_eq(do_get_debugreg(6), 0xffff0ff0);
    cr_expect_eq(do_get_debugreg(7), 0x400);
    cr_expect_eq(do_get_debugreg(0), 0);
}

/* Xen set_debugreg(): GD is privileged; an I/O breakpoint needs the
 * guest's CR4.DE (never set under minishim) once %dr7 is active. */
Test(pv_dr, dr7_privileged_and_io_bits)
{
    cr_expect_eq(do_set_debugreg(7, 1UL << 13), -XEN_EPERM, "GD");
    cr_expect_eq(do_get_debugreg(7), 0x400, "a refused write changes nothing");
    cr_expect_eq(do_set_debugreg(7, 0x1 | (2UL << 16)), -XEN_EPERM, "I/O breakpoint 0");
    cr_expect_eq(do_set_debugreg(7, 0x4 | (2UL << 28)), -XEN_EPERM,
                 "I/O R/W on breakpoint 3 while only 1 is enabled (Xen checks all four)");
    cr_expect_eq(do_set_debugreg(7, 2UL << 16), 0, "inactive %%dr7: the fields are not checked");
    cr_expect_eq(do_set_debugreg(7, 0x2 | (1UL << 16) | (3UL << 18)), 0, "G0, write, 4 bytes");
    cr_expect_eq(do_get_debugreg(7), 0x402 | (1UL << 16) | (3UL << 18));
    cr_expect_eq(do_set_debugreg(5, 0x1), 0, "%%dr5 is %%dr7");
    cr_expect_eq(do_get_debugreg(7), 0x401);
}

/* Reserved bits: %dr7 bit 10 reads 1, bits 11 (without RTM), 12, 14, 15
 * read 0; %dr6 bits 4-11 and 16-31 read 1 (16 is RTM's, inverted), bit 12
 * reads 0 (Xen x86_adj_dr6_rsvd/x86_adj_dr7_rsvd; 4.17 wrote them out). */
Test(pv_dr, reserved_bits)
{
    cr_expect_eq(do_set_debugreg(7, 0xd800), 0);
    cr_expect_eq(do_get_debugreg(7), 0x400);
    cr_expect_eq(do_set_debugreg(6, 0), 0);
    cr_expect_eq(do_get_debugreg(6), 0xffff0ff0);
    cr_expect_eq(do_set_debugreg(6, 0xffffffff), 0);
    cr_expect_eq(do_get_debugreg(6), 0xffffeff0 | 0xf, "bit 12 forced to 0");
    give_rtm();
    cr_expect_eq(do_set_debugreg(7, 0xd800), 0);
    cr_expect_eq(do_get_debugreg(7), 0xc00, "with RTM, bit 11 is the guest's");
    cr_expect_eq(do_set_debugreg(6, 0), 0);
    cr_expect_eq(do_get_debugreg(6), 0xfffe0ff0, "with RTM, bit 16 is the guest's");
}

/* The current vCPU's registers reach the hardware; another vCPU's (being
 * initialised) do not. Turning %dr7 on loads the addresses first. */
Test(pv_dr, live_registers)
{
    cr_expect_eq(do_set_debugreg(0, 0x1000), 0);
    cr_expect_eq(fake_dr[0][0], 0x1000);
    cr_expect_eq(do_set_debugreg(3, 0xffff880000000000UL), 0, "above the shim's range");
    cr_expect_eq(fake_dr[0][3], 0xffff880000000000UL);
    cr_expect_eq(do_set_debugreg(1, HV_ADDR), -XEN_EPERM, "a shim address");
    cr_expect_eq(do_set_debugreg(2, 0xffff87fffffffff8UL), -XEN_EPERM, "last shim bytes");
    cr_expect_eq(do_set_debugreg(2, 0x0000800000000000UL), -XEN_EPERM, "non-canonical");
    cr_expect_eq(fake_dr[0][1], 0);
    cr_expect_eq(do_set_debugreg(7, 0x1), 0);
    cr_expect_eq(fake_dr[0][7], 0x401);

    /* Someone else's vCPU (VCPUOP_initialise path): storage only. */
    fake_dr[0][0] = 0x1000;
    cr_expect_eq(pv_set_debugreg(&pv_dom.vcpus[1], 0, 0x2000), 0);
    cr_expect_eq(pv_dom.vcpus[1].debugreg[0], 0x2000);
    cr_expect_eq(fake_dr[0][0], 0x1000, "the current CPU's %%dr0 is untouched");

    /* Loading vCPU 1 on its CPU. */
    fake_cpu_id = 1;
    fake_dr[1][6] = 0xffff0ff3;
    pv_dom.vcpus[1].debugreg[7] = 0x404;
    pv_debugreg_load(&pv_dom.vcpus[1]);
    cr_expect_eq(fake_dr[1][0], 0x2000);
    cr_expect_eq(fake_dr[1][7], 0x404);
    cr_expect_eq(fake_dr[1][6], 0xffff0ff0, "stale status bits cleared");
}

/* Xen arch_set_info_guest(): debugreg[] through set_debugreg(), refused
 * values dropped silently. */
Test(pv_dr, initialise_context)
{
    uint64_t dr[8] = { 0x5000, HV_ADDR, 0, 0, 0, 0, 0xffff0ff1, (1UL << 13) | 1 };
    struct vcpu *v = &pv_dom.vcpus[1];

    pv_debugreg_set_context(v, dr);
    cr_expect_eq(v->debugreg[0], 0x5000);
    cr_expect_eq(v->debugreg[1], 0, "a shim address is dropped");
    cr_expect_eq(v->debugreg[6], 0xffff0ff1);
    cr_expect_eq(v->debugreg[7], 0x400, "GD is dropped with the rest of the value");
    dr[7] = 0x1 | (3UL << 16);
    pv_debugreg_set_context(v, dr);
    cr_expect_eq(v->debugreg[7], 0x401 | (3UL << 16));
}

/* A #DB in guest context: hardware %dr6 merged (B0-B3 replaced, the rest
 * accumulating), hardware reset, and the trap bounced to trap 1. */
Test(pv_dr, guest_db_merges_dr6_and_bounces)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    struct cpu_regs r = { .vector = X86_EXC_DB, .rip = 0xffffffff80002000UL,
                          .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS,
                          .rflags = 0x202,
                          .rsp = (uint64_t)(uintptr_t)&kstack[64] };

    v->traps[1].address = 0xffffffff80003000UL;
    v->traps[1].cs = FLAT_KERNEL_CS;
    fake_dr[0][6] = 0xffff0ff1;                 /* B0 */
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, 0xffffffff80003000UL, "bounced to the trap 1 handler");
    cr_expect_eq(do_get_debugreg(6), 0xffff0ff1);
    cr_expect_eq(fake_dr[0][6], 0xffff0ff0, "hardware %%dr6 reset");

    r.rip = 0xffffffff80002000UL;
    r.rsp = (uint64_t)(uintptr_t)&kstack[64];
    fake_dr[0][6] = 0xffff4ff2;                 /* BS and B1 */
    pv_debug_exception(v);
    cr_expect_eq(do_get_debugreg(6), 0xffff4ff2, "B0 replaced by B1, BS added");
    fake_dr[0][6] = 0xffff0ff0 | (1UL << 13);   /* BD */
    pv_debug_exception(v);
    cr_expect_eq(do_get_debugreg(6), 0xffff6ff0, "BS kept, BD added, no breakpoint");
    cr_expect_eq(do_set_debugreg(6, 0), 0);
    cr_expect_eq(do_get_debugreg(6), 0xffff0ff0, "the guest clears it");
}

/* A #DB in shim context (a guest data breakpoint matched by the shim's
 * own access to guest memory): ignored, hardware %dr6 reset, the guest's
 * %dr6 untouched (Xen: "Hit #DB in Xen context"). */
Test(pv_dr, shim_db_ignored)
{
    struct cpu_regs r = { .vector = X86_EXC_DB, .rip = 0xffff830000201234UL, .cs = 0x8 };

    fake_dr[0][6] = 0xffff0ff1;
    trap_handle(&r, 0);
    cr_expect_eq(fake_dr[0][6], 0xffff0ff0);
    cr_expect_eq(do_get_debugreg(6), 0xffff0ff0);
    cr_expect_eq(r.rip, 0xffff830000201234UL, "resumed where it was");
}

/* Xen do_set_segment_base(SEGBASE_GS_USER_SEL): the selector (RPL forced
 * to 3) is loaded fault-safe; its base becomes the user GS base; the
 * kernel GS base stays; a faulting selector becomes null; never an error. */
Test(pv_dr, gs_user_sel)
{
    struct vcpu *v = &pv_dom.vcpus[0];

    cr_expect_eq(do_set_segment_base(SEGBASE_GS_KERNEL, 0xffffffff81000000UL), 0);
    cr_expect_eq(do_set_segment_base(SEGBASE_GS_USER, 0x7000), 0);
    fake_gs_desc_base = 0x12340000;
    cr_expect_eq(do_set_segment_base(SEGBASE_GS_USER_SEL, 0x28), 0);
    cr_expect_eq(fake_gs_sel, 0x2b, "RPL 3");
    cr_expect_eq(v->gs_base_user, 0x12340000);
    cr_expect_eq(fake_msr_value(MSR_KERNEL_GS_BASE), 0x12340000, "user base in the shadow");
    cr_expect_eq(fake_msr_value(MSR_GS_BASE), 0xffffffff81000000UL, "kernel base kept");

    fake_gs_bad = true;
    cr_expect_eq(do_set_segment_base(SEGBASE_GS_USER_SEL, 0x2003), 0, "no error reported");
    cr_expect_eq(fake_gs_sel, 0, "null after a fault");
    cr_expect_eq(v->gs_base_user, 0);
    cr_expect_eq(fake_msr_value(MSR_GS_BASE), 0xffffffff81000000UL);

    fake_gs_bad = false;
    cr_expect_eq(do_set_segment_base(SEGBASE_GS_USER, 0x7000), 0);
    cr_expect_eq(do_set_segment_base(SEGBASE_GS_USER_SEL, 0), 0);
    cr_expect_eq(fake_gs_sel, 0);
    cr_expect_eq(v->gs_base_user, 0, "a null selector: base 0");
    cr_expect_eq(fake_msr_value(MSR_KERNEL_GS_BASE), 0);
}
