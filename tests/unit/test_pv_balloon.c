/* Ballooning (pv/memory_op.c's reservation ops): Xen's stops and
 * results for decrease_reservation / increase_reservation /
 * populate_physmap, the domain's accounting, the flush before a frame is
 * released or reused (by IPI: FLUSH_NO_ASSIST under flush-safety=ipi, even
 * with an L0 that would take it), the release to a Xen L0 and the frames
 * brought back from it, and an L0 that refuses. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/flush_defer.h>
#include <minishim/page_alloc.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_mm.h>
#include <xen/memory.h>
#include "test_flush_env.h"
#include "pv_env.h"

#define HV_ADDR 0xffff800000001000ULL    /* the hypervisor's range: -EFAULT */
#define EXT(op, n) ((unsigned long)(op) | ((unsigned long)(n) << 6))
#define NR_GUEST 32u
#define NR_FR (FAKE_MEM_SIZE >> PAGE_SHIFT)

static struct shared_info shinfo;
static struct pv_frame frames[NR_FR];
static struct pv_mm_vcpu_state mmv;
static struct boot_info bi;
static mfn_t gf[NR_GUEST];              /* the guest's frames */

/* L0's side of XENMEM_decrease_reservation / populate_physmap. */
static unsigned int l0_dec_calls, l0_pop_calls, l0_ipis_at_dec;
static unsigned long l0_last_gfns[64];
static unsigned int l0_last_n;
static long l0_take;                    /* how many L0 does, or -errno */

static long l0_handler(unsigned int nr, unsigned long a1, unsigned long a2,
                       unsigned long a3, unsigned long a4, unsigned long a5)
{
    if (nr == __HYPERVISOR_memory_op &&
        (a1 == XENMEM_decrease_reservation || a1 == XENMEM_populate_physmap)) {
        struct xen_memory_reservation *r = (void *)a2;

        cr_assert_eq(r->domid, DOMID_SELF);
        cr_assert_eq(r->extent_order, 0);
        l0_last_n = r->nr_extents;
        memcpy(l0_last_gfns, r->extent_start.p,
               MIN(r->nr_extents, 64u) * sizeof(unsigned long));
        if (a1 == XENMEM_decrease_reservation) {
            l0_dec_calls++;
            l0_ipis_at_dec = fake_nr_ipi_calls;
        } else {
            l0_pop_calls++;
        }
        return l0_take < 0 ? l0_take : MIN(l0_take, (long)r->nr_extents);
    }
    return env_xen_handler(nr, a1, a2, a3, a4, a5);
}

static struct pv_mm_vcpu_state *cur(void) { return &mmv; }
static const struct pv_mm_guest_ops gops = { copy_from_guest, copy_to_guest };

static void world(enum env_l0 l0)
{
    struct pv_mm_config c = {
        .frame_is_guest = frame_is_guest, .frame_leave = page_alloc_guest_leave,
        .dirty_mask = &cpu_online_mask,
        .max_vcpus = 2, .current_vcpu = cur, .guest = &gops,
    };

    pv_env_reset(&shinfo, 2);
    env_setup(l0, 2, FLUSH_POLICY_AUTO, true);
    if (l0 == ENV_XEN_OK)
        fake_hypercall_handler = l0_handler;
    fake_guest_fault_start = HV_ADDR & ~0xfffULL;
    fake_guest_fault_end = fake_guest_fault_start + 0x100000;
    flush_defer_init(FLUSH_SAFETY_IPI, 0);
    memset(&bi, 0, sizeof(bi));
    bootinfo_add_memmap(&bi, 0, FAKE_MEM_SIZE, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0));
    cr_assert_eq(pv_mm_init(frames, NR_FR, &c), 0);
    for (unsigned int i = 0; i < NR_GUEST; i++) {
        gf[i] = alloc_frame(FRAME_GUEST);
        cr_assert(mfn_valid_value(gf[i]));
    }
    pv_dom.shared_info_mfn = alloc_frame(FRAME_GUEST);
    pv_dom.nr_pages = pv_dom.max_pages = NR_GUEST;
    l0_dec_calls = l0_pop_calls = l0_ipis_at_dec = l0_last_n = 0;
    l0_take = 1L << 30;
}

static void world_none(void) { world(ENV_NONE); }
static void world_xen(void) { world(ENV_XEN_OK); }

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static long resv(unsigned long cmd, xen_pfn_t *list, unsigned int n, unsigned int order)
{
    struct xen_memory_reservation r = {
        .nr_extents = n, .extent_order = order, .domid = DOMID_SELF,
    };

    set_xen_guest_handle(r.extent_start, list);
    return do_memory_op(cmd, gp(&r));
}

static long cur_resv(void)
{
    domid_t self = DOMID_SELF;

    return do_memory_op(XENMEM_current_reservation, gp(&self));
}

TestSuite(pv_balloon_local, .init = world_none);
TestSuite(pv_balloon_xen, .init = world_xen);

Test(pv_balloon_local, down_and_up_through_the_shim_pool)
{
    xen_pfn_t list[4] = { gf[3].mfn, gf[4].mfn, gf[5].mfn, gf[6].mfn };
    unsigned long free0 = page_alloc_nr_free();
    struct pv_balloon_stats b;
    struct flush_stats st;

    cr_assert_eq(resv(XENMEM_decrease_reservation, list, 4, 0), 4);
    cr_expect_eq(cur_resv(), NR_GUEST - 4);
    for (unsigned int i = 0; i < 4; i++)
        cr_expect_eq(frame_owner(mfn(list[i])), FRAME_FREE, "frame %u back in the pool", i);
    cr_expect_eq(page_alloc_nr_free(), free0 + 4);
    /* One flush for the batch, by IPI with the walker's interlock. */
    flush_stats_get(&st);
    cr_expect_eq(st.balloon[FLUSH_R_IPI_NO_ASSIST], 1);
    cr_expect_eq(fake_nr_ipi_calls, 1);
    cr_expect(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    /* A mapping of a given-back frame is refused (not the guest's). */
    cr_expect_eq(pv_mm_get_page_and_type(mfn(list[0]), PGT_WRITABLE), -XEN_EINVAL);

    /* Back up: populate_physmap writes the new mfns over the gpfns. */
    xen_pfn_t gpfns[5] = { 100, 101, 102, 103, 104 };
    cr_assert_eq(resv(XENMEM_populate_physmap, gpfns, 5, 0), 4, "max_pages stops the 5th");
    cr_expect_eq(cur_resv(), NR_GUEST);
    for (unsigned int i = 0; i < 4; i++)
        cr_expect(frame_is_guest(mfn(gpfns[i])), "extent %u: mfn %lx", i, gpfns[i]);
    cr_expect_eq(gpfns[4], 104, "the extent not done is untouched");
    pv_balloon_stats_get(&b);
    cr_expect_eq(b.out, 4);
    cr_expect_eq(b.in, 4);
    cr_expect_eq(b.freed_local, 4);
    cr_expect_eq(b.released_l0, 0);
    /* increase_reservation at max: nothing. */
    cr_expect_eq(resv(XENMEM_increase_reservation, NULL, 1, 0), 0);
}

Test(pv_balloon_local, stops_where_xen_stops)
{
    xen_pfn_t l[3];

    /* A frame the guest does not own (shim, free, shared_info), a frame
     * past RAM: nothing done. */
    l[0] = 0x80;                                /* low memory: reserved */
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 1, 0), 0);
    l[0] = pv_dom.shared_info_mfn.mfn;
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 1, 0), 0);
    l[0] = 1UL << 40;
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 1, 0), 0);
    /* A referenced frame (mapped writable) stops the list there. */
    cr_assert_eq(pv_mm_get_page_and_type(gf[2], PGT_WRITABLE), 0);
    l[0] = gf[1].mfn; l[1] = gf[2].mfn; l[2] = gf[3].mfn;
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 3, 0), 1);
    cr_expect(frame_is_guest(gf[2]));
    cr_expect(frame_is_guest(gf[3]));
    cr_expect_eq(cur_resv(), NR_GUEST - 1);
    /* The same frame twice: the second is no longer the guest's. */
    l[0] = gf[3].mfn; l[1] = gf[3].mfn;
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 2, 0), 1);
    cr_expect_eq(cur_resv(), NR_GUEST - 2);
    /* Refusals before any work return the start extent. */
    l[0] = gf[4].mfn;
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 1, 10), 0, "order > domU max");
    cr_expect_eq(resv(EXT(XENMEM_decrease_reservation, 1), l, 1, 0), 1, "start >= nr");
    cr_expect_eq(resv(XENMEM_decrease_reservation, (void *)HV_ADDR, 1, 0), 0, "bad list");
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, UINT32_MAX >> 5, 0), 0,
                 "past the continuation encoding");
    {
        struct xen_memory_reservation r = { .nr_extents = 1, .domid = 0x7fef };

        set_xen_guest_handle(r.extent_start, l);
        cr_expect_eq(do_memory_op(XENMEM_decrease_reservation, gp(&r)), 0, "another domain");
        r.domid = DOMID_SELF;
        r.mem_flags = XENMEMF_address_bits(12);
        cr_expect_eq(do_memory_op(XENMEM_decrease_reservation, gp(&r)), 0, "address bits <= 12");
    }
    cr_expect(frame_is_guest(gf[4]));
    /* An order-1 extent whose second frame is referenced: its first frame
     * goes (as in Xen), the extent is not counted. */
    l[0] = gf[1].mfn + 0;
    cr_assert_eq(gf[2].mfn, gf[1].mfn + 1);
    l[0] = gf[1].mfn;           /* gf[1] already gone: stops at once */
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 1, 1), 0);
    l[0] = gf[0].mfn;           /* gf[0] goes, gf[1] is not the guest's */
    cr_expect_eq(resv(XENMEM_decrease_reservation, l, 1, 1), 0);
    cr_expect(!frame_is_guest(gf[0]));
    cr_expect_eq(cur_resv(), NR_GUEST - 3);
    /* PoD on oneself: nothing populated. */
    {
        xen_pfn_t g = 5;
        struct xen_memory_reservation r = {
            .nr_extents = 1, .domid = DOMID_SELF, .mem_flags = XENMEMF_populate_on_demand,
        };

        set_xen_guest_handle(r.extent_start, &g);
        cr_expect_eq(do_memory_op(XENMEM_populate_physmap, gp(&r)), 0);
        cr_expect_eq(g, 5);
    }
}

Test(pv_balloon_local, a_former_page_table_starts_afresh)
{
    xen_pfn_t l = gf[8].mfn;
    struct { uint64_t cmd, mfn; } unpin = { MMUEXT_UNPIN_TABLE, gf[8].mfn };
    const struct pv_frame *f = pv_mm_frame(gf[8]);

    cr_assert_eq(pv_mm_pin_table(gf[8], 1), 0);
    cr_assert_eq(f->pt_gen & 1, 1, "a table: odd generation");
    cr_expect_eq(resv(XENMEM_decrease_reservation, &l, 1, 0), 0, "pinned: referenced");
    cr_assert_eq(do_mmuext_op(gp(&unpin), 1, 0, DOMID_SELF), 0);
    cr_assert_eq(f->type, PGT_L1);
    cr_expect_eq(resv(XENMEM_decrease_reservation, &l, 1, 0), 1);
    cr_expect_eq(f->type, PGT_NONE);
    cr_expect_eq(f->pt_gen & 1, 0, "generation even after the release flush");
    cr_expect(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
}

Test(pv_balloon_local, defer_mode_may_assist_then_waits_for_walkers)
{
    xen_pfn_t l = gf[9].mfn;
    struct flush_stats st;

    flush_defer_init(FLUSH_SAFETY_DEFER, 0);
    cr_expect_eq(resv(XENMEM_decrease_reservation, &l, 1, 0), 1);
    flush_stats_get(&st);
    /* No L0 here: the flush is an IPI without NO_ASSIST, and the grace
     * period ran (docs/flush-safety.md). */
    cr_expect_eq(st.balloon[FLUSH_R_IPI_NO_BACKEND], 1);
    cr_expect_not(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_expect(fake_ipi_last_req.flags & FLUSH_PT_REUSE);
}

Test(pv_balloon_xen, released_to_l0_after_the_ipi_flush_and_back)
{
    xen_pfn_t list[3] = { gf[10].mfn, gf[11].mfn, gf[12].mfn };
    struct pv_balloon_stats b;
    struct flush_stats st;

    cr_assert_eq(resv(XENMEM_decrease_reservation, list, 3, 0), 3);
    cr_expect_eq(l0_dec_calls, 1, "one batched L0 call");
    cr_expect_eq(l0_last_n, 3);
    for (unsigned int i = 0; i < 3; i++) {
        cr_expect_eq(l0_last_gfns[i], list[i]);
        cr_expect_eq(frame_owner(mfn(list[i])), FRAME_L0);
    }
    cr_expect_eq(l0_ipis_at_dec, 1, "the IPI flush came before the release");
    flush_stats_get(&st);
    /* Xen's HVMOP_flush_tlbs would take a plain flush: this one may not. */
    cr_expect_eq(st.balloon[FLUSH_R_IPI_NO_ASSIST], 1);
    cr_expect_eq(st.balloon[FLUSH_R_ASSISTED], 0);
    cr_expect_eq(env_xen_flushes, 0);
    cr_expect_eq(page_alloc_nr_l0(), 3);
    cr_expect_eq(cur_resv(), NR_GUEST - 3);

    /* increase_reservation: back from L0, the same gfns. */
    xen_pfn_t out[3] = { 0 };
    cr_assert_eq(resv(XENMEM_increase_reservation, out, 3, 0), 3);
    cr_expect_eq(l0_pop_calls, 3);
    for (unsigned int i = 0; i < 3; i++)
        cr_expect(frame_is_guest(mfn(out[i])), "mfn %lx", out[i]);
    cr_expect_eq(page_alloc_nr_l0(), 0);
    cr_expect_eq(cur_resv(), NR_GUEST);
    pv_balloon_stats_get(&b);
    cr_expect_eq(b.released_l0, 3);
    cr_expect_eq(b.back_from_l0, 3);
    cr_expect_eq(b.l0_errors, 0);
}

Test(pv_balloon_xen, l0_refusing_keeps_the_frames_in_the_shim)
{
    xen_pfn_t list[3] = { gf[13].mfn, gf[14].mfn, gf[15].mfn };
    unsigned long free0 = page_alloc_nr_free();
    struct pv_balloon_stats b;

    l0_take = 1;                        /* L0 stops after the first */
    cr_assert_eq(resv(XENMEM_decrease_reservation, list, 3, 0), 3,
                 "the guest gave them up all the same");
    cr_expect_eq(frame_owner(mfn(list[0])), FRAME_L0);
    cr_expect_eq(frame_owner(mfn(list[1])), FRAME_FREE);
    cr_expect_eq(frame_owner(mfn(list[2])), FRAME_FREE);
    cr_expect_eq(page_alloc_nr_free(), free0 + 2);
    pv_balloon_stats_get(&b);
    cr_expect_eq(b.released_l0, 1);
    cr_expect_eq(b.kept, 2);
    cr_expect_eq(b.l0_errors, 1);

    /* An L0 that fails outright (-EIO): every frame kept. */
    l0_take = -XEN_EIO;
    list[0] = gf[16].mfn;
    cr_assert_eq(resv(XENMEM_decrease_reservation, list, 1, 0), 1);
    cr_expect_eq(frame_owner(gf[16]), FRAME_FREE);
    pv_balloon_stats_get(&b);
    cr_expect_eq(b.l0_errors, 2);
    cr_expect_eq(b.l0_last_error, -XEN_EIO);

    /* Populate while L0 refuses: the frame stays L0's, the shim's pool
     * serves the guest. */
    xen_pfn_t g = 7;
    cr_assert_eq(resv(XENMEM_populate_physmap, &g, 1, 0), 1);
    cr_expect_eq(frame_owner(gf[13]), FRAME_L0, "L0 did not give it back");
    cr_expect(frame_is_guest(mfn(g)));
    cr_expect_eq(cur_resv(), NR_GUEST - 3);
}
