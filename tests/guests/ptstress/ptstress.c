/*
 * ptstress - the spurious #PF walker against page-table pages that are
 * unhooked, retyped to writable ("freed", for a PV shim whose guest frames
 * never go back to its allocator), written over and reused, round after
 * round (docs/flush-safety.md).
 *
 * vCPUs 1..3 (readers) loop on xen_version(XENVER_extraversion) into
 * their own two pages (A and B in turn) of a window that one L1 maps
 * read-only: the shim's copy to the guest faults in shim context, so the
 * shim's spurious #PF walker walks L4 -> L3 -> L2 -> that L1 with
 * interrupts off (inject=walker-delay makes the walk long). vCPU 0, per round, with L1 frame X (two frames in
 * turn, so each is reused every other round):
 *
 *   map X writable, write its entries (reader i's page -> a data page,
 *   read-only), drop the writable mapping, pin X as an L1, hook it into
 *   the window's L2; wait until every reader has faulted through it twice;
 *   add the write right to the readers' entries WITHOUT a flush (rights
 *   added, as the PV ABI allows: a walk in progress now finds the access
 *   allowed, a spurious fault the shim retries); unhook X (no remote
 *   flush: the guest asks for none, so the only flush that can interlock
 *   with a walk is the shim's own retype flush), unpin it, map it writable
 *   (the retype: the shim flushes, by IPI under its safety rule), and
 *   write over it with entries that would grant a write.
 *
 * A reader's hypercall must return 0 (a spurious fault retried) or
 * -EFAULT (the page was read-only or unhooked when the walker looked).
 * Whether the walker ever read X after the retype is the shim's to say:
 * with debug=pt-gen the runner checks walker-stale-reads= in the flush
 * statistics (0 with the safety rule in force; >= 1 with
 * inject=assist-unsafe).
 *
 * Arguments: rounds=N (default 32), expect-poison (the shim runs with
 * debug=pt-poison: X must read PT_POISON when it comes back writable).
 * Needs 2+ vCPUs (SKIP with 1).
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/version.h>

#define UP   (_P | _RW | _US | _A)

#define MAX_VCPUS 4
#define SPIN_LIMIT 400000000UL
#define DEFAULT_ROUNDS 32UL
#define WINDOW (33UL << 39)             /* L4 slot 33: empty at boot        */
#define PT_POISON 0x5a5a5a5a5a5a5a5aUL  /* the shim's (include/minishim/ptdebug.h) */

static uint8_t data[MAX_VCPUS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t canary[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* An image page whose virtual address is borrowed to map X writable. */
static volatile uint64_t wwin[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));
static uint8_t ap_stack[MAX_VCPUS][4 * PAGE_SIZE] __attribute__((aligned(16)));

static volatile unsigned long stop;
static volatile unsigned long calls[MAX_VCPUS], ok[MAX_VCPUS], efault[MAX_VCPUS];
static volatile unsigned long other[MAX_VCPUS];
static volatile long other_rc[MAX_VCPUS];
static volatile unsigned long ran[MAX_VCPUS];
static unsigned int nr_readers;

static uint64_t pte(unsigned long mfn, uint64_t flags) { return ((uint64_t)mfn << PAGE_SHIFT) | flags; }
static uint64_t ma(unsigned long mfn, unsigned int slot) { return ((uint64_t)mfn << PAGE_SHIFT) + slot * 8; }

/* ------------------------------------------------------------ readers - */

static void reader(unsigned long id)
{
    unsigned long n = 0;

    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        /* Page A (window slot 2 id), then page B (2 id + 1). */
        void *target = (void *)(WINDOW + (2 * id + (n++ & 1)) * PAGE_SIZE);
        long rc = hypercall_xen_version(XENVER_extraversion, target);

        if (rc == 0)
            ok[id]++;
        else if (rc == -XEN_EFAULT)
            efault[id]++;
        else if (!other[id]++)
            other_rc[id] = rc;
        __atomic_store_n(&calls[id], calls[id] + 1, __ATOMIC_RELEASE);
    }
}

void ap_main(unsigned long id);
GUEST_AP_ENTRY(ap_entry, ap_main);

void ap_main(unsigned long id)
{
    guest_vcpu_run(id % MAX_VCPUS, ran, reader);
}

/* ------------------------------------------------------------- vCPU 0 - */

/* Every reader made two more calls since *base (so it has faulted
 * through the current tables at least once from start to end). */
static bool readers_progressed(const unsigned long *base)
{
    for (unsigned int id = 1; id <= nr_readers; id++) {
        unsigned long i;

        for (i = 0; i < SPIN_LIMIT &&
                    __atomic_load_n(&calls[id], __ATOMIC_ACQUIRE) < base[id] + 2; i++)
            ;
        if (!check(i < SPIN_LIMIT, "reader vCPU %u made no progress (%lu calls)", id, calls[id]))
            return false;
    }
    return true;
}

static unsigned long parse_rounds(const char *args)
{
    const char *p = strstr(args, "rounds=");
    unsigned long n = 0;

    if (!p)
        return DEFAULT_ROUNDS;
    for (p += 7; *p >= '0' && *p <= '9' && n < 1000000; p++)
        n = n * 10 + (unsigned long)(*p - '0');
    return n ? n : DEFAULT_ROUNDS;
}

void test_main(void)
{
    const char *args = (const char *)start_info->cmd_line;
    bool expect_poison = strstr(args, "expect-poison") != NULL;
    unsigned long rounds = parse_rounds(args);
    unsigned long nr = start_info->nr_pages, l4, l3, l2, l1[2], wwin_mfn;
    unsigned long base[MAX_VCPUS], r, poison_seen = 0;
    unsigned int id;
    long rc;

    l4 = guest_mfn_of((const void *)start_info->pt_base);
    wwin_mfn = guest_mfn_of(wwin);
    rc = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (rc == -XEN_ENOENT)
        test_skip("needs 2 vCPUs (VCPUOP_is_up(1) = -ENOENT)");
    if (nr < 2048)
        test_skip("needs at least 8 MiB (nr_pages %lu)", nr);

    /* Window: L4[33] -> L3 -> L2 (slot 0 takes X each round); frames
     * beyond the initial mapping, cleared first. */
    {
        const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;

        l3 = p2m[nr - 12];
        l2 = p2m[nr - 11];
        l1[0] = p2m[nr - 10];
        l1[1] = p2m[nr - 9];
    }
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l3, 0) == 0, "clear the L3");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l2, 0) == 0, "clear the L2");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l1[0], 0) == 0, "clear L1 frame 0");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l1[1], 0) == 0, "clear L1 frame 1");
    check(hypercall_mmu_update_one(ma(l3, 0), pte(l2, UP)) == 0, "L3 -> L2");
    check(hypercall_mmu_update_one(ma(l4, 33), pte(l3, UP)) == 0, "hook the window's L3");
    if (test_failures())
        return;

    nr_readers = guest_start_vcpus(MAX_VCPUS, (unsigned long)ap_entry, ap_stack[0],
                                   sizeof(ap_stack[0]), l4, ran);
    if (test_failures())
        return;
    printk("ptstress: %u reader vCPUs, %lu rounds%s\n", nr_readers, rounds,
           expect_poison ? ", expecting the shim's poison" : "");

    for (r = 1; r <= rounds && !test_failures(); r++) {
        unsigned long x = l1[r & 1];

        /* (Re)build X through a writable mapping: from round 3 on this is
         * a reuse of a frame freed two rounds ago. */
        check(hypercall_update_va_mapping(wwin, pte(x, _P | _RW | _US | _A | _D), UVMF_INVLPG | UVMF_LOCAL) == 0,
              "round %lu: map X writable", r);
        for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
            wwin[i] = (i >= 2 && i < 2 * (nr_readers + 1)) ?
                      pte(guest_mfn_of(data[i / 2]), _P | _US | _A | _D) : 0;
        check(hypercall_update_va_mapping(wwin, pte(wwin_mfn, _P | _RW | _US | _A | _D), UVMF_INVLPG | UVMF_LOCAL) == 0,
              "round %lu: restore the borrowed page", r);
        check(hypercall_mmuext_one(MMUEXT_PIN_L1_TABLE, x, 0) == 0, "round %lu: pin X as an L1", r);
        check(hypercall_mmu_update_one(ma(l2, 0), pte(x, UP)) == 0, "round %lu: hook X", r);
        if (test_failures())
            break;

        /* Readers fault through X (read-only: genuine faults, long walks). */
        for (id = 1; id <= nr_readers; id++)
            base[id] = __atomic_load_n(&calls[id], __ATOMIC_ACQUIRE);
        if (!readers_progressed(base))
            break;

        /* Rights added without a flush to each reader's page A: walks in
         * progress find the write allowed (spurious faults, retried by the
         * shim). Page B stays read-only, so the readers keep walking. */
        for (id = 1; id <= nr_readers; id++)
            check(hypercall_mmu_update_one(ma(x, 2 * id), pte(guest_mfn_of(data[id]), _P | _RW | _US | _A | _D)) == 0,
                  "round %lu: add the write right to reader %u's page A", r, id);

        /* Unhook, unpin, retype to writable (the shim's retype flush), and
         * write over X at once: the walker must not be reading it. */
        check(hypercall_mmu_update_one(ma(l2, 0), 0) == 0, "round %lu: unhook X", r);
        check(hypercall_mmuext_one(MMUEXT_UNPIN_TABLE, x, 0) == 0, "round %lu: unpin X", r);
        check(hypercall_update_va_mapping(wwin, pte(x, _P | _RW | _US | _A | _D), UVMF_INVLPG | UVMF_LOCAL) == 0,
              "round %lu: map X writable (retype)", r);
        if (wwin[0] == PT_POISON && wwin[PAGE_SIZE / 8 - 1] == PT_POISON)
            poison_seen++;
        else
            check(!expect_poison, "round %lu: X not poisoned when freed (%lx)", r,
                  (unsigned long)wwin[0]);
        for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
            wwin[i] = pte(guest_mfn_of(canary), _P | _RW | _US | _A | _D);
        check(hypercall_update_va_mapping(wwin, pte(wwin_mfn, _P | _RW | _US | _A | _D), UVMF_INVLPG | UVMF_LOCAL) == 0,
              "round %lu: restore the borrowed page", r);
    }
    printk("ptstress: rounds 1..%lu done\n", r - 1);

    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (id = 1; id <= nr_readers; id++) {
        guest_wait_vcpu_down(id);
        printk("ptstress: reader %u: %lu calls, %lu spurious-retried, %lu -EFAULT, %lu other\n",
               id, calls[id], ok[id], efault[id], other[id]);
        check(other[id] == 0, "reader %u: xen_version returned %ld (%lu times): "
              "only 0 or -EFAULT are right", id, other_rc[id], other[id]);
        check(calls[id] > 0, "reader %u never called", id);
    }
    if (poison_seen)
        printk("ptstress: X held the shim's poison %lu times when it came back writable\n",
               poison_seen);
    for (unsigned int k = 0; k < 16; k++)
        check(canary[k] == 0, "the canary page was written (byte %u = %u)", k, canary[k]);

    /* Tear down: the window goes, the L1 frames are plain data again. */
    check(hypercall_mmu_update_one(ma(l4, 33), 0) == 0, "unhook the window");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l1[0], 0) == 0, "L1 frame 0 is free of references");
    check(hypercall_mmuext_one(MMUEXT_CLEAR_PAGE, l1[1], 0) == 0, "L1 frame 1 is free of references");
}
