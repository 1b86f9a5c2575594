/*
 * PV domain builder: what Xen's dom0_construct_pv() (xen/arch/x86/pv/
 * dom0_build.c) does when Xen runs as a PV shim, for one 64-bit guest.
 *
 * Initial virtual layout, from virt_base upward, all backed by one
 * physically contiguous run of guest frames (pfn = (va - v_start) >> 12):
 *   kernel image | initrd | P2M | start_info | xenstore | console |
 *   page tables (mapped read-only) | boot stack | >= 512 KiB padding
 * Guest mappings carry PTE_USER: a 64-bit PV kernel runs in ring 3.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/layout.h>
#include <minishim/page_alloc.h>
#include <minishim/pv_domain.h>
#include <minishim/pv_pt.h>
#include <minishim/pv_time.h>
#include <minishim/x86.h>
#include <minishim/pv_debugreg.h>
#include <minishim/pv_descriptor.h>
#include <minishim/pv_evtchn.h>

#define FAIL(rc, ...) do { snprintf(err, errlen, __VA_ARGS__); return (rc); } while (0)

/* Xen dom0_build.c: L1_PROT / L2..L4_PROT for a 64-bit PV guest. */
#define GUEST_L1_PROT (PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_USER)
#define GUEST_LN_PROT (PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY | \
                       PTE_USER)

static const char *const feature_names[] = {
    [XENFEAT_writable_page_tables] = "writable_page_tables",
    [XENFEAT_writable_descriptor_tables] = "writable_descriptor_tables",
    [XENFEAT_auto_translated_physmap] = "auto_translated_physmap",
    [XENFEAT_supervisor_mode_kernel] = "supervisor_mode_kernel",
    [XENFEAT_pae_pgdir_above_4gb] = "pae_pgdir_above_4gb",
    [XENFEAT_hvm_callback_vector] = "hvm_callback_vector",
    [XENFEAT_dom0] = "dom0",
};

/* libelf's elf_xen_parse_features(): '|'-separated names, '!' = required;
 * an unknown optional name is ignored, an unknown required one refused. */
int pv_parse_features(const char *s, uint32_t *supported, uint32_t *required)
{
    char name[64];

    *supported = *required = 0;
    while (s && *s) {
        size_t n = strcspn(s, "|");
        bool req = *s == '!';
        unsigned int i;

        memset(name, 0, sizeof(name));
        memcpy(name, s + req, MIN(n - req, sizeof(name) - 1));
        for (i = 0; i < ARRAY_SIZE(feature_names); i++) {
            if (feature_names[i] && !strcmp(name, feature_names[i])) {
                *supported |= 1u << i;
                if (req)
                    *required |= 1u << i;
                break;
            }
        }
        if (i == ARRAY_SIZE(feature_names) && req)
            return -XEN_EINVAL;
        s += n;
        if (*s == '|')
            s++;
    }
    return 0;
}

int pv_parms_from_notes(const struct elf_image *img, const struct xen_notes *n,
                        struct pv_parms *p, char *err, size_t errlen)
{
    uint32_t unsupported;

    memset(p, 0, sizeof(*p));
    /* libelf elf_xen_note_check(). */
    if (strncmp(n->loader, "generic", 7) && strncmp(n->guest_os, "linux", 5))
        FAIL(-XEN_EINVAL, "Xen notes: loader \"%s\" / guest OS \"%s\": only the "
             "generic loader or Linux images can be loaded", n->loader, n->guest_os);
    if (strncmp(n->xen_version, "xen-3.0", 7))
        FAIL(-XEN_EINVAL, "Xen notes: XEN_VERSION \"%s\" is not xen-3.0",
             n->xen_version);
    if (pv_parse_features(n->features, &p->f_supported, &p->f_required))
        FAIL(-XEN_EINVAL, "Xen notes: FEATURES \"%s\" requires an unknown feature",
             n->features);
    p->f_supported |= n->supported_features;
    unsupported = p->f_required & ~PV_FEATURES_OFFERED;
    if (unsupported) {
        unsigned int bit = (unsigned int)__builtin_ctz(unsupported);

        FAIL(-XEN_EINVAL, "guest requires feature '%s', which minishim does not offer",
             bit < ARRAY_SIZE(feature_names) && feature_names[bit] ?
             feature_names[bit] : "?");
    }

    /* libelf elf_xen_addr_calc_check(), ELF-notes flavour. */
    if (n->has_paddr_offset && !n->has_virt_base)
        FAIL(-XEN_EINVAL, "Xen notes: PADDR_OFFSET set but VIRT_BASE unset");
    p->virt_base = n->has_virt_base ? n->virt_base : 0;
    /* The initial mapping is laid out in 4 KiB pages from VIRT_BASE.
     * Xen 4.17 has no explicit check: libelf's elf_xen_addr_calc_check()
     * accepts any base, and its PV dom0 builder (pv/dom0_build.c, which
     * its own shim uses) takes v_start = virt_base as is, so an unaligned
     * base there puts the bootstrap page tables at an unaligned address
     * (mpt_alloc = vpt_start - v_start + ...) and the guest dies later;
     * libxc's xc_dom_alloc_segment() refuses an unaligned segment start.
     * Deliberate difference: refused here with -EINVAL, not rounded, so
     * the guest gets a reason instead of a corrupt start of day. */
    if (p->virt_base & (PAGE_SIZE - 1))
        FAIL(-XEN_EINVAL, "Xen notes: VIRT_BASE %lx is not page aligned",
             (unsigned long)p->virt_base);
    p->paddr_offset = n->has_paddr_offset ? n->paddr_offset : 0;
    p->virt_offset = p->virt_base - p->paddr_offset;
    p->virt_kstart = img->pstart + p->virt_offset;
    p->virt_kend = img->pend + p->virt_offset;
    p->virt_entry = n->has_entry ? n->entry : img->entry;
    if (p->virt_kstart > p->virt_kend || p->virt_entry < p->virt_kstart ||
        p->virt_entry > p->virt_kend || p->virt_base > p->virt_kstart)
        FAIL(-XEN_EINVAL, "ELF start or entry out of bounds (base %lx, kernel "
             "%lx-%lx, entry %lx)", (unsigned long)p->virt_base,
             (unsigned long)p->virt_kstart, (unsigned long)p->virt_kend,
             (unsigned long)p->virt_entry);
    if (n->has_init_p2m && n->init_p2m >= p->virt_kstart && n->init_p2m < p->virt_kend)
        FAIL(-XEN_EINVAL, "Xen notes: INIT_P2M %lx lies inside the kernel",
             (unsigned long)n->init_p2m);
    p->p2m_base = n->has_init_p2m ? n->init_p2m : 0;
    p->has_hypercall = n->has_hypercall_page;
    p->virt_hypercall = n->hypercall_page;
    p->pae_extcr3 = !strcmp(n->pae_mode, "yes");
    p->unmapped_initrd = n->has_mod_start_pfn && n->mod_start_pfn;
    return 0;
}

static uint64_t round_pgup(uint64_t x)
{
    return (x + PAGE_SIZE - 1) & PAGE_MASK;
}

/* Page-table pages needed to map [l, h) at one level (dom0_build.c NR()). */
static uint64_t nr_tables(uint64_t l, uint64_t h, unsigned int shift)
{
    uint64_t m = (1UL << shift) - 1;

    return (((h + m) & ~m) - (l & ~m)) >> shift;
}

/* Blocks of 2^shift bytes that [a, b) touches, less those [c, d) touches
 * too (their table exists already in the initial mapping). */
static uint64_t new_tables(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                           unsigned int shift)
{
    uint64_t a0 = a >> shift, a1 = (b - 1) >> shift;
    uint64_t c0 = c >> shift, c1 = (d - 1) >> shift;
    uint64_t lo = MAX(a0, c0), hi = MIN(a1, c1);

    return (a1 - a0 + 1) - (lo <= hi ? hi - lo + 1 : 0);
}

/*
 * XEN_ELFNOTE_INIT_P2M (Xen dom0_build.c setup_pv_physmap): the guest
 * asks for its P2M list at virtual address base, outside the initial
 * mapping. Xen's rules: not inside the kernel (libelf), not overlapping
 * the initial mapping ("P->M table overlaps initial mapping"); the
 * shim's own: page aligned, canonical and outside the hypervisor range
 * (the builder writes page-table entries there). minishim maps it with
 * 4 KiB pages only (Xen may use 2 MiB / 1 GiB ones, which the PV MMU
 * would refuse on validation).
 */
static int p2m_layout(uint64_t base, unsigned long nr_pages, struct pv_layout *l,
                      char *err, size_t errlen)
{
    uint64_t end = base + round_pgup(nr_pages * sizeof(unsigned long));

    if (base & (PAGE_SIZE - 1))
        FAIL(-XEN_EINVAL, "Xen notes: INIT_P2M %lx is not page aligned",
             (unsigned long)base);
    if (end <= base || !is_canonical_range(base, end))
        FAIL(-XEN_EINVAL, "INIT_P2M area %lx-%lx is not canonical",
             (unsigned long)base, (unsigned long)end);
    if (base < SHIM_VIRT_END && end > SHIM_VIRT_START)
        FAIL(-XEN_EINVAL, "INIT_P2M area %lx-%lx overlaps the hypervisor range",
             (unsigned long)base, (unsigned long)end);
    if (base < l->v_end && end > l->v_start)
        FAIL(-XEN_EINVAL, "INIT_P2M area %lx-%lx overlaps the initial mapping",
             (unsigned long)base, (unsigned long)end);
    l->vphysmap_start = base;
    l->vphysmap_end = base + nr_pages * sizeof(unsigned long);
    l->nr_p2m_pages = (end - base) >> PAGE_SHIFT;
    l->nr_p2m_tables = new_tables(base, end, l->v_start, l->v_end, L4_SHIFT) +
                       new_tables(base, end, l->v_start, l->v_end, L3_SHIFT) +
                       new_tables(base, end, l->v_start, l->v_end, L2_SHIFT);
    return 0;
}

int pv_compute_layout(const struct pv_parms *p, unsigned long nr_pages,
                      uint64_t initrd_len, struct pv_layout *l,
                      char *err, size_t errlen)
{
    uint64_t count;
    int rc;

    memset(l, 0, sizeof(*l));
    l->v_start = p->virt_base;
    l->vkern_start = p->virt_kstart;
    l->vkern_end = p->virt_kend;
    if (p->unmapped_initrd || !initrd_len) {
        l->vphysmap_start = round_pgup(l->vkern_end);
    } else {
        l->vinitrd_start = round_pgup(l->vkern_end);
        l->vinitrd_end = l->vinitrd_start + initrd_len;
        l->vphysmap_start = round_pgup(l->vinitrd_end);
    }
    l->vphysmap_end = l->vphysmap_start + nr_pages * sizeof(unsigned long);
    /* dom0_build.c: with INIT_P2M the P2M takes no room in the initial
     * mapping; it is mapped separately below (setup_pv_physmap). */
    if (p->p2m_base)
        l->vphysmap_end = l->vphysmap_start;
    l->vstartinfo_start = round_pgup(l->vphysmap_end);
    l->vstartinfo_end = l->vstartinfo_start + sizeof(struct start_info);
    /* pv_shim: xenstore and console pages follow start_info. */
    l->vxenstore_start = round_pgup(l->vstartinfo_end);
    l->vconsole_start = l->vxenstore_start + PAGE_SIZE;
    l->vpt_start = l->vconsole_start + PAGE_SIZE;
    if (l->vpt_start < l->v_start)
        FAIL(-XEN_EINVAL, "initial mapping wraps the address space");
    for (l->nr_pt_pages = 2; ; l->nr_pt_pages++) {
        l->vpt_end = l->vpt_start + l->nr_pt_pages * PAGE_SIZE;
        l->vstack_start = l->vpt_end;
        l->vstack_end = l->vstack_start + PAGE_SIZE;
        l->v_end = (l->vstack_end + (1UL << 22) - 1) & ~((1UL << 22) - 1);
        if (l->v_end - l->vstack_end < (512UL << 10))
            l->v_end += 1UL << 22;     /* >= 512 KiB of padding */
        if (l->v_end < l->vstack_end)
            FAIL(-XEN_EINVAL, "initial mapping wraps the address space");
        if (1 + nr_tables(l->v_start, l->v_end, L4_SHIFT) +
            nr_tables(l->v_start, l->v_end, L3_SHIFT) +
            nr_tables(l->v_start, l->v_end, L2_SHIFT) <= l->nr_pt_pages)
            break;
    }
    /* Xen: "image overlaps with Xen private area". */
    if (l->v_start < SHIM_VIRT_END && l->v_end > SHIM_VIRT_START)
        FAIL(-XEN_EINVAL, "initial mapping %lx-%lx overlaps the hypervisor range",
             (unsigned long)l->v_start, (unsigned long)l->v_end);
    /* Non-canonical: the mapping must stay in one half. */
    if (!is_canonical_range(l->v_start, l->v_end))
        FAIL(-XEN_EINVAL, "initial mapping %lx-%lx is not canonical",
             (unsigned long)l->v_start, (unsigned long)l->v_end);
    count = (l->v_end - l->v_start) >> PAGE_SHIFT;
    if (p->p2m_base) {
        rc = p2m_layout(p->p2m_base, nr_pages, l, err, errlen);
        if (rc)
            return rc;
        count += l->nr_p2m_pages + l->nr_p2m_tables;
    }
    /* An initrd outside the mapping still takes guest pages (dom0_build.c:
     * "Domain 0 allocation is too small for kernel image"). */
    if (p->unmapped_initrd)
        count += round_pgup(initrd_len) >> PAGE_SHIFT;
    if (initrd_len && count > nr_pages)
        FAIL(-XEN_ENOMEM, "the initrd (%lu KiB) does not fit in guest memory "
             "(%lu KiB, of which the kernel's initial mapping needs %lu KiB)",
             (unsigned long)(initrd_len >> 10), nr_pages << 2,
             (unsigned long)((l->v_end - l->v_start) >> 10));
    if (count > nr_pages)
        FAIL(-XEN_ENOMEM, "guest memory (%lu pages) too small for the initial "
             "mapping (%lu pages)", nr_pages, (unsigned long)count);
    /* Xen only asks for [v_start, v_end); the shim also keeps the page
     * inside the kernel image, so a bad note cannot make the builder
     * overwrite the page tables (and with them the shim's own mappings). */
    if (p->has_hypercall &&
        (p->virt_hypercall < l->vkern_start ||
         p->virt_hypercall + PAGE_SIZE > ALIGN_UP(l->vkern_end, PAGE_SIZE) ||
         (p->virt_hypercall & (PAGE_SIZE - 1))))
        FAIL(-XEN_EINVAL, "invalid HYPERCALL_PAGE %lx in the Xen notes",
             (unsigned long)p->virt_hypercall);
    return 0;
}

void pv_write_hypercall_page(uint8_t *page)
{
    /* Xen's pv_ring3_init_hypercall_page(); int3 elsewhere. */
    memset(page, 0xcc, PAGE_SIZE);
    for (unsigned int i = 0; i < PAGE_SIZE / 32; i++) {
        uint8_t *p = page + i * 32;

        p[0] = 0x51;                            /* push %rcx     */
        p[1] = 0x41; p[2] = 0x53;               /* push %r11     */
        if (i == __HYPERVISOR_iret) {
            /* Jumped to, not called: the frame is already on the stack. */
            p[3] = 0x50;                        /* push %rax     */
            p[4] = 0xb8;                        /* mov $nr, %eax */
            memcpy(p + 5, &i, 4);
            p[9] = 0x0f; p[10] = 0x05;          /* syscall       */
            continue;
        }
        p[3] = 0xb8;                            /* mov $nr, %eax */
        memcpy(p + 4, &i, 4);
        p[8] = 0x0f; p[9] = 0x05;               /* syscall       */
        p[10] = 0x41; p[11] = 0x5b;             /* pop %r11      */
        p[12] = 0x59;                           /* pop %rcx      */
        p[13] = 0xc3;                           /* ret           */
    }
}

/* The builder's view of the initial region (contiguous machine frames). */
static uint8_t *region;
static uint64_t region_va, region_len;
static mfn_t region_mfn;

void *pv_initial_va_to_ptr(uint64_t v)
{
    if (!region || v < region_va || v - region_va >= region_len)
        return NULL;
    return region + (v - region_va);
}

static uint64_t va_to_maddr(uint64_t v)
{
    return mfn_to_paddr(region_mfn).pa + (v - region_va);
}

/* Map [v_start, v_end) with 4 KiB pages; tables come from the vpt area. */
static uint64_t *build_page_tables(const struct pv_layout *l)
{
    uint64_t next_pt = l->vpt_start;
    uint64_t *l4, *l3 = NULL, *l2 = NULL, *l1 = NULL;

#define NEW_TABLE(ptr, entry_in_parent) do {                         \
        (ptr) = pv_initial_va_to_ptr(next_pt);                       \
        memset((ptr), 0, PAGE_SIZE);                                 \
        (entry_in_parent) = va_to_maddr(next_pt) | GUEST_LN_PROT;   \
        next_pt += PAGE_SIZE;                                        \
    } while (0)

    l4 = pv_initial_va_to_ptr(next_pt);
    memset(l4, 0, PAGE_SIZE);
    next_pt += PAGE_SIZE;
    pv_init_xen_l4_slots(l4);
    for (uint64_t v = l->v_start; v < l->v_end; v += PAGE_SIZE) {
        uint64_t prot = GUEST_L1_PROT;

        if (!l3 || (!PT_INDEX(v, L3_SHIFT) && !PT_INDEX(v, L2_SHIFT) &&
                    !PT_INDEX(v, L1_SHIFT)))
            NEW_TABLE(l3, l4[PT_INDEX(v, L4_SHIFT)]);
        if (!l2 || (!PT_INDEX(v, L2_SHIFT) && !PT_INDEX(v, L1_SHIFT)))
            NEW_TABLE(l2, l3[PT_INDEX(v, L3_SHIFT)]);
        if (!l1 || !PT_INDEX(v, L1_SHIFT))
            NEW_TABLE(l1, l2[PT_INDEX(v, L2_SHIFT)]);
        /* Page-table pages are mapped read-only (Xen's PV MMU invariant). */
        if (v >= l->vpt_start && v < l->vpt_end)
            prot &= ~PTE_RW;
        l1[PT_INDEX(v, L1_SHIFT)] = va_to_maddr(v) | prot;
    }
#undef NEW_TABLE
    if (next_pt > l->vpt_end) {
        /* nr_pt_pages was computed to fit; this is a builder bug. */
        return NULL;
    }
    return l4;
}

/*
 * Map the INIT_P2M list (Xen setup_pv_physmap, 4 KiB pages only): the
 * P2M frames are guest pfns [first, first + nr_p2m_pages), read and
 * written by the guest through this mapping (L1_PROT | PTE_DIRTY); the
 * missing L3/L2/L1 tables are the nr_p2m_tables pfns after them, mapped
 * nowhere (the PV MMU validates them with the L4). 0, or -1 if the
 * tables would need more frames than the layout counted.
 */
static int map_p2m(uint64_t *l4, const struct pv_layout *l, unsigned long table_pfn)
{
    unsigned long used = 0;
    uint64_t v, end = l->vphysmap_start + l->nr_p2m_pages * PAGE_SIZE;
    static const unsigned int shift[3] = { L4_SHIFT, L3_SHIFT, L2_SHIFT };

    for (v = l->vphysmap_start; v < end; v += PAGE_SIZE) {
        uint64_t *t = l4;
        unsigned long pfn = table_pfn - l->nr_p2m_pages +
                            ((v - l->vphysmap_start) >> PAGE_SHIFT);

        for (unsigned int k = 0; k < 3; k++) {
            uint64_t *e = &t[PT_INDEX(v, shift[k])];

            if (!(*e & PTE_PRESENT)) {
                mfn_t tm;

                if (used == l->nr_p2m_tables)
                    return -1;
                tm = mfn(pv_dom.p2m[table_pfn + used++]);
                memset(arch_phys_to_virt(mfn_to_paddr(tm)), 0, PAGE_SIZE);
                *e = mfn_to_paddr(tm).pa | GUEST_LN_PROT;
            }
            t = arch_phys_to_virt(pa(*e & PTE_ADDR_MASK));
        }
        t[PT_INDEX(v, L1_SHIFT)] = mfn_to_paddr(mfn(pv_dom.p2m[pfn])).pa |
                                   GUEST_L1_PROT | PTE_DIRTY;
    }
    return used == l->nr_p2m_tables ? 0 : -1;
}

int pv_build_domain(const struct pv_build_args *a, char *err, size_t errlen)
{
    struct elf_image img;
    struct xen_notes notes;
    struct pv_parms p;
    struct pv_layout l;
    struct start_info *si;
    struct elf_segment seg;
    struct vcpu *v;
    unsigned long count, pfn, initrd_pfn, initrd_pages, p2m_pfn;
    uint64_t *l4;
    mfn_t m, p2m_mfn = mfn(0);
    int rc;

    memset(&pv_dom, 0, sizeof(pv_dom));
    pv_evtchn_reset();
    pv_gdt_reset();
    region = NULL;
    if (elf_check(a->image, a->image_size, &img, err, errlen) ||
        elf_xen_notes(&img, &notes, err, errlen))
        return -XEN_EINVAL;
    if (!notes.nr_notes)
        FAIL(-XEN_EINVAL, "no Xen ELF notes: not a Xen PV kernel");
    rc = pv_parms_from_notes(&img, &notes, &p, err, errlen);
    if (rc)
        return rc;
    rc = pv_compute_layout(&p, a->nr_pages, a->initrd_size, &l, err, errlen);
    if (rc)
        return rc;
    /* XEN_ELFNOTE_MOD_START_PFN (dom0_build.c): the initrd is not mapped;
     * its frames are the guest pfns right after the initial mapping, the
     * INIT_P2M frames follow them, and start_info.mod_start is a pfn. */
    initrd_pfn = (l.v_end - l.v_start) >> PAGE_SHIFT;
    initrd_pages = p.unmapped_initrd ? round_pgup(a->initrd_size) >> PAGE_SHIFT : 0;
    p2m_pfn = initrd_pfn + initrd_pages;

    /* Guest memory: the initial region contiguous, the rest any frames. */
    count = (l.v_end - l.v_start) >> PAGE_SHIFT;
    region_mfn = alloc_frames_contig(count, FRAME_GUEST);
    if (!mfn_valid_value(region_mfn))
        FAIL(-XEN_ENOMEM, "no %lu contiguous free frames for the initial mapping",
             count);
    region = arch_phys_to_virt(mfn_to_paddr(region_mfn));
    region_va = l.v_start;
    region_len = l.v_end - l.v_start;
    pv_dom.p2m = pv_initial_va_to_ptr(l.vphysmap_start);
    if (p.p2m_base) {
        /* INIT_P2M: the list in its own frames (contiguous, so the shim
         * keeps an array view of it), guest pfns count.. onward. */
        p2m_mfn = alloc_frames_contig(l.nr_p2m_pages, FRAME_GUEST);
        if (!mfn_valid_value(p2m_mfn))
            FAIL(-XEN_ENOMEM, "no %lu contiguous free frames for the P2M list",
                 l.nr_p2m_pages);
        pv_dom.p2m = arch_phys_to_virt(mfn_to_paddr(p2m_mfn));
        memset(pv_dom.p2m, 0, l.nr_p2m_pages * PAGE_SIZE);
    }
    for (pfn = 0; pfn < a->nr_pages; pfn++) {
        if (pfn < count)
            m = mfn(region_mfn.mfn + pfn);
        else if (p.p2m_base && pfn >= p2m_pfn && pfn - p2m_pfn < l.nr_p2m_pages)
            m = mfn(p2m_mfn.mfn + (pfn - p2m_pfn));
        else
            m = alloc_frame(FRAME_GUEST);
        if (!mfn_valid_value(m))
            FAIL(-XEN_ENOMEM, "out of memory at guest pfn %lu of %lu", pfn,
                 a->nr_pages);
        pv_dom.p2m[pfn] = m.mfn;
        if (m.mfn < pv_m2p_entries)
            pv_m2p[m.mfn] = pfn;
    }
    pv_dom.nr_pages = pv_dom.max_pages = a->nr_pages;
    pv_dom.virt_start = l.v_start;
    /* Xen tsc_set_info() at domain creation: vtsc_offset = get_s_time(). */
    pv_dom.created_ns = pv_now_ns();
    pv_dom.virt_end = l.v_end;

    /* Shared info: shared with the guest, not in its P2M (Xen: xenheap
     * page shared_with_guest). Every event channel upcall masked. */
    pv_dom.shared_info_mfn = alloc_frame(FRAME_GUEST);
    if (!mfn_valid_value(pv_dom.shared_info_mfn))
        FAIL(-XEN_ENOMEM, "out of memory for shared_info");
    pv_dom.shared_info = arch_phys_to_virt(mfn_to_paddr(pv_dom.shared_info_mfn));
    for (unsigned int i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
        pv_dom.shared_info->vcpu_info[i].evtchn_upcall_mask = 1;

    /* Load the kernel: paddr - pstart from vkern_start (libelf). */
    for (unsigned int i = 0; elf_load_segment(&img, i, &seg); i++) {
        uint8_t *dst = pv_initial_va_to_ptr(seg.paddr + p.virt_offset);

        if (!dst || !pv_initial_va_to_ptr(seg.paddr + p.virt_offset + seg.memsz - 1))
            FAIL(-XEN_EINVAL, "segment %u outside the initial mapping", i);
        memcpy(dst, seg.data, seg.filesz);
        memset(dst + seg.filesz, 0, seg.memsz - seg.filesz);
    }
    if (a->initrd_size && !p.unmapped_initrd)
        memcpy(pv_initial_va_to_ptr(l.vinitrd_start), a->initrd, a->initrd_size);
    for (unsigned long i = 0; i < initrd_pages; i++) {
        size_t off = i << PAGE_SHIFT;

        memcpy(arch_phys_to_virt(mfn_to_paddr(mfn(pv_dom.p2m[initrd_pfn + i]))),
               (const uint8_t *)a->initrd + off, MIN((size_t)PAGE_SIZE, a->initrd_size - off));
    }

    l4 = build_page_tables(&l);
    if (!l4)
        FAIL(-XEN_EINVAL, "internal: page tables overflow the reserved area");
    if (p.p2m_base && map_p2m(l4, &l, p2m_pfn + l.nr_p2m_pages))
        FAIL(-XEN_EINVAL, "internal: the INIT_P2M tables overflow their frames");
    if (p.has_hypercall)
        pv_write_hypercall_page(pv_initial_va_to_ptr(p.virt_hypercall));

    /* start_info (xen.h "Start-of-day memory layout"). */
    si = pv_initial_va_to_ptr(l.vstartinfo_start);
    pv_dom.start_info = si;
    memset(si, 0, PAGE_SIZE);
    snprintf(si->magic, sizeof(si->magic), "xen-3.0-x86_64");
    si->nr_pages = a->nr_pages;
    si->shared_info = mfn_to_paddr(pv_dom.shared_info_mfn).pa;
    si->flags = 0;                      /* an unprivileged domU */
    si->pt_base = l.vpt_start;
    si->nr_pt_frames = l.nr_pt_pages;
    si->mfn_list = l.vphysmap_start;
    if (p.p2m_base) {
        /* dom0_build.c: the P2M frames and their page tables. */
        si->first_p2m_pfn = p2m_pfn;
        si->nr_p2m_frames = l.nr_p2m_pages + l.nr_p2m_tables;
    }
    if (a->initrd_size) {
        si->mod_start = p.unmapped_initrd ? initrd_pfn : l.vinitrd_start;
        si->mod_len = a->initrd_size;
        if (p.unmapped_initrd)
            si->flags |= SIF_MOD_START_PFN;
    }
    snprintf((char *)si->cmd_line, sizeof(si->cmd_line), "%s",
             a->cmdline ? a->cmdline : "");
    pv_dom.store_mfn = mfn(pv_dom.p2m[(l.vxenstore_start - l.v_start) >> PAGE_SHIFT]);
    pv_dom.console_mfn = mfn(pv_dom.p2m[(l.vconsole_start - l.v_start) >> PAGE_SHIFT]);
    /* The store fields stay 0 here: pv/store.c fills them when L0 gave
     * the shim a xenstore (never in QEMU-direct). The console ring is
     * published by the console code when it serves it. */

    if (p.pae_extcr3)
        pv_dom.vm_assist |= 1UL << VMASST_TYPE_pae_extended_cr3;

    /* One guest vCPU per shim CPU the MADT lists (vCPU n runs on shim
     * CPU n); vCPUs but 0 start down and uninitialised (VCPUOP_initialise
     * + VCPUOP_up). */
    pv_dom.nr_vcpus = nr_cpus_possible ? MIN(nr_cpus_possible, (unsigned int)PV_MAX_VCPUS) : 1;
    for (unsigned int i = 1; i < pv_dom.nr_vcpus; i++) {
        pv_dom.vcpus[i].id = i;
        pv_dom.vcpus[i].down = true;
        pv_dom.vcpus[i].vcpu_info = &pv_dom.shared_info->vcpu_info[i];
    }
    /* vCPU 0: Xen's start-of-day register state. */
    v = &pv_dom.vcpus[0];
    v->initialised = true;
    v->id = 0;
    v->kernel_mode = true;
    v->guest_table = va_to_maddr(l.vpt_start);
    v->vcpu_info = &pv_dom.shared_info->vcpu_info[0];
    v->kernel_ss = FLAT_KERNEL_SS;
    v->regs.rip = p.virt_entry;
    v->regs.rsp = l.vstack_end;
    v->regs.rsi = l.vstartinfo_start;
    v->regs.cs = FLAT_KERNEL_CS;
    v->regs.ss = FLAT_KERNEL_SS;
    v->regs.rflags = EFLAGS_IF | 0x2;
    pv_debugreg_reset(v);
    pv_dom.built = true;

    pr_info("guest: %lu pages; kernel %lx-%lx entry %lx\n", a->nr_pages,
            (unsigned long)l.vkern_start, (unsigned long)l.vkern_end,
            (unsigned long)p.virt_entry);
    pr_info("guest: p2m %lx start_info %lx page tables %lx (%lu) stack %lx, mapping %lx-%lx\n",
            (unsigned long)l.vphysmap_start, (unsigned long)l.vstartinfo_start,
            (unsigned long)l.vpt_start, l.nr_pt_pages, (unsigned long)l.vstack_start,
            (unsigned long)l.v_start, (unsigned long)l.v_end);
    return 0;
}
