/*
 * libFuzzer target for what the shim parses before anything else: its
 * command line (shim/cmdline.c, from hvm_start_info or a module) and the
 * PVH hvm_start_info structure with its module list, memory map and
 * strings (shim/bootinfo.c), laid out in fake RAM from the input.
 *
 * Input: byte 0 and 1 pick where each pointer field points (inside fake
 * RAM at an input-chosen offset, 0, or a raw 64-bit value at or above
 * the memory the start-of-day direct map covers), then the fields, then
 * bytes copied to fake RAM. Oracles: a refusal has a message; an
 * accepted structure gives NUL-terminated strings, at most
 * BOOT_MAX_MODULES modules that do not wrap, at most BOOT_MAX_MEMMAP
 * memory map entries; cmdline_guest_args() points into its argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <minishim/bootinfo.h>
#include <minishim/cmdline.h>
#include <minishim/layout.h>
#include <minishim/xen-public.h>
#include "../unit/fake/fake.h"
#include "fuzz_input.h"

#define SI_PA     0x1000u
#define DATA_PA   0x2000u
#define DATA_MAX  0x3000u

static struct boot_info bi;
static char err[256];

static void __attribute__((noreturn)) fail(const char *what)
{
    fprintf(stderr, "oracle: %s\n", what);
    abort();
}

static uint64_t ptr(struct in *in, unsigned int sel)
{
    switch (sel & 3) {
    case 0: return 0;
    case 1: return SI_PA + (u8(in) | (u8(in) << 8)) % (DATA_PA + DATA_MAX - SI_PA);
    case 2: return FAKE_MEM_SIZE - 1 - (u8(in) % 64);    /* the end of RAM */
    default: return arch_boot_mapped_end() + (u64(in) >> 1);
    }
}

static unsigned int nwarn;
static void on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    if (!msg || !*msg)
        fail("empty command line warning");
    nwarn++;
}

static void check_cmdline(const char *s)
{
    struct shim_config cfg;
    const char *g;

    cmdline_defaults(&cfg);
    nwarn = 0;
    if (cmdline_parse(s, &cfg, on_warn, NULL) != nwarn)
        fail("cmdline_parse count differs from the warnings it gave");
    g = cmdline_guest_args(s);
    if (g && (g < s || g > s + strlen(s)))
        fail("guest arguments outside the command line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    struct in in = { data, size };
    struct hvm_start_info si = { 0 };
    unsigned int sel;
    size_t n;
    int rc;

    if (!once) {
        fake_reset();
        once = true;
    }
    /* The command line parser alone, on the raw input as a string. */
    {
        char *s = malloc(size + 1);

        memcpy(s, data, size);
        s[size] = '\0';
        check_cmdline(s);
        free(s);
    }

    sel = u8(&in) | u8(&in) << 8;
    si.magic = (sel & 0x8000) ? (uint32_t)u64(&in) : XEN_HVM_START_MAGIC_VALUE;
    si.version = u8(&in) % 3;
    si.flags = u8(&in);
    si.nr_modules = (sel & 0x4000) ? (uint32_t)u64(&in) : u8(&in) % 4;
    si.modlist_paddr = ptr(&in, sel);
    si.cmdline_paddr = ptr(&in, sel >> 2);
    si.rsdp_paddr = u64(&in);
    si.memmap_paddr = ptr(&in, sel >> 4);
    si.memmap_entries = (sel & 0x2000) ? (uint32_t)u64(&in) : u8(&in) % 8;

    memset(fake_mem, 0, DATA_PA + DATA_MAX);
    memset(fake_mem + FAKE_MEM_SIZE - 0x1000, 'x', 0x1000);   /* unterminated */
    n = MIN(in.n, (size_t)DATA_MAX);
    memcpy(fake_mem + DATA_PA, in.p, n);
    memcpy(fake_mem + SI_PA, &si, sizeof(si));

    err[0] = '\0';
    rc = bootinfo_parse(pa((sel & 0x1000) ? 0 : SI_PA), &bi, err, sizeof(err));
    if (rc) {
        if (!err[0])
            fail("bootinfo_parse refused without a reason");
        return 0;
    }
    if (strnlen(bi.cmdline, sizeof(bi.cmdline)) == sizeof(bi.cmdline))
        fail("shim command line not terminated");
    if (bi.nr_modules > BOOT_MAX_MODULES || bi.nr_memmap > BOOT_MAX_MEMMAP)
        fail("too many modules or memory map entries");
    for (unsigned int i = 0; i < bi.nr_modules; i++) {
        if (bi.modules[i].start.pa + bi.modules[i].size < bi.modules[i].start.pa)
            fail("an accepted module wraps");
        if (strnlen(bi.modules[i].cmdline, sizeof(bi.modules[i].cmdline)) ==
            sizeof(bi.modules[i].cmdline))
            fail("module command line not terminated");
        check_cmdline(bi.modules[i].cmdline);
    }
    check_cmdline(bi.cmdline);
    (void)bootinfo_ram_bytes(&bi);
    return 0;
}
