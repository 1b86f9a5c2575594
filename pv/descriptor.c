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
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>

#define GDT_FRAMES_MAX    (FIRST_RESERVED_GDT_PAGE)
#define DESC_PER_PAGE     512
#define SEG_P             (1ULL << 47)
#define SEG_S             (1ULL << 44)     /* code/data, not system */
#define SEG_DPL_SHIFT     45
#define SEG_TYPE_MASK     (0xfULL << 40)

static mfn_t gdt_frames[GDT_FRAMES_MAX];
static unsigned int gdt_nr_frames, gdt_entries;   /* entries: as Xen's gdt_ents */

/*
 * Xen check_descriptor() for a 64-bit PV guest: not-present and null
 * descriptors are harmless; code/data descriptors are accepted with their
 * DPL raised to the guest kernel's ring (3); type-0 system descriptors (the
 * upper half of a 16-byte gate) are harmless; every other system
 * descriptor (TSS, LDT, gates) is refused. Call gates, which Xen emulates,
 * are refused here too (not offered yet).
 */
bool pv_check_descriptor(uint64_t *d)
{
    uint64_t b = *d;

    if (!(b & SEG_P))
        return true;
    if (b & SEG_S) {
        *d = b | (3ULL << SEG_DPL_SHIFT);
        return true;
    }
    return (b & SEG_TYPE_MASK) == 0;
}

/* PGT_SEG_DESC validation for the PV MMU (pv_mm_config.validate_seg_desc). */
int pv_validate_seg_desc_page(const void *page)
{
    const uint64_t *d = page;

    for (unsigned int i = 0; i < DESC_PER_PAGE; i++) {
        uint64_t tmp = d[i];

        if (!pv_check_descriptor(&tmp))
            return -XEN_EINVAL;
    }
    return 0;
}

/* Xen maps whole frames into the GDT area: every descriptor of a GDT
 * frame is live, also those past 'entries' in its last frame. */
static void gdt_load_copy(void)
{
    uint64_t desc[DESC_PER_PAGE];

    arch_set_guest_gdt_entries(0, NULL, FIRST_RESERVED_GDT_ENTRY);
    for (unsigned int f = 0; f < gdt_nr_frames; f++) {
        memcpy(desc, arch_phys_to_virt(mfn_to_paddr(gdt_frames[f])), sizeof(desc));
        for (unsigned int i = 0; i < DESC_PER_PAGE; i++)
            pv_check_descriptor(&desc[i]);      /* DPL fix-up only */
        arch_set_guest_gdt_entries(f * DESC_PER_PAGE, desc, DESC_PER_PAGE);
    }
}

long do_set_gdt(uint64_t frame_list, unsigned int entries)
{
    unsigned long frames[GDT_FRAMES_MAX];
    unsigned int nr = (entries + DESC_PER_PAGE - 1) / DESC_PER_PAGE, i;

    /* Xen: the reserved entries (FLAT_RING3_*, the shim's own) are not
     * the guest's. */
    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    if (copy_from_guest(frames, frame_list, nr * sizeof(frames[0])))
        return -XEN_EFAULT;
    for (i = 0; i < nr; i++)
        if (pv_mm_get_page_and_type(mfn(frames[i]), PGT_SEG_DESC))
            break;
    if (i < nr) {
        while (i--)
            pv_mm_put_page_and_type(mfn(frames[i]));
        return -XEN_EINVAL;
    }
    for (i = 0; i < gdt_nr_frames; i++)
        pv_mm_put_page_and_type(gdt_frames[i]);
    for (i = 0; i < nr; i++)
        gdt_frames[i] = mfn(frames[i]);
    gdt_nr_frames = nr;
    gdt_entries = entries;
    gdt_load_copy();
    return 0;
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
    for (unsigned int i = 0; i < gdt_nr_frames; i++) {
        unsigned int idx = i * DESC_PER_PAGE + (unsigned int)((maddr & (PAGE_SIZE - 1)) / 8);

        if (gdt_frames[i].mfn == m.mfn)
            arch_set_guest_gdt_entries(idx, &desc, 1);
    }
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
    unsigned int idx = sel >> 3;
    uint64_t d;

    if ((sel & 3) != 3)
        return false;
    if (code && (sel == FLAT_RING3_CS64 || sel == FLAT_RING3_CS32))
        return true;
    if (!code && sel == FLAT_RING3_SS64)
        return true;
    if ((sel & 4) || idx >= gdt_nr_frames * DESC_PER_PAGE || idx == 0)
        return false;               /* LDT (not offered), outside the GDT */
    d = ((const uint64_t *)arch_phys_to_virt(
             mfn_to_paddr(gdt_frames[idx / DESC_PER_PAGE])))[idx % DESC_PER_PAGE];
    if (!pv_check_descriptor(&d) || !(d & SEG_P) || !(d & SEG_S))
        return false;
    if (code)
        return d & (1ULL << 43);                            /* code */
    return !(d & (1ULL << 43)) && (d & (1ULL << 41));       /* writable data */
}

void pv_gdt_reset(void)
{
    gdt_nr_frames = gdt_entries = 0;
}
