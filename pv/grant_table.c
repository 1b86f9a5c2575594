/*
 * grant_table_op for the PV domain, in one of two modes chosen at boot.
 *
 * L0's table (a Xen L0 with a grant table for the shim's domain, the bed
 * and production): as Xen 4.17's own shim (pv_shim_grant_table_op in
 * xen/arch/x86/pv/shim.c), the guest's grant table IS the shim domain's
 * table in L0. setup_table maps L0's shared frames into the shim
 * (XENMEM_add_to_physmap, XENMAPSPACE_grant_table) onto frames of the
 * guest's and hands out those frame numbers, which are the shim domain's
 * frame numbers in L0: a grant the guest writes is an L0 grant that a
 * backend in L0's dom0 maps. query_size is L0's answer. The answers are
 * those of Xen's shim throughout (set_version and every other sub-op
 * -EOPNOTSUPP, count != 1 -EINVAL, setup_table's .dom ignored): the
 * shim maps and copies no grants for the guest (a PV domU's frontends
 * only write entries), and the reference shim on the bed answers the
 * same (tests/guests/gnttab checks both).
 *
 * Local table (no Xen L0: QEMU-direct, Hyper-V): query_size, set_version
 * and setup_table as Xen 4.17's xen/common/grant_table.c serves them to a
 * 64-bit PV domU (do_grant_table_op, gnttab_query_size,
 * gnttab_set_version, gnttab_setup_table) on frames of the shim's own;
 * -ENOSYS for the rest (Xen's default case). Nobody else can map them.
 *
 * Both are v1 only: the local domain's max_version is 1, which Xen allows
 * (gnttab=max-ver:1, xl max_grant_version=1), so no status frames exist;
 * L0's table stays v1 as Xen creates it (nobody can switch it).
 * docs/pv-devices.md has the table of answers.
 */
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/page_alloc.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_guest_access.h>
#include <minishim/spinlock.h>
#include <minishim/xen-public.h>
#include <xen/grant_table.h>

#include <stddef.h>
#include <string.h>

/* xen/common/grant_table.c: the top bits of cmd carry a continuation
 * argument, which only GNTTABOP_cache_flush may use. */
#define GNTTAB_CONT_SHIFT 12
#define GNTTAB_CMD_MASK   ((1u << GNTTAB_CONT_SHIFT) - 1)

static mfn_t default_alloc(void)
{
    return alloc_frame(FRAME_GUEST);
}

static const struct pv_gnttab_config default_cfg = {
    .domid = 0,
    .max_frames = PV_GNTTAB_MAX_FRAMES,
    .max_version = 1,
    .alloc_frame = default_alloc,
};

static spinlock_t gt_lock = SPINLOCK_INIT;
static struct pv_gnttab_config cfg = {
    .domid = 0,
    .max_frames = PV_GNTTAB_MAX_FRAMES,
    .max_version = 1,
    .alloc_frame = default_alloc,
};
static mfn_t frames[PV_GNTTAB_MAX_FRAMES];
static unsigned int nr_frames;
/* Frames allocated so far (>= nr_frames): after a resume in a new L0
 * domain, frames[nr_frames..nr_allocated) wait to be mapped again. */
static unsigned int nr_allocated;
/* L0 mode: a frame allocated for a grant frame L0 then refused to map,
 * used for the next one (a guest retrying must not drain the allocator). */
static mfn_t spare = { INVALID_MFN_VALUE };
static unsigned int gt_version = 1;     /* Xen creates tables as v1 */

int pv_gnttab_reset(const struct pv_gnttab_config *c)
{
    if (!c)
        c = &default_cfg;
    if (!c->alloc_frame || !c->max_frames || c->max_frames > PV_GNTTAB_MAX_FRAMES ||
        c->max_version != 1)
        return -XEN_EINVAL;
    spin_lock(&gt_lock);
    cfg = *c;
    nr_frames = 0;
    nr_allocated = 0;
    spare = mfn(INVALID_MFN_VALUE);
    gt_version = 1;
    spin_unlock(&gt_lock);
    return 0;
}

unsigned int pv_gnttab_nr_frames(void)
{
    return __atomic_load_n(&nr_frames, __ATOMIC_ACQUIRE);
}

mfn_t pv_gnttab_frame(unsigned int i)
{
    return i < pv_gnttab_nr_frames() ? frames[i] : mfn(INVALID_MFN_VALUE);
}

/* Add frame nr_frames to the table (under gt_lock): 0, -ENOMEM, or L0's
 * error mapping its grant frame. */
static int add_frame(void)
{
    mfn_t m = spare;

    spare = mfn(INVALID_MFN_VALUE);
    if (nr_frames < nr_allocated) {
        spare = m;
        m = frames[nr_frames];          /* the same frame as before a resume */
    }
    if (!mfn_valid_value(m))
        m = cfg.alloc_frame();
    if (!mfn_valid_value(m))
        return -XEN_ENOMEM;
    /* L0's frame nr_frames replaces the RAM page behind m (the frame stays
     * the guest's; the allocator never gets it back). */
    if (cfg.l0) {
        int rc = xen_map_grant_frame(nr_frames, m.mfn);

        if (rc) {
            if (nr_frames >= nr_allocated)
                spare = m;
            pr_warn("grant table: L0 refused to map its frame %u at %lx (%d)\n",
                    nr_frames, (unsigned long)m.mfn, rc);
            return rc;
        }
        pr_info("grant table: L0's frame %u at mfn %lx\n", nr_frames,
                (unsigned long)m.mfn);
    }
    frames[nr_frames] = m;
    __atomic_store_n(&nr_frames, nr_frames + 1, __ATOMIC_RELEASE);
    if (nr_allocated < nr_frames)
        nr_allocated = nr_frames;
    return 0;
}

/* Xen's gnttab_grow_table (under gt_lock): never below the initial size.
 * Frames allocated before a failure stay in the table (Xen keeps the
 * frames it could grow by as well). false when req could not be met. */
static bool grow_table(unsigned int req)
{
    if (req < PV_GNTTAB_INITIAL_FRAMES)
        req = PV_GNTTAB_INITIAL_FRAMES;
    if (req > cfg.max_frames)
        return false;
    while (nr_frames < req)
        if (add_frame())
            return false;
    return true;
}

/* Xen's rcu_lock_domain_by_any_id: DOMID_SELF or our own id is us; no
 * other domain exists inside the shim. */
static bool dom_is_self(domid_t dom)
{
    return dom == DOMID_SELF || dom == cfg.domid;
}

static long gnttab_query_size(uint64_t uop, unsigned int count)
{
    struct gnttab_query_size op;

    if (count != 1)
        return -XEN_EINVAL;
    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    if (!dom_is_self(op.dom)) {
        op.status = GNTST_bad_domain;
    } else {
        spin_lock(&gt_lock);
        grow_table(0);                  /* the table exists from creation */
        op.nr_frames = nr_frames;
        op.max_nr_frames = cfg.max_frames;
        op.status = GNTST_okay;
        spin_unlock(&gt_lock);
    }
    /* Xen copies the whole struct back (nr_frames stale on errors). */
    if (copy_to_guest(uop, &op, sizeof(op)))
        return -XEN_EFAULT;
    return 0;
}

static long gnttab_setup_table(uint64_t uop, unsigned int count)
{
    struct gnttab_setup_table op;
    uint64_t list;
    xen_pfn_t out[PV_GNTTAB_MAX_FRAMES];
    unsigned int n = 0;

    if (count != 1)
        return -XEN_EINVAL;
    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    list = (uint64_t)(uintptr_t)op.frame_list.p;
    /* Xen's guest_handle_okay(frame_list, nr_frames): the whole array must
     * be guest memory before anything happens (-EFAULT otherwise). */
    if (!guest_access_ok(list, (size_t)op.nr_frames * sizeof(xen_pfn_t)))
        return -XEN_EFAULT;

    if (!dom_is_self(op.dom)) {
        op.status = GNTST_bad_domain;
    } else {
        spin_lock(&gt_lock);
        if (op.nr_frames > cfg.max_frames || !grow_table(op.nr_frames)) {
            /* "d%d is limited to %u grant-table frames" / grow failed */
            op.status = GNTST_general_error;
        } else {
            op.status = GNTST_okay;
            n = op.nr_frames;
            for (unsigned int i = 0; i < n; i++)
                out[i] = frames[i].mfn;         /* PV: the MFN itself */
        }
        spin_unlock(&gt_lock);
        for (unsigned int i = 0; i < n; i++) {
            if (copy_to_guest(list + (uint64_t)i * sizeof(xen_pfn_t), &out[i],
                              sizeof(out[i]))) {
                op.status = GNTST_bad_virt_addr;
                break;
            }
        }
    }
    /* Xen writes back only the status field (__copy_field_to_guest). */
    if (copy_to_guest(uop + offsetof(struct gnttab_setup_table, status),
                      &op.status, sizeof(op.status)))
        return -XEN_EFAULT;
    return 0;
}

static long gnttab_set_version(uint64_t uop)
{
    struct gnttab_set_version op;
    long rc;

    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    spin_lock(&gt_lock);
    if (op.version != 1 && op.version != 2)
        rc = -XEN_EINVAL;
    else if (op.version == 2 && cfg.max_version == 1)
        rc = -XEN_ENOSYS;       /* "Behave as before set_version was introduced." */
    else
        rc = 0;                 /* op.version == gt_version: nothing to do */
    /* Xen always reports the version in force. */
    op.version = gt_version;
    spin_unlock(&gt_lock);
    if (copy_to_guest(uop, &op, sizeof(op)))
        rc = -XEN_EFAULT;
    return rc;
}

/* ------------------------------------------------- L0's grant table --- */

/*
 * GNTTABOP_setup_table on L0's table, as Xen's shim answers it
 * (pv_shim_grant_table_op): .dom is not looked at (the guest has one
 * table), more frames than L0 allows is -EINVAL, a frame L0 will not map
 * ends the call with L0's errno (or -ENOMEM) and the status untouched, a
 * frame list the copy faults on is GNTST_bad_virt_addr and -EFAULT; the
 * whole struct is copied back.
 */
static long l0_setup_table(uint64_t uop)
{
    struct gnttab_setup_table op;
    uint64_t list;
    long rc = 0;

    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    list = (uint64_t)(uintptr_t)op.frame_list.p;
    if (!guest_access_ok(list, (size_t)op.nr_frames * sizeof(xen_pfn_t)))
        return -XEN_EFAULT;
    op.status = GNTST_okay;
    spin_lock(&gt_lock);
    if (op.nr_frames > cfg.max_frames) {
        spin_unlock(&gt_lock);
        return -XEN_EINVAL;
    }
    for (unsigned int i = 0; i < op.nr_frames; i++) {
        xen_pfn_t f;

        if (i >= nr_frames) {
            rc = add_frame();
            if (rc)
                break;
        }
        f = frames[i].mfn;
        /* Under the lock, as Xen's shim: copy_to_guest never sleeps or
         * takes gt_lock (a fault on the guest's mapping is a failed copy). */
        if (copy_to_guest(list + (uint64_t)i * sizeof(f), &f, sizeof(f))) {
            op.status = GNTST_bad_virt_addr;
            rc = -XEN_EFAULT;
            break;
        }
    }
    spin_unlock(&gt_lock);
    if (copy_to_guest(uop, &op, sizeof(op)))
        return -XEN_EFAULT;
    return rc;
}

/*
 * Xen 4.17's pv_shim_grant_table_op: count != 1 is -EINVAL for every
 * sub-op; query_size is L0's own answer (its checks of .dom, its sizes,
 * its rc); everything else (set_version, map, copy, ...) -EOPNOTSUPP.
 * The shim maps and copies no grants for the guest, and L0's table stays
 * v1, as Xen creates it.
 */
static long l0_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count)
{
    struct gnttab_query_size q;
    long rc;

    if (count != 1)
        return -XEN_EINVAL;
    switch (cmd) {
    case GNTTABOP_setup_table:
        return l0_setup_table(uop);
    case GNTTABOP_query_size:
        if (copy_from_guest(&q, uop, sizeof(q)))
            return -XEN_EFAULT;
        rc = xen_gnttab_query_size(&q);
        if (copy_to_guest(uop, &q, sizeof(q)))
            return -XEN_EFAULT;
        return rc;
    default:
        return -XEN_EOPNOTSUPP;
    }
}

long do_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count)
{
    unsigned int opaque = cmd & ~GNTTAB_CMD_MASK;

    if (cfg.l0)
        return l0_grant_table_op(cmd, uop, count);

    /* do_grant_table_op: a negative count and a continuation argument on
     * anything but cache_flush are -EINVAL before the sub-op is looked at. */
    if ((int)count < 0)
        return -XEN_EINVAL;
    cmd &= GNTTAB_CMD_MASK;
    if (cmd != GNTTABOP_cache_flush && opaque)
        return -XEN_EINVAL;

    switch (cmd) {
    case GNTTABOP_setup_table:
        return gnttab_setup_table(uop, count);
    case GNTTABOP_query_size:
        return gnttab_query_size(uop, count);
    case GNTTABOP_set_version:
        return gnttab_set_version(uop);
    default:
        /* map/unmap/copy/transfer/...: not offered (Xen's default case). */
        return -XEN_ENOSYS;
    }
}

bool pv_gnttab_is_l0(void)
{
    return cfg.l0;
}

/*
 * Boot: the table is L0's when L0 answers GNTTABOP_query_size for our
 * domain (a Xen L0); otherwise the local table stays, and the log says
 * why. domid is the shim domain's id in L0 (the guest's own id).
 */
int pv_gnttab_init_l0(uint16_t domid)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    struct pv_gnttab_config c = default_cfg;
    long rc;

    c.domid = domid;
    rc = xen_gnttab_query_size(&q);
    if (rc || q.status != GNTST_okay || !q.max_nr_frames) {
        pv_gnttab_reset(&c);
        pr_info("grant table: local (L0 has none for us: rc %ld status %d); "
                "no backend outside the shim can map the guest's grants\n",
                rc, rc ? 0 : q.status);
        return rc ? (int)rc : -XEN_ENODEV;
    }
    c.l0 = true;
    c.max_frames = q.max_nr_frames < PV_GNTTAB_MAX_FRAMES ? q.max_nr_frames
                                                          : PV_GNTTAB_MAX_FRAMES;
    rc = pv_gnttab_reset(&c);
    if (rc)
        return (int)rc;
    pr_info("grant table: L0's (dom%u, %u of L0's %u frames usable, %u in use)\n",
            domid, c.max_frames, q.max_nr_frames, q.nr_frames);
    return 0;
}

/*
 * After a resume in a new L0 domain (pv/suspend.c): the new domain's
 * grant table is a new one and none of its frames is mapped, so the table
 * is empty again, as Xen's pv_shim_shutdown forgets its grant frames; the
 * guest calls setup_table again (Linux's gnttab_resume) and gets the same
 * frame numbers, L0's new frames mapped onto them. domid is the new one.
 */
void pv_gnttab_forget_l0(uint16_t domid)
{
    spin_lock(&gt_lock);
    if (cfg.l0) {
        cfg.domid = domid;
        __atomic_store_n(&nr_frames, 0, __ATOMIC_RELEASE);
    }
    spin_unlock(&gt_lock);
}
