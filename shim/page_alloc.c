/*
 * Frame allocator: one owner byte per frame, next-fit search. Small and
 * obvious on purpose; the PV MMU keeps its own type/count array and the
 * flush engine may later stamp frees with its TLB clock.
 */
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/page_alloc.h>
#include <minishim/shim.h>
#include <minishim/spinlock.h>

static uint8_t owner[PAGE_ALLOC_MAX_FRAMES];     /* enum frame_owner */
static unsigned long nr_free, nr_l0, max_mfn, cursor, l0_cursor;
static spinlock_t alloc_lock = SPINLOCK_INIT;

static void mark_range(uint64_t start, uint64_t end, enum frame_owner o,
                       bool round_out)
{
    uint64_t first, last;

    /* Free ranges shrink to whole frames; reserved ranges grow to them. */
    if (round_out) {
        first = start >> PAGE_SHIFT;
        last = (end + PAGE_SIZE - 1) >> PAGE_SHIFT;
    } else {
        first = (start + PAGE_SIZE - 1) >> PAGE_SHIFT;
        last = end >> PAGE_SHIFT;
    }
    last = MIN(last, (uint64_t)PAGE_ALLOC_MAX_FRAMES);
    for (uint64_t f = first; f < last; f++) {
        if (owner[f] == FRAME_FREE)
            nr_free--;
        owner[f] = (uint8_t)o;
        if (o == FRAME_FREE)
            nr_free++;
    }
}

unsigned long page_alloc_init(const struct boot_info *bi, paddr_t img_start,
                              paddr_t img_end, paddr_t start_info)
{
    memset(owner, FRAME_RESERVED, sizeof(owner));
    nr_free = nr_l0 = max_mfn = cursor = l0_cursor = 0;

    for (unsigned int i = 0; i < bi->nr_memmap; i++) {
        const struct boot_memmap_entry *e = &bi->memmap[i];
        uint64_t end = e->addr + e->size;

        if (e->type != XEN_HVM_MEMMAP_TYPE_RAM || end < e->addr)
            continue;
        mark_range(e->addr, end, FRAME_FREE, false);
        max_mfn = MAX(max_mfn, (unsigned long)MIN(end >> PAGE_SHIFT,
                                                  (uint64_t)PAGE_ALLOC_MAX_FRAMES));
    }
    /* Second pass: a reserved entry overlapping RAM wins. */
    for (unsigned int i = 0; i < bi->nr_memmap; i++) {
        const struct boot_memmap_entry *e = &bi->memmap[i];

        if (e->type != XEN_HVM_MEMMAP_TYPE_RAM && e->addr + e->size > e->addr)
            mark_range(e->addr, e->addr + e->size, FRAME_RESERVED, true);
    }
    /* Real-mode and BIOS data, the loader's structures, the image. */
    mark_range(0, 1UL << 20, FRAME_RESERVED, true);
    mark_range(img_start.pa, img_end.pa, FRAME_RESERVED, true);
    for (unsigned int i = 0; i < bi->nr_modules; i++)
        mark_range(bi->modules[i].start.pa,
                   bi->modules[i].start.pa + bi->modules[i].size,
                   FRAME_RESERVED, true);
    if (start_info.pa)
        mark_range(start_info.pa, start_info.pa + 1, FRAME_RESERVED, true);
    return nr_free;
}

void page_alloc_reserve(paddr_t start, uint64_t size)
{
    unsigned long flags = spin_lock_irqsave(&alloc_lock);
    uint64_t first = start.pa >> PAGE_SHIFT;
    uint64_t last = MIN((start.pa + size + PAGE_SIZE - 1) >> PAGE_SHIFT,
                        (uint64_t)PAGE_ALLOC_MAX_FRAMES);

    for (uint64_t f = first; f < last && start.pa + size > start.pa; f++) {
        if (owner[f] == FRAME_FREE) {
            owner[f] = FRAME_RESERVED;
            nr_free--;
        }
    }
    spin_unlock_irqrestore(&alloc_lock, flags);
}

static void zero_frame(unsigned long f)
{
    memset(arch_phys_to_virt(pa((uint64_t)f << PAGE_SHIFT)), 0, PAGE_SIZE);
}

mfn_t alloc_frame(enum frame_owner o)
{
    return alloc_frames_contig(1, o);
}

mfn_t alloc_frames_contig(unsigned long nr, enum frame_owner o)
{
    unsigned long flags, run = 0, f, start = INVALID_MFN_VALUE;

    if (!nr || (o != FRAME_SHIM && o != FRAME_GUEST))
        return mfn(INVALID_MFN_VALUE);
    flags = spin_lock_irqsave(&alloc_lock);
    if (nr <= nr_free) {
        /* Two passes over [cursor, max) then [0, max) (next fit). */
        for (unsigned int pass = 0; pass < 2 && start == INVALID_MFN_VALUE; pass++) {
            run = 0;
            for (f = pass ? 0 : cursor; f < max_mfn; f++) {
                run = owner[f] == FRAME_FREE ? run + 1 : 0;
                if (run == nr) {
                    start = f + 1 - nr;
                    break;
                }
            }
        }
    }
    if (start != INVALID_MFN_VALUE) {
        for (f = start; f < start + nr; f++)
            owner[f] = (uint8_t)o;
        nr_free -= nr;
        cursor = start + nr;
    }
    spin_unlock_irqrestore(&alloc_lock, flags);
    if (start == INVALID_MFN_VALUE)
        return mfn(INVALID_MFN_VALUE);
    for (f = start; f < start + nr; f++)
        zero_frame(f);
    return mfn(start);
}

enum frame_owner frame_owner(mfn_t m)
{
    if (m.mfn >= PAGE_ALLOC_MAX_FRAMES)
        return FRAME_RESERVED;
    return (enum frame_owner)__atomic_load_n(&owner[m.mfn], __ATOMIC_RELAXED);
}

bool frame_is_guest(mfn_t m)
{
    return frame_owner(m) == FRAME_GUEST;
}

/*
 * Give back a shim scratch frame (the bzImage decompressor's buffers).
 * Only FRAME_SHIM frames: those are reached through the shim's direct map
 * alone, never mapped by the guest and never a page table, so no CPU can
 * hold a TLB entry the next owner must not see and no walker can be
 * reading them: their reuse needs no flush. A guest frame (or a former
 * page table) needs the reuse flush by IPI first (FLUSH_NO_ASSIST, README
 * "Flush policy"), so it is refused here: guest frames come back only
 * through ballooning (page_alloc_guest_leave, the caller's flush,
 * page_alloc_left_release). Freeing a free or reserved frame would hand
 * one frame to two owners.
 */
void free_frame(mfn_t m)
{
    unsigned long flags;
    enum frame_owner o = frame_owner(m);

    if (o != FRAME_SHIM)
        panic("page_alloc: freeing frame %lx which is %s", (unsigned long)m.mfn,
              o == FRAME_FREE ? "already free" :
              o == FRAME_GUEST ? "the guest's (needs a reuse flush)" : "reserved");
    flags = spin_lock_irqsave(&alloc_lock);
    owner[m.mfn] = FRAME_FREE;
    nr_free++;
    spin_unlock_irqrestore(&alloc_lock, flags);
}

/* One owner transition from -> to under the lock; false if the frame is
 * not 'from'. */
static bool transition(mfn_t m, enum frame_owner from, enum frame_owner to)
{
    unsigned long flags;
    bool ok;

    if (m.mfn >= PAGE_ALLOC_MAX_FRAMES)
        return false;
    flags = spin_lock_irqsave(&alloc_lock);
    ok = owner[m.mfn] == from;
    if (ok) {
        __atomic_store_n(&owner[m.mfn], (uint8_t)to, __ATOMIC_RELEASE);
        if (to == FRAME_FREE)
            nr_free++;
        if (to == FRAME_L0)
            nr_l0++;
        if (from == FRAME_L0)
            nr_l0--;
    }
    spin_unlock_irqrestore(&alloc_lock, flags);
    return ok;
}

bool page_alloc_guest_leave(mfn_t m)
{
    return transition(m, FRAME_GUEST, FRAME_LEAVING);
}

/*
 * The caller has flushed every CPU that may hold a translation of the
 * frame, by IPI (the reuse flush Xen's page allocator does at allocation,
 * accumulate_tlbflush/filtered_flush_tlb_mask, forced onto IPIs by
 * "x86/tlb: fix assisted flush usage"): the next owner may have it.
 */
bool page_alloc_left_release(mfn_t m, bool to_l0)
{
    return transition(m, FRAME_LEAVING, to_l0 ? FRAME_L0 : FRAME_FREE);
}

mfn_t page_alloc_take_l0(void)
{
    unsigned long flags = spin_lock_irqsave(&alloc_lock);
    unsigned long found = INVALID_MFN_VALUE;

    if (nr_l0) {
        for (unsigned int pass = 0; pass < 2 && found == INVALID_MFN_VALUE; pass++)
            for (unsigned long f = pass ? 0 : l0_cursor; f < max_mfn; f++)
                if (owner[f] == FRAME_L0) {
                    found = f;
                    break;
                }
    }
    if (found != INVALID_MFN_VALUE) {
        owner[found] = FRAME_LEAVING;
        nr_l0--;
        l0_cursor = found + 1;
    }
    spin_unlock_irqrestore(&alloc_lock, flags);
    return mfn(found);
}

void page_alloc_l0_back(mfn_t m, bool populated)
{
    if (populated) {
        /* Backed again by L0: fresh memory, but zero it as every frame
         * the guest is given (alloc_frames_contig). */
        zero_frame(m.mfn);
        transition(m, FRAME_LEAVING, FRAME_GUEST);
    } else {
        transition(m, FRAME_LEAVING, FRAME_L0);
    }
}

unsigned long page_alloc_nr_l0(void)
{
    return nr_l0;
}

unsigned long page_alloc_nr_free(void)
{
    return nr_free;
}

unsigned long page_alloc_max_mfn(void)
{
    return max_mfn;
}
