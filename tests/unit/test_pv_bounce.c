/* Bouncing into the PV guest kernel (pv/traps.c): the cases where Xen
 * cannot deliver and crashes the domain (create_bounce_frame in
 * xen/arch/x86/x86_64/entry.S) must crash the domain under minishim too,
 * never be skipped, and never take the shim down. Guest VAs are host
 * pointers (fake arch). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>
#include <minishim/pv.h>
#include <minishim/regs.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include "fake/fake.h"
#include "pv_env.h"

#define CALLBACK_VA 0xffffffff80001000ULL

static struct shared_info shinfo;
static uint64_t kstack[64] __attribute__((aligned(16)));

static void setup(void)
{
    pv_env_reset(&shinfo, 1);
    memset(kstack, 0, sizeof(kstack));
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
}

TestSuite(pv_bounce, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

/* Events enabled and pending, event callback registered: the upcall is
 * delivered with Xen's frame and events masked. */
Test(pv_bounce, event_upcall_delivered)
{
    struct cpu_regs r = { .vector = X86_EXC_NMI, .rip = 0xffffffff80002000ULL,
                          .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS,
                          .rflags = 0x202, .rsp = gp(kstack + 64),
                          .rcx = 0xc, .r11 = 0x11 };

    pv_dom.vcpus[0].event_callback = CALLBACK_VA;
    shinfo.vcpu_info[0].evtchn_upcall_mask = 0;
    shinfo.vcpu_info[0].evtchn_upcall_pending = 1;
    cr_assert_not(pv_env_trap_crashes(&r));
    cr_expect_eq(r.rip, CALLBACK_VA);
    cr_expect_eq(r.rsp, gp(kstack + 64 - 7));
    cr_expect_eq(kstack[64 - 7], 0xc, "rcx");
    cr_expect_eq(kstack[64 - 6], 0x11, "r11");
    cr_expect_eq(kstack[64 - 5], 0xffffffff80002000ULL, "rip");
    cr_expect_eq(kstack[64 - 4] & 0xffff, FLAT_KERNEL_CS & ~3, "kernel context: RPL 0");
    cr_expect(kstack[64 - 3] & (1UL << 9), "IF: events were enabled");
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_mask, 1);
}

/* Xen: test_guest_events bounces to event_addr even when it is 0, and
 * create_bounce_frame crashes the domain on the null TRAPBOUNCE_eip. */
Test(pv_bounce, event_upcall_without_callback_crashes_domain)
{
    struct cpu_regs r = { .vector = X86_EXC_NMI, .rip = 0xffffffff80002000ULL,
                          .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS,
                          .rflags = 0x202, .rsp = gp(kstack + 64) };

    shinfo.vcpu_info[0].evtchn_upcall_mask = 0;
    shinfo.vcpu_info[0].evtchn_upcall_pending = 1;
    cr_expect(pv_env_trap_crashes(&r), "upcall to no callback must crash the domain");

    /* Masked, or nothing pending: no upcall, nothing to crash for. */
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
    r.vector = X86_EXC_NMI;
    cr_expect_not(pv_env_trap_crashes(&r));
    shinfo.vcpu_info[0].evtchn_upcall_mask = 0;
    shinfo.vcpu_info[0].evtchn_upcall_pending = 0;
    cr_expect_not(pv_env_trap_crashes(&r));
}

/* From guest user, the frame goes to the stack_switch stack; Xen crashes
 * the domain when it cannot write it there (the .Lft* fixups in
 * create_bounce_frame) or when the stack is in Xen's range. */
Test(pv_bounce, unwritable_kernel_stack_crashes_domain)
{
    struct cpu_regs r = { .vector = PV_VEC_SYSCALL, .rip = 0x400000,
                          .cs = FLAT_USER_CS, .ss = FLAT_USER_SS,
                          .rflags = 0x202, .rsp = 0x7ff000 };
    struct vcpu *v = &pv_dom.vcpus[0];

    v->kernel_mode = false;
    v->syscall_callback = CALLBACK_VA;
    v->kernel_sp = gp(kstack + 64);
    fake_guest_fault_start = gp(kstack);
    fake_guest_fault_end = gp(kstack + 64);
    cr_expect(pv_env_trap_crashes(&r), "frame on an unmapped kernel stack");

    setup();
    v->kernel_mode = false;
    v->syscall_callback = CALLBACK_VA;
    v->kernel_sp = 0xffff830000010000ULL;          /* Xen's range */
    r = (struct cpu_regs){ .vector = PV_VEC_SYSCALL, .rip = 0x400000,
                           .cs = FLAT_USER_CS, .ss = FLAT_USER_SS,
                           .rflags = 0x202, .rsp = 0x7ff000 };
    cr_expect(pv_env_trap_crashes(&r), "frame in the hypervisor's range");

    /* The same with a writable stack is delivered. */
    setup();
    v->kernel_mode = false;
    v->syscall_callback = CALLBACK_VA;
    v->kernel_sp = gp(kstack + 64);
    r = (struct cpu_regs){ .vector = PV_VEC_SYSCALL, .rip = 0x400000,
                           .cs = FLAT_USER_CS, .ss = FLAT_USER_SS,
                           .rflags = 0x202, .rsp = 0x7ff000 };
    cr_expect_not(pv_env_trap_crashes(&r));
    cr_expect_eq(r.rip, CALLBACK_VA);
    cr_expect(v->kernel_mode, "toggled to guest kernel");
    cr_expect_eq(kstack[64 - 4] & 0xffff, FLAT_USER_CS, "user context: RPL 3");
    cr_expect_eq(kstack[64 - 2], 0x7ff000, "user rsp");
}
