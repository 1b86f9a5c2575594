/*
 * smp - guest vCPUs beyond the first (Xen's VCPUOP_* ABI, xen/public/vcpu.h;
 * errnos of Xen 4.17 xen/common/domain.c do_vcpu_op and
 * xen/arch/x86/domain.c arch_set_info_guest). Needs 2 vCPUs (shim: -smp 2
 * or more; bed: vcpus=2). vCPU 0 checks the bad-argument cases, then
 * initialises vCPU 1 on its own stack and entry point, brings it up, waits
 * for it to set a flag and take itself down, and does that again: a vCPU
 * brought up again resumes after its VCPUOP_down, which returned 0.
 *
 * Then the cross-vCPU TLB check: vCPU 1 keeps reading one
 * virtual page while vCPU 0 remaps it between two frames with
 * update_va_mapping and a flush of all vCPUs (UVMF_ALL, or a vCPU mask);
 * once vCPU 0's hypercall has returned, vCPU 1 must never read the old
 * frame through that address again (xen/include/public/xen.h UVMF_*).
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/vcpu.h>

#define SPIN_LIMIT 200000000UL

static struct vcpu_guest_context ctx;
#define MAX_VCPUS 4                             /* vCPUs this guest drives */
static uint8_t ap_stack[MAX_VCPUS][4 * PAGE_SIZE] __attribute__((aligned(16)));
static volatile unsigned long other_round[MAX_VCPUS];
static volatile unsigned long ap_round;         /* written by vCPU 1 */
static volatile long ap_down_rc = -1;
static volatile int ap_mode;                    /* 1: TLB reader */

/* The remapped page: its own frame holds TLB_A, tlb_b's frame TLB_B. */
#define TLB_A 0xaaaaaaaaaaaaaaaaUL
#define TLB_B 0xbbbbbbbbbbbbbbbbUL
#define TLB_ROUNDS 300UL
static volatile uint64_t tlb_page[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static volatile uint64_t tlb_b[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static volatile unsigned long tlb_gen, tlb_ack, tlb_bad, tlb_bad_gen;
static volatile uint64_t tlb_bad_val;
static volatile int tlb_stop;
static volatile int tlb_reading;        /* vCPU 1 has the mapping in use */

/* The flush vCPU 0 used for generation g (the switch in tlb_test). */
static const char *tlb_flush_kind(unsigned long g)
{
    switch (g % 7) {
    case 0: return "UVMF_INVLPG|UVMF_ALL";
    case 1: return "UVMF_TLB_FLUSH|UVMF_ALL";
    case 2: return "UVMF_INVLPG|vcpumask";
    case 3: return "UVMF_TLB_FLUSH|vcpumask";
    case 4: return "MMUEXT_TLB_FLUSH_ALL";
    case 5: return "MMUEXT_INVLPG_ALL";
    default: return (g & 8) ? "MMUEXT_TLB_FLUSH_MULTI" : "MMUEXT_INVLPG_MULTI";
    }
}

static uint64_t tlb_expected(unsigned long gen)
{
    return (gen & 1) ? TLB_B : TLB_A;
}

/* vCPU 1: keep the mapping hot in its TLB; after each new generation is
 * published (vCPU 0's flush returned), the page must hold the new frame. */
static void tlb_reader(void)
{
    unsigned long seen = 0;

    (void)tlb_page[0];
    __atomic_store_n(&tlb_reading, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&tlb_stop, __ATOMIC_ACQUIRE)) {
        unsigned long g;
        uint64_t x;

        (void)tlb_page[0];
        g = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE);
        if (g == seen)
            continue;
        x = tlb_page[0];
        if (x != tlb_expected(g) && !tlb_bad++) {
            tlb_bad_gen = g;
            tlb_bad_val = x;
        }
        seen = g;
        __atomic_store_n(&tlb_ack, g, __ATOMIC_RELEASE);
    }
}

void ap_main(unsigned long id);
/* A vCPU's entry: the context's rsp is the top of its ap_stack, %rdi its
 * id (the context's registers are loaded as they are). */
GUEST_AP_ENTRY(ap_entry, ap_main);

/* vCPU 1: one round per VCPUOP_up; no console use (vCPU 0 owns it).
 * vCPUs 2 and up: count their runs and go down. */
void ap_main(unsigned long id)
{
    while (id != 1) {
        __atomic_add_fetch(&other_round[id % MAX_VCPUS], 1, __ATOMIC_SEQ_CST);
        hypercall_vcpu_op(VCPUOP_down, (unsigned int)id, NULL);
    }
    for (;;) {
        if (ap_mode == 1)
            tlb_reader();
        __atomic_add_fetch(&ap_round, 1, __ATOMIC_SEQ_CST);
        /* Returns 0 once vCPU 0 brings this vCPU up again. */
        ap_down_rc = hypercall_vcpu_op(VCPUOP_down, 1, NULL);
    }
}

static const unsigned long *p2m;

static void fill_ctx_for(unsigned int id, unsigned long l4_mfn)
{
    guest_vcpu_ctx(&ctx, (unsigned long)ap_entry,
                   (unsigned long)(ap_stack[id] + sizeof(ap_stack[id])), id, l4_mfn);
}

#define expect(call, want) do {                                             \
        long r_ = (call);                                                   \
        check(r_ == (want), "%s: got %ld, want %ld", #call, r_, (long)(want)); \
    } while (0)

static void fill_ctx(unsigned long l4_mfn)
{
    fill_ctx_for(1, l4_mfn);
}

static bool wait_round(unsigned long want)
{
    for (unsigned long i = 0; i < SPIN_LIMIT; i++)
        if (__atomic_load_n(&ap_round, __ATOMIC_SEQ_CST) >= want)
            return true;
    return false;
}

static bool wait_down_id(unsigned int id)
{
    for (unsigned long i = 0; i < SPIN_LIMIT; i++)
        if (hypercall_vcpu_op(VCPUOP_is_up, id, NULL) == 0)
            return true;
    return false;
}

static bool wait_down(void)
{
    return wait_down_id(1);
}

/* vCPUs 2.. (as many as the domain has, up to MAX_VCPUS): up twice each. */
static void other_vcpus(unsigned long l4)
{
    unsigned int id;

    for (id = 2; id < MAX_VCPUS; id++) {
        if (hypercall_vcpu_op(VCPUOP_is_up, id, NULL) < 0)
            break;
        fill_ctx_for(id, l4);
        expect(hypercall_vcpu_op(VCPUOP_initialise, id, &ctx), 0);
        for (unsigned long r = 1; r <= 2; r++) {
            unsigned long i;

            expect(hypercall_vcpu_op(VCPUOP_up, id, NULL), 0);
            for (i = 0; i < SPIN_LIMIT && other_round[id] < r; i++)
                ;
            check(other_round[id] >= r, "vCPU %u never ran (round %lu)", id, r);
            check(wait_down_id(id), "vCPU %u never went down", id);
        }
    }
    if (id > 2)
        printk("smp: vCPUs 2..%u came up and went down twice each\n", id - 1);
}

static long uvm(const volatile void *va, unsigned long mfn, unsigned long flags)
{
    /* present, writable, user (a 64-bit PV kernel runs in ring 3), A, D */
    return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)va,
                      ((uint64_t)mfn << PAGE_SHIFT) | 0x67, flags);
}

static void tlb_test(void)
{
    unsigned long mfn_a = guest_mfn_of((const void *)tlb_page);
    unsigned long mfn_b = guest_mfn_of((const void *)tlb_b);
    static unsigned long vmask = 3;     /* vCPUs 0 and 1 */
    unsigned long g, i;
    long rc = 0;

    tlb_page[0] = TLB_A;
    tlb_b[0] = TLB_B;
    ap_mode = 1;
    expect(hypercall_vcpu_op(VCPUOP_up, 1, NULL), 0);
    /* The first generation must find the old translation in vCPU 1's TLB
     * too (else a missed flush of generation 1 could not be seen). */
    for (i = 0; i < SPIN_LIMIT && !__atomic_load_n(&tlb_reading, __ATOMIC_ACQUIRE); i++)
        ;
    check(tlb_reading, "vCPU 1 never started reading the TLB test page");
    for (g = 1; g <= TLB_ROUNDS && !rc; g++) {
        unsigned long to = (g & 1) ? mfn_b : mfn_a, flags;

        /* Every flavour of "flush the other vCPUs" a PV guest has. */
        switch (g % 7) {
        case 0: flags = UVMF_INVLPG | UVMF_ALL; break;
        case 1: flags = UVMF_TLB_FLUSH | UVMF_ALL; break;
        case 2: flags = UVMF_INVLPG | (unsigned long)&vmask; break;
        case 3: flags = UVMF_TLB_FLUSH | (unsigned long)&vmask; break;
        default: flags = UVMF_NONE; break;     /* then an mmuext_op flush */
        }
        if (g % 100 == 0)
            printk("smp: TLB: generation %lu\n", g);
        rc = uvm(tlb_page, to, flags);
        check(rc == 0, "generation %lu: update_va_mapping %ld", g, rc);
        if (!rc && flags == UVMF_NONE) {
            struct mmuext_op op;

            memset(&op, 0, sizeof(op));
            if (g % 7 == 4)
                op.cmd = MMUEXT_TLB_FLUSH_ALL;
            else if (g % 7 == 5)
                op.cmd = MMUEXT_INVLPG_ALL;
            else                        /* alternate the two MULTI forms */
                op.cmd = (g & 8) ? MMUEXT_TLB_FLUSH_MULTI : MMUEXT_INVLPG_MULTI;
            op.arg1.linear_addr = (unsigned long)tlb_page;
            set_xen_guest_handle(op.arg2.vcpumask, &vmask);
            rc = hypercall4(__HYPERVISOR_mmuext_op, &op, 1, NULL, DOMID_SELF);
            check(rc == 0, "generation %lu: mmuext_op %u: %ld", g, op.cmd, rc);
        }
        __atomic_store_n(&tlb_gen, g, __ATOMIC_RELEASE);
        for (i = 0; i < SPIN_LIMIT && __atomic_load_n(&tlb_ack, __ATOMIC_ACQUIRE) != g; i++)
            ;
        if (i == SPIN_LIMIT) {
            check(false, "generation %lu: vCPU 1 never acknowledged", g);
            break;
        }
    }
    __atomic_store_n(&tlb_stop, 1, __ATOMIC_RELEASE);
    check(wait_down(), "vCPU 1 did not go down after the TLB test");
    /* The reason names the flush that let a stale entry live, so a run
     * with one flush kind skipped (inject=flush-skip:<kind>) can be told
     * apart from any other failure. */
    check(tlb_bad == 0, "stale TLB entry: vCPU 1 read the old frame after a %s "
          "flush (generation %lu, read %lx; %lu stale reads)",
          tlb_flush_kind(tlb_bad_gen), tlb_bad_gen, (unsigned long)tlb_bad_val, tlb_bad);
    if (!tlb_bad)
        printk("smp: TLB: %lu remaps with remote flushes, vCPU 1 saw no stale entry\n",
               g - 1);
    expect(uvm(tlb_page, mfn_a, UVMF_INVLPG | UVMF_ALL), 0);
    check(tlb_page[0] == TLB_A, "tlb_page is back on its own frame");
}

void test_main(void)
{
    unsigned long l4;
    long rc;

    p2m = (const unsigned long *)start_info->mfn_list;
    l4 = guest_mfn_of((const void *)start_info->pt_base);

    rc = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (rc == -XEN_ENOENT)
        test_skip("needs 2 vCPUs (VCPUOP_is_up(1) = -ENOENT)");
    check(rc == 0, "vCPU 1 is down at start: is_up %ld", rc);
    expect(hypercall_vcpu_op(VCPUOP_is_up, 0, NULL), 1);

    /* do_vcpu_op: no such vCPU is -ENOENT, whatever the command. */
    expect(hypercall_vcpu_op(VCPUOP_is_up, 4096, NULL), -XEN_ENOENT);
    expect(hypercall_vcpu_op(VCPUOP_up, 4096, NULL), -XEN_ENOENT);
    expect(hypercall_vcpu_op(VCPUOP_initialise, 4096, &ctx), -XEN_ENOENT);
    /* VCPUOP_up of a vCPU never initialised: -EINVAL. */
    expect(hypercall_vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL);
    /* vCPU 0 is initialised: -EEXIST (default_initialise_vcpu). */
    fill_ctx(l4);
    expect(hypercall_vcpu_op(VCPUOP_initialise, 0, &ctx), -XEN_EEXIST);

    /* arch_set_info_guest: CR3 must name an L4 the guest may use as one. */
    fill_ctx(guest_mfn_of(ap_stack[1]));          /* a writable data page */
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    fill_ctx(0);
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    /* ... and every address canonical. */
    fill_ctx(l4);
    ctx.user_regs.rip = 0x0000800000000000UL;
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    expect(hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);

    /* The real thing. */
    fill_ctx(l4);
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EEXIST);
    expect(hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);

    for (unsigned long round = 1; round <= 3; round++) {
        expect(hypercall_vcpu_op(VCPUOP_up, 1, NULL), 0);
        if (!wait_round(round)) {
            check(false, "round %lu: vCPU 1 never ran (round %lu)", round, ap_round);
            return;
        }
        if (!wait_down()) {
            check(false, "round %lu: vCPU 1 never went down", round);
            return;
        }
        check(ap_round == round, "round %lu: vCPU 1 ran %lu rounds", round, ap_round);
        if (round > 1)
            check(ap_down_rc == 0, "VCPUOP_down on itself returned %ld", ap_down_rc);
        printk("smp: round %lu: vCPU 1 came up, set the flag, went down\n", round);
    }
    /* Down of a vCPU that is down is no error. */
    expect(hypercall_vcpu_op(VCPUOP_down, 1, NULL), 0);
    tlb_test();
    other_vcpus(l4);
}
