/*
 * pvgdt - set_gdt and update_descriptor: a guest GDT page (mapped
 * read-only, as Xen requires) becomes the live GDT; its descriptors are
 * usable from the guest kernel (ring 3) with the DPL Xen fixes up; the
 * descriptors can only change through update_descriptor; bad frames,
 * sizes, alignments and descriptor types are refused with -EINVAL.
 */
#include "guest.h"
#include <xen/errno.h>

#define KBASE 0xffffffff80000000UL
#define DATA_DPL3   0x00cff3000000ffffUL    /* flat data, DPL 3 */
#define CODE64_DPL0 0x00af9b000000ffffUL    /* 64-bit code, DPL 0: fixed to 3 */
#define TSS_DESC    0x0000890000000067UL    /* system descriptor: refused */

static uint64_t gdt_page[512] __attribute__((aligned(4096)));

static long remap(const void *p, bool writable)
{
    unsigned long pte = (guest_mfn_of(p) << PAGE_SHIFT) | 5 /* P|U */ | (writable ? 2 : 0);

    return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)p, pte, UVMF_INVLPG);
}

/* LAR from ring 3: the access rights, or ~0 when the selector is not
 * accessible (ZF clear). */
static uint32_t lar(uint16_t sel)
{
    uint32_t ar = 0;
    uint8_t ok;

    asm volatile ("lar %2, %0; setz %1" : "=r" (ar), "=q" (ok) : "r" ((uint32_t)sel));
    return ok ? ar : ~0u;
}

static long set_gdt(unsigned long *frames, unsigned int entries)
{
    return hypercall2(__HYPERVISOR_set_gdt, frames, entries);
}

void test_main(void)
{
    unsigned long frame = guest_mfn_of(gdt_page);
    unsigned long maddr = frame << PAGE_SHIFT;
    uint16_t sel;
    long rc;

    memset(gdt_page, 0, sizeof(gdt_page));
    gdt_page[1] = DATA_DPL3;
    gdt_page[2] = CODE64_DPL0;

    /* Still mapped writable: it cannot become a descriptor page. */
    rc = set_gdt(&frame, 3);
    check(rc == -XEN_EINVAL, "set_gdt(writable frame) = %ld, want -EINVAL", rc);
    rc = remap(gdt_page, false);
    if (rc)
        test_fatal("update_va_mapping(read-only) = %ld", rc);

    rc = set_gdt(&frame, 14 * 512 + 1);
    check(rc == -XEN_EINVAL, "set_gdt(7169 entries) = %ld, want -EINVAL", rc);
    rc = set_gdt((unsigned long *)0xffff830000000000UL, 3);
    check(rc == -XEN_EFAULT, "set_gdt(hypervisor ptr) = %ld, want -EFAULT", rc);
    rc = set_gdt(&frame, 3);
    if (!check(rc == 0, "set_gdt = %ld", rc))
        return;

    /* Entry 1 usable as a data segment; entry 2's DPL raised to 3. */
    check(lar(0x0b) != ~0u && ((lar(0x0b) >> 13) & 3) == 3,
          "selector 0x0b: lar %#x", lar(0x0b));
    check(lar(0x13) != ~0u && ((lar(0x13) >> 13) & 3) == 3,
          "selector 0x13 (DPL 0 code, fixed up): lar %#x", lar(0x13));
    check(lar(0x1b) == ~0u, "selector 0x1b (null entry) accessible: lar %#x", lar(0x1b));
    sel = 0x0b;
    asm volatile ("mov %0, %%es" :: "r" (sel));
    asm volatile ("mov %%es, %0" : "=r" (sel));
    check(sel == 0x0b, "es = %#x after loading 0x0b", sel);
    sel = 0;
    asm volatile ("mov %0, %%es" :: "r" (sel));

    /* update_descriptor changes the live GDT too. */
    rc = hypercall2(__HYPERVISOR_update_descriptor, maddr + 3 * 8, DATA_DPL3);
    check(rc == 0, "update_descriptor = %ld", rc);
    check(gdt_page[3] == DATA_DPL3, "descriptor page not updated: %#lx", gdt_page[3]);
    check(lar(0x1b) != ~0u, "selector 0x1b not usable after update_descriptor");

    rc = hypercall2(__HYPERVISOR_update_descriptor, maddr + 3 * 8 + 4, DATA_DPL3);
    check(rc == -XEN_EINVAL, "update_descriptor(unaligned) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_update_descriptor, maddr + 4 * 8, TSS_DESC);
    check(rc == -XEN_EINVAL, "update_descriptor(TSS) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_update_descriptor,
                    guest_mfn_of((void *)start_info->pt_base) << PAGE_SHIFT, DATA_DPL3);
    check(rc == -XEN_EINVAL, "update_descriptor(page table) = %ld, want -EINVAL", rc);

    /* A TSS descriptor in the page: the frame cannot take the type. */
    rc = set_gdt(NULL, 0);
    check(rc == 0, "set_gdt(0 entries) = %ld", rc);
    rc = remap(gdt_page, true);
    check(rc == 0, "remap writable after set_gdt(0) = %ld", rc);
    gdt_page[5] = TSS_DESC;
    rc = remap(gdt_page, false);
    check(rc == 0, "remap read-only = %ld", rc);
    rc = set_gdt(&frame, 6);
    check(rc == -XEN_EINVAL, "set_gdt(page with a TSS descriptor) = %ld, want -EINVAL", rc);
}
