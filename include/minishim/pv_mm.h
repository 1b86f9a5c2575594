/*
 * The PV MMU (pv/mm.c): page types and reference counts of guest frames,
 * and the three page-table hypercalls of the Xen PV ABI (mmu_update,
 * update_va_mapping, mmuext_op), with Xen's argument lists, errno values
 * and done counts. Modelled on Xen 4.17 xen/arch/x86/mm.c (facts only).
 *
 * Model, per machine frame (struct pv_frame, one array indexed by mfn):
 *   type        none, writable, L1..L4, segment descriptor
 *   type_count  references of that type; the type changes only at zero
 *   ref_count   general references held by the MMU (mappings, pins,
 *               base pointers); a frame with refs must not be freed
 *   pinned, validated
 * A validated Lk table holds a type reference of L(k-1) on every present
 * entry (L1: a writable type ref for RW mappings, a general ref only for
 * read-only ones); devalidation (type count back to zero) drops them.
 *
 * Locking: one MMU lock serialises every operation. It is taken with
 * interrupts as the caller has them; flushes (IPIs) are issued under it,
 * so hypercalls must run with interrupts enabled (a CPU spinning on the
 * lock must still answer the flush IPI).
 */
#ifndef MINISHIM_PV_MM_H
#define MINISHIM_PV_MM_H

#include <minishim/cpumask.h>
#include <minishim/types.h>
#include <minishim/x86.h>

/* Page types (Xen's PGT_*, own numbering). */
enum pv_page_type {
    PGT_NONE = 0,
    PGT_WRITABLE,
    PGT_L1,
    PGT_L2,
    PGT_L3,
    PGT_L4,
    PGT_SEG_DESC,
};

#define PV_FRAME_PINNED     (1u << 0)
#define PV_FRAME_VALIDATED  (1u << 1)

struct pv_frame {
    uint8_t type;           /* enum pv_page_type                          */
    uint8_t flags;          /* PV_FRAME_*                                 */
    /*
     * Linear page-table bookkeeping (Xen's linear_pt_count): > 0, this
     * table holds that many linear entries; < 0, this table is the target
     * of that many linear entries. Never both, which forbids chains and
     * loops of linear entries.
     */
    int16_t linear;
    uint32_t type_count;
    uint32_t ref_count;
    /* Page-table generation (include/minishim/ptdebug.h): odd while the
     * frame is a page table, even otherwise; bumped to even only after the
     * retype flush, when the frame's contents may change. The spurious
     * #PF walker reads it, lock-free, with debug=pt-gen. */
    uint32_t pt_gen;
    /* TLB clock (shim/tlbclock.c) when the last typed mapping of this frame
     * went: a writable mapping, a parent entry or a vCPU base pointer (a
     * pin is no mapping). 0: unknown. Xen's tlbflush_timestamp. */
    uint64_t tlbflush_stamp;
};

/* Bytes of frame-info storage pv_mm_init needs for nr_frames frames. */
static inline size_t pv_mm_frame_info_bytes(unsigned long nr_frames)
{
    return nr_frames * sizeof(struct pv_frame);
}

/*
 * Guest virtual memory access, fault-safe: 0, or -XEN_EFAULT when any byte
 * is not accessible. (To be replaced by the dispatcher's
 * copy_from_guest/copy_to_guest: adapt in pv_mm_init's caller.)
 */
struct pv_mm_guest_ops {
    int (*copy_from)(void *dst, uint64_t gva, size_t n);
    int (*copy_to)(uint64_t gva, const void *src, size_t n);
};

/*
 * What the MMU needs to know of a vCPU (embed in the PV engineer's struct
 * vcpu). Page-table bases are frame numbers; 0 means none (frame 0 is
 * never a guest frame: the low 1 MiB is reserved).
 */
struct pv_mm_vcpu_state {
    unsigned int id;            /* vCPU id = shim CPU (pinned 1:1)        */
    mfn_t kernel_l4;            /* Xen's guest_table (NEW_BASEPTR)         */
    mfn_t user_l4;              /* Xen's guest_table_user                  */
    uint64_t ldt_base;          /* MMUEXT_SET_LDT, checked                 */
    unsigned int ldt_ents;
};

struct pv_mm_config {
    /* Who owns a frame: true only for frames given to the guest. */
    bool (*frame_is_guest)(mfn_t m);
    /* Take frame m from the guest for good (ballooning: afterwards
     * frame_is_guest(m) is false); false if it is not the guest's. NULL:
     * no frame ever leaves (pv_mm_frame_leave answers -XEN_ENXIO). */
    bool (*frame_leave)(mfn_t m);
    /* Fill slots 256-271 of a guest L4 being validated (the PV domain's
     * pv_init_xen_l4_slots); when NULL they are copied from shim_l4 (NULL
     * too: zeroed). Either way every guest value there is overwritten. */
    void (*init_l4_slots)(uint64_t *l4);
    const uint64_t *shim_l4;
    /* CPUs that run (or have run) guest vCPUs: Xen's dirty_cpumask. */
    const cpumask_t *dirty_mask;
    unsigned int max_vcpus;
    /* The vCPU making the hypercall. */
    struct pv_mm_vcpu_state *(*current_vcpu)(void);
    const struct pv_mm_guest_ops *guest;
    /* The M2P table (shim-writable view, nr_frames entries) for
     * MMU_MACHPHYS_UPDATE; NULL makes it fail with -XEN_ENOSYS. */
    unsigned long *m2p;
    /* Load v's new kernel page-table base (NEW_BASEPTR); NULL: write CR3. */
    void (*load_kernel_pt)(struct pv_mm_vcpu_state *v);
    /* LDT changed (SET_LDT): drop shadow LDT mappings, reload. Optional. */
    void (*ldt_changed)(struct pv_mm_vcpu_state *v);
    /* Check one page of descriptors for PGT_SEG_DESC (0 or -XEN_E*),
     * fixing them up in place as Xen does. NULL: segment-descriptor types
     * are refused. */
    int (*validate_seg_desc)(void *page);
    /* The guest's domain id: foreigndom may name it besides DOMID_SELF. */
    uint16_t domid;
};

/*
 * Set up the MMU for nr_frames frames (mfn 0 .. nr_frames-1, sized from
 * the highest RAM frame) with caller-provided storage of
 * pv_mm_frame_info_bytes(nr_frames) bytes. Returns 0 or -XEN_EINVAL.
 */
int pv_mm_init(void *frame_info_storage, unsigned long nr_frames,
               const struct pv_mm_config *cfg);

/* Read-only view of a frame's state (NULL when out of range). */
const struct pv_frame *pv_mm_frame(mfn_t m);
/* True when the MMU holds any reference to the frame: it must not be
 * freed or given away (ballooning, grant transfer). */
bool pv_mm_frame_in_use(mfn_t m);
/* True for a frame given to the guest (Xen: owned by the domain). */
bool pv_mm_frame_is_guest(mfn_t m);
/*
 * Ballooning (pv/memory_op.c). pv_mm_frame_leave takes a guest frame out
 * of the guest (owner FRAME_LEAVING: no reference can be taken from now
 * on) when nothing references it: 0 with *stamp its TLB-clock stamp (0:
 * unknown), -XEN_EINVAL outside the frame table, -XEN_ENXIO not the
 * guest's, -XEN_EBUSY still referenced. After the caller's flush,
 * pv_mm_frame_left ends its page-table state (generation, type, stamp).
 */
int pv_mm_frame_leave(mfn_t m, uint64_t *stamp);
void pv_mm_frame_left(mfn_t m);
/* Sum of all type and general counts: zero when nothing is referenced. */
unsigned long pv_mm_total_refs(void);

/*
 * Domain builder / teardown helpers (same paths as the hypercalls).
 * level 1..4. pin: take and keep a type ref (as MMUEXT_PIN_Ln_TABLE).
 */
int pv_mm_pin_table(mfn_t m, unsigned int level);
/* Install an L4 as v's kernel (or user) base: as NEW_[USER_]BASEPTR but
 * for any vCPU and without loading it. */
int pv_mm_set_base(struct pv_mm_vcpu_state *v, mfn_t l4, bool user);
/* Drop v's base pointers (vCPU teardown). */
void pv_mm_vcpu_destroy(struct pv_mm_vcpu_state *v);
/* General + typed references for other subsystems (GDT/LDT frames take
 * PGT_SEG_DESC; grant mappings PGT_WRITABLE). 0 or -XEN_E*. */
int pv_mm_get_page_and_type(mfn_t m, enum pv_page_type type);
void pv_mm_put_page_and_type(mfn_t m);

/* The hypercalls, Xen's argument lists (guest addresses as uint64_t). */
long do_mmu_update(uint64_t ureqs, unsigned int count, uint64_t pdone,
                   unsigned int foreigndom);
long do_update_va_mapping(unsigned long va, uint64_t val, unsigned long flags);
long do_update_va_mapping_otherdomain(unsigned long va, uint64_t val,
                                      unsigned long flags, unsigned int domid);
long do_mmuext_op(uint64_t uops, unsigned int count, uint64_t pdone,
                  unsigned int foreigndom);

/*
 * Writable page tables (Xen's ptwr, pv/ro-page-fault.c): apply one
 * guest-kernel store of 'bytes' (1/2/4/8, naturally aligned) at guest VA
 * addr, which the current vCPU's kernel page tables map read-only onto an
 * in-use L1 page, as an L1 entry update with every mmu_update check. Under
 * the MMU lock, op(ctx, old, &new) turns the old sub-word value into the
 * new one (false: store nothing, e.g. a failed cmpxchg). 0 with *oldp =
 * the old value, or -XEN_EINVAL: not a ptwr case or the entry is refused
 * (reflect the #PF to the guest). Call with interrupts on.
 */
long pv_mm_ptwr_rmw(uint64_t addr, unsigned int bytes,
                    bool (*op)(void *ctx, uint64_t old, uint64_t *nv), void *ctx,
                    uint64_t *oldp);

/* Xen's marker for an L1 entry that maps a guest-kernel page (Xen's
 * x86_64/page.h; an available bit to the hardware). The architectural bits
 * are x86.h's PTE_*. */
#define PTE_GUEST_KERNEL  (1ULL << 52)

#endif
