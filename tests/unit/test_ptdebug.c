/*
 * Page-table hazard debug aids (shim/ptdebug.c, include/minishim/ptdebug.h):
 * the debug= and inject= syntax, the walker's generation check
 * (shim/spurious_pf.c) against a generation source the test controls,
 * inject=walker-delay, the PV MMU's generation and poison (pv/mm.c), and
 * the flush engine's inject=assist-unsafe and inject=fake-l0-flush.
 */
#include <stdio.h>
#include <minishim/cmdline.h>
#include <minishim/flush_defer.h>
#include <minishim/inject.h>
#include <minishim/ipi.h>
#include <minishim/ptdebug.h>
#include <minishim/smp.h>
#include <minishim/spurious_pf.h>
#include "test_mm_env.h"
#include "fake/fake_console.h"
#include "fake/fake_inject.h"

/* ------------------------------------------------------------ syntax --- */

static unsigned int parse(const char *s, struct shim_config *cfg)
{
    cmdline_defaults(cfg);
    return cmdline_parse(s, cfg, NULL, NULL);
}

static void off(void)
{
    inject_init(NULL);
    ptdebug_init(0);
}

TestSuite(ptdebug_parse, .fini = off);

Test(ptdebug_parse, debug_values)
{
    struct shim_config c;

    cr_assert_eq(parse("", &c), 0);
    cr_assert_eq(c.debug, 0, "off by default");
    cr_assert_eq(parse("debug=pt-gen", &c), 0);
    cr_assert_eq(c.debug, PTDEBUG_GEN);
    cr_assert_eq(parse("debug=pt-poison,pt-gen", &c), 0);
    cr_assert_eq(c.debug, PTDEBUG_GEN | PTDEBUG_POISON);
    cr_assert_eq(parse("debug=pt-gen debug=off", &c), 0);
    cr_assert_eq(c.debug, 0);
    static const char *const bad[] = { "debug=", "debug=pt", "debug=pt-gen,", "debug=,pt-gen",
                                       "debug=pt-gen,bogus", "debug" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        cr_assert_eq(parse(bad[i], &c), 1, "'%s' accepted", bad[i]);
        cr_assert_eq(c.debug, 0, "'%s' changed the flags", bad[i]);
    }
}

Test(ptdebug_parse, inject_points)
{
    struct shim_config c;

    cr_assert_eq(parse("inject=walker-delay:250", &c), 0);
    cr_assert_eq(c.inject.count[INJECT_WALKER_DELAY], INJECT_COUNT_ALWAYS);
    cr_assert_eq(c.inject.walker_delay_us, 250);
    cr_assert_eq(parse("inject=assist-unsafe,fake-l0-flush", &c), 0);
    cr_assert_eq(c.inject.count[INJECT_ASSIST_UNSAFE], INJECT_COUNT_ALWAYS, "bare word: every time");
    cr_assert_eq(c.inject.count[INJECT_FAKE_L0_FLUSH], INJECT_COUNT_ALWAYS);
    cr_assert_eq(parse("inject=assist-unsafe:3", &c), 0);
    cr_assert_eq(c.inject.count[INJECT_ASSIST_UNSAFE], 3);
    cr_assert_str_eq(inject_point_name(INJECT_WALKER_DELAY), "walker-delay");
    cr_assert_str_eq(inject_point_name(INJECT_ASSIST_UNSAFE), "assist-unsafe");
    cr_assert_str_eq(inject_point_name(INJECT_FAKE_L0_FLUSH), "fake-l0-flush");
    static const char *const bad[] = {
        "inject=walker-delay", "inject=walker-delay:", "inject=walker-delay:0",
        "inject=walker-delay:1000001", "inject=walker-delay:all", "inject=walker-delay:5x",
        "inject=walker-delay:5,walker-delay:6", "inject=assist-unsafe:0", "inject=assist-unsafex",
        "inject=flush-skip:assist-unsafe",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        cr_assert_eq(parse(bad[i], &c), 1, "'%s' accepted", bad[i]);
        for (unsigned int p = 0; p < INJECT_NR_POINTS; p++)
            cr_assert_eq(c.inject.count[p], 0, "'%s' armed point %u", bad[i], p);
    }
}

/* ------------------------------------------------------------ walker --- */

#define L4_PA 0x100000ULL
#define L3_PA 0x101000ULL
#define L2_PA 0x102000ULL
#define L1_PA 0x103000ULL
#define PAGE_PA 0x200000ULL
#define VA_OFF 0x0000400040203abcULL    /* L4 0x80, L3 1, L2 1, L1 3 */
#define ALL (PTE_PRESENT | PTE_RW | PTE_USER)

static uint64_t *table(uint64_t p) { return (uint64_t *)(fake_mem + p); }

/* The generation source: frames 0x100..0x103 (the four tables). */
static uint32_t gen[4];
static unsigned int gen_calls, bump_on_call;
static int bump_index = -1;

static bool test_gen(uint64_t pfn, uint32_t *g)
{
    gen_calls++;
    if (pfn < 0x100 || pfn > 0x103)
        return false;
    /* A retype between this walk's before and after reads. */
    if (gen_calls == bump_on_call && bump_index >= 0)
        gen[bump_index]++;
    *g = gen[pfn - 0x100];
    return true;
}

static void walk_setup(void)
{
    fake_reset();
    flush_stats_reset();
    inject_init(NULL);
    table(L4_PA)[0x80] = L3_PA | ALL;
    table(L3_PA)[1] = L2_PA | ALL;
    table(L2_PA)[1] = L1_PA | ALL;
    table(L1_PA)[3] = PAGE_PA | ALL;
    arch_write_cr3(L4_PA);
    for (unsigned int i = 0; i < 4; i++)
        gen[i] = 1;                     /* odd: page tables */
    gen_calls = 0;
    bump_on_call = 0;
    bump_index = -1;
    ptdebug_set_gen_source(test_gen);
    ptdebug_init(PTDEBUG_GEN);
}

static uint64_t stale_reads(void)
{
    struct flush_stats st;

    flush_stats_get(&st);
    return st.walker_stale_reads;
}

TestSuite(ptdebug_walker, .init = walk_setup, .fini = off);

Test(ptdebug_walker, off_means_no_check)
{
    ptdebug_init(0);
    gen[3] = 2;                         /* would be stale */
    cr_assert(spurious_page_fault(va(VA_OFF), PFEC_WRITE));
    cr_assert_eq(gen_calls, 0, "the source is not asked when the aid is off");
    cr_assert_eq(stale_reads(), 0);
}

Test(ptdebug_walker, live_tables_pass)
{
    cr_assert(spurious_page_fault(va(VA_OFF), PFEC_WRITE), "the walk's answer is unchanged");
    cr_assert_eq(gen_calls, 8, "before and after each of the four reads");
    cr_assert_eq(stale_reads(), 0);
}

Test(ptdebug_walker, table_no_longer_a_table_is_a_stale_read)
{
    unsigned int inv = fake_nr_invlpg;

    gen[3] = 2;                         /* the L1 was retyped before the read */
    fake_console_capture();
    console_set_level(LOG_INFO);
    cr_assert_not(spurious_page_fault(va(VA_OFF), PFEC_WRITE), "a stale read is never spurious");
    cr_assert_eq(fake_nr_invlpg, inv, "no INVLPG");
    cr_assert_eq(stale_reads(), 1);
    cr_assert(strstr(fake_console_out, "debug: walker stale read #1: va 0x400040203abc level 1 "
                     "table 0x103000[3] generation 2 -> 0 entry 0x200007"), "%s", fake_console_out);
}

Test(ptdebug_walker, retype_during_the_read_is_a_stale_read)
{
    bump_on_call = 8;                   /* the L1's after-read */
    bump_index = 3;
    table(L1_PA)[3] = PT_POISON;
    fake_console_capture();
    console_set_level(LOG_INFO);
    cr_assert_not(spurious_page_fault(va(VA_OFF), PFEC_WRITE));
    cr_assert_eq(stale_reads(), 1);
    cr_assert(strstr(fake_console_out, "generation 1 -> 2 entry 0x5a5a5a5a5a5a5a5a (poison)"),
              "%s", fake_console_out);
}

Test(ptdebug_walker, upper_level_and_reuse_are_caught_too)
{
    bump_on_call = 4;                   /* the L3's after-read: odd again = reused */
    bump_index = 1;
    gen[1] = 1;
    cr_assert_not(spurious_page_fault(va(VA_OFF), PFEC_WRITE));
    cr_assert_eq(stale_reads(), 1);
    cr_assert_eq(gen_calls, 4, "the walk stops at the stale read");
}

Test(ptdebug_walker, untracked_frames_are_not_checked)
{
    ptdebug_set_gen_source(NULL);
    cr_assert(spurious_page_fault(va(VA_OFF), PFEC_WRITE));
    cr_assert_eq(stale_reads(), 0);
}

Test(ptdebug_walker, walker_delay_before_the_level_1_read_with_irqs_off)
{
    struct inject_config ic;
    uint64_t t0;

    memset(&ic, 0, sizeof(ic));
    ic.count[INJECT_WALKER_DELAY] = INJECT_COUNT_ALWAYS;
    ic.walker_delay_us = 50;
    inject_init(&ic);
    cr_assert_eq(inject_walker_delay_us(), 50);
    t0 = fake_tsc;
    cr_assert(spurious_page_fault(va(VA_OFF), PFEC_WRITE));
    cr_assert_eq(inject_fired(INJECT_WALKER_DELAY), 1);
    cr_assert_geq(fake_tsc - t0, 50 * 1000, "waited 50 us (fake 1 GHz TSC)");
    cr_assert(fake_irqs_on, "interrupts restored");
    /* A walk that ends above level 1 does not wait. */
    table(L2_PA)[1] = 0;
    cr_assert_not(spurious_page_fault(va(VA_OFF), PFEC_WRITE));
    cr_assert_eq(inject_fired(INJECT_WALKER_DELAY), 1);
}

/* ---------------------------------------------------------- PV MMU ---- */

static uint32_t gen_at_retype_send;
static mfn_t watched;

/* The real flush_ipi_mask with this as the APIC: record the watched
 * frame's generation when the retype flush goes out, then serve it as
 * each target would. */
static void send_hook(const cpumask_t *targets, unsigned int vector)
{
    unsigned int self = fake_cpu_id;

    (void)vector;
    gen_at_retype_send = pv_mm_frame(watched)->pt_gen;
    for_each_cpu(c, targets) {
        fake_cpu_id = c;
        ipi_service();
    }
    fake_cpu_id = self;
}

static void mm_pt_setup(void)
{
    mm_setup();
    inject_init(NULL);
    /* L4 G0 -> L3 G1 -> L2 G2 -> L1 G3 (slot 1 of each). */
    tab(G(0))[0] = pte(G(1), UP);
    tab(G(1))[1] = pte(G(2), UP);
    tab(G(2))[1] = pte(G(3), UP);
    tab(G(3))[5] = pte(G(7), P | US);
}

static void mm_pt_fini(void)
{
    ipi_set_send_hook(NULL);
    off();
}

TestSuite(ptdebug_mm, .init = mm_pt_setup, .fini = mm_pt_fini);

Test(ptdebug_mm, generation_odd_while_a_table_even_after_the_retype_flush)
{
    uint32_t g;
    uint64_t kept;

    cr_assert_eq(F(G(3))->pt_gen, 0, "never a table");
    cr_assert_eq(pin(G(0), 4), 0);
    cr_assert_eq(F(G(3))->pt_gen & 1, 1, "validated as an L1");
    g = F(G(3))->pt_gen;
    cr_assert(ptdebug_table_gen(G(3).mfn << PAGE_SHIFT, &g));
    cr_assert_eq(g, F(G(3))->pt_gen, "the walker's source is the PV MMU");
    cr_assert_not(ptdebug_table_gen(SHIM_FRAME.mfn << PAGE_SHIFT, &g), "shim frames untracked");

    /* Unhook and unpin: still a table (count 0, type kept). */
    cr_assert_eq(set_entry(G(2), 1, 0), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_assert_eq(F(G(3))->pt_gen, 1, "devalidated, not freed");

    /* Writable: the retype. The flush must go out while the generation
     * still says "table"; it moves right after. */
    fake_ipi_reset(false);
    ipi_set_send_hook(send_hook);
    watched = G(3);
    gen_at_retype_send = 99;
    kept = tab(G(3))[5];
    cr_assert_eq(pv_mm_get_page_and_type(G(3), PGT_WRITABLE), 0);
    cr_assert_eq(gen_at_retype_send, 1, "flush sent before the generation moved");
    cr_assert_eq(F(G(3))->pt_gen, 2);
    cr_assert_eq(tab(G(3))[5], kept, "no poison unless asked: contents kept");
    cr_assert_neq(kept, 0);
    pv_mm_put_page_and_type(G(3));

    /* Reused as an L1: odd again, a new generation. */
    cr_assert_eq(pin(G(3), 1), 0);
    cr_assert_eq(F(G(3))->pt_gen, 3);
}

Test(ptdebug_mm, poison_on_retype_to_writable_only)
{
    ptdebug_init(PTDEBUG_POISON);
    cr_assert_eq(pin(G(3), 1), 0);
    cr_assert_eq(unpin(G(3)), 0);
    cr_assert_eq(pv_mm_get_page_and_type(G(3), PGT_WRITABLE), 0);
    for (unsigned int i = 0; i < 512; i++)
        cr_assert_eq(tab(G(3))[i], PT_POISON, "entry %u", i);
    pv_mm_put_page_and_type(G(3));
    /* Writable -> L1 is no free: nothing written. */
    tab(G(3))[0] = 0;
    cr_assert_eq(pin(G(3), 1), 0);
    cr_assert_eq(tab(G(3))[1], PT_POISON);
    cr_assert_eq(tab(G(3))[0], 0);
}

/* ----------------------------------------------------------- flushes --- */

Test(ptdebug_mm, assist_unsafe_lets_a_retype_flush_skip_the_ipis)
{
    struct inject_config ic;
    struct flush_stats st;

    memset(&ic, 0, sizeof(ic));
    ic.count[INJECT_ASSIST_UNSAFE] = INJECT_COUNT_ALWAYS;
    ic.count[INJECT_FAKE_L0_FLUSH] = INJECT_COUNT_ALWAYS;
    cr_assert_eq(pin(G(3), 1), 0);
    cr_assert_eq(unpin(G(3)), 0);
    inject_init(&ic);
    fake_ipi_reset(true);
    /* CPU 2 is inside the spurious-#PF walk: the stand-in for L0's flush
     * does not wait for it (nor would L0); every other CPU is flushed
     * before the retype goes on, as L0's flush would have. */
    fake_cpu_id = 2;
    walk_epoch_enter();
    fake_cpu_id = 0;
    cr_assert_eq(pv_mm_get_page_and_type(G(3), PGT_WRITABLE), 0);
    fake_cpu_id = 2;
    walk_epoch_exit();
    fake_cpu_id = 0;
    cr_assert_eq(fake_nr_ipi_calls, 1, "one waited flush IPI, for the CPUs outside the walk");
    cr_assert_not(cpumask_test(&fake_ipi_last_targets, 2), "the walking CPU is not waited for");
    cr_assert(cpumask_test(&fake_ipi_last_targets, 1), "a CPU outside the walk is flushed at once");
    cr_assert_eq(fake_ipi_last_req.flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL), FLUSH_TLB | FLUSH_TLB_GLOBAL);
    cr_assert_eq(inject_fired(INJECT_ASSIST_UNSAFE), 1);
    cr_assert_eq(inject_fired(INJECT_FAKE_L0_FLUSH), 1);
    flush_stats_get(&st);
    cr_assert_eq(st.retype[FLUSH_R_ASSISTED], 1, "counted as the L0 flush it stands for");
    pv_mm_put_page_and_type(G(3));
}

Test(ptdebug_mm, without_assist_unsafe_the_rule_holds_even_with_a_fake_l0)
{
    struct flush_stats st;

    cr_assert_eq(pin(G(3), 1), 0);
    cr_assert_eq(unpin(G(3)), 0);
    fake_inject_arm(INJECT_FAKE_L0_FLUSH, INJECT_COUNT_ALWAYS);
    fake_ipi_reset(true);
    cr_assert_eq(pv_mm_get_page_and_type(G(3), PGT_WRITABLE), 0);
    cr_assert_eq(fake_nr_ipi_calls, 1, "the retype flush is an IPI flush");
    cr_assert_eq(inject_fired(INJECT_FAKE_L0_FLUSH), 0);
    flush_stats_get(&st);
    cr_assert_eq(st.retype[FLUSH_R_IPI_NO_ASSIST], 1);
    pv_mm_put_page_and_type(G(3));
}
