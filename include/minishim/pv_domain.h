/*
 * The PV domain builder (pv/domain_build.c): Xen's dom0_construct_pv()
 * as the PV shim uses it. Pure parts (note interpretation, layout) are
 * separate functions so the unit tests can check them without memory.
 */
#ifndef MINISHIM_PV_DOMAIN_H
#define MINISHIM_PV_DOMAIN_H

#include <minishim/elf.h>
#include <minishim/pv.h>

/* What the Xen notes say, after libelf's defaults and checks. */
struct pv_parms {
    uint64_t virt_base, paddr_offset, virt_offset;
    uint64_t virt_kstart, virt_kend;    /* kernel image, virtual           */
    uint64_t virt_entry;
    uint64_t virt_hypercall;            /* 0: no hypercall page            */
    bool has_hypercall;
    bool pae_extcr3;                    /* PAE_MODE "yes"                   */
    bool unmapped_initrd;               /* MOD_START_PFN                    */
    uint64_t p2m_base;                  /* INIT_P2M, 0 if unset             */
    uint32_t f_supported, f_required;   /* XENFEAT_* submap 0               */
};

/* The initial virtual layout (dom0_build.c's v*_start / v*_end). */
struct pv_layout {
    uint64_t v_start, v_end;
    uint64_t vkern_start, vkern_end;
    uint64_t vinitrd_start, vinitrd_end;
    uint64_t vphysmap_start, vphysmap_end;
    uint64_t vstartinfo_start, vstartinfo_end;
    uint64_t vxenstore_start, vconsole_start;
    uint64_t vpt_start, vpt_end;
    uint64_t vstack_start, vstack_end;
    unsigned long nr_pt_pages;
    /* XEN_ELFNOTE_INIT_P2M: the P2M lives at vphysmap_start outside the
     * initial mapping, in nr_p2m_pages frames mapped by nr_p2m_tables new
     * page-table frames; all of them are the guest pfns right after the
     * initial mapping (start_info first_p2m_pfn / nr_p2m_frames). */
    unsigned long nr_p2m_pages, nr_p2m_tables;
};

/* Features a 64-bit PV guest may require of the shim (XENFEAT_* bits). */
#define PV_FEATURES_OFFERED ((1u << XENFEAT_writable_page_tables) | \
                             (1u << XENFEAT_pae_pgdir_above_4gb))

/* Parse a FEATURES note string as libelf does. 0, or -XEN_EINVAL when a
 * required ('!') feature has an unknown name. */
int pv_parse_features(const char *s, uint32_t *supported, uint32_t *required);

/* Apply libelf's rules to the notes: 0 or -XEN_EINVAL with a reason. */
int pv_parms_from_notes(const struct elf_image *img, const struct xen_notes *n,
                        struct pv_parms *p, char *err, size_t errlen);

/* Lay out the initial mapping for nr_pages and an initrd of initrd_len
 * bytes (0: none). 0 or -XEN_EINVAL / -XEN_ENOMEM with a reason. */
int pv_compute_layout(const struct pv_parms *p, unsigned long nr_pages,
                      uint64_t initrd_len, struct pv_layout *l,
                      char *err, size_t errlen);

/* Write the 64-bit PV hypercall page (each 32-byte entry: push %rcx;
 * push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx; ret). */
void pv_write_hypercall_page(uint8_t *page);

struct pv_build_args {
    const void *image;              /* guest ELF (module 0)                 */
    size_t image_size;
    const void *initrd;             /* module 1 or NULL                     */
    size_t initrd_size;
    const char *cmdline;
    unsigned long nr_pages;         /* guest memory                         */
};

/* Build pv_dom from the image. 0, or a negative Xen errno with err set. */
int pv_build_domain(const struct pv_build_args *a, char *err, size_t errlen);

/* Guest virtual address -> shim pointer through the builder's tables (the
 * initial mapping only; NULL outside it). */
void *pv_initial_va_to_ptr(uint64_t va);

/*
 * Start of the guest (pv/start.c), called by shim_main once module 0 is
 * known to be a PV kernel: frame allocator, M2P, build, enter. Never
 * returns; a build failure is reported and ends in a crash shutdown.
 */
void __noreturn pv_start(paddr_t start_info);

#endif
