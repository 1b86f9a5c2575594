/*
 * Guest kernel ELF checking and Xen ELF note parsing (xen/include/public/
 * elfnote.h). The image is untrusted: every offset and size is checked
 * against the module's bounds before it is read.
 */
#ifndef MINISHIM_ELF_H
#define MINISHIM_ELF_H

#include <minishim/types.h>

struct elf_image {
    const uint8_t *data;
    size_t size;
    uint64_t entry;             /* e_entry                               */
    uint64_t vstart, vend;      /* lowest/highest PT_LOAD virtual address */
    uint64_t pstart;            /* lowest PT_LOAD physical address        */
    uint64_t pend;              /* highest PT_LOAD physical end           */
    unsigned int nr_load;
};

struct xen_notes {
    char guest_os[32];
    char xen_version[32];
    char loader[32];
    char features[256];
    char pae_mode[16];
    bool has_entry, has_hypercall_page, has_virt_base, has_paddr_offset;
    uint64_t entry, hypercall_page, virt_base, paddr_offset;
    bool has_phys32_entry;
    uint32_t phys32_entry;
    bool has_init_p2m;
    uint64_t init_p2m;
    bool has_mod_start_pfn;
    uint64_t mod_start_pfn;
    uint32_t supported_features;  /* XEN_ELFNOTE_SUPPORTED_FEATURES bitmap */
    unsigned int nr_notes;
};

/* 0, or -XEN_EINVAL with a human-readable reason in err. */
int elf_check(const void *data, size_t size, struct elf_image *img,
              char *err, size_t errlen);
/* PT_LOAD segment idx (0..nr_load-1): its bytes in the image, sizes and
 * physical address. False when idx is out of range. */
struct elf_segment {
    const uint8_t *data;
    uint64_t paddr, vaddr, filesz, memsz;
};
bool elf_load_segment(const struct elf_image *img, unsigned int idx,
                      struct elf_segment *seg);

int elf_xen_notes(const struct elf_image *img, struct xen_notes *notes,
                  char *err, size_t errlen);

#endif
