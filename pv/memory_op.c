/*
 * memory_op (hypercall 12) for the 64-bit PV guest: every sub-op Xen 4.17
 * answers a PV domU, with its checks and errnos in its order
 * (xen/common/memory.c do_memory_op, xen/arch/x86/mm.c arch_memory_op,
 * xen/arch/x86/x86_64/mm.c subarch_memory_op), as the pv-shim domain sees
 * them: one domain (DOMID_SELF or its own id; any other id is -ESRCH),
 * whose maximum is its size at build (pv_shim_setup_dom sets max_pages =
 * tot_pages), no vNUMA, no PoD, sharing, paging or mem-access (not built
 * without HVM). The answers not served, and why, are listed in
 * docs/fuzzing.md.
 *
 * Ballooning (the reservation ops): a frame the guest gives back
 * (decrease_reservation) leaves it at once (no new reference can be
 * taken), then, per batch, every CPU that may still cache a translation
 * of it is flushed with the walker's interlock (FLUSH_PT_REUSE: by IPI,
 * or with flush-safety=defer a walk-epoch grace period; the rule Xen's
 * "x86/tlb: fix assisted flush usage" applied to its page allocator),
 * and only then is it released: on a Xen L0 to L0 itself
 * (XENMEM_decrease_reservation of the shim's own gfns, as Xen's
 * pv_shim_offline_memory), elsewhere, or when L0 refuses, to the shim's
 * free pool. increase_reservation / populate_physmap take frames back
 * (from L0 first: XENMEM_populate_physmap, as pv_shim_online_memory) up
 * to max_pages. docs/pv-devices.md ("Memory").
 */
#include <string.h>
#include <minishim/console.h>
#include <minishim/cpumask.h>
#include <minishim/flush.h>
#include <minishim/l0.h>
#include <minishim/page_alloc.h>
#include <minishim/pv.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_mm.h>
#include <minishim/shim.h>
#include <minishim/spinlock.h>
#include <minishim/tlbclock.h>
#include <minishim/xen-public.h>
#include <xen/memory.h>

/* public/memory.h gives these to the toolstack only. */
#define MEMOP_EXTENT_SHIFT      6
#define MEMOP_CMD_MASK          ((1u << MEMOP_EXTENT_SHIFT) - 1)
#define XENMEM_get_sharing_freed_pages  18
#define XENMEM_get_sharing_shared_pages 19
#define XENMEM_claim_pages      24
#define XENMEM_reserved_device_memory_map 27
#define XENMEM_RDM_ALL          1u
#define E820MAX                 1024    /* Xen's x86 e820.h */
/* CONFIG_DOMU_MAX_ORDER: the largest extent order a domU may ask for. */
#define DOMU_MAX_ORDER          9
#define NUMA_NO_NODE            0xffu

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));

/* The map XENMEM_set_memory_map gave (Xen's d->arch.e820). The shim's
 * guest starts without one, as the pv-shim's: memory_map -ENOSYS, and the
 * kernel takes its nr_pages as one RAM region (Linux xen_memory_setup). */
static struct e820_entry guest_e820[E820MAX];
static unsigned int guest_nr_e820;
static spinlock_t e820_lock = SPINLOCK_INIT;     /* Xen's d->arch.e820_lock */

/* Xen's rcu_lock_domain_by_id (no DOMID_SELF). */
static bool dom_by_id_is_self(domid_t dom)
{
    return dom == pv_dom.domid && dom != DOMID_SELF;
}

/* Xen's guest_handle_subrange_okay on an array of 8-byte elements:
 * elements first..last of the array at base. */
static bool subrange_ok(uint64_t base, unsigned long first, unsigned long last)
{
    unsigned long count = last - first + 1;

    if (count >> (64 - 1 - 3))          /* array_access_ok's overflow check */
        return false;
    return guest_access_ok(base + first * 8, count * 8);
}

/* Xen's mfn_valid(): a frame the frame table covers (pv_mm_setup sizes
 * it from the highest RAM frame). */
static bool mfn_is_ram(unsigned long m)
{
    return pv_mm_frame(mfn(m)) != NULL;
}

/* ------------------------------------------------------ ballooning --- */

/* Frames per release flush and per L0 call (Linux's balloon driver gives
 * back up to a page of frame numbers per call). */
#define BALLOON_BATCH 64

static spinlock_t balloon_lock = SPINLOCK_INIT; /* pv_dom.nr_pages, stats */
static struct pv_balloon_stats bstats;

void pv_balloon_stats_get(struct pv_balloon_stats *out)
{
    spin_lock(&balloon_lock);
    *out = bstats;
    spin_unlock(&balloon_lock);
}

void pv_balloon_print(void)
{
    struct pv_balloon_stats b;

    pv_balloon_stats_get(&b);
    if (!b.out && !b.in)
        return;
    pr_info("balloon: current=%lu max=%lu out=%lu in=%lu released-l0=%lu "
            "freed-local=%lu kept=%lu back-from-l0=%lu l0-errors=%lu "
            "l0-last-error=%ld at-l0=%lu\n",
            pv_dom.nr_pages, pv_dom.max_pages, b.out, b.in, b.released_l0,
            b.freed_local, b.kept, b.back_from_l0, b.l0_errors, b.l0_last_error,
            page_alloc_nr_l0());
}

static void l0_error(long rc)
{
    spin_lock(&balloon_lock);
    bstats.l0_errors++;
    bstats.l0_last_error = rc;
    spin_unlock(&balloon_lock);
}

/* Frames the shim itself put in the guest's hands; they are not guest
 * RAM it may give away (Xen: xenheap pages shared with the guest). */
static bool frame_is_special(mfn_t m)
{
    if (m.mfn == pv_dom.shared_info_mfn.mfn ||
        (pv_dom.console_mfn.mfn && m.mfn == pv_dom.console_mfn.mfn) ||
        (pv_dom.store_mfn.mfn && m.mfn == pv_dom.store_mfn.mfn))
        return true;
    for (unsigned int i = 0; i < pv_gnttab_nr_frames(); i++)
        if (pv_gnttab_frame(i).mfn == m.mfn)
            return true;
    return false;
}

/* The latest of the batch's TLB-clock stamps; 0 (unknown: flush every
 * CPU) if any is unknown. Xen's accumulate_tlbflush. */
struct stamp_acc { uint64_t max; bool unknown; };

static void stamp_add(struct stamp_acc *a, uint64_t s)
{
    if (!s)
        a->unknown = true;
    else if (s > a->max)
        a->max = s;
}

/*
 * Frames that left the guest (pv_mm_frame_leave): flush, then release.
 * The flush goes to every CPU that may still hold a translation of one of
 * them (Xen's filtered_flush_tlb_mask: online CPUs minus those the TLB
 * clock shows fully flushed since the last mapping went) and carries
 * FLUSH_PT_REUSE: a frame may have been a page table, and on a Xen L0 a
 * released frame is no longer backed, so no spurious-#PF walk may still
 * read it; an IPI (or the defer grace period) proves none does
 * ("x86/tlb: fix assisted flush usage": page allocator flushes by IPI).
 */
static void balloon_release(unsigned long *list, unsigned int n,
                            const struct stamp_acc *acc)
{
    cpumask_t mask = cpu_online_mask;
    unsigned int before = cpumask_weight(&mask), done = 0;

    if (!n)
        return;
    tlbclock_filter(&mask, acc->unknown ? 0 : acc->max);
    flush_stats_tlbclock_skipped(before - cpumask_weight(&mask));
    flush_mask(&mask, FLUSH_TLB | FLUSH_TLB_GLOBAL | FLUSH_PT_REUSE | FLUSH_TAG_BALLOON,
               va(0), 0);
    for (unsigned int i = 0; i < n; i++)
        pv_mm_frame_left(mfn(list[i]));
    if (l0_kind() == L0_XEN) {
        long rc = xen_reservation_op(XENMEM_decrease_reservation, list, n);

        done = rc < 0 ? 0 : (unsigned int)MIN((unsigned long)rc, (unsigned long)n);
        if (done < n) {
            /* pv_shim_offline_memory: what L0 did not take stays with
             * the shim (free pool), flushed, so reusable. */
            l0_error(rc < 0 ? rc : -XEN_ENOMEM);
            pr_warn("balloon: L0 took %u of %u frames (%ld); the rest stay in the "
                    "shim's pool\n", done, n, rc);
        }
    }
    for (unsigned int i = 0; i < n; i++)
        if (!page_alloc_left_release(mfn(list[i]), i < done))
            panic("balloon: frame %lx left the guest but is not leaving", list[i]);
    spin_lock(&balloon_lock);
    if (l0_kind() == L0_XEN) {
        bstats.released_l0 += done;
        bstats.kept += n - done;
    } else {
        bstats.freed_local += n;
    }
    spin_unlock(&balloon_lock);
}

/*
 * XENMEM_decrease_reservation (Xen's decrease_reservation and
 * guest_remove_page for a PV domain: the gmfn is the mfn). Returns the
 * extents done; stops at the first frame that is not RAM (-EINVAL), not
 * the guest's (-ENXIO), or still referenced (minishim: Xen would free it
 * with its last reference). Frames of the extent it stops in that were
 * already removed stay removed, as in Xen.
 */
static unsigned long decrease_reservation(const struct xen_memory_reservation *r,
                                          unsigned long start)
{
    uint64_t list = (uint64_t)(uintptr_t)r->extent_start.p;
    unsigned long batch[BALLOON_BATCH];
    struct stamp_acc acc = { 0, false };
    unsigned int nb = 0;
    unsigned long i;

    if (!subrange_ok(list, start, r->nr_extents - 1) || r->extent_order > DOMU_MAX_ORDER)
        return start;
    for (i = start; i < r->nr_extents; i++) {
        xen_pfn_t gmfn;

        if (copy_from_guest(&gmfn, list + i * sizeof(gmfn), sizeof(gmfn)))
            break;
        for (unsigned long j = 0; j < (1UL << r->extent_order); j++) {
            mfn_t m = mfn(gmfn + j);
            uint64_t stamp = 0;

            if (gmfn + j < gmfn || (mfn_is_ram(m.mfn) && frame_is_special(m)) ||
                pv_mm_frame_leave(m, &stamp))
                goto out;
            stamp_add(&acc, stamp);
            batch[nb++] = m.mfn;
            spin_lock(&balloon_lock);
            pv_dom.nr_pages--;
            bstats.out++;
            spin_unlock(&balloon_lock);
            if (nb == BALLOON_BATCH) {
                balloon_release(batch, nb, &acc);
                nb = 0;
                acc = (struct stamp_acc){ 0, false };
            }
        }
    }
 out:
    balloon_release(batch, nb, &acc);
    return i;
}

/* One frame back from L0 (pv_shim_online_memory): a frame the shim gave
 * L0 is populated again at the same gfn. Invalid mfn when there is none
 * or L0 refuses. */
static mfn_t frame_from_l0(void)
{
    mfn_t m = page_alloc_take_l0();
    unsigned long gfn = m.mfn;
    long rc;

    if (!mfn_valid_value(m))
        return m;
    rc = xen_reservation_op(XENMEM_populate_physmap, &gfn, 1);
    page_alloc_l0_back(m, rc == 1);
    if (rc != 1) {
        l0_error(rc < 0 ? rc : -XEN_ENOMEM);
        return mfn(INVALID_MFN_VALUE);
    }
    spin_lock(&balloon_lock);
    bstats.back_from_l0++;
    spin_unlock(&balloon_lock);
    return m;
}

/* Xen's alloc_domheap_pages for the domain: nothing past max_pages
 * (assign_pages), then from L0 (order 0) or the shim's free pool. */
static mfn_t balloon_alloc(unsigned int order)
{
    unsigned long n = 1UL << order;
    mfn_t m = mfn(INVALID_MFN_VALUE);

    spin_lock(&balloon_lock);
    if (pv_dom.nr_pages + n > pv_dom.max_pages) {
        spin_unlock(&balloon_lock);
        return m;
    }
    pv_dom.nr_pages += n;
    spin_unlock(&balloon_lock);
    if (!order && l0_kind() == L0_XEN)
        m = frame_from_l0();
    if (!mfn_valid_value(m))
        m = alloc_frames_contig(n, FRAME_GUEST);
    spin_lock(&balloon_lock);
    if (mfn_valid_value(m))
        bstats.in += n;
    else
        pv_dom.nr_pages -= n;
    spin_unlock(&balloon_lock);
    return m;
}

/*
 * XENMEM_increase_reservation / XENMEM_populate_physmap (Xen's
 * increase_reservation, populate_physmap for a PV domain): the extents
 * done. populate_physmap reads each gpfn and sets the M2P; both write the
 * new mfn back (increase only with a list). An allocation that fails
 * (max_pages reached, no memory) stops the loop, as in Xen.
 */
static unsigned long populate_reservation(unsigned int op,
                                          const struct xen_memory_reservation *r,
                                          unsigned long start, bool restricted)
{
    uint64_t list = (uint64_t)(uintptr_t)r->extent_start.p;
    bool populate = op == XENMEM_populate_physmap;
    unsigned long i;

    if (populate ? !subrange_ok(list, start, r->nr_extents - 1)
                 : list && !subrange_ok(list, start, r->nr_extents - 1))
        return start;
    /* populate_physmap allows MAX_ORDER for PoD, but PoD on oneself stops
     * at the first extent: start either way. */
    if (r->extent_order > DOMU_MAX_ORDER ||
        (populate && (r->mem_flags & XENMEMF_populate_on_demand)))
        return start;
    for (i = start; i < r->nr_extents; i++) {
        xen_pfn_t gpfn = 0, mfn_out;
        mfn_t m;

        if (populate && copy_from_guest(&gpfn, list + i * sizeof(gpfn), sizeof(gpfn)))
            break;
        /* An address-width limit or an exact node the shim cannot meet:
         * an allocation that fails. */
        if (restricted)
            break;
        m = balloon_alloc(r->extent_order);
        if (!mfn_valid_value(m))
            break;
        if (populate && pv_m2p)
            for (unsigned long k = 0; k < (1UL << r->extent_order); k++)
                if (m.mfn + k < pv_m2p_entries)
                    pv_m2p[m.mfn + k] = gpfn + k;
        mfn_out = m.mfn;
        if ((populate || list) &&
            copy_to_guest(list + i * sizeof(mfn_out), &mfn_out, sizeof(mfn_out)))
            break;
    }
    return i;
}

/* The reservation ops' common part (do_memory_op): every refusal before
 * the work returns start_extent. */
static long reservation_op(unsigned int op, unsigned long start, uint64_t arg)
{
    struct xen_memory_reservation r;
    unsigned int bits, node, max_order = 0;
    bool restricted = false;

    if (copy_from_guest(&r, arg, sizeof(r)))
        return (long)start;
    /* Is size too large for us to encode a continuation? */
    if (r.nr_extents > (UINT32_MAX >> MEMOP_EXTENT_SHIFT))
        return (long)start;
    if (start >= r.nr_extents)
        return (long)start;
    if (!pv_dom_is_self(r.domid))
        return (long)start;
    /* construct_memop_from_reservation: an address width at or below a
     * page is -EINVAL; one below max_page restricts the allocation. */
    bits = XENMEMF_get_address_bits(r.mem_flags);
    while ((1UL << max_order) < page_alloc_max_mfn())  /* get_order_from_pages */
        max_order++;
    if (bits && bits < max_order + PAGE_SHIFT) {
        if (bits <= PAGE_SHIFT)
            return (long)start;
        restricted = true;
    }
    node = XENMEMF_get_node(r.mem_flags);
    if (!(r.mem_flags & XENMEMF_vnode) && (r.mem_flags & XENMEMF_exact_node_request) &&
        node != 0 && node != NUMA_NO_NODE)
        restricted = true;
    if (op == XENMEM_decrease_reservation)
        return (long)decrease_reservation(&r, start);
    return (long)populate_reservation(op, &r, start, restricted);
}

static long memory_exchange(uint64_t arg)
{
    struct xen_memory_exchange exch;
    unsigned int in_chunk, out_chunk;
    unsigned long i, j, k;
    long rc;

    if (copy_from_guest(&exch, arg, sizeof(exch)))
        return -XEN_EFAULT;
    if ((exch.in.extent_order > exch.out.extent_order ?
         exch.in.extent_order : exch.out.extent_order) > DOMU_MAX_ORDER) {
        rc = -XEN_EPERM;
        goto fail_early;
    }
    if (exch.nr_exchanged > exch.in.nr_extents ||
        exch.in.domid != exch.out.domid ||
        (~0UL >> exch.in.extent_order) < exch.in.nr_extents ||
        (~0UL >> exch.out.extent_order) < exch.out.nr_extents ||
        (exch.in.nr_extents << exch.in.extent_order) !=
        (exch.out.nr_extents << exch.out.extent_order)) {
        rc = -XEN_EINVAL;
        goto fail_early;
    }
    if (exch.nr_exchanged == exch.in.nr_extents)
        return 0;
    if (!subrange_ok((uint64_t)(uintptr_t)exch.in.extent_start.p,
                     exch.nr_exchanged, exch.in.nr_extents - 1)) {
        rc = -XEN_EFAULT;
        goto fail_early;
    }
    if (exch.in.extent_order <= exch.out.extent_order) {
        in_chunk = exch.out.extent_order - exch.in.extent_order;
        out_chunk = 0;
        if (!subrange_ok((uint64_t)(uintptr_t)exch.out.extent_start.p,
                         exch.nr_exchanged >> in_chunk, exch.out.nr_extents - 1)) {
            rc = -XEN_EFAULT;
            goto fail_early;
        }
    } else {
        in_chunk = 0;
        out_chunk = exch.in.extent_order - exch.out.extent_order;
        if (!subrange_ok((uint64_t)(uintptr_t)exch.out.extent_start.p,
                         exch.nr_exchanged << out_chunk, exch.out.nr_extents - 1)) {
            rc = -XEN_EFAULT;
            goto fail_early;
        }
    }
    /* propagate_node(): a domU may not insist on a node. */
    if (XENMEMF_get_node(exch.out.mem_flags) != NUMA_NO_NODE &&
        (exch.out.mem_flags & XENMEMF_exact_node_request)) {
        rc = -XEN_EINVAL;
        goto fail_early;
    }
    if (!pv_dom_is_self(exch.in.domid)) {
        rc = -XEN_ESRCH;
        goto fail_early;
    }

    /* The first chunk's input frames, as steal_page() takes them: a frame
     * that is not RAM -EINVAL, not the guest's or still referenced
     * (mapped, typed) -EINVAL. A free guest frame is where Xen would
     * allocate the output from its heap; minishim has no pool of memory
     * beyond the guest's own, so it answers as Xen's allocation failure
     * (-ENOMEM), nothing exchanged. */
    i = exch.nr_exchanged >> in_chunk;
    for (j = 0; j < (1UL << in_chunk); j++) {
        xen_pfn_t gmfn;

        if (copy_from_guest(&gmfn, (uint64_t)(uintptr_t)exch.in.extent_start.p +
                            ((i << in_chunk) + j) * sizeof(gmfn), sizeof(gmfn))) {
            rc = -XEN_EFAULT;
            goto fail;
        }
        for (k = 0; k < (1UL << exch.in.extent_order); k++) {
            mfn_t m = mfn(gmfn + k);

            if (!mfn_is_ram(gmfn + k) || !pv_mm_frame_is_guest(m) ||
                pv_mm_frame_in_use(m)) {
                rc = -XEN_EINVAL;
                goto fail;
            }
        }
    }
    rc = -XEN_ENOMEM;
 fail:
    exch.nr_exchanged = i << in_chunk;
 fail_early:
    if (copy_to_guest(arg + offsetof(struct xen_memory_exchange, nr_exchanged),
                      &exch.nr_exchanged, sizeof(exch.nr_exchanged)))
        rc = -XEN_EFAULT;
    return rc;
}

static long memory_map(uint64_t arg)
{
    struct xen_memory_map map;

    if (copy_from_guest(&map, arg, sizeof(map)))
        return -XEN_EFAULT;
    spin_lock(&e820_lock);
    /* arch_memory_op: "backwards compatibility", no map is -ENOSYS. */
    if (!guest_nr_e820) {
        spin_unlock(&e820_lock);
        return -XEN_ENOSYS;
    }
    /* min(nr_entries, the map's); 0 copies none. */
    if (map.nr_entries > guest_nr_e820)
        map.nr_entries = guest_nr_e820;
    if (copy_to_guest((uint64_t)(uintptr_t)map.buffer.p, guest_e820,
                      map.nr_entries * sizeof(guest_e820[0])) ||
        copy_to_guest(arg, &map, sizeof(map))) {
        spin_unlock(&e820_lock);
        return -XEN_EFAULT;
    }
    spin_unlock(&e820_lock);
    return 0;
}

static long set_memory_map(uint64_t arg)
{
    struct xen_foreign_memory_map fmap;
    static struct e820_entry tmp[E820MAX];      /* under set_lock */
    static spinlock_t set_lock = SPINLOCK_INIT;

    if (copy_from_guest(&fmap, arg, sizeof(fmap)))
        return -XEN_EFAULT;
    if (fmap.map.nr_entries > E820MAX)
        return -XEN_EINVAL;
    if (!pv_dom_is_self(fmap.domid))
        return -XEN_ESRCH;
    /* xsm_domain_memory_map(XSM_TARGET): the domain may set its own. */
    spin_lock(&set_lock);
    if (copy_from_guest(tmp, (uint64_t)(uintptr_t)fmap.map.buffer.p,
                        fmap.map.nr_entries * sizeof(tmp[0]))) {
        spin_unlock(&set_lock);
        return -XEN_EFAULT;
    }
    spin_lock(&e820_lock);
    memcpy(guest_e820, tmp, fmap.map.nr_entries * sizeof(tmp[0]));
    guest_nr_e820 = fmap.map.nr_entries;
    spin_unlock(&e820_lock);
    spin_unlock(&set_lock);
    return 0;
}

/* x86 arch_memory_op / subarch_memory_op: they switch on the whole cmd,
 * so extent bits on these make an unknown sub-op (-ENOSYS). */
static long arch_memory_op(unsigned long cmd, uint64_t arg)
{
    switch (cmd) {
    case XENMEM_set_memory_map:
        return set_memory_map(arg);
    case XENMEM_memory_map:
        return memory_map(arg);
    case XENMEM_machine_memory_map:
        /* xsm_machine_memory_map(XSM_PRIV) before the argument is read. */
        return -XEN_EPERM;
    case XENMEM_machphys_mfn_list: {
        /* subarch_memory_op: the frame of each 2 MiB of the M2P that
         * covers max_page entries, at most max_extents of them. */
        struct xen_machphys_mfn_list l;
        unsigned long i, off, end = pv_m2p_entries * sizeof(unsigned long);

        if (copy_from_guest(&l, arg, sizeof(l)))
            return -XEN_EFAULT;
        for (i = 0, off = 0; i != l.max_extents && off < end;
             i++, off += 1UL << 21) {
            xen_pfn_t m = pv_m2p_base.mfn + (off >> PAGE_SHIFT);

            if (copy_to_guest((uint64_t)(uintptr_t)l.extent_start.p + i * sizeof(m),
                              &m, sizeof(m)))
                return -XEN_EFAULT;
        }
        l.nr_extents = (unsigned int)i;
        return copy_to_guest(arg, &l, sizeof(l)) ? -XEN_EFAULT : 0;
    }
    case XENMEM_machphys_compat_mfn_list:
        /* subarch_memory_op: "if ( !opt_pv32 ) return -EOPNOTSUPP", the
         * answer of a Xen without 32-bit PV guests, which minishim is
         * (no compat M2P). Debian's xen-shim has pv32 and lists its
         * compat M2P: a documented difference (docs/fuzzing.md). */
        return -XEN_EOPNOTSUPP;
    case XENMEM_get_sharing_freed_pages:
    case XENMEM_get_sharing_shared_pages:
        /* mem_sharing_get_nr_{saved,shared}_mfns(): 0 without
         * CONFIG_MEM_SHARING (pv-shim builds have no HVM). The PoD,
         * paging, sharing and access ops are not built there: -ENOSYS. */
        return 0;
    case XENMEM_machphys_mapping: {
        struct xen_machphys_mapping m = {
            .v_start = MACH2PHYS_VIRT_START,
            .v_end = MACH2PHYS_VIRT_START + pv_m2p_entries * sizeof(unsigned long),
            .max_mfn = pv_m2p_entries ? pv_m2p_entries - 1 : 0,
        };

        return copy_to_guest(arg, &m, sizeof(m)) ? -XEN_EFAULT : 0;
    }
    default:
        return -XEN_ENOSYS;
    }
}

long do_memory_op(unsigned long cmd, uint64_t arg)
{
    unsigned long start_extent = cmd >> MEMOP_EXTENT_SHIFT;
    unsigned int op = cmd & MEMOP_CMD_MASK;
    domid_t dom;

    switch (op) {
    case XENMEM_increase_reservation:
    case XENMEM_populate_physmap:
    case XENMEM_decrease_reservation:
        /* The extents done, from start_extent (ballooning, above). The
         * shim finishes the list in one go: no continuation. */
        return reservation_op(op, start_extent, arg);
    case XENMEM_exchange:
        if (start_extent)
            return -XEN_EINVAL;
        return memory_exchange(arg);
    case XENMEM_maximum_ram_page:
        if (start_extent)
            return -XEN_EINVAL;
        return (long)page_alloc_max_mfn();      /* Xen's max_page */
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn: {
        unsigned long max_pfn;

        if (start_extent)
            return -XEN_EINVAL;
        if (copy_from_guest(&dom, arg, sizeof(dom)))
            return -XEN_EFAULT;
        if (!pv_dom_is_self(dom))
            return -XEN_ESRCH;
        if (op == XENMEM_current_reservation)
            return (long)pv_dom.nr_pages;
        if (op == XENMEM_maximum_reservation)
            return (long)pv_dom.max_pages;
        /* domain_get_maximum_gpfn: a PV guest states nr_pfns in its
         * shared_info (arch.max_pfn), hence the - 1. */
        max_pfn = pv_dom.shared_info ? pv_dom.shared_info->arch.max_pfn : 0;
        return (long)((max_pfn ? max_pfn : 1) - 1);
    }
    case XENMEM_add_to_physmap: {
        struct xen_add_to_physmap xatp;

        if (start_extent != (uint16_t)start_extent)     /* xatp.size */
            return -XEN_EDOM;
        if (copy_from_guest(&xatp, arg, sizeof(xatp)))
            return -XEN_EFAULT;
        if (xatp.space == XENMAPSPACE_gmfn_foreign)
            return -XEN_ENOSYS;
        if (!pv_dom_is_self(xatp.domid))
            return -XEN_ESRCH;
        /* xatp_permission_check: a PV domain's physmap is not
         * translated. */
        return -XEN_EACCES;
    }
    case XENMEM_add_to_physmap_batch: {
        struct xen_add_to_physmap_batch b;

        if (start_extent != (uint16_t)start_extent)     /* b.size */
            return -XEN_EDOM;
        if (copy_from_guest(&b, arg, sizeof(b)) ||
            (b.size && (!subrange_ok((uint64_t)(uintptr_t)b.idxs.p, 0, b.size - 1) ||
                        !subrange_ok((uint64_t)(uintptr_t)b.gpfns.p, 0, b.size - 1) ||
                        !guest_access_ok((uint64_t)(uintptr_t)b.errs.p,
                                         b.size * sizeof(int)))))
            return -XEN_EFAULT;
        if (b.space == XENMAPSPACE_gmfn_range)
            return -XEN_EOPNOTSUPP;
        if (!pv_dom_is_self(b.domid))
            return -XEN_ESRCH;
        return -XEN_EACCES;             /* as add_to_physmap */
    }
    case XENMEM_remove_from_physmap: {
        struct xen_remove_from_physmap x;

        if (start_extent)
            return -XEN_EINVAL;
        if (copy_from_guest(&x, arg, sizeof(x)))
            return -XEN_EFAULT;
        if (!pv_dom_is_self(x.domid))
            return -XEN_ESRCH;
        /* A PV domain's physmap is not translated: -EACCES (the
         * reference shim answers so for any frame, the guest's or not). */
        return -XEN_EACCES;
    }
    case XENMEM_claim_pages: {
        struct xen_memory_reservation r;

        if (start_extent)
            return -XEN_EINVAL;
        if (copy_from_guest(&r, arg, sizeof(r)))
            return -XEN_EFAULT;
        if (r.extent_start.p || r.extent_order || r.mem_flags)
            return -XEN_EINVAL;
        /* rcu_lock_domain_by_id: DOMID_SELF names none (-EINVAL). */
        if (!dom_by_id_is_self(r.domid))
            return -XEN_EINVAL;
        return -XEN_EPERM;              /* xsm_claim_pages: XSM_PRIV */
    }
    case XENMEM_get_vnumainfo: {
        struct xen_vnuma_topology_info t;

        if (start_extent)
            return -XEN_EINVAL;
        if (copy_from_guest(&t, arg, sizeof(t)))
            return -XEN_EFAULT;
        if (t.pad)
            return -XEN_EINVAL;
        if (!pv_dom_is_self(t.domid))
            return -XEN_ESRCH;
        return -XEN_EOPNOTSUPP;         /* no d->vnuma */
    }
    case XENMEM_reserved_device_memory_map: {
        struct { uint32_t flags, nr_entries; uint64_t buffer, dev; } m;

        if (start_extent)
            return -XEN_EINVAL;
        if (copy_from_guest(&m, arg, sizeof(m)) ||
            !guest_access_ok(m.buffer, (uint64_t)m.nr_entries * 16))
            return -XEN_EFAULT;
        if (m.flags & ~XENMEM_RDM_ALL)
            return -XEN_EINVAL;
        /* No IOMMU, no reserved regions: none reported. */
        m.nr_entries = 0;
        return copy_to_guest(arg, &m, sizeof(m)) ? -XEN_EFAULT : 0;
    }
    case XENMEM_acquire_resource: {
        struct xen_mem_acquire_resource x;

        if (copy_from_guest(&x, arg, sizeof(x)))
            return -XEN_EFAULT;
        if (x.pad)
            return -XEN_EINVAL;
        if ((x.frame >> 32) || ((x.frame + x.nr_frames) >> 32))
            return -XEN_EINVAL;
        /* rcu_lock_remote_domain_by_id: our own id -EPERM, none -ESRCH. */
        return dom_by_id_is_self(x.domid) ? -XEN_EPERM : -XEN_ESRCH;
    }
    default:
        return arch_memory_op(cmd, arg);
    }
}
