/*
 * Fault injection (shim/inject.c): the inject= syntax (through the real
 * command-line parser), arming, use counts, the printed summary, and the
 * two first points: flush-skip:<kind> in the PV MMU's guest flushes and
 * l0-flush-fail in the flush engine.
 */
#include <stdio.h>
#include <minishim/cmdline.h>
#include <minishim/console.h>
#include <minishim/inject.h>
#include <minishim/pv_mm.h>
#include "test_mm_env.h"
#include "fake/fake_console.h"

static char warned[512];
static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    snprintf(warned, sizeof(warned), "%s", msg);
}

static unsigned int parse(const char *s, struct shim_config *cfg)
{
    warned[0] = '\0';
    cmdline_defaults(cfg);
    return cmdline_parse(s, cfg, warn_cb, NULL);
}

static void disarm(void) { inject_init(NULL); }

TestSuite(inject_parse, .fini = disarm);

Test(inject_parse, default_is_off)
{
    struct shim_config c;

    cr_assert_eq(parse("", &c), 0);
    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++)
        cr_assert_eq(c.inject.count[p], 0);
}

Test(inject_parse, every_skip_kind_by_name)
{
    static const struct { const char *kind; enum inject_point p; } k[] = {
        { "uvmf-invlpg-all", INJECT_SKIP_UVMF_INVLPG_ALL },
        { "uvmf-invlpg-multi", INJECT_SKIP_UVMF_INVLPG_MULTI },
        { "uvmf-flush-all", INJECT_SKIP_UVMF_FLUSH_ALL },
        { "uvmf-flush-multi", INJECT_SKIP_UVMF_FLUSH_MULTI },
        { "tlb-flush-all", INJECT_SKIP_TLB_FLUSH_ALL },
        { "tlb-flush-multi", INJECT_SKIP_TLB_FLUSH_MULTI },
        { "invlpg-all", INJECT_SKIP_INVLPG_ALL },
        { "invlpg-multi", INJECT_SKIP_INVLPG_MULTI },
    };
    char opt[80], name[80];
    struct shim_config c;

    for (size_t i = 0; i < ARRAY_SIZE(k); i++) {
        snprintf(opt, sizeof(opt), "inject=flush-skip:%s", k[i].kind);
        cr_assert_eq(parse(opt, &c), 0, "%s: %s", opt, warned);
        for (unsigned int p = 0; p < INJECT_NR_POINTS; p++)
            cr_assert_eq(c.inject.count[p], p == k[i].p ? 1u : 0u, "%s point %u", opt, p);
        snprintf(name, sizeof(name), "flush-skip:%s", k[i].kind);
        cr_assert_str_eq(inject_point_name(k[i].p), name);
    }
}

Test(inject_parse, counts_and_lists)
{
    struct shim_config c;

    cr_assert_eq(parse("inject=flush-skip:invlpg-all:3,l0-flush-fail", &c), 0, "%s", warned);
    cr_assert_eq(c.inject.count[INJECT_SKIP_INVLPG_ALL], 3);
    cr_assert_eq(c.inject.count[INJECT_L0_FLUSH_FAIL], 1);
    cr_assert_eq(parse("inject=l0-flush-fail:all", &c), 0);
    cr_assert_eq(c.inject.count[INJECT_L0_FLUSH_FAIL], INJECT_COUNT_ALWAYS);
    cr_assert_eq(parse("inject=l0-flush-fail:1000000", &c), 0);
    cr_assert_eq(c.inject.count[INJECT_L0_FLUSH_FAIL], 1000000);
    cr_assert_eq(parse("inject=pf-slow:all", &c), 0);
    cr_assert_eq(c.inject.count[INJECT_PF_SLOW], INJECT_COUNT_ALWAYS);
    cr_assert_str_eq(inject_point_name(INJECT_PF_SLOW), "pf-slow");
    /* Several inject= options add up (one option's length is limited); a
     * point named again takes the later count; a bad one changes nothing. */
    cr_assert_eq(parse("inject=l0-flush-fail inject=flush-skip:tlb-flush-multi:2 "
                       "inject=l0-flush-fail:5 inject=flush-skip:bogus", &c), 1);
    cr_assert_eq(c.inject.count[INJECT_L0_FLUSH_FAIL], 5);
    cr_assert_eq(c.inject.count[INJECT_SKIP_TLB_FLUSH_MULTI], 2);
    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++)
        if (p != INJECT_L0_FLUSH_FAIL && p != INJECT_SKIP_TLB_FLUSH_MULTI)
            cr_assert_eq(c.inject.count[p], 0);
}

/* The L0 and IPI points, each by its name, with and without a count;
 * "flush-skip:" does not reach them. */
Test(inject_parse, l0_and_ipi_points_by_name)
{
    static const struct { const char *name; enum inject_point p; } pts[] = {
        { "l0-evtchn-send-fail", INJECT_L0_EVTCHN_SEND_FAIL },
        { "l0-console-fail", INJECT_L0_CONSOLE_FAIL },
        { "l0-vcpuop-fail", INJECT_L0_VCPUOP_FAIL },
        { "ipi-drop", INJECT_IPI_DROP }, { "ipi-dup", INJECT_IPI_DUP },
        { "ipi-delay", INJECT_IPI_DELAY }, { "cpu-stall", INJECT_CPU_STALL },
        { "l0-memop-fail", INJECT_L0_MEMOP_FAIL },
    };
    struct shim_config c;
    char buf[96];

    for (size_t i = 0; i < ARRAY_SIZE(pts); i++) {
        snprintf(buf, sizeof(buf), "inject=%s", pts[i].name);
        cr_assert_eq(parse(buf, &c), 0, "%s: %s", buf, warned);
        cr_assert_eq(c.inject.count[pts[i].p], 1, "%s", buf);
        snprintf(buf, sizeof(buf), "inject=%s:all,l0-flush-fail:7", pts[i].name);
        cr_assert_eq(parse(buf, &c), 0, "%s: %s", buf, warned);
        cr_assert_eq(c.inject.count[pts[i].p], INJECT_COUNT_ALWAYS, "%s", buf);
        cr_assert_eq(c.inject.count[INJECT_L0_FLUSH_FAIL], 7);
        cr_assert_str_eq(inject_point_name(pts[i].p), pts[i].name);
        snprintf(buf, sizeof(buf), "inject=flush-skip:%s", pts[i].name);
        cr_assert_eq(parse(buf, &c), 1, "%s accepted", buf);
        snprintf(buf, sizeof(buf), "inject=%s:0", pts[i].name);
        cr_assert_eq(parse(buf, &c), 1, "%s accepted", buf);
    }
}

Test(inject_parse, bad_values_are_refused_whole)
{
    static const char *const bad[] = {
        "inject=", "inject=flush-skip", "inject=flush-skip:", "inject=flush-skip:nope",
        "inject=tlb-flush-all", "inject=flush-skip:tlb-flush-all:0",
        "inject=flush-skip:tlb-flush-all:1000001", "inject=flush-skip:tlb-flush-all:-1",
        "inject=flush-skip:tlb-flush-all:2x", "inject=flush-skip:tlb-flush-all:",
        "inject=flush-skip:tlb-flush-all:1:2", "inject=l0-flush-fail:", "inject=l0-flush-fail:x",
        "inject=l0-flush-fail,", "inject=,l0-flush-fail", "inject=l0-flush-fail,,invlpg-all",
        "inject=l0-flush-fail,l0-flush-fail:2", "inject=flush-skip:l0-flush-fail",
        "inject=l0-flush-failx", "inject=flush-skip:invlpg-all,bogus", "inject",
    };
    struct shim_config c;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        cr_assert_eq(parse(bad[i], &c), 1, "'%s' accepted", bad[i]);
        for (unsigned int p = 0; p < INJECT_NR_POINTS; p++)
            cr_assert_eq(c.inject.count[p], 0, "'%s' armed point %u", bad[i], p);
    }
    parse("inject=flush-skip:nope", &c);
    cr_assert(strstr(warned, "bad value 'flush-skip:nope' for inject= (expected comma list of "
                     "flush-skip:<kind>"), "%s", warned);
}

/* Arming and use counts. */
static struct inject_config cfg_of(enum inject_point p, uint32_t n)
{
    struct inject_config c;

    memset(&c, 0, sizeof(c));
    c.count[p] = n;
    return c;
}

TestSuite(inject, .fini = disarm);

Test(inject, unarmed_never_strikes)
{
    inject_init(NULL);
    cr_assert_eq(inject_armed, 0);
    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++) {
        cr_assert_not(inject_hit(p));
        cr_assert_eq(inject_fired(p), 0);
    }
}

Test(inject, counted_uses_then_disarmed)
{
    struct inject_config c = cfg_of(INJECT_SKIP_INVLPG_MULTI, 2);

    inject_init(&c);
    cr_assert_eq(inject_armed, 1u << INJECT_SKIP_INVLPG_MULTI);
    cr_assert_not(inject_hit(INJECT_SKIP_INVLPG_ALL), "another point");
    cr_assert(inject_hit(INJECT_SKIP_INVLPG_MULTI));
    cr_assert(inject_hit(INJECT_SKIP_INVLPG_MULTI));
    cr_assert_eq(inject_armed, 0, "the last use disarms the point");
    cr_assert_not(inject_hit(INJECT_SKIP_INVLPG_MULTI));
    cr_assert_not(inject_fire(INJECT_SKIP_INVLPG_MULTI), "no use left even if called");
    cr_assert_eq(inject_fired(INJECT_SKIP_INVLPG_MULTI), 2);
    cr_assert_not(inject_fire(INJECT_NR_POINTS));
}

Test(inject, all_never_runs_out)
{
    struct inject_config c = cfg_of(INJECT_L0_FLUSH_FAIL, INJECT_COUNT_ALWAYS);

    inject_init(&c);
    for (unsigned int i = 0; i < 1000; i++)
        cr_assert(inject_hit(INJECT_L0_FLUSH_FAIL));
    cr_assert_eq(inject_fired(INJECT_L0_FLUSH_FAIL), 1000);
    inject_init(NULL);
    cr_assert_not(inject_hit(INJECT_L0_FLUSH_FAIL), "re-init disarms");
    cr_assert_eq(inject_fired(INJECT_L0_FLUSH_FAIL), 0, "and resets the counters");
}

Test(inject, summary_lines)
{
    struct inject_config c;

    memset(&c, 0, sizeof(c));
    c.count[INJECT_SKIP_TLB_FLUSH_ALL] = 1;
    c.count[INJECT_SKIP_UVMF_FLUSH_MULTI] = 3;
    c.count[INJECT_L0_FLUSH_FAIL] = INJECT_COUNT_ALWAYS;
    console_remove_all_sinks();
    fake_console_capture();
    console_set_level(LOG_INFO);
    inject_init(&c);
    cr_assert(strstr(fake_console_out, "inject: flush-skip:tlb-flush-all armed (1 times)"), "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, "inject: l0-flush-fail armed (every time)"), "%s", fake_console_out);
    cr_assert(inject_hit(INJECT_SKIP_TLB_FLUSH_ALL));
    cr_assert(inject_hit(INJECT_L0_FLUSH_FAIL));
    cr_assert(inject_hit(INJECT_L0_FLUSH_FAIL));
    cr_assert(strstr(fake_console_out, "inject: flush-skip:tlb-flush-all struck (1)\n"), "%s", fake_console_out);
    fake_console_out[0] = '\0';
    inject_print();
    cr_assert(strstr(fake_console_out, "inject: flush-skip:tlb-flush-all fired 1 of 1\n"), "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, "inject: flush-skip:uvmf-flush-multi fired 0 of 3\n"), "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, "WARNING: inject: flush-skip:uvmf-flush-multi was never reached"),
              "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, "inject: l0-flush-fail fired 2 times (every time)\n"), "%s", fake_console_out);
    cr_assert_null(strstr(fake_console_out, "invlpg"), "unconfigured points are not fake_console_out: %s", fake_console_out);
    console_remove_all_sinks();
}

/*
 * flush-skip:<kind> in the PV MMU: the skipped flush still flushes this
 * CPU (the caller's own TLB) but sends nothing to vCPU 1's CPU, once; the
 * next flush of that kind is whole again; other kinds are untouched.
 */
TestSuite(inject_mm, .init = mm_setup, .fini = disarm);

#define VA_T 0x0000000040201000ULL   /* L4 0, L3 1, L2 1, L1 slot 1 */

static void live_l1(void)
{
    tab(G(0))[0] = pte(G(1), UP);
    tab(G(1))[1] = pte(G(2), UP);
    tab(G(2))[1] = pte(G(3), UP);
    cr_assert_eq(pin(G(0), 4), 0);
    cr_assert_eq(ext1(MMUEXT_NEW_BASEPTR, G(0).mfn, 0), 0);
    fake_ipi_reset(true);
}

static long uvm(uint64_t va, uint64_t val, uint64_t flags)
{
    return do_update_va_mapping(va, val, flags);
}

/* Run the guest flush of kind p once (with vCPUs 0 and 1 in its mask). */
static void guest_flush_of_kind(enum inject_point p)
{
    uint64_t bitmap = 3;

    memcpy(gbuf + 0x100, &bitmap, 8);
    switch (p) {
    case INJECT_SKIP_UVMF_INVLPG_ALL:
        cr_assert_eq(uvm(VA_T, pte(G(7), P | US), UVMF_INVLPG | UVMF_ALL), 0); break;
    case INJECT_SKIP_UVMF_INVLPG_MULTI:
        cr_assert_eq(uvm(VA_T, pte(G(7), P | US), UVMF_INVLPG | (GBUF_VA + 0x100)), 0); break;
    case INJECT_SKIP_UVMF_FLUSH_ALL:
        cr_assert_eq(uvm(VA_T, pte(G(7), P | US), UVMF_TLB_FLUSH | UVMF_ALL), 0); break;
    case INJECT_SKIP_UVMF_FLUSH_MULTI:
        cr_assert_eq(uvm(VA_T, pte(G(7), P | US), UVMF_TLB_FLUSH | (GBUF_VA + 0x100)), 0); break;
    case INJECT_SKIP_TLB_FLUSH_ALL:
        cr_assert_eq(ext1(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0); break;
    case INJECT_SKIP_TLB_FLUSH_MULTI:
        cr_assert_eq(ext1(MMUEXT_TLB_FLUSH_MULTI, 0, GBUF_VA + 0x100), 0); break;
    case INJECT_SKIP_INVLPG_ALL:
        cr_assert_eq(ext1(MMUEXT_INVLPG_ALL, VA_T, 0), 0); break;
    case INJECT_SKIP_INVLPG_MULTI:
        cr_assert_eq(ext1(MMUEXT_INVLPG_MULTI, VA_T, GBUF_VA + 0x100), 0); break;
    default:
        cr_assert_fail("not a skip point");
    }
}

Test(inject_mm, each_kind_skips_its_remote_part_once)
{
    live_l1();
    for (unsigned int p = INJECT_FIRST_SKIP; p <= INJECT_LAST_SKIP; p++) {
        struct inject_config c = cfg_of(p, 1);
        unsigned int local0;

        inject_init(&c);
        /* Every other kind: the remote CPU is flushed as usual. */
        for (unsigned int q = INJECT_FIRST_SKIP; q <= INJECT_LAST_SKIP; q++) {
            if (q == p)
                continue;
            fake_ipi_reset(true);
            guest_flush_of_kind(q);
            cr_assert_eq(fake_ipi_received[1], 1, "kind %s while %s armed",
                         inject_point_name(q), inject_point_name(p));
        }
        /* This kind: the local part only, once. */
        fake_ipi_reset(true);
        local0 = fake_cpu_invlpg[0] + fake_cpu_flushes[0] + fake_cpu_global_flushes[0];
        guest_flush_of_kind(p);
        cr_assert_eq(fake_ipi_received[1], 0, "%s: remote part not skipped", inject_point_name(p));
        cr_assert_gt(fake_cpu_invlpg[0] + fake_cpu_flushes[0] + fake_cpu_global_flushes[0],
                     local0, "%s: the local part must still run", inject_point_name(p));
        cr_assert_eq(inject_fired(p), 1);
        guest_flush_of_kind(p);
        cr_assert_eq(fake_ipi_received[1], 1, "%s: the second one is whole", inject_point_name(p));
    }
    cr_assert_eq(unpin(G(0)), 0);
    pv_mm_vcpu_destroy(&mm_vcpu);
}

Test(inject_mm, a_flush_without_remote_cpu_does_not_use_it_up)
{
    struct inject_config c = cfg_of(INJECT_SKIP_TLB_FLUSH_ALL, 1);

    live_l1();
    cpumask_clear_cpu(&mm_dirty, 1);            /* vCPU 1 never ran */
    inject_init(&c);
    cr_assert_eq(ext1(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
    cr_assert_eq(inject_fired(INJECT_SKIP_TLB_FLUSH_ALL), 0);
    cpumask_set(&mm_dirty, 1);
    cr_assert_eq(ext1(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
    cr_assert_eq(inject_fired(INJECT_SKIP_TLB_FLUSH_ALL), 1);
    cr_assert_eq(fake_ipi_received[1], 0);
    cr_assert_eq(unpin(G(0)), 0);
    pv_mm_vcpu_destroy(&mm_vcpu);
}
