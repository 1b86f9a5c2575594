/*
 * pvtraps - exceptions and software interrupts reach the guest's trap
 * table with Xen's 64-bit bounce frame, the iret hypercall returns, and
 * Xen's forced-emulation prefix runs CPUID. Bad arguments: non-canonical
 * trap-table and callback addresses, bad segment bases.
 */
#include "guest.h"
#include <xen/callback.h>
#include <xen/errno.h>

#define FLAT_KERNEL_CS_RPL0 (FLAT_KERNEL_CS & ~3)

extern const char pvt_handler_0[], pvt_handler_3[], pvt_handler_6[],
                  pvt_handler_13[], pvt_handler_14[], pvt_handler_128[];

struct seen {
    unsigned int count;
    unsigned int vector;
    bool has_ec;
    uint64_t ec, rip, cs, rflags, rsp, ss;
};

static volatile struct seen seen;
/* What the handler adds to the saved rip (skip the faulting insn). */
static volatile unsigned int skip;

void pvt_trap(uint64_t *f, unsigned int vector, unsigned int has_ec);
void pvt_trap(uint64_t *f, unsigned int vector, unsigned int has_ec)
{
    uint64_t *hw = has_ec ? f + 1 : f;

    seen.count++;
    seen.vector = vector;
    seen.has_ec = has_ec;
    seen.ec = has_ec ? f[0] : 0;
    seen.rip = hw[0];
    seen.cs = hw[1];
    seen.rflags = hw[2];
    seen.rsp = hw[3];
    seen.ss = hw[4];
    hw[0] += skip;
}

static void reset(unsigned int skip_bytes)
{
    memset((void *)&seen, 0, sizeof(seen));
    skip = skip_bytes;
}

static void install(void)
{
    struct trap_info t[] = {
        { 0, 0 | 4, FLAT_KERNEL_CS, (unsigned long)pvt_handler_0 },
        { 3, 3 | 4, FLAT_KERNEL_CS, (unsigned long)pvt_handler_3 },
        { 6, 0 | 4, FLAT_KERNEL_CS, (unsigned long)pvt_handler_6 },
        { 13, 0 | 4, FLAT_KERNEL_CS, (unsigned long)pvt_handler_13 },
        { 14, 0 | 4, FLAT_KERNEL_CS, (unsigned long)pvt_handler_14 },
        { 128, 3 | 4, FLAT_KERNEL_CS, (unsigned long)pvt_handler_128 },
        { 0, 0, 0, 0 },
    };
    long rc = hypercall_set_trap_table(t);

    check(rc == 0, "set_trap_table: %ld", rc);
}

/* Common checks of a kernel-mode bounce frame. */
static void check_frame(const char *what, unsigned int vector, uint64_t rip)
{
    check(seen.count == 1, "%s: handler ran %u times", what, seen.count);
    check(seen.vector == vector, "%s: vector %u, want %u", what, seen.vector, vector);
    check(seen.rip == rip, "%s: saved rip %#lx, want %#lx", what, seen.rip, rip);
    /* Xen: cs has RPL 0 when the guest kernel was interrupted. */
    check((seen.cs & 0xffff) == FLAT_KERNEL_CS_RPL0,
          "%s: saved cs %#lx, want %#x", what, seen.cs & 0xffff, FLAT_KERNEL_CS_RPL0);
    /* Bits 32-39: the saved upcall mask (masked since start of day). */
    check((seen.cs >> 32) == 1, "%s: saved upcall mask %#lx, want 1", what,
          seen.cs >> 32);
    /* EFLAGS.IF mirrors !saved upcall mask. */
    check(!(seen.rflags & EFLAGS_IF), "%s: saved rflags %#lx has IF with events masked",
          what, seen.rflags);
    check(seen.ss == FLAT_KERNEL_SS, "%s: saved ss %#lx", what, seen.ss);
}

static void test_int3(void)
{
    extern const char pvt_after_int3[];

    reset(0);
    asm volatile ("int3\n\t.globl pvt_after_int3\npvt_after_int3:" ::: "memory");
    check_frame("int3", 3, (uint64_t)pvt_after_int3);
    check(!seen.has_ec, "int3 has no error code");
}

static void test_ud2(void)
{
    extern const char pvt_ud2[];

    reset(2);
    asm volatile (".globl pvt_ud2\npvt_ud2: ud2" ::: "memory");
    check_frame("ud2", 6, (uint64_t)pvt_ud2);
}

static void test_div0(void)
{
    extern const char pvt_div[];
    unsigned long a = 1, b = 0;

    reset(3);
    /* div %rcx is 3 bytes (48 f7 f1) */
    asm volatile (".globl pvt_div\npvt_div: div %%rcx"
                  : "+a" (a) : "c" (b), "d" (0UL) : "memory");
    check_frame("divide by zero", 0, (uint64_t)pvt_div);
}

static void test_page_fault(void)
{
    extern const char pvt_pf[];
    volatile unsigned long v;

    reset(3);
    /* mov (%rax), %rax: 3 bytes (48 8b 00); 0x1000 is not mapped. */
    asm volatile (".globl pvt_pf\npvt_pf: mov (%%rax), %%rax"
                  : "=a" (v) : "a" (0x1000UL) : "memory");
    (void)v;
    check_frame("#PF", 14, (uint64_t)pvt_pf);
    /* Read of a not-present page, from the guest KERNEL: U bit clear. */
    check(seen.ec == 0, "#PF error code %#lx, want 0 (kernel read, not present)",
          seen.ec);
    check(start_info->shared_info != 0, "no shared_info");
}

static void test_softint(void)
{
    extern const char pvt_after_int80[];

    reset(0);
    asm volatile ("int $0x80\n\t.globl pvt_after_int80\npvt_after_int80:" ::: "memory");
    check_frame("int $0x80", 128, (uint64_t)pvt_after_int80);
}

static void test_privileged(void)
{
    extern const char pvt_hlt[];

    /* hlt in ring 3: #GP(0), bounced with its error code. */
    reset(1);
    asm volatile (".globl pvt_hlt\npvt_hlt: hlt" ::: "memory");
    check_frame("hlt", 13, (uint64_t)pvt_hlt);
    check(seen.has_ec && seen.ec == 0, "hlt: #GP error code %#lx", seen.ec);
}

static void test_forced_cpuid(void)
{
    uint32_t eax = 0x40000000, ebx, ecx = 0, edx;
    char sig[13];

    asm volatile ("ud2a; .ascii \"xen\"; cpuid"
                  : "+a" (eax), "=b" (ebx), "+c" (ecx), "=d" (edx));
    memcpy(sig, &ebx, 4);
    memcpy(sig + 4, &ecx, 4);
    memcpy(sig + 8, &edx, 4);
    sig[12] = '\0';
    printk("forced cpuid 0x40000000: eax %#x \"%s\"\n", eax, sig);
    check(!strcmp(sig, "XenVMMXenVMM"), "hypervisor signature \"%s\"", sig);
    check(eax >= 0x40000002, "max hypervisor leaf %#x", eax);

    eax = 1;
    ecx = 0;
    asm volatile ("ud2a; .ascii \"xen\"; cpuid"
                  : "+a" (eax), "=b" (ebx), "+c" (ecx), "=d" (edx));
    check(ecx & (1u << 31), "CPUID.1:ECX hypervisor bit clear (%#x)", ecx);
}

static void test_bad_args(void)
{
    struct trap_info bad[] = {
        { 3, 3, FLAT_KERNEL_CS, 0x0000800000000000UL },     /* non-canonical */
        { 0, 0, 0, 0 },
    };
    struct callback_register cb = {
        .type = CALLBACKTYPE_event, .address = 0x8000000000000000UL,
    };
    struct callback_unregister ucb = { .type = CALLBACKTYPE_event };
    long rc;

    rc = hypercall_set_trap_table(bad);
    check(rc == -XEN_EINVAL, "set_trap_table(non-canonical) = %ld, want -EINVAL", rc);
    rc = hypercall_set_trap_table((void *)0xffff830000001000UL);
    check(rc == -XEN_EFAULT, "set_trap_table(hypervisor address) = %ld, want -EFAULT", rc);
    rc = hypercall_set_trap_table((void *)0x10UL);
    check(rc == -XEN_EFAULT, "set_trap_table(unmapped) = %ld, want -EFAULT", rc);

    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == -XEN_EINVAL, "callback_op(non-canonical) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_unregister, &ucb);
    check(rc == -XEN_EINVAL, "unregister event callback = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_callback_op, 99, &cb);
    check(rc == -XEN_ENOSYS, "callback_op(99) = %ld, want -ENOSYS", rc);

    rc = hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x0000800000000000UL);
    check(rc == -XEN_EINVAL, "set_segment_base(FS, non-canonical) = %ld", rc);
    rc = hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x1234000UL);
    check(rc == 0, "set_segment_base(FS) = %ld", rc);
    rc = hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0);
    check(rc == 0, "set_segment_base(FS, 0) = %ld", rc);
    rc = hypercall2(__HYPERVISOR_set_segment_base, 99, 0);
    check(rc == -XEN_EINVAL, "set_segment_base(99) = %ld, want -EINVAL", rc);

    /* The table is unchanged by the refused calls: int3 still works. */
    test_int3();
}

void test_main(void)
{
    install();
    test_int3();
    test_ud2();
    test_div0();
    test_page_fault();
    test_softint();
    test_privileged();
    test_forced_cpuid();
    test_bad_args();
}
