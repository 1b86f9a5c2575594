/*
 * memory_op (hypercall 12) for the 64-bit PV guest: every sub-op Xen 4.17
 * answers a PV domU, with its checks and errnos in its order
 * (xen/common/memory.c do_memory_op, xen/arch/x86/mm.c arch_memory_op,
 * xen/arch/x86/x86_64/mm.c subarch_memory_op), as the pv-shim domain sees
 * them: one domain (DOMID_SELF or its own id; any other id is -ESRCH),
 * held at its maximum (pv_shim_setup_dom sets max_pages = tot_pages), no
 * vNUMA, no PoD, sharing, paging or mem-access (not built without HVM).
 * The answers not served, and why, are listed in docs/fuzzing.md.
 */
#include <string.h>
#include <minishim/page_alloc.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_mm.h>
#include <minishim/spinlock.h>
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
        /* The extents done, from start_extent. Every refusal before the
         * work (struct unreadable, nr_extents past the continuation
         * encoding, start_extent >= nr_extents, another domain, bad
         * address bits, a bad list) returns start_extent. Increase and
         * populate then fail at their first allocation: the domain is at
         * max_pages (pv_shim_setup_dom). Decrease stops at a frame that
         * is not the guest's (guest_remove_page -EINVAL/-ENXIO), and,
         * unlike Xen, also at one that is: minishim does not give guest
         * memory back (docs/fuzzing.md). */
        return (long)start_extent;
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
