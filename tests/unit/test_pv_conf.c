/* Xen PV ABI conformance (pv/traps.c, pv/hypercall.c, pv/msr.c): the
 * callbacks a 64-bit kernel registers for compat user space, iret ending
 * a multicall, "int $n" decoded from the instruction (QEMU TCG's error
 * code is n*16+2), and the MSRs Xen 4.17 serves a PV guest. Guest VAs are
 * host pointers (fake arch). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>
#include <minishim/pv.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_emul.h>
#include <minishim/pv_msr.h>
#include <minishim/page_alloc.h>
#include <minishim/timer.h>
#include <minishim/regs.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include <xen/callback.h>
#include "fake/fake.h"
#include "pv_env.h"

#define HANDLER(v) (0xffffffff80010000ULL + (v) * 0x10)

static struct shared_info shinfo;
static uint64_t kstack[64] __attribute__((aligned(16)));

static void setup(void)
{
    pv_env_reset(&shinfo, 1);
    memset(kstack, 0, sizeof(kstack));
    pv_dom.vcpus[0].kernel_sp = (uint64_t)(uintptr_t)(kstack + 64);
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
    /* CPUID 0: "AuthenticAMD" (ebx, edx, ecx). */
    fake_set_cpuid(0, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
    fake_set_cpuid(1, 0x00a00f11, 0, 0, 0);    /* family 0x19 */
}

TestSuite(pv_conf, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static void set_trap(unsigned int vec, unsigned int dpl)
{
    pv_dom.vcpus[0].traps[vec] = (struct trap_info){
        .vector = (uint8_t)vec, .flags = (uint8_t)dpl,
        .cs = FLAT_KERNEL_CS, .address = HANDLER(vec) };
}

/* ------------------------------------------------------------ callbacks --- */

Test(pv_conf, syscall32_and_sysenter_callbacks)
{
    struct callback_register reg = { .type = CALLBACKTYPE_syscall32,
                                     .flags = CALLBACKF_mask_events,
                                     .address = 0xffffffff80004000ULL };
    struct callback_unregister un = { .type = CALLBACKTYPE_syscall32 };
    struct vcpu *v = &pv_dom.vcpus[0];

    cr_expect_eq(do_callback_op(CALLBACKOP_register, gp(&reg)), 0, "syscall32");
    cr_expect_eq(v->syscall32_callback, reg.address);
    cr_expect(v->syscall32_mask_events);
    reg.type = CALLBACKTYPE_sysenter;
    reg.flags = 0;
    reg.address = 0xffffffff80005000ULL;
    cr_expect_eq(do_callback_op(CALLBACKOP_register, gp(&reg)), 0, "sysenter");
    cr_expect_eq(v->sysenter_callback, reg.address);
    cr_expect_not(v->sysenter_mask_events);
    reg.address = 0x0000800000000000ULL;
    cr_expect_eq(do_callback_op(CALLBACKOP_register, gp(&reg)), -XEN_EINVAL);
    cr_expect_eq(v->sysenter_callback, 0xffffffff80005000ULL, "kept on error");
    cr_expect_eq(do_callback_op(CALLBACKOP_unregister, gp(&un)), -XEN_EINVAL);
    un.type = CALLBACKTYPE_sysenter;
    cr_expect_eq(do_callback_op(CALLBACKOP_unregister, gp(&un)), -XEN_EINVAL);
}

/* A SYSCALL from a 32-bit user code segment goes to the syscall32
 * callback; without one to the 64-bit callback; with neither, #UD on the
 * instruction (Xen switch_to_kernel). */
Test(pv_conf, compat_syscall_delivery)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    struct cpu_regs r = { .vector = PV_VEC_SYSCALL32, .rip = 0x401002,
                          .cs = FLAT_RING3_CS32, .ss = FLAT_USER_SS, .rflags = 0x202,
                          .rsp = 0x7ff000 };

    v->kernel_mode = false;
    v->syscall_callback = 0xffffffff80003000ULL;
    v->syscall32_callback = 0xffffffff80004000ULL;
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, 0xffffffff80004000ULL, "syscall32 callback");

    setup();
    v->kernel_mode = false;
    v->syscall_callback = 0xffffffff80003000ULL;
    r = (struct cpu_regs){ .vector = PV_VEC_SYSCALL32, .rip = 0x401002,
                           .cs = FLAT_RING3_CS32, .ss = FLAT_USER_SS, .rflags = 0x202,
                           .rsp = 0x7ff000 };
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, 0xffffffff80003000ULL, "falls back to the syscall callback");

    setup();
    v->kernel_mode = false;
    set_trap(X86_EXC_UD, 0);
    r = (struct cpu_regs){ .vector = PV_VEC_SYSCALL, .rip = 0x401002,
                           .cs = FLAT_USER_CS, .ss = FLAT_USER_SS, .rflags = 0x202,
                           .rsp = 0x7ff000 };
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(X86_EXC_UD), "no callback: #UD");
    cr_expect_eq(kstack[64 - 5], 0x401000, "#UD on the syscall instruction");
}

/* ------------------------------------------------------------ multicall --- */

Test(pv_conf, iret_ends_multicall)
{
    multicall_entry_t mc[3];
    struct iret_context frame = { .rax = 0x5a5a, .rip = 0x400000, .cs = FLAT_KERNEL_CS & ~3,
                                  .rflags = 0x202, .rsp = 0xffffffff80020000ULL,
                                  .ss = FLAT_KERNEL_SS & ~3 };
    struct cpu_regs r = { .rsp = gp(&frame), .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS };

    memset(mc, 0, sizeof(mc));
    mc[0].op = __HYPERVISOR_xen_version;
    mc[0].args[0] = XENVER_pagesize;
    mc[1].op = __HYPERVISOR_iret;
    mc[2].op = __HYPERVISOR_xen_version;
    mc[2].args[0] = XENVER_pagesize;
    mc[2].result = 0x5e5e;
    cr_expect_eq(do_multicall(&r, gp(mc), 3), 0x5a5a, "the iret's %%rax");
    cr_expect_eq(mc[0].result, 4096);
    cr_expect_eq(mc[1].result, 0x5a5a);
    cr_expect_eq(mc[2].result, 0x5e5e, "entry after the iret not run");
    cr_expect_eq(r.rip, 0x400000, "the iret frame was taken");
    cr_expect_eq(r.rsp, 0xffffffff80020000ULL);
    cr_expect_eq(pv_dom.vcpus[0].in_multicall, 0);
}

/* --------------------------------------------------------------- int $n --- */

static struct cpu_regs softint_regs(const uint8_t *insn, uint64_t ec, bool user)
{
    return (struct cpu_regs){ .vector = X86_EXC_GP, .error_code = ec,
                              .rip = gp(insn), .cs = user ? FLAT_USER_CS : FLAT_KERNEL_CS,
                              .ss = FLAT_USER_SS, .rflags = 0x202, .rsp = 0x7ff000 };
}

/* TCG reports n*16+2; the vector comes from the CD ib bytes. */
Test(pv_conf, user_softint_every_vector)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    static uint8_t insn[2] = { 0xcd, 0 };

    set_trap(X86_EXC_GP, 0);
    for (unsigned int n = 0x20; n < 0x100; n++) {
        struct cpu_regs r;

        setup();
        set_trap(X86_EXC_GP, 0);
        set_trap(n, 3);
        v->kernel_mode = false;
        insn[1] = (uint8_t)n;
        r = softint_regs(insn, n * 16 + 2, true);
        pv_guest_trap(&r);
        cr_expect_eq(r.rip, HANDLER(n), "int $%#x delivered as its own vector", n);
        cr_expect_eq(kstack[64 - 5], gp(insn) + 2, "int $%#x: return after it", n);
    }
}

/* Prefixed forms: the same vector, the return after the whole
 * instruction; an unknown byte before CD is not "int $n". */
Test(pv_conf, user_softint_prefixed)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    static uint8_t p66[3] = { 0x66, 0xcd, 0x81 };
    static uint8_t seg_rex[4] = { 0x64, 0x48, 0xcd, 0x81 };
    static uint8_t other[3] = { 0x90, 0xcd, 0x81 };
    struct cpu_regs r;

    set_trap(X86_EXC_GP, 0);
    set_trap(0x81, 3);
    v->kernel_mode = false;
    r = softint_regs(p66, 0x81 * 16 + 2, true);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(0x81), "66 CD 81 delivered as 0x81");
    cr_expect_eq(kstack[64 - 5], gp(p66) + 3, "return after the prefix form");

    setup();
    set_trap(X86_EXC_GP, 0);
    set_trap(0x81, 3);
    v->kernel_mode = false;
    r = softint_regs(seg_rex, 0x81 * 16 + 2, true);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(0x81), "64 48 CD 81");
    cr_expect_eq(kstack[64 - 5], gp(seg_rex) + 4);

    setup();
    set_trap(X86_EXC_GP, 0);
    set_trap(0x81, 3);
    v->kernel_mode = false;
    r = softint_regs(other, 0x81 * 8 + 2, true);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(X86_EXC_GP), "not int $n: the #GP as reported");
}

Test(pv_conf, softint_dpl_rules)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    static uint8_t insn[2] = { 0xcd, 0x90 };
    struct cpu_regs r;

    /* User through a DPL-0 gate: #GP(n << 3 | 2) on the instruction. */
    set_trap(X86_EXC_GP, 0);
    set_trap(0x90, 0);
    v->kernel_mode = false;
    r = softint_regs(insn, 0x90 * 16 + 2, true);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(X86_EXC_GP));
    cr_expect_eq(kstack[64 - 6], (0x90 << 3) | 2, "architectural error code");
    cr_expect_eq(kstack[64 - 5], gp(insn), "on the instruction");

    /* Kernel: DPL 0 is #GP, DPL 1 delivers (Xen permit_softint). */
    setup();
    set_trap(X86_EXC_GP, 0);
    set_trap(0x90, 0);
    r = softint_regs(insn, 0x90 * 16 + 2, false);
    r.rsp = gp(kstack + 64);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(X86_EXC_GP), "kernel, DPL 0: #GP");
    setup();
    set_trap(X86_EXC_GP, 0);
    set_trap(0x90, 1);
    r = softint_regs(insn, 0x90 * 16 + 2, false);
    r.rsp = gp(kstack + 64);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(0x90), "kernel, DPL 1: delivered");

    /* Not an "int imm8" at rip: the #GP goes on as reported. */
    setup();
    set_trap(X86_EXC_GP, 0);
    set_trap(0x90, 3);
    v->kernel_mode = false;
    static uint8_t other[2] = { 0x90, 0x90 };
    r = softint_regs(other, 0x90 * 8 + 2, true);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(X86_EXC_GP));
    cr_expect_eq(kstack[64 - 6], 0x90 * 8 + 2);
}

/* ------------------------------------------------------------------ msr --- */

Test(pv_conf, msr_reads)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    uint64_t val = 1;

    set_trap(X86_EXC_GP, 0);
    arch_wrmsr(MSR_EFER, 0x1d01);      /* SCE LME LMA NXE SVME */
    cr_expect(pv_msr_read(v, MSR_EFER, &val));
    cr_expect_eq(val, 0xd01, "SVME hidden");
    cr_expect(pv_msr_read(v, 0xc0010015, &val) && val == 0, "K8_HWCR reads 0");
    cr_expect(pv_msr_read(v, 0xc0011029, &val) && val == 2, "DE_CFG");
    cr_expect(pv_msr_read(v, 0xc0010004, &val) && val == 0, "vPMU off: 0");
    cr_expect(pv_msr_read(v, 0x345, &val) && val == 0, "PERF_CAPABILITIES");
    cr_expect(pv_msr_read(v, 0x40000000, &val) && val == 0, "hypercall page MSR");
    cr_expect(pv_msr_read(v, 0x277, &val) && val == 0x0000050100070406ULL, "PAT");
    cr_expect(pv_msr_read(v, 0x1b, &val) && val == 0xfee00900ULL, "APIC_BASE, BSP");
    cr_expect_not(pv_msr_read(v, 0x40000001, &val));
    cr_expect_not(pv_msr_read(v, 0x3a, &val), "FEATURE_CONTROL: Intel only");
    cr_expect_not(pv_msr_read(v, 0x79, &val), "UCODE_WRITE: write-only");
    arch_wrmsr(0x1d9, 0);              /* the hardware has DEBUGCTL */
    cr_expect_not(pv_msr_read(v, 0x1d9, &val), "DEBUGCTL with a #GP handler");
    arch_wrmsr(0x1a0, 0x80);           /* MISC_ENABLE: PERF_AVAIL set */
    cr_expect(pv_msr_read(v, 0x1a0, &val));
    cr_expect_eq(val, (1UL << 11) | (1UL << 12) | (1UL << 23), "guest_misc_enable");

    /* Intel: FEATURE_CONTROL locked, the AMD ones #GP. */
    fake_set_cpuid(0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
    cr_expect(pv_msr_read(v, 0x3a, &val) && val == 1);
    cr_expect_not(pv_msr_read(v, 0xc0010015, &val));
    cr_expect(pv_msr_read(v, 0x198, &val) && val == 0, "PERF_STATUS reads 0");
}

/* Xen's "faking RDMSR": no #GP handler, an MSR the hardware has reads 0;
 * one it lacks, or one in the hypervisor range, still #GPs. */
Test(pv_conf, msr_fake_read_without_gp_handler)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    uint64_t val = 1;

    arch_wrmsr(0x1d9, 0x3);
    cr_expect(pv_msr_read(v, 0x1d9, &val));
    cr_expect_eq(val, 0, "DEBUGCTL faked as 0, not the hardware's value");
    cr_expect_not(pv_msr_read(v, 0x12345, &val), "the hardware lacks it");
    cr_expect_not(pv_msr_read(v, 0x40000001, &val), "hypervisor range");
    set_trap(X86_EXC_GP, 0);
    cr_expect_not(pv_msr_read(v, 0x1d9, &val), "with a handler: #GP");
}

Test(pv_conf, msr_writes)
{
    struct vcpu *v = &pv_dom.vcpus[0];

    arch_wrmsr(MSR_EFER, 0xd01);
    cr_expect(pv_msr_write(v, MSR_EFER, 0xd01), "EFER written back unchanged");
    cr_expect_not(pv_msr_write(v, MSR_EFER, 0xd00), "EFER changed");
    cr_expect(pv_msr_write(v, 0xc0010015, 5), "K8_HWCR dropped");
    cr_expect(pv_msr_write(v, 0xc0010000, 5), "vPMU off: dropped");
    cr_expect_not(pv_msr_write(v, 0x1d9, 0), "DEBUGCTL");
    cr_expect(pv_msr_write(v, 0x140, 0));
    cr_expect_not(pv_msr_write(v, 0x140, 1), "no CPUID faulting");
    cr_expect_not(pv_msr_write(v, MSR_FS_BASE, 0x0000800000000000ULL), "non-canonical");
    cr_expect(pv_msr_write(v, MSR_FS_BASE, 0x1000));
    cr_expect_eq(v->fs_base, 0x1000);
    cr_expect_not(pv_msr_write(v, 0x8b, 0), "UCODE_REV write: Intel only");
}

/* The emulation path: rdmsr from the guest kernel through #GP(0). */
Test(pv_conf, rdmsr_through_gp)
{
    static const uint8_t insn[2] = { 0x0f, 0x32 };
    struct cpu_regs r = { .vector = X86_EXC_GP, .error_code = 0, .rip = gp(insn),
                          .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS, .rflags = 0x202,
                          .rsp = gp(kstack + 64), .rcx = 0xc0011029 };

    set_trap(X86_EXC_GP, 0);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, gp(insn) + 2);
    cr_expect_eq(r.rax, 2);
    cr_expect_eq(r.rdx, 0);
}

/* ------------------------------------------------------------- #SS(0) --- */

#define NONCANON_TOP 0x8000000000000000ULL

static bool stack_fault(const uint8_t *insn, struct cpu_regs *r)
{
    r->rip = gp(insn);
    return pv_gp_is_stack_fault(&pv_dom.vcpus[0], r);
}

Test(pv_conf, stack_fault_decode)
{
    static const uint8_t rsp_sib[] = { 0x48, 0x8b, 0x1c, 0x04 };    /* mov (%rsp,%rax),%rbx */
    static const uint8_t rbp_d8[] = { 0x48, 0x8b, 0x45, 0x08 };     /* mov 8(%rbp),%rax */
    static const uint8_t fs_rbp[] = { 0x64, 0x48, 0x8b, 0x45, 0x00 }; /* mov %fs:0(%rbp),%rax */
    static const uint8_t rax_m[] = { 0x48, 0x8b, 0x18 };            /* mov (%rax),%rbx */
    static const uint8_t r13_m[] = { 0x49, 0x8b, 0x45, 0x00 };      /* mov 0(%r13),%rax */
    static const uint8_t push[] = { 0x50 };                         /* push %rax */
    static const uint8_t lea[] = { 0x48, 0x8d, 0x45, 0x08 };        /* lea 8(%rbp),%rax */
    static const uint8_t rip_rel[] = { 0x48, 0x8b, 0x05, 0, 0, 0, 0 };
    static const uint8_t push_m[] = { 0xff, 0x30 };                 /* push (%rax) */
    struct cpu_regs r = { .rsp = 0xffffffff80010000ULL, .rbp = NONCANON_TOP,
                          .rax = NONCANON_TOP, .r13 = NONCANON_TOP };

    cr_expect(stack_fault(rsp_sib, &r), "(%%rsp,%%rax)");
    cr_expect(stack_fault(rbp_d8, &r), "8(%%rbp)");
    cr_expect(stack_fault(fs_rbp, &r), "%%fs:(%%rbp)");
    cr_expect_not(stack_fault(rax_m, &r), "(%%rax): #GP");
    cr_expect_not(stack_fault(r13_m, &r), "(%%r13) is not %%rbp");
    cr_expect_not(stack_fault(push, &r), "push with a good %%rsp");
    cr_expect_not(stack_fault(lea, &r), "lea does not access memory");
    cr_expect_not(stack_fault(rip_rel, &r), "rip-relative");
    cr_expect_not(stack_fault(push_m, &r), "push (%%rax): the operand is #GP");
    r.rbp = 0x1000;
    cr_expect_not(stack_fault(rbp_d8, &r), "canonical: another cause");
    /* An %fs base that makes it non-canonical. */
    pv_dom.vcpus[0].fs_base = 0x00007fffffffff00ULL;
    r.rbp = 0x1000;
    cr_expect(stack_fault(fs_rbp, &r), "fs base + %%rbp");
    r.rsp = NONCANON_TOP;
    cr_expect(stack_fault(push, &r), "push with a non-canonical %%rsp");
    cr_expect(stack_fault(push_m, &r), "push (%%rax) with a non-canonical %%rsp");
}

/* Through the trap path: #GP(0) from the guest becomes #SS(0). */
Test(pv_conf, stack_fault_delivered_as_ss)
{
    static const uint8_t insn[] = { 0x48, 0x8b, 0x45, 0x08 };
    struct cpu_regs r = { .vector = X86_EXC_GP, .error_code = 0, .rip = gp(insn),
                          .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS, .rflags = 0x202,
                          .rsp = gp(kstack + 64), .rbp = NONCANON_TOP };

    set_trap(X86_EXC_GP, 0);
    set_trap(X86_EXC_SS, 0);
    pv_guest_trap(&r);
    cr_expect_eq(r.rip, HANDLER(X86_EXC_SS));
    cr_expect_eq(kstack[64 - 6], 0, "error code 0");
    cr_expect_eq(kstack[64 - 5], gp(insn), "on the instruction");
}

/* ---------------------------------------------------------- Xen leaves --- */

/* Xen 4.17 cpuid_hypervisor_leaves() for a PV domU: leaves 0..5 of
 * 0x40000000, the MSR base in 0x40000002 EBX, zeros past the max. */
Test(pv_conf, cpuid_xen_leaves)
{
    static struct boot_info bi;
    struct cpuid_regs r;
    struct time_scale ts;

    /* A 2 GHz TSC (CPUID 15h), invariant, with RDTSCP. */
    fake_set_cpuid(0, 0x15, 0x68747541, 0x444d4163, 0x69746e65);
    fake_set_cpuid(0x15, 1, 2, 1000000000u, 0);
    fake_port_in[0x71] = 0;
    clock_init();
    cr_assert_eq(clock_tsc_khz(), 2000000);
    fake_set_cpuid(0x80000007, 0, 0, 0, 1u << 8);
    fake_set_cpuid(0x80000001, 0, 0, 0, 1u << 27);
    /* RAM up to 0x1234 frames: highest frame 0x1233, 13 bits + 12. */
    memset(&bi, 0, sizeof(bi));
    bootinfo_add_memmap(&bi, 0, 0x1234UL << 12, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0));
    cr_assert_eq(page_alloc_max_mfn(), 0x1234);
    pv_dom.created_ns = 0x123456789aULL;

    pv_guest_cpuid(0x40000000, 0, &r);
    cr_expect_eq(r.eax, 0x40000005, "max leaf");
    cr_expect(r.ebx == 0x566e6558 && r.ecx == 0x65584d4d && r.edx == 0x4d4d566e);
    pv_guest_cpuid(0x40000001, 0, &r);
    cr_expect_eq(r.eax, 0x40011);
    pv_guest_cpuid(0x40000002, 0, &r);
    cr_expect_eq(r.eax, 1, "one hypercall page");
    cr_expect_eq(r.ebx, 0x40000000, "hypercall MSR base");
    cr_expect_eq(r.ecx, 1, "MMU_PT_UPDATE_PRESERVE_AD");
    pv_guest_cpuid(0x40000003, 0, &r);
    cr_expect_eq(r.eax, 6, "TSC safe, RDTSCP, no vtsc");
    cr_expect(r.ebx == 0 && r.ecx == 2000000 && r.edx == 1, "mode, khz, incarnation 1");
    pv_guest_cpuid(0x40000003, 1, &r);
    time_scale_set(&ts, 2000000000ULL);
    cr_expect(r.eax == 0x3456789a && r.ebx == 0x12, "vtsc_offset");
    cr_expect(r.ecx == ts.mul_frac && r.edx == (uint32_t)(int32_t)ts.shift);
    cr_expect(r.ecx == 0x80000000u && r.edx == 0, "2 GHz: 0.5 ns per tick");
    pv_guest_cpuid(0x40000003, 2, &r);
    cr_expect_eq(r.eax, 2000000, "cpu_khz");
    pv_guest_cpuid(0x40000004, 0, &r);
    cr_expect(!r.eax && !r.ebx && !r.ecx && !r.edx, "HVM leaf empty for PV");
    pv_guest_cpuid(0x40000005, 0, &r);
    cr_expect_eq(r.ebx, 25, "machine address width");
    pv_guest_cpuid(0x40000005, 1, &r);
    cr_expect_eq(r.ebx, 0);
    pv_guest_cpuid(0x40000006, 0, &r);
    cr_expect(!r.eax && !r.ebx && !r.ecx && !r.edx, "past the max leaf");
    pv_guest_cpuid(0x40000100, 0, &r);
    cr_expect(!r.eax && !r.ebx && !r.ecx && !r.edx);

    /* A TSC that is not invariant: bit 1 clear. */
    fake_set_cpuid(0x80000007, 0, 0, 0, 0);
    pv_guest_cpuid(0x40000003, 0, &r);
    cr_expect_eq(r.eax, 4);
}

/* Xen guest_wrmsr() PRED_CMD / FLUSH_CMD: #GP unless the guest's CPUID
 * offers them, #GP for a reserved bit, else written to the hardware;
 * never readable. */
Test(pv_conf, pred_cmd_flush_cmd)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    uint64_t val;

    set_trap(X86_EXC_GP, 0);
    cr_expect_not(pv_msr_write(v, 0x49, 1), "PRED_CMD without IBRSB/IBPB");
    cr_expect_not(pv_msr_write(v, 0x10b, 1), "FLUSH_CMD without L1D_FLUSH");
    fake_set_cpuid(0x80000008, 0, 1u << 12, 0, 0);     /* IBPB */
    cr_expect(pv_msr_write(v, 0x49, 1), "IBPB");
    cr_expect_eq(fake_msr_writes(0x49), 1);
    cr_expect_not(pv_msr_write(v, 0x49, 2), "reserved bit");
    cr_expect_eq(fake_msr_writes(0x49), 1);
    cr_expect_not(pv_msr_read(v, 0x49, &val), "write-only");
    fake_set_cpuid(7, 0, 0, 0, (1u << 26) | (1u << 28));  /* IBRSB, L1D_FLUSH */
    fake_set_cpuid(0x80000008, 0, 0, 0, 0);
    cr_expect(pv_msr_write(v, 0x49, 1), "IBRSB implies PRED_CMD");
    cr_expect(pv_msr_write(v, 0x10b, 1), "L1D flush");
    cr_expect_eq(fake_msr_writes(0x10b), 1);
    cr_expect_not(pv_msr_write(v, 0x10b, 3), "reserved bit");
    cr_expect_not(pv_msr_read(v, 0x10b, &val), "write-only");
}
