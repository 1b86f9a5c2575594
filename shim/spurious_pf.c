/*
 * Spurious #PF detection: a fault the live page tables would not raise.
 * It happens because the shim (like Xen) does not flush other CPUs when it
 * only *adds* rights (a new present entry, RW or U added, NX removed):
 * a CPU may still hold the old, narrower translation and fault on it. The
 * cure is to notice that the tables now allow the access, drop the stale
 * entry with INVLPG and restart the instruction.
 *
 * THE INVARIANT this walk relies on, and which the flush engine keeps
 * (shim/flush.c, "SAFETY RULE"): the walk runs with interrupts disabled
 * from the CR3 read to the last entry read, so this CPU cannot acknowledge
 * a flush IPI while it holds a pointer into a page-table page. Whoever
 * unhooks a page-table page and then frees or retypes it first flushes by
 * IPI (FLUSH_NO_ASSIST) every CPU that may use those tables, and that
 * flush cannot complete until every such CPU has left its walk. Hence a
 * page-table page is never reused under a walker. An L0-assisted flush
 * does not wait for interrupts to be enabled and gives no such guarantee;
 * that is why those flushes must never be assisted.
 *
 * With flush-safety=defer they may be: the walk is bracketed by this
 * CPU's walk epoch (odd while walking; shim/flush_defer.c), and the
 * retyping CPU, after its flush, waits until every CPU that was walking
 * at that moment has left its walk (docs/flush-safety.md).
 *
 * The walk itself is pt_walk() (include/minishim/pt_walk.h, where its
 * contract is stated for every caller); this file adds the rights check
 * and the debug hooks. It only reads tables the PV MMU has validated
 * (every L4..L2 entry the guest could install names a validated
 * page-table frame in RAM), so each next-level address is inside the
 * direct map.
 *
 * Debug aids (off by default; docs/flush-safety.md): debug=pt-gen checks
 * the invariant at every table read (include/minishim/ptdebug.h: the PV
 * MMU's page-table generation of the frame, before and after the read),
 * and inject=walker-delay:<us> stretches the interrupts-off walk before
 * its level-1 read, so that a test can make a broken rule
 * (inject=assist-unsafe) show.
 */
#include <minishim/arch.h>
#include <minishim/flush.h>
#include <minishim/flush_defer.h>
#include <minishim/inject.h>
#include <minishim/pt_walk.h>
#include <minishim/ptdebug.h>
#include <minishim/spurious_pf.h>
#include <minishim/timer.h>

/* inject=pf-slow: how long a struck fault waits before its walk. */
#define PF_SLOW_NS (500ULL * 1000 * 1000)

/* inject=walker-delay: spin with interrupts still off. */
static void walker_delay(void)
{
    uint32_t us = inject_walker_delay_us();
    uint64_t until;

    if (!us || !inject_fire(INJECT_WALKER_DELAY))
        return;
    until = clock_now_ns() + us * 1000ULL;
    while (clock_now_ns() < until)
        arch_cpu_relax();
}

/* The walk's debug hooks (include/minishim/pt_walk.h): state of one walk. */
struct walk_debug {
    uint64_t va;
    bool check;         /* debug=pt-gen */
    bool tracked;       /* the table about to be read has a generation */
    uint32_t g0;        /* ... taken as the pointer to it was taken */
};

static bool walk_table(void *ctx, unsigned int level, uint64_t table)
{
    struct walk_debug *d = ctx;

    /* debug=pt-gen: the generation as the pointer to this table was just
     * taken (CR3, or the parent entry read last time round). */
    d->tracked = d->check && ptdebug_table_gen(table, &d->g0);
    if (level == 1 && inject_is_armed(INJECT_WALKER_DELAY))
        walker_delay();
    return true;
}

static bool walk_entry(void *ctx, unsigned int level, uint64_t table, unsigned int idx,
                       uint64_t e)
{
    struct walk_debug *d = ctx;
    uint32_t g1 = 0;

    /* Even: the frame was no page table when we came to read it; moved:
     * it stopped being one (or was reused) while we read. Either way the
     * entry is not the table's, and following it could lead anywhere:
     * report it and take the fault's normal path. */
    if (d->tracked && (!(d->g0 & 1) || !ptdebug_table_gen(table, &g1) || g1 != d->g0)) {
        ptdebug_stale_read(d->va, level, table, idx, d->g0, g1, e);
        return false;
    }
    return true;
}

static const struct pt_walk_hooks walk_hooks = {
    .table = walk_table,
    .entry = walk_entry,
};

/*
 * Would the current tables allow an access of kind error_code at va?
 * Conservative: "no" whenever unsure (the fault then takes its normal
 * path, which is always correct).
 */
static bool tables_allow(uint64_t va_val, uint64_t ec)
{
    struct walk_debug d = { .va = va_val, .check = ptdebug_on(PTDEBUG_GEN) };
    struct pt_walk w;

    if (pt_walk(arch_read_cr3(), va_val, &walk_hooks, &d, &w) != PT_WALK_MAPPED)
        return false;
    /* Rights are the AND of every level (SDM 4.6). CR0.WP is always set
     * in the shim, so a supervisor write needs RW too. */
    if ((ec & PFEC_WRITE) && !w.rw)
        return false;
    if ((ec & PFEC_USER) && !w.user)
        return false;
    /* A supervisor access to a user page (the shim copying to or from
     * the guest) is allowed unless SMEP forbids the fetch or SMAP the data
     * access; with SMAP the outcome also depends on EFLAGS.AC of the
     * faulting context, which is not known here: not spurious. */
    if (!(ec & PFEC_USER) && w.user) {
        uint64_t cr4 = arch_read_cr4();

        if ((ec & PFEC_INSN) && (cr4 & X86_CR4_SMEP))
            return false;
        if (!(ec & PFEC_INSN) && (cr4 & X86_CR4_SMAP))
            return false;
    }
    if ((ec & PFEC_INSN) && w.nx)
        return false;
    return true;
}

bool spurious_page_fault(vaddr_t fault_va, uint64_t error_code)
{
    unsigned long irq;
    bool spurious;

    /* Reserved-bit, protection-key, shadow-stack and SGX faults are never
     * about a stale TLB entry. */
    if (error_code & (PFEC_RSVD | PFEC_PK | PFEC_SHSTK | PFEC_SGX))
        return false;
    if (!is_canonical(fault_va.va))
        return false;

    /* Test only (inject=pf-slow): a fault that is slow to reach its
     * handler, as under a busy L0. It widens the window in which another
     * vCPU may add the missing rights, so a test guest can make this race
     * (which needs no stale TLB entry, and is the only kind of spurious
     * fault QEMU's TLB, which re-walks before faulting, can produce)
     * happen on purpose. */
    if (inject_hit(INJECT_PF_SLOW)) {
        uint64_t until = clock_now_ns() + PF_SLOW_NS;

        while (clock_now_ns() < until)
            arch_cpu_relax();
    }

    irq = arch_irq_save();          /* the interlock: see the top comment */
    walk_epoch_enter();             /* odd: a retype waits (defer mode) */
    spurious = tables_allow(fault_va.va, error_code);
    walk_epoch_exit();
    if (spurious)
        arch_invlpg(fault_va);      /* drop the stale entry */
    arch_irq_restore(irq);

    if (spurious)
        flush_stats_spurious_pf();
    return spurious;
}
