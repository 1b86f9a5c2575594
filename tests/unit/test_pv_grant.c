/* grant_table_op (pv/grant_table.c): Xen 4.17's argument checks, status
 * codes vs. return values, and the frames setup_table hands out. Guest
 * pointers are host pointers (fake arch) with a settable fault window. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>
#include <minishim/page_alloc.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/xen-public.h>
#include <xen/grant_table.h>
#include "fake/fake.h"
#include "fake/fake_l0.h"

#define HV_ADDR   0xFFFF830000001000ULL
#define NONCANON  0x0000800000000000ULL

static unsigned long next_mfn, alloc_limit;

static mfn_t test_alloc(void)
{
    if (next_mfn >= alloc_limit)
        return mfn(INVALID_MFN_VALUE);
    return mfn(next_mfn++);
}

static void reset_with(unsigned int max_frames, unsigned long limit)
{
    struct pv_gnttab_config c = {
        .domid = 5, .max_frames = max_frames, .max_version = 1,
        .alloc_frame = test_alloc,
    };

    next_mfn = 0x1000;
    alloc_limit = 0x1000 + limit;
    cr_assert_eq(pv_gnttab_reset(&c), 0);
}

static void setup(void)
{
    fake_reset();
    fake_guest_fault_start = fake_guest_fault_end = 0;
    reset_with(8, 100);
}

TestSuite(pv_grant, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static long setup_table(domid_t dom, unsigned int nr, xen_pfn_t *list,
                        int16_t *status)
{
    struct gnttab_setup_table op = { .dom = dom, .nr_frames = nr, .status = 99 };
    long rc;

    set_xen_guest_handle(op.frame_list, list);
    rc = do_grant_table_op(GNTTABOP_setup_table, gp(&op), 1);
    *status = op.status;
    cr_expect_eq(op.nr_frames, nr, "setup_table writes back only status");
    return rc;
}

Test(pv_grant, config_checked)
{
    struct pv_gnttab_config c = { .max_frames = 0, .max_version = 1, .alloc_frame = test_alloc };

    cr_expect_eq(pv_gnttab_reset(&c), -XEN_EINVAL);
    c.max_frames = PV_GNTTAB_MAX_FRAMES + 1;
    cr_expect_eq(pv_gnttab_reset(&c), -XEN_EINVAL);
    c.max_frames = 4;
    c.max_version = 2;
    cr_expect_eq(pv_gnttab_reset(&c), -XEN_EINVAL, "v2 is not implemented");
    c.max_version = 1;
    c.alloc_frame = NULL;
    cr_expect_eq(pv_gnttab_reset(&c), -XEN_EINVAL);
}

Test(pv_grant, query_size)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF, .status = 99 };

    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0);
    cr_expect_eq(q.status, GNTST_okay);
    cr_expect_eq(q.nr_frames, PV_GNTTAB_INITIAL_FRAMES, "a domain starts with one frame");
    cr_expect_eq(q.max_nr_frames, 8);
    cr_expect_eq(pv_gnttab_nr_frames(), 1);

    q = (struct gnttab_query_size){ .dom = 5, .status = 99 };
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0, "own domid");
    cr_expect_eq(q.status, GNTST_okay);

    q = (struct gnttab_query_size){ .dom = 0, .nr_frames = 77, .status = 99 };
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0);
    cr_expect_eq(q.status, GNTST_bad_domain, "no other domain in the shim");
    cr_expect_eq(q.nr_frames, 77, "untouched on error");

    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 0), -XEN_EINVAL);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 2), -XEN_EINVAL);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 0x80000000u), -XEN_EINVAL);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, HV_ADDR, 1), -XEN_EFAULT);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, NONCANON, 1), -XEN_EFAULT);
    /* Readable but not writable back: -EFAULT. */
    q.dom = DOMID_SELF;
    fake_guest_fault_start = gp(&q.status);
    fake_guest_fault_end = gp(&q.status) + 1;
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), -XEN_EFAULT);
}

Test(pv_grant, setup_table_grows_and_returns_mfns)
{
    xen_pfn_t list[8];
    int16_t st;

    memset(list, 0xff, sizeof(list));
    cr_expect_eq(setup_table(DOMID_SELF, 3, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(pv_gnttab_nr_frames(), 3);
    for (unsigned int i = 0; i < 3; i++) {
        cr_expect_eq(list[i], 0x1000 + i);
        cr_expect_eq(pv_gnttab_frame(i).mfn, 0x1000 + i);
    }
    cr_expect_eq(list[3], (xen_pfn_t)~0UL, "nothing past nr_frames");
    cr_expect_eq(pv_gnttab_frame(3).mfn, INVALID_MFN_VALUE);

    /* Asking for fewer keeps the table and returns the same frames. */
    memset(list, 0, sizeof(list));
    cr_expect_eq(setup_table(5, 1, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(list[0], 0x1000);
    cr_expect_eq(pv_gnttab_nr_frames(), 3);
    cr_expect_eq(next_mfn, 0x1003, "no new frames allocated");

    /* Zero frames: okay, nothing written. */
    cr_expect_eq(setup_table(DOMID_SELF, 0, NULL, &st), 0);
    cr_expect_eq(st, GNTST_okay);

    /* Up to the maximum, and not one frame more. */
    cr_expect_eq(setup_table(DOMID_SELF, 8, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(list[7], 0x1007);
    cr_expect_eq(setup_table(DOMID_SELF, 9, list, &st), 0);
    cr_expect_eq(st, GNTST_general_error, "over max_nr_frames is a status, not an errno");
    cr_expect_eq(pv_gnttab_nr_frames(), 8);
}

Test(pv_grant, setup_table_errors)
{
    xen_pfn_t list[4] = { 0 };
    struct gnttab_setup_table op = { .dom = DOMID_SELF, .nr_frames = 1 };
    int16_t st;

    set_xen_guest_handle(op.frame_list, list);
    cr_expect_eq(do_grant_table_op(GNTTABOP_setup_table, gp(&op), 0), -XEN_EINVAL);
    cr_expect_eq(do_grant_table_op(GNTTABOP_setup_table, gp(&op), 2), -XEN_EINVAL);
    cr_expect_eq(do_grant_table_op(GNTTABOP_setup_table, HV_ADDR, 1), -XEN_EFAULT);
    cr_expect_eq(pv_gnttab_nr_frames(), 0, "nothing happened yet");

    /* Bad frame_list handle: -EFAULT before anything is done. */
    op.frame_list.p = (xen_pfn_t *)(uintptr_t)NONCANON;
    op.status = 99;
    cr_expect_eq(do_grant_table_op(GNTTABOP_setup_table, gp(&op), 1), -XEN_EFAULT);
    cr_expect_eq(op.status, 99);
    cr_expect_eq(pv_gnttab_nr_frames(), 0);
    op.frame_list.p = (xen_pfn_t *)(uintptr_t)(0x00007ffffffffff8ULL);
    op.nr_frames = 2;
    cr_expect_eq(do_grant_table_op(GNTTABOP_setup_table, gp(&op), 1), -XEN_EFAULT,
                 "array runs into the non-canonical hole");

    /* Other domains: a status. */
    cr_expect_eq(setup_table(0, 1, list, &st), 0);
    cr_expect_eq(st, GNTST_bad_domain);
    cr_expect_eq(setup_table(DOMID_IO, 1, list, &st), 0);
    cr_expect_eq(st, GNTST_bad_domain);

    /* A frame_list that faults while being written: GNTST_bad_virt_addr. */
    fake_guest_fault_start = gp(&list[1]);
    fake_guest_fault_end = gp(&list[2]);
    cr_expect_eq(setup_table(DOMID_SELF, 3, list, &st), 0);
    cr_expect_eq(st, GNTST_bad_virt_addr);
    cr_expect_eq(list[0], 0x1000);

    /* The status itself cannot be written back: -EFAULT. */
    fake_guest_fault_start = gp(&op.status);
    fake_guest_fault_end = gp(&op.status) + 1;
    set_xen_guest_handle(op.frame_list, list);
    op.nr_frames = 1;
    cr_expect_eq(do_grant_table_op(GNTTABOP_setup_table, gp(&op), 1), -XEN_EFAULT);
}

Test(pv_grant, setup_table_out_of_memory)
{
    xen_pfn_t list[8];
    int16_t st;

    reset_with(8, 2);
    cr_expect_eq(setup_table(DOMID_SELF, 4, list, &st), 0);
    cr_expect_eq(st, GNTST_general_error);
    cr_expect_eq(setup_table(DOMID_SELF, 2, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(list[1], 0x1001);
}

Test(pv_grant, set_version)
{
    struct gnttab_set_version v = { .version = 1 };

    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 1), 0);
    cr_expect_eq(v.version, 1);
    v.version = 2;
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 1), -XEN_ENOSYS,
                 "max_version 1: as before set_version existed");
    cr_expect_eq(v.version, 1, "the version in force is reported");
    v.version = 0;
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 1), -XEN_EINVAL);
    cr_expect_eq(v.version, 1);
    v.version = 3;
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 0), -XEN_EINVAL);
    cr_expect_eq(v.version, 1);
    v.version = 1;
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 0), 0,
                 "Xen ignores count for set_version");
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, HV_ADDR, 1), -XEN_EFAULT);
}

Test(pv_grant, dispatch)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    unsigned long args[6] = { GNTTABOP_query_size, gp(&q), 1, 0, 0, 0 };
    struct cpu_regs r = { 0 };

    cr_expect_eq(pv_do_hypercall(&r, __HYPERVISOR_grant_table_op, args), 0);
    cr_expect_eq(q.max_nr_frames, 8);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size | (1u << 12), gp(&q), 1), -XEN_EINVAL,
                 "continuation bits only for cache_flush");
    cr_expect_eq(do_grant_table_op(GNTTABOP_map_grant_ref, gp(&q), 1), -XEN_ENOSYS);
    cr_expect_eq(do_grant_table_op(GNTTABOP_copy, gp(&q), 1), -XEN_ENOSYS);
    cr_expect_eq(do_grant_table_op(GNTTABOP_get_version, gp(&q), 1), -XEN_ENOSYS);
    cr_expect_eq(do_grant_table_op(99, gp(&q), 1), -XEN_ENOSYS);
    cr_expect_eq(do_grant_table_op(GNTTABOP_cache_flush | (1u << 12), gp(&q), 1), -XEN_ENOSYS);
}

/* The default configuration: Xen's limits, frames the guest owns (so the
 * PV MMU lets it map them), zeroed. */
Test(pv_grant, default_frames_are_guest_owned)
{
    static struct boot_info bi;
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    xen_pfn_t list[2];
    int16_t st;
    uint8_t *p;

    memset(&bi, 0, sizeof(bi));
    bootinfo_add_memmap(&bi, 0, 4 << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0));
    memset(fake_mem + 0x100000, 0x77, 0x3000);  /* frames 0x100.. dirty */
    cr_assert_eq(pv_gnttab_reset(NULL), 0);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0);
    cr_expect_eq(q.max_nr_frames, PV_GNTTAB_MAX_FRAMES);
    cr_expect_eq(q.nr_frames, 1);
    cr_expect_eq(setup_table(DOMID_SELF, 2, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    for (unsigned int i = 0; i < 2; i++) {
        cr_expect(frame_is_guest(mfn(list[i])), "frame %lx", (unsigned long)list[i]);
        p = arch_phys_to_virt(mfn_to_paddr(mfn(list[i])));
        cr_expect_eq(p[0] | p[4095], 0, "grant frames come zeroed");
    }
    cr_expect_neq(list[0], list[1]);
}

/* ------------------------------------------------ L0's grant table --- */

/* The test plays a Xen L0 that has a grant table for the shim's domain. */
static unsigned int l0_max_frames = 32, l0_nr_frames = 1, nr_l0_maps, nr_l0_queries;
static uint64_t l0_map_gpfn[PV_GNTTAB_MAX_FRAMES];
static long l0_map_rc, l0_query_rc;

static long gnt_l0(unsigned int nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a4; (void)a5;
    if (nr == __HYPERVISOR_grant_table_op && a1 == GNTTABOP_query_size) {
        struct gnttab_query_size *q = (void *)a2;

        cr_assert_eq(a3, 1);
        nr_l0_queries++;
        if (l0_query_rc)
            return l0_query_rc;
        if (q->dom != DOMID_SELF && q->dom != 7) {
            q->status = GNTST_permission_denied;
            return 0;
        }
        q->nr_frames = l0_nr_frames;
        q->max_nr_frames = l0_max_frames;
        q->status = GNTST_okay;
        return 0;
    }
    if (nr == __HYPERVISOR_memory_op && a1 == XENMEM_add_to_physmap) {
        struct xen_add_to_physmap *x = (void *)a2;

        cr_assert_eq(x->space, XENMAPSPACE_grant_table);
        cr_assert_eq(x->domid, DOMID_SELF);
        cr_assert_lt(x->idx, PV_GNTTAB_MAX_FRAMES, "shared frames only, no status bit");
        if (l0_map_rc)
            return l0_map_rc;
        l0_map_gpfn[x->idx] = x->gpfn;
        nr_l0_maps++;
        if (x->idx + 1 > l0_nr_frames)
            l0_nr_frames = (unsigned int)x->idx + 1;
        return 0;
    }
    return -XEN_ENOSYS;
}

static void l0_table(unsigned int max_frames, unsigned long limit)
{
    struct pv_gnttab_config c = {
        .domid = 7, .max_frames = max_frames, .max_version = 1,
        .alloc_frame = test_alloc, .l0 = true,
    };

    cr_assert_eq(fake_xen_up(gnt_l0), 0);
    next_mfn = 0x2000;
    alloc_limit = 0x2000 + limit;
    cr_assert_eq(pv_gnttab_reset(&c), 0);
}

Test(pv_grant, init_picks_l0s_table_when_l0_has_one)
{
    cr_assert_eq(fake_xen_up(gnt_l0), 0);
    l0_max_frames = 200;
    cr_expect_eq(pv_gnttab_init_l0(7), 0);
    cr_expect(pv_gnttab_is_l0());
    cr_expect_eq(nr_l0_queries, 1);
    cr_expect_eq(nr_l0_maps, 0, "no frame is mapped before the guest asks");
}

Test(pv_grant, init_keeps_the_local_table_without_l0)
{
    struct gnttab_query_size q = { .dom = 7, .status = 99 };

    /* No Xen L0 (QEMU-direct): every hypercall is -ENOSYS. */
    cr_expect_eq(pv_gnttab_init_l0(7), -XEN_ENOSYS);
    cr_expect_not(pv_gnttab_is_l0());
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0);
    cr_expect_eq(q.status, GNTST_okay, "the domid given names the domain itself");
    cr_expect_eq(q.max_nr_frames, PV_GNTTAB_MAX_FRAMES);
    cr_expect_eq(do_grant_table_op(GNTTABOP_map_grant_ref, gp(&q), 1), -XEN_ENOSYS);
    /* L0 refusing the query is the same. */
    cr_assert_eq(fake_xen_up(gnt_l0), 0);
    l0_query_rc = -XEN_EPERM;
    cr_expect_eq(pv_gnttab_init_l0(7), -XEN_EPERM);
    cr_expect_not(pv_gnttab_is_l0());
}

Test(pv_grant, l0_setup_table_maps_l0s_frames_onto_guest_frames)
{
    xen_pfn_t list[4] = { 0 };
    int16_t st;

    l0_table(8, 100);
    cr_expect_eq(setup_table(DOMID_SELF, 3, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(nr_l0_maps, 3);
    for (unsigned int i = 0; i < 3; i++) {
        cr_expect_eq(l0_map_gpfn[i], 0x2000 + i, "L0 frame %u onto the allocated frame", i);
        cr_expect_eq(list[i], 0x2000 + i, "the guest gets the frame L0 maps there");
    }
    /* Again, larger: the mapped frames stay, only the new one is mapped. */
    cr_expect_eq(setup_table(7, 4, list, &st), 0, "the guest's L0 id names itself");
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(nr_l0_maps, 4);
    cr_expect_eq(list[3], 0x2003);
    cr_expect_eq(list[0], 0x2000);
    /* Past the limit and .dom: Xen's shim (pv_shim_grant_table_op). */
    cr_expect_eq(setup_table(DOMID_SELF, 9, list, &st), -XEN_EINVAL);
    cr_expect_eq(st, 99, "-EINVAL before anything is written back");
    cr_expect_eq(setup_table(5, 1, list, &st), 0);
    cr_expect_eq(st, GNTST_okay, ".dom is not looked at");
    cr_expect_eq(nr_l0_maps, 4);
    /* A frame list the copy faults on. */
    fake_guest_fault_start = gp(&list[1]);
    fake_guest_fault_end = fake_guest_fault_start + sizeof(list[1]);
    cr_expect_eq(setup_table(DOMID_SELF, 2, list, &st), -XEN_EFAULT);
    cr_expect_eq(st, GNTST_bad_virt_addr);
}

Test(pv_grant, l0_refusing_a_frame_is_l0s_errno_and_costs_one_frame)
{
    xen_pfn_t list[2] = { 0 };
    int16_t st;

    l0_table(8, 100);
    l0_map_rc = -XEN_EBUSY;
    for (unsigned int i = 0; i < 10; i++) {
        cr_expect_eq(setup_table(DOMID_SELF, 2, list, &st), -XEN_EBUSY);
        cr_expect_eq(st, GNTST_okay, "Xen's shim leaves the status alone");
    }
    cr_expect_eq(next_mfn, 0x2001, "the refused frame is kept for the next try");
    l0_map_rc = 0;
    cr_expect_eq(setup_table(DOMID_SELF, 2, list, &st), 0);
    cr_expect_eq(st, GNTST_okay);
    cr_expect_eq(list[0], 0x2000);
    cr_expect_eq(list[1], 0x2001);
    cr_expect_eq(next_mfn, 0x2002);
}

Test(pv_grant, l0_query_size_is_l0s_answer)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF, .status = 99 };

    l0_table(8, 100);
    l0_nr_frames = 5;
    l0_max_frames = 64;
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0);
    cr_expect_eq(nr_l0_queries, 1);
    cr_expect_eq(q.status, GNTST_okay);
    cr_expect_eq(q.nr_frames, 5);
    cr_expect_eq(q.max_nr_frames, 64);
    q.dom = 3;
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), 0);
    cr_expect_eq(q.status, GNTST_permission_denied, "L0 judges other domains");
    l0_query_rc = -XEN_EFAULT;
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 1), -XEN_EFAULT,
                 "L0's rc");
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, gp(&q), 2), -XEN_EINVAL);
    cr_expect_eq(nr_l0_queries, 3, "count != 1 never reaches L0");
}

Test(pv_grant, l0_other_ops_are_xen_shims_eopnotsupp)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    struct gnttab_set_version v = { .version = 1 };

    l0_table(8, 100);
    cr_expect_eq(do_grant_table_op(GNTTABOP_map_grant_ref, gp(&q), 1), -XEN_EOPNOTSUPP);
    cr_expect_eq(do_grant_table_op(GNTTABOP_copy, gp(&q), 1), -XEN_EOPNOTSUPP);
    cr_expect_eq(do_grant_table_op(GNTTABOP_transfer, gp(&q), 1), -XEN_EOPNOTSUPP);
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 1), -XEN_EOPNOTSUPP);
    cr_expect_eq(do_grant_table_op(GNTTABOP_set_version, gp(&v), 0), -XEN_EINVAL,
                 "count != 1 first, for every sub-op");
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size | (1u << 12), gp(&q), 1),
                 -XEN_EOPNOTSUPP);
    cr_expect_eq(do_grant_table_op(GNTTABOP_query_size, HV_ADDR, 1), -XEN_EFAULT);
    cr_expect_eq(nr_l0_queries, 0, "a bad handle never reaches L0");
}
