/*
 * pvconf - Xen PV ABI conformance cases real PV kernels rely on
 * (Xen 4.17 behaviour, each checked against minishim and the reference
 * shim on the bed; see tests/guests/README.md):
 *
 *   callbacks  CALLBACKOP_register of syscall32 and sysenter from a 64-bit
 *              guest is accepted; neither can be unregistered (-XEN_EINVAL).
 *   multicall  an iret entry ends the batch: the entries after it are not
 *              run, and the multicall returns the %rax the iret restored.
 *   msr        rdmsr/wrmsr per Xen's guest_rdmsr/read_msr/write_msr,
 *              #GP for the rest, and the "faking RDMSR" rule (no #GP
 *              handler: an MSR the hardware has reads 0).
 *   xen leaves CPUID 0x40000000..5 as Xen's cpuid_hypervisor_leaves for a
 *              PV domU; the hypercall page written by wrmsr to the MSR
 *              base leaf 2 names (Xen guest_wrmsr_xen), #GP for a page
 *              index or a page-table frame.
 *   int $n     from guest user mode, every vector 0x20..0xff through a
 *              DPL-3 gate arrives as that vector with rip after the
 *              instruction; through a DPL-0 gate it is #GP(n << 3 | 2) on
 *              the instruction. From the guest kernel a DPL-0 gate is
 *              #GP, a DPL-1+ gate delivers (Xen permit_softint).
 *              "66 CD 81" from user mode is int $0x81 too, returning
 *              after the whole instruction.
 *
 * The int $n sweep runs last. Under QEMU's TCG the #GP error code of an
 * "int $n" in long mode is n*16+2; Xen trusts it, so the reference shim
 * misroutes most vectors on the bed. Such results are printed as
 * "KNOWN-REFERENCE-DIFFERENCE" when the hypervisor is not minishim and
 * fail the test under minishim.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/nmi.h>
#include <xen/physdev.h>
#include <xen/memory.h>

#define KBASE 0xffffffff80000000UL
#define VEC_SYSCALL   0x100
#define VEC_SYSCALL32 0x101

void __noreturn pvc_enter_user(uint64_t rip, uint64_t rsp);
long pvc_multicall_on_frame(void *list, unsigned long n, void *frame);
void __noreturn pvc_entered(const uint64_t *f, unsigned int vec, uint64_t rax);
uint64_t pvc_rdmsr(uint32_t msr);
void pvc_wrmsr(uint32_t msr, uint64_t val);
void pvc_ss_rsp_index(void);
void pvc_ss_rbp(void);
void pvc_ss_rbp_fs(void);
void pvc_gp_rax(void);
extern const char pvc_user_ss[];
void pvc_db_movss(void);
extern const char pvc_db_after_nop[], pvc_user_db_movss[], pvc_user_db_after_nop[];
void pvc_kernel_int90(void);
void pvc_kernel_int91(void);
extern const uint64_t pvc_trap_table[258];
extern const char pvc_user_int[], pvc_user_syscall[], pvc_user_int66[];

static struct jmpctx kctx;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[4096] __attribute__((aligned(16)));
static bool is_minishim;
static unsigned int ref_diffs;

static struct {
    unsigned int vec;
    uint64_t ec, rip, cs, rsp, ss, rax;
    bool has_ec;
} got;

static bool vector_has_ec(unsigned int vec)
{
    return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17;
}

void pvc_entered(const uint64_t *f, unsigned int vec, uint64_t rax)
{
    const uint64_t *hw = f;

    got.vec = vec;
    got.rax = rax;
    got.has_ec = vector_has_ec(vec);
    got.ec = got.has_ec ? *hw++ : ~0UL;
    got.rip = hw[0];
    got.cs = hw[1] & 0xffff;
    got.rsp = hw[3];
    got.ss = hw[4];
    guest_longjmp(&kctx);
}

/* Run user code until it traps back; false if it did not come back. */
static void run_user(const char *code)
{
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0)
        pvc_enter_user((uint64_t)code, (uint64_t)(ustack + sizeof(ustack)));
}

/*
 * A result minishim must get right; the reference may differ for the one
 * reason written down: it takes the vector from TCG's #GP error code
 * n*16+2, i.e. it acts on vector (2n) & 0xff (Xen's uint8_t of ec >> 3):
 * delivered there, or #GP when that gate does not admit the caller.
 */
static bool tcg_misroute(unsigned int n)
{
    unsigned int wrong = (2 * n) & 0xff;

    return got.vec == wrong || (got.vec == 13 && (got.ec == n * 16 + 2 ||
                                                  got.ec == ((wrong << 3) | 2)));
}

static void check_or_ref_diff(bool ok, const char *what, unsigned int n)
{
    if (ok)
        return;
    if (is_minishim || !tcg_misroute(n)) {
        check(false, "%s %#x: got vector %#x ec %#lx rip %#lx", what, n,
              got.vec, got.ec, got.rip);
        return;
    }
    ref_diffs++;
    printk("KNOWN-REFERENCE-DIFFERENCE: %s %#x: got vector %#x ec %#lx rip %#lx "
           "(TCG #GP error code n*16+2)\n", what, n, got.vec, got.ec, got.rip);
}

static struct trap_info table[260];

static void install_traps(unsigned int dpl_user_from, const uint8_t *dpl_override)
{
    unsigned int i, n = 0;
    long rc;

    for (i = 0; i < 256; i++) {
        unsigned int dpl = i >= dpl_user_from ? 3 : 0;

        if (i == 3 || i == 4)
            dpl = 3;
        if (dpl_override && dpl_override[i] != 0xff)
            dpl = dpl_override[i];
        table[n].vector = (uint8_t)i;
        table[n].flags = (uint8_t)(dpl | 4);
        table[n].cs = FLAT_KERNEL_CS;
        table[n].address = pvc_trap_table[i];
        n++;
    }
    memset(&table[n], 0, sizeof(table[n]));
    rc = hypercall_set_trap_table(table);
    if (rc)
        test_fatal("set_trap_table = %ld", rc);
}

/* ------------------------------------------------------------ callbacks --- */

static void test_callbacks(void)
{
    struct callback_register cb = { .flags = CALLBACKF_mask_events };
    struct callback_unregister un;
    long rc;

    cb.type = CALLBACKTYPE_syscall;
    cb.address = pvc_trap_table[VEC_SYSCALL];
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "register syscall = %ld", rc);
    cb.type = CALLBACKTYPE_syscall32;
    cb.address = pvc_trap_table[VEC_SYSCALL32];
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "register syscall32 = %ld, want 0 (Xen accepts it)", rc);
    cb.type = CALLBACKTYPE_sysenter;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "register sysenter = %ld, want 0 (Xen accepts it)", rc);
    cb.address = 0x0000800000000000UL;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == -XEN_EINVAL, "register sysenter at a non-canonical address = %ld", rc);
    un.type = CALLBACKTYPE_syscall32;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_unregister, &un);
    check(rc == -XEN_EINVAL, "unregister syscall32 = %ld, want -XEN_EINVAL", rc);
    un.type = CALLBACKTYPE_sysenter;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_unregister, &un);
    check(rc == -XEN_EINVAL, "unregister sysenter = %ld, want -XEN_EINVAL", rc);
    printk("callbacks: done\n");
}

/* ------------------------------------------------------------ multicall --- */

static void test_multicall_iret(void)
{
    static multicall_entry_t mc[3];
    static struct iret_context frame __attribute__((aligned(16)));
    const uint64_t sentinel = 0x5e5e5e5e5e5eUL, marker = 0x5a5aUL;
    long rc = 0;

    memset(mc, 0, sizeof(mc));
    mc[0].op = __HYPERVISOR_xen_version;
    mc[0].args[0] = XENVER_pagesize;
    mc[1].op = __HYPERVISOR_iret;
    mc[1].result = sentinel;
    mc[2].op = __HYPERVISOR_xen_version;
    mc[2].args[0] = XENVER_version;
    mc[2].result = sentinel;
    frame = (struct iret_context){
        .rax = marker, .rip = (uint64_t)pvc_user_syscall, .cs = FLAT_USER_CS,
        .rflags = 0x2, .rsp = (uint64_t)(ustack + sizeof(ustack)), .ss = FLAT_USER_SS,
    };
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0) {
        rc = pvc_multicall_on_frame(mc, 3, &frame);
        check(false, "multicall with an iret entry returned %ld to the kernel "
              "(iret result %ld, entry 2 result %#lx)", rc,
              (long)mc[1].result, (unsigned long)mc[2].result);
        return;
    }
    printk("multicall+iret: back via vector %#x rax %#lx rip %#lx cs %#lx; "
           "results %#lx %#lx %#lx\n", got.vec, got.rax, got.rip, got.cs,
           (unsigned long)mc[0].result, (unsigned long)mc[1].result,
           (unsigned long)mc[2].result);
    check(got.vec == VEC_SYSCALL, "after the iret entry: vector %#x, want the "
          "syscall callback from user mode", got.vec);
    check(got.cs == FLAT_USER_CS, "the iret did not reach user mode (cs %#lx)", got.cs);
    check(got.rax == marker, "user %%rax %#lx, want the iret frame's %#lx",
          got.rax, marker);
    check(mc[0].result == 4096, "entry 0 result %#lx", (unsigned long)mc[0].result);
    check(mc[2].result == sentinel, "entry 2 ran after the iret (result %#lx)",
          (unsigned long)mc[2].result);
}

/* ------------------------------------------------------------------ msr --- */

static bool vendor_amd;

static bool try_rdmsr(uint32_t msr, uint64_t *val)
{
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0) {
        *val = pvc_rdmsr(msr);
        return true;
    }
    check(got.vec == 13 && got.ec == 0, "rdmsr %#x: vector %#x ec %#lx, want #GP(0)",
          msr, got.vec, got.ec);
    return false;
}

static bool try_wrmsr(uint32_t msr, uint64_t val)
{
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0) {
        pvc_wrmsr(msr, val);
        return true;
    }
    check(got.vec == 13 && got.ec == 0, "wrmsr %#x: vector %#x ec %#lx, want #GP(0)",
          msr, got.vec, got.ec);
    return false;
}

#define RD_GP(msr) do {                                                     \
        uint64_t v_;                                                        \
        check(!try_rdmsr(msr, &v_), "rdmsr %#x = %#lx, want #GP", msr, v_);  \
    } while (0)
#define RD_EQ(msr, want) do {                                               \
        uint64_t v_ = 0;                                                    \
        bool rok_ = try_rdmsr(msr, &v_);                                     \
        check(rok_ && v_ == (uint64_t)(want), "rdmsr %#x: %s %#lx, want %#lx", \
              msr, rok_ ? "read" : "#GP", v_, (uint64_t)(want));             \
    } while (0)

static void test_msrs(void)
{
    static const uint32_t probe[] = { 0x1b, 0x277, 0x1a0, 0x1d9, 0x8b, 0x17, 0x3a,
                                      0xce, 0x140, 0xc0000103 };
    uint64_t efer = 0, v;
    struct cpuid_regs_ { uint32_t a, b, c, d; } r;

    asm volatile("ud2a; .ascii \"xen\"; cpuid"
                 : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(0), "c"(0));
    vendor_amd = r.b == 0x68747541;     /* "Auth"enticAMD */

    /* The hardware's answers a PV guest gets, printed for the record. */
    for (size_t i = 0; i < ARRAY_SIZE(probe); i++) {
        bool ok = try_rdmsr(probe[i], &v);

        printk("msr: rdmsr %#x -> %s %#lx\n", probe[i], ok ? "ok" : "#GP", ok ? v : 0);
    }

    check(try_rdmsr(0xc0000080, &efer), "rdmsr EFER #GP");
    check((efer & 0xd01) == 0xd01, "EFER %#lx lacks SCE/LME/LMA/NXE", efer);
    check(!(efer & (1UL << 12)), "EFER %#lx shows SVME", efer);
    check(try_wrmsr(0xc0000080, efer), "writing EFER back unchanged #GPs");
    check(!try_wrmsr(0xc0000080, efer & ~1UL), "clearing EFER.SCE is accepted");

    RD_EQ(0x345, 0);                    /* PERF_CAPABILITIES: none */
    RD_GP(0x79);                        /* UCODE_WRITE: write-only */
    RD_GP(0xc0000082);                  /* LSTAR: not for a PV guest */
    RD_GP(0x1d9);                       /* DEBUGCTL with a #GP handler */
    check(!try_wrmsr(0x1d9, 0), "wrmsr DEBUGCTL accepted");
    RD_EQ(0x40000000, 0);               /* the hypercall page MSR reads 0 */
    RD_GP(0x40000001);
    if (vendor_amd) {
        RD_EQ(0xc0010015, 0);           /* K8_HWCR */
        RD_EQ(0xc0011029, 2);           /* DE_CFG: LFENCE serialising */
        RD_EQ(0xc0010064, 0);           /* P-state 0 */
        RD_EQ(0xc0010004, 0);           /* K7 PERFCTR0 (vPMU off) */
        check(try_wrmsr(0xc0010000, 0x12345), "wrmsr K7_EVNTSEL0 #GP (vPMU off: dropped)");
        RD_EQ(0xc0010000, 0);
        check(try_wrmsr(0xc0010015, 0), "wrmsr K8_HWCR #GP (dropped in Xen)");
        RD_GP(0x3a);                    /* FEATURE_CONTROL: Intel only */
        RD_GP(0x198);                   /* PERF_STATUS: Intel only */
    }

    /* Xen's "faking RDMSR": without a #GP handler an MSR the hardware has
     * reads as 0 instead of killing the guest. */
    check(hypercall_set_trap_table(NULL) == 0, "clearing the trap table");
    v = pvc_rdmsr(0xc0000082);
    install_traps(0x20, NULL);
    check(v == 0, "rdmsr LSTAR without a #GP handler = %#lx, want 0", v);
    printk("msr: done (vendor %s)\n", vendor_amd ? "AMD" : "other");
}

/* --------------------------------------------- Xen leaves, hcall MSR --- */

static uint8_t msr_hpage[4096] __attribute__((aligned(4096)));

static void xen_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    asm volatile("ud2a; .ascii \"xen\"; cpuid"
                 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void test_xen_leaves(void)
{
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;
    uint64_t mfn = p2m[((unsigned long)msr_hpage - KBASE) >> PAGE_SHIFT];
    uint64_t pt = p2m[(start_info->pt_base - KBASE) >> PAGE_SHIFT];
    uint32_t r[4], base;
    long ver, rc;

    xen_cpuid(0x40000000, 0, r);
    check(r[0] == 0x40000005, "CPUID 0x40000000 max leaf %#x, want 0x40000005", r[0]);
    xen_cpuid(0x40000002, 0, r);
    base = r[1];
    check(r[0] == 1 && base == 0x40000000 && (r[2] & 1),
          "CPUID 0x40000002 = %#x %#x %#x, want 1 pages, MSR 0x40000000, PRESERVE_AD",
          r[0], r[1], r[2]);
    xen_cpuid(0x40000003, 0, r);
    check(r[1] == 0 && r[2] != 0 && r[3] == 1,
          "time leaf: tsc_mode %u khz %u incarnation %u, want 0, >0, 1",
          r[1], r[2], r[3]);
    xen_cpuid(0x40000004, 0, r);
    check(!r[0] && !r[1] && !r[2] && !r[3], "HVM leaf not empty for PV: %#x", r[0]);
    xen_cpuid(0x40000005, 0, r);
    check(r[1] >= 20 && r[1] <= 52, "machine address width %u", r[1]);
    printk("xen leaves: max 0x40000005, MSR base %#x, maddr width %u\n", base, r[1]);
    xen_cpuid(0x40000006, 0, r);
    check(!r[0] && !r[1] && !r[2] && !r[3], "CPUID 0x40000006 not empty");

    memset(msr_hpage, 0, sizeof(msr_hpage));
    check(!try_wrmsr(base, (mfn << PAGE_SHIFT) | 0x800), "hypercall MSR with a page index accepted");
    check(!try_wrmsr(base, pt << PAGE_SHIFT), "hypercall page over the L4 accepted");
    check(msr_hpage[0] == 0, "a refused MSR write wrote the page");
    check(try_wrmsr(base, mfn << PAGE_SHIFT), "wrmsr hypercall page #GP");
    check(memcmp(msr_hpage, hypercall_page, sizeof(msr_hpage)) == 0,
          "the MSR's hypercall page differs from the ELF-note one");
    {
        register unsigned long rdi asm("rdi") = XENVER_version;
        register unsigned long rsi asm("rsi") = 0;

        asm volatile("call *%[stub]" : "=a"(ver), "+r"(rdi), "+r"(rsi)
                     : [stub] "r"(msr_hpage + __HYPERVISOR_xen_version * 32)
                     : "rcx", "r11", "rdx", "r8", "r9", "r10", "memory");
    }
    rc = hypercall_xen_version(XENVER_version, NULL);
    check(ver == rc, "xen_version through the MSR's page = %#lx, want %#lx", ver, rc);
    printk("hypercall page by MSR: ok\n");
}

/* -------------------------------------------------------------- #SS(0) --- */

/* What one kernel helper raised: the vector and error code. */
static void run_kernel(void (*fn)(void))
{
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0) {
        fn();
        check(false, "a non-canonical access did not fault");
    }
}

/* Under QEMU's TCG the hardware raises #GP(0) for every non-canonical
 * access; Xen passes it through, so the reference shows #GP there. */
static void check_ss(const char *what)
{
    bool ok = got.vec == 12 && got.ec == 0;

    if (ok)
        return;
    if (is_minishim || got.vec != 13 || got.ec != 0) {
        check(false, "%s: vector %#x ec %#lx, want #SS(0)", what, got.vec, got.ec);
        return;
    }
    ref_diffs++;
    printk("KNOWN-REFERENCE-DIFFERENCE: %s: #GP(0), not #SS(0) (TCG raises #GP for "
           "every non-canonical access)\n", what);
}

static void test_stack_fault(void)
{
    run_kernel(pvc_ss_rsp_index);
    check_ss("kernel (%rsp,%rax) non-canonical");
    run_kernel(pvc_ss_rbp);
    check_ss("kernel 8(%rbp) non-canonical");
    run_kernel(pvc_ss_rbp_fs);
    check_ss("kernel %fs:(%rbp) non-canonical");
    run_kernel(pvc_gp_rax);
    check(got.vec == 13 && got.ec == 0, "kernel (%%rax) non-canonical: vector %#x ec %#lx, "
          "want #GP(0)", got.vec, got.ec);
    run_user(pvc_user_ss);
    check_ss("user (%rbp) non-canonical");
    printk("#SS: done\n");
}

/* ------------------------------------------------------ #DB after mov ss --- */

static void test_db_movss(void)
{
    long dr6;

    run_kernel(pvc_db_movss);
    dr6 = hypercall1(__HYPERVISOR_get_debugreg, 6);
    check(got.vec == 1 && got.rip == (uint64_t)pvc_db_after_nop,
          "kernel mov %%ss + TF: vector %#x at %#lx, want #DB at %p", got.vec, got.rip,
          pvc_db_after_nop);
    check(dr6 & (1L << 14), "kernel mov %%ss + TF: %%dr6 %#lx lacks BS", dr6);
    hypercall2(__HYPERVISOR_set_debugreg, 6, 0);
    run_user(pvc_user_db_movss);
    dr6 = hypercall1(__HYPERVISOR_get_debugreg, 6);
    check(got.vec == 1 && got.rip == (uint64_t)pvc_user_db_after_nop &&
          got.cs == FLAT_USER_CS, "user mov %%ss + TF: vector %#x at %#lx cs %#lx, "
          "want #DB at %p", got.vec, got.rip, got.cs, pvc_user_db_after_nop);
    check(dr6 & (1L << 14), "user mov %%ss + TF: %%dr6 %#lx lacks BS", dr6);
    hypercall2(__HYPERVISOR_set_debugreg, 6, 0);
    printk("#DB after mov %%ss: done\n");
}

/* ---------------------------------------------------------------- int $n --- */

static const char *user_int(unsigned int n)
{
    return pvc_user_int + 4 * n;
}

static void test_softint(void)
{
    static uint8_t dpl[256];
    static const unsigned int dpl0[] = { 0x21, 0x90, 0xc5, 0xfe };
    unsigned int n;

    /* Every vector 0x20..0xff through a DPL-3 gate. */
    for (n = 0x20; n < 0x100; n++) {
        run_user(user_int(n));
        check_or_ref_diff(got.vec == n && got.rip == (uint64_t)user_int(n) + 2 &&
                          got.cs == FLAT_USER_CS, "user int", n);
    }
    printk("int $n: user mode, DPL 3, 0x20..0xff done\n");

    /* 66 CD 81: the same #GP; delivered as 0x81 with the return after
     * all 3 bytes (Xen's rip += 2 would land inside it: written down in
     * pv/traps.c softint_vector). */
    run_user(pvc_user_int66);
    if (is_minishim)
        check(got.vec == 0x81 && got.rip == (uint64_t)pvc_user_int66 + 3,
              "user 66 CD 81: vector %#x rip %#lx, want 0x81 after the instruction",
              got.vec, got.rip);
    printk("int $n with a 66 prefix: vector %#x rip +%ld\n", got.vec,
           (long)(got.rip - (uint64_t)pvc_user_int66));

    /* Through a DPL-0 gate: #GP(n << 3 | 2) on the instruction. */
    memset(dpl, 0xff, sizeof(dpl));
    for (size_t i = 0; i < ARRAY_SIZE(dpl0); i++)
        dpl[dpl0[i]] = 0;
    install_traps(0x20, dpl);
    for (size_t i = 0; i < ARRAY_SIZE(dpl0); i++) {
        n = dpl0[i];
        run_user(user_int(n));
        check_or_ref_diff(got.vec == 13 && got.ec == ((n << 3) | 2) &&
                          got.rip == (uint64_t)user_int(n), "user int via DPL-0 gate", n);
    }

    /* Guest kernel: DPL 0 is #GP, DPL 1 delivers (permit_softint). */
    dpl[0x90] = 0;
    dpl[0x91] = 1;
    install_traps(0x20, dpl);
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0) {
        pvc_kernel_int90();
        check(false, "kernel int $0x90 (DPL 0) returned");
    } else {
        check_or_ref_diff(got.vec == 13 && got.ec == ((0x90 << 3) | 2),
                          "kernel int via DPL-0 gate", 0x90);
    }
    memset(&got, 0, sizeof(got));
    got.vec = ~0u;
    if (guest_setjmp(&kctx) == 0) {
        pvc_kernel_int91();
        check(false, "kernel int $0x91 (DPL 1) returned");
    } else {
        check_or_ref_diff(got.vec == 0x91 && got.cs == (FLAT_KERNEL_CS & ~3u),
                          "kernel int via DPL-1 gate", 0x91);
    }
    install_traps(0x20, NULL);
    printk("int $n: done, %u known reference differences\n", ref_diffs);
}

/* -------------------------------------------- VCPUOP_initialise, new L4 --- */

static uint8_t new_l4[4096] __attribute__((aligned(4096)));

static unsigned long mfn_of(const void *va)
{
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;

    return p2m[((unsigned long)va - KBASE) >> PAGE_SHIFT];
}

/* vCPU 1: 1 = "cli" was emulated (virtual IOPL 1 from the context's
 * EFLAGS), 2 = it was #GP. */
static volatile int vcpu1_state;

static void __noreturn vcpu1_idle(void)
{
    for (;;)
        hypercall_sched_op(SCHEDOP_block, NULL);
}

static void __noreturn vcpu1_main(void)
{
    asm volatile("cli" ::: "memory");
    vcpu1_state = 1;
    vcpu1_idle();
}

static void __noreturn vcpu1_gp(void)
{
    vcpu1_state = 2;
    vcpu1_idle();
}

/*
 * Xen arch_set_info_guest() takes a root page-table type reference on
 * ctrlreg[3], validating an L4 nobody pinned (Linux's cpu_bringup page
 * tables are pinned, other kernels' need not be). The L4 is a copy of
 * the running one (the hypervisor's slots included, which validation
 * skips), mapped read-only first. Needs a second vCPU.
 */
static void test_initialise_unpinned_l4(void)
{
    static uint8_t stack[4096] __attribute__((aligned(16)));
    struct vcpu_guest_context ctx;
    unsigned long mfn = mfn_of(new_l4);
    long rc;

    rc = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (rc < 0) {
        printk("VCPUOP_initialise with an unpinned L4: not run, no vCPU 1 (%ld)\n", rc);
        return;
    }
    memcpy(new_l4, (const void *)start_info->pt_base, sizeof(new_l4));
    /* Read-only: present, user (a PV kernel's pages are), accessed. */
    rc = hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)new_l4,
                    (mfn << PAGE_SHIFT) | 0x25, UVMF_INVLPG | UVMF_LOCAL);
    check(rc == 0, "new L4 read-only: update_va_mapping = %ld", rc);
    guest_vcpu_ctx(&ctx, (unsigned long)vcpu1_main, (unsigned long)(stack + sizeof(stack)),
                   0, mfn);
    /* Xen arch_set_info_guest(): EFLAGS.IOPL is the virtual IOPL. */
    ctx.user_regs.rflags |= 1UL << 12;
    ctx.trap_ctxt[13] = (struct trap_info){ 13, 0, FLAT_KERNEL_CS, (unsigned long)vcpu1_gp };
    rc = hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx);
    check(rc == 0, "VCPUOP_initialise with an unpinned, valid L4 = %ld, want 0", rc);
    printk("VCPUOP_initialise with an unpinned L4: %ld\n", rc);
    if (rc)
        return;
    rc = hypercall_vcpu_op(VCPUOP_up, 1, NULL);
    check(rc == 0, "VCPUOP_up(1) = %ld", rc);
    for (unsigned long i = 0; i < 20000000UL && !vcpu1_state; i++)
        asm volatile("pause");
    check(vcpu1_state == 1, "vCPU 1 (IOPL 1 in its context): cli %s",
          vcpu1_state == 2 ? "was #GP" : "never ran");
    printk("vCPU 1 on the new L4: state %d\n", vcpu1_state);
}

/*
 * VCPUOP_initialise without VGCF_in_kernel (Xen arch_set_info_guest):
 * the vCPU starts in guest user mode on the user L4 of ctrlreg[1]; with
 * ctrlreg[1] 0 that is -EINVAL. Proof of user mode: its `syscall` enters
 * the syscall callback of its context (a hypercall from guest user mode
 * would be that same syscall), whose kernel-mode code then makes a real
 * hypercall. Needs a third vCPU.
 */
static volatile long vcpu2_state, vcpu2_version;

static void __noreturn vcpu2_user(void)
{
    vcpu2_state = 1;
    asm volatile("syscall" ::: "rcx", "r11", "memory");
    vcpu2_state = -1;                       /* returned to user: wrong */
    for (;;)
        asm volatile("pause");
}

static void __noreturn vcpu2_syscall(void)
{
    vcpu2_version = hypercall_xen_version(XENVER_version, NULL);
    vcpu2_state = 2;
    for (;;)
        asm volatile("pause");
}

static void test_initialise_user_mode(void)
{
    static uint8_t ustack[4096] __attribute__((aligned(16)));
    static uint8_t kstack2[4096] __attribute__((aligned(16)));
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;
    unsigned long l4 = p2m[(start_info->pt_base - KBASE) >> PAGE_SHIFT];
    struct vcpu_guest_context ctx;
    long rc;

    rc = hypercall_vcpu_op(VCPUOP_is_up, 2, NULL);
    if (rc < 0) {
        printk("VCPUOP_initialise in user mode: not run, no vCPU 2 (%ld)\n", rc);
        return;
    }
    guest_vcpu_ctx(&ctx, (unsigned long)vcpu2_user, (unsigned long)(ustack + sizeof(ustack)),
                   0, l4);
    ctx.flags = 0;                          /* not VGCF_in_kernel */
    ctx.user_regs.cs = FLAT_USER_CS;
    ctx.user_regs.ss = FLAT_USER_SS;
    ctx.kernel_sp = (unsigned long)(kstack2 + sizeof(kstack2));
    ctx.syscall_callback_eip = (unsigned long)vcpu2_syscall;
    rc = hypercall_vcpu_op(VCPUOP_initialise, 2, &ctx);
    check(rc == -XEN_EINVAL, "VCPUOP_initialise in user mode without ctrlreg[1] = %ld, "
          "want -EINVAL", rc);
    ctx.ctrlreg[1] = xen_pfn_to_cr3(l4);
    rc = hypercall_vcpu_op(VCPUOP_initialise, 2, &ctx);
    check(rc == 0, "VCPUOP_initialise in user mode (ctrlreg[1] set) = %ld, want 0", rc);
    printk("VCPUOP_initialise in user mode: %ld\n", rc);
    if (rc)
        return;
    rc = hypercall_vcpu_op(VCPUOP_up, 2, NULL);
    check(rc == 0, "VCPUOP_up(2) = %ld", rc);
    for (unsigned long i = 0; i < 20000000UL && vcpu2_state != 2 && vcpu2_state >= 0; i++)
        asm volatile("pause");
    check(vcpu2_state == 2 && vcpu2_version > 0,
          "vCPU 2 started in user mode: state %ld (1: ran, no syscall callback; 2: "
          "syscall callback reached), xen_version from its kernel mode %#lx",
          vcpu2_state, vcpu2_version);
    printk("vCPU 2 from user mode: state %ld\n", vcpu2_state);
}

/* ------------------------------------- legacy hypercalls, watchdogs --- */

/*
 * What Xen 4.17 gives a 64-bit PV domU for the legacy hypercalls and the
 * numbers a shim does not serve (docs/fuzzing.md has the table), and
 * SCHEDOP_watchdog (domain_watchdog(): 2 slots, -EINVAL / -ENOSPC). A
 * watchdog armed for 2 s, re-armed after 1 s and destroyed after 2.5 s
 * (past its first deadline) must never fire: the guest then waits past
 * the second one too. With "watchdog-fire" on the command line the guest
 * arms one for 1 s and waits for it: the run must end with the watchdog
 * shutdown reason, never with RESULT.
 */
static struct shared_info *pvc_shinfo;

static uint64_t now_ns(void)
{
    return guest_system_time_ns(&pvc_shinfo->vcpu_info[0].time);
}

static void wait_ns(uint64_t ns)
{
    uint64_t end = now_ns() + ns;

    while (now_ns() < end)
        hypercall_sched_op(SCHEDOP_yield, NULL);
}

static long watchdog(uint32_t id, uint32_t timeout)
{
    struct sched_watchdog wd = { .id = id, .timeout = timeout };

    return hypercall_sched_op(SCHEDOP_watchdog, &wd);
}

#define BAD_VA 0xffff800000001000UL     /* the hypervisor's: -EFAULT */

static void test_legacy_hypercalls(void)
{
    static const unsigned int enosys[] = { 7, 11, 27, 31, 34, 36, 37, 38, 39,
                                           41, 42, 49, 56, 63 };
    struct evtchn_op eop;
    struct physdev_op pop;
    struct xennmi_callback cb;
    evtchn_port_t port;
    long rc;

    rc = hypercall2(__HYPERVISOR_sched_op_compat, SCHEDOP_yield, 0);
    check(rc == 0, "sched_op_compat yield = %ld", rc);
    rc = hypercall2(__HYPERVISOR_sched_op_compat, SCHEDOP_shutdown_code, 0);
    check(rc == -XEN_ENOSYS, "sched_op_compat shutdown_code = %ld, want -ENOSYS", rc);

    memset(&eop, 0, sizeof(eop));
    eop.cmd = EVTCHNOP_bind_ipi;
    eop.u.bind_ipi.vcpu = 0;
    rc = hypercall1(__HYPERVISOR_event_channel_op_compat, &eop);
    port = eop.u.bind_ipi.port;
    check(rc == 0 && port != 0, "event_channel_op_compat bind_ipi = %ld, port %u", rc, port);
    memset(&eop.u, 0, sizeof(eop.u));
    eop.cmd = EVTCHNOP_status;
    eop.u.status.dom = DOMID_SELF;
    eop.u.status.port = port;
    rc = hypercall1(__HYPERVISOR_event_channel_op_compat, &eop);
    check(rc == 0 && eop.u.status.status == EVTCHNSTAT_ipi,
          "event_channel_op_compat status = %ld, status %u", rc, eop.u.status.status);
    eop.cmd = EVTCHNOP_close;
    eop.u.close.port = port;
    rc = hypercall1(__HYPERVISOR_event_channel_op_compat, &eop);
    check(rc == 0, "event_channel_op_compat close = %ld", rc);
    eop.cmd = EVTCHNOP_init_control;
    rc = hypercall1(__HYPERVISOR_event_channel_op_compat, &eop);
    check(rc == -XEN_ENOSYS, "event_channel_op_compat init_control = %ld, want -ENOSYS", rc);
    rc = hypercall1(__HYPERVISOR_event_channel_op_compat, BAD_VA);
    check(rc == -XEN_EFAULT, "event_channel_op_compat at a bad address = %ld", rc);

    memset(&pop, 0, sizeof(pop));
    pop.cmd = PHYSDEVOP_set_iopl;
    pop.u.set_iopl.iopl = 4;
    rc = hypercall1(__HYPERVISOR_physdev_op_compat, &pop);
    check(rc == -XEN_EINVAL, "physdev_op_compat set_iopl 4 = %ld, want -EINVAL", rc);
    pop.u.set_iopl.iopl = 1;
    rc = hypercall1(__HYPERVISOR_physdev_op_compat, &pop);
    check(rc == 0, "physdev_op_compat set_iopl 1 = %ld", rc);
    pop.cmd = 1000;
    rc = hypercall1(__HYPERVISOR_physdev_op_compat, &pop);
    check(rc == -XEN_ENOSYS, "physdev_op_compat cmd 1000 = %ld, want -ENOSYS", rc);
    rc = hypercall1(__HYPERVISOR_physdev_op_compat, BAD_VA);
    check(rc == -XEN_EFAULT, "physdev_op_compat at a bad address = %ld", rc);

    memset(&cb, 0, sizeof(cb));
    cb.handler_address = 0x0000800000000000UL;
    rc = hypercall2(__HYPERVISOR_nmi_op, XENNMI_register_callback, &cb);
    check(rc == -XEN_EINVAL, "nmi_op register non-canonical = %ld, want -EINVAL", rc);
    cb.handler_address = pvc_trap_table[2];
    rc = hypercall2(__HYPERVISOR_nmi_op, XENNMI_register_callback, &cb);
    check(rc == 0, "nmi_op register = %ld", rc);
    rc = hypercall2(__HYPERVISOR_nmi_op, XENNMI_register_callback, BAD_VA);
    check(rc == -XEN_EFAULT, "nmi_op register at a bad address = %ld", rc);
    rc = hypercall2(__HYPERVISOR_nmi_op, XENNMI_unregister_callback, 0);
    check(rc == 0, "nmi_op unregister = %ld", rc);
    rc = hypercall2(__HYPERVISOR_nmi_op, 2, 0);
    check(rc == -XEN_ENOSYS, "nmi_op 2 = %ld, want -ENOSYS", rc);

    for (unsigned int i = 0; i < sizeof(enosys) / sizeof(enosys[0]); i++) {
        rc = hypercall2(enosys[i], 0, BAD_VA);
        check(rc == -XEN_ENOSYS, "hypercall %u = %ld, want -ENOSYS", enosys[i], rc);
    }
    rc = hypercall2(__HYPERVISOR_xenpmu_op, 0, BAD_VA);
    check(rc == -XEN_EOPNOTSUPP, "xenpmu_op = %ld, want -EOPNOTSUPP (vPMU off)", rc);
    rc = hypercall1(__HYPERVISOR_arch_0, BAD_VA);
    check(rc == -XEN_EPERM, "mca = %ld, want -EPERM", rc);
    /* memory_op XENMEM_machine_memory_map: XSM_PRIV, checked before
     * the argument is read (arch_memory_op). */
    {
        static uint8_t e820[64];
        struct xen_memory_map map = { .nr_entries = 2 };

        set_xen_guest_handle(map.buffer, e820);
        rc = hypercall2(__HYPERVISOR_memory_op, XENMEM_machine_memory_map, &map);
        check(rc == -XEN_EPERM, "memory_op machine_memory_map = %ld, want -EPERM", rc);
        rc = hypercall2(__HYPERVISOR_memory_op, XENMEM_machine_memory_map, BAD_VA);
        check(rc == -XEN_EPERM, "memory_op machine_memory_map at a bad address = %ld, "
              "want -EPERM", rc);
    }
    printk("legacy hypercalls: done\n");
}

/*
 * memory_op and physdev_op sub-ops as Xen 4.17 answers a 64-bit PV domU
 * behind a shim (xen/common/memory.c do_memory_op, xen/arch/x86/mm.c
 * arch_memory_op, xen/arch/x86/physdev.c do_physdev_op; the shim's
 * guest has max_pages = tot_pages, no PIRQs bound, no PCI devices).
 * Each result is printed so the reference's answers can be read off.
 */
#define NO_DOMID 0x7fefu                /* an id no domain has here */
/* Sub-ops the public header gives the toolstack only. */
#define XENMEM_claim_pages 24
#define XENMEM_reserved_device_memory_map 27
#define MEMOP(op, ext) ((unsigned long)(op) | ((unsigned long)(ext) << 6))

static void expect_rc(long rc, long want, const char *what)
{
    printk("subop %s = %ld\n", what, rc);
    check(rc == want, "%s = %ld, want %ld", what, rc, want);
}

static long memop_u(unsigned long cmd, unsigned long arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}
#define memop(cmd, arg) memop_u((cmd), (unsigned long)(arg))

static long physop_u(int cmd, unsigned long arg)
{
    return hypercall2(__HYPERVISOR_physdev_op, cmd, arg);
}
#define physop(cmd, arg) physop_u((cmd), (unsigned long)(arg))

static void test_memory_op_subops(void)
{
    static xen_pfn_t extents[4];
    static uint8_t e820[20 * 8];
    struct xen_memory_reservation res;
    struct xen_memory_exchange exch;
    struct xen_add_to_physmap xatp;
    struct xen_add_to_physmap_batch xatpb;
    struct xen_remove_from_physmap xrfp;
    struct xen_pod_target pod;
    struct xen_vnuma_topology_info topo;
    struct xen_mem_acquire_resource xmar;
    /* xen_reserved_device_memory_map (tools-only in the public header):
     * flags, nr_entries, buffer, dev. */
    struct { uint32_t flags, nr_entries; uint64_t buffer, dev; } rdm;
    struct xen_foreign_memory_map fmap;
    struct xen_memory_map map;
    domid_t dom;
    long rc;

    /* The reservation ops answer the extents done: the guest is at its
     * maximum (pv-shim: max_pages = tot_pages), a frame not the guest's
     * ends a decrease. */
    memset(&res, 0, sizeof(res));
    extents[0] = start_info->nr_pages + 16;
    set_xen_guest_handle(res.extent_start, extents);
    res.nr_extents = 1;
    res.domid = DOMID_SELF;
    expect_rc(memop(XENMEM_increase_reservation, &res), 0, "increase_reservation");
    expect_rc(memop(XENMEM_populate_physmap, &res), 0, "populate_physmap");
    extents[0] = 0xfffffffffUL;
    expect_rc(memop(XENMEM_decrease_reservation, &res), 0,
              "decrease_reservation of no frame");
    expect_rc(memop(MEMOP(XENMEM_increase_reservation, 5), &res), 5,
              "increase_reservation from extent 5 of 1");
    expect_rc(memop(MEMOP(XENMEM_decrease_reservation, 3), BAD_VA), 3,
              "decrease_reservation at a bad address from extent 3");

    dom = DOMID_SELF;
    rc = memop(XENMEM_maximum_ram_page, NULL);
    printk("subop maximum_ram_page = %ld\n", rc);
    check(rc > (long)start_info->nr_pages, "maximum_ram_page = %ld", rc);
    expect_rc(memop(MEMOP(XENMEM_maximum_ram_page, 1), NULL), -XEN_EINVAL,
              "maximum_ram_page extent 1");
    expect_rc(memop(MEMOP(XENMEM_current_reservation, 1), &dom), -XEN_EINVAL,
              "current_reservation extent 1");
    expect_rc(memop(XENMEM_current_reservation, &dom), (long)start_info->nr_pages,
              "current_reservation");
    pvc_shinfo->arch.max_pfn = 1234;
    expect_rc(memop(XENMEM_maximum_gpfn, &dom), 1233, "maximum_gpfn (max_pfn 1234)");
    pvc_shinfo->arch.max_pfn = 0;
    expect_rc(memop(XENMEM_maximum_gpfn, &dom), 0, "maximum_gpfn (max_pfn 0)");
    dom = NO_DOMID;
    expect_rc(memop(XENMEM_maximum_gpfn, &dom), -XEN_ESRCH, "maximum_gpfn other domain");

    memset(&xatp, 0, sizeof(xatp));
    xatp.domid = DOMID_SELF;
    xatp.space = XENMAPSPACE_gmfn;
    expect_rc(memop(MEMOP(XENMEM_add_to_physmap, 0x10000), &xatp), -XEN_EDOM,
              "add_to_physmap extent 0x10000");
    expect_rc(memop(XENMEM_add_to_physmap, BAD_VA), -XEN_EFAULT,
              "add_to_physmap at a bad address");
    xatp.space = XENMAPSPACE_gmfn_foreign;
    expect_rc(memop(XENMEM_add_to_physmap, &xatp), -XEN_ENOSYS,
              "add_to_physmap gmfn_foreign");
    xatp.space = XENMAPSPACE_gmfn;
    xatp.domid = NO_DOMID;
    expect_rc(memop(XENMEM_add_to_physmap, &xatp), -XEN_ESRCH,
              "add_to_physmap other domain");
    xatp.domid = DOMID_SELF;
    expect_rc(memop(XENMEM_add_to_physmap, &xatp), -XEN_EACCES,
              "add_to_physmap (PV: not translated)");
    memset(&xatpb, 0, sizeof(xatpb));
    xatpb.domid = DOMID_SELF;
    xatpb.space = XENMAPSPACE_gmfn_range;
    expect_rc(memop(XENMEM_add_to_physmap_batch, BAD_VA), -XEN_EFAULT,
              "add_to_physmap_batch at a bad address");
    expect_rc(memop(XENMEM_add_to_physmap_batch, &xatpb), -XEN_EOPNOTSUPP,
              "add_to_physmap_batch gmfn_range");
    xatpb.space = XENMAPSPACE_gmfn;
    expect_rc(memop(XENMEM_add_to_physmap_batch, &xatpb), -XEN_EACCES,
              "add_to_physmap_batch (PV)");

    memset(&xrfp, 0, sizeof(xrfp));
    xrfp.domid = DOMID_SELF;
    xrfp.gpfn = 0xfffffffffUL;
    expect_rc(memop(XENMEM_remove_from_physmap, &xrfp), -XEN_EACCES,
              "remove_from_physmap (PV: not translated)");
    expect_rc(memop(MEMOP(XENMEM_remove_from_physmap, 1), &xrfp), -XEN_EINVAL,
              "remove_from_physmap extent 1");

    memset(&exch, 0, sizeof(exch));
    exch.in.domid = exch.out.domid = DOMID_SELF;
    exch.in.nr_extents = exch.out.nr_extents = 1;
    exch.in.extent_order = 10;
    exch.out.extent_order = 10;
    expect_rc(memop(XENMEM_exchange, &exch), -XEN_EPERM, "exchange order 10");
    exch.in.extent_order = 0;
    exch.out.extent_order = 1;
    expect_rc(memop(XENMEM_exchange, &exch), -XEN_EINVAL, "exchange sizes differ");
    expect_rc(memop(MEMOP(XENMEM_exchange, 1), &exch), -XEN_EINVAL, "exchange extent 1");
    expect_rc(memop(XENMEM_exchange, BAD_VA), -XEN_EFAULT, "exchange at a bad address");

    memset(&pod, 0, sizeof(pod));
    pod.domid = DOMID_SELF;
    /* PoD is HVM code, not built into a pv-shim. */
    expect_rc(memop(XENMEM_set_pod_target, &pod), -XEN_ENOSYS, "set_pod_target");
    expect_rc(memop(XENMEM_get_pod_target, &pod), -XEN_ENOSYS, "get_pod_target");

    memset(&res, 0, sizeof(res));
    res.domid = DOMID_SELF;
    expect_rc(memop(XENMEM_claim_pages, &res), -XEN_EINVAL, "claim_pages DOMID_SELF");
    res.extent_order = 1;
    expect_rc(memop(XENMEM_claim_pages, &res), -XEN_EINVAL, "claim_pages order 1");

    memset(&topo, 0, sizeof(topo));
    topo.domid = DOMID_SELF;
    topo.pad = 1;
    expect_rc(memop(XENMEM_get_vnumainfo, &topo), -XEN_EINVAL, "get_vnumainfo pad");
    topo.pad = 0;
    expect_rc(memop(XENMEM_get_vnumainfo, &topo), -XEN_EOPNOTSUPP,
              "get_vnumainfo (no vNUMA)");

    memset(&xmar, 0, sizeof(xmar));
    xmar.domid = DOMID_SELF;
    xmar.pad = 1;
    expect_rc(memop(XENMEM_acquire_resource, &xmar), -XEN_EINVAL,
              "acquire_resource pad");
    xmar.pad = 0;
    expect_rc(memop(XENMEM_acquire_resource, &xmar), -XEN_ESRCH,
              "acquire_resource DOMID_SELF");

    memset(&rdm, 0, sizeof(rdm));
    rdm.flags = 2;
    expect_rc(memop(XENMEM_reserved_device_memory_map, &rdm), -XEN_EINVAL,
              "reserved_device_memory_map flags 2");

    /* The memory map: the shim's guest starts without one (-ENOSYS,
     * the kernel assumes its nr_pages of RAM); a map set by the domain
     * itself (XSM_TARGET) is then what memory_map returns, at most
     * nr_entries of it. */
    memset(&map, 0, sizeof(map));
    set_xen_guest_handle(map.buffer, e820);
    map.nr_entries = 8;
    expect_rc(memop(XENMEM_memory_map, &map), -XEN_ENOSYS, "memory_map before any set");
    memset(&fmap, 0, sizeof(fmap));
    fmap.domid = DOMID_SELF;
    fmap.map.nr_entries = 1025;
    expect_rc(memop(XENMEM_set_memory_map, &fmap), -XEN_EINVAL,
              "set_memory_map 1025 entries");
    fmap.map.nr_entries = 1;
    fmap.domid = NO_DOMID;
    expect_rc(memop(XENMEM_set_memory_map, &fmap), -XEN_ESRCH,
              "set_memory_map other domain");
    expect_rc(memop(XENMEM_set_memory_map, BAD_VA), -XEN_EFAULT,
              "set_memory_map at a bad address");
    {
        static uint64_t mine[5];
        /* Two packed e820 entries (addr, size, type): RAM 0..0x9f000,
         * RAM from 1 MiB, 16 MiB. */
        uint8_t *b = (uint8_t *)mine;
        uint64_t a2 = 0x100000, s2 = 0x1000000;
        uint32_t t = 1;

        memcpy(b, &(uint64_t){ 0 }, 8);
        memcpy(b + 8, &(uint64_t){ 0x9f000 }, 8);
        memcpy(b + 16, &t, 4);
        memcpy(b + 20, &a2, 8);
        memcpy(b + 28, &s2, 8);
        memcpy(b + 36, &t, 4);
        fmap.domid = DOMID_SELF;
        fmap.map.nr_entries = 2;
        set_xen_guest_handle(fmap.map.buffer, mine);
        expect_rc(memop(XENMEM_set_memory_map, &fmap), 0, "set_memory_map 2 entries");
        memset(e820, 0xee, sizeof(e820));
        map.nr_entries = 8;
        expect_rc(memop(XENMEM_memory_map, &map), 0, "memory_map after set");
        check(map.nr_entries == 2 && memcmp(e820, mine, 40) == 0,
              "memory_map after set: %u entries, not the map set", map.nr_entries);
        map.nr_entries = 1;
        expect_rc(memop(XENMEM_memory_map, &map), 0, "memory_map 1 of 2");
        check(map.nr_entries == 1, "memory_map 1 of 2 gave %u", map.nr_entries);
        map.nr_entries = 0;
        expect_rc(memop(XENMEM_memory_map, &map), 0, "memory_map 0 of 2");
        check(map.nr_entries == 0, "memory_map 0 of 2 gave %u", map.nr_entries);
    }

    {
        static xen_pfn_t chunks[4];
        struct xen_machphys_mfn_list l = { .max_extents = 4 };

        set_xen_guest_handle(l.extent_start, chunks);
        expect_rc(memop(XENMEM_machphys_mfn_list, &l), 0, "machphys_mfn_list");
        printk("subop machphys_mfn_list: %u extents, first %#lx\n", l.nr_extents,
               (unsigned long)chunks[0]);
        check(l.nr_extents >= 1 && chunks[0] != 0, "machphys_mfn_list gave %u extents",
              l.nr_extents);
        expect_rc(memop(XENMEM_machphys_mfn_list, BAD_VA), -XEN_EFAULT,
                  "machphys_mfn_list at a bad address");
        l.max_extents = 0;
        expect_rc(memop(XENMEM_machphys_mfn_list, &l), 0, "machphys_mfn_list of 0");
        check(l.nr_extents == 0, "machphys_mfn_list of 0 gave %u", l.nr_extents);
        l.max_extents = 4;
        /* Xen without 32-bit PV (opt_pv32 off, as minishim): -EOPNOTSUPP;
         * Debian's xen-shim has pv32 and lists its compat M2P. */
        rc = memop(XENMEM_machphys_compat_mfn_list, &l);
        printk("subop machphys_compat_mfn_list = %ld (%u extents)\n", rc, l.nr_extents);
        if (is_minishim)
            check(rc == -XEN_EOPNOTSUPP, "machphys_compat_mfn_list = %ld, want -EOPNOTSUPP", rc);
        else if (rc != -XEN_EOPNOTSUPP)
            printk("KNOWN-REFERENCE-DIFFERENCE: machphys_compat_mfn_list = %ld "
                   "(a Xen with 32-bit PV)\n", rc);
    }
    expect_rc(memop(8, BAD_VA), -XEN_ENOSYS, "memory_op 8 (translate_gpfn_list)");
    /* get_sharing_{freed,shared}_pages: 0 without CONFIG_MEM_SHARING;
     * paging, access and sharing ops not built. */
    expect_rc(memop(18, BAD_VA), 0, "get_sharing_freed_pages");
    expect_rc(memop(19, BAD_VA), 0, "get_sharing_shared_pages");
    expect_rc(memop(MEMOP(18, 1), BAD_VA), -XEN_ENOSYS, "get_sharing_freed_pages extent 1");
    for (unsigned int op = 20; op <= 22; op++)
        expect_rc(memop(op, BAD_VA), -XEN_ENOSYS, "memory_op 20..22 (not built)");
    expect_rc(memop(29, BAD_VA), -XEN_ENOSYS, "memory_op 29");
    expect_rc(memop(63, BAD_VA), -XEN_ENOSYS, "memory_op 63");
    expect_rc(memop(MEMOP(XENMEM_machphys_mapping, 1), BAD_VA), -XEN_ENOSYS,
              "machphys_mapping extent 1");
    printk("memory_op sub-ops: done\n");
}

static void test_physdev_op_subops(void)
{
    static uint8_t eoi_page[4096] __attribute__((aligned(4096)));
    struct physdev_eoi eoi = { .irq = 0 };
    struct physdev_irq_status_query q;
    struct physdev_pirq_eoi_gmfn gm;
    struct physdev_apic apic;
    struct physdev_irq irq;
    struct physdev_map_pirq mp;
    struct physdev_unmap_pirq up;
    struct physdev_manage_pci mpci;
    struct physdev_manage_pci_ext mpext;
    struct physdev_restore_msi rmsi;
    struct physdev_setup_gsi gsi;
    struct physdev_get_free_pirq fp;
    struct physdev_dbgp_op dbgp;
    struct physdev_pci_mmcfg_reserved mmcfg;
    struct physdev_pci_device_add add;
    struct physdev_pci_device dev;
    long rc;

    expect_rc(physop(PHYSDEVOP_eoi, &eoi), -XEN_EINVAL, "eoi pirq 0 (none bound)");
    expect_rc(physop(PHYSDEVOP_eoi, BAD_VA), -XEN_EFAULT, "eoi at a bad address");

    memset(&q, 0, sizeof(q));
    rc = physop(PHYSDEVOP_irq_status_query, &q);
    expect_rc(rc, 0, "irq_status_query 0");
    check(q.flags == XENIRQSTAT_needs_eoi, "irq_status_query 0 flags %#x", q.flags);
    q.irq = 47;
    expect_rc(physop(PHYSDEVOP_irq_status_query, &q), 0, "irq_status_query 47");
    q.irq = 48;
    expect_rc(physop(PHYSDEVOP_irq_status_query, &q), -XEN_EINVAL,
              "irq_status_query 48 (nr_pirqs)");
    q.irq = ~0u;
    expect_rc(physop(PHYSDEVOP_irq_status_query, &q), -XEN_EINVAL,
              "irq_status_query -1");

    gm.gmfn = 0xfffffffffUL;
    expect_rc(physop(PHYSDEVOP_pirq_eoi_gmfn_v2, &gm), -XEN_EINVAL,
              "pirq_eoi_gmfn_v2 of no frame");
    gm.gmfn = guest_mfn_of(eoi_page);
    expect_rc(physop(PHYSDEVOP_pirq_eoi_gmfn_v2, &gm), 0, "pirq_eoi_gmfn_v2");
    expect_rc(physop(PHYSDEVOP_pirq_eoi_gmfn_v1, &gm), -XEN_EBUSY,
              "pirq_eoi_gmfn_v1 after v2");

    memset(&apic, 0, sizeof(apic));
    expect_rc(physop(PHYSDEVOP_apic_read, &apic), -XEN_EPERM, "apic_read");
    expect_rc(physop(PHYSDEVOP_apic_write, &apic), -XEN_EPERM, "apic_write");
    expect_rc(physop(PHYSDEVOP_apic_read, BAD_VA), -XEN_EFAULT, "apic_read at a bad address");
    memset(&irq, 0, sizeof(irq));
    expect_rc(physop(PHYSDEVOP_alloc_irq_vector, &irq), -XEN_EPERM, "alloc_irq_vector");
    expect_rc(physop(PHYSDEVOP_free_irq_vector, &irq), -XEN_ENOSYS, "free_irq_vector");

    memset(&mp, 0, sizeof(mp));
    mp.domid = DOMID_SELF;
    mp.type = MAP_PIRQ_TYPE_GSI;
    expect_rc(physop(PHYSDEVOP_map_pirq, &mp), -XEN_EPERM, "map_pirq self");
    mp.domid = NO_DOMID;
    expect_rc(physop(PHYSDEVOP_map_pirq, &mp), -XEN_ESRCH, "map_pirq other domain");
    mp.domid = DOMID_SELF;
    mp.type = MAP_PIRQ_TYPE_MULTI_MSI;
    mp.table_base = 1;
    expect_rc(physop(PHYSDEVOP_map_pirq, &mp), -XEN_EINVAL, "map_pirq multi-MSI table_base");
    memset(&up, 0, sizeof(up));
    up.domid = DOMID_SELF;
    expect_rc(physop(PHYSDEVOP_unmap_pirq, &up), -XEN_EPERM, "unmap_pirq self");
    up.domid = NO_DOMID;
    expect_rc(physop(PHYSDEVOP_unmap_pirq, &up), -XEN_ESRCH, "unmap_pirq other domain");

    memset(&mpci, 0, sizeof(mpci));
    expect_rc(physop(PHYSDEVOP_manage_pci_add, &mpci), -XEN_EPERM, "manage_pci_add");
    expect_rc(physop(PHYSDEVOP_manage_pci_remove, &mpci), -XEN_EPERM, "manage_pci_remove");
    memset(&mpext, 0, sizeof(mpext));
    mpext.is_extfn = 2;
    expect_rc(physop(PHYSDEVOP_manage_pci_add_ext, &mpext), -XEN_EINVAL,
              "manage_pci_add_ext is_extfn 2");
    mpext.is_extfn = 0;
    expect_rc(physop(PHYSDEVOP_manage_pci_add_ext, &mpext), -XEN_EPERM, "manage_pci_add_ext");
    memset(&rmsi, 0, sizeof(rmsi));
    expect_rc(physop(PHYSDEVOP_restore_msi, &rmsi), -XEN_ENODEV, "restore_msi");
    memset(&dev, 0, sizeof(dev));
    expect_rc(physop(PHYSDEVOP_restore_msi_ext, &dev), -XEN_ENODEV, "restore_msi_ext");
    expect_rc(physop(PHYSDEVOP_prepare_msix, &dev), -XEN_EPERM, "prepare_msix");
    expect_rc(physop(PHYSDEVOP_release_msix, &dev), -XEN_EPERM, "release_msix");
    expect_rc(physop(PHYSDEVOP_pci_device_remove, &dev), -XEN_EPERM, "pci_device_remove");
    memset(&add, 0, sizeof(add));
    expect_rc(physop(PHYSDEVOP_pci_device_add, &add), -XEN_EPERM, "pci_device_add");
    memset(&mmcfg, 0, sizeof(mmcfg));
    expect_rc(physop(PHYSDEVOP_pci_mmcfg_reserved, &mmcfg), -XEN_EPERM, "pci_mmcfg_reserved");
    memset(&dbgp, 0, sizeof(dbgp));
    expect_rc(physop(PHYSDEVOP_dbgp_op, &dbgp), -XEN_EPERM, "dbgp_op");

    memset(&gsi, 0, sizeof(gsi));
    expect_rc(physop(PHYSDEVOP_setup_gsi, &gsi), -XEN_EPERM, "setup_gsi 0");
    gsi.gsi = -1;
    expect_rc(physop(PHYSDEVOP_setup_gsi, &gsi), -XEN_EINVAL, "setup_gsi -1");
    gsi.gsi = 16;                       /* nr_irqs_gsi: no IO-APIC */
    expect_rc(physop(PHYSDEVOP_setup_gsi, &gsi), -XEN_EINVAL, "setup_gsi 16");
    gsi.gsi = 10000;
    expect_rc(physop(PHYSDEVOP_setup_gsi, &gsi), -XEN_EINVAL, "setup_gsi 10000");

    memset(&fp, 0, sizeof(fp));
    /* get_free_pirq: no GSI PIRQs (nr_irqs_gsi 16), so every type takes
     * the highest free one from nr_pirqs - 1 (47) down. */
    fp.type = MAP_PIRQ_TYPE_GSI;
    expect_rc(physop(PHYSDEVOP_get_free_pirq, &fp), 0, "get_free_pirq GSI");
    check(fp.pirq == 47, "get_free_pirq GSI gave pirq %d, want 47", fp.pirq);
    fp.type = MAP_PIRQ_TYPE_MSI;
    expect_rc(physop(PHYSDEVOP_get_free_pirq, &fp), 0, "get_free_pirq MSI");
    check(fp.pirq == 46, "get_free_pirq MSI gave pirq %d, want 46", fp.pirq);
    eoi.irq = 46;
    expect_rc(physop(PHYSDEVOP_eoi, &eoi), 0, "eoi of an allocated pirq");
    eoi.irq = 45;
    expect_rc(physop(PHYSDEVOP_eoi, &eoi), -XEN_EINVAL, "eoi of a free pirq");

    expect_rc(physop(PHYSDEVOP_IRQ_UNMASK_NOTIFY, NULL), 0, "IRQ_UNMASK_NOTIFY (legacy)");
    expect_rc(physop(18, BAD_VA), -XEN_ENOSYS, "physdev_op 18");
    expect_rc(physop(22, BAD_VA), -XEN_ENOSYS, "physdev_op 22");
    expect_rc(physop(32, BAD_VA), -XEN_ENOSYS, "physdev_op 32");
    printk("physdev_op sub-ops: done\n");
}

static void test_watchdog(void)
{
    long rc, id;

    rc = hypercall_sched_op(SCHEDOP_watchdog, (void *)BAD_VA);
    check(rc == -XEN_EFAULT, "watchdog at a bad address = %ld", rc);
    rc = watchdog(3, 10);
    check(rc == -XEN_EINVAL, "watchdog id 3 = %ld, want -EINVAL", rc);
    rc = watchdog(1, 10);
    check(rc == -XEN_EINVAL, "watchdog id 1 before any = %ld, want -EINVAL", rc);
    id = watchdog(0, 60);
    check(id == 1, "first watchdog = %ld, want id 1", id);
    rc = watchdog(0, 60);
    check(rc == 2, "second watchdog = %ld, want id 2", rc);
    /* Xen 4.17: "-ENOSPC : id + 1" with a uint32_t id is an unsigned
     * conditional: -ENOSPC in 32 bits, zero-extended (Linux's
     * int-returning HYPERVISOR_sched_op sees -ENOSPC). */
    rc = watchdog(0, 60);
    check(rc == (long)(uint32_t)-XEN_ENOSPC, "third watchdog = %ld, want "
          "-ENOSPC as 32 bits (%ld)", rc, (long)(uint32_t)-XEN_ENOSPC);
    rc = watchdog(2, 0);
    check(rc == 0, "destroy watchdog 2 = %ld", rc);
    rc = watchdog(2, 0);
    check(rc == -XEN_EINVAL, "destroy watchdog 2 again = %ld, want -EINVAL", rc);

    /* Re-armed and destroyed before it fires: the guest lives on. */
    rc = watchdog(1, 2);
    check(rc == 0, "re-arm watchdog 1 for 2 s = %ld", rc);
    wait_ns(1000000000UL);
    rc = watchdog(1, 2);
    check(rc == 0, "re-arm watchdog 1 again = %ld", rc);
    wait_ns(1500000000UL);          /* past the first deadline */
    rc = watchdog(1, 0);
    check(rc == 0, "destroy watchdog 1 = %ld", rc);
    wait_ns(2000000000UL);          /* past the second one */
    printk("watchdog: re-armed and destroyed, none fired\n");
}

static void __noreturn test_watchdog_fire(void)
{
    long id = watchdog(0, 1);

    printk("watchdog: armed id %ld for 1 s, waiting for it to fire\n", id);
    wait_ns(10000000000UL);
    check(false, "watchdog %ld did not fire within 10 s", id);
    for (;;)
        hypercall_sched_op(SCHEDOP_yield, NULL);
}

void test_main(void)
{
    xen_extraversion_t extra;

    pvc_shinfo = guest_map_shared_info();
    if (strstr((const char *)start_info->cmd_line, "watchdog-fire"))
        test_watchdog_fire();
    memset(extra, 0, sizeof(extra));
    hypercall_xen_version(XENVER_extraversion, extra);
    is_minishim = strcmp(extra, "-minishim") == 0;
    printk("hypervisor extraversion \"%s\"%s\n", extra,
           is_minishim ? "" : ": not minishim, TCG int $n differences are tolerated");

    guest_user_mode_init(kstack + sizeof(kstack));
    install_traps(0x20, NULL);

    test_callbacks();
    test_multicall_iret();
    test_msrs();
    test_xen_leaves();
    test_stack_fault();
    test_db_movss();
    test_softint();
    test_initialise_unpinned_l4();
    test_initialise_user_mode();
    test_legacy_hypercalls();
    test_memory_op_subops();
    test_physdev_op_subops();
    test_watchdog();
}
