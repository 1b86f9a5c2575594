/*
 * Grant tables of the PV domain (pv/grant_table.c): the sub-ops of
 * grant_table_op a PV domU uses to set its table up, as Xen 4.17's
 * xen/common/grant_table.c does them:
 *
 *   GNTTABOP_query_size   nr_frames, max_nr_frames, status
 *   GNTTABOP_set_version  1 (the domain's max_version is 1, as Xen with
 *                         gnttab=max-ver:1: version 2 answers -ENOSYS)
 *   GNTTABOP_setup_table  grow the shared table to nr_frames (up to the
 *                         maximum) and return its frames (MFNs for PV)
 *
 * Every other sub-op answers -ENOSYS (Xen's default case). Grant frames
 * are FRAME_GUEST frames outside the P2M, as Xen shares its grant pages
 * with the domain: the guest maps them writable through the PV MMU.
 *
 * With a Xen L0 (pv_gnttab_init_l0), those frames are L0's grant frames
 * of the shim's domain and query_size is L0's; other sub-ops answer
 * -EOPNOTSUPP as Xen's own shim (docs/pv-devices.md).
 */
#ifndef MINISHIM_PV_GRANT_H
#define MINISHIM_PV_GRANT_H

#include <minishim/types.h>

/* Xen's opt_max_grant_frames default (xen/common/grant_table.c). */
#define PV_GNTTAB_MAX_FRAMES 64
/* Xen's INITIAL_NR_GRANT_FRAMES: the table a domain is created with. */
#define PV_GNTTAB_INITIAL_FRAMES 1

struct pv_gnttab_config {
    /* The domain's own id (names it besides DOMID_SELF). */
    uint16_t domid;
    unsigned int max_frames;        /* 1..PV_GNTTAB_MAX_FRAMES             */
    unsigned int max_version;       /* 1 (2 is not implemented)            */
    /* A zeroed frame the guest may map (FRAME_GUEST); an invalid mfn when
     * memory is exhausted. */
    mfn_t (*alloc_frame)(void);
    /* The table is L0's: each frame alloc_frame gives is replaced by L0's
     * grant frame (XENMAPSPACE_grant_table), query_size goes to L0. */
    bool l0;
};

/*
 * Forget the table and use cfg (NULL: the defaults, frames from
 * alloc_frame(FRAME_GUEST)). Frames of the old table are not freed (the
 * guest may still map them): call before the domain runs, or in tests.
 * 0 or -XEN_EINVAL for a bad configuration.
 */
int pv_gnttab_reset(const struct pv_gnttab_config *cfg);

/* Frames the table has now (0 before the first grant_table_op). */
unsigned int pv_gnttab_nr_frames(void);
/* Frame i of the table (invalid mfn when i >= pv_gnttab_nr_frames()). */
mfn_t pv_gnttab_frame(unsigned int i);

/*
 * Boot, after the L0 backend is up: use L0's grant table for the shim's
 * domain (domid: its id in L0) when L0 has one; else the local table
 * (with domid), logged. 0 when the table is L0's.
 */
int pv_gnttab_init_l0(uint16_t domid);
bool pv_gnttab_is_l0(void);
/* After a resume in a new L0 domain: no frame mapped (setup_table maps
 * the same frames again), the domain's new id. */
void pv_gnttab_forget_l0(uint16_t domid);

/* The hypercall (__HYPERVISOR_grant_table_op). */
long do_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count);

#endif
