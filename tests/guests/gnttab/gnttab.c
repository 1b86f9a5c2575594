/*
 * gnttab - grant_table_op as a 64-bit PV domU sets up its grant table:
 * query_size, set_version, setup_table, then the returned frame mapped
 * writable with update_va_mapping and a v1 grant entry written through
 * it; plus the bad arguments (count, handles, domains, sub-ops).
 *
 * Two documented behaviours. minishim with its local table (no Xen L0)
 * serves grant_table_op as Xen's xen/common/grant_table.c does; on a Xen
 * L0 its table is L0's and it answers as Xen's own pv-shim, which is built
 * without CONFIG_GRANT_TABLE and answers everything through
 * pv_shim_grant_table_op (xen/arch/x86/pv/shim.c, 4.17): count != 1 is
 * -EINVAL for every sub-op, setup_table ignores .dom and answers
 * nr_frames > max with -EINVAL, query_size is forwarded to L0, and every
 * other sub-op (set_version included) is -EOPNOTSUPP. The test finds out
 * which it runs under from set_version(1) -- 0 from Xen's grant code,
 * -EOPNOTSUPP from the pv-shim -- and then expects exactly one of them.
 */
#include <xen/errno.h>
#include "guest.h"
#include <xen/grant_table.h>

#define ADDR 0x000ffffffffff000UL

#define NONCANON 0x0000800000000000UL
#define NO_SUCH_DOM ((domid_t)0x7000)

static uint8_t scratch[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

#define expect(call, want) do {                                             \
        long r_ = (call);                                                   \
        check(r_ == (want), "%s: got %ld, want %ld", #call, r_, (long)(want)); \
    } while (0)

static long gnttab(unsigned int cmd, void *uop, unsigned int count)
{
    return hypercall_grant_table_op(cmd, uop, count);
}

static long setup(domid_t dom, unsigned int nr, xen_pfn_t *list, int16_t *status)
{
    struct gnttab_setup_table op = { .dom = dom, .nr_frames = nr, .status = 99 };
    long rc;

    set_xen_guest_handle(op.frame_list, list);
    rc = gnttab(GNTTABOP_setup_table, &op, 1);
    *status = op.status;
    return rc;
}

static long uvm(unsigned long va, uint64_t val, unsigned long flags)
{
    return hypercall3(__HYPERVISOR_update_va_mapping, va, val, flags);
}

void test_main(void)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF, .status = 99 };
    struct gnttab_set_version v = { .version = 1 };
    xen_pfn_t list[4] = { 0 }, again[1] = { 0 };
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;
    unsigned long sva = (unsigned long)scratch, smfn, gframe;
    volatile grant_entry_v1_t *ge;
    unsigned int max;
    int16_t st;
    long rc;
    bool fwd;

    /* query_size: the table a domain is created with. */
    expect(gnttab(GNTTABOP_query_size, &q, 1), 0);
    check(q.status == GNTST_okay, "query_size status %d", q.status);
    check(q.max_nr_frames >= 1 && q.nr_frames <= q.max_nr_frames,
          "query_size: nr_frames %u max %u", q.nr_frames, q.max_nr_frames);
    max = q.max_nr_frames;
    printk("gnttab: nr_frames %u max_nr_frames %u\n", q.nr_frames, max);

    /* set_version(1): see the header comment. */
    rc = gnttab(GNTTABOP_set_version, &v, 1);
    fwd = rc == -XEN_EOPNOTSUPP;
    printk("gnttab: set_version(1) = %ld (%s)\n", rc,
           fwd ? "pv-shim forwarding grant ops" : "Xen grant_table.c");
    if (!fwd) {
        check(rc == 0 && v.version == 1, "set_version(1): rc %ld version %u", rc, v.version);
        /* A fresh domain has INITIAL_NR_GRANT_FRAMES (1) frames. */
        check(q.nr_frames == 1, "initial nr_frames %u", q.nr_frames);
        v.version = 2;      /* our max_version is 1: as before set_version */
        expect(gnttab(GNTTABOP_set_version, &v, 1), -XEN_ENOSYS);
        check(v.version == 1, "version in force after v2: %u", v.version);
        v.version = 3;
        expect(gnttab(GNTTABOP_set_version, &v, 1), -XEN_EINVAL);
        check(v.version == 1, "version in force after v3: %u", v.version);
    } else {
        v.version = 2;
        expect(gnttab(GNTTABOP_set_version, &v, 1), -XEN_EOPNOTSUPP);
    }

    /* setup_table: one frame, its MFN in frame_list. */
    list[1] = 0x5a5a;
    expect(setup(DOMID_SELF, 1, list, &st), 0);
    check(st == GNTST_okay, "setup_table status %d", st);
    check(list[0] != 0, "setup_table frame 0");
    check(list[1] == 0x5a5a, "setup_table wrote past nr_frames: %lx", (unsigned long)list[1]);
    gframe = list[0];
    expect(setup(DOMID_SELF, 1, again, &st), 0);
    check(st == GNTST_okay && again[0] == gframe, "second setup_table: %d %lx",
          st, (unsigned long)again[0]);
    q = (struct gnttab_query_size){ .dom = DOMID_SELF };
    expect(gnttab(GNTTABOP_query_size, &q, 1), 0);
    check(q.status == GNTST_okay && q.nr_frames >= 1, "query_size after setup: %d %u",
          q.status, q.nr_frames);
    printk("gnttab: frame 0 is mfn %lx\n", gframe);

    /* Map it over the scratch page, write grant entry 8 (the first one not
     * reserved for the toolstack), read it back, unmap. */
    smfn = p2m[(sva - (unsigned long)_image_start) >> PAGE_SHIFT];
    scratch[0] = 0xa5;
    expect(uvm(sva, ((uint64_t)gframe << PAGE_SHIFT) | _P | _RW | _US | _A | _D,
               UVMF_INVLPG | UVMF_LOCAL), 0);
    ge = (volatile grant_entry_v1_t *)scratch;
    if (!fwd)
        check(ge[8].flags == 0 && ge[8].frame == 0, "fresh grant entry not clear");
    ge[8].domid = 0;
    ge[8].frame = (uint32_t)smfn;
    ge[8].flags = GTF_permit_access | GTF_readonly;
    check(ge[8].flags == (uint16_t)(GTF_permit_access | GTF_readonly) &&
          ge[8].frame == (uint32_t)smfn,
          "grant entry readback: flags %x frame %x", ge[8].flags, ge[8].frame);
    ge[8].flags = 0;                    /* revoke before unmapping */
    expect(uvm(sva, ((uint64_t)smfn << PAGE_SHIFT) | _P | _RW | _US | _A | _D,
               UVMF_INVLPG | UVMF_LOCAL), 0);
    check(scratch[0] == 0xa5, "scratch page back: %x", scratch[0]);

    /* Bad arguments common to both: count, handles. */
    expect(gnttab(GNTTABOP_query_size, &q, 0), -XEN_EINVAL);
    expect(gnttab(GNTTABOP_query_size, &q, 2), -XEN_EINVAL);
    expect(gnttab(GNTTABOP_query_size, &q, ~0u), -XEN_EINVAL);
    expect(gnttab(GNTTABOP_setup_table, list, 2), -XEN_EINVAL);
    expect(gnttab(GNTTABOP_query_size, (void *)NONCANON, 1), -XEN_EFAULT);
    expect(gnttab(GNTTABOP_setup_table, (void *)NONCANON, 1), -XEN_EFAULT);
    expect(setup(DOMID_SELF, 1, (xen_pfn_t *)NONCANON, &st), -XEN_EFAULT);
    expect(setup(DOMID_SELF, 2, (xen_pfn_t *)0x00007ffffffffff8UL, &st), -XEN_EFAULT);

    /* A domain that does not exist: query_size reaches Xen's grant code
     * under both (the pv-shim forwards it to L0). */
    q = (struct gnttab_query_size){ .dom = NO_SUCH_DOM, .status = 99 };
    expect(gnttab(GNTTABOP_query_size, &q, 1), 0);
    check(q.status == GNTST_bad_domain, "query_size(no such dom) status %d", q.status);

    if (!fwd) {
        expect(setup(NO_SUCH_DOM, 1, list, &st), 0);
        check(st == GNTST_bad_domain, "setup_table(no such dom) status %d", st);
        /* Beyond max_nr_frames: a status, not an errno. */
        expect(setup(DOMID_SELF, max + 1, NULL, &st), 0);
        check(st == GNTST_general_error, "setup_table(max+1) status %d", st);
        /* Sub-ops not offered, and continuation bits off cache_flush. */
        expect(gnttab(GNTTABOP_map_grant_ref, &q, 1), -XEN_ENOSYS);
        expect(gnttab(99, &q, 1), -XEN_ENOSYS);
        expect(gnttab(GNTTABOP_query_size | (1u << 12), &q, 1), -XEN_EINVAL);
    } else {
        /* shim.c: .dom is never looked at by setup_table. */
        expect(setup(NO_SUCH_DOM, 1, list, &st), 0);
        check(st == GNTST_okay && list[0] == gframe, "pv-shim setup_table(dom ignored): %d", st);
        /* shim.c: nat.nr_frames > nr_grant_list is -EINVAL. */
        expect(setup(DOMID_SELF, max + 1, NULL, &st), -XEN_EINVAL);
        expect(gnttab(GNTTABOP_map_grant_ref, &q, 1), -XEN_EOPNOTSUPP);
        expect(gnttab(99, &q, 1), -XEN_EOPNOTSUPP);
        expect(gnttab(GNTTABOP_query_size | (1u << 12), &q, 1), -XEN_EOPNOTSUPP);
    }
}
