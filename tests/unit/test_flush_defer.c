/*
 * flush-safety=defer (shim/flush_defer.c, docs/flush-safety.md): walk
 * epochs and the grace period after a FLUSH_PT_REUSE flush, on the fake
 * arch. CPUs are simulated by switching fake_cpu_id around the walker's
 * epoch calls; fake_relax_hook is what the other CPUs do while the
 * retyping CPU spins. Cases: idle CPUs, a CPU preempted outside a walk, a
 * walk that ends during the wait, a new walk after the snapshot, a CPU
 * preempted inside its walk (bound hit: IPI fallback, counted), CPU
 * offline/online, the 2^64 wrap, the walker's bracket, and flush-safety=ipi
 * keeping Xen's rule.
 */
#include <criterion/criterion.h>
#include <minishim/flush_defer.h>
#include <minishim/spurious_pf.h>
#include "test_flush_env.h"
#include "fake/fake_console.h"

#define RETYPE (FLUSH_TLB | FLUSH_TLB_GLOBAL | FLUSH_PT_REUSE | FLUSH_TAG_PT_RETYPE)

static void as_cpu(unsigned int cpu, void (*fn)(void))
{
    unsigned int saved = fake_cpu_id;

    fake_cpu_id = cpu;
    fn();
    fake_cpu_id = saved;
}

static struct flush_defer_stats dstats(void)
{
    struct flush_defer_stats d;

    flush_defer_stats_get(&d);
    return d;
}

static struct flush_stats fstats(void)
{
    struct flush_stats s;

    flush_stats_get(&s);
    return s;
}

/* Xen L0 that assists, 4 CPUs, flush-safety=defer. */
static void setup_defer(void)
{
    env_setup(ENV_XEN_OK, 4, FLUSH_POLICY_AUTO, true);
    flush_defer_init(FLUSH_SAFETY_DEFER, 0);
}

TestSuite(flush_defer, .init = setup_defer);

/* What the other CPUs do while CPU 0 waits. */
static unsigned int hook_after;         /* spins before the event          */
static unsigned int hook_cpu;
static void (*hook_action)(void);

static void relax_hook(void)
{
    if (hook_after && --hook_after == 0)
        as_cpu(hook_cpu, hook_action);
}

static void on_spin(unsigned int after, unsigned int cpu, void (*action)(void))
{
    hook_after = after;
    hook_cpu = cpu;
    hook_action = action;
    fake_relax_hook = relax_hook;
}

static void exit_then_enter(void)
{
    walk_epoch_exit();
    walk_epoch_enter();
}

Test(flush_defer, idle_cpus_cost_no_wait)
{
    cpumask_t lag;

    cr_assert(flush_defer_grace(0, &lag));
    cr_assert(cpumask_empty(&lag));
    cr_assert_eq(fake_nr_relax, 0, "nobody walks: no spinning");
    cr_assert_eq(dstats().retypes, 1);
    cr_assert_eq(dstats().waited, 0);
}

/*
 * The case that makes IPI interlocks slow: a target vCPU preempted by L0
 * while it runs the guest (or anywhere outside the walk). The retype flush
 * goes to L0 and completes without waiting for it.
 */
Test(flush_defer, retype_assisted_without_waiting_for_a_preempted_cpu)
{
    cpumask_t all = env_mask(0x0f);
    struct flush_stats s;

    /* CPU 2 walked earlier and left; CPU 3 never ran anything. */
    as_cpu(2, walk_epoch_enter);
    as_cpu(2, walk_epoch_exit);
    flush_mask(&all, RETYPE, va(0), 0);
    s = fstats();
    cr_assert_eq(env_xen_flushes, 1, "the retype flush went to L0");
    cr_assert_eq(fake_nr_ipi_calls, 0, "no IPI at all");
    cr_assert_eq(s.reason[FLUSH_R_ASSISTED], 1);
    cr_assert_eq(s.reason[FLUSH_R_IPI_NO_ASSIST], 0, "nothing carried FLUSH_NO_ASSIST");
    cr_assert_eq(s.retype[FLUSH_R_ASSISTED], 1);
    cr_assert_eq(fake_nr_relax, 0);
    cr_assert_eq(dstats().retypes, 1);
    cr_assert_eq(dstats().waited, 0);
    cr_assert_eq(dstats().fallback, 0);
}

Test(flush_defer, waits_for_a_cpu_inside_its_walk_until_it_leaves)
{
    cpumask_t all = env_mask(0x0f);

    as_cpu(2, walk_epoch_enter);
    on_spin(5, 2, walk_epoch_exit);
    flush_mask(&all, RETYPE, va(0), 0);
    cr_assert_eq(env_xen_flushes, 1);
    cr_assert_eq(fake_nr_ipi_calls, 0, "the walk ended within the bound: no IPI");
    cr_assert_geq(fake_nr_relax, 5, "the retype did wait for the walk");
    cr_assert_eq(dstats().waited, 1);
    cr_assert_gt(dstats().wait_max_cycles, 0);
    cr_assert_eq(dstats().fallback, 0);
}

/* A walk that starts after the snapshot began after the unhook: it cannot
 * reach the page, so it is not waited for (the epoch differs). */
Test(flush_defer, a_new_walk_after_the_snapshot_ends_the_wait)
{
    cpumask_t lag;

    as_cpu(1, walk_epoch_enter);
    on_spin(3, 1, exit_then_enter);
    cr_assert(flush_defer_grace(0, &lag));
    cr_assert(walk_epoch(1) & 1, "CPU 1 is walking again");
    cr_assert_eq(fake_nr_relax, 3);
}

/* L0 preempted CPU 3 inside its walk: after FLUSH_DEFER_WAIT_NS the
 * retype falls back to the IPI interlock for that CPU only, counted. */
Test(flush_defer, preempted_inside_the_walk_hits_the_bound_and_falls_back_to_an_ipi)
{
    cpumask_t all = env_mask(0x0f);
    uint64_t t0 = fake_tsc;

    as_cpu(3, walk_epoch_enter);
    flush_mask(&all, RETYPE, va(0), 0);
    cr_assert_eq(env_xen_flushes, 1);
    cr_assert_eq(fake_nr_ipi_calls, 1, "the fallback IPI");
    cr_assert(cpumask_test(&fake_ipi_last_targets, 3));
    cr_assert_eq(cpumask_weight(&fake_ipi_last_targets), 1, "only the CPU still walking");
    cr_assert_eq(dstats().fallback, 1);
    cr_assert_eq(dstats().waited, 1);
    /* Bounded: the fake clock is 1 ns per cycle, 1000 per read. */
    cr_assert_geq(fake_tsc - t0, FLUSH_DEFER_WAIT_NS);
    cr_assert_lt(fake_tsc - t0, 4 * FLUSH_DEFER_WAIT_NS);
    /* Still counted as one assisted retype flush, not an IPI one. */
    cr_assert_eq(fstats().retype[FLUSH_R_ASSISTED], 1);
    as_cpu(3, walk_epoch_exit);
}

static void cpu3_online_and_walking(void)
{
    percpu[3].online = true;
    cpumask_set(&cpu_online_mask, 3);
    walk_epoch_enter();
}

/* An offline CPU is not walking; a CPU that comes online and starts a walk
 * after the snapshot is not waited for. */
Test(flush_defer, cpu_offline_then_online)
{
    cpumask_t lag;

    percpu[3].online = false;
    cpumask_clear_cpu(&cpu_online_mask, 3);
    cr_assert(flush_defer_grace(0, &lag), "an offline CPU needs no wait");
    cr_assert_eq(fake_nr_relax, 0);

    as_cpu(1, walk_epoch_enter);
    on_spin(2, 3, cpu3_online_and_walking);
    hook_action = cpu3_online_and_walking;
    cr_assert_not(flush_defer_grace(0, &lag), "CPU 1 never left its walk");
    cr_assert(cpumask_test(&lag, 1));
    cr_assert_not(cpumask_test(&lag, 3), "CPU 3's walk began after the snapshot");
    cr_assert(walk_epoch(3) & 1);
}

Test(flush_defer, epoch_wrap)
{
    cpumask_t lag;

    flush_defer_init(FLUSH_SAFETY_DEFER, UINT64_MAX);     /* rounded to even */
    cr_assert_eq(walk_epoch(1), UINT64_MAX - 1);
    as_cpu(1, walk_epoch_enter);
    cr_assert_eq(walk_epoch(1), UINT64_MAX, "odd: walking");
    on_spin(2, 1, walk_epoch_exit);
    cr_assert(flush_defer_grace(0, &lag));
    cr_assert_eq(walk_epoch(1), 0, "wrapped to even: not walking");
    /* Walking across the wrap: still seen as walking, then as moved on. */
    flush_defer_init(FLUSH_SAFETY_DEFER, UINT64_MAX);
    as_cpu(2, walk_epoch_enter);
    on_spin(1, 2, exit_then_enter);
    cr_assert(flush_defer_grace(0, &lag));
    cr_assert_eq(walk_epoch(2), 1);
}

Test(flush_defer, the_caller_never_waits_for_itself)
{
    cpumask_t lag;

    walk_epoch_enter();                 /* CPU 0: not a real state, but ignored */
    cr_assert(flush_defer_grace(0, &lag));
    walk_epoch_exit();
}

/* Under QEMU-direct (no L0 flush) the retype flush goes by IPI as any
 * other flush would (no backend), never as a forced one. */
Test(flush_defer, no_backend_means_ipis_but_not_forced)
{
    cpumask_t all = env_mask(0x0f);

    env_setup(ENV_NONE, 4, FLUSH_POLICY_AUTO, true);
    flush_defer_init(FLUSH_SAFETY_DEFER, 0);
    flush_mask(&all, RETYPE, va(0), 0);
    cr_assert_eq(fstats().reason[FLUSH_R_IPI_NO_BACKEND], 1);
    cr_assert_eq(fstats().reason[FLUSH_R_IPI_NO_ASSIST], 0);
    cr_assert_not(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_assert_eq(dstats().retypes, 1);
}

/* flush-safety=ipi (the default): FLUSH_PT_REUSE is Xen's rule. */
Test(flush_defer, ipi_safety_keeps_the_ipi_interlock)
{
    cpumask_t all = env_mask(0x0f);

    flush_defer_init(FLUSH_SAFETY_IPI, 0);
    as_cpu(2, walk_epoch_enter);
    flush_mask(&all, RETYPE, va(0), 0);
    cr_assert_eq(env_xen_flushes, 0, "never to L0");
    cr_assert_eq(fake_nr_ipi_calls, 1);
    cr_assert(fake_ipi_last_req.flags & FLUSH_NO_ASSIST);
    cr_assert_eq(fstats().reason[FLUSH_R_IPI_NO_ASSIST], 1);
    cr_assert_eq(fstats().retype[FLUSH_R_ASSISTED], 0);
    cr_assert_eq(dstats().retypes, 0, "no grace period in ipi mode");
    cr_assert_eq(fake_nr_relax, 0);
    as_cpu(2, walk_epoch_exit);
}

Test(flush_defer, stats_line)
{
    cpumask_t all = env_mask(0x0f);

    as_cpu(3, walk_epoch_enter);
    flush_mask(&all, RETYPE, va(0), 0);
    fake_console_capture();
    console_set_level(LOG_INFO);
    flush_stats_print();
    cr_assert(strstr(fake_console_out, "flush: safety flush-safety=defer defer-retypes=1 "
                     "defer-waited=1 defer-wait-max-cycles="), "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, " defer-fallback=1\n"), "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, " retype-local=0 retype-ipi=0 retype-assisted=1 "),
              "%s", fake_console_out);
}

/* The walker itself: its epoch is odd exactly while it reads the tables
 * (seen from the first table read) and even again afterwards. */
#define W_L4 0x100000ULL
static uint64_t epoch_seen;
static void seen_read(void)
{
    epoch_seen = walk_epoch(0);
}

Test(flush_defer, the_walker_brackets_its_walk)
{
    uint64_t before = walk_epoch(0);

    /* An empty L4: the walk reads one entry and finds it not present. */
    memset(fake_mem + W_L4, 0, 4096);
    arch_write_cr3(W_L4);
    fake_phys_read_hook = seen_read;
    cr_assert_not(spurious_page_fault(va(0x1000), PFEC_WRITE));
    cr_assert_eq(epoch_seen, before + 1, "odd while reading the tables");
    cr_assert_eq(walk_epoch(0), before + 2, "even after the walk");
}
