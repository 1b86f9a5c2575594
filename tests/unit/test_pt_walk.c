/*
 * pt_walk() on page tables built in fake physical memory: where it ends
 * (mapped, not present at each level, superpages, reserved PSE in an L4
 * entry, non-canonical), what it records per level, the rights it
 * accumulates, and its hooks stopping the walk.
 */
#include <criterion/criterion.h>
#include <minishim/pt_walk.h>
#include "fake/fake.h"

#define L4_PA 0x100000ULL
#define L3_PA 0x101000ULL
#define L2_PA 0x102000ULL
#define L1_PA 0x103000ULL
#define PAGE_PA 0x200000ULL

/* L4 slot 0x80, L3 slot 1, L2 slot 2, L1 slot 3. */
#define VA 0x0000400040403abcULL

static uint64_t *table(uint64_t p) { return (uint64_t *)(fake_mem + p); }
static uint64_t *l4e(void) { return &table(L4_PA)[0x80]; }
static uint64_t *l3e(void) { return &table(L3_PA)[1]; }
static uint64_t *l2e(void) { return &table(L2_PA)[2]; }
static uint64_t *l1e(void) { return &table(L1_PA)[3]; }

#define ALL (PTE_PRESENT | PTE_RW | PTE_USER)

static void build(uint64_t f4, uint64_t f3, uint64_t f2, uint64_t f1)
{
    fake_reset();
    *l4e() = L3_PA | f4;
    *l3e() = L2_PA | f3;
    *l2e() = L1_PA | f2;
    *l1e() = PAGE_PA | f1;
}

/* CR3's low bits (PCID, PWT, PCD) are not part of the root. */
static enum pt_walk_end walk(struct pt_walk *w)
{
    return pt_walk(L4_PA | 0x18, VA, NULL, NULL, w);
}

Test(pt_walk, mapped_records_every_level)
{
    struct pt_walk w;

    build(ALL, ALL, ALL, ALL | PTE_NX);
    cr_assert_eq(walk(&w), PT_WALK_MAPPED);
    cr_assert_eq(w.level, 1);
    cr_assert_eq(w.table[4], L4_PA);
    cr_assert_eq(w.table[3], L3_PA);
    cr_assert_eq(w.table[2], L2_PA);
    cr_assert_eq(w.table[1], L1_PA);
    cr_assert_eq(w.entry[4], *l4e());
    cr_assert_eq(w.entry[3], *l3e());
    cr_assert_eq(w.entry[2], *l2e());
    cr_assert_eq(w.entry[1], PAGE_PA | ALL | PTE_NX);
    cr_assert(w.rw && w.user && w.nx);
}

Test(pt_walk, not_present_at_each_level)
{
    struct pt_walk w;

    for (unsigned int level = 4; level >= 1; level--) {
        build(level == 4 ? 0 : ALL, level == 3 ? 0 : ALL,
              level == 2 ? 0 : ALL, level == 1 ? 0 : ALL);
        cr_assert_eq(walk(&w), PT_WALK_NOT_PRESENT, "level %u", level);
        cr_assert_eq(w.level, level);
        cr_assert_eq(w.entry[level] & PTE_PRESENT, 0);
    }
}

Test(pt_walk, superpages_end_the_walk)
{
    struct pt_walk w;

    build(ALL, ALL, ALL | PTE_PSE, ALL);
    cr_assert_eq(walk(&w), PT_WALK_MAPPED);
    cr_assert_eq(w.level, 2, "2 MiB page");
    build(ALL, ALL | PTE_PSE, ALL, ALL);
    cr_assert_eq(walk(&w), PT_WALK_MAPPED);
    cr_assert_eq(w.level, 3, "1 GiB page");
    /* PSE in an L4 entry is reserved: never followed as a table. */
    build(ALL | PTE_PSE, ALL, ALL, ALL);
    cr_assert_eq(walk(&w), PT_WALK_RESERVED);
    cr_assert_eq(w.level, 4);
}

static unsigned int hook_calls;

static bool count_tables(void *ctx, unsigned int level, uint64_t t)
{
    (void)ctx; (void)level; (void)t;
    hook_calls++;
    return true;
}

Test(pt_walk, non_canonical_reads_nothing)
{
    const struct pt_walk_hooks h = { .table = count_tables };
    struct pt_walk w;

    build(ALL, ALL, ALL, ALL);
    hook_calls = 0;
    cr_assert_eq(pt_walk(L4_PA, 0x0000800000000000ULL, &h, NULL, &w), PT_WALK_NONCANONICAL);
    cr_assert_eq(pt_walk(L4_PA, 0xffff7fffffffffffULL, &h, NULL, &w), PT_WALK_NONCANONICAL);
    cr_assert_eq(hook_calls, 0);
    cr_assert_eq(pt_walk(L4_PA, 0xffff800000000000ULL, &h, NULL, &w), PT_WALK_NOT_PRESENT);
    cr_assert_eq(hook_calls, 1, "the upper half is walked");
}

Test(pt_walk, rights_are_accumulated)
{
    struct pt_walk w;

    /* RW and USER: every level; NX: any level; a level at a time. */
    for (unsigned int level = 4; level >= 1; level--) {
        uint64_t f[5] = { 0, ALL, ALL, ALL, ALL };

        f[level] = ALL & ~PTE_RW;
        build(f[4], f[3], f[2], f[1]);
        cr_assert_eq(walk(&w), PT_WALK_MAPPED);
        cr_assert(!w.rw && w.user && !w.nx, "RW clear at level %u", level);
        f[level] = ALL & ~PTE_USER;
        build(f[4], f[3], f[2], f[1]);
        walk(&w);
        cr_assert(w.rw && !w.user && !w.nx, "USER clear at level %u", level);
        f[level] = ALL | PTE_NX;
        build(f[4], f[3], f[2], f[1]);
        walk(&w);
        cr_assert(w.rw && w.user && w.nx, "NX at level %u", level);
    }
    /* A superpage's rights stop at its own level: the L1 entry below the
     * 2 MiB page is not an entry of the walk. */
    build(ALL, ALL, ALL | PTE_PSE, 0);
    walk(&w);
    cr_assert(w.rw && w.user && !w.nx);
}

static bool refuse_l2_table(void *ctx, unsigned int level, uint64_t t)
{
    *(uint64_t *)ctx = t;
    return level != 2;
}

static bool refuse_l3_entry(void *ctx, unsigned int level, uint64_t t, unsigned int idx,
                            uint64_t e)
{
    (void)t;
    if (level == 3)
        *(uint64_t *)ctx = e | idx;
    return level != 3;
}

Test(pt_walk, hooks_stop_the_walk)
{
    const struct pt_walk_hooks ht = { .table = refuse_l2_table };
    const struct pt_walk_hooks he = { .entry = refuse_l3_entry };
    struct pt_walk w;
    uint64_t seen = 0;

    build(ALL, ALL, ALL, ALL);
    cr_assert_eq(pt_walk(L4_PA, VA, &ht, &seen, &w), PT_WALK_STOPPED);
    cr_assert_eq(w.level, 2);
    cr_assert_eq(seen, L2_PA, "the table hook is given the table");
    cr_assert_eq(w.entry[2], 0, "a refused table is not read");
    seen = 0;
    cr_assert_eq(pt_walk(L4_PA, VA, &he, &seen, &w), PT_WALK_STOPPED);
    cr_assert_eq(w.level, 3);
    cr_assert_eq(seen, (L2_PA | ALL) | 1, "the entry hook is given the entry and its index");
}
