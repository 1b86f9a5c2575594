/*
 * The 4-level page-table walk; what it does and the contract its callers
 * keep: include/minishim/pt_walk.h.
 */
#include <minishim/arch.h>
#include <minishim/pt_walk.h>

/* An entry another CPU may be changing: one untorn 64-bit load. */
static uint64_t read_entry(uint64_t table_pa, unsigned int index)
{
    const uint64_t *t = arch_phys_to_virt(pa(table_pa));

    return __atomic_load_n(&t[index], __ATOMIC_RELAXED);
}

enum pt_walk_end pt_walk(uint64_t root, uint64_t va, const struct pt_walk_hooks *hooks,
                         void *ctx, struct pt_walk *w)
{
    uint64_t table = root & PTE_ADDR_MASK;     /* drops PCID/PWT/PCD */

    *w = (struct pt_walk){ .level = PT_LEVELS, .rw = true, .user = true };
    if (!is_canonical(va))
        return w->end = PT_WALK_NONCANONICAL;
    for (unsigned int level = PT_LEVELS; ; level--) {
        unsigned int idx = (unsigned int)PT_INDEX(va, PT_SHIFT(level));
        uint64_t e;

        w->level = level;
        w->table[level] = table;
        if (hooks && hooks->table && !hooks->table(ctx, level, table))
            return w->end = PT_WALK_STOPPED;
        e = read_entry(table, idx);
        w->entry[level] = e;
        if (hooks && hooks->entry && !hooks->entry(ctx, level, table, idx, e))
            return w->end = PT_WALK_STOPPED;
        if (!(e & PTE_PRESENT))
            return w->end = PT_WALK_NOT_PRESENT;
        if (level == 4 && (e & PTE_PSE))
            return w->end = PT_WALK_RESERVED;
        w->rw = w->rw && (e & PTE_RW);
        w->user = w->user && (e & PTE_USER);
        w->nx = w->nx || (e & PTE_NX);
        if (level == 1 || (e & PTE_PSE))
            return w->end = PT_WALK_MAPPED;
        table = e & PTE_ADDR_MASK;
    }
}
