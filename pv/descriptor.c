/*
 * Guest segment descriptors: set_gdt and update_descriptor (Xen's
 * xen/arch/x86/pv/descriptor-tables.c and check_descriptor()).
 *
 * The guest's GDT frames take the PV MMU's segment-descriptor type (so the
 * guest cannot map them writable); the shim copies the validated
 * descriptors into the guest part of the live GDT and keeps that copy in
 * step through update_descriptor, the only way the guest can change them.
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/page_alloc.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_emul.h>
#include <minishim/pt_walk.h>
#include <minishim/pv_pt.h>
#include <minishim/pv_descriptor.h>

#define GDT_FRAMES_MAX    (FIRST_RESERVED_GDT_PAGE)
#define DESC_PER_PAGE     512
#define SEG_P             (1ULL << 47)
#define SEG_S             (1ULL << 44)     /* code/data, not system */
#define SEG_DPL_SHIFT     45
#define SEG_TYPE_MASK     (0xfULL << 40)

/* Per vCPU, as Xen's v->arch.pv.gdt_frames/gdt_ents: vCPU n's GDT is
 * copied into shim CPU n's GDT (vCPU n always runs there). */
struct gdt_state {
    mfn_t frames[GDT_FRAMES_MAX];
    unsigned int nr_frames, entries;
};
static struct gdt_state gdt_state[PV_MAX_VCPUS];

/*
 * Xen check_descriptor() (xen/arch/x86/mm.c) for a 64-bit PV guest:
 * not-present descriptors are harmless; the DPL is raised to the guest
 * kernel's ring (3); code/data descriptors are then fine; type-0 system
 * descriptors (the upper half of a 16-byte gate) are harmless; of the
 * other system descriptors only call gates pass, and only to a guest
 * segment (a GDT entry below Xen's, FLAT_KERNEL_CS, or the LDT), with
 * their DPL forced to 0 and the DPL kept in the target's RPL, reserved
 * bits clear. A DPL-0 gate can never be used from ring 3: every far
 * call/jmp through it is a #GP(gate selector), which Xen (4.17) passes
 * to a 64-bit guest as it is (emul-gate-op.c serves 32-bit guests only).
 * *d is updated in place, as Xen writes the fixed-up descriptor.
 */
bool pv_check_descriptor(uint64_t *d)
{
    uint32_t a = (uint32_t)*d, b = (uint32_t)(*d >> 32);
    uint16_t cs;

    if (!(b & (1u << 15)))                      /* P */
        return true;
    b |= 3u << 13;                              /* DPL: at least 3 */
    if (b & (1u << 12)) {                       /* S: code or data */
        *d = a | ((uint64_t)b << 32);
        return true;
    }
    if ((b & 0xf00) == 0)
        return true;
    if ((b & 0xf00) != 0xc00)                   /* only call gates */
        return false;
    cs = (uint16_t)(a >> 16);
    if ((cs >> 3) >= FIRST_RESERVED_GDT_ENTRY && cs != FLAT_KERNEL_CS && !(cs & 4))
        return false;
    b &= ~(3u << 13);
    cs = (uint16_t)((cs & ~3) | 3);
    a = (a & 0xffff) | ((uint32_t)cs << 16);
    if (b & 0xff)                               /* reserved (64-bit gate) */
        return false;
    *d = a | ((uint64_t)b << 32);
    return true;
}

/*
 * PGT_SEG_DESC validation for the PV MMU (pv_mm_config.validate_seg_desc):
 * Xen validate_segdesc_page() checks the frame in place and
 * check_descriptor() writes each fixed-up descriptor back into it (DPL
 * raised, a gate's DPL moved to its target's RPL), up to the first bad
 * one. So a guest reading its GDT/LDT frame once it is in use sees what
 * the CPU uses, as under Xen.
 */
int pv_validate_seg_desc_page(void *page)
{
    uint64_t *d = page;

    for (unsigned int i = 0; i < DESC_PER_PAGE; i++) {
        uint64_t tmp = __atomic_load_n(&d[i], __ATOMIC_RELAXED);

        if (!pv_check_descriptor(&tmp))
            return -XEN_EINVAL;
        __atomic_store_n(&d[i], tmp, __ATOMIC_RELAXED);
    }
    return 0;
}

/* Xen maps whole frames into the GDT area: every descriptor of a GDT
 * frame is live, also those past 'entries' in its last frame. */
static void gdt_load_copy(const struct vcpu *v)
{
    const struct gdt_state *g = &gdt_state[v->id];
    uint64_t desc[DESC_PER_PAGE];

    arch_set_guest_gdt_entries(v->id, 0, NULL, FIRST_RESERVED_GDT_ENTRY);
    for (unsigned int f = 0; f < g->nr_frames; f++) {
        memcpy(desc, arch_phys_to_virt(mfn_to_paddr(g->frames[f])), sizeof(desc));
        for (unsigned int i = 0; i < DESC_PER_PAGE; i++)
            pv_check_descriptor(&desc[i]);      /* DPL fix-up only */
        arch_set_guest_gdt_entries(v->id, f * DESC_PER_PAGE, desc, DESC_PER_PAGE);
    }
}

/* ------------------------------------------------------------------ LDT --- */

/*
 * The guest's LDT (MMUEXT_SET_LDT, pv/mm.c records base and entries). Xen
 * maps the guest's LDT pages lazily into a per-vCPU area on the first
 * fault touching one (pv_map_ldt_shadow_page); each page is taken as
 * PGT_seg_desc_page and stays so until the LDT changes (SET_LDT, a new
 * kernel base pointer) or the vCPU goes. minishim does the same with a
 * per-vCPU shadow copy instead of a mapping: the LDTR points at the copy,
 * pages not faulted in yet are all-zero there (so loading a selector from
 * them raises #GP(selector)), and pv_ldt_fault() faults the page in on
 * that #GP: walk the guest kernel page tables, take the type (which
 * validates every descriptor with the update_descriptor checks), copy,
 * retry the instruction. A page that cannot be taken is reported as Xen
 * does (handle_ldt_mapping_fault): #PF at ldt_base + offset, or #GP(sel)
 * when that address is not canonical. update_descriptor keeps the copies
 * in step (the pages are read-only to the guest otherwise).
 */
#define LDT_PAGES 16                        /* 8192 entries */

struct ldt_shadow {
    uint64_t *desc;                         /* LDT_PAGES frames, or NULL */
    mfn_t frame[LDT_PAGES];                 /* faulted-in pages, 0: none */
    bool loaded;                            /* LDTR holds this copy      */
};

static struct ldt_shadow ldt_shadow[PV_MAX_VCPUS];

static struct ldt_shadow *ldt_of(const struct vcpu *v)
{
    return &ldt_shadow[v->id];
}

/* The copy itself (64 KiB) comes from the frame allocator the first time
 * the vCPU uses an LDT, so vCPUs without one cost nothing; kept until the
 * shim stops. false when no frames are left. */
static bool ldt_copy_alloc(struct ldt_shadow *s)
{
    mfn_t m;

    if (s->desc)
        return true;
    m = alloc_frames_contig(LDT_PAGES, FRAME_SHIM);
    if (!mfn_valid_value(m))
        return false;
    s->desc = arch_phys_to_virt(mfn_to_paddr(m));
    return true;
}

/* pt_walk()'s table hook here: only the guest's frames are read. */
static bool walk_guest_frame(void *ctx, unsigned int level, uint64_t table_pa)
{
    (void)ctx;
    (void)level;
    return pv_mm_frame(paddr_to_mfn(pa(table_pa))) != NULL;
}

/* Guest kernel page-table walk (Xen guest_get_eff_kern_l1e): the frame
 * mapped at va by an L1 entry, or 0 when a level is not present or maps
 * a superpage. It runs without the MMU lock while the guest may change
 * its tables (include/minishim/pt_walk.h): every table read is a guest
 * frame, and the caller takes a typed reference on the result. */
static mfn_t guest_kern_frame(const struct vcpu *v, uint64_t va)
{
    static const struct pt_walk_hooks hooks = { .table = walk_guest_frame };
    struct pt_walk w;

    if (pt_walk(pv_kernel_cr3(v), va, &hooks, NULL, &w) != PT_WALK_MAPPED || w.level != 1)
        return mfn(0);
    return paddr_to_mfn(pa(w.entry[1] & PTE_ADDR_MASK));
}

static void ldt_load(struct vcpu *v)
{
    struct ldt_shadow *s = ldt_of(v);

    /* Without frames for the copy the LDTR stays null: every LDT
     * selector then faults and pv_ldt_fault() reports it to the guest as
     * a page it could not take. */
    if (v->mm.ldt_ents && ldt_copy_alloc(s)) {
        arch_load_ldt(s->desc, v->mm.ldt_ents);
        s->loaded = true;
        return;
    }
    arch_load_ldt(NULL, 0);
    s->loaded = !v->mm.ldt_ents;
}

/* Xen pv_destroy_ldt(): drop every faulted-in page. */
static void ldt_destroy(struct vcpu *v)
{
    struct ldt_shadow *s = ldt_of(v);

    for (unsigned int p = 0; p < LDT_PAGES; p++) {
        if (!s->frame[p].mfn)
            continue;
        memset(&s->desc[p * DESC_PER_PAGE], 0, PAGE_SIZE);
        pv_mm_put_page_and_type(s->frame[p]);
        s->frame[p] = mfn(0);
    }
}

/* Fault in LDT page p of v (Xen pv_map_ldt_shadow_page). */
static bool ldt_map_page(struct vcpu *v, unsigned int p)
{
    struct ldt_shadow *s = ldt_of(v);
    uint64_t *d;
    mfn_t m;

    if (s->frame[p].mfn)
        return true;
    if (!ldt_copy_alloc(s))
        return false;
    d = &s->desc[p * DESC_PER_PAGE];
    /* Xen guest_get_eff_l1e(): outside the guest range reads as not
     * present. */
    if (!guest_access_ok(v->mm.ldt_base + (uint64_t)p * PAGE_SIZE, PAGE_SIZE))
        return false;
    m = guest_kern_frame(v, v->mm.ldt_base + (uint64_t)p * PAGE_SIZE);
    if (!m.mfn || pv_mm_get_page_and_type(m, PGT_SEG_DESC)) {
        pr_debug("pv: LDT page %u (%lx, frame %lx) cannot be taken\n", p,
                 (unsigned long)(v->mm.ldt_base + (uint64_t)p * PAGE_SIZE),
                 (unsigned long)m.mfn);
        return false;
    }
    memcpy(d, arch_phys_to_virt(mfn_to_paddr(m)), PAGE_SIZE);
    for (unsigned int i = 0; i < DESC_PER_PAGE; i++)
        pv_check_descriptor(&d[i]);             /* DPL fix-up only */
    s->frame[p] = m;
    return true;
}

/* Descriptor idx of v's LDT, faulting its page in: false when there is
 * none (beyond ldt_ents, or the page cannot be taken). */
static bool ldt_descriptor(struct vcpu *v, unsigned int idx, uint64_t *d)
{
    if (idx >= v->mm.ldt_ents || !ldt_map_page(v, idx / DESC_PER_PAGE))
        return false;
    if (!ldt_of(v)->loaded)
        ldt_load(v);
    *d = ldt_of(v)->desc[idx];
    return true;
}

/* update_descriptor wrote descriptor slot of frame m: refresh the copies. */
static void ldt_update_shadows(mfn_t m, unsigned int slot, uint64_t desc)
{
    for (unsigned int i = 0; i < pv_dom.nr_vcpus && i < PV_MAX_VCPUS; i++)
        for (unsigned int p = 0; p < LDT_PAGES; p++)
            if (ldt_shadow[i].frame[p].mfn == m.mfn)
                __atomic_store_n(&ldt_shadow[i].desc[p * DESC_PER_PAGE + slot],
                                 desc, __ATOMIC_SEQ_CST);
}

void pv_ldt_changed(struct pv_mm_vcpu_state *mm)
{
    struct vcpu *v = (struct vcpu *)((char *)mm - offsetof(struct vcpu, mm));

    ldt_destroy(v);
    ldt_of(v)->loaded = false;
    /* The hypercall runs on v's own CPU: the LDTR follows at once. */
    if (v == pv_current())
        ldt_load(v);
}

void pv_ldt_destroy(struct vcpu *v)
{
    ldt_destroy(v);
    ldt_of(v)->loaded = false;
}

int pv_ldt_fault(struct vcpu *v, uint32_t ec, uint64_t *cr2)
{
    unsigned int idx = ec >> 3;
    uint64_t off = (uint64_t)idx * 8, linear;
    struct ldt_shadow *s = ldt_of(v);

    /* Only a selector error (not EXT, not IDT) naming the LDT. */
    if ((ec & 7) != 4 || idx >= v->mm.ldt_ents)
        return 0;
    if (!s->loaded) {
        /* First LDT use on this CPU (a vCPU started with an LDT). */
        ldt_load(v);
        if (s->frame[idx / DESC_PER_PAGE].mfn)
            return 1;
    }
    if (s->frame[idx / DESC_PER_PAGE].mfn)
        return 0;                   /* a real #GP on a faulted-in page */
    if (ldt_map_page(v, idx / DESC_PER_PAGE))
        return 1;
    /* Xen handle_ldt_mapping_fault(): #GP(sel) if the address would be
     * non-canonical, else #PF at the LDT address. */
    linear = v->mm.ldt_base + off;
    if (!is_canonical(linear))
        return 0;                   /* #GP(sel) as it is */
    *cr2 = linear;
    return -1;
}

/* Xen pv_set_gdt(): every frame taken as PGT_seg_desc_page (validating
 * its descriptors), then the old ones released. */
int pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int entries)
{
    struct gdt_state *g = &gdt_state[v->id];
    unsigned int nr = (entries + DESC_PER_PAGE - 1) / DESC_PER_PAGE, i;

    /* Xen: the reserved entries (FLAT_RING3_*, the shim's own) are not
     * the guest's. */
    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    for (i = 0; i < nr; i++)
        if (pv_mm_get_page_and_type(mfn(frames[i]), PGT_SEG_DESC))
            break;
    if (i < nr) {
        while (i--)
            pv_mm_put_page_and_type(mfn(frames[i]));
        return -XEN_EINVAL;
    }
    for (i = 0; i < g->nr_frames; i++)
        pv_mm_put_page_and_type(g->frames[i]);
    for (i = 0; i < nr; i++)
        g->frames[i] = mfn(frames[i]);
    g->nr_frames = nr;
    g->entries = entries;
    gdt_load_copy(v);
    return 0;
}

long do_set_gdt(uint64_t frame_list, unsigned int entries)
{
    unsigned long frames[GDT_FRAMES_MAX];
    unsigned int nr = (entries + DESC_PER_PAGE - 1) / DESC_PER_PAGE;

    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    if (copy_from_guest(frames, frame_list, nr * sizeof(frames[0])))
        return -XEN_EFAULT;
    return pv_set_gdt(pv_current(), frames, entries);
}

long do_update_descriptor(uint64_t maddr, uint64_t desc)
{
    mfn_t m = paddr_to_mfn(pa(maddr));
    const struct pv_frame *f = pv_mm_frame(m);
    enum pv_page_type type;
    uint64_t *slot;

    if ((maddr & 7) || !pv_check_descriptor(&desc) || !f)
        return -XEN_EINVAL;
    /* A descriptor page keeps its type; anything else must be able to
     * take a writable reference (never a page table). */
    type = f->type == PGT_SEG_DESC && f->type_count ? PGT_SEG_DESC : PGT_WRITABLE;
    if (pv_mm_get_page_and_type(m, type))
        return -XEN_EINVAL;
    slot = (uint64_t *)arch_phys_to_virt(pa(maddr));
    __atomic_store_n(slot, desc, __ATOMIC_SEQ_CST);
    /* Every vCPU's GDT copy holding this frame (Xen maps the frame, so
     * all see the write at once). */
    for (unsigned int n = 0; n < pv_dom.nr_vcpus && n < PV_MAX_VCPUS; n++) {
        const struct gdt_state *g = &gdt_state[n];

        for (unsigned int i = 0; i < g->nr_frames; i++) {
            unsigned int idx = i * DESC_PER_PAGE +
                               (unsigned int)((maddr & (PAGE_SIZE - 1)) / 8);

            if (g->frames[i].mfn == m.mfn)
                arch_set_guest_gdt_entries(n, idx, &desc, 1);
        }
    }
    ldt_update_shadows(m, (unsigned int)((maddr & (PAGE_SIZE - 1)) / 8), desc);
    pv_mm_put_page_and_type(m);
    return 0;
}

/*
 * May the guest resume with this selector in CS (code) or SS (!code)?
 * The shim's iretq must never fault on a guest-supplied frame (a fault
 * there would be a fault in the shim): Xen's flat ring-3 selectors, or a
 * present DPL-3 code / writable data descriptor in the guest's GDT.
 */
bool pv_selector_ok(uint16_t sel, bool code)
{
    return pv_vcpu_selector_ok(pv_current(), sel, code);
}

bool pv_vcpu_selector_ok(struct vcpu *v, uint16_t sel, bool code)
{
    const struct gdt_state *g = &gdt_state[v->id];
    unsigned int idx = sel >> 3;
    uint64_t d;

    if ((sel & 3) != 3)
        return false;
    if (code && (sel == FLAT_RING3_CS64 || sel == FLAT_RING3_CS32))
        return true;
    if (!code && sel == FLAT_RING3_SS64)
        return true;
    if (sel & 4) {
        /* The LDT: the shadow copy, faulted in as the CPU would. */
        if (!ldt_descriptor(v, idx, &d))
            return false;
    } else {
        if (idx >= g->nr_frames * DESC_PER_PAGE || idx == 0)
            return false;           /* outside the GDT */
        d = ((const uint64_t *)arch_phys_to_virt(
                 mfn_to_paddr(g->frames[idx / DESC_PER_PAGE])))[idx % DESC_PER_PAGE];
    }
    if (!pv_check_descriptor(&d) || !(d & SEG_P) || !(d & SEG_S))
        return false;
    if (code)
        return d & (1ULL << 43);                            /* code */
    return !(d & (1ULL << 43)) && (d & (1ULL << 41));       /* writable data */
}

void pv_gdt_reset(void)
{
    memset(gdt_state, 0, sizeof(gdt_state));
    memset(ldt_shadow, 0, sizeof(ldt_shadow));
}
