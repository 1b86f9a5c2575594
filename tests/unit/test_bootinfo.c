/* hvm_start_info parsing: good tables and every malformed field. */
#include <criterion/criterion.h>
#include <string.h>
#include <xen/errno.h>
#include <minishim/bootinfo.h>
#include <minishim/console.h>
#include "fake/fake.h"

#define SI_PA      0x1000
#define MODLIST_PA 0x2000
#define MEMMAP_PA  0x3000
#define CMDLINE_PA 0x4000
#define MODCMD_PA  0x5000

static struct hvm_start_info *si;
static struct boot_info bi;
static char err[200];

static void setup(void)
{
    fake_reset();
    console_remove_all_sinks();
    si = (struct hvm_start_info *)(fake_mem + SI_PA);
    *si = (struct hvm_start_info){
        .magic = XEN_HVM_START_MAGIC_VALUE, .version = 1,
        .cmdline_paddr = CMDLINE_PA,
    };
    strcpy((char *)fake_mem + CMDLINE_PA, "loglvl=debug");
    err[0] = '\0';
}

TestSuite(bootinfo, .init = setup);

static void add_module(uint64_t paddr, uint64_t size, const char *cmd)
{
    struct hvm_modlist_entry *m = (struct hvm_modlist_entry *)(fake_mem + MODLIST_PA);

    m[si->nr_modules] = (struct hvm_modlist_entry){ .paddr = paddr, .size = size };
    if (cmd) {
        strcpy((char *)fake_mem + MODCMD_PA, cmd);
        m[si->nr_modules].cmdline_paddr = MODCMD_PA;
    }
    si->modlist_paddr = MODLIST_PA;
    si->nr_modules++;
}

Test(bootinfo, parses_cmdline_modules_and_memmap)
{
    struct hvm_memmap_table_entry *e = (struct hvm_memmap_table_entry *)(fake_mem + MEMMAP_PA);

    add_module(0x100000, 4096, "root=/dev/xvda");
    e[0] = (struct hvm_memmap_table_entry){ 0, 0x9fc00, XEN_HVM_MEMMAP_TYPE_RAM, 0 };
    e[1] = (struct hvm_memmap_table_entry){ 0x9fc00, 0x400, XEN_HVM_MEMMAP_TYPE_RESERVED, 0 };
    e[2] = (struct hvm_memmap_table_entry){ 0x100000, 0x1f00000, XEN_HVM_MEMMAP_TYPE_RAM, 0 };
    si->memmap_paddr = MEMMAP_PA;
    si->memmap_entries = 3;

    cr_assert_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(bi.cmdline, "loglvl=debug");
    cr_expect_eq(bi.nr_modules, 1);
    cr_expect_eq(bi.modules[0].start.pa, 0x100000);
    cr_expect_eq(bi.modules[0].size, 4096);
    cr_expect_str_eq(bi.modules[0].cmdline, "root=/dev/xvda");
    cr_expect_eq(bi.nr_memmap, 3);
    cr_expect_eq(bootinfo_ram_bytes(&bi), 0x9fc00 + 0x1f00000);
    cr_expect_str_eq(memmap_type_name(bi.memmap[1].type), "reserved");
}

Test(bootinfo, null_pointer)
{
    cr_expect_eq(bootinfo_parse(pa(0), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "no hvm_start_info"), "%s", err);
}

Test(bootinfo, bad_magic)
{
    si->magic = 0x12345678;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "magic 0x12345678"), "%s", err);
}

Test(bootinfo, version0_has_no_memmap)
{
    si->version = 0;
    si->memmap_paddr = MEMMAP_PA;      /* must be ignored: not in v0 */
    si->memmap_entries = 5;
    cr_assert_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(bi.nr_memmap, 0);
}

Test(bootinfo, unterminated_cmdline)
{
    memset(fake_mem + CMDLINE_PA, 'x', BOOT_CMDLINE_MAX + 10);
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "not terminated"), "%s", err);
}

Test(bootinfo, longest_cmdline_fits)
{
    memset(fake_mem + CMDLINE_PA, 'x', BOOT_CMDLINE_MAX - 1);
    fake_mem[CMDLINE_PA + BOOT_CMDLINE_MAX - 1] = '\0';
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
}

Test(bootinfo, modules_without_list)
{
    si->nr_modules = 2;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "no module list"), "%s", err);
}

Test(bootinfo, module_wrapping_address_space)
{
    add_module(0xfffffffffffff000ULL, 0x2000, NULL);
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "wraps"), "%s", err);
}

Test(bootinfo, too_many_modules_keeps_first)
{
    for (int i = 0; i < BOOT_MAX_MODULES + 3; i++)
        add_module(0x100000 + i * 0x1000, 0x1000, NULL);
    cr_assert_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(bi.nr_modules, BOOT_MAX_MODULES);
    cr_expect_eq(bi.modules[0].start.pa, 0x100000);
}

Test(bootinfo, memmap_too_large_or_missing)
{
    si->memmap_entries = BOOT_MAX_MEMMAP + 1;
    si->memmap_paddr = MEMMAP_PA;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "limit"), "%s", err);
    si->memmap_entries = 2;
    si->memmap_paddr = 0;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "no table"), "%s", err);
}

Test(bootinfo, add_memmap_bounded)
{
    memset(&bi, 0, sizeof(bi));
    for (int i = 0; i < BOOT_MAX_MEMMAP; i++)
        cr_assert(bootinfo_add_memmap(&bi, i * 0x1000, 0x1000, 1));
    cr_expect_not(bootinfo_add_memmap(&bi, 0, 1, 1));
    cr_expect_eq(bi.nr_memmap, BOOT_MAX_MEMMAP);
}

/* ------------------------------------------------- module bundle --- */

#define BUNDLE_PA 0x100000

/* A bundle at BUNDLE_PA of size total with parts {off, size}. */
static void bundle(uint32_t version, uint32_t n, const uint64_t (*parts)[2], uint64_t total)
{
    uint8_t *b = fake_mem + BUNDLE_PA;

    memcpy(b, BOOT_BUNDLE_MAGIC, 8);
    memcpy(b + 8, &version, 4);
    memcpy(b + 12, &n, 4);
    for (uint32_t i = 0; parts && i < n; i++)
        memcpy(b + 16 + 16 * i, parts[i], 16);
    add_module(BUNDLE_PA, total, "console=hvc0");
    cr_assert_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0, "%s", err);
}

Test(bootinfo, bundle_split_into_kernel_and_initrd)
{
    static const uint64_t parts[2][2] = { { 0x1000, 0x2345 }, { 0x4000, 0x1800 } };

    bundle(1, 2, parts, 0x5800);
    cr_assert_eq(bootinfo_split_bundle(&bi, err, sizeof(err)), 2, "%s", err);
    cr_expect_eq(bi.nr_modules, 2);
    cr_expect_eq(bi.modules[0].start.pa, BUNDLE_PA + 0x1000);
    cr_expect_eq(bi.modules[0].size, 0x2345);
    cr_expect_str_eq(bi.modules[0].cmdline, "console=hvc0");
    cr_expect_eq(bi.modules[1].start.pa, BUNDLE_PA + 0x4000);
    cr_expect_eq(bi.modules[1].size, 0x1800);
    cr_expect_str_eq(bi.modules[1].cmdline, "");
}

Test(bootinfo, no_bundle_left_alone)
{
    add_module(BUNDLE_PA, 0x5000, NULL);
    memcpy(fake_mem + BUNDLE_PA, "\177ELF", 4);
    cr_assert_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0);
    cr_expect_eq(bootinfo_split_bundle(&bi, err, sizeof(err)), 0);
    cr_expect_eq(bi.nr_modules, 1);
    cr_expect_eq(bi.modules[0].start.pa, BUNDLE_PA);
    cr_expect_eq(bi.modules[0].size, 0x5000);
}

#define EXPECT_BUNDLE_REFUSED(what)                                             \
    do {                                                                        \
        cr_expect_eq(bootinfo_split_bundle(&bi, err, sizeof(err)), -XEN_EINVAL); \
        cr_expect(strstr(err, what), "reason: %s", err);                        \
        cr_expect_eq(bi.nr_modules, 1, "modules untouched");                    \
    } while (0)

Test(bootinfo, bundle_bad_version) { bundle(2, 0, NULL, 0x1000); EXPECT_BUNDLE_REFUSED("version 2"); }
Test(bootinfo, bundle_no_parts) { bundle(1, 0, NULL, 0x1000); EXPECT_BUNDLE_REFUSED("0 parts"); }
Test(bootinfo, bundle_too_many_parts) { bundle(1, 9, NULL, 0x1000); EXPECT_BUNDLE_REFUSED("9 parts"); }

Test(bootinfo, bundle_part_outside)
{
    static const uint64_t parts[2][2] = { { 0x1000, 0x1000 }, { 0x2000, 0x1001 } };

    bundle(1, 2, parts, 0x3000);
    EXPECT_BUNDLE_REFUSED("outside");
}

Test(bootinfo, bundle_part_offset_overflow)
{
    static const uint64_t parts[1][2] = { { 0xfffffffffffff000ULL, 0x2000 } };

    bundle(1, 1, parts, 0x3000);
    EXPECT_BUNDLE_REFUSED("outside");
}

Test(bootinfo, bundle_part_unaligned_or_over_header)
{
    static const uint64_t unaligned[1][2] = { { 0x1010, 0x100 } };
    static const uint64_t header[1][2] = { { 0, 0x100 } };

    bundle(1, 1, unaligned, 0x3000);
    EXPECT_BUNDLE_REFUSED("not 4 KiB aligned");
    setup();
    bundle(1, 1, header, 0x3000);
    EXPECT_BUNDLE_REFUSED("header");
}

/*
 * Found by tests/fuzz/fuzz_boot.c: pointers beyond what the start-of-day
 * direct map covers (arch_boot_mapped_end(), the end of fake RAM here)
 * were followed, and a string running into that end was read past it.
 * Each is now refused with a message.
 */
Test(bootinfo, refuses_pointers_beyond_the_mapped_memory)
{
    uint64_t end = arch_boot_mapped_end();

    si->cmdline_paddr = end + 0x1000;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "outside the mapped memory"), "%s", err);

    /* A command line in the last bytes, not terminated before the end. */
    memset(fake_mem + end - 16, 'x', 16);
    si->cmdline_paddr = end - 16;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "not terminated"), "%s", err);
    si->cmdline_paddr = CMDLINE_PA;

    add_module(0x100000, 4096, NULL);
    si->modlist_paddr = end - 8;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "module list"), "%s", err);
    cr_expect_eq(bi.nr_modules, 0);
    si->nr_modules = 0;

    /* The module itself: wholly above the map, or running past its end. */
    add_module(end + 0x200000, 4096, NULL);
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "module 0 at"), "%s", err);
    cr_expect(strstr(err, "outside the mapped memory"), "%s", err);
    si->nr_modules = 0;
    add_module(end - 0x1000, 0x2000, NULL);
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "module 0 at"), "%s", err);
    si->nr_modules = 0;
    add_module(end - 0x1000, 0x1000, NULL);     /* the last mapped page: fine */
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), 0, "%s", err);
    si->nr_modules = 0;

    si->memmap_paddr = end - sizeof(struct hvm_memmap_table_entry);
    si->memmap_entries = 2;
    cr_expect_eq(bootinfo_parse(pa(SI_PA), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "memory map"), "%s", err);

    cr_expect_eq(bootinfo_parse(pa(end), &bi, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "hvm_start_info"), "%s", err);
}
