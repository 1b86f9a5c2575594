/*
 * gfuzz - a guest-side fuzzer: every vCPU issues seeded random
 * hypercalls (Xen's numbers 0..63, some beyond, weighted toward the ones
 * a PV shim serves), traps (privileged instructions, int $n, ud2, bad
 * segment loads, port I/O, cr/dr/MSR access, writes to page tables,
 * faults on purpose) and page-table operations for a set time. The shim
 * must stay up and answer: only errnos or guest-visible faults come back.
 *
 * Arguments mix valid values (the guest's own sandbox frames and page
 * tables, valid VAs, its own ports) with boundary and random ones (NULL,
 * hypervisor and non-canonical addresses, huge counts, unaligned, other
 * domids). Nothing a hypercall could legally use to destroy the guest is
 * ever handed over: the image (code, data, stacks, its boot page tables)
 * is never named as a frame, never a write target, never unmapped; the
 * guest's own ports (console, xenstore, its self-check ports) are never
 * closed; SCHEDOP_shutdown, a live watchdog, VCPUOP_down of a running
 * vCPU, NEW_BASEPTR to another L4 and an iret to user mode without user
 * tables (Xen crashes the domain) are left out. Everything else may fail
 * any way the ABI allows.
 *
 * The sandbox: the last 64 frames of the guest's memory (beyond the
 * builder's initial mapping). At start they form a table chain hooked at
 * L4 slot 40 (L3 -> L2 -> L1 mapping 56 data frames); from then on every
 * page-table operation may retype, pin, unpin, hook, unhook and remap
 * them from every vCPU at once.
 *
 * Every SELFCHECK_EVERY operations each vCPU checks that its world held:
 * a known pattern and the text checksum are intact, the boot L4 is
 * unchanged outside the sandbox slots, xen_version still answers the
 * same, the trap table still delivers (#UD comes back), an event sent to
 * its own IPI port is pending. vCPU 0 also watches that every other vCPU
 * keeps making progress (a vCPU stuck in the shim is a hang: FAIL with
 * the operation it was in).
 *
 * Command line: seed=N (default 1), time=S seconds (default 10),
 * vcpus=N (1..4, default all the domain has), trace (print every
 * operation before it runs: a reproducer for a crash), ops=N (stop each
 * vCPU after N operations instead of the time).
 * Prints per-family operation counts, an errno histogram and the traps
 * taken, then RESULT gfuzz PASS.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/callback.h>
#include <xen/physdev.h>
#include <xen/grant_table.h>
#include <xen/nmi.h>

#define MAX_VCPUS 4
#define SELFCHECK_EVERY 256
#define STALL_NS (20ULL * 1000000000ULL)   /* no progress for 20 s: a hang */
#define SB_FRAMES 64
#define SB_SLOT 40                          /* L4 slots 40..47: the sandbox */
#define SB_VA (SB_SLOT * (1UL << 39))
#define SCRATCH_PAGES 2
#define MAX_PORTS 32
#define PATTERN_WORDS 2048


enum family {
    F_MMU_UPDATE, F_MMUEXT, F_UVM, F_UVM_OTHER, F_GNTTAB, F_EVTCHN, F_VCPU,
    F_SCHED, F_TRAPTABLE, F_CALLBACKS, F_GDT, F_DESC, F_STACK, F_FPU,
    F_DEBUGREG, F_SEGBASE, F_MEMORY, F_VERSION, F_CONSOLE, F_PHYSDEV,
    F_MULTICALL, F_VMASSIST, F_SYSCTL, F_IRET, F_TIMER, F_COMPAT, F_OTHER,
    F_BEYOND, F_TRAP, NR_FAMILIES
};
static const char *const family_name[NR_FAMILIES] = {
    "mmu_update", "mmuext_op", "update_va_mapping", "uvm_otherdomain",
    "grant_table_op", "event_channel_op", "vcpu_op", "sched_op",
    "set_trap_table", "callbacks", "set_gdt", "update_descriptor",
    "stack_switch", "fpu_taskswitch", "debugreg", "set_segment_base",
    "memory_op", "xen_version", "console_io", "physdev_op", "multicall",
    "vm_assist", "sysctl/domctl", "iret", "set_timer_op", "compat-ops",
    "other-0..63", "beyond-63", "trap-ops",
};

#define NR_ERRNO 128
struct vstate {
    unsigned int id;
    uint64_t rng;
    unsigned long ops, fam[NR_FAMILIES];
    unsigned long rc_zero, rc_pos, rc_err[NR_ERRNO], rc_odd;
    /* Per family: which errnos came back (bit e: -e; bit 0: success),
     * to compare shims family by family. */
    uint64_t fam_errs[NR_FAMILIES][2];
    long rc_odd_last;
    unsigned long traps[256], failsafes, nmis, upcalls, selfchecks;
    unsigned long trap_outside;      /* traps in a hypercall op */
    evtchn_port_t self_port, timer_port;
    evtchn_port_t ports[MAX_PORTS];
    unsigned int nr_ports;
    volatile unsigned long progress;
    const char *what;                /* operation in flight (for a hang) */
    unsigned long what_nr, what_a1, what_a2;
    struct jmpctx jb;
    volatile int in_try;
    volatile bool done;
};

static struct vstate vs[MAX_VCPUS];
/* Argument memory: SCRATCH_PAGES pages per vCPU and two more the
 * hypervisor may write into when an argument crosses the end. */
static uint8_t scratch_mem[MAX_VCPUS][SCRATCH_PAGES + 2][PAGE_SIZE]
    __attribute__((aligned(PAGE_SIZE)));
#define SCRATCH_BYTES (SCRATCH_PAGES * PAGE_SIZE)
static uint8_t ap_stack[MAX_VCPUS][8 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pattern[PATTERN_WORDS] __attribute__((aligned(PAGE_SIZE)));
static struct trap_info trap_table[257];
static struct vcpu_guest_context ap_ctx;
static struct shared_info *shinfo;
static unsigned long sb_mfn[SB_FRAMES];
static unsigned long l4_mfn, max_mfn;
static uint64_t l4_boot[512];
static const volatile uint64_t *l4_va;
static uint64_t text_sum;
static long version_boot;
static unsigned int nr_vcpus;
static bool trace;
static unsigned long max_ops;
static volatile bool stop;
static volatile unsigned long vcpus_running;
static evtchn_port_t console_port, store_port;

extern const uint64_t gf_vec_table[256];
extern char gf_nmi_entry[], gf_failsafe_entry[];
long gf_raw_hypercall(unsigned long nr, unsigned long a1, unsigned long a2,
                      unsigned long a3, unsigned long a4, unsigned long a5);
void __noreturn gf_trap(const uint64_t *frame, unsigned int vec,
                        unsigned int has_ec, uint64_t rax);
void __noreturn gf_failsafe(const uint64_t *frame);
void gf_nmi(const uint64_t *frame);

/* -------------------------------------------------------------- helpers - */

static struct vstate *me_by_sp(unsigned long sp)
{
    unsigned long base = (unsigned long)ap_stack;

    if (sp >= base && sp < base + sizeof(ap_stack))
        return &vs[(sp - base) / sizeof(ap_stack[0])];
    return &vs[0];                      /* vCPU 0 runs on the boot stack */
}

static uint64_t rnd(struct vstate *v)
{
    uint64_t x = v->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    v->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static unsigned long below(struct vstate *v, unsigned long n)
{
    return n ? rnd(v) % n : 0;
}

static bool chance(struct vstate *v, unsigned int pct)
{
    return below(v, 100) < pct;
}

static uint64_t pte(unsigned long mfn, uint64_t flags)
{
    return ((uint64_t)mfn << PAGE_SHIFT) | flags;
}

/* A frame number: mostly the sandbox's, else one the guest has no right
 * to (never a frame of the image or its boot page tables). */
static unsigned long rnd_mfn(struct vstate *v)
{
    switch (below(v, 10)) {
    case 0: return 0;
    case 1: return ~0UL;
    case 2: return max_mfn + 1 + below(v, 1000);
    case 3: return (rnd(v) >> below(v, 24)) | (1UL << 40);
    case 4: return (1UL << 40) + below(v, 1 << 20);
    default: return sb_mfn[below(v, SB_FRAMES)];
    }
}

static uint64_t rnd_flags(struct vstate *v)
{
    static const uint64_t bits[] = { _P, _RW, _US, _PWT, _PCD, _A, _D, _PSE,
                                     _G, _NX, 1UL << 9, 1UL << 52, 1UL << 62,
                                     1UL << 51, 1UL << 12 };
    uint64_t f = 0;

    if (chance(v, 70))
        f = _P | _US | _A | (chance(v, 50) ? _RW : 0) | (chance(v, 30) ? _D : 0);
    for (unsigned int i = below(v, 3); i; i--)
        f ^= bits[below(v, ARRAY_SIZE(bits))];
    return f;
}

/* A page-table entry value: sandbox frames or frames the guest does not
 * own, with fuzzed flags; never a frame of the image. */
static uint64_t rnd_pte(struct vstate *v)
{
    switch (below(v, 8)) {
    case 0: return 0;
    case 1: return rnd(v) & ~((1UL << 12) - 1) & 0x000ffffffffff000UL;
    default: return pte(rnd_mfn(v), rnd_flags(v));
    }
}

static uint8_t *scratch(struct vstate *v) { return scratch_mem[v->id][0]; }

static bool in_scratch(struct vstate *v, unsigned long a)
{
    return a >= (unsigned long)scratch(v) && a < (unsigned long)scratch(v) + sizeof(scratch_mem[0]);
}

static void fill_random(struct vstate *v, void *p, size_t n)
{
    uint64_t *q = p;

    for (size_t i = 0; i < n / 8; i++) {
        switch (below(v, 6)) {
        case 0: q[i] = 0; break;
        case 1: q[i] = ~0UL; break;
        case 2: q[i] = rnd(v) | (1UL << 40); break;   /* never a small number */
        default: q[i] = rnd(v); break;
        }
    }
}

/* A virtual address: sandbox, the vCPU's scratch, or one the guest may not
 * use. out: the hypercall may write there (scratch and sandbox only). */
static unsigned long rnd_va(struct vstate *v)
{
    switch (below(v, 12)) {
    case 0: return 0;
    case 1: return 0xffff800000000000UL + (rnd(v) & 0x7fffffffffUL);   /* Xen's */
    case 2: return 0xffff830000000000UL + (rnd(v) & 0xfffffff);
    case 3: return 0x0000800000000000UL + (rnd(v) & 0xfff);            /* non-canonical */
    case 4: return 0x8000000000000000UL;
    case 5: return ~0UL - below(v, 16);
    case 6: return (unsigned long)scratch(v) + below(v, SCRATCH_PAGES * PAGE_SIZE);
    case 7: return (unsigned long)scratch(v) + SCRATCH_PAGES * PAGE_SIZE - 1 - below(v, 8);
    default: return SB_VA + below(v, 2) * (1UL << 39) + below(v, 80) * PAGE_SIZE +
                    (chance(v, 80) ? 0 : below(v, PAGE_SIZE));
    }
}

/* An address the hypervisor must refuse to read or write: for argument
 * pointers whose contents it would act on (the sandbox's contents are
 * not under the guest's control: a copied L4 read as requests would
 * name the guest's own tables). */
static unsigned long rnd_bad_va(struct vstate *v)
{
    switch (below(v, 6)) {
    case 0: return 0;
    case 1: return 0xffff800000000000UL + (rnd(v) & 0x7fffffffffUL);
    case 2: return 0xffff830000000000UL + (rnd(v) & 0xfffffff);
    case 3: return 0x0000800000000000UL + (rnd(v) & 0xfff);
    case 4: return 0x8000000000000000UL;
    default: return ~0UL - below(v, 16);
    }
}

static unsigned long rnd_count(struct vstate *v)
{
    static const unsigned long c[] = { 0, 1, 2, 3, 4, 8, 16, 511, 512, 513, 4096,
                                       0x7fffffff, 0x80000000UL, 0xffffffffUL,
                                       ~0UL, 1UL << 32 };

    return chance(v, 30) ? below(v, 8) : c[below(v, ARRAY_SIZE(c))];
}

static domid_t rnd_domid(struct vstate *v)
{
    static const domid_t d[] = { DOMID_SELF, DOMID_SELF, DOMID_SELF, 0, 1, 2,
                                 DOMID_IO, DOMID_XEN, DOMID_COW, DOMID_INVALID,
                                 DOMID_IDLE, 0x7fef, 0xffff, 0x8000 };

    return chance(v, 10) ? (domid_t)rnd(v) : d[below(v, ARRAY_SIZE(d))];
}

/* A domid that is surely not this domain (for ops that would reset or
 * shut down the domain they name: the guest's domid is not known). */
static domid_t rnd_foreign_domid(struct vstate *v)
{
    static const domid_t d[] = { DOMID_IO, DOMID_XEN, DOMID_COW, DOMID_INVALID,
                                 DOMID_IDLE, 0x7fef, 0xffff, 0x8000, 0x7ff6 };

    return d[below(v, ARRAY_SIZE(d))];
}

static unsigned int rnd_vcpu(struct vstate *v)
{
    static const unsigned int c[] = { 4, 5, 31, 32, 127, 128, 4095, 0x7fffffff,
                                      0x80000000U, ~0U };

    return chance(v, 75) ? (unsigned int)below(v, nr_vcpus) : c[below(v, ARRAY_SIZE(c))];
}

static bool port_protected(evtchn_port_t p)
{
    if (!p)
        return false;
    if (p == console_port || p == store_port)
        return true;
    for (unsigned int i = 0; i < nr_vcpus; i++)
        if (p == vs[i].self_port || p == vs[i].timer_port)
            return true;
    return false;
}

static evtchn_port_t rnd_port(struct vstate *v)
{
    evtchn_port_t p;

    for (;;) {
        if (v->nr_ports && chance(v, 50))
            p = v->ports[below(v, v->nr_ports)];
        else if (chance(v, 70))
            p = (evtchn_port_t)below(v, 80);
        else
            p = (evtchn_port_t)rnd_count(v);
        if (!port_protected(p))
            return p;
    }
}

static void port_add(struct vstate *v, evtchn_port_t p)
{
    if (v->nr_ports < MAX_PORTS && !port_protected(p))
        v->ports[v->nr_ports++] = p;
}

static void port_forget(struct vstate *v, evtchn_port_t p)
{
    for (unsigned int i = 0; i < v->nr_ports; i++)
        if (v->ports[i] == p)
            v->ports[i] = v->ports[--v->nr_ports];
}

/* ------------------------------------------------------- trap handling - */

void __noreturn gf_trap(const uint64_t *frame, unsigned int vec,
                        unsigned int has_ec, uint64_t rax)
{
    struct vstate *v = me_by_sp((unsigned long)frame);
    const uint64_t *hw = has_ec ? frame + 1 : frame;

    (void)rax;
    if (!v->in_try) {
        printk("gfuzz: vCPU %u: trap %u outside a fuzz operation, rip %#lx ec %#lx\n",
               v->id, vec, hw[0], has_ec ? frame[0] : 0UL);
        test_fatal("vCPU %u: unexpected trap %u at rip %#lx", v->id, vec, hw[0]);
    }
    v->traps[vec & 255]++;
    v->in_try = 0;
    guest_longjmp(&v->jb);
}

void __noreturn gf_failsafe(const uint64_t *frame)
{
    struct vstate *v = me_by_sp((unsigned long)frame);

    if (!v->in_try)
        test_fatal("vCPU %u: failsafe callback outside a fuzz operation", v->id);
    v->failsafes++;
    v->in_try = 0;
    guest_longjmp(&v->jb);
}

void gf_nmi(const uint64_t *frame)
{
    me_by_sp((unsigned long)frame)->nmis++;
}

/* An upcall (events were enabled by a fuzzed sti, iret or SCHEDOP_block):
 * clear the vCPU's pending flag and return with events masked again. */
static void gf_event(const uint64_t *frame)
{
    struct vstate *v = me_by_sp((unsigned long)frame);

    evtchn_port_t p = v->timer_port;

    v->upcalls++;
    if (trace)
        printk("gfuzz: v%u upcall %lu at rip %#lx rflags %#lx\n", v->id, v->upcalls,
               frame[0], frame[2]);
    shinfo->vcpu_info[v->id].evtchn_upcall_pending = 0;
    /* The selector and the timer port go too: Xen's 2-level set_pending
     * raises an upcall (and wakes a block) only for a newly pending port
     * in a newly set selector word. */
    __atomic_store_n(&shinfo->vcpu_info[v->id].evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    __atomic_fetch_and(&shinfo->evtchn_pending[p / 64], ~(1UL << (p % 64)), __ATOMIC_SEQ_CST);
    ((uint64_t *)frame)[2] &= ~EFLAGS_IF;
}

/* Trap table, callbacks: per vCPU in the PV ABI. */
static void vcpu_setup(struct vstate *v)
{
    struct callback_register cb;
    long rc;

    memset(&cb, 0, sizeof(cb));
    cb.type = CALLBACKTYPE_event;
    cb.flags = CALLBACKF_mask_events;
    cb.address = (unsigned long)guest_event_callback;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "vCPU %u: register the event callback: %ld", v->id, rc);
    cb.type = CALLBACKTYPE_failsafe;
    cb.address = (unsigned long)gf_failsafe_entry;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "vCPU %u: register the failsafe callback: %ld", v->id, rc);
    cb.type = CALLBACKTYPE_nmi;
    cb.flags = 0;
    cb.address = (unsigned long)gf_nmi_entry;
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "vCPU %u: register the NMI callback: %ld", v->id, rc);
    rc = hypercall_set_trap_table(trap_table);
    check(rc == 0, "vCPU %u: set_trap_table: %ld", v->id, rc);
}

/* ------------------------------------------------------ result records - */

static void note(struct vstate *v, enum family f, long rc)
{
    unsigned long e = rc >= 0 ? 0 : (unsigned long)-rc;

    if (e < NR_ERRNO)
        v->fam_errs[f][e / 64] |= 1UL << (e % 64);
    v->fam[f]++;
    if (rc == 0)
        v->rc_zero++;
    else if (rc > 0)
        v->rc_pos++;
    else if (-rc < NR_ERRNO)
        v->rc_err[-rc]++;
    else {
        v->rc_odd++;
        v->rc_odd_last = rc;
    }
}

static long hc(struct vstate *v, enum family f, unsigned int nr, unsigned long a1,
               unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
    long rc;

    v->what = family_name[f];
    v->what_nr = nr;
    v->what_a1 = a1;
    v->what_a2 = a2;
    if (trace)
        printk("gfuzz: v%u op %lu hc %u (%#lx, %#lx, %#lx, %#lx, %#lx)\n",
               v->id, v->ops, nr, a1, a2, a3, a4, a5);
    if (nr < 128)
        rc = hypercall5(nr, a1, a2, a3, a4, a5);
    else
        rc = gf_raw_hypercall(nr, a1, a2, a3, a4, a5);
    note(v, f, rc);
    if (rc < -(long)NR_ERRNO)
        printk("gfuzz: v%u op %lu: hypercall %u (%#lx, %#lx, %#lx, %#lx, %#lx) returned %ld, "
               "not an errno\n", v->id, v->ops, nr, a1, a2, a3, a4, a5, rc);
    return rc;
}

/* ----------------------------------------------------------- PV MMU - */

static uint64_t rnd_mmu_ptr(struct vstate *v)
{
    unsigned long mfn, slot = below(v, 512);

    if (chance(v, 10)) {
        /* The live L4: only the sandbox slots and the hypervisor's. */
        mfn = l4_mfn;
        slot = chance(v, 60) ? SB_SLOT + below(v, 8) : 256 + below(v, 16);
    } else {
        mfn = rnd_mfn(v);
    }
    return ((uint64_t)mfn << PAGE_SHIFT) + slot * 8;
}

static void op_mmu_update(struct vstate *v)
{
    mmu_update_t *req = (mmu_update_t *)scratch(v);
    unsigned long n = below(v, 6) + 1, count;
    unsigned int *done = (unsigned int *)(scratch(v) + PAGE_SIZE);

    for (unsigned long i = 0; i < n; i++) {
        /* The low 3 bits are the command (Xen: ptr & 7): MACHPHYS,
         * PRESERVE_AD, NO_TRANSLATE, and 4..7 (none). */
        req[i].ptr = rnd_mmu_ptr(v) | (chance(v, 80) ? MMU_NORMAL_PT_UPDATE : below(v, 8));
        if ((req[i].ptr & 7) == MMU_MACHPHYS_UPDATE)
            req[i].val = rnd(v) >> below(v, 64);
        else
            req[i].val = rnd_pte(v);
    }
    /* A count past the requests meets one that must fail: Xen stops at
     * the first failing request (no garbage from the scratch behind). */
    req[n].ptr = (uint64_t)(~0UL << PAGE_SHIFT) & ~3UL;
    req[n].val = 0;
    count = chance(v, 85) ? n : rnd_count(v);
    hc(v, F_MMU_UPDATE, __HYPERVISOR_mmu_update,
       chance(v, 90) ? (unsigned long)req : rnd_bad_va(v), count,
       chance(v, 50) ? (unsigned long)done : (chance(v, 50) ? 0 : rnd_va(v)),
       chance(v, 90) ? DOMID_SELF : rnd_domid(v), 0);
}

static void op_mmuext(struct vstate *v)
{
    struct mmuext_op *op = (struct mmuext_op *)scratch(v);
    unsigned long n = below(v, 3) + 1;
    unsigned long *mask = (unsigned long *)(scratch(v) + PAGE_SIZE);

    mask[0] = chance(v, 50) ? (1UL << nr_vcpus) - 1 : rnd(v);
    for (unsigned long i = 0; i < n; i++) {
        static const unsigned int cmds[] = {
            MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE,
            MMUEXT_PIN_L4_TABLE, MMUEXT_UNPIN_TABLE, MMUEXT_NEW_BASEPTR,
            MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_INVLPG_LOCAL, MMUEXT_TLB_FLUSH_MULTI,
            MMUEXT_INVLPG_MULTI, MMUEXT_TLB_FLUSH_ALL, MMUEXT_INVLPG_ALL,
            MMUEXT_FLUSH_CACHE, MMUEXT_SET_LDT, MMUEXT_NEW_USER_BASEPTR,
            MMUEXT_CLEAR_PAGE, MMUEXT_COPY_PAGE, MMUEXT_FLUSH_CACHE_GLOBAL,
            MMUEXT_MARK_SUPER, MMUEXT_UNMARK_SUPER, 14, 21, 22, 255,
        };
        unsigned int cmd = cmds[below(v, ARRAY_SIZE(cmds))];

        memset(&op[i], 0, sizeof(op[i]));
        op[i].cmd = chance(v, 3) ? (unsigned int)rnd(v) : cmd;
        switch (cmd) {
        case MMUEXT_NEW_BASEPTR:
            /* Only the running L4 or a frame that must be refused. */
            op[i].arg1.mfn = chance(v, 50) ? l4_mfn : rnd_mfn(v) | (1UL << 40);
            break;
        case MMUEXT_INVLPG_LOCAL: case MMUEXT_INVLPG_MULTI: case MMUEXT_INVLPG_ALL:
            op[i].arg1.linear_addr = rnd_va(v);
            break;
        case MMUEXT_SET_LDT:
            op[i].arg1.linear_addr = chance(v, 20) ? 0 : rnd_va(v);
            op[i].arg2.nr_ents = chance(v, 30) ? below(v, 16) : (unsigned int)rnd_count(v);
            break;
        case MMUEXT_COPY_PAGE:
            op[i].arg1.mfn = rnd_mfn(v);
            op[i].arg2.src_mfn = chance(v, 20) ? l4_mfn : rnd_mfn(v);
            break;
        default:
            op[i].arg1.mfn = rnd_mfn(v);
            break;
        }
        if (cmd == MMUEXT_TLB_FLUSH_MULTI || cmd == MMUEXT_INVLPG_MULTI)
            op[i].arg2.vcpumask.p = chance(v, 80) ? (void *)mask : (void *)rnd_va(v);
    }
    memset(&op[n], 0, sizeof(op[n]));
    op[n].cmd = 0xdead;                 /* -ENOSYS: Xen stops there */
    hc(v, F_MMUEXT, __HYPERVISOR_mmuext_op,
       chance(v, 92) ? (unsigned long)op : rnd_bad_va(v),
       chance(v, 90) ? n : rnd_count(v),
       chance(v, 50) ? (unsigned long)(scratch(v) + PAGE_SIZE + 64) : 0,
       chance(v, 92) ? DOMID_SELF : rnd_domid(v), 0);
}

static unsigned long rnd_uvm_flags(struct vstate *v)
{
    unsigned long *mask = (unsigned long *)(scratch(v) + PAGE_SIZE + 128);

    mask[0] = chance(v, 50) ? (1UL << nr_vcpus) - 1 : rnd(v);
    switch (below(v, 6)) {
    case 0: return UVMF_NONE;
    case 1: return UVMF_INVLPG | (chance(v, 50) ? UVMF_ALL : UVMF_LOCAL);
    case 2: return UVMF_TLB_FLUSH | (chance(v, 50) ? UVMF_ALL : UVMF_LOCAL);
    case 3: return (unsigned long)mask | below(v, 4);
    case 4: return rnd_va(v) | below(v, 4);
    default: return rnd(v);
    }
}

static void op_uvm(struct vstate *v, bool other)
{
    unsigned long va = chance(v, 80) ? SB_VA + below(v, 80) * PAGE_SIZE : rnd_va(v);

    /* Never remap the scratch page the guest itself writes. */
    if (in_scratch(v, va))
        va = 0;
    if (!other)
        hc(v, F_UVM, __HYPERVISOR_update_va_mapping, va, rnd_pte(v),
           rnd_uvm_flags(v), 0, 0);
    else
        hc(v, F_UVM_OTHER, __HYPERVISOR_update_va_mapping_otherdomain, va,
           rnd_pte(v), rnd_uvm_flags(v), rnd_domid(v), 0);
}

/* ------------------------------------------------------------- events - */

static void op_evtchn(struct vstate *v, bool compat)
{
    union {
        struct evtchn_alloc_unbound alloc;
        struct evtchn_bind_interdomain inter;
        struct evtchn_bind_virq virq;
        struct evtchn_bind_pirq pirq;
        struct evtchn_bind_ipi ipi;
        struct evtchn_close close;
        struct evtchn_send send;
        struct evtchn_status status;
        struct evtchn_bind_vcpu bvcpu;
        struct evtchn_unmask unmask;
        struct evtchn_reset reset;
        struct evtchn_init_control init;
        struct evtchn_expand_array expand;
        struct evtchn_set_priority prio;
    } *u;
    struct evtchn_op *cop = (struct evtchn_op *)scratch(v);
    unsigned int cmd = (unsigned int)below(v, 17);
    long rc;

    u = compat ? (void *)&cop->u : (void *)scratch(v);
    fill_random(v, u, 64);
    switch (cmd) {
    case EVTCHNOP_alloc_unbound:
        u->alloc.dom = chance(v, 70) ? DOMID_SELF : rnd_domid(v);
        u->alloc.remote_dom = rnd_domid(v);
        break;
    case EVTCHNOP_bind_interdomain:
        u->inter.remote_dom = rnd_domid(v);
        u->inter.remote_port = rnd_port(v);
        break;
    case EVTCHNOP_bind_virq:
        u->virq.virq = chance(v, 80) ? (uint32_t)below(v, 24) : (uint32_t)rnd_count(v);
        u->virq.vcpu = rnd_vcpu(v);
        break;
    case EVTCHNOP_bind_pirq:
        u->pirq.pirq = (uint32_t)rnd_count(v);
        u->pirq.flags = (uint32_t)rnd(v);
        break;
    case EVTCHNOP_bind_ipi:
        u->ipi.vcpu = rnd_vcpu(v);
        break;
    case EVTCHNOP_close:
        u->close.port = rnd_port(v);
        break;
    case EVTCHNOP_send:
        u->send.port = chance(v, 10) ? console_port : rnd_port(v);
        break;
    case EVTCHNOP_status:
        u->status.dom = rnd_domid(v);
        u->status.port = chance(v, 20) ? console_port : rnd_port(v);
        break;
    case EVTCHNOP_bind_vcpu:
        u->bvcpu.port = rnd_port(v);
        u->bvcpu.vcpu = rnd_vcpu(v);
        break;
    case EVTCHNOP_unmask:
        u->unmask.port = rnd_port(v);
        break;
    case EVTCHNOP_reset: case 14 /* EVTCHNOP_reset_cont */:
        u->reset.dom = rnd_foreign_domid(v);
        break;
    case EVTCHNOP_init_control:
        /* Never a usable control block: the guest stays on the 2-level ABI. */
        u->init.control_gfn = chance(v, 50) ? ~0UL : (1UL << 44) + below(v, 99);
        u->init.offset = (uint32_t)(chance(v, 50) ? below(v, 4096) : rnd(v));
        u->init.vcpu = rnd_vcpu(v);
        break;
    case EVTCHNOP_expand_array:
        u->expand.array_gfn = chance(v, 50) ? ~0UL : (1UL << 44) + below(v, 99);
        break;
    case EVTCHNOP_set_priority:
        u->prio.port = rnd_port(v);
        u->prio.priority = (uint32_t)below(v, 20);
        break;
    default:
        cmd = (unsigned int)(chance(v, 50) ? 15 + below(v, 64) : rnd(v));
        break;
    }
    if (compat) {
        cop->cmd = cmd;
        rc = hc(v, F_COMPAT, __HYPERVISOR_event_channel_op_compat,
                chance(v, 95) ? (unsigned long)cop : rnd_bad_va(v), 0, 0, 0, 0);
    } else {
        rc = hc(v, F_EVTCHN, __HYPERVISOR_event_channel_op, cmd,
                chance(v, 95) ? (unsigned long)u : rnd_bad_va(v), 0, 0, 0);
    }
    if (rc != 0)
        return;
    switch (cmd) {
    case EVTCHNOP_alloc_unbound: port_add(v, u->alloc.port); break;
    case EVTCHNOP_bind_interdomain: port_add(v, u->inter.local_port); break;
    case EVTCHNOP_bind_virq: port_add(v, u->virq.port); break;
    case EVTCHNOP_bind_ipi: port_add(v, u->ipi.port); break;
    case EVTCHNOP_close: port_forget(v, u->close.port); break;
    }
    /* Keep room: close one of ours when the list is full. */
    if (v->nr_ports == MAX_PORTS) {
        struct evtchn_close c = { .port = v->ports[below(v, MAX_PORTS)] };

        hc(v, F_EVTCHN, __HYPERVISOR_event_channel_op, EVTCHNOP_close,
           (unsigned long)&c, 0, 0, 0);
        port_forget(v, c.port);
    }
}

/* --------------------------------------------------------------- vCPU - */

static void op_vcpu(struct vstate *v)
{
    unsigned int cmd = (unsigned int)below(v, 16);
    unsigned int target = rnd_vcpu(v);
    unsigned long arg = chance(v, 60) ? (unsigned long)scratch(v) : rnd_bad_va(v);

    fill_random(v, scratch(v), 512);
    switch (cmd) {
    case VCPUOP_down:
        /* A running vCPU taken down stops fuzzing: invalid ids only. */
        if (target < MAX_VCPUS)
            target = MAX_VCPUS + (unsigned int)below(v, 1000);
        break;
    case VCPUOP_initialise:
        /* A running vCPU: -EEXIST; a missing one: -ENOENT. Keep a present
         * but down vCPU (fewer fuzzers than vCPUs) out: it would start. */
        if (target >= nr_vcpus && target < MAX_VCPUS)
            target = 0;
        break;
    case VCPUOP_up:
        if (target >= nr_vcpus && target < MAX_VCPUS)
            target = 0;
        break;
    case VCPUOP_register_vcpu_info: {
        struct vcpu_register_vcpu_info *i = (void *)scratch(v);

        /* Never a usable frame: vcpu_info stays in shared_info. */
        i->mfn = chance(v, 50) ? ~0UL : (1UL << 44) + below(v, 99);
        i->offset = (uint32_t)(chance(v, 50) ? below(v, 4096) : rnd(v));
        arg = (unsigned long)i;
        break;
    }
    case VCPUOP_register_runstate_memory_area:
    case VCPUOP_register_vcpu_time_memory_area: {
        /* The area is written at every context switch: scratch, or an
         * address that must be ignored or refused. */
        uint64_t *a = (uint64_t *)scratch(v);

        a[0] = chance(v, 50) ? (unsigned long)(scratch(v) + PAGE_SIZE) : rnd_va(v);
        if (a[0] >= SB_VA && a[0] < SB_VA + (8UL << 39))
            a[0] = 0;
        if (a[0] >= (unsigned long)scratch(v) + PAGE_SIZE - 64 &&
            a[0] < (unsigned long)scratch(v) + PAGE_SIZE)
            a[0] = 0;
        arg = (unsigned long)a;
        break;
    }
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer *t = (void *)scratch(v);

        t->timeout_abs_ns = chance(v, 50) ?
            guest_system_time_ns(&shinfo->vcpu_info[v->id].time) + below(v, 2000000) : rnd(v);
        t->flags = (uint32_t)below(v, 4);
        arg = (unsigned long)t;
        break;
    }
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer *t = (void *)scratch(v);

        t->period_ns = chance(v, 50) ? 1000000 + below(v, 10000000) : rnd(v);
        arg = (unsigned long)t;
        break;
    }
    case VCPUOP_send_nmi:
        /* The argument must be NULL (Xen 4.17): then an NMI reaches the
         * target's NMI callback (gf_nmi_entry). */
        if (chance(v, 70))
            arg = 0;
        break;
    case 14: case 15:
        cmd = (unsigned int)(chance(v, 50) ? 14 + below(v, 64) : rnd(v));
        break;
    }
    hc(v, F_VCPU, __HYPERVISOR_vcpu_op, cmd, target, arg, 0, 0);
}

/* -------------------------------------------------------------- sched - */

static void arm_timer(struct vstate *v, unsigned long ns)
{
    uint64_t now = guest_system_time_ns(&shinfo->vcpu_info[v->id].time);

    hypercall1(__HYPERVISOR_set_timer_op, now + ns);
}

static void op_sched(struct vstate *v, bool compat)
{
    unsigned int cmd = (unsigned int)below(v, 10);
    unsigned long arg = (unsigned long)scratch(v);
    uint32_t *w = (uint32_t *)scratch(v);

    fill_random(v, scratch(v), 64);
    switch (cmd) {
    case SCHEDOP_yield:
        break;
    case SCHEDOP_block:
        arm_timer(v, 1000000);          /* VIRQ_TIMER (bound) wakes it */
        break;
    case SCHEDOP_shutdown:
        cmd = SCHEDOP_shutdown_code;    /* never a real shutdown */
        w[0] = (uint32_t)below(v, 8);
        if (compat)
            cmd = SCHEDOP_yield;
        break;
    case SCHEDOP_poll: {
        struct sched_poll *p = (void *)scratch(v);
        evtchn_port_t *ports = (evtchn_port_t *)(scratch(v) + 256);

        for (unsigned int i = 0; i < 4; i++)
            ports[i] = chance(v, 50) ? v->timer_port : rnd_port(v);
        set_xen_guest_handle(p->ports, chance(v, 85) ? ports : (evtchn_port_t *)rnd_bad_va(v));
        p->nr_ports = chance(v, 85) ? (unsigned int)below(v, 5) : (unsigned int)rnd_count(v);
        p->timeout = guest_system_time_ns(&shinfo->vcpu_info[v->id].time) + below(v, 2000000);
        arm_timer(v, 2000000);
        break;
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown *r = (void *)scratch(v);

        r->domain_id = rnd_foreign_domid(v);
        r->reason = (unsigned int)below(v, 8);
        break;
    }
    case SCHEDOP_shutdown_code:
        w[0] = (uint32_t)below(v, 8);
        break;
    case SCHEDOP_watchdog: {
        struct sched_watchdog *wd = (void *)scratch(v);

        /* Only ever destroy (timeout 0) a watchdog that does not exist. */
        wd->id = 1000 + (uint32_t)below(v, 1000);
        wd->timeout = 0;
        break;
    }
    case SCHEDOP_pin_override:
        break;
    default:
        cmd = (unsigned int)(chance(v, 50) ? 8 + below(v, 64) : rnd(v));
        if (cmd == SCHEDOP_shutdown || cmd == SCHEDOP_watchdog ||
            cmd == SCHEDOP_block || cmd == SCHEDOP_poll || cmd == SCHEDOP_remote_shutdown)
            cmd = SCHEDOP_yield;
        break;
    }
    if (compat) {
        /* sched_op_compat: the argument is a value, not a pointer. */
        if (cmd == SCHEDOP_poll || cmd == SCHEDOP_remote_shutdown ||
            cmd == SCHEDOP_watchdog)
            cmd = SCHEDOP_yield;
        hc(v, F_COMPAT, __HYPERVISOR_sched_op_compat, cmd, below(v, 8), 0, 0, 0);
    } else {
        if (chance(v, 5) && cmd != SCHEDOP_block && cmd != SCHEDOP_poll)
            arg = rnd_bad_va(v);
        hc(v, F_SCHED, __HYPERVISOR_sched_op, cmd, arg, 0, 0, 0);
    }
}

/* ----------------------------------------------------- traps, GDT, ... - */

static void op_trap_table(struct vstate *v)
{
    /* The guest's own table, or one the hypervisor must refuse whole
     * (a NULL pointer would clear the table: left out). */
    struct trap_info *t = (struct trap_info *)scratch(v);
    unsigned long arg;

    switch (below(v, 4)) {
    case 0:
        arg = (unsigned long)trap_table;
        break;
    case 1:
        memcpy(t, trap_table, 8 * sizeof(*t));
        t[below(v, 8)].address = 0x0000800000000000UL + below(v, 4096);
        t[8].address = 0;
        arg = (unsigned long)t;
        break;
    default:
        arg = rnd_va(v);
        if (arg == 0 || (arg >= (unsigned long)scratch(v) &&
                         arg < (unsigned long)scratch(v) + SCRATCH_BYTES) ||
            (arg >= SB_VA && arg < SB_VA + (8UL << 39)))
            arg = 0xffff800000000000UL;
        break;
    }
    hc(v, F_TRAPTABLE, __HYPERVISOR_set_trap_table, arg, 0, 0, 0, 0);
    /* Whatever happened, the table is ours again. */
    hypercall_set_trap_table(trap_table);
}

static void op_callbacks(struct vstate *v)
{
    struct callback_register *cb = (void *)scratch(v);
    struct callback_unregister *un = (void *)scratch(v);
    static const unsigned int types[] = { CALLBACKTYPE_event, CALLBACKTYPE_failsafe,
                                          CALLBACKTYPE_syscall, CALLBACKTYPE_sysenter,
                                          CALLBACKTYPE_syscall32, 6, 8, 99 };

    /* No upcall while a callback may be gone (events may have been
     * enabled by a block): Xen crashes a domain whose upcall has no
     * callback. */
    shinfo->vcpu_info[v->id].evtchn_upcall_mask = 1;

    if (chance(v, 20)) {
        /* The old set_callbacks with the guest's own entry points. */
        hc(v, F_CALLBACKS, __HYPERVISOR_set_callbacks,
           (unsigned long)guest_event_callback, (unsigned long)gf_failsafe_entry,
           (unsigned long)guest_event_callback, 0, 0);
        vcpu_setup(v);
        return;
    }
    if (chance(v, 40)) {
        un->type = chance(v, 80) ? types[below(v, ARRAY_SIZE(types))] : (uint32_t)rnd(v);
        if (un->type == CALLBACKTYPE_nmi)
            un->type = 99;
        hc(v, F_CALLBACKS, __HYPERVISOR_callback_op, CALLBACKOP_unregister,
           (unsigned long)un, 0, 0, 0);
    } else {
        memset(cb, 0, sizeof(*cb));
        cb->type = types[below(v, ARRAY_SIZE(types))];
        cb->flags = (uint16_t)below(v, 4);
        /* Registering a bad address would crash the guest at the next
         * event: types the guest uses get good addresses. */
        cb->address = (cb->type == CALLBACKTYPE_event) ? (unsigned long)guest_event_callback :
                      (cb->type == CALLBACKTYPE_failsafe) ? (unsigned long)gf_failsafe_entry :
                      rnd_va(v);
        hc(v, F_CALLBACKS, __HYPERVISOR_callback_op,
           chance(v, 90) ? CALLBACKOP_register : (unsigned long)below(v, 100),
           chance(v, 95) ? (unsigned long)cb : rnd_bad_va(v), 0, 0, 0);
    }
    vcpu_setup(v);
}

static void op_gdt(struct vstate *v)
{
    unsigned long *frames = (unsigned long *)scratch(v);

    for (unsigned int i = 0; i < 16; i++)
        frames[i] = rnd_mfn(v);
    hc(v, F_GDT, __HYPERVISOR_set_gdt,
       chance(v, 90) ? (unsigned long)frames : rnd_bad_va(v),
       chance(v, 50) ? below(v, 8192) : rnd_count(v), 0, 0, 0);
}

static uint64_t rnd_desc(struct vstate *v)
{
    static const uint64_t d[] = {
        0, 0x00cff2000000ffffUL /* data DPL3 */, 0x00affa000000ffffUL /* code64 DPL3 */,
        0x00cf92000000ffffUL /* data DPL0 */, 0x00af9a000000ffffUL /* code64 DPL0 */,
        0x0000ec0000e00000UL /* call gate DPL3 */, 0x0000890000000067UL /* TSS */,
        0x0000e20000000fffUL /* LDT */,
    };

    return chance(v, 60) ? d[below(v, ARRAY_SIZE(d))] | (rnd(v) & 0x000f00000000ffffUL) : rnd(v);
}

static void op_desc(struct vstate *v)
{
    uint64_t ma = ((uint64_t)rnd_mfn(v) << PAGE_SHIFT) + below(v, 512) * 8 +
                  (chance(v, 90) ? 0 : below(v, 8));

    hc(v, F_DESC, __HYPERVISOR_update_descriptor, ma, rnd_desc(v), 0, 0, 0);
}

static void op_debugreg(struct vstate *v)
{
    unsigned int reg = chance(v, 85) ? (unsigned int)below(v, 8) : (unsigned int)rnd(v);
    unsigned long val;

    if (chance(v, 40)) {
        /* The result is the register's value (any address), not an errno. */
        v->what = "get_debugreg";
        note(v, F_DEBUGREG, hypercall1(__HYPERVISOR_get_debugreg, reg) >= -(long)NR_ERRNO ? 0 : 1);
        return;
    }
    if (reg < 4)
        val = chance(v, 30) ? SB_VA + below(v, 64) * PAGE_SIZE : rnd_va(v);
    else if (reg == 7 || reg == 5)
        /* Enables only with addresses the guest never runs at (dr0-3
         * above); GD (bit 13) and I/O breakpoints must be refused. */
        val = chance(v, 50) ? 0 : (rnd(v) & (chance(v, 70) ? 0xffffUL : ~0UL)) | 0x400;
    else
        val = rnd(v);
    hc(v, F_DEBUGREG, __HYPERVISOR_set_debugreg, reg, val, 0, 0, 0);
}

static void op_memory(struct vstate *v)
{
    static const unsigned int safe[] = {
        XENMEM_maximum_ram_page, XENMEM_current_reservation, XENMEM_maximum_reservation,
        XENMEM_machphys_mfn_list, XENMEM_add_to_physmap, XENMEM_memory_map,
        XENMEM_machine_memory_map, XENMEM_machphys_mapping, XENMEM_set_memory_map,
        XENMEM_maximum_gpfn, XENMEM_remove_from_physmap, XENMEM_set_pod_target,
        XENMEM_get_pod_target, 18, 19, 20, 21, 22, 24, 27, /* toolstack-only numbers */

        XENMEM_add_to_physmap_batch,
        XENMEM_machphys_compat_mfn_list, XENMEM_get_vnumainfo,
        XENMEM_acquire_resource, 29, 30, 63,
    };
    unsigned int cmd;
    unsigned long arg = (unsigned long)scratch(v);
    uint64_t *w = (uint64_t *)scratch(v);

    fill_random(v, scratch(v), 256);
    if (chance(v, 25)) {
        /* Reservation ops with extent lists the hypervisor cannot read:
         * they may do nothing (a valid list would give frames away). */
        static const unsigned int res[] = { XENMEM_increase_reservation,
            XENMEM_decrease_reservation, XENMEM_populate_physmap, XENMEM_exchange };
        struct xen_memory_reservation *r = (void *)scratch(v);

        cmd = res[below(v, ARRAY_SIZE(res))];
        set_xen_guest_handle(r->extent_start, (xen_pfn_t *)(chance(v, 50) ?
                             0xffff800000000000UL + below(v, 4096) * 8 :
                             0x0000800000000000UL));
        r->nr_extents = chance(v, 50) ? 0 : rnd_count(v);
        r->extent_order = (unsigned int)below(v, 20);
        r->mem_flags = (unsigned int)rnd(v);
        r->domid = chance(v, 70) ? DOMID_SELF : rnd_domid(v);
        if (cmd == XENMEM_exchange) {
            struct xen_memory_exchange *x = (void *)scratch(v);

            x->out = x->in;
            x->nr_exchanged = 0;
        }
        if (cmd == XENMEM_increase_reservation || cmd == XENMEM_populate_physmap) {
            /* A NULL list is allowed for increase: keep a count of 0. */
            r->nr_extents = 0;
        }
    } else {
        cmd = safe[below(v, ARRAY_SIZE(safe))];
        w[0] = chance(v, 50) ? DOMID_SELF : (uint64_t)rnd_domid(v);
        if (cmd == XENMEM_current_reservation || cmd == XENMEM_maximum_reservation ||
            cmd == XENMEM_maximum_gpfn || cmd == XENMEM_get_pod_target)
            *(domid_t *)scratch(v) = rnd_domid(v);
        if (cmd == XENMEM_memory_map || cmd == XENMEM_machine_memory_map) {
            struct xen_memory_map *m = (void *)scratch(v);

            m->nr_entries = (unsigned int)(chance(v, 70) ? below(v, 64) : rnd_count(v));
            set_xen_guest_handle(m->buffer, (void *)(chance(v, 70) ?
                                 (unsigned long)scratch(v) + PAGE_SIZE : rnd_va(v)));
        }
        if (cmd == XENMEM_machphys_mfn_list) {
            struct xen_machphys_mfn_list *l = (void *)scratch(v);

            l->max_extents = (unsigned int)(chance(v, 70) ? below(v, 64) : rnd_count(v));
            set_xen_guest_handle(l->extent_start, (xen_pfn_t *)(chance(v, 70) ?
                                 (unsigned long)scratch(v) + PAGE_SIZE : rnd_va(v)));
        }
        if (cmd == XENMEM_add_to_physmap || cmd == XENMEM_remove_from_physmap ||
            cmd == XENMEM_add_to_physmap_batch)
            for (unsigned int i = 1; i < 8; i++)
                w[i] |= 1UL << 40;      /* never a frame of the image */
        if (chance(v, 10))
            cmd |= (unsigned int)below(v, 1 << 20) << 6;   /* MEMOP_EXTENT_SHIFT */
    }
    if (chance(v, 8))
        arg = rnd_bad_va(v);
    hc(v, F_MEMORY, __HYPERVISOR_memory_op, cmd, arg, 0, 0, 0);
}

static void op_version(struct vstate *v)
{
    unsigned long cmd = chance(v, 85) ? below(v, 11) : rnd_count(v);
    unsigned long arg = chance(v, 60) ? (unsigned long)scratch(v) + below(v, 64) : rnd_va(v);

    hc(v, F_VERSION, __HYPERVISOR_xen_version, cmd, arg, 0, 0, 0);
}

static void op_console(struct vstate *v)
{
    char *buf = (char *)scratch(v);
    unsigned long cmd = chance(v, 70) ? CONSOLEIO_write :
                        chance(v, 50) ? CONSOLEIO_read : rnd_count(v);
    unsigned long count, arg;

    /* Printable and harmless for the runners' greps. */
    for (unsigned int i = 0; i < 64; i++)
        buf[i] = (char)('a' + below(v, 26));
    buf[63] = '\n';
    if (chance(v, 60)) {
        count = below(v, 65);
        arg = (unsigned long)buf;
        if (count)
            buf[count - 1] = '\n';     /* one line of its own */
    } else {
        count = rnd_count(v);
        arg = rnd_bad_va(v);
        if (arg >= (unsigned long)scratch(v) && arg < (unsigned long)scratch(v) + SCRATCH_BYTES + PAGE_SIZE)
            arg = 0;
    }
    if (cmd == CONSOLEIO_read) {
        arg = chance(v, 60) ? (unsigned long)scratch(v) + PAGE_SIZE : rnd_va(v);
        if (in_scratch(v, arg) && count > PAGE_SIZE)
            count = PAGE_SIZE;
    }
    hc(v, F_CONSOLE, __HYPERVISOR_console_io, cmd, count, arg, 0, 0);
}

static void op_physdev(struct vstate *v, bool compat)
{
    unsigned int cmd = chance(v, 30) ? (unsigned int)(chance(v, 50) ? PHYSDEVOP_set_iopl :
                                                       PHYSDEVOP_set_iobitmap)
                                     : (unsigned int)below(v, 36);
    uint32_t *w;
    struct physdev_op *cop = (struct physdev_op *)scratch(v);

    w = compat ? (uint32_t *)&cop->u : (uint32_t *)scratch(v);
    fill_random(v, scratch(v), 128);
    switch (cmd) {
    case PHYSDEVOP_set_iopl:
        w[0] = (uint32_t)(chance(v, 80) ? below(v, 4) : rnd(v));
        break;
    case PHYSDEVOP_set_iobitmap: {
        struct physdev_set_iobitmap *b = (void *)w;

        set_xen_guest_handle(b->bitmap, (uint8_t *)(chance(v, 40) ? (unsigned long)scratch(v) + PAGE_SIZE :
                                                     chance(v, 30) ? 0 : rnd_va(v)));
        b->nr_ports = (uint32_t)(chance(v, 60) ? below(v, 65537) : rnd(v));
        break;
    }
    case PHYSDEVOP_pirq_eoi_gmfn_v1: case PHYSDEVOP_pirq_eoi_gmfn_v2:
        /* A frame the guest does not have: never one of the image's. */
        *(uint64_t *)w = (1UL << 44) + below(v, 99);
        break;
    }
    if (compat) {
        cop->cmd = cmd;
        hc(v, F_COMPAT, __HYPERVISOR_physdev_op_compat,
           chance(v, 95) ? (unsigned long)cop : rnd_bad_va(v), 0, 0, 0, 0);
    } else {
        hc(v, F_PHYSDEV, __HYPERVISOR_physdev_op, cmd,
           chance(v, 95) ? (unsigned long)w : rnd_bad_va(v), 0, 0, 0);
    }
}

static void op_gnttab(struct vstate *v)
{
    static const unsigned int cmds[] = {
        GNTTABOP_map_grant_ref, GNTTABOP_unmap_grant_ref, GNTTABOP_setup_table,
        GNTTABOP_dump_table, GNTTABOP_query_size, GNTTABOP_unmap_and_replace,
        GNTTABOP_set_version, GNTTABOP_get_status_frames, GNTTABOP_get_version,
        GNTTABOP_swap_grant_ref, GNTTABOP_cache_flush, GNTTABOP_copy, 13, 99,
    };
    unsigned int cmd = cmds[below(v, ARRAY_SIZE(cmds))];
    unsigned long count = chance(v, 70) ? below(v, 3) + 1 : rnd_count(v);
    uint8_t *s = scratch(v);

    fill_random(v, s, 512);
    switch (cmd) {
    case GNTTABOP_map_grant_ref: {
        struct gnttab_map_grant_ref *m = (void *)s;

        for (unsigned int i = 0; i < 3; i++) {
            m[i].host_addr = SB_VA + below(v, 80) * PAGE_SIZE;
            m[i].flags = (uint32_t)below(v, 64);
            m[i].ref = (grant_ref_t)(chance(v, 50) ? below(v, 64) : rnd(v));
            m[i].dom = rnd_domid(v);
        }
        break;
    }
    case GNTTABOP_unmap_grant_ref: case GNTTABOP_unmap_and_replace: {
        struct gnttab_unmap_grant_ref *u = (void *)s;

        for (unsigned int i = 0; i < 3; i++) {
            u[i].host_addr = SB_VA + below(v, 80) * PAGE_SIZE;
            u[i].dev_bus_addr = 0;
            u[i].handle = (grant_handle_t)rnd(v);
        }
        break;
    }
    case GNTTABOP_setup_table: {
        struct gnttab_setup_table *t = (void *)s;

        t->dom = rnd_domid(v);
        t->nr_frames = (uint32_t)(chance(v, 60) ? below(v, 70) : rnd(v));
        set_xen_guest_handle(t->frame_list, (xen_pfn_t *)(chance(v, 70) ?
                             (unsigned long)s + PAGE_SIZE : rnd_va(v)));
        if (t->nr_frames > 64 && chance(v, 70))
            t->nr_frames = 64;
        break;
    }
    case GNTTABOP_set_version:
        *(uint32_t *)s = (uint32_t)(chance(v, 70) ? 1 : below(v, 4));
        if (*(uint32_t *)s == 2)
            *(uint32_t *)s = 3;
        break;
    case GNTTABOP_copy: {
        struct gnttab_copy *c = (void *)s;

        /* Grant references only (GNTCOPY_source/dest_gref): a frame
         * number would name one of the guest's own frames. */
        for (unsigned int i = 0; i < 3; i++) {
            c[i].flags = GNTCOPY_source_gref | GNTCOPY_dest_gref;
            c[i].source.domid = rnd_domid(v);
            c[i].dest.domid = rnd_domid(v);
            c[i].source.u.ref = (grant_ref_t)below(v, 64);
            c[i].dest.u.ref = (grant_ref_t)below(v, 64);
            c[i].len = (uint16_t)below(v, 8192);
        }
        break;
    }
    case GNTTABOP_query_size: case GNTTABOP_dump_table: case GNTTABOP_get_version:
        *(domid_t *)s = rnd_domid(v);
        break;
    }
    /* Every entry of a grant op is processed, failing or not: a count
     * past the three built only with a pointer the hypervisor must
     * refuse (scratch behind them could name the guest's own frames). */
    {
        unsigned long ptr = chance(v, 92) ? (unsigned long)s : rnd_bad_va(v);

        if (count > 3 && (in_scratch(v, ptr) || (ptr >= SB_VA && ptr < SB_VA + (8UL << 39))))
            ptr = 0xffff800000000000UL + below(v, 1UL << 30);
        hc(v, F_GNTTAB, __HYPERVISOR_grant_table_op, cmd, ptr, count, 0, 0);
    }
}

static void op_multicall(struct vstate *v)
{
    multicall_entry_t *mc = (multicall_entry_t *)scratch(v);
    unsigned long n = below(v, 6);

    for (unsigned long i = 0; i < n; i++) {
        memset(&mc[i], 0, sizeof(mc[i]));
        switch (below(v, 7)) {
        case 0:
            mc[i].op = __HYPERVISOR_xen_version;
            mc[i].args[0] = below(v, 12);
            mc[i].args[1] = chance(v, 50) ? 0 : rnd_va(v);
            if (mc[i].args[1] >= (unsigned long)mc && mc[i].args[1] < (unsigned long)mc + PAGE_SIZE)
                mc[i].args[1] = 0;
            break;
        case 1:
            mc[i].op = __HYPERVISOR_update_va_mapping;
            mc[i].args[0] = SB_VA + below(v, 80) * PAGE_SIZE;
            mc[i].args[1] = rnd_pte(v);
            mc[i].args[2] = below(v, 8) & ~4UL;
            break;
        case 2:
            mc[i].op = __HYPERVISOR_mmuext_op;      /* pointer the hypervisor cannot read */
            mc[i].args[0] = rnd_va(v) | 0xffff800000000000UL;
            mc[i].args[1] = rnd_count(v);
            mc[i].args[3] = DOMID_SELF;
            break;
        case 3:
            mc[i].op = __HYPERVISOR_multicall;      /* nested */
            mc[i].args[0] = (unsigned long)mc;
            mc[i].args[1] = n;
            break;
        case 4:
            mc[i].op = __HYPERVISOR_sched_op;
            mc[i].args[0] = SCHEDOP_yield;
            break;
        case 5:
            mc[i].op = 64 + below(v, 1000);
            mc[i].args[0] = rnd(v);
            break;
        default:
            mc[i].op = __HYPERVISOR_vcpu_op;
            mc[i].args[0] = VCPUOP_is_up;
            mc[i].args[1] = rnd_vcpu(v);
            break;
        }
    }
    /* Entries past the built ones: a hypercall number no one serves.
     * Every entry runs, so a larger count goes with a pointer the
     * hypervisor cannot read. */
    for (unsigned long i = n; i < PAGE_SIZE / sizeof(*mc); i++) {
        memset(&mc[i], 0, sizeof(mc[i]));
        mc[i].op = 0xffff;
    }
    {
        unsigned long ptr = chance(v, 90) ? (unsigned long)mc : rnd_bad_va(v);
        unsigned long count = chance(v, 90) ? n : rnd_count(v);

        if (count > PAGE_SIZE / sizeof(*mc) &&
            (in_scratch(v, ptr) || (ptr >= SB_VA && ptr < SB_VA + (8UL << 39))))
            ptr = 0xffff800000000000UL + below(v, 1UL << 30);
        hc(v, F_MULTICALL, __HYPERVISOR_multicall, ptr, count, 0, 0, 0);
    }
}

static void op_vm_assist(struct vstate *v)
{
    unsigned long cmd = chance(v, 90) ? below(v, 2) : rnd_count(v);
    unsigned long type = chance(v, 80) ? below(v, 7) : (chance(v, 50) ? 32 : rnd_count(v));

    hc(v, F_VMASSIST, __HYPERVISOR_vm_assist, cmd, type, 0, 0, 0);
}

static void op_sysctl(struct vstate *v)
{
    uint32_t *w = (uint32_t *)scratch(v);

    fill_random(v, scratch(v), 256);
    w[0] = (uint32_t)below(v, 60);      /* cmd */
    if (chance(v, 50))
        w[1] = chance(v, 50) ? 0x15 : 0x14;   /* interface versions 4.17 and older */
    if (w[0] == 2 /* debug_keys */ && chance(v, 80))
        w[0] = 3;
    hc(v, F_SYSCTL, chance(v, 50) ? __HYPERVISOR_sysctl : __HYPERVISOR_domctl,
       chance(v, 90) ? (unsigned long)w : rnd_bad_va(v), 0, 0, 0, 0);
}

static void op_timer(struct vstate *v)
{
    uint64_t now = guest_system_time_ns(&shinfo->vcpu_info[v->id].time);

    hc(v, F_TIMER, __HYPERVISOR_set_timer_op,
       chance(v, 60) ? now + below(v, 5000000) : rnd(v) >> below(v, 64), 0, 0, 0, 0);
}

static void op_other(struct vstate *v)
{
    static const unsigned int nrs[] = { 7, 11, 27, 28, 31, 34, 37, 38, 39, 40, 41,
                                        42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,
                                        53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63 };
    unsigned int nr = nrs[below(v, ARRAY_SIZE(nrs))];
    unsigned long a1 = below(v, 32), a2 = (unsigned long)scratch(v);

    fill_random(v, scratch(v), 512);
    if (nr == 28) {
        shinfo->vcpu_info[v->id].evtchn_upcall_mask = 1;
        /* nmi_op: never a bad NMI callback (a sent NMI would crash the
         * guest): unregister or a bad command. */
        a1 = chance(v, 50) ? XENNMI_unregister_callback : 2 + below(v, 100);
    }
    if (chance(v, 10))
        a2 = rnd_bad_va(v);
    hc(v, F_OTHER, nr, a1, a2, rnd(v), rnd(v), rnd(v));
    if (nr == 28)
        vcpu_setup(v);
}

static void op_beyond(struct vstate *v)
{
    static const unsigned long nrs[] = { 64, 65, 100, 127, 128, 255, 256, 4096,
                                         0x7fffffff, 0x80000000UL, 0xffffffffUL,
                                         1UL << 32, ~0UL };

    unsigned long nr = nrs[below(v, ARRAY_SIZE(nrs))];

    v->what = "hypercall beyond 63";
    v->what_nr = nr;
    if (trace)
        printk("gfuzz: v%u op %lu raw hc %#lx\n", v->id, v->ops, nr);
    {
        unsigned long a1 = rnd(v), a2 = rnd_va(v), a3 = rnd(v);
        long rc = gf_raw_hypercall(nr, a1, a2, a3, 0, 0);

        note(v, F_BEYOND, rc);
        if (rc < -(long)NR_ERRNO)
            printk("gfuzz: v%u op %lu: hypercall %#lx (%#lx, %#lx, %#lx) returned %ld, "
                   "not an errno\n", v->id, v->ops, nr, a1, a2, a3, rc);
    }
}

static void op_fpu_stack_seg(struct vstate *v)
{
    switch (below(v, 3)) {
    case 0:
        hc(v, F_FPU, __HYPERVISOR_fpu_taskswitch, chance(v, 90) ? below(v, 2) : rnd(v),
           0, 0, 0, 0);
        break;
    case 1:
        hc(v, F_STACK, __HYPERVISOR_stack_switch,
           chance(v, 60) ? FLAT_KERNEL_SS : rnd(v) & 0xffff,
           chance(v, 60) ? (unsigned long)(ap_stack[v->id] + sizeof(ap_stack[0])) : rnd_va(v),
           0, 0, 0);
        break;
    default: {
        unsigned long which = chance(v, 90) ? below(v, 5) : rnd(v);
        unsigned long val = which == SEGBASE_GS_USER_SEL ? (rnd(v) & 0xffff) : rnd_va(v);

        hc(v, F_SEGBASE, __HYPERVISOR_set_segment_base, which, val, 0, 0, 0);
        /* The guest relies on no segment base: put them back to 0. */
        hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0);
        hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, 0);
        break;
    }
    }
}

/* HYPERVISOR_iret with a fuzzed frame, always to guest kernel mode (RPL 0
 * of cs: Xen crashes a domain that irets to user mode without user page
 * tables). Lands at the recovery label, in a trap or in the failsafe. */
static void op_iret(struct vstate *v)
{
    uint64_t *fr = (uint64_t *)(scratch(v) + 2048);
    /* A bad cs comes from the hypervisor's reserved GDT area (0xe000
     * up: null, data, TSS and LDT descriptors that iret must refuse),
     * never FLAT_RING3_CS32 and never a selector of our own GDT/LDT,
     * which the fuzzer fills with random descriptors: an iret that lands
     * the recovery label in a 32-bit code segment runs it with a
     * truncated stack, and the next event's bounce frame cannot be
     * written there, a guest crash under Xen's rules and any shim's. */
    uint64_t cs = chance(v, 60) ? FLAT_KERNEL_CS : (0xe000 | (rnd(v) & 0x1ffc));
    uint64_t ss = chance(v, 60) ? FLAT_KERNEL_SS : (rnd(v) & 0xfffc);
    uint64_t fl = chance(v, 3) ? VGCF_in_syscall : 0;

    if ((cs & ~7UL) == (FLAT_RING3_CS32 & ~7UL))
        cs = 0;                 /* the null selector instead */
    /* FLAT_KERNEL_CS has RPL 3 (a 64-bit PV kernel runs in ring 3): the
     * frame of a return to kernel mode carries RPL 0, as Xen's own bounce
     * frames do ("indicate kernel context", x86_64/entry.S); RPL 3 means
     * user mode to do_iret. */
    cs &= ~3UL;
    v->what = "iret";
    v->fam[F_IRET]++;
    fr[0] = fl;
    fr[2] = cs;
    fr[3] = 0x2 | (chance(v, 70) ? 0 : (rnd(v) & 0x30d5));    /* arithmetic flags, IOPL */
    fr[5] = ss;
    if (trace)
        printk("gfuzz: v%u op %lu iret cs %#lx ss %#lx flags %#lx\n", v->id, v->ops,
               cs, ss, fl);
    asm volatile ("lea 1f(%%rip), %%rax\n\t"
                  "mov %%rax, 8(%0)\n\t"
                  "mov %%rsp, 32(%0)\n\t"
                  "mov %%rsp, %%rbx\n\t"
                  "mov %0, %%rsp\n\t"
                  "jmp hypercall_page + 23 * 32\n"
                  "1:\n\t"
                  "mov %%rbx, %%rsp"
                  : : "r" (fr) : "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
                    "r8", "r9", "r10", "r11", "memory");
}

/* ---------------------------------------------------------- trap ops - */

static void op_trap(struct vstate *v)
{
    unsigned long va;
    uint64_t val;
    unsigned int k = (unsigned int)below(v, 22);

    v->what = "trap";
    v->what_nr = k;
    v->fam[F_TRAP]++;
    if (trace)
        printk("gfuzz: v%u op %lu trap kind %u\n", v->id, v->ops, k);
    switch (k) {
    case 0: asm volatile ("ud2"); break;
    case 1: asm volatile ("int3"); break;
    case 2: {
        /* int $n for a random n: a patched immediate in the scratch is
         * not executable, so a table of the 256 forms would be needed;
         * a few fixed ones instead. */
        switch (below(v, 8)) {
        case 0: asm volatile ("int $0x80"); break;
        case 1: asm volatile ("int $0x82"); break;
        case 2: asm volatile ("int $0x0e"); break;
        case 3: asm volatile ("int $0x02"); break;
        case 4: asm volatile ("int $0x20"); break;
        case 5: asm volatile ("int $0xff"); break;
        case 6: asm volatile ("int $0x0d"); break;
        default: asm volatile ("int $0x41"); break;
        }
        break;
    }
    case 3: asm volatile ("cli; sti; cli"); break;
    case 4: arm_timer(v, 1000000); asm volatile ("hlt"); break;   /* #GP, or a block */
    case 5: { unsigned long x; asm volatile ("mov %%cr0, %0" : "=r" (x)); break; }
    case 6: { unsigned long x; asm volatile ("mov %%cr3, %0; mov %0, %%cr3" : "=r" (x)); break; }
    case 7: { unsigned long x = rnd(v) & 0xffff; asm volatile ("mov %0, %%cr4" :: "r" (x)); break; }
    case 8: { unsigned long x; asm volatile ("mov %%dr7, %0; mov %%dr6, %0" : "=r" (x)); break; }
    case 9: {
        uint32_t msr = chance(v, 50) ? (uint32_t)rnd(v) :
                       (uint32_t)(0xc0000080 + below(v, 0x110));
        uint32_t lo, hi;

        asm volatile ("rdmsr" : "=a" (lo), "=d" (hi) : "c" (msr));
        if (chance(v, 30) && !(msr >= 0x40000000 && msr < 0x40010000) &&
            msr != 0xc0000100 && msr != 0xc0000101 && msr != 0xc0000102)
            asm volatile ("wrmsr" :: "a" (lo), "d" (hi), "c" (msr));
        break;
    }
    case 10: {
        uint16_t port = chance(v, 50) ? (uint16_t)rnd(v) : (uint16_t)(0x60 + below(v, 0x20));
        uint32_t x = (uint32_t)rnd(v);

        if (port == 0xf4 || port == 0xf5)
            port = 0x80;                  /* QEMU's isa-debug-exit: never */
        if (chance(v, 50))
            asm volatile ("inl %1, %0" : "=a" (x) : "Nd" (port));
        else
            asm volatile ("outb %b0, %1" :: "a" (x), "Nd" (port));
        break;
    }
    case 11: {
        uint16_t sel = (uint16_t)rnd(v);

        switch (below(v, 4)) {
        case 0: asm volatile ("mov %0, %%ds" :: "r" (sel)); break;
        case 1: asm volatile ("mov %0, %%es" :: "r" (sel)); break;
        case 2: asm volatile ("mov %0, %%fs" :: "r" (sel)); break;
        default: asm volatile ("mov %0, %%gs" :: "r" (sel)); break;
        }
        break;
    }
    case 12: {
        /* Reads and writes where the guest has nothing, or the sandbox. */
        va = rnd_va(v);
        if (va >= (unsigned long)scratch(v) && va < (unsigned long)scratch(v) + SCRATCH_BYTES)
            va = SB_VA;
        if (chance(v, 50))
            val = *(volatile uint64_t *)va;
        else
            *(volatile uint64_t *)va = rnd_pte(v);
        (void)val;
        break;
    }
    case 13: {
        /* A write to the guest's own live L4 (read-only: #PF, or emulated
         * as an update with VMASST_TYPE_writable_pagetables): sandbox
         * slots and the hypervisor's only. */
        unsigned int slot = chance(v, 60) ? SB_SLOT + (unsigned int)below(v, 8) :
                                            256 + (unsigned int)below(v, 16);

        ((volatile uint64_t *)l4_va)[slot] = rnd_pte(v);
        break;
    }
    case 14: {
        unsigned long z = 0, q;
        asm volatile ("xor %%edx, %%edx; mov $1, %%eax; divq %1" : "=a" (q) : "r" (z) : "rdx");
        (void)q;
        break;
    }
    case 15:
        asm volatile ("pushf; orl $0x100, (%%rsp); popf; nop; nop" ::: "memory", "cc");
        break;
    case 16: asm volatile ("fninit"); break;     /* #NM when fpu_taskswitch(1) */
    case 17: { uint64_t x; asm volatile ("mov $0x8000000000000000, %0; mov (%0), %0" : "=r" (x)); break; }
    case 18: { char d[10]; asm volatile ("sgdt %0; sidt %0; lgdt %0" : "+m" (d)); break; }
    case 19: asm volatile ("clts; wbinvd; invd"); break;
    case 20: {
        uint16_t sel = (uint16_t)(rnd(v) & 0xfffc);
        asm volatile ("lldt %0" :: "r" (sel));
        break;
    }
    default: {
        uint16_t sel = (uint16_t)rnd(v);
        asm volatile ("verr %0; verw %0; lsl %0, %0; lar %0, %0" : "+r" (sel) :: "cc");
        break;
    }
    }
}

/* ---------------------------------------------------------- self-checks - */

static uint64_t text_checksum(void)
{
    const uint64_t *p = (const uint64_t *)_image_start;
    const uint64_t *end = (const uint64_t *)((unsigned long)_image_start + 64 * 1024);
    uint64_t s = 0;

    /* The first 64 KiB: head, hypercall page, text. */
    for (; p < end; p++)
        s = (s ^ *p) * 0x100000001b3ULL;
    return s;
}

static bool selfcheck(struct vstate *v)
{
    long rc;
    struct evtchn_send send = { .port = v->self_port };
    unsigned long p = v->self_port, i;

    v->selfchecks++;
    for (i = 0; i < PATTERN_WORDS; i++)
        if (!check(pattern[i] == ((i * 0x9e3779b97f4a7c15ULL) ^ 0x5a17), "vCPU %u: pattern word %lu "
                   "changed (%#lx)", v->id, i, (unsigned long)pattern[i]))
            return false;
    for (i = 0; i < 512; i++) {
        if (i >= SB_SLOT && i < SB_SLOT + 8)
            continue;
        if (!check(l4_va[i] == l4_boot[i], "vCPU %u: L4 slot %lu changed: %#lx, was %#lx",
                   v->id, i, (unsigned long)l4_va[i], (unsigned long)l4_boot[i]))
            return false;
    }
    if (!check(text_checksum() == text_sum, "vCPU %u: the guest's text changed", v->id))
        return false;
    rc = hypercall_xen_version(XENVER_version, NULL);
    if (!check(rc == version_boot, "vCPU %u: xen_version now %#lx, was %#lx", v->id, rc,
               version_boot))
        return false;
    /* The trap table still delivers. */
    v->in_try = 1;
    if (guest_setjmp(&v->jb) == 0) {
        asm volatile ("ud2");
        v->in_try = 0;
        check(false, "vCPU %u: ud2 did not trap", v->id);
        return false;
    }
    v->traps[6]--;                      /* not a fuzz trap */
    /* An event to itself is pending afterwards. */
    __atomic_fetch_and(&shinfo->evtchn_pending[p / 64], ~(1UL << (p % 64)), __ATOMIC_SEQ_CST);
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send);
    if (!check(rc == 0, "vCPU %u: send to its own port %lu: %ld", v->id, p, rc))
        return false;
    if (!check(__atomic_load_n(&shinfo->evtchn_pending[p / 64], __ATOMIC_SEQ_CST) & (1UL << (p % 64)),
               "vCPU %u: its own port %lu not pending after a send", v->id, p))
        return false;
    __atomic_fetch_and(&shinfo->evtchn_pending[p / 64], ~(1UL << (p % 64)), __ATOMIC_SEQ_CST);
    /* Debug registers off again (a fuzzed breakpoint could fire in the
     * checks' own code only at sandbox addresses, but keep it quiet). */
    hypercall2(__HYPERVISOR_set_debugreg, 7, 0);
    return true;
}

/* ------------------------------------------------------------- the loop - */

static void one_op(struct vstate *v)
{
    unsigned int w = (unsigned int)below(v, 100);

    if (w < 12) op_mmu_update(v);
    else if (w < 22) op_mmuext(v);
    else if (w < 30) op_uvm(v, false);
    else if (w < 32) op_uvm(v, true);
    else if (w < 36) op_gnttab(v);
    else if (w < 44) op_evtchn(v, false);
    else if (w < 45) op_evtchn(v, true);
    else if (w < 50) op_vcpu(v);
    else if (w < 54) op_sched(v, false);
    else if (w < 55) op_sched(v, true);
    else if (w < 56) op_trap_table(v);
    else if (w < 57) op_callbacks(v);
    else if (w < 59) op_gdt(v);
    else if (w < 61) op_desc(v);
    else if (w < 63) op_fpu_stack_seg(v);
    else if (w < 65) op_debugreg(v);
    else if (w < 68) op_memory(v);
    else if (w < 70) op_version(v);
    else if (w < 71) op_console(v);
    else if (w < 73) op_physdev(v, chance(v, 20));
    else if (w < 75) op_multicall(v);
    else if (w < 76) op_vm_assist(v);
    else if (w < 77) op_sysctl(v);
    else if (w < 79) op_iret(v);
    else if (w < 80) op_timer(v);
    else if (w < 82) op_other(v);
    else if (w < 83) op_beyond(v);
    else op_trap(v);
}

static void fuzz_loop(struct vstate *v)
{
    uint64_t t0 = guest_system_time_ns(&shinfo->vcpu_info[v->id].time);

    __atomic_fetch_add(&vcpus_running, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        if (max_ops && v->ops >= max_ops)
            break;
        if (guest_setjmp(&v->jb) == 0) {
            v->in_try = 1;
            one_op(v);
        }
        v->in_try = 0;
        /* The guest uses flat null data selectors and no FS/GS base. */
        asm volatile ("mov %0, %%ds; mov %0, %%es; mov %0, %%fs; mov %0, %%gs"
                      :: "r" (0) : "memory");
        v->ops++;
        __atomic_store_n(&v->progress, v->ops, __ATOMIC_RELEASE);
        if (v->ops % SELFCHECK_EVERY == 0) {
            if (!selfcheck(v))
                break;
            (void)t0;
        }
    }
    v->done = true;
}

void ap_main(unsigned long id);
GUEST_AP_ENTRY(ap_entry, ap_main);

void ap_main(unsigned long id)
{
    struct vstate *v = &vs[id % MAX_VCPUS];

    vcpu_setup(v);
    fuzz_loop(v);
    for (;;)
        hypercall_vcpu_op(VCPUOP_down, v->id, NULL);
}

static unsigned long arg_num(const char *args, const char *key, unsigned long def)
{
    const char *p = strstr(args, key);
    unsigned long n = 0;
    size_t kl = strlen(key);

    if (!p || (p != args && p[-1] != ' '))
        return def;
    p += kl;
    if (*p < '0' || *p > '9')
        return def;
    for (; *p >= '0' && *p <= '9' && n < (1UL << 40); p++)
        n = n * 10 + (unsigned long)(*p - '0');
    return n;
}

static evtchn_port_t bind(unsigned int cmd, void *arg, evtchn_port_t *out, const char *what)
{
    long rc = hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);

    if (rc)
        test_fatal("%s: %ld", what, rc);
    return *out;
}

static void build_sandbox(void)
{
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;
    unsigned long nr = start_info->nr_pages;
    mmu_update_t u[3 + SB_FRAMES];
    struct mmuext_op op;
    unsigned int n = 0;
    long rc;

    for (unsigned int i = 0; i < SB_FRAMES; i++) {
        sb_mfn[i] = p2m[nr - SB_FRAMES + i];
        memset(&op, 0, sizeof(op));
        op.cmd = MMUEXT_CLEAR_PAGE;
        op.arg1.mfn = sb_mfn[i];
        rc = hypercall4(__HYPERVISOR_mmuext_op, &op, 1, NULL, DOMID_SELF);
        if (rc)
            test_fatal("clear sandbox frame %u: %ld", i, rc);
    }
    for (unsigned long pfn = 0; pfn < nr; pfn++)
        if (p2m[pfn] > max_mfn)
            max_mfn = p2m[pfn];
    /* L1 (frame 2) maps frames 8..63 at window pages 8..63, writable. */
    for (unsigned int i = 8; i < SB_FRAMES; i++, n++) {
        u[n].ptr = ((uint64_t)sb_mfn[2] << PAGE_SHIFT) + i * 8;
        u[n].val = pte(sb_mfn[i], _P | _RW | _US | _A | _D);
    }
    u[n].ptr = ((uint64_t)sb_mfn[1] << PAGE_SHIFT);        /* L2[0] -> L1 */
    u[n++].val = pte(sb_mfn[2], _P | _RW | _US | _A);
    u[n].ptr = ((uint64_t)sb_mfn[0] << PAGE_SHIFT);        /* L3[0] -> L2 */
    u[n++].val = pte(sb_mfn[1], _P | _RW | _US | _A);
    u[n].ptr = ((uint64_t)l4_mfn << PAGE_SHIFT) + SB_SLOT * 8;
    u[n++].val = pte(sb_mfn[0], _P | _RW | _US | _A);
    rc = hypercall4(__HYPERVISOR_mmu_update, u, n, NULL, DOMID_SELF);
    if (rc)
        test_fatal("build the sandbox tables: %ld", rc);
    *(volatile uint64_t *)(SB_VA + 8 * PAGE_SIZE) = 0x5a;
}

static void summary(void)
{
    unsigned long fam[NR_FAMILIES] = { 0 }, err[NR_ERRNO] = { 0 }, traps[256] = { 0 };
    unsigned long ops = 0, zero = 0, pos = 0, odd = 0, fs = 0, nmi = 0, up = 0, sc = 0;
    long odd_last = 0;
    char line[200];
    int len;

    for (unsigned int i = 0; i < nr_vcpus; i++) {
        struct vstate *v = &vs[i];

        ops += v->ops; zero += v->rc_zero; pos += v->rc_pos; odd += v->rc_odd;
        fs += v->failsafes; nmi += v->nmis; up += v->upcalls; sc += v->selfchecks;
        if (v->rc_odd)
            odd_last = v->rc_odd_last;
        for (unsigned int f = 0; f < NR_FAMILIES; f++)
            fam[f] += v->fam[f];
        for (unsigned int e = 0; e < NR_ERRNO; e++)
            err[e] += v->rc_err[e];
        for (unsigned int t = 0; t < 256; t++)
            traps[t] += v->traps[t];
        printk("gfuzz: vCPU %u: %lu operations, %lu self-checks\n", i, v->ops, v->selfchecks);
    }
    printk("gfuzz: %lu operations on %u vCPUs, %lu self-checks\n", ops, nr_vcpus, sc);
    len = snprintf(line, sizeof(line), "gfuzz: families:");
    for (unsigned int f = 0; f < NR_FAMILIES; f++) {
        if (len > 140) {
            printk("%s\n", line);
            len = snprintf(line, sizeof(line), "gfuzz: families:");
        }
        len += snprintf(line + len, sizeof(line) - (size_t)len, " %s=%lu", family_name[f], fam[f]);
    }
    printk("%s\n", line);
    len = snprintf(line, sizeof(line), "gfuzz: results: 0=%lu >0=%lu", zero, pos);
    for (unsigned int e = 1; e < NR_ERRNO; e++) {
        if (!err[e])
            continue;
        if (len > 150) {
            printk("%s\n", line);
            len = snprintf(line, sizeof(line), "gfuzz: results:");
        }
        len += snprintf(line + len, sizeof(line) - (size_t)len, " -%u=%lu", e, err[e]);
    }
    printk("%s other=%lu\n", line, odd);
    if (odd)
        printk("gfuzz: a result outside -1..-127 and >= 0: %ld\n", odd_last);
    len = snprintf(line, sizeof(line), "gfuzz: traps:");
    for (unsigned int t = 0; t < 256; t++) {
        if (!traps[t])
            continue;
        len += snprintf(line + len, sizeof(line) - (size_t)len, " %u=%lu", t, traps[t]);
        if (len > 150) {
            printk("%s\n", line);
            len = snprintf(line, sizeof(line), "gfuzz: traps:");
        }
    }
    printk("%s failsafe=%lu nmi=%lu upcalls=%lu\n", line, fs, nmi, up);
    /* Which results each family saw (0: success), for shim comparisons. */
    for (unsigned int f = 0; f < NR_FAMILIES; f++) {
        uint64_t m[2] = { 0, 0 };

        for (unsigned int i = 0; i < nr_vcpus; i++) {
            m[0] |= vs[i].fam_errs[f][0];
            m[1] |= vs[i].fam_errs[f][1];
        }
        if (!m[0] && !m[1])
            continue;
        len = snprintf(line, sizeof(line), "gfuzz: errnos %s:", family_name[f]);
        for (unsigned int e = 0; e < NR_ERRNO; e++)
            if (m[e / 64] & (1UL << (e % 64)))
                len += snprintf(line + len, sizeof(line) - (size_t)len, e ? " -%u" : " 0", e);
        printk("%s\n", line);
    }
}

void test_main(void)
{
    const char *args = (const char *)start_info->cmd_line;
    unsigned long seed = arg_num(args, "seed=", 1);
    unsigned long secs = arg_num(args, "time=", 10);
    unsigned long want = arg_num(args, "vcpus=", MAX_VCPUS);
    uint64_t t_end, last_check;
    unsigned long last_progress[MAX_VCPUS] = { 0 };
    uint64_t last_move[MAX_VCPUS] = { 0 };
    unsigned int id;

    trace = strstr(args, "trace") != NULL;
    max_ops = arg_num(args, "ops=", 0);
    if (start_info->nr_pages < 4096)
        test_skip("needs at least 16 MiB (nr_pages %lu)", start_info->nr_pages);
    shinfo = guest_map_shared_info();
    console_port = start_info->console.domU.evtchn;
    store_port = start_info->store_evtchn;
    l4_va = (const volatile uint64_t *)start_info->pt_base;
    l4_mfn = guest_mfn_of((const void *)start_info->pt_base);
    for (unsigned int i = 0; i < PATTERN_WORDS; i++)
        pattern[i] = (i * 0x9e3779b97f4a7c15ULL) ^ 0x5a17;

    /* Trap table: every vector; int $n reaches the guest for the vectors
     * with DPL 3 (3, 4 and every 16th from 0x20), #GP for the rest. */
    for (unsigned int i = 0; i < 256; i++) {
        trap_table[i].vector = (uint8_t)i;
        trap_table[i].flags = 4 | ((i == 3 || i == 4 || (i >= 0x20 && (i & 15) == 0)) ? 3 : 0);
        trap_table[i].cs = FLAT_KERNEL_CS;
        trap_table[i].address = gf_vec_table[i];
    }
    /* Vector 2 of a PV trap table is the NMI callback (Xen copies it to
     * trap_ctxt[TRAP_nmi]): the handler that returns with iret. */
    trap_table[2].address = (unsigned long)gf_nmi_entry;
    trap_table[256].address = 0;
    guest_event_hook = gf_event;

    for (nr_vcpus = 1; nr_vcpus < MAX_VCPUS && nr_vcpus < want; nr_vcpus++)
        if (hypercall_vcpu_op(VCPUOP_is_up, nr_vcpus, NULL) < 0)
            break;
    build_sandbox();
    for (unsigned int i = 0; i < 512; i++)
        l4_boot[i] = l4_va[i];
    text_sum = text_checksum();
    version_boot = hypercall_xen_version(XENVER_version, NULL);

    for (id = 0; id < nr_vcpus; id++) {
        struct evtchn_bind_ipi ipi = { .vcpu = id };
        struct evtchn_bind_virq virq = { .virq = VIRQ_TIMER, .vcpu = id };

        vs[id].id = id;
        vs[id].rng = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)(id + 1) << 32);
        vs[id].self_port = bind(EVTCHNOP_bind_ipi, &ipi, &ipi.port, "bind_ipi");
        vs[id].timer_port = bind(EVTCHNOP_bind_virq, &virq, &virq.port, "bind_virq(TIMER)");
        {
            /* Unmasked: SCHEDOP_block and hlt are woken by the timer. */
            struct evtchn_unmask um = { .port = vs[id].timer_port };

            hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask, &um);
        }
    }
    printk("gfuzz: seed %lu, %lu s, %u vCPUs%s%s; sandbox L4 slot %u, frames %#lx..., "
           "max mfn %#lx\n", seed, secs, nr_vcpus, trace ? ", trace" : "",
           max_ops ? ", ops limit" : "", SB_SLOT, sb_mfn[0], max_mfn);

    vcpu_setup(&vs[0]);
    if (test_failures())
        return;
    for (id = 1; id < nr_vcpus; id++) {
        long rc;

        guest_vcpu_ctx(&ap_ctx, (unsigned long)ap_entry,
                       (unsigned long)(ap_stack[id] + sizeof(ap_stack[id])), id, l4_mfn);
        ap_ctx.user_regs.rflags = 0x2;   /* events masked until its callbacks are in */
        rc = hypercall_vcpu_op(VCPUOP_initialise, id, &ap_ctx);
        check(rc == 0, "initialise vCPU %u: %ld", id, rc);
        rc = hypercall_vcpu_op(VCPUOP_up, id, NULL);
        check(rc == 0, "up vCPU %u: %ld", id, rc);
    }
    if (test_failures())
        return;

    t_end = guest_system_time_ns(&shinfo->vcpu_info[0].time) + secs * 1000000000ULL;
    last_check = 0;
    /* vCPU 0 fuzzes too, and between its operations watches the time and
     * the other vCPUs' progress. */
    {
        struct vstate *v = &vs[0];

        __atomic_fetch_add(&vcpus_running, 1, __ATOMIC_SEQ_CST);
        while (!test_failures()) {
            uint64_t now = guest_system_time_ns(&shinfo->vcpu_info[0].time);

            if ((!max_ops && now >= t_end) || (max_ops && v->ops >= max_ops))
                break;
            if (now - last_check > 100000000ULL) {
                last_check = now;
                for (id = 1; id < nr_vcpus; id++) {
                    unsigned long p = __atomic_load_n(&vs[id].progress, __ATOMIC_ACQUIRE);

                    if (p != last_progress[id] || vs[id].done || !last_move[id]) {
                        last_progress[id] = p;
                        last_move[id] = now;
                    } else if (now - last_move[id] > STALL_NS) {
                        test_fatal("vCPU %u made no progress for 20 s: in %s (nr %lu, "
                                   "args %#lx %#lx) after %lu operations", id,
                                   vs[id].what ? vs[id].what : "?", vs[id].what_nr,
                                   vs[id].what_a1, vs[id].what_a2, p);
                    }
                }
            }
            if (guest_setjmp(&v->jb) == 0) {
                v->in_try = 1;
                one_op(v);
            }
            v->in_try = 0;
            asm volatile ("mov %0, %%ds; mov %0, %%es; mov %0, %%fs; mov %0, %%gs"
                          :: "r" (0) : "memory");
            v->ops++;
            if (v->ops % SELFCHECK_EVERY == 0 && !selfcheck(v))
                break;
        }
        v->done = true;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (id = 1; id < nr_vcpus; id++) {
        uint64_t t0 = guest_system_time_ns(&shinfo->vcpu_info[0].time);

        while (!vs[id].done) {
            if (guest_system_time_ns(&shinfo->vcpu_info[0].time) - t0 > STALL_NS)
                test_fatal("vCPU %u did not stop: in %s (nr %lu, args %#lx %#lx)", id,
                           vs[id].what ? vs[id].what : "?", vs[id].what_nr,
                           vs[id].what_a1, vs[id].what_a2);
            hypercall_sched_op(SCHEDOP_yield, NULL);
        }
    }
    /* A last self-check on vCPU 0 after everyone stopped. */
    selfcheck(&vs[0]);
    summary();
    for (id = 0; id < nr_vcpus; id++)
        check(vs[id].ops > 0, "vCPU %u made no operation", id);
}
