/*
 * retype - page-table retypes while other vCPUs run in the same address
 * space: a multi-vCPU PV test guest doing guest flushes and page-table
 * retypes. vCPUs 1..3 spin reading a window of pages mapped
 * through an L1 that vCPU 0 rebuilds every round:
 *
 *   map the L1's frame writable (a type change away from a page table:
 *   the shim must flush every CPU that may cache it, by IPI), write its
 *   entries (round r maps window page i to data page (r + i) % ND), drop
 *   the writable mapping, pin it as an L1, hook it into the window's L2;
 *   let the readers check every page of the window holds the data page
 *   this round mapped there; then, once they stopped reading, unhook it,
 *   flush all vCPUs (MMUEXT_TLB_FLUSH_ALL / _MULTI) and unpin it.
 *
 * A reader that sees another round's data page read through a stale
 * translation.
 *
 * Meanwhile every reader also cycles an LDT of its own: SET_LDT, load %es
 * from it (the shim faults the LDT page in from the #GP, taking the MMU
 * lock, as Xen's LDT fault path takes a page type reference), SET_LDT 0.
 * Those lock acquisitions race vCPU 0's retypes, whose flush IPIs are sent
 * with the MMU lock held: a CPU spinning for that lock without serving
 * IPIs would never acknowledge, and both would hang.
 *
 * Between phases the guest asks the shim for its flush statistics
 * (sysctl XEN_SYSCTL_debug_keys "f", a minishim addition; any error, as
 * under Xen's own shim, means "not available").
 * Needs 2+ vCPUs (SKIP with 1); the bed gives it 4.
 */
#define __XEN_TOOLS__ 1                 /* xen/sysctl.h */
#include "guest.h"
#include <xen/errno.h>
#include <xen/sysctl.h>

#define UP   (_P | _RW | _US | _A)

#define MAX_VCPUS 4
#define SPIN_LIMIT 400000000UL
#define ROUNDS 16UL
#define NP 4                            /* window pages                     */
#define ND 7                            /* data pages (prime to NP)         */
#define WINDOW (32UL << 39)             /* L4 slot 32: empty at boot        */
#define TAG(k) (0xda7a000000000000UL | (k))

static uint8_t data[ND][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* An image page whose virtual address is borrowed to map the L1 frame
 * writable; its own frame goes back when the round is done. */
static volatile uint64_t wwin[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static uint8_t ap_stack[MAX_VCPUS][4 * PAGE_SIZE] __attribute__((aligned(16)));
static uint64_t hot[MAX_VCPUS][PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
/* Each reader's LDT page (read-only, entry 1 a flat data segment). */
static uint64_t ldtp[MAX_VCPUS][PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static volatile unsigned long ldt_cycles[MAX_VCPUS], ldt_bad[MAX_VCPUS];
#define DATA_FLAT 0x00cff3000000ffffUL  /* P, DPL 3, data RW, 4 GiB */
#define LDT_EVERY 64                    /* reader loop passes per LDT cycle */

/* phase: (round << 1) | mapped. */
static volatile unsigned long phase, stop;
static volatile unsigned long ack[MAX_VCPUS], reads[MAX_VCPUS];
static volatile unsigned long bad[MAX_VCPUS], bad_round[MAX_VCPUS], bad_page[MAX_VCPUS];
static volatile uint64_t bad_val[MAX_VCPUS];
static volatile unsigned long ran[MAX_VCPUS];

static const unsigned long *p2m;

static uint64_t pte(unsigned long mfn, uint64_t flags) { return ((uint64_t)mfn << PAGE_SHIFT) | flags; }
static uint64_t ma(unsigned long mfn, unsigned int slot) { return ((uint64_t)mfn << PAGE_SHIFT) + slot * 8; }

/* ------------------------------------------------------------ readers - */

/* SET_LDT, %es from LDT entry 1 (a #GP the shim turns into an LDT
 * fault-in), %es null again, SET_LDT 0. */
static void ldt_cycle(unsigned long id)
{
    unsigned int sel = 0x0f, got = 0;

    if (hypercall_set_ldt((uint64_t)ldtp[id], 2)) {
        ldt_bad[id]++;
        return;
    }
    asm volatile("mov %1, %%es\n\tmov %%es, %0\n\tmov %2, %%es"
                 : "=&r"(got) : "r"(sel), "r"(0u) : "memory");
    if (got != sel)
        ldt_bad[id]++;
    if (hypercall_set_ldt(0, 0))
        ldt_bad[id]++;
    ldt_cycles[id]++;
}

static void reader(unsigned long id)
{
    volatile uint64_t *win = (volatile uint64_t *)WINDOW;
    unsigned long seen = ~0UL, n = 0;

    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        unsigned long ph = __atomic_load_n(&phase, __ATOMIC_ACQUIRE);

        hot[id][n++ % (PAGE_SIZE / 8)]++;           /* other mappings stay busy */
        if (n % LDT_EVERY == 0)
            ldt_cycle(id);
        if (ph & 1) {
            unsigned long r = ph >> 1;

            for (unsigned int i = 0; i < NP; i++) {
                uint64_t v = win[i * (PAGE_SIZE / 8)];

                if (v != TAG((r + i) % ND) && !bad[id]++) {
                    bad_round[id] = r;
                    bad_page[id] = i;
                    bad_val[id] = v;
                }
            }
            reads[id]++;
        }
        if (ph != seen) {
            seen = ph;
            /* Acknowledged only after a full pass in this phase: in a
             * quiet phase, after the last read of the window. */
            __atomic_store_n(&ack[id], ph, __ATOMIC_RELEASE);
        }
    }
}

void ap_main(unsigned long id);
GUEST_AP_ENTRY(ap_entry, ap_main);

void ap_main(unsigned long id)
{
    guest_vcpu_run(id % MAX_VCPUS, ran, reader);
}


/* ------------------------------------------------------------- vCPU 0 - */

static unsigned int nr_readers;

static bool wait_acks(unsigned long ph)
{
    for (unsigned int id = 1; id <= nr_readers; id++) {
        unsigned long i;

        for (i = 0; i < SPIN_LIMIT && __atomic_load_n(&ack[id], __ATOMIC_ACQUIRE) != ph; i++)
            ;
        if (i == SPIN_LIMIT) {
            check(false, "vCPU %u never acknowledged phase %lx (it has %lx)", id, ph, ack[id]);
            return false;
        }
    }
    return true;
}

static void publish(unsigned long ph)
{
    __atomic_store_n(&phase, ph, __ATOMIC_RELEASE);
}

/* The shim's flush statistics on its console, between phases. */
static bool stats_available = true;
static long shim_stats(const char *when)
{
    long rc = guest_debug_key('f');

    if (rc == 0)
        printk("retype: shim flush stats %s (sysctl debug_keys 'f')\n", when);
    else if (stats_available)
        printk("retype: shim flush stats not available (sysctl debug_keys 'f': %ld)\n", rc);
    stats_available = rc == 0;
    return rc;
}

/* The answers an unprivileged domU gets (Xen's do_sysctl + dummy XSM),
 * checked where the shim offers key 'f' at all. */
static void sysctl_errnos(void)
{
    static const char keys[] = "fx";
    struct xen_sysctl op;

    memset(&op, 0, sizeof(op));
    op.cmd = XEN_SYSCTL_debug_keys;
    op.interface_version = XEN_SYSCTL_INTERFACE_VERSION - 1;
    check(hypercall1(__HYPERVISOR_sysctl, &op) == -XEN_EACCES, "sysctl: old interface version");
    op.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    op.cmd = XEN_SYSCTL_physinfo;
    check(hypercall1(__HYPERVISOR_sysctl, &op) == -XEN_EPERM, "sysctl physinfo from a domU");
    op.cmd = XEN_SYSCTL_debug_keys;
    set_xen_guest_handle(op.u.debug_keys.keys, keys);
    op.u.debug_keys.nr_keys = 2;
    check(hypercall1(__HYPERVISOR_sysctl, &op) == -XEN_EPERM, "sysctl debug key 'x'");
    op.u.debug_keys.nr_keys = 1;
    op.u.debug_keys.keys.p = (char *)0xffff830000000000UL;    /* the hypervisor's */
    check(hypercall1(__HYPERVISOR_sysctl, &op) == -XEN_EFAULT, "sysctl keys in the hypervisor");
    check(hypercall1(__HYPERVISOR_sysctl, (void *)0xffff830000000000UL) == -XEN_EFAULT,
          "sysctl struct in the hypervisor");
}

static void rounds(unsigned long first, unsigned long last, unsigned long l1,
                   unsigned long l2, unsigned long wwin_mfn)
{
    static uint64_t vmask;
    unsigned long r;

    vmask = (1UL << (nr_readers + 1)) - 1;
    for (r = first; r <= last && !test_failures(); r++) {
        /* A type change away from L1 (from round 2 on): the retype flush. */
        check(hypercall_update_va_mapping(wwin, pte(l1, _P | _RW | _US | _A | _D), UVMF_INVLPG | UVMF_LOCAL) == 0,
              "round %lu: map the L1 frame writable", r);
        for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
            wwin[i] = i < NP ? pte(guest_mfn_of(data[(r + i) % ND]), _P | _US | _A) : 0;
        check(hypercall_update_va_mapping(wwin, pte(wwin_mfn, _P | _RW | _US | _A | _D), UVMF_INVLPG | UVMF_LOCAL) == 0,
              "round %lu: restore the borrowed page", r);
        check(hypercall_mmuext_one(MMUEXT_PIN_L1_TABLE, l1, 0) == 0, "round %lu: pin the L1", r);
        check(hypercall_mmu_update_one(ma(l2, 0), pte(l1, UP)) == 0, "round %lu: hook the L1", r);
        if (test_failures())
            break;

        publish(r << 1 | 1);
        if (!wait_acks(r << 1 | 1))
            break;
        publish(r << 1);
        if (!wait_acks(r << 1))
            break;

        check(hypercall_mmu_update_one(ma(l2, 0), 0) == 0, "round %lu: unhook the L1", r);
        if (r & 1)
            check(hypercall_mmuext_one(MMUEXT_TLB_FLUSH_ALL, 0, 0) == 0, "round %lu: TLB_FLUSH_ALL", r);
        else
            check(hypercall_mmuext_one(MMUEXT_TLB_FLUSH_MULTI, 0, (unsigned long)&vmask) == 0, "round %lu: TLB_FLUSH_MULTI", r);
        check(hypercall_mmuext_one(MMUEXT_UNPIN_TABLE, l1, 0) == 0, "round %lu: unpin the L1", r);
    }
    printk("retype: rounds %lu..%lu done\n", first, r - 1);
}

void test_main(void)
{
    unsigned long nr = start_info->nr_pages, l4, l3, l2, l1, wwin_mfn;
    unsigned long bad_total = 0;
    unsigned int id;
    long rc;

    p2m = (const unsigned long *)start_info->mfn_list;
    l4 = guest_mfn_of((const void *)start_info->pt_base);
    wwin_mfn = guest_mfn_of(wwin);

    rc = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (rc == -XEN_ENOENT)
        test_skip("needs 2 vCPUs (VCPUOP_is_up(1) = -ENOENT)");
    if (nr < 2048)
        test_skip("needs at least 8 MiB (nr_pages %lu)", nr);

    rc = shim_stats("at start");
    if (rc == 0)
        sysctl_errnos();

    for (unsigned int k = 0; k < ND; k++) {
        ((volatile uint64_t *)data[k])[0] = TAG(k);
    }
    /* Window: L4[32] -> L3 -> L2 (slot 0 gets the L1 each round); frames
     * beyond the initial mapping, written as data first (as the mmu guest). */
    l3 = p2m[nr - 8];
    l2 = p2m[nr - 7];
    l1 = p2m[nr - 6];
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l3, 0) == 0, "clear the L3");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l2, 0) == 0, "clear the L2");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l1, 0) == 0, "clear the L1");
    check(hypercall_mmu_update_one(ma(l3, 0), pte(l2, UP)) == 0, "L3 -> L2");
    check(hypercall_mmu_update_one(ma(l4, 32), pte(l3, UP)) == 0, "hook the window's L3");
    if (test_failures())
        return;

    /* Each reader's LDT page: descriptors first, then read-only (Xen: a
     * writable mapping and PGT_seg_desc_page exclude each other). */
    for (id = 1; id < MAX_VCPUS; id++) {
        ldtp[id][1] = DATA_FLAT;
        check(hypercall_update_va_mapping(ldtp[id], pte(guest_mfn_of(ldtp[id]), _P | _US | _A | _D), UVMF_INVLPG | UVMF_ALL) == 0,
              "map vCPU %u's LDT page read-only", id);
    }
    /* Readers on vCPUs 1..3 (as many as the domain has). */
    nr_readers = guest_start_vcpus(MAX_VCPUS, (unsigned long)ap_entry, ap_stack[0],
                                   sizeof(ap_stack[0]), l4, ran);
    if (test_failures())
        return;
    printk("retype: %u reader vCPUs up, %lu rounds of L1 retypes\n", nr_readers, ROUNDS);

    rounds(1, ROUNDS / 2, l1, l2, wwin_mfn);
    shim_stats("after the first half of the rounds");
    rounds(ROUNDS / 2 + 1, ROUNDS, l1, l2, wwin_mfn);
    shim_stats("after all rounds");

    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (id = 1; id <= nr_readers; id++) {
        guest_wait_vcpu_down(id);
        bad_total += bad[id];
        check(bad[id] == 0, "stale translation: vCPU %u read %lx in window page %lu in round %lu "
              "(want %lx; %lu bad reads)", id, (unsigned long)bad_val[id], bad_page[id],
              bad_round[id], TAG((bad_round[id] + bad_page[id]) % ND), bad[id]);
        check(reads[id] > 0, "vCPU %u never read the window", id);
        check(ldt_cycles[id] > 0 && ldt_bad[id] == 0,
              "vCPU %u: %lu LDT cycles, %lu failed", id, ldt_cycles[id], ldt_bad[id]);
    }
    if (!bad_total && !test_failures())
        printk("retype: %u readers, no stale translation (reads:%lu %lu %lu, "
               "LDT cycles:%lu %lu %lu)\n", nr_readers, reads[1], reads[2], reads[3],
               ldt_cycles[1], ldt_cycles[2], ldt_cycles[3]);

    /* Tear down: the L1 is plain data again, the window is gone. */
    check(hypercall_mmu_update_one(ma(l4, 32), 0) == 0, "unhook the window");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l1, 0) == 0, "the L1 frame is free of references");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l2, 0) == 0, "the L2 frame is free of references");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l3, 0) == 0, "the L3 frame is free of references");
}
