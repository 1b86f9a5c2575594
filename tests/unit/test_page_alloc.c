/* Frame allocator: what is free after init, ownership, contiguous runs,
 * exhaustion, and the double-free guard. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>
#include <minishim/page_alloc.h>
#include <minishim/xen-public.h>
#include "fake/fake.h"

static struct boot_info bi;

static void setup(void)
{
    fake_reset();
    memset(&bi, 0, sizeof(bi));
}

TestSuite(page_alloc, .init = setup);

Test(page_alloc, init_excludes_reserved)
{
    unsigned long n;

    /* RAM 0-8 MiB with a reserved hole at 5 MiB, RAM 9-10 MiB. */
    bootinfo_add_memmap(&bi, 0, 8 << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    bootinfo_add_memmap(&bi, 5 << 20, 0x1800, XEN_HVM_MEMMAP_TYPE_RESERVED);
    bootinfo_add_memmap(&bi, 9 << 20, 1 << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    bi.nr_modules = 1;
    bi.modules[0].start = pa(0x600800);         /* unaligned module */
    bi.modules[0].size = 0x1000;
    n = page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0x7000));
    /* 8 MiB - 1 MiB low - 256 KiB image - 2 hole frames - 2 module frames
     * + 1 MiB = 2048 - 256 - 64 - 2 - 2 + 256 */
    cr_expect_eq(n, 2048 - 256 - 64 - 2 - 2 + 256, "free %lu", n);
    cr_expect_eq(frame_owner(mfn(0x7)), FRAME_RESERVED, "low 1 MiB");
    cr_expect_eq(frame_owner(mfn(0x200)), FRAME_RESERVED, "image");
    cr_expect_eq(frame_owner(mfn(0x500)), FRAME_RESERVED, "hole");
    cr_expect_eq(frame_owner(mfn(0x501)), FRAME_RESERVED, "hole, partial frame");
    cr_expect_eq(frame_owner(mfn(0x502)), FRAME_FREE);
    cr_expect_eq(frame_owner(mfn(0x600)), FRAME_RESERVED, "module");
    cr_expect_eq(frame_owner(mfn(0x601)), FRAME_RESERVED, "module tail");
    cr_expect_eq(frame_owner(mfn(0x850)), FRAME_RESERVED, "gap between RAM");
    cr_expect_eq(page_alloc_max_mfn(), 0xa00);
    cr_expect_eq(frame_owner(mfn(1UL << 40)), FRAME_RESERVED, "out of range");
}

Test(page_alloc, alloc_free_and_owners)
{
    mfn_t a, b;
    uint8_t *p;

    bootinfo_add_memmap(&bi, 0, 4 << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0));
    memset(fake_mem + 0x100000, 0x77, 0x1000);
    a = alloc_frame(FRAME_GUEST);
    cr_assert(mfn_valid_value(a));
    cr_expect(frame_is_guest(a));
    p = arch_phys_to_virt(mfn_to_paddr(a));
    cr_expect_eq(p[0], 0, "frames come zeroed");
    b = alloc_frame(FRAME_SHIM);
    cr_expect_neq(a.mfn, b.mfn);
    cr_expect_not(frame_is_guest(b));
    cr_expect_eq(alloc_frame(FRAME_FREE).mfn, INVALID_MFN_VALUE, "bad owner");
    page_alloc_reserve(mfn_to_paddr(a), PAGE_SIZE);
    cr_expect_eq(frame_owner(a), FRAME_GUEST, "allocated frames are left alone");
    page_alloc_reserve(mfn_to_paddr(b), PAGE_SIZE);
    cr_expect_eq(frame_owner(b), FRAME_SHIM, "allocated frames are left alone");
}

Test(page_alloc, contiguous_and_exhaustion)
{
    unsigned long free;
    mfn_t r;

    bootinfo_add_memmap(&bi, 0, 2 << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    free = page_alloc_init(&bi, pa(0x1c0000), pa(0x1c1000), pa(0));
    /* Free: 0x100-0x1bf (192) and 0x1c1-0x1ff (63). */
    cr_expect_eq(free, 255);
    r = alloc_frames_contig(100, FRAME_SHIM);
    cr_expect_eq(r.mfn, 0x100);
    r = alloc_frames_contig(93, FRAME_SHIM);
    cr_expect_eq(r.mfn, INVALID_MFN_VALUE, "92 left below the image: no run of 93");
    r = alloc_frames_contig(63, FRAME_GUEST);
    cr_expect_eq(r.mfn, 0x164, "next fit: right after the last allocation");
    cr_expect_eq(page_alloc_nr_free(), 92);
    for (unsigned int i = 0; i < 92; i++)
        cr_assert(mfn_valid_value(alloc_frame(FRAME_GUEST)));
    cr_expect_eq(alloc_frame(FRAME_GUEST).mfn, INVALID_MFN_VALUE, "exhausted");
}

Test(page_alloc, free_shim_frame_and_refusals)
{
    jmp_buf jb;
    mfn_t a, g;
    unsigned long n0;

    bootinfo_add_memmap(&bi, 0, 2 << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x1c0000), pa(0x1c1000), pa(0));
    n0 = page_alloc_nr_free();
    a = alloc_frame(FRAME_SHIM);
    g = alloc_frame(FRAME_GUEST);
    free_frame(a);
    cr_expect_eq(frame_owner(a), FRAME_FREE);
    cr_expect_eq(page_alloc_nr_free(), n0 - 1, "the shim frame is free again");
    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0) {
        free_frame(a);
        cr_assert_fail("double free returned");
    }
    cr_expect_eq(fake_nr_halts, 1);
    if (setjmp(jb) == 0) {
        free_frame(g);
        cr_assert_fail("freeing a guest frame returned");
    }
    cr_expect_eq(fake_nr_halts, 2);
    cr_expect_eq(frame_owner(g), FRAME_GUEST);
    cr_expect_eq(page_alloc_nr_free(), n0 - 1, "count unchanged by the refused frees");
}
