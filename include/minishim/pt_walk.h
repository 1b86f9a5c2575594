/*
 * The one 4-level page-table walk (shim/pt_walk.c), for every reader of
 * live x86-64 page tables: the spurious #PF check (shim/spurious_pf.c),
 * the PV MMU's L1-slot lookup for update_va_mapping and writable page
 * tables (pv/mm.c), and the LDT fault-in's guest kernel walk
 * (pv/descriptor.c).
 *
 * What it does: from the root (a CR3 value; its low bits are dropped) it
 * reads one entry per level for va, each with one untorn 64-bit load, and
 * follows it down while it is present and not a superpage (PSE in an L3
 * or L2 entry: a 1 GiB or 2 MiB leaf). PSE in an L4 entry is reserved
 * (SDM vol. 3 4.5) and never followed. A non-canonical va reads nothing.
 * It records, for each level it reached, the table's physical address and
 * the entry read, and accumulates the rights of the present entries (SDM
 * vol. 3 4.6: a page is writable / user only if every level says so, and
 * not executable if any level sets NX).
 *
 * THE CONTRACT, stated here once. The walk takes no lock and trusts each
 * entry it reads to name a page table of the next level, so a caller must
 * make sure no table it can reach is reused (retyped, freed, written as
 * data) while it walks, or must not trust the result beyond what it then
 * checks again:
 *   - the spurious #PF check walks with interrupts off from the CR3 read
 *     to its last entry read, inside this CPU's walk epoch: the flush
 *     safety rule (shim/flush.c, docs/flush-safety.md) makes every
 *     page-table retype wait for it. Its hooks carry the debug aids
 *     (debug=pt-gen, inject=walker-delay), and it must not take a lock;
 *   - the PV MMU walks with its MMU lock held: no table changes type
 *     meanwhile;
 *   - the LDT fault-in walks guest tables the guest may be changing: its
 *     table hook refuses any frame that is not the guest's, and the frame
 *     it finds is only a candidate it then takes a typed reference on.
 * The hooks run with the caller's context (interrupts and locks as the
 * caller has them) and must not sleep.
 */
#ifndef MINISHIM_PT_WALK_H
#define MINISHIM_PT_WALK_H

#include <minishim/types.h>
#include <minishim/x86.h>

enum pt_walk_end {
    PT_WALK_MAPPED,        /* entry[level] is a present leaf: level 1, or
                              PSE at level 3 or 2 */
    PT_WALK_NOT_PRESENT,   /* entry[level] has PTE_PRESENT clear */
    PT_WALK_RESERVED,      /* entry[level] is an L4 entry with PSE */
    PT_WALK_NONCANONICAL,  /* va is not canonical: nothing was read */
    PT_WALK_STOPPED,       /* a hook refused table[level] or entry[level] */
};

struct pt_walk {
    enum pt_walk_end end;
    unsigned int level;    /* where the walk ended, 4..1 (4 if nothing read) */
    /* For l from 4 down to level: table[l] is the physical address of the
     * level-l table and entry[l] the entry read from it (0 when the table
     * hook refused that table). */
    uint64_t table[PT_LEVELS + 1];
    uint64_t entry[PT_LEVELS + 1];
    /* Over the present entries read: RW and USER of every one, NX of any. */
    bool rw, user, nx;
};

/* Optional checks; either may be NULL. Returning false stops the walk
 * with PT_WALK_STOPPED at that level. */
struct pt_walk_hooks {
    /* Before the level-`level` entry is read from the table at table_pa. */
    bool (*table)(void *ctx, unsigned int level, uint64_t table_pa);
    /* After the entry e was read from table_pa[index] (before it is
     * looked at). */
    bool (*entry)(void *ctx, unsigned int level, uint64_t table_pa,
                  unsigned int index, uint64_t e);
};

/* Walk the tables rooted at root (a CR3 value) for va into *w; returns
 * w->end. */
enum pt_walk_end pt_walk(uint64_t root, uint64_t va, const struct pt_walk_hooks *hooks,
                         void *ctx, struct pt_walk *w);

#endif
