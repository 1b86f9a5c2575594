/*
 * The PV MMU hypercalls: argument decoding, batching and done counts,
 * errno values as Xen returns them, and the flushes each op must (and
 * must not) issue.
 */
#include "test_mm_env.h"
#include <minishim/pv.h>
#include <minishim/pv_msr.h>
#include <minishim/pv_mm.h>

TestSuite(mm_hc, .init = mm_setup);

#define VA_TEST 0x0000000040201000ULL   /* L4 0, L3 1, L2 1, L1 slot 1 */

/* A live address space: kernel base L4 G(0) -> G(1) -> G(2) -> L1 G(3). */
static void live_space(void)
{
    tab(G(0))[0] = pte(G(1), UP);
    tab(G(1))[1] = pte(G(2), UP);
    tab(G(2))[1] = pte(G(3), UP);
    cr_assert_eq(pin(G(0), 4), 0);
    cr_assert_eq(ext1(MMUEXT_NEW_BASEPTR, G(0).mfn, 0), 0);
    flush_stats_reset();
    fake_ipi_reset(true);
    fake_nr_invlpg = fake_nr_local_flushes = 0;
}

static void teardown_space(void)
{
    cr_assert_eq(unpin(G(0)), 0);
    pv_mm_vcpu_destroy(&mm_vcpu);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, mmu_update_batch_done_count)
{
    uint64_t req[8];
    unsigned int done = 99;

    cr_assert_eq(pin(G(0), 1), 0);
    req[0] = (G(0).mfn << 12) + 0 * 8;  req[1] = pte(G(5), P | RW);
    req[2] = (G(0).mfn << 12) + 1 * 8;  req[3] = pte(G(6), P);
    req[4] = (G(0).mfn << 12) + 2 * 8;  req[5] = pte(G(0), P | RW);  /* fails */
    req[6] = (G(0).mfn << 12) + 3 * 8;  req[7] = pte(G(7), P);
    memcpy(gbuf, req, sizeof(req));
    memcpy(gbuf + 0x8000, &done, 4);
    cr_expect_eq(do_mmu_update(GBUF_VA, 4, GBUF_VA + 0x8000, DOMID_SELF), -XEN_EBUSY);
    memcpy(&done, gbuf + 0x8000, 4);
    cr_expect_eq(done, 2);
    cr_expect_eq(tab(G(0))[3], 0);          /* nothing after the failure */
    cr_expect_eq(F(G(5))->type_count, 1);

    /* All good: done = count; a NULL pdone is allowed. */
    req[5] = pte(G(8), P);
    memcpy(gbuf, req, sizeof(req));
    cr_expect_eq(do_mmu_update(GBUF_VA, 4, GBUF_VA + 0x8000, DOMID_SELF), 0);
    memcpy(&done, gbuf + 0x8000, 4);
    cr_expect_eq(done, 4);
    cr_expect_eq(do_mmu_update(GBUF_VA, 4, 0, DOMID_SELF), 0);
    cr_expect_eq(do_mmu_update(GBUF_VA, 0, 0, DOMID_SELF), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, mmu_update_bad_arguments)
{
    unsigned int done = 5;

    /* The request array inside the shim's range, or not readable. */
    cr_expect_eq(do_mmu_update(SHIM_VIRT_START, 1, 0, DOMID_SELF), -XEN_EFAULT);
    cr_expect_eq(do_mmu_update(SHIM_VIRT_END - 16, 2, 0, DOMID_SELF), -XEN_EFAULT);
    cr_expect_eq(do_mmu_update(0x1000, 1, 0, DOMID_SELF), -XEN_EFAULT);
    cr_expect_eq(do_mmu_update(~0ULL - 8, 1, 0, DOMID_SELF), -XEN_EFAULT);
    /* Foreign domains, including our own id as "foreign": -ESRCH, and
     * the done count written (Xen's 'goto out'). */
    memcpy(gbuf + 0x8000, &done, 4);
    cr_expect_eq(do_mmu_update(GBUF_VA, 1, GBUF_VA + 0x8000, 3), -XEN_ESRCH);
    memcpy(&done, gbuf + 0x8000, 4);
    cr_expect_eq(done, 0);
    cr_expect_eq(do_mmu_update(GBUF_VA, 1, 0, GUEST_DOMID), -XEN_ESRCH);
    cr_expect_eq(do_mmu_update(GBUF_VA, 1, 0, DOMID_IO), -XEN_ESRCH);
    cr_expect_eq(do_mmu_update(GBUF_VA, 1, 0, (5u << 16) | DOMID_SELF), -XEN_ESRCH);
    /* Page tables named by our own domain id (pt_dom = id + 1): fine. */
    {
        uint64_t req[2] = { (G(0).mfn << 12) + 8, 0x1234 };

        memcpy(gbuf, req, sizeof(req));
        cr_expect_eq(do_mmu_update(GBUF_VA, 1, 0, ((GUEST_DOMID + 1u) << 16) | DOMID_SELF), 0);
    }
    /* Unknown sub-command; a target frame the guest does not own. */
    cr_expect_eq(mmu1((G(0).mfn << 12) + 5, 0, NULL), -XEN_ENOSYS);
    cr_expect_eq(mmu1((SHIM_FRAME.mfn << 12), 0, NULL), -XEN_EINVAL);
    cr_expect_eq(mmu1(((uint64_t)NR_FRAMES << 12), 0, NULL), -XEN_EINVAL);
    cr_expect_eq(mmu1(~0ULL & ~7ULL, 0, NULL), -XEN_EINVAL);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, mmu_update_plain_write_to_data_frame)
{
    /* A frame with no page-table type is written as data (writable type
     * taken for the duration). */
    cr_expect_eq(mmu1((G(4).mfn << 12) + 0x18, 0xabcdef, NULL), 0);
    cr_expect_eq(tab(G(4))[3], 0xabcdef);
    cr_expect_eq(F(G(4))->type, PGT_WRITABLE);
    cr_expect_eq(pv_mm_total_refs(), 0);
    /* An unreferenced former L1 too, after a no-assist retype flush. */
    cr_assert_eq(pin(G(5), 1), 0);
    cr_assert_eq(unpin(G(5)), 0);
    cr_expect_eq(mmu1((G(5).mfn << 12), 0x42, NULL), 0);
    cr_expect_eq(F(G(5))->type, PGT_WRITABLE);
    cr_expect(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
}

Test(mm_hc, preserve_ad)
{
    cr_assert_eq(pin(G(0), 1), 0);
    cr_assert_eq(set_entry(G(0), 0, pte(G(5), P | US)), 0);
    tab(G(0))[0] |= PTE_ACCESSED | PTE_DIRTY;  /* as hardware would */
    cr_assert_eq(mmu1((G(0).mfn << 12) + MMU_PT_UPDATE_PRESERVE_AD, pte(G(5), P | US), NULL), 0);
    cr_expect_eq(tab(G(0))[0] & (PTE_ACCESSED | PTE_DIRTY), PTE_ACCESSED | PTE_DIRTY);
    cr_assert_eq(mmu1((G(0).mfn << 12) + MMU_NORMAL_PT_UPDATE, pte(G(5), P | US), NULL), 0);
    cr_expect_eq(tab(G(0))[0] & (PTE_ACCESSED | PTE_DIRTY), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, machphys_update)
{
    cr_expect_eq(mmu1((G(4).mfn << 12) + MMU_MACHPHYS_UPDATE, 0x777, NULL), 0);
    cr_expect_eq(mm_m2p[G(4).mfn], 0x777);
    cr_expect_eq(mmu1((SHIM_FRAME.mfn << 12) + MMU_MACHPHYS_UPDATE, 1, NULL), -XEN_EINVAL);
    cr_expect_eq(mm_m2p[SHIM_FRAME.mfn], 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, xsa286_flush_after_upper_level_update_only)
{
    live_space();
    /* L1 update: the guest flushes itself; no flush here. */
    cr_assert_eq(set_entry(G(3), 1, pte(G(9), P | RW)), 0);
    cr_expect_eq(nr_flush_calls(), 0);
    /* Failed L2 update: no flush either. */
    cr_expect_eq(set_entry(G(2), 5, pte(SHIM_FRAME, UP)), -XEN_EINVAL);
    cr_expect_eq(nr_flush_calls(), 0);
    /* Successful L2, L3 and L4 updates: one flush each, to all dirty CPUs. */
    cr_assert_eq(set_entry(G(2), 5, pte(G(10), UP)), 0);
    cr_expect_eq(nr_flush_calls(), 1);
    cr_expect_eq(fake_ipi_received[1], 1);
    cr_expect_eq(fake_ipi_last_req.flags & FLUSH_TLB, FLUSH_TLB);
    cr_assert_eq(set_entry(G(1), 5, 0), 0);
    cr_assert_eq(set_entry(G(0), 5, 0), 0);
    cr_expect_eq(nr_flush_calls(), 3);
    cr_assert_eq(set_entry(G(2), 5, 0), 0);
    teardown_space();
}

Test(mm_hc, update_va_mapping_and_flush_kinds)
{
    uint64_t bitmap = 2;    /* vCPU 1 */

    live_space();
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | RW | US), UVMF_NONE), 0);
    cr_expect_eq(tab(G(3))[1] & PTE_ADDR_MASK, G(9).mfn << 12);
    cr_expect_eq(F(G(9))->type, PGT_WRITABLE);
    cr_expect_eq(nr_flush_calls() + fake_nr_invlpg + fake_nr_local_flushes, 0);

    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | US), UVMF_INVLPG | UVMF_LOCAL), 0);
    cr_expect_eq(fake_nr_invlpg, 1);
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | US), UVMF_TLB_FLUSH | UVMF_LOCAL), 0);
    cr_expect_eq(fake_nr_local_flushes, 1);
    cr_expect_eq(nr_flush_calls(), 0);

    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | US), UVMF_INVLPG | UVMF_ALL), 0);
    cr_expect_eq(fake_ipi_received[1], 1);
    cr_expect_eq(fake_ipi_last_req.flags & ~FLUSH_TLB_GLOBAL, FLUSH_TLB | FLUSH_VA_VALID);
    cr_expect_eq(fake_ipi_last_req.va.va, VA_TEST);
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | US), UVMF_TLB_FLUSH | UVMF_ALL), 0);
    cr_expect_eq(fake_ipi_received[1], 2);
    cr_expect_not(fake_ipi_last_req.flags & (FLUSH_VA_VALID | FLUSH_NO_ASSIST));

    /* MULTI: a bitmap of vCPUs in guest memory. */
    memcpy(gbuf + 0x100, &bitmap, 8);
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | US),
                                      UVMF_INVLPG | (GBUF_VA + 0x100)), 0);
    cr_expect_eq(fake_ipi_received[1], 3);
    cr_expect_eq(fake_ipi_last_req.flags & FLUSH_VA_VALID, FLUSH_VA_VALID);
    bitmap = 1;             /* only ourselves: a local flush */
    memcpy(gbuf + 0x100, &bitmap, 8);
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P | US),
                                      UVMF_TLB_FLUSH | (GBUF_VA + 0x100)), 0);
    cr_expect_eq(fake_ipi_received[1], 3);
    /* An unreadable bitmap: the update is done, the result is -EFAULT. */
    cr_expect_eq(do_update_va_mapping(VA_TEST, 0, UVMF_TLB_FLUSH | 0x2000ULL), -XEN_EFAULT);
    cr_expect_eq(tab(G(3))[1], 0);
    teardown_space();
}

Test(mm_hc, xsa279_no_flush_after_failed_update)
{
    live_space();
    /* Bad value, unmapped va, va in the shim: errors and no flush at all. */
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(3), P | RW), UVMF_TLB_FLUSH | UVMF_ALL),
                 -XEN_EBUSY);
    cr_expect_eq(do_update_va_mapping(0x7f0000000000ULL, pte(G(9), P), UVMF_INVLPG | UVMF_ALL),
                 -XEN_EINVAL);
    cr_expect_eq(do_update_va_mapping(SHIM_VIRT_START + 0x1000, pte(G(9), P),
                                      UVMF_INVLPG | UVMF_LOCAL), -XEN_EINVAL);
    cr_expect_eq(do_update_va_mapping(0x0000800000000000ULL, pte(G(9), P),
                                      UVMF_TLB_FLUSH | UVMF_LOCAL), -XEN_EINVAL);
    cr_expect_eq(do_update_va_mapping(VA_TEST, pte(G(9), P),
                                      UVMF_TLB_FLUSH | (GBUF_VA + 0x100)), 0);
    cr_expect_eq(nr_flush_calls(), 0);
    cr_expect_eq(fake_nr_invlpg + fake_nr_local_flushes, 0);
    cr_expect_eq(nr_copy_faults, 0);
    /* A va whose walk reaches an L2 (through a linear L3 entry) is not an
     * L1: refused. */
    cr_assert_eq(set_entry(G(0), 2, pte(G(0), P)), 0);
    cr_expect_eq(do_update_va_mapping((2ULL << 39) | (2ULL << 30) | (2ULL << 21),
                                      pte(G(9), P), UVMF_NONE), -XEN_EINVAL);
    cr_assert_eq(set_entry(G(0), 2, 0), 0);
    cr_assert_eq(do_update_va_mapping(VA_TEST, 0, UVMF_NONE), 0);
    teardown_space();
}

Test(mm_hc, mmuext_pin_unpin_errors)
{
    tab(G(0))[0] = pte(G(1), P);
    cr_assert_eq(pin(G(0), 1), 0);
    cr_expect_eq(pin(G(0), 1), -XEN_EINVAL);    /* already pinned */
    cr_expect_eq(F(G(0))->type_count, 1);
    cr_expect_eq(F(G(0))->ref_count, 1);
    cr_expect_eq(unpin(G(2)), -XEN_EINVAL);     /* not pinned */
    cr_expect_eq(unpin(SHIM_FRAME), -XEN_EINVAL);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(unpin(G(0)), -XEN_EINVAL);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, mmuext_batch_done_and_errors)
{
    struct ext ops[3] = {
        { MMUEXT_PIN_L1_TABLE, 0, G(0).mfn, 0 },
        { MMUEXT_PIN_L2_TABLE, 0, G(1).mfn, 0 },
        { MMUEXT_PIN_L2_TABLE, 0, G(1).mfn, 0 },    /* again: fails */
    };
    unsigned int done = 0;

    memcpy(gbuf, ops, sizeof(ops));
    cr_expect_eq(do_mmuext_op(GBUF_VA, 3, GBUF_VA + 0x8000, DOMID_SELF), -XEN_EINVAL);
    memcpy(&done, gbuf + 0x8000, 4);
    cr_expect_eq(done, 2);
    cr_expect_eq(do_mmuext_op(GBUF_VA, 1, 0, 3), -XEN_ESRCH);
    cr_expect_eq(do_mmuext_op(SHIM_VIRT_START, 1, 0, DOMID_SELF), -XEN_EFAULT);
    cr_expect_eq(do_mmuext_op(GBUF_VA + GBUF_SIZE, 1, 0, DOMID_SELF), -XEN_EFAULT);
    cr_expect_eq(ext1(14, 0, 0), -XEN_ENOSYS);
    cr_expect_eq(ext1(0xffffffffu, 0, 0), -XEN_ENOSYS);
    cr_expect_eq(ext1(MMUEXT_MARK_SUPER, G(0).mfn, 0), -XEN_EOPNOTSUPP);
    cr_expect_eq(ext1(MMUEXT_UNMARK_SUPER, G(0).mfn, 0), -XEN_EOPNOTSUPP);
    cr_expect_eq(ext1(MMUEXT_FLUSH_CACHE, 0, 0), -XEN_EACCES);
    cr_expect_eq(ext1(MMUEXT_FLUSH_CACHE_GLOBAL, 0, 0), -XEN_EINVAL);
    cr_assert_eq(unpin(G(0)), 0);
    cr_assert_eq(unpin(G(1)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, mmuext_baseptrs)
{
    tab(G(0))[0] = pte(G(1), UP);
    cr_expect_eq(ext1(MMUEXT_NEW_BASEPTR, SHIM_FRAME.mfn, 0), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_NEW_BASEPTR, 0, 0), -XEN_EINVAL);
    cr_assert_eq(ext1(MMUEXT_NEW_BASEPTR, G(0).mfn, 0), 0);
    cr_expect_eq(arch_read_cr3(), G(0).mfn << 12);
    cr_expect_eq(mm_vcpu.kernel_l4.mfn, G(0).mfn);
    cr_expect_eq(F(G(0))->type, PGT_L4);
    cr_expect_eq(nr_ldt_changed, 1);
    /* The live L4 cannot be remapped writable nor retyped. */
    cr_assert_eq(pin(G(5), 1), 0);
    cr_expect_eq(set_entry(G(5), 0, pte(G(0), P | RW)), -XEN_EBUSY);
    cr_expect_eq(pin(G(0), 3), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_CLEAR_PAGE, G(0).mfn, 0), -XEN_EINVAL);
    /* A page that is mapped writable cannot become the base. */
    cr_assert_eq(set_entry(G(5), 1, pte(G(7), P | RW)), 0);
    cr_expect_eq(ext1(MMUEXT_NEW_BASEPTR, G(7).mfn, 0), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_NEW_USER_BASEPTR, G(7).mfn, 0), -XEN_EINVAL);
    cr_expect_eq(mm_vcpu.kernel_l4.mfn, G(0).mfn);
    /* User base: set, same again, cleared with 0. */
    cr_assert_eq(ext1(MMUEXT_NEW_USER_BASEPTR, G(8).mfn, 0), 0);
    cr_expect_eq(F(G(8))->type_count, 1);
    cr_assert_eq(ext1(MMUEXT_NEW_USER_BASEPTR, G(8).mfn, 0), 0);
    cr_expect_eq(F(G(8))->type_count, 1);
    cr_assert_eq(ext1(MMUEXT_NEW_USER_BASEPTR, 0, 0), 0);
    cr_expect_eq(F(G(8))->type_count, 0);
    /* Switching away from the base tears it down (nothing else holds it). */
    cr_assert_eq(ext1(MMUEXT_NEW_BASEPTR, G(8).mfn, 0), 0);
    cr_expect_eq(F(G(0))->type_count, 0);
    cr_expect_eq(F(G(1))->type_count, 0);
    cr_assert_eq(unpin(G(5)), 0);
    pv_mm_vcpu_destroy(&mm_vcpu);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, mmuext_flushes)
{
    uint64_t bitmap = 3;

    memcpy(gbuf + 0x100, &bitmap, 8);
    cr_expect_eq(ext1(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
    cr_expect_eq(fake_nr_local_flushes, 1);
    cr_expect_eq(ext1(MMUEXT_INVLPG_LOCAL, 0x1000, 0), 0);
    cr_expect_eq(fake_nr_invlpg, 1);
    cr_expect_eq(ext1(MMUEXT_INVLPG_LOCAL, 0x0000900000000000ULL, 0), 0); /* non-canonical: ignored */
    cr_expect_eq(fake_nr_invlpg, 1);
    cr_expect_eq(nr_flush_calls(), 0);

    cr_expect_eq(ext1(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
    cr_expect_eq(fake_ipi_received[1], 1);
    cr_expect_not(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_expect_eq(ext1(MMUEXT_INVLPG_ALL, 0x2000, 0), 0);
    cr_expect_eq(fake_ipi_received[1], 2);
    cr_expect_eq(fake_ipi_last_req.va.va, 0x2000);
    cr_expect_eq(ext1(MMUEXT_INVLPG_ALL, SHIM_VIRT_START, 0), 0);     /* ignored */
    cr_expect_eq(fake_ipi_received[1], 2);
    cr_expect_eq(ext1(MMUEXT_TLB_FLUSH_MULTI, 0, GBUF_VA + 0x100), 0);
    cr_expect_eq(fake_ipi_received[1], 3);
    cr_expect_eq(ext1(MMUEXT_INVLPG_MULTI, 0x3000, GBUF_VA + 0x100), 0);
    cr_expect_eq(fake_ipi_received[1], 4);
    cr_expect_eq(fake_ipi_last_req.va.va, 0x3000);
    /* A bad bitmap pointer: -EINVAL for mmuext (Xen), nothing flushed. */
    cr_expect_eq(ext1(MMUEXT_TLB_FLUSH_MULTI, 0, 0x1000), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_INVLPG_MULTI, 0x3000, SHIM_VIRT_START), -XEN_EINVAL);
    cr_expect_eq(fake_ipi_received[1], 4);
    /* vCPUs beyond max_vcpus are ignored. */
    bitmap = ~3ULL;
    memcpy(gbuf + 0x100, &bitmap, 8);
    cr_expect_eq(ext1(MMUEXT_TLB_FLUSH_MULTI, 0, GBUF_VA + 0x100), 0);
    cr_expect_eq(fake_ipi_received[1], 4);
}

Test(mm_hc, mmuext_set_ldt)
{
    cr_expect_eq(ext1(MMUEXT_SET_LDT, 0x10000, 8193), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_SET_LDT, 0x10008, 16), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_SET_LDT, SHIM_VIRT_START, 16), -XEN_EINVAL);
    cr_expect_eq(nr_ldt_changed, 0);
    cr_expect_eq(ext1(MMUEXT_SET_LDT, 0x10000, 16), 0);
    cr_expect_eq(mm_vcpu.ldt_base, 0x10000);
    cr_expect_eq(mm_vcpu.ldt_ents, 16);
    cr_expect_eq(nr_ldt_changed, 1);
    cr_expect_eq(ext1(MMUEXT_SET_LDT, 0x10000, 16), 0);      /* unchanged */
    cr_expect_eq(nr_ldt_changed, 1);
    cr_expect_eq(ext1(MMUEXT_SET_LDT, 0xdead, 0), 0);        /* no LDT */
    cr_expect_eq(mm_vcpu.ldt_ents, 0);
    cr_expect_eq(nr_ldt_changed, 2);
}

Test(mm_hc, mmuext_clear_and_copy_page)
{
    memset(tab(G(4)), 0xaa, PAGE_SIZE);
    memset(tab(G(5)), 0x55, PAGE_SIZE);
    cr_assert_eq(ext1(MMUEXT_COPY_PAGE, G(6).mfn, G(4).mfn), 0);
    cr_expect_eq(tab(G(6))[100], 0xaaaaaaaaaaaaaaaaULL);
    cr_assert_eq(ext1(MMUEXT_CLEAR_PAGE, G(4).mfn, 0), 0);
    cr_expect_eq(tab(G(4))[511], 0);
    /* Not into a page table, not from/to a frame the guest does not own. */
    cr_assert_eq(pin(G(7), 1), 0);
    cr_expect_eq(ext1(MMUEXT_COPY_PAGE, G(7).mfn, G(5).mfn), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_CLEAR_PAGE, G(7).mfn, 0), -XEN_EINVAL);
    cr_expect_eq(tab(G(7))[0], 0);
    cr_expect_eq(ext1(MMUEXT_COPY_PAGE, G(6).mfn, SHIM_FRAME.mfn), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_COPY_PAGE, SHIM_FRAME.mfn, G(5).mfn), -XEN_EINVAL);
    cr_expect_eq(ext1(MMUEXT_CLEAR_PAGE, SHIM_FRAME.mfn, 0), -XEN_EINVAL);
    /* Copying from a page table (read-only access) is allowed. */
    cr_expect_eq(ext1(MMUEXT_COPY_PAGE, G(6).mfn, G(7).mfn), 0);
    cr_assert_eq(unpin(G(7)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_hc, continuation_marker_accepted)
{
    unsigned int done = 3;
    uint64_t req[2] = { (G(4).mfn << 12), 1 };

    /* count | MMU_UPDATE_PREEMPTED: done so far is read from pdone. */
    memcpy(gbuf, req, sizeof(req));
    memcpy(gbuf + 0x8000, &done, 4);
    cr_expect_eq(do_mmu_update(GBUF_VA, 1u | 0x80000000u, GBUF_VA + 0x8000, DOMID_SELF), 0);
    memcpy(&done, gbuf + 0x8000, 4);
    cr_expect_eq(done, 4);
    /* The "return value carrier" form returns foreigndom. */
    cr_expect_eq(do_mmuext_op(0, 0x80000000u, 0, (unsigned int)-XEN_EINVAL), -XEN_EINVAL);
}

/* Xen guest_wrmsr_xen(): MSR 0x40000000 writes the hypercall page into
 * the guest frame val names; page index != 0, a frame the guest does not
 * own, or a page table is #GP, and the frame keeps no reference. */
Test(mm_hc, hypercall_page_msr)
{
    struct vcpu *v = &pv_dom.vcpus[0];
    uint8_t *p = (uint8_t *)tab(G(4));

    memset(p, 0, PAGE_SIZE);
    cr_assert(pv_msr_write(v, 0x40000000, G(4).mfn << PAGE_SHIFT));
    /* Entry 0 (set_trap_table): push %rcx; push %r11; mov $0, %eax. */
    cr_expect(p[0] == 0x51 && p[1] == 0x41 && p[2] == 0x53 && p[3] == 0xb8);
    cr_expect(p[32 * 24] == 0x51 && p[32 * 24 + 4] == 24, "entry 24");
    cr_expect_eq(p[PAGE_SIZE - 1], 0xcc);
    cr_expect_eq(pv_mm_total_refs(), 0);

    memset(p, 0, PAGE_SIZE);
    cr_expect_not(pv_msr_write(v, 0x40000000, (G(4).mfn << PAGE_SHIFT) | 1), "page index 1");
    cr_expect_not(pv_msr_write(v, 0x40000000, SHIM_FRAME.mfn << PAGE_SHIFT), "shim frame");
    cr_expect_not(pv_msr_write(v, 0x40000000, (uint64_t)NR_FRAMES << PAGE_SHIFT), "no frame");
    cr_expect_eq(p[0], 0);
    cr_assert_eq(pin(G(7), 1), 0);
    cr_expect_not(pv_msr_write(v, 0x40000000, G(7).mfn << PAGE_SHIFT), "an L1");
    cr_expect_eq(tab(G(7))[0], 0);
    cr_assert_eq(unpin(G(7)), 0);
    cr_expect_not(pv_msr_write(v, 0x40000001, G(4).mfn << PAGE_SHIFT), "base + 1");
    cr_expect_eq(pv_mm_total_refs(), 0);
}
