/*
 * libFuzzer target for the PV MMU (pv/mm.c): the input is a program of
 * guest actions (raw writes to frames it may write, mmu_update batches,
 * mmuext_op batches, update_va_mapping, emulated page-table writes)
 * against a 64-frame machine. After
 * every action an oracle recounts, from the page tables alone, every type
 * and general reference the MMU must hold and compares with its counters;
 * it also checks that no frame used as a page table is writable, that
 * every mapped frame is the guest's, and that the shim's L4 slots are
 * intact. Any mismatch, sanitizer report or panic() is a crash.
 *
 * Links pv/mm.c alone: the few shim functions it calls are defined here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <minishim/arch.h>
#include <minishim/flush.h>
#include <minishim/layout.h>
#include <minishim/inject.h>
#include <minishim/ipi.h>
#include <minishim/pv_mm.h>
#include <minishim/xen-public.h>
#include "fuzz_input.h"

#define NF          64u                 /* frames of "RAM"                  */
#define GFIRST      16u                 /* guest frames GFIRST..NF-1 ...    */
#define SHIM_HOLE   40u                 /* ... except this one              */
#define GBUF_VA     0x200000ULL
#define GBUF_SIZE   0x2000u

static uint8_t mem[NF * PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t gbuf[GBUF_SIZE];
static struct pv_frame info[NF];
static uint64_t shim_l4[512];
static unsigned long m2p[NF];
static cpumask_t dirty;
static struct pv_mm_vcpu_state vcpu;
static uint64_t cr3;

/* ------------------------------------------------ the shim's side ----- */

void *arch_phys_to_virt(paddr_t p)
{
    if (p.pa >= sizeof(mem)) {
        fprintf(stderr, "pv_mm touched physical %llx outside RAM\n",
                (unsigned long long)p.pa);
        abort();
    }
    return mem + p.pa;
}

void arch_write_cr3(uint64_t v)
{
    if (v == 0 || (v >> PAGE_SHIFT) >= NF) {
        fprintf(stderr, "bad cr3 %llx\n", (unsigned long long)v);
        abort();
    }
    cr3 = v;
}

void arch_cpu_relax(void) { }
unsigned int arch_cpu_id(void) { return 0; }

/* No fault injection while fuzzing: the hooks in pv/mm.c see nothing armed. */
uint32_t inject_armed;
bool inject_fire(enum inject_point p) { (void)p; return false; }

void flush_local(const struct flush_request *req)
{
    if (!(req->flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL)) || (req->flags & FLUSH_NO_ASSIST))
        abort();                        /* guest flushes are plain */
}

void flush_mask(const cpumask_t *mask, unsigned int flags, vaddr_t va, unsigned int order)
{
    (void)va;
    if (cpumask_empty(mask) || order || !(flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL)))
        abort();
}

/* The TLB clock is off here (no stamps, nothing filtered), and one thread
 * never finds the MMU lock taken (no IPI to serve while spinning). */
uint64_t tlbclock_now(void) { return 0; }
void tlbclock_filter(cpumask_t *mask, uint64_t stamp) { (void)mask; if (stamp) abort(); }
void flush_stats_tlbclock_skipped(unsigned int nr_cpus) { if (nr_cpus) abort(); }
void ipi_service(void) { abort(); }
/* Page-table debug aids (shim/ptdebug.c) off; the spurious #PF check is
 * not here (the walk itself, shim/pt_walk.c, is: pv/mm.c uses it). */
unsigned int ptdebug_flags;
void ptdebug_set_gen_source(bool (*fn)(uint64_t pfn, uint32_t *gen)) { (void)fn; }

void panic(const char *fmt, ...)
{
    fprintf(stderr, "panic: %s\n", fmt);
    abort();
}

static bool is_guest(mfn_t m) { return m.mfn >= GFIRST && m.mfn < NF && m.mfn != SHIM_HOLE; }

static int copy_from(void *dst, uint64_t gva, size_t n)
{
    if (gva < GBUF_VA || gva + n > GBUF_VA + GBUF_SIZE || gva + n < gva)
        return -XEN_EFAULT;
    memcpy(dst, gbuf + (gva - GBUF_VA), n);
    return 0;
}

static int copy_to(uint64_t gva, const void *src, size_t n)
{
    if (gva < GBUF_VA || gva + n > GBUF_VA + GBUF_SIZE || gva + n < gva)
        return -XEN_EFAULT;
    memcpy(gbuf + (gva - GBUF_VA), src, n);
    return 0;
}

static const struct pv_mm_guest_ops gops = { copy_from, copy_to };
static struct pv_mm_vcpu_state *cur(void) { return &vcpu; }

/* --------------------------------------------------------- oracle ----- */

static uint32_t exp_ref[NF], exp_type[NF];

static void fail(const char *what, unsigned long m)
{
    fprintf(stderr, "oracle: %s (frame %lu)\n", what, m);
    abort();
}

static void expect_ref(uint64_t e, unsigned int type_needed, bool typed)
{
    uint64_t t = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;

    if (t >= NF || !is_guest(mfn(t)))
        fail("a validated entry maps a frame that is not the guest's", t);
    exp_ref[t]++;
    if (typed) {
        exp_type[t]++;
        if (info[t].type != type_needed)
            fail("referenced frame has the wrong type", t);
    }
}

static void check(void)
{
    memset(exp_ref, 0, sizeof(exp_ref));
    memset(exp_type, 0, sizeof(exp_type));

    for (unsigned int m = 0; m < NF; m++) {
        const struct pv_frame *f = &info[m];
        const uint64_t *t = (const uint64_t *)(mem + m * PAGE_SIZE);

        if (f->flags & PV_FRAME_PINNED) {
            exp_ref[m]++;
            exp_type[m]++;
        }
        /* The page-table generation (include/minishim/ptdebug.h): odd
         * exactly while the frame has a page-table type. */
        if (!!(f->pt_gen & 1) != (f->type >= PGT_L1 && f->type <= PGT_L4))
            fail("page-table generation disagrees with the type", m);
        if (!f->type_count || f->type < PGT_L1 || f->type > PGT_L4)
            continue;
        if (!(f->flags & PV_FRAME_VALIDATED))
            fail("page table in use but not validated", m);
        unsigned int level = f->type - PGT_L1 + 1;

        for (unsigned int i = 0; i < 512; i++) {
            uint64_t e = t[i];

            if (level == 4 && i >= 256 && i <= 271) {
                if (e != shim_l4[i])
                    fail("shim L4 slot changed", m);
                continue;
            }
            if (!(e & PTE_PRESENT))
                continue;
            if (level == 1) {
                if (e & (PTE_PWT | PTE_PCD | PTE_PSE))
                    fail("L1 entry with disallowed bits", m);
                expect_ref(e, PGT_WRITABLE, e & PTE_RW);
                continue;
            }
            if (e & (PTE_PWT | PTE_PCD | PTE_PSE | PTE_GLOBAL))
                fail("upper entry with disallowed bits", m);
            uint64_t tg = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;

            if (tg == m) {
                if (e & PTE_RW)
                    fail("writable linear self map", m);
                continue;
            }
            if (tg < NF && info[tg].type == f->type) {
                if (e & PTE_RW)
                    fail("writable linear entry", m);
                expect_ref(e, f->type, true);
            } else {
                expect_ref(e, f->type - 1, true);
            }
        }
    }
    if (vcpu.kernel_l4.mfn) {
        if (vcpu.kernel_l4.mfn >= NF || info[vcpu.kernel_l4.mfn].type != PGT_L4)
            fail("kernel base is not an L4", vcpu.kernel_l4.mfn);
        exp_ref[vcpu.kernel_l4.mfn]++;
        exp_type[vcpu.kernel_l4.mfn]++;
    }
    if (vcpu.user_l4.mfn) {
        if (vcpu.user_l4.mfn >= NF || info[vcpu.user_l4.mfn].type != PGT_L4)
            fail("user base is not an L4", vcpu.user_l4.mfn);
        exp_ref[vcpu.user_l4.mfn]++;
        exp_type[vcpu.user_l4.mfn]++;
    }
    for (unsigned int m = 0; m < NF; m++) {
        if (info[m].ref_count != exp_ref[m])
            fail("general reference count mismatch", m);
        if (info[m].type_count != exp_type[m])
            fail("type count mismatch", m);
        if (!is_guest(mfn(m)) && (info[m].ref_count || info[m].type_count))
            fail("a shim frame got a reference", m);
    }
}

/* ------------------------------------------------------ input reader -- */

static uint64_t frame_sel(struct in *in)
{
    return u8(in) % (NF + 4);           /* a few beyond RAM */
}

/* A page-table entry: mostly plausible, sometimes raw. */
static uint64_t make_pte(struct in *in)
{
    uint8_t k = u8(in);

    if (k == 0xff)
        return u64(in);
    uint64_t e = frame_sel(in) << PAGE_SHIFT;
    uint8_t fl = u8(in);

    e |= fl & 0x7f;                     /* P RW US PWT PCD A D */
    if (k & 1) e |= PTE_PRESENT;
    if (k & 2) e |= PTE_PSE;
    if (k & 4) e |= PTE_GLOBAL;
    if (k & 8) e |= PTE_NX;
    if (k & 16) e |= PTE_GUEST_KERNEL;
    if (k & 32) e |= PTE_AVAIL;
    if (k & 64) e &= ~(PTE_PWT | PTE_PCD);
    return e;
}

static uint64_t make_va(struct in *in)
{
    uint8_t k = u8(in);

    if (k == 0xff)
        return u64(in);
    uint64_t a = ((uint64_t)(u8(in) & 1 ? 511 - (k & 7) : (k & 7)) << 39) |
                 ((uint64_t)(u8(in) & 7) << 30) | ((uint64_t)(u8(in) & 7) << 21) |
                 ((uint64_t)(u8(in) & 7) << 12);
    if (a & (1ULL << 47))
        a |= 0xffff000000000000ULL;
    return a;
}

/* The guest may write any frame it could map writable: one not in use as
 * a page table or descriptor page. */
static void raw_write(struct in *in)
{
    unsigned int f = u8(in) % NF;
    unsigned int slot = (u8(in) | (u8(in) << 8)) % 512;
    uint64_t v = make_pte(in);

    if (!is_guest(mfn(f)) || (info[f].type_count && info[f].type != PGT_WRITABLE))
        return;
    ((uint64_t *)(mem + f * PAGE_SIZE))[slot] = v;
}

static uint64_t pick_pdone(struct in *in)
{
    switch (u8(in) % 4) {
    case 0: return 0;
    case 1: return GBUF_VA + 0x1ff0;
    case 2: return u64(in);
    default: return GBUF_VA + GBUF_SIZE - 2;
    }
}

static void do_mmu(struct in *in)
{
    unsigned int n = u8(in) % 5;
    unsigned int fd = (u8(in) & 0x80) ? (unsigned int)u64(in) : DOMID_SELF;

    for (unsigned int i = 0; i < n; i++) {
        uint64_t r[2];
        uint8_t k = u8(in);

        if (k == 0xff)
            r[0] = u64(in);
        else
            r[0] = (frame_sel(in) << PAGE_SHIFT) | ((u8(in) | (u8(in) << 8)) % 512) * 8 | (k & 7);
        r[1] = make_pte(in);
        memcpy(gbuf + i * 16, r, 16);
    }
    (void)do_mmu_update(GBUF_VA, u8(in) == 0xee ? (unsigned int)u64(in) : n,
                        pick_pdone(in), fd);
}

static void do_ext(struct in *in)
{
    unsigned int n = u8(in) % 4;

    for (unsigned int i = 0; i < n; i++) {
        uint32_t cmd = u8(in);
        uint64_t op[3];
        uint8_t k = u8(in);

        cmd = cmd < 0xf0 ? cmd % 22 : cmd | 0xabc00;
        op[0] = cmd;
        op[1] = (k & 1) ? u64(in) : frame_sel(in);
        if (cmd == MMUEXT_INVLPG_LOCAL || cmd == MMUEXT_INVLPG_ALL ||
            cmd == MMUEXT_INVLPG_MULTI || cmd == MMUEXT_SET_LDT)
            op[1] = (k & 2) ? make_va(in) : op[1] << PAGE_SHIFT;
        switch ((k >> 2) & 3) {
        case 0: op[2] = frame_sel(in); break;
        case 1: op[2] = GBUF_VA + 0x1f00; break;
        case 2: op[2] = u8(in) * 64u; break;
        default: op[2] = u64(in); break;
        }
        memcpy(gbuf + i * 24, op, 24);
    }
    memcpy(gbuf + 0x1f00, (uint64_t[]){ u64(in) }, 8);
    (void)do_mmuext_op(GBUF_VA, n, pick_pdone(in),
                       (u8(in) & 0x80) ? (unsigned int)u64(in) : DOMID_SELF);
}

static void do_uvm(struct in *in)
{
    uint64_t a = make_va(in), v = make_pte(in);
    unsigned long flags = u8(in) & 3;

    switch (u8(in) % 4) {
    case 0: flags |= UVMF_LOCAL; break;
    case 1: flags |= UVMF_ALL; break;
    case 2: flags |= GBUF_VA + 0x1f00; break;
    default: flags |= u64(in) & ~3ULL; break;
    }
    memcpy(gbuf + 0x1f00, (uint64_t[]){ u64(in) }, 8);
    (void)do_update_va_mapping(a, v, flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    struct pv_mm_config c = {
        .frame_is_guest = is_guest,
        .shim_l4 = shim_l4,
        .dirty_mask = &dirty,
        .max_vcpus = 2,
        .current_vcpu = cur,
        .guest = &gops,
        .m2p = m2p,
        .domid = 1,
    };

    memset(mem, 0, sizeof(mem));
    memset(gbuf, 0, sizeof(gbuf));
    memset(&vcpu, 0, sizeof(vcpu));
    for (unsigned int i = 256; i <= 271; i++)
        shim_l4[i] = ((uint64_t)(i - 256) << PAGE_SHIFT) | 0x63;    /* shim frames */
    cpumask_clear(&dirty);
    cpumask_set(&dirty, 0);
    cpumask_set(&dirty, 1);
    if (pv_mm_init(info, NF, &c))
        abort();
    /*
     * Start from a live address space, as a booted guest would: L4 16 ->
     * L3 17 -> L2 18 -> L1 19 -> data 20 (RW) and 21 (RO), pinned and the
     * kernel base, so update_va_mapping walks have something to find.
     */
    if (size && (data[0] & 0x80)) {
        uint64_t *f = (uint64_t *)mem;

        f[16 * 512 + 0] = (17ULL << PAGE_SHIFT) | 0x27;
        f[17 * 512 + 0] = (18ULL << PAGE_SHIFT) | 0x27;
        f[18 * 512 + 0] = (19ULL << PAGE_SHIFT) | 0x27;
        f[19 * 512 + 0] = (20ULL << PAGE_SHIFT) | 0x07;
        f[19 * 512 + 1] = (21ULL << PAGE_SHIFT) | 0x05;
        if (pv_mm_pin_table(mfn(16), 4) || pv_mm_set_base(&vcpu, mfn(16), false))
            abort();
        check();
    }

    for (unsigned int steps = 0; in.n && steps < 64; steps++) {
        switch (u8(&in) % 6) {
        case 0: case 1: raw_write(&in); break;
        case 2: do_mmu(&in); break;
        case 3: do_ext(&in); break;
        case 4: do_uvm(&in); break;
        default: {                      /* one entry, the common case */
            uint8_t k = u8(&in);
            uint64_t r[2];

            r[0] = (frame_sel(&in) << PAGE_SHIFT) |
                   ((u8(&in) | (u8(&in) << 8)) % 512) * 8 | (k & 3);
            r[1] = make_pte(&in);
            memcpy(gbuf, r, sizeof(r));
            (void)do_mmu_update(GBUF_VA, 1, 0, DOMID_SELF);
            break;
        }
        }
        check();
    }

    /* Tear everything down: nothing may be left referenced. */
    pv_mm_vcpu_destroy(&vcpu);
    for (unsigned int m = 0; m < NF; m++)
        if (info[m].flags & PV_FRAME_PINNED) {
            uint64_t op[3] = { MMUEXT_UNPIN_TABLE, m, 0 };

            memcpy(gbuf, op, sizeof(op));
            (void)do_mmuext_op(GBUF_VA, 1, 0, DOMID_SELF);
        }
    if (pv_mm_total_refs())
        fail("references leaked after teardown", 0);
    return 0;
}
