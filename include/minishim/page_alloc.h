/*
 * The shim's frame allocator (shim/page_alloc.c). Every RAM frame the
 * platform gave the shim has one owner: free, the shim itself, the guest,
 * or reserved (image, loader data, low 1 MiB, holes). One byte of metadata
 * per frame; other subsystems keep their own per-frame arrays (the PV MMU's
 * type/count) and ask here who owns a frame.
 */
#ifndef MINISHIM_PAGE_ALLOC_H
#define MINISHIM_PAGE_ALLOC_H

#include <minishim/bootinfo.h>
#include <minishim/layout.h>
#include <minishim/types.h>

enum frame_owner {
    FRAME_RESERVED = 0,     /* not RAM, or RAM the shim must not hand out */
    FRAME_FREE,
    FRAME_SHIM,             /* shim data: page tables, M2P, vCPU pages     */
    FRAME_GUEST,            /* guest memory (in the guest's P2M)           */
    FRAME_LEAVING,          /* left the guest (ballooned out), waiting for
                               its flush before release or reuse          */
    FRAME_L0,               /* given back to L0 (XENMEM_decrease_reservation
                               on a Xen L0): not backed, never touched    */
};

/* Frames the allocator tracks: all RAM the direct map reaches. */
#define PAGE_ALLOC_MAX_FRAMES (EARLY_DIRECTMAP_SIZE >> PAGE_SHIFT)
#define INVALID_MFN_VALUE     (~0UL)

static inline bool mfn_valid_value(mfn_t m) { return m.mfn != INVALID_MFN_VALUE; }

/*
 * Build the allocator from the memory map: RAM entries become free, then
 * the low 1 MiB, the shim image [img_start, img_end), every boot module and
 * the hvm_start_info page (start_info, may be 0) are taken out again.
 * RAM above PAGE_ALLOC_MAX_FRAMES is ignored (reported in the return).
 * Returns the number of free frames.
 */
unsigned long page_alloc_init(const struct boot_info *bi, paddr_t img_start,
                              paddr_t img_end, paddr_t start_info);

/* Take [start, start+size) out of the free pool for good (pages L0 gave
 * the shim for its own use, e.g. a console ring, if they lie in RAM).
 * Frames already allocated are left as they are. */
void page_alloc_reserve(paddr_t start, uint64_t size);

/* One frame, zeroed, owned by owner (FRAME_SHIM or FRAME_GUEST); returns
 * an invalid mfn (INVALID_MFN_VALUE) when memory is exhausted. */
mfn_t alloc_frame(enum frame_owner owner);
/* nr physically contiguous zeroed frames; invalid mfn when none fit. */
mfn_t alloc_frames_contig(unsigned long nr, enum frame_owner owner);
/* Give back a FRAME_SHIM scratch frame (never guest-mapped, never a page
 * table: its reuse needs no flush). Anything else panics: a free or
 * reserved frame (double free), or a guest frame, which leaves only
 * through the ballooning path below (its flush first). */
void free_frame(mfn_t m);

/*
 * Ballooning (pv/memory_op.c). A guest frame leaves the guest
 * (FRAME_GUEST -> FRAME_LEAVING: no new reference can be taken, the
 * allocator does not hand it out); once the CPUs that may still cache a
 * translation of it have flushed (by IPI: docs/flush-safety.md), it is
 * released: to the free pool (FRAME_FREE) or as given back to L0
 * (FRAME_L0). Each returns false, changing nothing, when the frame is not
 * in the state it leaves.
 */
bool page_alloc_guest_leave(mfn_t m);
bool page_alloc_left_release(mfn_t m, bool to_l0);
/* Take one FRAME_L0 frame to bring back from L0 (-> FRAME_LEAVING);
 * invalid mfn when there is none. page_alloc_l0_back() ends it: backed
 * again (the frame is zeroed and becomes the guest's) or, when L0 would
 * not populate it, returned to FRAME_L0. */
mfn_t page_alloc_take_l0(void);
void page_alloc_l0_back(mfn_t m, bool populated);
/* Frames in FRAME_L0 (given back to L0). */
unsigned long page_alloc_nr_l0(void);

enum frame_owner frame_owner(mfn_t m);
bool frame_is_guest(mfn_t m);
unsigned long page_alloc_nr_free(void);
/* Highest frame number that is (or was) RAM, plus one. */
unsigned long page_alloc_max_mfn(void);

#endif
