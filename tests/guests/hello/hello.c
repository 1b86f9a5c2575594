/*
 * hello - the first guest: does the domain builder hand over a sane
 * start_info, do the basic hypercalls work, can we print? Everything a PV
 * guest touches before anything else.
 */
#include "guest.h"

#define INVALID_MFN (~0UL)

static bool page_aligned(unsigned long x)
{
    return !(x & (PAGE_SIZE - 1));
}

/* Initial-mapping addresses live above the image in the top 2 GiB. */
static bool in_initial_mapping(unsigned long va)
{
    return va >= (unsigned long)_image_end && va >= 0xffffffff80000000UL;
}

static void check_start_info(const start_info_t *si)
{
    static const char magic[] = "xen-3.0-x86_64";
    const unsigned long *mfn_list = (const unsigned long *)si->mfn_list;
    const uint64_t *l4 = (const uint64_t *)si->pt_base;
    unsigned long image_pfn;

    printk("start_info: magic \"%.32s\" nr_pages %lu flags %#x\n",
           si->magic, si->nr_pages, si->flags);
    printk("  shared_info %#lx pt_base %#lx nr_pt_frames %lu mfn_list %#lx\n",
           si->shared_info, si->pt_base, si->nr_pt_frames, si->mfn_list);
    printk("  store mfn %#lx evtchn %u console mfn %#lx evtchn %u\n",
           (unsigned long)si->store_mfn, si->store_evtchn,
           (unsigned long)si->console.domU.mfn, si->console.domU.evtchn);
    printk("  mod_start %#lx mod_len %lu cmd_line \"%.*s\"\n",
           si->mod_start, si->mod_len, MAX_GUEST_CMDLINE,
           (const char *)si->cmd_line);
    printk("  image %p-%p\n", _image_start, _image_end);

    check(!strncmp(si->magic, magic, sizeof(magic) - 1),
          "start_info magic \"%.32s\" does not start with \"%s\"",
          si->magic, magic);
    check(page_aligned((unsigned long)si),
          "start_info %p not page aligned", si);
    check(si->nr_pages > 0, "start_info nr_pages is 0");
    /* 128 MiB of guest memory is what the beds give; 1 TiB is absurd. */
    check(si->nr_pages < (1UL << 28), "nr_pages %lu implausible", si->nr_pages);

    check(si->shared_info && page_aligned(si->shared_info),
          "shared_info machine address %#lx not a page", si->shared_info);

    if (check(page_aligned(si->pt_base) && in_initial_mapping(si->pt_base),
              "pt_base %#lx not a page in the initial mapping", si->pt_base)) {
        /* Our own image must be mapped through L4 slot 511. */
        check(l4[511] & 1, "pt_base L4 slot 511 (image) not present: %#lx",
              (unsigned long)l4[511]);
    }
    check(si->nr_pt_frames > 0, "nr_pt_frames is 0");

    if (check(si->mfn_list && !(si->mfn_list & 7) &&
              in_initial_mapping(si->mfn_list),
              "mfn_list %#lx not in the initial mapping", si->mfn_list)) {
        image_pfn = ((unsigned long)_image_start - 0xffffffff80000000UL)
                    >> PAGE_SHIFT;
        check(mfn_list[image_pfn] != INVALID_MFN,
              "mfn_list[%lu] (image start) invalid", image_pfn);
        check(mfn_list[si->nr_pages - 1] != INVALID_MFN,
              "mfn_list[%lu] (last pfn) invalid", si->nr_pages - 1);
        check(si->nr_pages < 2 || mfn_list[0] != mfn_list[si->nr_pages - 1],
              "mfn_list[0] == mfn_list[last] == %#lx", mfn_list[0]);
    }
}

static void check_xen_version(void)
{
    xen_extraversion_t extra;
    long ver;

    ver = hypercall_xen_version(XENVER_version, NULL);
    printk("xen_version: %ld.%ld\n", ver >> 16, ver & 0xffff);
    check(ver > 0 && (ver >> 16) >= 3, "XENVER_version returned %#lx", ver);

    memset(extra, 0x55, sizeof(extra));
    ver = hypercall_xen_version(XENVER_extraversion, extra);
    check(ver == 0, "XENVER_extraversion returned %ld", ver);
    check(strnlen(extra, sizeof(extra)) < sizeof(extra),
          "XENVER_extraversion not NUL-terminated");
    printk("xen_version: extraversion \"%.*s\"\n", (int)sizeof(extra), extra);
}

/*
 * CONSOLEIO_write works for dom0 everywhere, but a release-build Xen
 * refuses it with -EPERM for other domains (XSM dummy policy; only debug
 * builds let domUs write). Both are legitimate answers; anything else is
 * not. The guest must have at least one console that works.
 */
static void check_console_io(void)
{
    static const char line[] = "console_io: direct CONSOLEIO_write\n";
    long rc = hypercall_console_io(CONSOLEIO_write, sizeof(line) - 1, line);

    printk("console_io: CONSOLEIO_write returned %ld, PV console ring %s\n",
           rc, console_ring_present() ? "in use" : "not found");
    check(rc == 0 || rc == -1 /* -EPERM */,
          "CONSOLEIO_write returned %ld (want 0 or -EPERM)", rc);
    check(rc == 0 || console_ring_present(),
          "no working console: console_io %ld and no PV console ring", rc);
}

void test_main(void)
{
    printk("Hello from the minishim hello guest (64-bit PV)\n");
    check_start_info(start_info);
    check_xen_version();
    check_console_io();
}
