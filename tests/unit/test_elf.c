/* Guest ELF checks and Xen note parsing on hand-built images. */
#include <criterion/criterion.h>
#include <elf.h>
#include <string.h>
#include <minishim/elf.h>
#include <minishim/xen-public.h>
#include "fake/elf_image.h"

static uint8_t img[8192];
static size_t img_size;
static struct elf_image e;
static struct xen_notes n;
static char err[200];

static Elf64_Ehdr *eh(void) { return (Elf64_Ehdr *)img; }
static Elf64_Phdr *ph(int i) { return elf_image_phdr(img, (unsigned int)i); }

static size_t note_at(size_t off, uint32_t type, const void *desc, uint32_t len)
{
    return elf_image_note(img, off, type, desc, len);
}

/* A PV kernel: one LOAD segment at 0xffffffff80000000, notes after it. */
static void build(void)
{
    uint64_t entry = 0xffffffff80000100ULL, hpage = 0xffffffff80001000ULL;
    size_t off = 0x1000, start;

    elf_image_header(img, sizeof(img), entry, 2);
    *ph(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0xffffffff80000000ULL,
                           .p_paddr = 0, .p_filesz = 0x1000, .p_memsz = 0x3000 };
    start = off;
    off += note_at(off, XEN_ELFNOTE_GUEST_OS, "linux", 6);
    off += note_at(off, XEN_ELFNOTE_XEN_VERSION, "xen-3.0", 8);
    off += note_at(off, XEN_ELFNOTE_ENTRY, &entry, 8);
    off += note_at(off, XEN_ELFNOTE_HYPERCALL_PAGE, &hpage, 8);
    off += note_at(off, XEN_ELFNOTE_FEATURES, "!writable_page_tables", 22);
    *ph(1) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = start, .p_filesz = off - start };
    img_size = off;
    err[0] = '\0';
}

TestSuite(elf, .init = build);

Test(elf, good_image_and_notes)
{
    cr_assert_eq(elf_check(img, img_size, &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.nr_load, 1);
    cr_expect_eq(e.vstart, 0xffffffff80000000ULL);
    cr_expect_eq(e.vend, 0xffffffff80003000ULL);
    cr_expect_eq(e.entry, 0xffffffff80000100ULL);
    cr_assert_eq(elf_xen_notes(&e, &n, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(n.nr_notes, 5);
    cr_expect_str_eq(n.guest_os, "linux");
    cr_expect_str_eq(n.xen_version, "xen-3.0");
    cr_expect_str_eq(n.features, "!writable_page_tables");
    cr_expect(n.has_entry);
    cr_expect_eq(n.entry, 0xffffffff80000100ULL);
    cr_expect(n.has_hypercall_page);
    cr_expect_eq(n.hypercall_page, 0xffffffff80001000ULL);
    cr_expect_not(n.has_virt_base);
}

#define EXPECT_REFUSED(substr) do {                                           \
        cr_expect_eq(elf_check(img, img_size, &e, err, sizeof(err)), -XEN_EINVAL); \
        cr_expect(strstr(err, substr), "got: %s", err);                       \
    } while (0)

Test(elf, too_small) { img_size = 10; EXPECT_REFUSED("too small"); }
Test(elf, bad_magic) { img[1] = 'X'; EXPECT_REFUSED("bad magic"); }
Test(elf, elf32) { eh()->e_ident[EI_CLASS] = ELFCLASS32; EXPECT_REFUSED("not a 64-bit"); }
Test(elf, big_endian) { eh()->e_ident[EI_DATA] = ELFDATA2MSB; EXPECT_REFUSED("little-endian"); }
Test(elf, wrong_machine) { eh()->e_machine = EM_386; EXPECT_REFUSED("not x86-64"); }
Test(elf, not_exec) { eh()->e_type = ET_DYN; EXPECT_REFUSED("not an executable"); }
Test(elf, phentsize) { eh()->e_phentsize = 40; EXPECT_REFUSED("program header size"); }
Test(elf, no_phdrs) { eh()->e_phnum = 0; EXPECT_REFUSED("program headers"); }
Test(elf, phdrs_outside) { eh()->e_phoff = img_size - 10; EXPECT_REFUSED("outside the image"); }
Test(elf, phoff_overflow) { eh()->e_phoff = ~0ULL - 8; EXPECT_REFUSED("outside the image"); }
Test(elf, filesz_gt_memsz) { ph(0)->p_filesz = 0x4000; EXPECT_REFUSED("exceeds memory size"); }
Test(elf, segment_outside) { ph(0)->p_offset = 0x1800; EXPECT_REFUSED("lies outside"); }
Test(elf, segment_offset_overflow)
{
    ph(0)->p_offset = ~0ULL - 0x100;
    EXPECT_REFUSED("lies outside");
}
Test(elf, segment_wraps) { ph(0)->p_vaddr = ~0ULL - 0x1000; EXPECT_REFUSED("wraps"); }
Test(elf, no_load) { ph(0)->p_type = PT_NULL; EXPECT_REFUSED("no loadable segment"); }

Test(elf, note_running_past_segment)
{
    cr_assert_eq(elf_check(img, img_size, &e, err, sizeof(err)), 0);
    ph(1)->p_filesz -= 4;     /* last note's descriptor now crosses the end */
    cr_expect_eq(elf_xen_notes(&e, &n, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "runs past"), "%s", err);
}

Test(elf, note_with_huge_size)
{
    uint32_t huge = 0xfffffff0u;

    cr_assert_eq(elf_check(img, img_size, &e, err, sizeof(err)), 0);
    memcpy(img + ph(1)->p_offset + 4, &huge, 4);
    cr_expect_eq(elf_xen_notes(&e, &n, err, sizeof(err)), -XEN_EINVAL);
}

Test(elf, note_segment_outside_image)
{
    cr_assert_eq(elf_check(img, img_size, &e, err, sizeof(err)), 0);
    ph(1)->p_offset = img_size + 100;
    cr_expect_eq(elf_xen_notes(&e, &n, err, sizeof(err)), -XEN_EINVAL);
}

Test(elf, foreign_notes_ignored_and_string_bounded)
{
    char longstr[400];

    memset(longstr, 'f', sizeof(longstr));
    /* Replace the notes with an unterminated over-long FEATURES note. */
    ph(1)->p_filesz = note_at(ph(1)->p_offset, XEN_ELFNOTE_FEATURES, longstr, sizeof(longstr));
    img_size = ph(1)->p_offset + ph(1)->p_filesz;
    cr_assert_eq(elf_check(img, img_size, &e, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(elf_xen_notes(&e, &n, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(strlen(n.features), sizeof(n.features) - 1);
}
