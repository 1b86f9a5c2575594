/*
 * grant_table_op for the PV domain: query_size, set_version and
 * setup_table as Xen 4.17's xen/common/grant_table.c serves them to a
 * 64-bit PV domU (do_grant_table_op, gnttab_query_size,
 * gnttab_set_version, gnttab_setup_table); -ENOSYS for the rest.
 *
 * The table is v1 only: the domain's max_version is 1, which Xen allows
 * (gnttab=max-ver:1, xl max_grant_version=1), so no status frames exist.
 */
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

/* Xen's gnttab_grow_table (under gt_lock): never below the initial size.
 * Frames allocated before a failure stay in the table (Xen keeps the
 * frames it could grow by as well). false when req could not be met. */
static bool grow_table(unsigned int req)
{
    if (req < PV_GNTTAB_INITIAL_FRAMES)
        req = PV_GNTTAB_INITIAL_FRAMES;
    if (req > cfg.max_frames)
        return false;
    while (nr_frames < req) {
        mfn_t m = cfg.alloc_frame();

        if (!mfn_valid_value(m))
            return false;
        frames[nr_frames] = m;
        __atomic_store_n(&nr_frames, nr_frames + 1, __ATOMIC_RELEASE);
    }
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

long do_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count)
{
    unsigned int opaque = cmd & ~GNTTAB_CMD_MASK;

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
