/*
 * Page-table hazard debug aids (shim/ptdebug.c), off by default. They make
 * the race the flush safety rule exists for (shim/flush.c, "SAFETY RULE";
 * docs/flush-safety.md) visible instead of silent:
 *
 *   debug=pt-gen      the spurious #PF walker (shim/spurious_pf.c) checks,
 *                     for every table it reads, the PV MMU's page-table
 *                     generation of that frame before and after the read;
 *                     a read from a frame that was no longer (or stopped
 *                     being) a page table is a stale read: counted
 *                     (walker-stale-reads= in the flush statistics),
 *                     reported, and the walk answers "not spurious". It
 *                     changes nothing the guest can see.
 *   debug=pt-poison   when a page table is retyped to writable (for this
 *                     shim, the moment it is "freed": guest frames never go
 *                     back to the shim's allocator, but the guest may write
 *                     the frame from then on), the shim fills it with
 *                     PT_POISON before the retype returns. Guest-visible:
 *                     the guest finds the poison instead of its old
 *                     entries (Xen leaves them). The walker names the
 *                     poison in its stale-read report.
 *
 * The generation (per guest frame, kept by pv/mm.c): odd while the frame
 * is a page table (L1..L4), even otherwise; it moves to odd when a frame
 * becomes a validated table, and to the next even value only AFTER the
 * retype flush of a table that changes type, i.e. at the moment the shim
 * lets its contents change. Under the safety rule that flush waits for
 * every walker that could hold the frame, so a walker never sees the
 * generation move under it: the check cannot report a false positive
 * while the rule is in force.
 */
#ifndef MINISHIM_PTDEBUG_H
#define MINISHIM_PTDEBUG_H

#include <minishim/types.h>

#define PTDEBUG_GEN    (1u << 0)
#define PTDEBUG_POISON (1u << 1)
#define PTDEBUG_SYNTAX "comma list of pt-gen, pt-poison, off"

/* Written over a retyped page table with debug=pt-poison; bit 0 (present)
 * is clear, so at every level it reads as a not-present entry. */
#define PT_POISON 0x5a5a5a5a5a5a5a5aULL

/* PTDEBUG_* bits in force (set once at boot). */
extern unsigned int ptdebug_flags;

/* One relaxed load and a not-taken branch when the aids are off. */
static inline bool ptdebug_on(unsigned int what)
{
    return __builtin_expect(!!(__atomic_load_n(&ptdebug_flags, __ATOMIC_RELAXED) & what), 0);
}

/* Parse a debug= value into *flags (false: bad value, *flags unchanged). */
bool ptdebug_parse(const char *value, unsigned int *flags);
/* Boot, once; says what is on. */
void ptdebug_init(unsigned int flags);

/*
 * Where the generation comes from: the PV MMU registers fn, which gives
 * frame pfn's generation and returns true, or false for a frame it does
 * not type (the shim's own tables). fn must not take locks: the walker
 * calls it with interrupts off.
 */
void ptdebug_set_gen_source(bool (*fn)(uint64_t pfn, uint32_t *gen));
/* The generation of the table at physical address table_pa (false: not
 * tracked, or no source). */
bool ptdebug_table_gen(uint64_t table_pa, uint32_t *gen);

/* The walker read the entry at table_pa[index] (level 4..1) for a fault at
 * va while the table's generation was g0 before and g1 after the read:
 * count it and say so. */
void ptdebug_stale_read(uint64_t va, unsigned int level, uint64_t table_pa,
                        unsigned int index, uint32_t g0, uint32_t g1, uint64_t entry);

#endif
