/* Hand-built guest ELF images for host tests (elf_image.h). */
#include <string.h>
#include "elf_image.h"

void elf_image_header(uint8_t *img, size_t cap, uint64_t entry, unsigned int phnum)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

    memset(img, 0, cap);
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = entry;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = (uint16_t)phnum;
    eh->e_ehsize = sizeof(Elf64_Ehdr);
}

Elf64_Phdr *elf_image_phdr(uint8_t *img, unsigned int i)
{
    return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

size_t elf_image_note(uint8_t *img, size_t off, uint32_t type,
                      const void *desc, uint32_t len)
{
    /* ELF note: namesz, descsz, type, then name and desc, each padded to
     * 4 bytes (ELF64 notes as Linux and Xen write them). */
    uint32_t hdr[3] = { 4, len, type };

    memcpy(img + off, hdr, 12);
    memcpy(img + off + 12, "Xen", 4);
    memcpy(img + off + 16, desc, len);
    return 16 + ((len + 3) & ~3u);
}
