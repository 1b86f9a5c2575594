/*
 * libFuzzer target for everything a running PV guest controls: every
 * hypercall through the real dispatcher (the SYSCALL path of
 * pv_guest_trap), and the trap/emulation paths (privileged instructions,
 * port I/O, mov to/from %cr/%dr, writable page tables, int $n, #PF
 * bounces), against a domain built by the real builder on the fake arch.
 *
 * The input is a program: byte 0 configures the domain (vCPUs,
 * vm_assist, IOPL, a preset trap table), then steps that poke bytes into
 * the guest's argument window, make hypercalls (arguments picked from
 * small numbers, window pointers, guest frames, initial-mapping and
 * page-table addresses, or raw 64-bit values), build multicall batches,
 * or raise a trap with up to 15 instruction bytes at %rip. Guest memory
 * the shim may read is only the window (fake_guest_window_*): any other
 * guest pointer faults as an unmapped one would.
 *
 * After every step the PV MMU invariants of fuzz_env.c are checked; a
 * guest crash or shutdown ends the input (a legitimate outcome), a vCPU
 * blocking in the shim ends it too (nothing would wake it).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <minishim/layout.h>
#include <minishim/percpu.h>
#include <minishim/pv.h>
#include <minishim/pv_traps.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include "../unit/fake/fake.h"
#include "fuzz_env.h"
#include "fuzz_input.h"

#define WIN_SIZE   0x10000u
#define WIN_CODE   0xff00u              /* instruction bytes of a trap     */
#define WIN_STACK  0xe000u              /* guest kernel stack top          */

static uint8_t win[WIN_SIZE] __attribute__((aligned(4096)));
static uint8_t image[0x3000];
static size_t image_size;
static jmp_buf out;
static bool verbose;                    /* FUZZ_VERBOSE=1: trace each entry */
static char err[256];

static uint64_t winva(uint32_t off) { return (uint64_t)(uintptr_t)win + off % WIN_SIZE; }

/* A hypercall argument or register value. */
static uint64_t arg(struct in *in)
{
    const struct start_info *si = pv_dom.start_info;

    switch (u8(in) % 12) {
    case 0: return u8(in);
    case 1: return winva(u16(in) & ~7u);
    case 2: return u64(in);
    case 3: return pv_dom.p2m ? pv_dom.p2m[u16(in) % FUZZ_NR_PAGES] : 0;  /* an mfn */
    case 4: return u16(in) % FUZZ_NR_PAGES;                               /* a pfn */
    case 5: return FUZZ_KBASE + ((uint64_t)u16(in) << 9);                 /* initial mapping */
    case 6: return si ? si->pt_base + ((uint64_t)(u8(in) % 8) << 12) + (u16(in) & 0xff8) : 0;
    case 7: return (uint32_t)u64(in);
    case 8: return winva(u16(in));
    case 9: {                           /* a page-table entry for a guest frame */
        uint8_t k = u8(in);
        uint64_t pfn = (k & 1) && si ? ((si->pt_base - FUZZ_KBASE) >> 12) + (k >> 1) % 8
                                     : u16(in);
        uint64_t m = pv_dom.p2m ? pv_dom.p2m[pfn % FUZZ_NR_PAGES] : 0;

        return m << 12 | (u8(in) & 0x7f) | ((uint64_t)(u8(in) & 0x81) << 56);
    }
    case 10: {                          /* mmu_update ptr into an initial table */
        uint64_t pfn = si ? ((si->pt_base - FUZZ_KBASE) >> 12) + u8(in) % 8 : 0;
        uint64_t m = pv_dom.p2m ? pv_dom.p2m[pfn % FUZZ_NR_PAGES] : 0;

        return m << 12 | (u16(in) % 512) * 8 | (u8(in) & 3);
    }
    default:
        switch (u8(in) % 4) {
        case 0: return DOMID_SELF;
        case 1: return ~0ULL;
        case 2: return 1ULL << 63;
        default: return HYPERVISOR_VIRT_START + u16(in);
        }
    }
}

static void poke64(struct in *in)
{
    uint32_t off = (u16(in) & ~7u) % WIN_SIZE;
    uint64_t v = arg(in);

    memcpy(win + off, &v, 8);
}

static void poke(struct in *in)
{
    uint32_t off = u16(in) % WIN_SIZE;
    unsigned int len = u8(in) % 64;

    for (unsigned int i = 0; i < len && off + i < WIN_SIZE; i++)
        win[off + i] = u8(in);
}

/* Enter the shim as vCPU 0 would: SYSCALL from guest kernel, or a trap. */
static void enter(struct cpu_regs *r)
{
    struct vcpu *v = pv_current();

    r->cs = v->kernel_mode ? FLAT_KERNEL_CS : FLAT_USER_CS;
    r->ss = v->kernel_mode ? FLAT_KERNEL_SS : FLAT_USER_SS;
    r->rflags |= EFLAGS_IF;
    arch_irq_save();                    /* trap entry: interrupts off */
    if (verbose)
        fprintf(stderr, "enter: vector %#lx ec %#lx rax %#lx rip %#lx\n",
                (unsigned long)r->vector, (unsigned long)r->error_code,
                (unsigned long)r->rax, (unsigned long)r->rip);
    pv_guest_trap(r);
    if (verbose)
        fprintf(stderr, "  -> rax %#lx rip %#lx\n", (unsigned long)r->rax, (unsigned long)r->rip);
}

static void hypercall(struct in *in)
{
    struct cpu_regs r = { 0 };
    uint8_t k = u8(in);

    r.vector = PV_VEC_SYSCALL;
    r.rax = k < 0xf0 ? k % 42 : arg(in);
    r.rdi = arg(in);
    r.rsi = arg(in);
    r.rdx = arg(in);
    r.r10 = arg(in);
    r.r8 = arg(in);
    r.r9 = arg(in);
    r.rip = winva(WIN_CODE);
    r.rsp = winva(WIN_STACK);
    enter(&r);
}

static void multicall(struct in *in)
{
    unsigned int n = u8(in) % 5;
    struct cpu_regs r = { 0 };

    for (unsigned int i = 0; i < n; i++) {
        struct multicall_entry e = { 0 };

        e.op = u8(in) % 42;
        for (unsigned int j = 0; j < 6; j++)
            e.args[j] = arg(in);
        memcpy(win + 0x8000 + i * sizeof(e), &e, sizeof(e));
    }
    r.vector = PV_VEC_SYSCALL;
    r.rax = __HYPERVISOR_multicall;
    r.rdi = (u8(in) & 1) ? arg(in) : winva(0x8000);
    r.rsi = (u8(in) & 1) ? arg(in) : n;
    r.rip = winva(WIN_CODE);
    r.rsp = winva(WIN_STACK);
    enter(&r);
}

static const uint8_t vectors[] = {
    X86_EXC_GP, X86_EXC_GP, X86_EXC_GP, X86_EXC_PF, X86_EXC_PF, X86_EXC_UD,
    X86_EXC_DB, X86_EXC_NM, X86_EXC_BP, X86_EXC_SS, X86_EXC_DE, X86_EXC_NMI,
    PV_VEC_INT80, X86_EXC_TS, X86_EXC_AC, X86_EXC_MF,
};

static void trap(struct in *in)
{
    struct cpu_regs r = { 0 };
    uint8_t k = u8(in);
    unsigned int len = u8(in) % 16;

    memset(win + WIN_CODE, 0x90, WIN_SIZE - WIN_CODE);
    for (unsigned int i = 0; i < len; i++)
        win[WIN_CODE + i] = u8(in);
    r.vector = vectors[k % sizeof(vectors)];
    switch ((k >> 4) % 4) {
    case 0: r.error_code = 0; break;
    case 1: r.error_code = u8(in); break;
    case 2: r.error_code = ((uint64_t)u8(in) << 3) | 2; break;   /* int $n */
    default: r.error_code = u16(in); break;
    }
    if (r.vector == X86_EXC_PF)
        fake_cr2 = arg(in);
    for (unsigned int i = 0; i < 16; i++)
        if (u8(in) & 1)
            *regs_gpr(&r, i) = arg(in);
    r.rip = (k & 0x40) ? winva(WIN_CODE) : arg(in);
    r.rsp = (k & 0x80) ? winva(WIN_STACK) : arg(in);
    r.rflags = EFLAGS_IF | ((uint64_t)(u8(in) & 3) << 12);
    enter(&r);
}

static void wfi_hook(void)
{
    longjmp(out, 3);                    /* a blocked vCPU: nothing wakes it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    static jmp_buf halt;
    volatile unsigned int steps = 0;
    uint8_t cfg;
    int rc;

    if (!image_size)
        image_size = fuzz_build_image(image, sizeof(image),
                                      "!writable_page_tables|pae_pgdir_above_4gb");
    verbose = getenv("FUZZ_VERBOSE");
    cfg = u8(&in);
    fuzz_machine_reset();
    nr_cpus_possible = 1 + (cfg & 1);
    memset(win, 0, sizeof(win));
    fake_guest_window_start = (uint64_t)(uintptr_t)win;
    fake_guest_window_end = fake_guest_window_start + WIN_SIZE;
    if (fuzz_build_domain(image, image_size, "fuzz", err, sizeof(err))) {
        fprintf(stderr, "build: %s\n", err);
        abort();
    }
    fuzz_check_invariants();
    if (cfg & 2)
        pv_dom.vm_assist |= 1UL << VMASST_TYPE_writable_pagetables;
    if (cfg & 4)
        pv_dom.vcpus[0].iopl = (cfg >> 3) & 3;
    if (cfg & 0x20) {
        /* A trap table: every vector to a handler in the window, so
         * bounces reach the guest instead of crashing it. */
        struct trap_info t[257] = { 0 };

        for (unsigned int v = 0; v < 256; v++)
            t[v] = (struct trap_info){ (uint8_t)v, (v == 3 || v == 4 || v == 0x80) ? 3 : 0,
                                       FLAT_KERNEL_CS, winva(0xf000 + v) };
        memcpy(win + 0x4000, t, sizeof(t));
        if (do_set_trap_table(winva(0x4000)))
            abort();
        pv_dom.vcpus[0].event_callback = winva(0xf100);
        pv_dom.vcpus[0].failsafe_callback = winva(0xf200);
        pv_dom.vcpus[0].kernel_sp = winva(WIN_STACK);
        pv_dom.vcpus[0].kernel_ss = FLAT_KERNEL_SS;
    }

    fake_halt_jmp = &halt;
    fake_wfi_hook = wfi_hook;
    rc = setjmp(out);
    if (!rc)
        rc = setjmp(halt);
    if (rc) {
        if (verbose)
            fprintf(stderr, "  -> %s\n", rc == 3 ? "blocked" : "halted (shutdown/crash)");
        /* Shutdown, crash or a blocked vCPU: the end of this guest. A
         * crash may stop a hypercall half way; the MMU is still checked
         * after a block (it happens between operations). */
        if (rc == 3)
            fuzz_check_invariants();
        goto done;
    }
    for (; in.n && steps < 48; steps++) {
        switch (u8(&in) % 9) {
        case 0: poke(&in); break;
        case 1: case 8: poke64(&in); break;
        case 2: case 3: case 4: hypercall(&in); break;
        case 5: multicall(&in); break;
        case 6: trap(&in); break;
        default:
            pv_current()->kernel_mode = !pv_current()->kernel_mode;
            break;
        }
        fuzz_check_invariants();
    }
done:
    fake_halt_jmp = NULL;
    fake_wfi_hook = NULL;
    fake_guest_window_start = fake_guest_window_end = 0;
    return 0;
}
