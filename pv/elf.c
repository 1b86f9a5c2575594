/*
 * ELF64 validation of the guest kernel and Xen note extraction. Mirrors the
 * checks of Xen's libelf (xen/common/libelf/) in spirit: a malformed image
 * is refused with a reason, never read out of bounds.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/elf.h>

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4
#define ELF_MAX_PHNUM 64

typedef struct {
    uint8_t e_ident[EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
} Elf64_Ehdr;

typedef struct {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
} Elf64_Phdr;

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -XEN_EINVAL; } while (0)

static bool range_ok(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

/* Program header i, copied: e_phoff need not be aligned (Xen's libelf
 * reads every field through elf_access_unsigned for the same reason). */
static Elf64_Phdr phdr(const struct elf_image *img, unsigned int i)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;
    Elf64_Phdr ph;

    memcpy(&ph, img->data + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
    return ph;
}

int elf_check(const void *data, size_t size, struct elf_image *img,
              char *err, size_t errlen)
{
    const Elf64_Ehdr *eh = data;

    memset(img, 0, sizeof(*img));
    if (size < sizeof(*eh))
        FAIL("image too small for an ELF header (%lu bytes)", (unsigned long)size);
    if (memcmp(eh->e_ident, "\177ELF", 4))
        FAIL("not an ELF image (bad magic)");
    if (eh->e_ident[4] != ELFCLASS64)
        FAIL("not a 64-bit ELF image (class %u); minishim runs 64-bit PV guests only",
             eh->e_ident[4]);
    if (eh->e_ident[5] != ELFDATA2LSB)
        FAIL("not a little-endian ELF image");
    if (eh->e_ident[6] != EV_CURRENT || eh->e_version != EV_CURRENT)
        FAIL("unknown ELF version");
    if (eh->e_machine != EM_X86_64)
        FAIL("ELF machine %u is not x86-64", eh->e_machine);
    if (eh->e_type != ET_EXEC)
        FAIL("ELF type %u is not an executable", eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        FAIL("ELF program header size %u, expected %lu", eh->e_phentsize,
             (unsigned long)sizeof(Elf64_Phdr));
    if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM)
        FAIL("ELF has %u program headers (1..%u allowed)", eh->e_phnum, ELF_MAX_PHNUM);
    if (!range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
        FAIL("ELF program headers lie outside the image");

    img->data = data;
    img->size = size;
    img->entry = eh->e_entry;
    img->vstart = UINT64_MAX;
    img->pstart = UINT64_MAX;
    for (unsigned int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr phc = phdr(img, i), *ph = &phc;

        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        if (ph->p_filesz > ph->p_memsz)
            FAIL("segment %u: file size 0x%lx exceeds memory size 0x%lx", i,
                 (unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
        if (!range_ok(ph->p_offset, ph->p_filesz, size))
            FAIL("segment %u lies outside the image", i);
        if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
            FAIL("segment %u wraps the address space", i);
        img->vstart = MIN(img->vstart, ph->p_vaddr);
        img->vend = MAX(img->vend, ph->p_vaddr + ph->p_memsz);
        img->pstart = MIN(img->pstart, ph->p_paddr);
        if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
            FAIL("segment %u wraps the physical address space", i);
        img->pend = MAX(img->pend, ph->p_paddr + ph->p_memsz);
        img->nr_load++;
    }
    if (!img->nr_load)
        FAIL("ELF image has no loadable segment");
    return 0;
}

bool elf_load_segment(const struct elf_image *img, unsigned int idx,
                      struct elf_segment *seg)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;
    unsigned int n = 0;

    for (unsigned int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr phc = phdr(img, i), *ph = &phc;

        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        if (n++ != idx)
            continue;
        /* elf_check() verified offset, sizes and wrap for every PT_LOAD. */
        *seg = (struct elf_segment){
            .data = img->data + ph->p_offset,
            .paddr = ph->p_paddr, .vaddr = ph->p_vaddr,
            .filesz = ph->p_filesz, .memsz = ph->p_memsz,
        };
        return true;
    }
    return false;
}

static void note_str(char *dst, size_t dstlen, const uint8_t *desc, uint32_t len)
{
    size_t n = MIN((size_t)len, dstlen - 1);

    memcpy(dst, desc, n);
    dst[n] = '\0';
}

static uint64_t note_num(const uint8_t *desc, uint32_t len)
{
    uint64_t v = 0;

    memcpy(&v, desc, MIN((size_t)len, sizeof(v)));
    return v;
}

static void note_apply(struct xen_notes *n, uint32_t type, const uint8_t *d, uint32_t len)
{
    switch (type) {
    case XEN_ELFNOTE_GUEST_OS: note_str(n->guest_os, sizeof(n->guest_os), d, len); break;
    case XEN_ELFNOTE_XEN_VERSION: note_str(n->xen_version, sizeof(n->xen_version), d, len); break;
    case XEN_ELFNOTE_LOADER: note_str(n->loader, sizeof(n->loader), d, len); break;
    case XEN_ELFNOTE_FEATURES: note_str(n->features, sizeof(n->features), d, len); break;
    case XEN_ELFNOTE_PAE_MODE: note_str(n->pae_mode, sizeof(n->pae_mode), d, len); break;
    case XEN_ELFNOTE_ENTRY: n->has_entry = true; n->entry = note_num(d, len); break;
    case XEN_ELFNOTE_HYPERCALL_PAGE:
        n->has_hypercall_page = true; n->hypercall_page = note_num(d, len); break;
    case XEN_ELFNOTE_VIRT_BASE: n->has_virt_base = true; n->virt_base = note_num(d, len); break;
    case XEN_ELFNOTE_PADDR_OFFSET:
        n->has_paddr_offset = true; n->paddr_offset = note_num(d, len); break;
    case XEN_ELFNOTE_PHYS32_ENTRY:
        n->has_phys32_entry = true; n->phys32_entry = (uint32_t)note_num(d, len); break;
    case XEN_ELFNOTE_INIT_P2M: n->has_init_p2m = true; n->init_p2m = note_num(d, len); break;
    case XEN_ELFNOTE_MOD_START_PFN:
        n->has_mod_start_pfn = true; n->mod_start_pfn = note_num(d, len); break;
    case XEN_ELFNOTE_SUPPORTED_FEATURES:
        n->supported_features = (uint32_t)note_num(d, len); break;
    default: break;
    }
}

int elf_xen_notes(const struct elf_image *img, struct xen_notes *notes,
                  char *err, size_t errlen)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;

    memset(notes, 0, sizeof(*notes));
    for (unsigned int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr phc = phdr(img, i), *ph = &phc;
        uint64_t off, end;

        if (ph->p_type != PT_NOTE)
            continue;
        if (!range_ok(ph->p_offset, ph->p_filesz, img->size))
            FAIL("note segment %u lies outside the image", i);
        off = ph->p_offset;
        end = ph->p_offset + ph->p_filesz;
        while (end - off >= 12) {
            uint32_t namesz, descsz, type;
            uint64_t name_off, desc_off, next;

            memcpy(&namesz, img->data + off, 4);
            memcpy(&descsz, img->data + off + 4, 4);
            memcpy(&type, img->data + off + 8, 4);
            name_off = off + 12;
            desc_off = name_off + ALIGN_UP((uint64_t)namesz, 4);
            next = desc_off + ALIGN_UP((uint64_t)descsz, 4);
            if (next > end)
                FAIL("note in segment %u runs past its end", i);
            if (namesz == 4 && !memcmp(img->data + name_off, "Xen", 4)) {
                note_apply(notes, type, img->data + desc_off, descsz);
                notes->nr_notes++;
            }
            off = next;
        }
    }
    return 0;
}
