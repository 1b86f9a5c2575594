/*
 * The PV MMU: page types and counts of guest frames, validation of
 * page-table entries, and the page-table hypercalls (mmu_update,
 * update_va_mapping, mmuext_op). Model and interface: pv_mm.h.
 *
 * Facts from Xen 4.17 (xen/arch/x86/mm.c, pv/mm.h); the code is our own and
 * simpler: one lock, no preemption (every operation completes or rolls back
 * before it returns), no superpages, no foreign domains.
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/flush.h>
#include <minishim/inject.h>
#include <minishim/ipi.h>
#include <minishim/layout.h>
#include <minishim/percpu.h>
#include <minishim/pt_walk.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_mm.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/spinlock.h>
#include <minishim/ptdebug.h>
#include <minishim/tlbclock.h>
#include <minishim/xen-public.h>

static struct pv_frame *frames;
static unsigned long nr_frames;
static struct pv_mm_config cfg;
static spinlock_t mm_lock = SPINLOCK_INIT;

/* Flushes are sent by IPI with mm_lock held, and some takers run with
 * interrupts off (the LDT fault-in from a #GP, a vCPU's first entry):
 * serve IPI requests while waiting (include/minishim/spinlock.h). */
static void mm_lock_acquire(void)
{
    spin_lock_serving(&mm_lock, ipi_service);
}

#define ENTRIES 512u

/* Xen-internal (asm/hypercall.h): the continuation marker in a count. */
#define MMU_UPDATE_PREEMPTED (~(~0U >> 1))

/*
 * Flags a PV guest may set in any entry (Xen's base_disallow_mask is the
 * complement): P, RW, US, A, D, AVAIL, AVAIL_HIGH, NX. PWT, PCD, PAT/PSE
 * and G are refused: a domU without I/O may not choose cache attributes,
 * PSE would be a superpage (unsupported for PV, as Xen without
 * opt_allow_superpage). Only L1 entries may set G.
 */
#define PTE_GUEST_OK  (PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | \
                       PTE_DIRTY | PTE_AVAIL | PTE_AVAIL_HIGH | PTE_NX)
#define L1_DISALLOW   (~(PTE_GUEST_OK | PTE_GLOBAL | PTE_ADDR_MASK))
#define LN_DISALLOW   (~(PTE_GUEST_OK | PTE_ADDR_MASK))

/*
 * A guest-requested full flush. Xen's FLUSH_TLB reloads CR4.PGE or uses
 * INVPCID "all", so global entries go too; here FLUSH_TLB is non-global
 * only, and guest L1 entries may carry G (the guest's own, and the one
 * Xen's adjust_guest_l1e adds to user pages), so ask for both.
 */
#define FLUSH_GUEST_ALL (FLUSH_TLB | FLUSH_TLB_GLOBAL)

static inline mfn_t pte_mfn(uint64_t e) { return mfn((e & PTE_ADDR_MASK) >> PAGE_SHIFT); }
static inline bool is_pt_type(unsigned int t) { return t >= PGT_L1 && t <= PGT_L4; }
static inline unsigned int level_type(unsigned int level) { return PGT_L1 + level - 1; }
static inline bool is_shim_slot(unsigned int level, unsigned int i)
{
    return level == 4 && i >= L4_SLOT_FIRST_RESERVED && i <= L4_SLOT_LAST_RESERVED;
}

/* A guest buffer [gva, gva+len) that lies wholly outside the shim
 * (Xen's access_ok; an empty one is never read). */
static bool guest_range_ok(uint64_t gva, uint64_t len)
{
    return len == 0 || guest_access_ok(gva, len);
}

static inline struct pv_frame *frame(mfn_t m) { return &frames[m.mfn]; }
static inline uint64_t *map_table(mfn_t m) { return arch_phys_to_virt(mfn_to_paddr(m)); }

static void __noreturn mm_bug(const char *what, mfn_t m)
{
    panic("pv_mm: %s (mfn %lx)", what, (unsigned long)m.mfn);
}

bool pv_mm_frame_is_guest(mfn_t m)
{
    return frames && m.mfn < nr_frames && cfg.frame_is_guest(m);
}

/* ------------------------------------------------------ general refs --- */

/* Xen's get_page(): a reference only on a frame the guest owns. Shim,
 * reserved and out-of-range frames never get one. */
static bool get_page(mfn_t m)
{
    if (m.mfn >= nr_frames || !cfg.frame_is_guest(m))
        return false;
    if (frame(m)->ref_count == UINT32_MAX)
        return false;
    frame(m)->ref_count++;
    return true;
}

static void put_page(mfn_t m)
{
    if (frame(m)->ref_count == 0)
        mm_bug("general reference underflow", m);
    frame(m)->ref_count--;
}

/* ------------------------------------------------------- type refs ---- */

static int validate(mfn_t m, unsigned int type);
static void devalidate(mfn_t m, unsigned int type);

/*
 * Flush after a type change, so no CPU keeps a stale translation that
 * the old type allowed (above all a writable one of a frame about to become
 * a page table). XSA-401/XSA-408: keyed on the OLD type, issued after the
 * new type reference is visible. When the old type was a page table the
 * flush must also exclude the spurious-#PF walker (FLUSH_PT_REUSE: by IPI,
 * or with flush-safety=defer by a walk-epoch grace period; shim/flush.c),
 * so no walker reads the frame once the guest may write it.
 */
static void type_change_flush(mfn_t m, unsigned int old_type)
{
    unsigned int flags = FLUSH_GUEST_ALL;
    cpumask_t mask = *cfg.dirty_mask;
    unsigned int before = cpumask_weight(&mask);

    if (is_pt_type(old_type))
        flags |= FLUSH_PT_REUSE | FLUSH_TAG_PT_RETYPE;
    /* Xen's _get_page_type(): tlbflush_filter(mask, tlbflush_timestamp).
     * A CPU that ran a full flush of its own after the frame's last typed
     * mapping went holds no translation from it and is not inside a
     * spurious-#PF walk that could reach it (tlbclock.c, INVARIANT). */
    tlbclock_filter(&mask, frame(m)->tlbflush_stamp);
    flush_stats_tlbclock_skipped(before - cpumask_weight(&mask));
    if (!cpumask_empty(&mask))
        flush_mask(&mask, flags, va(0), 0);
}

/*
 * The frame's page-table generation moves (ptdebug.h): to odd when it
 * becomes a validated table, to even once it stopped being one and its
 * retype flush is done. Stored with release order, before anything that
 * lets its contents change.
 */
static void pt_gen_set(struct pv_frame *f, bool table)
{
    if (!!(f->pt_gen & 1) != table)
        __atomic_store_n(&f->pt_gen, f->pt_gen + 1, __ATOMIC_RELEASE);
}

/* The walker's view (ptdebug_set_gen_source): no lock, interrupts off. */
static bool pt_gen_of(uint64_t pfn, uint32_t *gen)
{
    if (!frames || pfn >= nr_frames || !cfg.frame_is_guest(mfn(pfn)))
        return false;
    *gen = __atomic_load_n(&frames[pfn].pt_gen, __ATOMIC_ACQUIRE);
    return true;
}

/*
 * A page table became writable: for this shim that is its "free" (guest
 * frames never return to the shim's allocator; from now on the guest may
 * write it). debug=pt-poison fills it with PT_POISON, so a walker that
 * still reads it finds not-present entries it can name (guest-visible:
 * Xen leaves the old entries).
 */
static void pt_freed(mfn_t m)
{
    uint64_t *t;

    if (!ptdebug_on(PTDEBUG_POISON))
        return;
    t = map_table(m);
    for (unsigned int i = 0; i < PAGE_SIZE / sizeof(*t); i++)
        __atomic_store_n(&t[i], PT_POISON, __ATOMIC_RELAXED);
}

/*
 * Take a type reference (Xen's get_page_type). The type changes only when
 * the count is zero; page-table and descriptor types are validated when
 * they gain their first reference since they were last devalidated.
 */
static int get_type(mfn_t m, unsigned int type)
{
    struct pv_frame *f = frame(m);
    unsigned int old;
    int rc;

    if (f->type_count) {
        /* Wrong type, or a table still being validated (only reachable
         * through a reference loop, which must fail): refuse. */
        if (f->type != type || !(f->flags & PV_FRAME_VALIDATED) ||
            f->type_count == UINT32_MAX)
            return -XEN_EINVAL;
        f->type_count++;
        return 0;
    }

    old = f->type;
    if (old != type) {
        f->type = (uint8_t)type;
        f->flags &= ~PV_FRAME_VALIDATED;
    }
    f->type_count = 1;
    /* A frame never typed had no typed mapping: nothing to flush. */
    if (old != type && old != PGT_NONE)
        type_change_flush(m, old);
    /* Only now, after the flush (which under the safety rule waited for
     * every walker that could reach the table), may its contents change. */
    if (old != type && is_pt_type(old)) {
        pt_gen_set(f, false);
        if (type == PGT_WRITABLE)
            pt_freed(m);
    }

    if (f->flags & PV_FRAME_VALIDATED)
        return 0;
    if (type == PGT_WRITABLE) {
        f->flags |= PV_FRAME_VALIDATED;
        return 0;
    }
    f->linear = 0;
    rc = validate(m, type);
    if (rc) {
        /* validate() rolled back every reference it took. The frame
         * goes back to what it was: a table that failed revalidation as
         * its own type stays an unvalidated table of that type (so its
         * page-table generation stays odd and its next retype still
         * flushes: Xen's _get_page_type() flushes on every type change);
         * anything else is untyped, its old table type (if any) having
         * been flushed above. Found by fuzz_mm's generation oracle. */
        f->type = old == type ? (uint8_t)type : PGT_NONE;
        f->type_count = 0;
        f->linear = 0;
        return rc;
    }
    f->flags |= PV_FRAME_VALIDATED;
    if (is_pt_type(type))
        pt_gen_set(f, true);
    return 0;
}

static void put_type_of(mfn_t m, bool mapping)
{
    struct pv_frame *f = frame(m);

    if (f->type_count == 0)
        mm_bug("type reference underflow", m);
    /* A typed mapping went (the entry is already cleared: callers write
     * the new entry first): stamp the frame, Xen's _put_page_type()
     * tlbflush_timestamp. Every such drop stamps, not only the last, so
     * the stamp is never older than the frame's last mapping; a pin is no
     * mapping (nothing walks a table through its pin) and leaves it. */
    if (mapping)
        f->tlbflush_stamp = tlbclock_now();
    if (--f->type_count)
        return;
    /* Page tables are devalidated at count zero (their entries' refs are
     * dropped); the type stays, so the next retype sees the old type. */
    if (is_pt_type(f->type) && (f->flags & PV_FRAME_VALIDATED)) {
        f->flags &= ~PV_FRAME_VALIDATED;
        devalidate(m, f->type);
        if (f->linear)
            mm_bug("linear count left after devalidation", m);
    }
}

static void put_type(mfn_t m)
{
    put_type_of(m, true);
}

/* ----------------------------------------------------- entry refs ----- */

/* Xen's get_page_from_l1e, for a guest with no I/O memory. */
static int get_l1e_ref(uint64_t e)
{
    mfn_t t = pte_mfn(e);

    if (e & L1_DISALLOW)
        return -XEN_EINVAL;
    if (t.mfn >= nr_frames)
        /* Not RAM: MMIO the guest has no permission for (Xen: -EPERM,
         * -EINVAL for the all-ones "invalid" frame). */
        return t.mfn == (PTE_ADDR_MASK >> PAGE_SHIFT) ? -XEN_EINVAL : -XEN_EPERM;
    if (!get_page(t))
        return -XEN_EBUSY;          /* shim, reserved or free frame */
    /* No writable mapping of a page-table or descriptor frame. */
    if ((e & PTE_RW) && get_type(t, PGT_WRITABLE)) {
        put_page(t);
        return -XEN_EBUSY;
    }
    return 0;
}

static void put_l1e_ref(uint64_t e)
{
    mfn_t t = pte_mfn(e);

    if (e & PTE_RW)
        put_type(t);
    put_page(t);
}

/*
 * A linear (recursive) entry in Lk table 'table' to another Lk table, as
 * Xen allows it: read-only; a self-reference takes no reference; any
 * other target must already be a validated Lk table that holds no linear
 * entries itself, and 'table' must not itself be a linear target.
 */
static bool get_linear_ref(unsigned int level, mfn_t table, uint64_t e)
{
    mfn_t t = pte_mfn(e);
    struct pv_frame *pt = frame(table), *pg;

    if (e & PTE_RW)
        return false;
    if (t.mfn == table.mfn)
        return true;
    if (!get_page(t))
        return false;
    pg = frame(t);
    if (pt->linear < 0 || pt->linear == INT16_MAX ||
        pg->linear > 0 || pg->linear == INT16_MIN ||
        pg->type != level_type(level) || !(pg->flags & PV_FRAME_VALIDATED) ||
        pg->type_count == 0 || pg->type_count == UINT32_MAX) {
        put_page(t);
        return false;
    }
    pt->linear++;
    pg->linear--;
    pg->type_count++;
    return true;
}

/* Reference what a present entry of a level-'level' table maps. */
static int get_entry_ref(unsigned int level, mfn_t table, uint64_t e)
{
    mfn_t t = pte_mfn(e);
    int rc;

    if (level == 1)
        return get_l1e_ref(e);
    if (e & LN_DISALLOW)
        return -XEN_EINVAL;
    if (!get_page(t))
        return -XEN_EINVAL;
    rc = get_type(t, level_type(level - 1));
    if (rc == 0)
        return 0;
    put_page(t);
    if (rc == -XEN_EINVAL && get_linear_ref(level, table, e))
        return 0;
    return rc;
}

static void put_entry_ref(unsigned int level, mfn_t table, uint64_t e)
{
    mfn_t t = pte_mfn(e);

    if (!(e & PTE_PRESENT))
        return;
    if (level == 1) {
        put_l1e_ref(e);
        return;
    }
    if (t.mfn == table.mfn)
        return;                     /* linear self-reference: no refs */
    if (frame(t)->type == level_type(level)) {
        /* Same type as its container: a linear entry. */
        frame(t)->linear++;
        frame(table)->linear--;
    }
    put_type(t);
    put_page(t);
}

/*
 * Xen's adjust_guest_l*e for 64-bit PV: the guest kernel runs in ring 3,
 * so every level is user-accessible; L1 pages the guest meant for its
 * kernel are marked _PAGE_GUEST_KERNEL and never global, user pages are
 * made global; L4 entries are always accessed.
 */
static uint64_t adjust_entry(unsigned int level, uint64_t e)
{
    if (!(e & PTE_PRESENT))
        return e;
    switch (level) {
    case 1:
        if (!(e & PTE_USER))
            e |= PTE_GUEST_KERNEL | PTE_USER;
        if (!(e & PTE_GUEST_KERNEL))
            e |= PTE_GLOBAL | PTE_USER;
        return e;
    case 4:
        return e | PTE_ACCESSED | PTE_USER;
    default:
        return e | PTE_USER;
    }
}

/* ----------------------------------------------- (de)validation ------- */

static int validate(mfn_t m, unsigned int type)
{
    uint64_t *t = map_table(m);
    unsigned int level, i;
    int rc;

    if (type == PGT_SEG_DESC)
        return cfg.validate_seg_desc ? cfg.validate_seg_desc(t) : -XEN_EINVAL;

    level = type - PGT_L1 + 1;
    for (i = 0; i < ENTRIES; i++) {
        uint64_t e = t[i];

        if (is_shim_slot(level, i) || !(e & PTE_PRESENT))
            continue;
        e = adjust_entry(level, e);
        rc = get_entry_ref(level, m, e);
        if (rc) {
            while (i--)
                if (!is_shim_slot(level, i))
                    put_entry_ref(level, m, t[i]);
            return rc;
        }
        t[i] = e;
    }
    /* The shim's slots 256-271 in every guest L4 (overwriting whatever
     * the guest left there). */
    if (level == 4) {
        for (i = L4_SLOT_FIRST_RESERVED; i <= L4_SLOT_LAST_RESERVED; i++)
            t[i] = cfg.shim_l4 ? cfg.shim_l4[i] : 0;
        if (cfg.init_l4_slots)
            cfg.init_l4_slots(t);
    }
    return 0;
}

static void devalidate(mfn_t m, unsigned int type)
{
    uint64_t *t = map_table(m);
    unsigned int level = type - PGT_L1 + 1;

    for (unsigned int i = 0; i < ENTRIES; i++)
        if (!is_shim_slot(level, i))
            put_entry_ref(level, m, t[i]);
}

/* --------------------------------------------------- entry update ----- */

/*
 * Write *p = n where *p was old; hardware may set A/D behind us, so use
 * cmpxchg. With preserve_ad, A/D already in the entry are kept
 * (MMU_PT_UPDATE_PRESERVE_AD). Returns the value replaced.
 */
static uint64_t write_entry(uint64_t *p, uint64_t old, uint64_t n, bool preserve_ad)
{
    for (;;) {
        uint64_t cur = old;
        uint64_t v = preserve_ad ? n | (old & (PTE_ACCESSED | PTE_DIRTY)) : n;

        if (__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return old;
        /* Only A/D may change under us: every other writer holds mm_lock. */
        old = cur;
    }
}

/*
 * Xen's mod_l[1-4]_entry: reference what the new entry maps, write it,
 * then drop what the old one mapped. On failure nothing changed.
 */
static int mod_entry(unsigned int level, mfn_t table, unsigned int slot,
                     uint64_t n, bool preserve_ad)
{
    uint64_t *p = map_table(table) + slot;
    uint64_t old;
    int rc;

    /* The shim's L4 slots are not the guest's to change. */
    if (is_shim_slot(level, slot))
        return -XEN_EINVAL;
    if (n & PTE_PRESENT) {
        n = adjust_entry(level, n);
        rc = get_entry_ref(level, table, n);
        if (rc)
            return rc;
    }
    old = write_entry(p, __atomic_load_n(p, __ATOMIC_SEQ_CST), n, preserve_ad);
    put_entry_ref(level, table, old);
    return 0;
}

/* ------------------------------------------------------ public state --- */

int pv_mm_init(void *storage, unsigned long n, const struct pv_mm_config *c)
{
    if (!storage || !n || !c || !c->frame_is_guest || !c->dirty_mask ||
        !c->current_vcpu || !c->guest || !c->guest->copy_from ||
        !c->guest->copy_to || c->max_vcpus == 0 || c->max_vcpus > NR_CPUS)
        return -XEN_EINVAL;
    frames = storage;
    nr_frames = n;
    cfg = *c;
    memset(frames, 0, pv_mm_frame_info_bytes(n));
    ptdebug_set_gen_source(pt_gen_of);
    return 0;
}

const struct pv_frame *pv_mm_frame(mfn_t m)
{
    return m.mfn < nr_frames ? frame(m) : NULL;
}

bool pv_mm_frame_in_use(mfn_t m)
{
    return m.mfn < nr_frames &&
           (frame(m)->ref_count || frame(m)->type_count);
}

unsigned long pv_mm_total_refs(void)
{
    unsigned long sum = 0;

    for (unsigned long i = 0; i < nr_frames; i++)
        sum += frames[i].ref_count + frames[i].type_count +
               (unsigned long)(frames[i].linear != 0);
    return sum;
}

/*
 * Ballooning, step 1 (Xen's guest_remove_page, for a PV domain: the gmfn
 * is the mfn). Under the MMU lock, so no mapping can take a reference
 * between the check and the owner change. A frame still referenced (a
 * mapping, a type reference, a pin) is refused here where Xen drops only
 * the allocation reference and frees the page with its last reference
 * (docs/fuzzing.md says why minishim does not defer it).
 */
int pv_mm_frame_leave(mfn_t m, uint64_t *stamp)
{
    int rc = 0;

    if (!frames || m.mfn >= nr_frames)
        return -XEN_EINVAL;             /* !mfn_valid() */
    mm_lock_acquire();
    if (!cfg.frame_is_guest(m))
        rc = -XEN_ENXIO;                /* get_page(page, d) fails */
    else if (frame(m)->ref_count || frame(m)->type_count)
        rc = -XEN_EBUSY;
    else if (!cfg.frame_leave || !cfg.frame_leave(m))
        rc = -XEN_ENXIO;
    else
        *stamp = frame(m)->tlbflush_stamp;
    spin_unlock(&mm_lock);
    return rc;
}

/* Step 2, after the release flush: nothing caches a translation of the
 * frame nor walks it, so its page-table life ends here (generation even,
 * as after a retype flush) and it starts afresh with its next owner. */
void pv_mm_frame_left(mfn_t m)
{
    struct pv_frame *f;

    if (!frames || m.mfn >= nr_frames)
        return;
    mm_lock_acquire();
    f = frame(m);
    pt_gen_set(f, false);
    f->type = PGT_NONE;
    f->flags = 0;
    f->linear = 0;
    f->tlbflush_stamp = 0;
    spin_unlock(&mm_lock);
}

/* Caller holds mm_lock. */
static int get_page_and_type(mfn_t m, unsigned int type)
{
    int rc;

    if (!get_page(m))
        return -XEN_EINVAL;
    rc = get_type(m, type);
    if (rc)
        put_page(m);
    return rc;
}

static void put_page_and_type(mfn_t m)
{
    put_type(m);
    put_page(m);
}

static int pin_table(mfn_t m, unsigned int level)
{
    int rc = get_page_and_type(m, level_type(level));

    if (rc)
        return rc;
    if (frame(m)->flags & PV_FRAME_PINNED) {
        put_page_and_type(m);
        return -XEN_EINVAL;         /* already pinned */
    }
    frame(m)->flags |= PV_FRAME_PINNED;
    return 0;
}

static int unpin_table(mfn_t m)
{
    if (!get_page(m))
        return -XEN_EINVAL;
    if (!(frame(m)->flags & PV_FRAME_PINNED)) {
        put_page(m);
        return -XEN_EINVAL;         /* not pinned */
    }
    frame(m)->flags &= ~PV_FRAME_PINNED;
    put_type_of(m, false);          /* the pin's references */
    put_page(m);
    put_page(m);
    return 0;
}

/* Install l4 (0: none, user base only) as v's base; drop the old one. */
static int set_base(struct pv_mm_vcpu_state *v, mfn_t l4, bool user)
{
    mfn_t *slot = user ? &v->user_l4 : &v->kernel_l4;
    mfn_t old = *slot;
    int rc;

    if (!user && !l4.mfn)
        return -XEN_EINVAL;         /* a vCPU always has a kernel base */
    if (old.mfn == l4.mfn)
        return 0;
    if (l4.mfn) {
        rc = get_page_and_type(l4, PGT_L4);
        if (rc)
            return rc;
    }
    *slot = l4;
    if (old.mfn)
        put_page_and_type(old);
    return 0;
}

int pv_mm_pin_table(mfn_t m, unsigned int level)
{
    int rc = -XEN_EINVAL;

    if (level >= 1 && level <= 4) {
        mm_lock_acquire();
        rc = pin_table(m, level);
        spin_unlock(&mm_lock);
    }
    return rc;
}

int pv_mm_set_base(struct pv_mm_vcpu_state *v, mfn_t l4, bool user)
{
    int rc;

    mm_lock_acquire();
    rc = set_base(v, l4, user);
    spin_unlock(&mm_lock);
    return rc;
}

void pv_mm_vcpu_destroy(struct pv_mm_vcpu_state *v)
{
    mm_lock_acquire();
    if (v->kernel_l4.mfn)
        put_page_and_type(v->kernel_l4);
    if (v->user_l4.mfn)
        put_page_and_type(v->user_l4);
    v->kernel_l4 = mfn(0);
    v->user_l4 = mfn(0);
    spin_unlock(&mm_lock);
}

int pv_mm_get_page_and_type(mfn_t m, enum pv_page_type type)
{
    int rc;

    if (type == PGT_NONE || type > PGT_SEG_DESC)
        return -XEN_EINVAL;
    mm_lock_acquire();
    rc = get_page_and_type(m, type);
    spin_unlock(&mm_lock);
    return rc;
}

void pv_mm_put_page_and_type(mfn_t m)
{
    if (m.mfn >= nr_frames)
        mm_bug("put of a frame out of range", m);
    mm_lock_acquire();
    put_page_and_type(m);
    spin_unlock(&mm_lock);
}

/* ------------------------------------------------------- flush helpers -- */

static void guest_flush_local(unsigned int flags, uint64_t addr)
{
    struct flush_request req = { .flags = flags, .va = va(addr), .order = 0 };

    flush_local(&req);
}

static void guest_flush_mask(const cpumask_t *mask, unsigned int flags, uint64_t addr)
{
    if (!cpumask_empty(mask))
        flush_mask(mask, flags, va(addr), 0);
}

static bool has_remote_cpu(const cpumask_t *mask)
{
    cpumask_t others = *mask;

    cpumask_clear_cpu(&others, arch_cpu_id());
    return !cpumask_empty(&others);
}

/* A guest-requested flush of one kind. Fault injection (shim/inject.c,
 * inject=flush-skip:<kind>) may drop its remote part, to prove a test
 * catches the missed flush. */
static void guest_flush_kind(const cpumask_t *mask, unsigned int flags, uint64_t addr,
                             enum inject_point kind)
{
    /* Strike only a flush that has a remote part to drop. */
    if (inject_is_armed(kind) && has_remote_cpu(mask) && inject_fire(kind)) {
        if (cpumask_test(mask, arch_cpu_id()))
            guest_flush_local(flags, addr);
        return;
    }
    guest_flush_mask(mask, flags, addr);
}

/*
 * Xen's vcpumask_to_pcpumask: a guest bitmap of vCPUs (unsigned longs)
 * to the CPUs running them (vCPU n runs on CPU n). 0 or -XEN_EFAULT.
 */
static int vcpumask_to_cpumask(uint64_t bmap, cpumask_t *out)
{
    cpumask_clear(out);
    for (unsigned int offs = 0;; offs++) {
        unsigned int bias = offs * 64;
        uint64_t w;

        if (bias >= cfg.max_vcpus)
            return 0;
        if (!guest_range_ok(bmap + offs * 8ULL, 8) ||
            cfg.guest->copy_from(&w, bmap + offs * 8ULL, 8)) {
            cpumask_clear(out);
            return -XEN_EFAULT;
        }
        while (w) {
            unsigned int id = (unsigned int)__builtin_ctzll(w) + bias;

            w &= w - 1;
            if (id >= cfg.max_vcpus)
                return 0;
            if (cpumask_test(cfg.dirty_mask, id))
                cpumask_set(out, id);
        }
    }
}

/* ----------------------------------------------------------- mmu_update - */

struct mmu_req { uint64_t ptr, val; };

static long mmu_update_one(const struct mmu_req *req, bool *flush_linear)
{
    unsigned int cmd = (unsigned int)(req->ptr & 7);
    uint64_t ptr = req->ptr - cmd;
    mfn_t m = mfn(ptr >> PAGE_SHIFT);
    unsigned int slot = (unsigned int)((ptr & (PAGE_SIZE - 1)) >> 3);
    struct pv_frame *f;
    long rc = -XEN_EINVAL;

    switch (cmd) {
    case MMU_NORMAL_PT_UPDATE:
    case MMU_PT_UPDATE_PRESERVE_AD:
    case MMU_PT_UPDATE_NO_TRANSLATE:    /* PV: nothing is translated */
        if (!get_page(m))
            return -XEN_EINVAL;
        f = frame(m);
        if (f->type_count && (f->flags & PV_FRAME_VALIDATED)) {
            switch (f->type) {
            case PGT_L1:
                rc = mod_entry(1, m, slot, req->val, cmd == MMU_PT_UPDATE_PRESERVE_AD);
                break;
            case PGT_L2:
            case PGT_L3:
            case PGT_L4:
                rc = mod_entry(f->type - PGT_L1 + 1, m, slot, req->val,
                               cmd == MMU_PT_UPDATE_PRESERVE_AD);
                /* XSA-286: other CPUs may cache the old upper-level
                 * entry; flush once the batch is done, only if an update
                 * succeeded. */
                if (!rc)
                    *flush_linear = true;
                break;
            case PGT_WRITABLE:
                __atomic_store_n(map_table(m) + slot, req->val, __ATOMIC_SEQ_CST);
                rc = 0;
                break;
            default:                /* descriptor pages: -EINVAL */
                break;
            }
        } else if (get_type(m, PGT_WRITABLE) == 0) {
            /* An untyped (or unreferenced) frame: a plain write. */
            __atomic_store_n(map_table(m) + slot, req->val, __ATOMIC_SEQ_CST);
            put_type(m);
            rc = 0;
        }
        put_page(m);
        return rc;

    case MMU_MACHPHYS_UPDATE:
        if (!get_page(m))
            return -XEN_EINVAL;
        if (cfg.m2p) {
            cfg.m2p[m.mfn] = req->val;
            rc = 0;
        } else {
            rc = -XEN_ENOSYS;
        }
        put_page(m);
        return rc;

    default:
        return -XEN_ENOSYS;
    }
}

/*
 * The preamble mmu_update and mmuext_op share (Xen ABI): a count with
 * MMU_UPDATE_PREEMPTED set is a continuation, whose done count so far is
 * read back from pdone. The shim never makes continuations, but accepts
 * them as Xen does. True to go on; false with *rc the result.
 */
static bool batch_preamble(uint64_t list, unsigned int *count, uint64_t pdone,
                           unsigned int foreigndom, size_t elem, unsigned int *done,
                           long *rc)
{
    *done = 0;
    if (*count == MMU_UPDATE_PREEMPTED && list == 0) {
        *rc = (int)foreigndom;
        return false;
    }
    if (*count & MMU_UPDATE_PREEMPTED) {
        *count &= ~MMU_UPDATE_PREEMPTED;
        if (pdone && (!guest_range_ok(pdone, 4) || cfg.guest->copy_from(done, pdone, 4)))
            *done = 0;
    }
    if (!guest_range_ok(list, (uint64_t)*count * elem)) {
        *rc = -XEN_EFAULT;
        return false;
    }
    return true;
}

static void write_done(uint64_t pdone, unsigned int done)
{
    /* Xen ignores a failure to write the count back. */
    if (pdone && guest_range_ok(pdone, 4))
        (void)cfg.guest->copy_to(pdone, &done, 4);
}

long do_mmu_update(uint64_t ureqs, unsigned int count, uint64_t pdone,
                   unsigned int foreigndom)
{
    unsigned int i = 0, done, pt_dom = foreigndom >> 16;
    bool flush_linear = false;
    long rc = 0;

    if (!batch_preamble(ureqs, &count, pdone, foreigndom, sizeof(struct mmu_req),
                        &done, &rc))
        return rc;
    /*
     * The shim runs one domain. Page tables of a "foreign" domain may only
     * name our own id; pages only DOMID_SELF (Xen's get_pg_owner refuses
     * a domain naming its own id as foreign). Both fail -ESRCH.
     */
    if ((pt_dom && pt_dom - 1 != cfg.domid) || (uint16_t)foreigndom != DOMID_SELF) {
        rc = -XEN_ESRCH;
        goto out;
    }

    for (i = 0; i < count; i++) {
        struct mmu_req req;

        if (cfg.guest->copy_from(&req, ureqs + (uint64_t)i * sizeof(req), sizeof(req))) {
            rc = -XEN_EFAULT;
            break;
        }
        mm_lock_acquire();
        rc = mmu_update_one(&req, &flush_linear);
        spin_unlock(&mm_lock);
        if (rc)
            break;
    }

    /* XSA-286: flush after successful L2-L4 updates, before returning.
     * Xen 4.17 adds FLUSH_ROOT_PGTBL when an L4 in use on another CPU
     * changed (to resync its XPTI per-CPU root copies), which keeps that
     * flush off L0. minishim keeps no root copies (the guest's L4 is the
     * hardware root), so its flush is plain FLUSH_TLB and may go to L0:
     * a deliberate difference. */
    if (flush_linear)
        guest_flush_mask(cfg.dirty_mask, FLUSH_TLB, 0);
out:
    write_done(pdone, done + i);
    return rc;
}

/* ------------------------------------------ writable page tables (ptwr) - */

static bool find_l1e(mfn_t l4, uint64_t addr, mfn_t *l1, unsigned int *slot);

/*
 * Xen 4.17 pv_ro_page_fault() + ptwr_emulated_update()
 * (xen/arch/x86/pv/ro-page-fault.c): the guest kernel wrote 'bytes' at
 * 'addr' and faulted because its own page tables map addr read-only onto
 * an in-use L1 page. The store is applied as an L1 update with every
 * mmu_update check; anything else is not ours (the #PF goes to the guest).
 *   - the kernel page tables must map addr present and read-only, onto a
 *     frame that is a validated L1 (PGT_l1_page_table, type count > 0);
 *   - 1, 2, 4 or 8 bytes, naturally aligned (Xen: "bad access");
 *   - a sub-word store is merged into the full 8-byte entry;
 *   - the new entry passes get_page_from_l1e (here mod_entry), else
 *     refused: "could not get_page_from_l1e()".
 * The read of the old value, op() and the write happen under the MMU
 * lock, which every writer of a validated table holds, so read-modify-
 * write instructions (xchg, lock cmpxchg/and/or/bt*) are atomic as the
 * guest expects. op(ctx, old, &new) returns false to store nothing (a
 * failed cmpxchg). Returns 0 (done, *oldp = old sub-word value),
 * -XEN_EINVAL (not a ptwr case or the entry is refused).
 */
long pv_mm_ptwr_rmw(uint64_t addr, unsigned int bytes,
                    bool (*op)(void *ctx, uint64_t old, uint64_t *nv), void *ctx,
                    uint64_t *oldp)
{
    struct pv_mm_vcpu_state *v = cfg.current_vcpu();
    unsigned int slot, shift = (unsigned int)(addr & 7) * 8;
    uint64_t pte, full, old, nv, mask;
    mfn_t pt, l1;
    long rc = -XEN_EINVAL;

    if (!bytes || bytes > 8 || (bytes & (bytes - 1)) || (addr & (bytes - 1)))
        return -XEN_EINVAL;
    mask = bytes == 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
    mm_lock_acquire();
    if (!v || !find_l1e(v->kernel_l4, addr, &pt, &slot))
        goto out;
    pte = __atomic_load_n(map_table(pt) + slot, __ATOMIC_SEQ_CST);
    /* "We are only interested in read-only mappings." */
    if ((pte & (PTE_PRESENT | PTE_RW)) != PTE_PRESENT)
        goto out;
    l1 = pte_mfn(pte);
    /* "We are looking only for read-only mappings of p.t. pages." */
    if (l1.mfn >= nr_frames || frame(l1)->type != PGT_L1 || !frame(l1)->type_count ||
        !(frame(l1)->flags & PV_FRAME_VALIDATED))
        goto out;
    slot = (unsigned int)((addr & (PAGE_SIZE - 1)) >> 3);
    full = __atomic_load_n(map_table(l1) + slot, __ATOMIC_SEQ_CST);
    old = (full >> shift) & mask;
    if (!op(ctx, old, &nv)) {
        rc = 0;                     /* cmpxchg miss: nothing stored */
    } else {
        /* Turn the sub-word access into a full-word one. */
        nv = (full & ~(mask << shift)) | ((nv & mask) << shift);
        rc = mod_entry(1, l1, slot, nv, false);
    }
    if (!rc && oldp)
        *oldp = old;
out:
    spin_unlock(&mm_lock);
    return rc;
}

/* -------------------------------------------------- update_va_mapping --- */

/* pt_walk()'s table hook here: only frames the PV MMU accounts for. */
static bool walk_frame_known(void *ctx, unsigned int level, uint64_t table_pa)
{
    (void)ctx;
    (void)level;
    return paddr_to_mfn(pa(table_pa)).mfn < nr_frames;
}

/* Find the L1 entry mapping va in L4 'l4' (Xen's map_guest_l1e): the L1
 * table and the slot, whatever the entry holds. A superpage or a missing
 * level has none. Called with the MMU lock held (include/minishim/
 * pt_walk.h: no table changes type meanwhile). */
static bool find_l1e(mfn_t l4, uint64_t addr, mfn_t *l1, unsigned int *slot)
{
    static const struct pt_walk_hooks hooks = { .table = walk_frame_known };
    struct pt_walk w;

    if (!guest_addr_ok(addr) || !l4.mfn)
        return false;
    pt_walk(mfn_to_paddr(l4).pa, addr, &hooks, NULL, &w);
    if (w.level != 1 || w.end == PT_WALK_STOPPED)
        return false;
    *l1 = paddr_to_mfn(pa(w.table[1]));
    *slot = (unsigned int)PT_INDEX(addr, L1_SHIFT);
    return true;
}

long do_update_va_mapping(unsigned long addr, uint64_t val, unsigned long flags)
{
    struct pv_mm_vcpu_state *v = cfg.current_vcpu();
    unsigned long bmap = flags & ~(unsigned long)UVMF_FLUSHTYPE_MASK;
    cpumask_t mask;
    unsigned int slot;
    mfn_t l1;
    long rc = -XEN_EINVAL;

    mm_lock_acquire();
    if (find_l1e(v->kernel_l4, addr, &l1, &slot) && get_page(l1)) {
        if (frame(l1)->type == PGT_L1 && frame(l1)->type_count &&
            (frame(l1)->flags & PV_FRAME_VALIDATED))
            rc = mod_entry(1, l1, slot, val, false);
        put_page(l1);
    }
    spin_unlock(&mm_lock);

    /* XSA-279: a failed update changed nothing, and va is unaudited:
     * no flush. */
    if (rc)
        return rc;

    switch (flags & UVMF_FLUSHTYPE_MASK) {
    case UVMF_TLB_FLUSH:
        if (bmap == UVMF_LOCAL) {
            guest_flush_local(FLUSH_GUEST_ALL, 0);
        } else if (bmap == UVMF_ALL) {
            guest_flush_kind(cfg.dirty_mask, FLUSH_GUEST_ALL, 0, INJECT_SKIP_UVMF_FLUSH_ALL);
        } else {
            rc = vcpumask_to_cpumask(bmap, &mask);
            guest_flush_kind(&mask, FLUSH_GUEST_ALL, 0, INJECT_SKIP_UVMF_FLUSH_MULTI);
        }
        break;
    case UVMF_INVLPG:
        if (bmap == UVMF_LOCAL) {
            guest_flush_local(FLUSH_TLB | FLUSH_VA_VALID, addr);
        } else if (bmap == UVMF_ALL) {
            guest_flush_kind(cfg.dirty_mask, FLUSH_TLB | FLUSH_VA_VALID, addr,
                             INJECT_SKIP_UVMF_INVLPG_ALL);
        } else {
            rc = vcpumask_to_cpumask(bmap, &mask);
            guest_flush_kind(&mask, FLUSH_TLB | FLUSH_VA_VALID, addr,
                             INJECT_SKIP_UVMF_INVLPG_MULTI);
        }
        break;
    default:                        /* UVMF_NONE (and 3): no flush */
        break;
    }
    return rc;
}

/* Xen 4.17 do_update_va_mapping_otherdomain: get_pg_owner(domid), then
 * the same update. Only DOMID_SELF owns pages here; every other id is
 * -ESRCH, as do_mmu_update's foreign domain. */
long do_update_va_mapping_otherdomain(unsigned long addr, uint64_t val,
                                      unsigned long flags, unsigned int domid)
{
    if ((uint16_t)domid != DOMID_SELF)
        return -XEN_ESRCH;
    return do_update_va_mapping(addr, val, flags);
}

/* ------------------------------------------------------------ mmuext_op - */

/* struct mmuext_op as laid out for a 64-bit guest. */
struct mmuext_req {
    uint32_t cmd;
    uint32_t pad;
    uint64_t arg1;      /* mfn or linear_addr */
    uint64_t arg2;      /* nr_ents, vcpumask or src_mfn */
};
_Static_assert(sizeof(struct mmuext_req) == sizeof(struct mmuext_op),
               "mmuext_op layout");

static long mmuext_one(const struct mmuext_req *op, struct pv_mm_vcpu_state *v)
{
    mfn_t m = mfn(op->arg1);
    cpumask_t mask;
    long rc = 0;

    switch (op->cmd) {
    case MMUEXT_PIN_L1_TABLE:
    case MMUEXT_PIN_L2_TABLE:
    case MMUEXT_PIN_L3_TABLE:
    case MMUEXT_PIN_L4_TABLE:
        return pin_table(m, op->cmd - MMUEXT_PIN_L1_TABLE + 1);

    case MMUEXT_UNPIN_TABLE:
        return unpin_table(m);

    case MMUEXT_NEW_BASEPTR:
        /* Xen's new_guest_cr3: the old LDT mappings go, the new base is
         * loaded now (a CR3 write flushes this CPU's non-global TLB); the
         * same base again is only reloaded. */
        if (m.mfn != v->kernel_l4.mfn || !m.mfn) {
            rc = set_base(v, m, false);
            if (rc)
                return rc;
            /* cfg.ldt_changed runs in do_mmuext_op, outside mm_lock. */
        }
        if (cfg.load_kernel_pt)
            cfg.load_kernel_pt(v);
        else
            arch_write_cr3(mfn_to_paddr(v->kernel_l4).pa);
        return 0;

    case MMUEXT_NEW_USER_BASEPTR:
        return set_base(v, m, true);

    case MMUEXT_TLB_FLUSH_LOCAL:
        guest_flush_local(FLUSH_GUEST_ALL, 0);
        return 0;

    case MMUEXT_INVLPG_LOCAL:
        if (is_canonical(op->arg1))
            guest_flush_local(FLUSH_TLB | FLUSH_VA_VALID, op->arg1);
        return 0;

    case MMUEXT_TLB_FLUSH_MULTI:
    case MMUEXT_INVLPG_MULTI:
        if (vcpumask_to_cpumask(op->arg2, &mask))
            return -XEN_EINVAL;
        if (op->cmd == MMUEXT_TLB_FLUSH_MULTI)
            guest_flush_kind(&mask, FLUSH_GUEST_ALL, 0, INJECT_SKIP_TLB_FLUSH_MULTI);
        else if (guest_addr_ok(op->arg1))
            guest_flush_kind(&mask, FLUSH_TLB | FLUSH_VA_VALID, op->arg1,
                             INJECT_SKIP_INVLPG_MULTI);
        return 0;

    case MMUEXT_TLB_FLUSH_ALL:
        guest_flush_kind(cfg.dirty_mask, FLUSH_GUEST_ALL, 0, INJECT_SKIP_TLB_FLUSH_ALL);
        return 0;

    case MMUEXT_INVLPG_ALL:
        if (guest_addr_ok(op->arg1))
            guest_flush_kind(cfg.dirty_mask, FLUSH_TLB | FLUSH_VA_VALID, op->arg1,
                             INJECT_SKIP_INVLPG_ALL);
        return 0;

    /* A domU without I/O resources may not flush caches (Xen:
     * cache_flush_permitted() is false). */
    case MMUEXT_FLUSH_CACHE:
        return -XEN_EACCES;
    case MMUEXT_FLUSH_CACHE_GLOBAL:
        return -XEN_EINVAL;

    case MMUEXT_SET_LDT: {
        unsigned int ents = (unsigned int)op->arg2;
        uint64_t base = ents ? op->arg1 : 0;

        if (ents > 8192 || (ents && ((base & (PAGE_SIZE - 1)) || !guest_addr_ok(base))))
            return -XEN_EINVAL;
        /* Xen: the shadow LDT goes only when base or size change; the
         * ldt_changed hook runs in do_mmuext_op, outside mm_lock (it
         * takes and drops segment-descriptor type references). */
        v->ldt_base = base;
        v->ldt_ents = ents;
        return 0;
    }

    case MMUEXT_CLEAR_PAGE:
        if (get_page_and_type(m, PGT_WRITABLE))
            return -XEN_EINVAL;
        memset(map_table(m), 0, PAGE_SIZE);
        put_page_and_type(m);
        return 0;

    case MMUEXT_COPY_PAGE: {
        mfn_t src = mfn(op->arg2);

        if (!get_page(src))
            return -XEN_EINVAL;
        if (get_page_and_type(m, PGT_WRITABLE)) {
            put_page(src);
            return -XEN_EINVAL;
        }
        memmove(map_table(m), map_table(src), PAGE_SIZE);
        put_page_and_type(m);
        put_page(src);
        return 0;
    }

    /* No superpage support (Xen without opt_allow_superpage). */
    case MMUEXT_MARK_SUPER:
    case MMUEXT_UNMARK_SUPER:
        return -XEN_EOPNOTSUPP;

    default:
        return -XEN_ENOSYS;
    }
}

long do_mmuext_op(uint64_t uops, unsigned int count, uint64_t pdone,
                  unsigned int foreigndom)
{
    struct pv_mm_vcpu_state *v;
    unsigned int i, done;
    long rc = 0;

    if (!batch_preamble(uops, &count, pdone, foreigndom, sizeof(struct mmuext_req),
                        &done, &rc))
        return rc;
    if ((uint16_t)foreigndom != DOMID_SELF)
        return -XEN_ESRCH;          /* Xen's get_pg_owner, as above */
    v = cfg.current_vcpu();

    for (i = 0; i < count; i++) {
        struct mmuext_req op;
        uint64_t old_ldt_base = v->ldt_base;
        unsigned int old_ldt_ents = v->ldt_ents;
        mfn_t old_l4 = v->kernel_l4;

        if (cfg.guest->copy_from(&op, uops + (uint64_t)i * sizeof(op), sizeof(op))) {
            rc = -XEN_EFAULT;
            break;
        }

        mm_lock_acquire();
        rc = mmuext_one(&op, v);
        spin_unlock(&mm_lock);
        /* The old LDT mappings go with a new LDT or a new kernel base
         * (Xen pv_destroy_ldt in MMUEXT_SET_LDT and new_guest_cr3). */
        if (!rc && cfg.ldt_changed &&
            ((op.cmd == MMUEXT_SET_LDT &&
              (v->ldt_base != old_ldt_base || v->ldt_ents != old_ldt_ents)) ||
             (op.cmd == MMUEXT_NEW_BASEPTR && v->kernel_l4.mfn != old_l4.mfn)))
            cfg.ldt_changed(v);
        if (rc)
            break;
    }

    done += i;
    write_done(pdone, done);
    return rc;
}
