/*
 * The PV MMU's type/count state machine and entry validation: every rule
 * of pv_mm.h, and the attacks a malicious guest would try against it.
 */
#include "test_mm_env.h"
#include <minishim/tlbclock.h>
#include <minishim/flush_defer.h>

TestSuite(mm_types, .init = mm_setup);

/* L4 a -> L3 b -> L2 c -> L1 d -> data e (RW), f (RO); nothing pinned. */
static void build_chain(mfn_t a, mfn_t b, mfn_t c, mfn_t d, mfn_t e, mfn_t f)
{
    tab(a)[0] = pte(b, UP);
    tab(b)[0] = pte(c, UP);
    tab(c)[0] = pte(d, UP);
    tab(d)[0] = pte(e, P | RW | US);
    tab(d)[1] = pte(f, P | US);
}

Test(mm_types, pin_l1_counts_and_unpin_returns_to_zero)
{
    tab(G(0))[0] = pte(G(1), P | RW);
    tab(G(0))[1] = pte(G(2), P);
    cr_assert_eq(pin(G(0), 1), 0);
    cr_expect_eq(F(G(0))->type, PGT_L1);
    cr_expect_eq(F(G(0))->type_count, 1);
    cr_expect_eq(F(G(0))->ref_count, 1);
    cr_expect(F(G(0))->flags & PV_FRAME_PINNED);
    cr_expect(F(G(0))->flags & PV_FRAME_VALIDATED);
    /* RW mapping: writable type ref + general ref; RO: general ref only. */
    cr_expect_eq(F(G(1))->type, PGT_WRITABLE);
    cr_expect_eq(F(G(1))->type_count, 1);
    cr_expect_eq(F(G(1))->ref_count, 1);
    cr_expect_eq(F(G(2))->type_count, 0);
    cr_expect_eq(F(G(2))->ref_count, 1);

    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
    cr_expect_not(F(G(0))->flags & (PV_FRAME_PINNED | PV_FRAME_VALIDATED));
    /* The type stays (a later retype is keyed on it), the count is zero. */
    cr_expect_eq(F(G(0))->type, PGT_L1);
}

Test(mm_types, full_chain_pin_l4_and_teardown)
{
    build_chain(G(0), G(1), G(2), G(3), G(4), G(5));
    cr_assert_eq(pin(G(0), 4), 0);
    cr_expect_eq(F(G(1))->type, PGT_L3);
    cr_expect_eq(F(G(2))->type, PGT_L2);
    cr_expect_eq(F(G(3))->type, PGT_L1);
    cr_expect_eq(F(G(4))->type, PGT_WRITABLE);
    cr_expect_eq(F(G(3))->type_count, 1);
    /* Xen's adjust_guest_l*e: user bit everywhere, A on L4 entries. */
    cr_expect(tab(G(0))[0] & PTE_USER);
    cr_expect(tab(G(3))[0] & PTE_USER);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, l1_writable_self_mapping_refused)
{
    tab(G(0))[5] = pte(G(0), P | RW);
    cr_expect_eq(pin(G(0), 1), -XEN_EBUSY);
    cr_expect_eq(pv_mm_total_refs(), 0);
    cr_expect_not(F(G(0))->flags & PV_FRAME_VALIDATED);
}

Test(mm_types, l1_readonly_self_mapping_allowed)
{
    tab(G(0))[5] = pte(G(0), P);
    cr_expect_eq(pin(G(0), 1), 0);
    cr_expect_eq(F(G(0))->ref_count, 2);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, pin_l1_that_is_mapped_writable_fails)
{
    tab(G(0))[0] = pte(G(1), P | RW);           /* G(0) maps G(1) writable */
    cr_assert_eq(pin(G(0), 1), 0);
    cr_expect_eq(pin(G(1), 1), -XEN_EINVAL);
    cr_expect_eq(F(G(1))->type, PGT_WRITABLE);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, writable_mapping_of_page_tables_refused)
{
    build_chain(G(0), G(1), G(2), G(3), G(4), G(5));
    cr_assert_eq(pin(G(0), 4), 0);
    cr_assert_eq(pin(G(10), 1), 0);
    /* Its own L1, L2, L3 and the L4 itself, through a pinned L1. */
    cr_expect_eq(set_entry(G(10), 0, pte(G(3), P | RW)), -XEN_EBUSY);
    cr_expect_eq(set_entry(G(10), 0, pte(G(2), P | RW)), -XEN_EBUSY);
    cr_expect_eq(set_entry(G(10), 0, pte(G(1), P | RW)), -XEN_EBUSY);
    cr_expect_eq(set_entry(G(10), 0, pte(G(0), P | RW)), -XEN_EBUSY);
    cr_expect_eq(set_entry(G(3), 7, pte(G(3), P | RW)), -XEN_EBUSY);
    /* Read-only is fine. */
    cr_expect_eq(set_entry(G(10), 0, pte(G(0), P)), 0);
    cr_expect_eq(set_entry(G(10), 0, 0), 0);
    cr_assert_eq(unpin(G(10)), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, descriptor_frames_never_writable)
{
    /* A descriptor page: validated once, then never writable while used. */
    cr_assert_eq(pv_mm_get_page_and_type(G(1), PGT_SEG_DESC), 0);
    cr_expect_eq(nr_seg_desc_checks, 1);
    cr_expect(pv_mm_frame_in_use(G(1)));
    cr_assert_eq(pin(G(0), 1), 0);
    cr_expect_eq(set_entry(G(0), 0, pte(G(1), P | RW)), -XEN_EBUSY);
    cr_expect_eq(set_entry(G(0), 0, pte(G(1), P)), 0);
    cr_expect_eq(mmu1((G(1).mfn << 12), 0, NULL), -XEN_EINVAL);   /* no data write */
    cr_expect_eq(ext1(MMUEXT_CLEAR_PAGE, G(1).mfn, 0), -XEN_EINVAL);
    cr_expect_eq(pin(G(1), 1), -XEN_EINVAL);
    pv_mm_put_page_and_type(G(1));
    /* Unused again: becomes writable (and must be revalidated after). */
    cr_expect_eq(set_entry(G(0), 0, pte(G(1), P | RW)), 0);
    cr_expect_eq(pv_mm_get_page_and_type(G(1), PGT_SEG_DESC), -XEN_EINVAL);
    cr_assert_eq(set_entry(G(0), 0, 0), 0);
    seg_desc_rc = -XEN_EINVAL;      /* the checker refuses the contents */
    cr_expect_eq(pv_mm_get_page_and_type(G(1), PGT_SEG_DESC), -XEN_EINVAL);
    cr_expect_eq(nr_seg_desc_checks, 2);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
    cr_expect_not(pv_mm_frame_in_use(G(1)));
}

Test(mm_types, frames_not_owned_refused)
{
    cr_assert_eq(pin(G(0), 1), 0);
    cr_expect_eq(set_entry(G(0), 0, pte(SHIM_FRAME, P)), -XEN_EBUSY);
    cr_expect_eq(set_entry(G(0), 0, pte(SHIM_HOLE, P | RW)), -XEN_EBUSY);
    /* Beyond RAM: MMIO the guest may not map; the all-ones frame. */
    cr_expect_eq(set_entry(G(0), 0, pte(mfn(NR_FRAMES + 5), P)), -XEN_EPERM);
    cr_expect_eq(set_entry(G(0), 0, PTE_ADDR_MASK | P), -XEN_EINVAL);
    cr_expect_eq(tab(G(0))[0], 0);
    /* Pinning a shim frame, or an upper-level entry naming one. */
    cr_expect_eq(pin(SHIM_FRAME, 1), -XEN_EINVAL);
    cr_expect_eq(pin(mfn(NR_FRAMES + 1), 1), -XEN_EINVAL);
    tab(G(1))[3] = pte(SHIM_FRAME, UP);
    cr_expect_eq(pin(G(1), 2), -XEN_EINVAL);
    cr_expect_eq(F(SHIM_FRAME)->type_count, 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, reserved_and_unsupported_bits)
{
    cr_assert_eq(pin(G(0), 1), 0);
    cr_assert_eq(pin(G(1), 2), 0);
    /* L1: PWT, PCD, PAT refused for a domU; G allowed. */
    cr_expect_eq(set_entry(G(0), 0, pte(G(5), P | PTE_PWT)), -XEN_EINVAL);
    cr_expect_eq(set_entry(G(0), 0, pte(G(5), P | PTE_PCD)), -XEN_EINVAL);
    cr_expect_eq(set_entry(G(0), 0, pte(G(5), P | PTE_PSE)), -XEN_EINVAL);
    cr_expect_eq(set_entry(G(0), 0, pte(G(5), P | PTE_GLOBAL | US)), 0);
    cr_expect_eq(set_entry(G(0), 0, pte(G(5), P | PTE_NX | PTE_AVAIL)), 0);
    /* L2: PSE (superpage) and G refused. */
    cr_expect_eq(set_entry(G(1), 0, pte(G(6), UP | PTE_PSE)), -XEN_EINVAL);
    cr_expect_eq(set_entry(G(1), 0, pte(G(6), UP | PTE_GLOBAL)), -XEN_EINVAL);
    cr_expect_eq(set_entry(G(1), 0, pte(G(6), UP | PTE_PCD)), -XEN_EINVAL);
    /* L3 PSE (1 GiB page) refused at validation too. */
    tab(G(2))[1] = pte(G(7), UP | PTE_PSE);
    cr_expect_eq(pin(G(2), 3), -XEN_EINVAL);
    cr_expect_eq(F(G(7))->type_count, 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_assert_eq(unpin(G(1)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, l1_entry_adjustment)
{
    cr_assert_eq(pin(G(0), 1), 0);
    /* A kernel page (no U): made user-accessible, marked guest-kernel,
     * never global. A user page: made global. */
    cr_assert_eq(set_entry(G(0), 0, pte(G(5), P)), 0);
    cr_expect_eq(tab(G(0))[0] & (PTE_USER | PTE_GUEST_KERNEL | PTE_GLOBAL),
                 PTE_USER | PTE_GUEST_KERNEL);
    cr_assert_eq(set_entry(G(0), 1, pte(G(5), P | US)), 0);
    cr_expect_eq(tab(G(0))[1] & (PTE_USER | PTE_GUEST_KERNEL | PTE_GLOBAL),
                 PTE_USER | PTE_GLOBAL);
    cr_assert_eq(unpin(G(0)), 0);
}

Test(mm_types, shim_l4_slots)
{
    /* Guest values in 256-271 are ignored and replaced by the shim's. */
    tab(G(0))[256] = pte(SHIM_FRAME, UP);
    tab(G(0))[271] = pte(G(9), UP);
    tab(G(0))[255] = pte(G(1), UP);
    tab(G(0))[272] = pte(G(2), UP);
    cr_assert_eq(pin(G(0), 4), 0);
    for (unsigned int i = 256; i <= 271; i++)
        cr_expect_eq(tab(G(0))[i], mm_shim_l4[i], "slot %u", i);
    cr_expect_eq(F(G(9))->ref_count, 0);
    cr_expect_eq(F(SHIM_FRAME)->ref_count, 0);
    /* And they stay the shim's. */
    for (unsigned int i = 256; i <= 271; i++) {
        cr_expect_eq(set_entry(G(0), i, pte(G(3), UP)), -XEN_EINVAL, "slot %u", i);
        cr_expect_eq(set_entry(G(0), i, 0), -XEN_EINVAL, "slot %u", i);
        cr_expect_eq(tab(G(0))[i], mm_shim_l4[i]);
    }
    cr_expect_eq(set_entry(G(0), 255, 0), 0);
    cr_expect_eq(set_entry(G(0), 272, pte(G(3), UP)), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, linear_self_map_read_only)
{
    tab(G(0))[100] = pte(G(0), P | US);
    cr_assert_eq(pin(G(0), 4), 0);
    cr_expect_eq(F(G(0))->type_count, 1);       /* a self map takes no ref */
    /* Writable self map refused, read-only one accepted via mmu_update. */
    cr_expect_eq(set_entry(G(0), 101, pte(G(0), P | RW)), -XEN_EINVAL);
    cr_expect_eq(set_entry(G(0), 101, pte(G(0), P)), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, linear_l2_self_map)
{
    tab(G(0))[3] = pte(G(0), P);            /* L2 mapping itself as its L1 */
    cr_expect_eq(pin(G(0), 2), 0);
    cr_assert_eq(unpin(G(0)), 0);
    tab(G(0))[3] = pte(G(0), P | RW);
    cr_expect_eq(pin(G(0), 2), -XEN_EINVAL);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, linear_to_other_table_and_loops)
{
    cr_assert_eq(pin(G(0), 4), 0);
    cr_assert_eq(pin(G(1), 4), 0);
    /* A -> B read-only: B gains a type ref; A now holds linear entries. */
    cr_assert_eq(set_entry(G(0), 5, pte(G(1), P)), 0);
    cr_expect_eq(F(G(1))->type_count, 2);
    cr_expect_eq(F(G(0))->linear, 1);
    cr_expect_eq(F(G(1))->linear, -1);
    /* B -> A would close a loop: refused (B is a linear target). */
    cr_expect_eq(set_entry(G(1), 5, pte(G(0), P)), -XEN_EINVAL);
    /* C -> A: A holds linear entries, so it may not be a target. */
    cr_assert_eq(pin(G(2), 4), 0);
    cr_expect_eq(set_entry(G(2), 5, pte(G(0), P)), -XEN_EINVAL);
    /* Writable linear refused. */
    cr_expect_eq(set_entry(G(2), 6, pte(G(1), P | RW)), -XEN_EINVAL);
    /* Linear targets must be validated tables of the same level. */
    cr_expect_eq(set_entry(G(2), 6, pte(G(20), P)), 0);   /* as an L3: ok */
    cr_expect_eq(F(G(20))->type, PGT_L3);
    cr_expect_eq(set_entry(G(2), 6, 0), 0);
    /* Unpinning B while A still maps it keeps B validated. */
    cr_assert_eq(unpin(G(1)), 0);
    cr_expect(F(G(1))->flags & PV_FRAME_VALIDATED);
    cr_assert_eq(set_entry(G(0), 5, 0), 0);
    cr_expect_eq(F(G(1))->type_count, 0);
    cr_expect_eq(F(G(0))->linear, 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_assert_eq(unpin(G(2)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, recursive_loop_at_validation)
{
    /* A's slot 0 -> B, B's slot 0 -> A: neither validates. */
    tab(G(0))[0] = pte(G(1), P);
    tab(G(1))[0] = pte(G(0), P);
    cr_expect_neq(pin(G(0), 4), 0);
    cr_expect_neq(pin(G(1), 4), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, validation_failure_rolls_back)
{
    /* L2 with a good L1 first and a bad one (maps a shim frame) after. */
    tab(G(1))[0] = pte(G(5), P | RW);
    tab(G(2))[0] = pte(SHIM_FRAME, P);
    tab(G(0))[0] = pte(G(1), UP);
    tab(G(0))[1] = pte(G(2), UP);
    cr_expect_eq(pin(G(0), 2), -XEN_EBUSY);
    cr_expect_eq(pv_mm_total_refs(), 0);
    cr_expect_eq(F(G(0))->type, PGT_NONE);
    cr_expect_not(F(G(1))->flags & PV_FRAME_VALIDATED);
    /* The good L1 can still become writable data afterwards. */
    cr_expect_eq(pv_mm_get_page_and_type(G(1), PGT_WRITABLE), 0);
    pv_mm_put_page_and_type(G(1));
}

Test(mm_types, type_only_changes_at_count_zero)
{
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    cr_expect_eq(pin(G(0), 1), -XEN_EINVAL);
    cr_expect_eq(pin(G(0), 2), -XEN_EINVAL);
    pv_mm_put_page_and_type(G(0));
    cr_expect_eq(pin(G(0), 1), 0);
    cr_expect_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), -XEN_EINVAL);
    cr_expect_eq(pin(G(0), 2), -XEN_EINVAL);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(mm_types, type_change_flush_keyed_on_old_type)
{
    /* Never typed -> writable: no flush. */
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    pv_mm_put_page_and_type(G(0));
    cr_expect_eq(nr_flush_calls(), 0);

    /* Writable -> L1: a flush (no writable TLB entry may survive), which
     * may be assisted. */
    cr_assert_eq(pin(G(0), 1), 0);
    cr_expect_eq(nr_flush_calls(), 1);
    cr_expect_eq(fake_nr_ipi_calls, 1);
    cr_expect_not(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_expect(fake_ipi_last_req.flags & FLUSH_TLB_GLOBAL);
    cr_assert_eq(unpin(G(0)), 0);
    cr_expect_eq(nr_flush_calls(), 1);          /* devalidation: no flush */

    /* L1 -> writable (old type a page table): IPI only. */
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    cr_expect_eq(nr_flush_calls(), 2);
    cr_expect_eq(nr_flush_reason(FLUSH_R_IPI_NO_ASSIST), 1);
    cr_expect(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_expect(fake_ipi_received[1] == 2);
    pv_mm_put_page_and_type(G(0));

    /* Same type again: no flush. */
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    pv_mm_put_page_and_type(G(0));
    cr_expect_eq(nr_flush_calls(), 2);
}

Test(mm_types, refcount_shared_tables)
{
    /* One L1 under two L2s, one L2 under two L3 slots. */
    tab(G(3))[0] = pte(G(9), P | RW);
    tab(G(1))[0] = pte(G(3), UP);
    tab(G(2))[0] = pte(G(3), UP);
    tab(G(4))[0] = pte(G(1), UP);
    tab(G(4))[1] = pte(G(1), UP);
    tab(G(4))[2] = pte(G(2), UP);
    cr_assert_eq(pin(G(4), 3), 0);
    cr_expect_eq(F(G(1))->type_count, 2);
    cr_expect_eq(F(G(3))->type_count, 2);
    cr_expect_eq(F(G(9))->type_count, 1);
    cr_assert_eq(set_entry(G(4), 2, 0), 0);     /* drop L2 G(2) */
    cr_expect_eq(F(G(3))->type_count, 1);
    cr_expect_eq(F(G(2))->type_count, 0);
    cr_assert_eq(unpin(G(4)), 0);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

/* Build one address space from 5 fresh frames starting at base. */
static void build_space(unsigned int base)
{
    for (unsigned int i = 0; i < 6; i++)
        memset(tab(G(base + i)), 0, PAGE_SIZE);
    build_chain(G(base), G(base + 1), G(base + 2), G(base + 3), G(base + 4),
                G(base + 5));
    tab(G(base))[511] = pte(G(base + 1), UP);   /* a kernel half too */
    tab(G(base))[300] = pte(G(base), P);        /* linear self map */
}

Test(mm_types, build_switch_teardown_repeatedly_leaks_nothing)
{
    for (unsigned int round = 0; round < 50; round++) {
        unsigned int s[3] = { 0, 10, 20 };

        for (unsigned int k = 0; k < 3; k++) {
            build_space(s[k]);
            cr_assert_eq(pin(G(s[k]), 4), 0, "round %u space %u", round, k);
        }
        /* Switch kernel and user bases between the spaces. */
        for (unsigned int k = 0; k < 3; k++) {
            cr_assert_eq(ext1(MMUEXT_NEW_BASEPTR, G(s[k]).mfn, 0), 0);
            cr_assert_eq(ext1(MMUEXT_NEW_USER_BASEPTR, G(s[(k + 1) % 3]).mfn, 0), 0);
            cr_expect_eq(arch_read_cr3(), G(s[k]).mfn << PAGE_SHIFT);
        }
        /* Unpin all: the two in use stay validated, one is torn down. */
        for (unsigned int k = 0; k < 3; k++)
            cr_assert_eq(unpin(G(s[k])), 0);
        cr_expect(F(G(s[2]))->flags & PV_FRAME_VALIDATED);
        cr_expect(F(G(s[0]))->flags & PV_FRAME_VALIDATED);
        cr_expect_not(F(G(s[1]))->flags & PV_FRAME_VALIDATED);
        /* Unmap through the live tables, remap, then drop the bases. */
        cr_assert_eq(set_entry(G(s[2] + 3), 0, 0), 0);
        cr_assert_eq(set_entry(G(s[2] + 3), 0, pte(G(s[2] + 4), P | RW)), 0);
        cr_assert_eq(ext1(MMUEXT_NEW_USER_BASEPTR, 0, 0), 0);
        pv_mm_vcpu_destroy(&mm_vcpu);
        cr_assert_eq(pv_mm_total_refs(), 0, "round %u leaked", round);
        /* Every frame can go back to being plain data. */
        for (unsigned int i = 0; i < 26; i++) {
            cr_assert_eq(pv_mm_get_page_and_type(G(i), PGT_WRITABLE), 0);
            pv_mm_put_page_and_type(G(i));
        }
    }
    cr_expect_eq(pv_mm_total_refs(), 0);
}

/*
 * The TLB clock on type changes (Xen _put_page_type / _get_page_type
 * tlbflush_timestamp + tlbflush_filter): an L1 hooked into an L2, unhooked
 * (stamped), then unpinned and made writable. If every CPU ran a full flush
 * of its own after the unhook, the retype flush skips them all; if not, it
 * goes to them by IPI. An unpin is no mapping and does not move the stamp.
 */
static void hook_unhook_l1(void)
{
    cr_assert_eq(pin(G(1), 2), 0);
    cr_assert_eq(pin(G(0), 1), 0);
    cr_assert_eq(set_entry(G(1), 0, pte(G(0), UP)), 0);
    cr_assert_eq(set_entry(G(1), 0, 0), 0);             /* unhooked: stamp */
}

static uint64_t nr_tlbclock_skipped(void)
{
    struct flush_stats s;

    flush_stats_get(&s);
    return s.tlbclock_skipped;
}

Test(mm_types, tlbclock_skips_cpus_that_flushed_since_the_unhook)
{
    uint64_t ipis;

    tlbclock_init(true, 1);
    hook_unhook_l1();
    cr_expect_neq(F(G(0))->tlbflush_stamp, 0);
    cr_assert_eq(ext1(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);  /* both CPUs flush */
    cr_assert_eq(unpin(G(0)), 0);                       /* no new stamp */
    ipis = fake_nr_ipi_calls;
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    cr_expect_eq(fake_nr_ipi_calls, ipis, "no retype IPI: both CPUs flushed since");
    cr_expect_eq(nr_tlbclock_skipped(), 2);
    pv_mm_put_page_and_type(G(0));
    cr_assert_eq(unpin(G(1)), 0);
}

Test(mm_types, tlbclock_keeps_cpus_without_a_flush_since_the_unhook)
{
    uint64_t ipis;

    tlbclock_init(true, 1);
    hook_unhook_l1();
    cr_assert_eq(unpin(G(0)), 0);
    ipis = fake_nr_ipi_calls;
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    cr_expect_eq(fake_nr_ipi_calls, ipis + 1);
    cr_expect(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_expect(cpumask_test(&fake_ipi_last_targets, 1));
    cr_expect_eq(nr_tlbclock_skipped(), 0);
    pv_mm_put_page_and_type(G(0));
    cr_assert_eq(unpin(G(1)), 0);
}

Test(mm_types, tlbclock_off_filters_nothing)
{
    uint64_t ipis;

    tlbclock_init(false, 1);
    hook_unhook_l1();
    cr_expect_eq(F(G(0))->tlbflush_stamp, 0, "no stamps with the clock off");
    cr_assert_eq(ext1(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
    cr_assert_eq(unpin(G(0)), 0);
    ipis = fake_nr_ipi_calls;
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    cr_expect_eq(fake_nr_ipi_calls, ipis + 1, "the retype flush goes out");
    cr_expect_eq(nr_tlbclock_skipped(), 0);
    pv_mm_put_page_and_type(G(0));
    cr_assert_eq(unpin(G(1)), 0);
}

/*
 * flush-safety=defer: the same L1 -> writable retype carries
 * FLUSH_PT_REUSE but no FLUSH_NO_ASSIST (here there is no L0 flush, so it
 * goes by IPI as "no backend") and runs the walk-epoch grace period.
 */
Test(mm_types, defer_retype_flush_is_not_forced_onto_ipis)
{
    struct flush_defer_stats d;

    flush_defer_init(FLUSH_SAFETY_DEFER, 0);
    cr_assert_eq(pin(G(0), 1), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_assert_eq(pv_mm_get_page_and_type(G(0), PGT_WRITABLE), 0);
    cr_expect_eq(nr_flush_reason(FLUSH_R_IPI_NO_ASSIST), 0);
    cr_expect_eq(nr_flush_calls(), 1, "L1 -> writable (none -> L1 needs none)");
    cr_expect(fake_ipi_last_req.flags & FLUSH_PT_REUSE);
    cr_expect_not(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    flush_defer_stats_get(&d);
    cr_expect_eq(d.retypes, 1);
    pv_mm_put_page_and_type(G(0));
    flush_defer_init(FLUSH_SAFETY_IPI, 0);
}
