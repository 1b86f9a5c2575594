/*
 * The flush engine: THE place that decides how a TLB flush is delivered
 * (no other file chooses between IPIs and L0). Callers say what and why
 * (flags); this file picks the way, in seL4's spelling of a remote
 * operation: the local part first, then the remote part, either as one
 * L0-assisted flush or as IPIs that each remote CPU acknowledges.
 *
 * The remote part goes to L0 only when all of these hold, else IPIs:
 *   - the caller did not say FLUSH_NO_ASSIST (the safety rule below),
 *   - flush= is not 'ipi',
 *   - every flag is on FLUSH_ASSIST_WHITELIST,
 *   - the backend has a flush op (in 'auto': and L0 recommends it),
 *   - and the backend accepts the request (returns 0).
 * A backend error is counted and the IPI path runs; no caller ever sees it.
 *
 * When the remote part goes to an L0 flush that also flushes the calling
 * CPU (L0_FLUSH_COVERS_CALLER: Xen's HVMOP_flush_tlbs gives every vCPU of
 * the domain, the caller included, a fresh ASID/VPID, so its whole TLB,
 * global entries too, is gone before it runs guest code again), the local
 * part is not done separately: on a nested L0 a full local flush is three
 * intercepted CR4 accesses, each an L0 round trip. If L0 fails, the local
 * part runs before the IPIs, as if L0 had never been asked.
 *
 * Timing: each remote part is timed with two TSC reads for the latency
 * histograms. Where L0 traps RDTSC (a nested or TSC-emulating L0: every
 * read is an L0 round trip, tens of µs on the test bed) timing every flush
 * would add two L0 round trips to each one, so then only one remote flush
 * in FLUSH_TIMING_SAMPLE is timed (flush_init measures what a TSC read
 * costs).
 *
 * SAFETY RULE (Xen 2020, "x86/tlb: fix assisted flush usage"): the shim's
 * spurious #PF handler (shim/spurious_pf.c) walks the live page tables
 * with interrupts disabled; a CPU in that walk cannot acknowledge a flush
 * IPI. An IPI flush therefore also proves that no CPU in the mask is still
 * walking a page-table page unhooked before the flush; an L0-assisted flush
 * proves nothing of the kind (L0 flushes a vCPU without waiting for it to
 * enable interrupts). So a flush that precedes retyping (or, once the
 * shim frees frames, freeing) a page that was a page table (L1..L4) must
 * carry FLUSH_NO_ASSIST. The TLB clock obeys the same rule (tlbclock.c).
 * Callers say FLUSH_PT_REUSE for such a flush; with flush-safety=ipi (the
 * default) it is treated as FLUSH_NO_ASSIST. With flush-safety=defer the
 * remote part may go to L0 and the walker is excluded instead by a grace
 * period over per-CPU walk epochs (shim/flush_defer.c, the argument in
 * docs/flush-safety.md), with the IPI interlock as the fallback for CPUs
 * still inside a walk when its bound is hit.
 *
 * inject=assist-unsafe breaks the rule on purpose (tests only; what it
 * shows: docs/flush-safety.md): FLUSH_NO_ASSIST is ignored, so such a
 * flush goes to L0 when L0 can take it. QEMU-direct has no L0 flush;
 * inject=fake-l0-flush stands in for one there: a flush that L0 would
 * have taken is not waited for on the CPUs inside the walker, which is
 * exactly what an assisted flush gives up (it does not wait for a target
 * to enable interrupts) and what the walker's interlock needs; the other
 * targets are flushed before it returns, as L0 would
 * (fake_l0_flush). A test device only.
 */
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/flush_defer.h>
#include <minishim/inject.h>
#include <minishim/ipi.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>
#include <minishim/tlbclock.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>

static enum flush_policy policy = FLUSH_POLICY_AUTO;

/* A TSC read dearer than this is trapped by L0 (a native RDTSC takes
 * tens of cycles, an L0 round trip thousands): time 1 remote flush in
 * FLUSH_TIMING_SAMPLE. */
#define FLUSH_TSC_TRAPPED_CYCLES 1000u
static unsigned int timing_every = 1;
static uint64_t timing_seq;
static uint64_t tsc_read_cost;

/* What one TSC read costs: the smallest gap between two back-to-back
 * reads (of a few tries: an interrupt may land in one). */
static uint64_t measure_tsc_read(void)
{
    uint64_t best = UINT64_MAX;

    for (unsigned int i = 0; i < 8; i++) {
        uint64_t a = arch_rdtsc(), b = arch_rdtsc();

        if (b - a < best)
            best = b - a;
    }
    return best;
}

void flush_init(enum flush_policy p)
{
    policy = p;
    timing_seq = 0;
    tsc_read_cost = measure_tsc_read();
    timing_every = tsc_read_cost > FLUSH_TSC_TRAPPED_CYCLES ? FLUSH_TIMING_SAMPLE : 1;
    if (timing_every > 1)
        pr_info("flush: a TSC read costs %lu cycles (trapped by L0): 1 remote flush "
                "in %u is timed\n", (unsigned long)tsc_read_cost, timing_every);
}

unsigned int flush_timing_every(void)
{
    return timing_every;
}

uint64_t flush_tsc_read_cycles(void)
{
    return tsc_read_cost;
}

enum flush_policy flush_policy(void)
{
    return policy;
}

const char *flush_policy_name(enum flush_policy p)
{
    switch (p) {
    case FLUSH_POLICY_AUTO: return "auto";
    case FLUSH_POLICY_IPI: return "ipi";
    case FLUSH_POLICY_ASSIST: return "assist";
    }
    return "?";
}

void flush_local(const struct flush_request *req)
{
    unsigned int f = req->flags;
    bool global;
    uint64_t t;

    if (!(f & (FLUSH_TLB | FLUSH_TLB_GLOBAL)))
        return;
    if ((f & FLUSH_VA_VALID) && req->order <= FLUSH_INVLPG_MAX_ORDER) {
        uint64_t base = req->va.va & PAGE_MASK;

        /* INVLPG drops global entries for the address too (SDM INVLPG).
         * A non-canonical address (a guest's bad argument) cannot be in
         * the TLB: skip it rather than rely on INVLPG ignoring it. */
        for (uint64_t i = 0; i < (1ULL << req->order); i++) {
            uint64_t a = base + i * PAGE_SIZE;

            if (is_canonical(a))
                arch_invlpg(va(a));
        }
        return;
    }
    /* A VA range too large for INVLPGs becomes a full flush that keeps
     * INVLPG's meaning: global entries go too. */
    global = (f & FLUSH_TLB_GLOBAL) || (f & FLUSH_VA_VALID);
    t = global ? tlbclock_pre_flush() : 0;
    arch_flush_tlb_local(global);
    if (global)
        tlbclock_post_flush(arch_cpu_id(), t);
}

/* Why the remote part may not (or may) go to L0. */
static enum flush_reason remote_reason(unsigned int flags)
{
    unsigned int caps;

    if (flags & FLUSH_NO_ASSIST)
        return FLUSH_R_IPI_NO_ASSIST;
    if (policy == FLUSH_POLICY_IPI)
        return FLUSH_R_IPI_POLICY;
    /* FLUSH_PT_REUSE reaches here only in defer mode (flush_mask turns it
     * into FLUSH_NO_ASSIST otherwise), where the grace period after the
     * flush does the walker's part. */
    if (flags & ~(FLUSH_ASSIST_WHITELIST | FLUSH_TAGS | FLUSH_PT_REUSE))
        return FLUSH_R_IPI_FLAGS;
    caps = l0_flush_caps();
    if (!(caps & L0_FLUSH_AVAILABLE))
        return FLUSH_R_IPI_NO_BACKEND;
    if (policy == FLUSH_POLICY_AUTO && !(caps & L0_FLUSH_RECOMMENDED))
        return FLUSH_R_IPI_NO_BACKEND;
    return FLUSH_R_ASSISTED;
}

/*
 * The remote part in L0's terms (l0.h): the flags on
 * FLUSH_ASSIST_WHITELIST translated, and whether remote is every other
 * online CPU, which lets L0 take all processors.
 */
static unsigned int l0_flags(unsigned int flags, const cpumask_t *remote,
                             unsigned int self)
{
    unsigned int l0 = 0;
    cpumask_t rest;

    if (flags & FLUSH_TLB_GLOBAL)
        l0 |= L0_FLUSH_GLOBAL;
    if (flags & FLUSH_VA_VALID)
        l0 |= L0_FLUSH_VA;
    cpumask_andnot(&rest, &cpu_online_mask, remote);
    cpumask_clear_cpu(&rest, self);
    if (cpumask_empty(&rest))
        l0 |= L0_FLUSH_ALL_OTHERS;
    return l0;
}

static void count(enum flush_reason why, unsigned int flags)
{
    flush_stats_count(why);
    if (flags & FLUSH_TAGS)
        flush_stats_count_tagged(why, flags);
}

/* Whether this remote part is timed (see the header: sampled when TSC
 * reads are L0 round trips). */
static bool timed(void)
{
    return timing_every == 1 ||
           __atomic_fetch_add(&timing_seq, 1, __ATOMIC_RELAXED) % timing_every == 0;
}

/*
 * flush-safety=defer, after a FLUSH_PT_REUSE flush: wait until no CPU is
 * still inside a spurious-#PF walk that began before the page-table page
 * was unhooked; CPUs still walking when the bound is hit get the IPI
 * interlock instead (a flush IPI, acknowledged only after their walk).
 * Run whichever way the remote part went: an IPI covers only the CPUs in
 * the mask, the epochs cover every CPU.
 */
static void defer_grace(unsigned int self, const struct flush_request *req)
{
    cpumask_t laggards;

    if (flush_defer_grace(self, &laggards))
        return;
    flush_defer_count_fallback();
    flush_ipi_mask(&laggards, req);
}

/*
 * inject=fake-l0-flush's stand-in for an L0 flush of mask, full (global
 * entries too). What an L0 flush gives and the walker's interlock needs:
 * it does not wait for a CPU inside the spurious-#PF walk (interrupts
 * off); such a CPU flushes when it next serves its IPIs. What an L0 flush
 * also gives and a test of the walker must keep: every other target is
 * flushed before the call returns (L0 takes a vCPU out of guest mode, so
 * its page walk under way ends first), here by a waited flush IPI.
 * Without that, a target's page walk under way in QEMU (not atomic
 * against other vCPU threads) could finish through a table the caller has
 * already rewritten. A CPU that enters a walk after this look is waited
 * for until it leaves it: walks are short and wait for nobody.
 */
static void fake_l0_flush(const cpumask_t *mask)
{
    struct flush_request full = { .flags = FLUSH_TLB | FLUSH_TLB_GLOBAL };
    cpumask_t walking, rest;

    cpumask_clear(&walking);
    cpumask_clear(&rest);
    for_each_cpu(c, mask)           /* odd epoch: inside the walk */
        cpumask_set(walk_epoch(c) & 1 ? &walking : &rest, c);
    if (!cpumask_empty(&walking))
        flush_ipi_async(&walking);
    if (!cpumask_empty(&rest))
        flush_ipi_mask(&rest, &full);
}

void flush_mask(const cpumask_t *mask, unsigned int flags, vaddr_t va,
                unsigned int order)
{
    struct flush_request req;
    unsigned int self = arch_cpu_id();
    bool local = cpumask_test(mask, self);
    bool grace = false;
    enum flush_reason why;
    cpumask_t remote;
    uint64_t t0 = 0;
    bool time_it, fake;

    /* The walker's interlock (SAFETY RULE above): by IPI, or by a grace
     * period after the flush, whichever way the flush itself went. */
    if (flags & FLUSH_PT_REUSE) {
        if (flush_safety() == FLUSH_SAFETY_DEFER)
            grace = true;
        else
            flags |= FLUSH_NO_ASSIST;
    }
    req = (struct flush_request){ .flags = flags, .va = va, .order = order };
    if (!(flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL))) {
        count(FLUSH_R_NOTHING, flags);
        return;
    }
    cpumask_and(&remote, mask, &cpu_online_mask);
    cpumask_clear_cpu(&remote, self);
    if (cpumask_empty(&remote)) {
        if (local)
            flush_local(&req);
        count(local ? FLUSH_R_LOCAL_ONLY : FLUSH_R_NOTHING, flags);
        if (grace)
            defer_grace(self, &req);
        return;
    }
    /* inject=assist-unsafe: the safety rule broken on purpose (see the
     * top comment). */
    if ((flags & FLUSH_NO_ASSIST) && inject_hit(INJECT_ASSIST_UNSAFE))
        flags &= ~FLUSH_NO_ASSIST;
    why = remote_reason(flags);

    /* Local part, unless the L0 flush about to be asked covers this CPU. */
    if (local && (why != FLUSH_R_ASSISTED || !(l0_flush_caps() & L0_FLUSH_COVERS_CALLER))) {
        flush_local(&req);
        local = false;
    }

    /* Remote part. */
    time_it = timed();
    if (time_it)
        t0 = arch_rdtsc();
    /* inject=fake-l0-flush: no L0 flush here (QEMU-direct); a flush L0
     * would have taken goes out as fake_l0_flush (not waited for on
     * CPUs inside the walker), and is counted as assisted. */
    fake = why == FLUSH_R_IPI_NO_BACKEND && inject_hit(INJECT_FAKE_L0_FLUSH);
    if (fake || why == FLUSH_R_ASSISTED) {
        int rc;

        if (fake) {
            fake_l0_flush(&remote);
            rc = 0;
        } else {
            /* inject=l0-flush-fail: L0 "fails", the fallback must run. */
            rc = inject_hit(INJECT_L0_FLUSH_FAIL) ? -XEN_EIO
                 : l0_flush_tlb(&remote, va, order, l0_flags(flags, &remote, self));
        }
        if (rc == 0) {
            flush_stats_remote(FLUSH_PATH_ASSIST, cpumask_weight(&remote),
                               time_it ? arch_rdtsc() - t0 : FLUSH_UNTIMED);
            count(FLUSH_R_ASSISTED, flags);
            if (grace)
                defer_grace(self, &req);
            return;
        }
        flush_stats_backend_error(rc);
        why = FLUSH_R_IPI_FALLBACK;
        /* L0 did not flush this CPU either. */
        if (local)
            flush_local(&req);
    }
    flush_ipi_mask(&remote, &req);
    flush_stats_remote(FLUSH_PATH_IPI, cpumask_weight(&remote),
                       time_it ? arch_rdtsc() - t0 : FLUSH_UNTIMED);
    count(why, flags);
    if (grace)
        defer_grace(self, &req);
}
