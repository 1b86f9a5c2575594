/*
 * Page-table hazard debug aids: the debug= option, the generation source
 * the walker asks, and the stale-read report (interface and the
 * generation's rules: include/minishim/ptdebug.h).
 */
#include <string.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/ptdebug.h>

unsigned int ptdebug_flags;
static bool (*gen_source)(uint64_t pfn, uint32_t *gen);

bool ptdebug_parse(const char *v, unsigned int *out)
{
    unsigned int flags = 0;

    if (!v || !*v)
        return false;
    while (*v) {
        size_t n = strcspn(v, ",");

        if (n == 6 && !strncmp(v, "pt-gen", 6))
            flags |= PTDEBUG_GEN;
        else if (n == 9 && !strncmp(v, "pt-poison", 9))
            flags |= PTDEBUG_POISON;
        else if (n == 3 && !strncmp(v, "off", 3))
            flags = 0;
        else
            return false;
        v += n;
        if (*v == ',' && !*++v)
            return false;               /* trailing comma */
    }
    *out = flags;
    return true;
}

void ptdebug_init(unsigned int flags)
{
    __atomic_store_n(&ptdebug_flags, flags, __ATOMIC_SEQ_CST);
    if (flags & PTDEBUG_GEN)
        pr_warn("debug: pt-gen: the spurious #PF walker checks page-table generations\n");
    if (flags & PTDEBUG_POISON)
        pr_warn("debug: pt-poison: page tables retyped to writable are filled with %#lx "
                "(guest-visible)\n", (unsigned long)PT_POISON);
}

void ptdebug_set_gen_source(bool (*fn)(uint64_t pfn, uint32_t *gen))
{
    gen_source = fn;
}

bool ptdebug_table_gen(uint64_t table_pa, uint32_t *gen)
{
    return gen_source && gen_source(table_pa >> PAGE_SHIFT, gen);
}

void ptdebug_stale_read(uint64_t va, unsigned int level, uint64_t table_pa,
                        unsigned int index, uint32_t g0, uint32_t g1, uint64_t entry)
{
    uint64_t n = flush_stats_walker_stale_read();

    /* The first few in full; then every 1000th, so a stress run's log
     * stays readable (the count is in the flush statistics). */
    if (n <= 3 || n % 1000 == 0)
        pr_warn("debug: walker stale read #%lu: va %#lx level %u table %#lx[%u] "
                "generation %lu -> %lu entry %#lx%s\n",
                (unsigned long)n, (unsigned long)va, level, (unsigned long)table_pa, index,
                (unsigned long)g0, (unsigned long)g1, (unsigned long)entry,
                entry == PT_POISON ? " (poison)" : "");
}
