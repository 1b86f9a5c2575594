/*
 * mmu - the PV MMU hypercalls (mmu_update, update_va_mapping, mmuext_op)
 * work, and every attack a malicious guest would try fails the way Xen
 * fails it: writable mappings of its own page tables, pinning a frame
 * mapped writable, frames it does not own, reserved bits and superpages,
 * the hypervisor's L4 slots, writable and looping linear entries. It also
 * builds, switches to and tears down address spaces repeatedly and proves
 * no reference leaked (a leaked type reference makes CLEAR_PAGE fail).
 */
#include <xen/errno.h>
#include "guest.h"

#define ADDR 0x000ffffffffff000UL

#define TVA   (32UL << 39)              /* L4 slot 32: empty at boot */
#define SELF  33UL                      /* L4 slot for the linear map */
#define LINEAR_L4 ((SELF << 39) | (SELF << 30) | (SELF << 21) | (SELF << 12))

static const unsigned long *p2m;
static unsigned long virt_base;

static unsigned long mfn_of(unsigned long va) { return p2m[(va - virt_base) >> PAGE_SHIFT]; }
static uint64_t pte(unsigned long mfn, uint64_t flags) { return ((uint64_t)mfn << PAGE_SHIFT) | flags; }
static uint64_t ma(unsigned long mfn, unsigned int slot) { return ((uint64_t)mfn << PAGE_SHIFT) + slot * 8; }

static long mmu_update(uint64_t ptr, uint64_t val)
{
    mmu_update_t req = { .ptr = ptr, .val = val };
    unsigned int done = 77;
    long rc = hypercall4(__HYPERVISOR_mmu_update, &req, 1, &done, DOMID_SELF);

    check(done == (rc ? 0u : 1u), "mmu_update(%lx, %lx): rc %ld but done %u",
          (unsigned long)ptr, (unsigned long)val, rc, done);
    return rc;
}

static long uvm(unsigned long va, uint64_t val, unsigned long flags)
{
    return hypercall3(__HYPERVISOR_update_va_mapping, va, val, flags);
}

#define expect(call, want) do {                                             \
        long r_ = (call);                                                   \
        check(r_ == (want), "%s: got %ld, want %ld", #call, r_, (long)(want)); \
    } while (0)

void test_main(void)
{
    unsigned long nr = start_info->nr_pages, l4, a, b, c, d, e, x;
    volatile uint64_t *tp = (volatile uint64_t *)TVA;
    uint64_t vmask = 1;                 /* vCPU 0 */

    p2m = (const unsigned long *)start_info->mfn_list;
    virt_base = (unsigned long)_image_start;
    if (nr < 2048)
        test_skip("needs at least 8 MiB (nr_pages %lu)", nr);
    l4 = mfn_of(start_info->pt_base);
    /* Frames far beyond the initial mapping. */
    a = p2m[nr - 8]; b = p2m[nr - 7]; c = p2m[nr - 6];
    d = p2m[nr - 5]; e = p2m[nr - 4]; x = p2m[nr - 3];
    printk("mmu: l4 %lx, test frames %lx..%lx\n", l4, a, x);

    /* Plain frames: cleared, then written as data through mmu_update. */
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, a, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, b, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, c, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, d, 0), 0);
    expect(mmu_update(ma(a, 0), pte(b, _P | _RW | _US | _A)), 0);
    expect(mmu_update(ma(b, 0), pte(c, _P | _RW | _US | _A)), 0);

    /* Hook the new L3 -> L2 -> L1 into the live L4: validated on the way. */
    expect(mmu_update(ma(l4, 32), pte(a, _P | _RW | _US | _A)), 0);
    expect(uvm(TVA, pte(d, _P | _RW | _US), UVMF_INVLPG | UVMF_LOCAL), 0);
    tp[0] = 0x1234abcd;
    check(tp[0] == 0x1234abcd, "write through the new mapping: %lx", (unsigned long)tp[0]);

    /* Attacks on the page tables themselves. */
    expect(uvm(TVA + 0x1000, pte(c, _P | _RW | _US), UVMF_INVLPG | UVMF_LOCAL), -XEN_EBUSY);
    expect(uvm(TVA + 0x1000, pte(b, _P | _RW | _US), UVMF_INVLPG | UVMF_LOCAL), -XEN_EBUSY);
    expect(uvm(TVA + 0x1000, pte(l4, _P | _RW | _US), UVMF_INVLPG | UVMF_LOCAL), -XEN_EBUSY);
    expect(mmu_update(ma(c, 1), pte(c, _P | _RW | _US)), -XEN_EBUSY);
    expect(hypercall_mmuext_one(MMUEXT_PIN_L1_TABLE, d, 0), -XEN_EINVAL);        /* mapped RW */
    expect(hypercall_mmuext_one(MMUEXT_NEW_BASEPTR, d, 0), -XEN_EINVAL);
    /* Read-only views of them are fine. */
    expect(uvm(TVA + 0x1000, pte(c, _P | _US), UVMF_INVLPG | UVMF_LOCAL), 0);
    check((tp[512] & ADDR) == ((uint64_t)d << PAGE_SHIFT), "L1 seen read-only: %lx",
          (unsigned long)tp[512]);

    /* Frames it does not own, bits it may not set. */
    expect(uvm(TVA + 0x2000, pte(0xfffffff, _P | _US), UVMF_INVLPG | UVMF_LOCAL), -XEN_EPERM);
    check(uvm(TVA + 0x2000, pte(0, _P | _US), UVMF_INVLPG | UVMF_LOCAL) < 0,
          "frame 0 (not the guest's) mapped");
    expect(uvm(TVA + 0x2000, pte(d, _P | _US | _PCD), UVMF_INVLPG | UVMF_LOCAL), -XEN_EINVAL);
    expect(mmu_update(ma(b, 1), pte(x, _P | _RW | _US | _A | _PSE)), -XEN_EINVAL);
    expect(mmu_update(ma(a, 1), pte(x, _P | _RW | _US | _A | _PSE)), -XEN_EINVAL);
    for (unsigned int s = 256; s <= 271; s++)
        expect(mmu_update(ma(l4, s), pte(a, _P | _RW | _US | _A)), -XEN_EINVAL);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l4, 0), -XEN_EINVAL);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, c, 0), -XEN_EINVAL);

    /* Linear page tables: read-only only, no loops. */
    expect(mmu_update(ma(l4, SELF), pte(l4, _P | _US | _A)), 0);
    check((((volatile uint64_t *)LINEAR_L4)[32] & ADDR) == ((uint64_t)a << PAGE_SHIFT),
          "L4 seen through the linear map");
    expect(mmu_update(ma(l4, SELF + 1), pte(l4, _P | _RW | _US | _A)), -XEN_EINVAL);
    expect(mmu_update(ma(l4, SELF), 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_COPY_PAGE, e, l4), 0);
    expect(hypercall_mmuext_one(MMUEXT_PIN_L4_TABLE, e, 0), 0);
    expect(mmu_update(ma(e, 40), pte(l4, _P | _US | _A)), 0);       /* e -> l4 */
    expect(mmu_update(ma(l4, 40), pte(e, _P | _US | _A)), -XEN_EINVAL);  /* loop */
    expect(mmu_update(ma(e, 40), 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_UNPIN_TABLE, e, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_UNPIN_TABLE, e, 0), -XEN_EINVAL);

    /* Build, switch to and tear down an address space, many times. */
    for (unsigned int round = 0; round < 20; round++) {
        expect(hypercall_mmuext_one(MMUEXT_COPY_PAGE, e, l4), 0);
        expect(hypercall_mmuext_one(MMUEXT_PIN_L4_TABLE, e, 0), 0);
        expect(hypercall_mmuext_one(MMUEXT_NEW_BASEPTR, e, 0), 0);
        check(tp[0] == 0x1234abcd, "round %u: data through the new base", round);
        expect(hypercall_mmuext_one(MMUEXT_NEW_USER_BASEPTR, e, 0), 0);
        expect(hypercall_mmuext_one(MMUEXT_NEW_BASEPTR, l4, 0), 0);
        expect(hypercall_mmuext_one(MMUEXT_NEW_USER_BASEPTR, 0, 0), 0);
        expect(hypercall_mmuext_one(MMUEXT_UNPIN_TABLE, e, 0), 0);
        /* Nothing holds e any more: it can be written as data. */
        expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, e, 0), 0);
        if (test_failures())
            break;
    }

    /* Flushes, and the ops a domU is refused. */
    expect(hypercall_mmuext_one(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_INVLPG_LOCAL, TVA, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_INVLPG_ALL, TVA, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_TLB_FLUSH_MULTI, 0, (unsigned long)&vmask), 0);
    expect(hypercall_mmuext_one(MMUEXT_INVLPG_MULTI, TVA, (unsigned long)&vmask), 0);
    expect(uvm(TVA, pte(d, _P | _RW | _US), UVMF_TLB_FLUSH | UVMF_ALL), 0);
    expect(uvm(TVA, pte(d, _P | _RW | _US), UVMF_INVLPG | (unsigned long)&vmask), 0);
    expect(hypercall_mmuext_one(MMUEXT_FLUSH_CACHE, 0, 0), -XEN_EACCES);
    expect(hypercall_mmuext_one(MMUEXT_MARK_SUPER, d, 0), -XEN_EOPNOTSUPP);
    expect(hypercall_mmuext_one(MMUEXT_SET_LDT, 0, 0), 0);
    expect(mmu_update(ma(d, 0) | MMU_MACHPHYS_UPDATE, nr - 5), 0);

    /* A batch stops at the first failure and says how far it got. */
    {
        mmu_update_t req[3] = {
            { ma(c, 2), pte(x, _P | _US) },
            { ma(c, 3), pte(c, _P | _RW | _US) },
            { ma(c, 4), pte(x, _P | _US) },
        };
        unsigned int done = 0;
        long rc = hypercall4(__HYPERVISOR_mmu_update, req, 3, &done, DOMID_SELF);

        check(rc == -XEN_EBUSY && done == 1, "batch: rc %ld done %u", rc, done);
        expect(mmu_update(ma(c, 2), 0), 0);
    }

    /* Tear down: afterwards every frame is plain data again. */
    expect(uvm(TVA, 0, UVMF_INVLPG | UVMF_LOCAL), 0);
    expect(uvm(TVA + 0x1000, 0, UVMF_INVLPG | UVMF_LOCAL), 0);
    expect(mmu_update(ma(l4, 32), 0), 0);
    expect(uvm(TVA, pte(d, _P | _US), UVMF_INVLPG | UVMF_LOCAL), -XEN_EINVAL);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, a, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, b, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, c, 0), 0);
    expect(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, d, 0), 0);
}
