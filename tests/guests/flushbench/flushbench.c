/*
 * flushbench - remote TLB flush latency and throughput from a PV guest's
 * view, for `make bench` (scripts/bench.sh, docs/bench.md).
 *
 * vCPU 0 brings every other vCPU of the domain up (up to MAX_VCPUS); each
 * keeps reading one page, so its TLB holds the translation the flushes
 * below must remove. vCPU 0 then times, with the TSC scaled by its
 * pvclock record (vcpu_time_info, as Linux's pvclock does), `iters`
 * calls (each timed alone, then batches of `iters` more back-to-back for
 * the throughput) of each way a PV guest flushes other vCPUs with a
 * vCPU mask (xen/include/public/xen.h):
 *
 *   tlb-flush-multi   mmuext_op MMUEXT_TLB_FLUSH_MULTI, mask = all vCPUs
 *   invlpg-multi      mmuext_op MMUEXT_INVLPG_MULTI of the page, same mask
 *   uvm-invlpg-multi  update_va_mapping of the page to the next of three
 *                     frames with UVMF_INVLPG | UVMF_MULTI (mask pointer)
 *
 * and prints one machine-readable line per method:
 *
 *   BENCH flushbench method=M vcpus=N n=K min_ns=.. median_ns=.. max_ns=..
 *         mean_ns=.. ops_per_s=.. ops_per_s_worst=.. batches=.. clock_suspect=..
 *
 * (ops_per_s: the median of the back-to-back batches' rates, worst: the
 * slowest batch's, batches: how many were kept, clock_suspect: how many
 * were left out because the clock stalled or jumped; see bench())
 *
 * plus one "BENCH flushbench info" line: vCPUs, the guest's TSC at entry
 * in ns (not comparable across shims: a shim may emulate rdtsc from its
 * own clock), the guest's memory (start_info nr_pages, for the shim's
 * memory overhead per guest) and the cost of two rdtscs, subtracted from
 * each latency sample. Guest command line: iters=N
 * (1..MAX_ITERS, default 64), hold (see hold_req). One vCPU is valid: every mask is then this
 * vCPU alone (a local flush), the baseline.
 *
 * The run passes when every hypercall returned 0, every reader ran and,
 * in an untimed verify phase after the benchmark (remap, publish, wait
 * for every reader's acknowledgement), each reader saw the new frame:
 * the flushes measured really reached the other vCPUs.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/vcpu.h>

#define MAX_VCPUS 8
#define MAX_ITERS 1024
#define DEFAULT_ITERS 64
#define SPIN_LIMIT 400000000UL

static uint8_t ap_stack[MAX_VCPUS][4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct vcpu_guest_context ctx;

/* The page the readers keep in their TLBs; uvm-invlpg-multi cycles its
 * mapping through three frames (its own, page_b's, page_c's), generation
 * g mapping frame g % 3: a reader that saw generation g published and
 * still sees it after its read may find frame g or g + 1 (vCPU 0 may have
 * remapped again but not published yet), never frame g - 1. */
static const uint64_t page_val[3] = {
    0xa5a5a5a5a5a5a5a5UL, 0x5b5b5b5b5b5b5b5bUL, 0xc3c3c3c3c3c3c3c3UL,
};
static volatile uint64_t hot_page[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static volatile uint64_t page_b[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static volatile uint64_t page_c[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));

static volatile unsigned long reads[MAX_VCPUS];
static volatile int running[MAX_VCPUS];
static volatile int stop;
/* Generation check for uvm-invlpg-multi: after vCPU 0 publishes gen, a
 * reader must see the frame of that generation (else a flush was lost). */
static volatile unsigned long gen;
static volatile unsigned long stale[MAX_VCPUS];
/* The first stale read of each reader, for the report: in which phase
 * (1 timed benchmark, 2 verify), the generation published, the value
 * read, and how many reads that reader had done by then. */
static volatile unsigned long stale_phase[MAX_VCPUS], stale_gen[MAX_VCPUS];
static volatile uint64_t stale_val[MAX_VCPUS];
static volatile unsigned long stale_at[MAX_VCPUS], stale_bench[MAX_VCPUS];

static void note_stale(unsigned long id, unsigned long phase, unsigned long g, uint64_t x)
{
    if (!stale[id]) {
        stale_phase[id] = phase;
        stale_gen[id] = g;
        stale_val[id] = x;
        stale_at[id] = reads[id];
    }
    if (phase == 1)
        stale_bench[id]++;
    stale[id]++;
}
/* Verify phase (untimed, after the benchmark): vCPU 0 remaps, publishes
 * gen and waits for every reader to acknowledge it, so a reader must see
 * exactly frame gen % 3. */
#define VERIFY_ROUNDS 12
static volatile int verify;
/* Guest command line "hold" (a regression test of the check itself):
 * before the verify phase vCPU 0 holds every reader between its load of
 * gen and its read of the page, remaps once, enters the verify phase,
 * then lets them go. */
static volatile int hold_req;
static volatile int held[MAX_VCPUS];
static volatile unsigned long ack[MAX_VCPUS];

static unsigned long vmask __attribute__((aligned(8)));
static uint64_t samples[MAX_ITERS];
static struct shared_info *shinfo;
static const unsigned long *p2m;

static uint64_t page_value(unsigned long g)
{
    return page_val[g % 3];
}

void ap_main(unsigned long id);
asm(".pushsection .text\n"
    ".globl fb_ap_entry\n"
    "fb_ap_entry:\n"
    "    call ap_main\n"
    "    ud2\n"
    ".popsection");
extern char fb_ap_entry[];

/* vCPUs 1..: read the hot page until told to stop, then go down. */
void ap_main(unsigned long id)
{
    (void)hot_page[0];
    __atomic_store_n(&running[id], 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        /*
         * verify first, then gen, then the page: a generation read before
         * the verify phase began (the reader preempted by L0 between its
         * loads) is older than the ack vCPU 0 set, and comparing the page
         * against it (or acknowledging it) reported a stale read that was
         * none: the frame read was newer than that generation.
         */
        int in_verify = __atomic_load_n(&verify, __ATOMIC_ACQUIRE);
        unsigned long g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
        uint64_t x;

        /* hold: vCPU 0 makes exactly that interleaving happen. */
        if (__atomic_load_n(&hold_req, __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&held[id], 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(&hold_req, __ATOMIC_ACQUIRE))
                ;
        }
        x = hot_page[0];
        if (in_verify) {
            if (g != ack[id]) {
                if (x != page_value(g))
                    note_stale(id, 2, g, x);
                __atomic_store_n(&ack[id], g, __ATOMIC_RELEASE);
            }
        } else if (g && x == page_value(g + 2) &&
                   __atomic_load_n(&gen, __ATOMIC_ACQUIRE) == g) {
            note_stale(id, 1, g, x);
        }
        reads[id]++;
    }
    for (;;)
        hypercall_vcpu_op(VCPUOP_down, (unsigned int)id, NULL);
}

/* Linux pvclock_scale_delta(): ((delta << shift) * mul) >> 32. */
static uint64_t tsc_to_ns(uint64_t delta)
{
    volatile struct vcpu_time_info *t = &shinfo->vcpu_info[0].time;
    uint32_t mul = t->tsc_to_system_mul;
    int8_t shift = t->tsc_shift;

    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

static void map_shared_info(void)
{
    shinfo = guest_map_shared_info();
}

static unsigned long mfn_of(const volatile void *p)
{
    return p2m[((unsigned long)p - (unsigned long)_image_start) >> PAGE_SHIFT];
}

static unsigned long parse_iters(const char *cmdline)
{
    const char *p = strstr(cmdline, "iters=");
    unsigned long n = 0;

    if (!p)
        return DEFAULT_ITERS;
    for (p += 6; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (unsigned long)(*p - '0');
    if (n < 1 || n > MAX_ITERS)
        test_fatal("iters=%lu out of range 1..%u", n, MAX_ITERS);
    return n;
}

static void sort(uint64_t *a, unsigned long n)
{
    for (unsigned long i = 1; i < n; i++) {
        uint64_t v = a[i];
        unsigned long j = i;

        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

enum method { M_TLB_FLUSH_MULTI, M_INVLPG_MULTI, M_UVM_INVLPG_MULTI, NR_METHODS };
static const char *const method_name[NR_METHODS] = {
    "tlb-flush-multi", "invlpg-multi", "uvm-invlpg-multi",
};

static long one_flush(enum method m, unsigned long g)
{
    struct mmuext_op op;

    switch (m) {
    case M_UVM_INVLPG_MULTI: {
        const volatile void *frame = g % 3 == 0 ? hot_page : g % 3 == 1 ? page_b : page_c;
        unsigned long mfn = mfn_of(frame);

        /* present, writable, user (a 64-bit PV kernel runs in ring 3), A, D */
        return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)hot_page,
                          ((uint64_t)mfn << PAGE_SHIFT) | 0x67,
                          UVMF_INVLPG | UVMF_MULTI | (unsigned long)&vmask);
    }
    default:
        memset(&op, 0, sizeof(op));
        op.cmd = m == M_TLB_FLUSH_MULTI ? MMUEXT_TLB_FLUSH_MULTI : MMUEXT_INVLPG_MULTI;
        op.arg1.linear_addr = (unsigned long)hot_page;
        set_xen_guest_handle(op.arg2.vcpumask, &vmask);
        return hypercall4(__HYPERVISOR_mmuext_op, &op, 1, NULL, DOMID_SELF);
    }
}

/* What two back-to-back rdtscs cost (a reference shim may emulate rdtsc
 * for its guest, Xen's tsc_mode "default"): subtracted from every
 * latency sample, printed as tsc_overhead_ns. */
static uint64_t tsc_overhead;

static void measure_tsc_overhead(void)
{
    for (unsigned long i = 0; i < 64; i++) {
        uint64_t a = guest_rdtsc();

        samples[i] = guest_rdtsc() - a;
    }
    sort(samples, 64);
    tsc_overhead = samples[32];
}

/*
 * Latency: iters flushes, each timed alone. Throughput: THR_BATCHES
 * batches of iters more, back-to-back with no rdtsc between them inside a
 * batch (an emulated rdtsc does not count there at all), and ops_per_s is
 * the median batch's rate. One batch alone measured mostly whether a
 * multi-millisecond preemption of a vCPU (L0's scheduler, or the host's
 * under the nested bed) fell into it: 32 flushes of ~50 us and one 10 ms
 * stall read as a quarter of the rate, on either shim. The median of
 * several batches is the rate when no such stall hits, which is what
 * the two shims' flush paths decide; the stalls stay visible in max_ns.
 */
#define THR_BATCHES 7

static void bench(enum method m, unsigned int vcpus, unsigned long iters)
{
    uint64_t sum = 0, raw_min = UINT64_MAX, floor_cycles;
    uint64_t batch[THR_BATCHES];  /* ns per good batch */
    unsigned long i, b, good = 0, suspect = 0;
    long rc = 0;

    for (i = 0; i < iters; i++) {
        uint64_t a = guest_rdtsc(), z;

        rc = one_flush(m, gen + 1);
        z = guest_rdtsc();
        if (rc) {
            check(false, "%s: flush %lu returned %ld", method_name[m], i, rc);
            return;
        }
        if (m == M_UVM_INVLPG_MULTI)
            __atomic_add_fetch(&gen, 1, __ATOMIC_RELEASE);
        if (z - a < raw_min)
            raw_min = z - a;
        samples[i] = z - a > tsc_overhead ? z - a - tsc_overhead : 0;
        sum += samples[i];
    }
    /* iters flushes cannot take less than iters times the fastest one
     * timed alone (minus the rdtscs it included): a batch the clock says
     * was faster saw it stall or jump back, and is left out (counted in
     * clock_suspect); with no batch left ops_per_s=0. */
    floor_cycles = iters * (raw_min > tsc_overhead ? raw_min - tsc_overhead : 0) / 2;
    for (b = 0; b < THR_BATCHES && !rc; b++) {
        uint64_t t0 = guest_rdtsc(), t1, ns;

        for (i = 0; i < iters && !rc; i++) {
            rc = one_flush(m, gen + 1);
            if (!rc && m == M_UVM_INVLPG_MULTI)
                __atomic_add_fetch(&gen, 1, __ATOMIC_RELEASE);
        }
        t1 = guest_rdtsc();
        ns = (int64_t)(t1 - t0) > 0 ? tsc_to_ns(t1 - t0) : 0;
        if (!ns || t1 - t0 < floor_cycles)
            suspect++;
        else
            batch[good++] = ns;
    }
    if (!check(rc == 0, "%s: throughput flush returned %ld", method_name[m], rc))
        return;
    sort(samples, iters);
    sort(batch, good);
    printk("BENCH flushbench method=%s vcpus=%u n=%lu min_ns=%lu median_ns=%lu "
           "max_ns=%lu mean_ns=%lu ops_per_s=%lu ops_per_s_worst=%lu batches=%lu "
           "clock_suspect=%lu\n",
           method_name[m], vcpus, iters,
           (unsigned long)tsc_to_ns(samples[0]),
           (unsigned long)tsc_to_ns(samples[iters / 2]),
           (unsigned long)tsc_to_ns(samples[iters - 1]),
           (unsigned long)tsc_to_ns(sum / iters),
           good ? (unsigned long)(iters * 1000000000UL / batch[good / 2]) : 0UL,
           good ? (unsigned long)(iters * 1000000000UL / batch[good - 1]) : 0UL,
           good, suspect);
}

void test_main(void)
{
    uint64_t entry_tsc = guest_rdtsc();
    unsigned long iters = parse_iters((const char *)start_info->cmd_line);
    unsigned long l4;
    unsigned int vcpus = 1, id, ran = 0;

    p2m = (const unsigned long *)start_info->mfn_list;
    l4 = mfn_of((const void *)start_info->pt_base);
    map_shared_info();
    hot_page[0] = page_val[0];
    page_b[0] = page_val[1];
    page_c[0] = page_val[2];

    while (vcpus < MAX_VCPUS && hypercall_vcpu_op(VCPUOP_is_up, vcpus, NULL) >= 0)
        vcpus++;
    vmask = (1UL << vcpus) - 1;
    for (id = 1; id < vcpus; id++) {
        long rc;

        guest_vcpu_ctx(&ctx, (unsigned long)fb_ap_entry,
                       (unsigned long)(ap_stack[id] + sizeof(ap_stack[id])), id, l4);
        rc = hypercall_vcpu_op(VCPUOP_initialise, id, &ctx);
        if (!rc)
            rc = hypercall_vcpu_op(VCPUOP_up, id, NULL);
        if (rc)
            test_fatal("vCPU %u: initialise/up %ld", id, rc);
    }
    for (id = 1; id < vcpus; id++) {
        for (unsigned long i = 0; i < SPIN_LIMIT && !__atomic_load_n(&running[id], __ATOMIC_ACQUIRE); i++)
            ;
        check(running[id], "vCPU %u never started reading", id);
    }
    measure_tsc_overhead();
    printk("BENCH flushbench info vcpus=%u iters=%lu entry_ns=%lu guest_kib=%lu "
           "tsc_overhead_ns=%lu\n",
           vcpus, iters, (unsigned long)tsc_to_ns(entry_tsc),
           start_info->nr_pages * (PAGE_SIZE / 1024), (unsigned long)tsc_to_ns(tsc_overhead));

    for (enum method m = 0; m < NR_METHODS; m++)
        bench(m, vcpus, iters);

    if (strstr((const char *)start_info->cmd_line, "hold")) {
        __atomic_store_n(&hold_req, 1, __ATOMIC_RELEASE);
        for (id = 1; id < vcpus; id++) {
            unsigned long i;

            for (i = 0; i < SPIN_LIMIT && !__atomic_load_n(&held[id], __ATOMIC_ACQUIRE); i++)
                ;
            check(i < SPIN_LIMIT, "hold: vCPU %u never held", id);
        }
        check(one_flush(M_UVM_INVLPG_MULTI, gen + 1) == 0, "hold: remap failed");
        __atomic_add_fetch(&gen, 1, __ATOMIC_RELEASE);
        printk("flushbench: readers held across a remap into the verify phase\n");
    }

    /* Untimed: each remap's flush must reach every reader. */
    for (id = 1; id < vcpus; id++)
        ack[id] = gen;
    __atomic_store_n(&verify, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&hold_req, 0, __ATOMIC_RELEASE);
    for (unsigned int r = 0; r < VERIFY_ROUNDS && !test_failures(); r++) {
        unsigned long g = gen + 1;

        check(one_flush(M_UVM_INVLPG_MULTI, g) == 0, "verify: remap failed");
        __atomic_store_n(&gen, g, __ATOMIC_RELEASE);
        for (id = 1; id < vcpus; id++) {
            unsigned long i;

            for (i = 0; i < SPIN_LIMIT && __atomic_load_n(&ack[id], __ATOMIC_ACQUIRE) != g; i++)
                ;
            check(i < SPIN_LIMIT, "verify: vCPU %u never acknowledged generation %lu", id, g);
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (id = 1; id < vcpus; id++) {
        unsigned long i;

        for (i = 0; i < SPIN_LIMIT && hypercall_vcpu_op(VCPUOP_is_up, id, NULL) != 0; i++)
            ;
        check(i < SPIN_LIMIT, "vCPU %u did not go down", id);
        if (stale[id])
            printk("flushbench: vCPU %u stale reads: %lu in the timed phase, %lu in "
                   "verify; the first in the %s phase at generation %lu (value %lx: "
                   "the frame of generation %lu + 3k, k any integer) after %lu reads\n",
                   id, stale_bench[id],
                   stale[id] - stale_bench[id], stale_phase[id] == 1 ? "timed" : "verify",
                   stale_gen[id], (unsigned long)stale_val[id],
                   stale_val[id] == page_value(stale_gen[id] + 2) ? stale_gen[id] + 2 :
                   stale_val[id] == page_value(stale_gen[id] + 1) ? stale_gen[id] + 1 :
                   stale_gen[id], stale_at[id]);
        check(stale[id] == 0, "vCPU %u read the old frame %lu times after a "
              "uvm-invlpg-multi flush returned", id, stale[id]);
        ran += reads[id] != 0;
    }
    /* Back on its own frame. */
    check(one_flush(M_UVM_INVLPG_MULTI, 0) == 0, "final remap failed");
    check(hot_page[0] == page_val[0], "hot page is back on its own frame");
    printk("BENCH flushbench done readers=%u\n", ran);
}
