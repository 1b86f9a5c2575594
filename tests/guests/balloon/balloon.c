/*
 * balloon - the guest gives memory back and takes it again, as Linux's
 * balloon driver does (drivers/xen/balloon.c: XENMEM_decrease_reservation
 * of unmapped frames, XENMEM_populate_physmap of the pfns, order 0).
 *
 * Checks: current/maximum reservation before and after; Xen's stops for
 * bad input (a frame past max_page, an order above the domU maximum, a
 * start extent at the end, the same frame given twice); a frame given
 * back cannot be mapped any more (update_va_mapping -EBUSY, as Xen's
 * get_page_from_l1e for a page the domain does not own); populate_physmap
 * stops at max_pages and the new frames are mappable and usable;
 * increase_reservation writes the mfn back. With "strict" (minishim) also
 * minishim's choices: a still-mapped frame is refused (Xen would free it
 * with its last reference: docs/fuzzing.md) and frames come back zeroed.
 * Then the shim's flush statistics (sysctl debug key 'f'; an error, as
 * under Xen's shim, means "not available"): the test scripts check that
 * the release flush went by IPI.
 */
#include "guest.h"
#include <xen/errno.h>

#define _P   0x001UL
#define _RW  0x002UL
#define _US  0x004UL
#define _A   0x020UL
#define N    64u
#define EXT(op, n) ((unsigned long)(op) | ((unsigned long)(n) << 6))

static const unsigned long *p2m;
static xen_pfn_t list[N + 1];

/* vCPU 1 spins in the guest while vCPU 0 balloons, so the shim's CPU 1
 * is online and running guest code: the release flush has a remote CPU. */
#define MAX_VCPUS 2
static uint8_t ap_stack[MAX_VCPUS][8192] __attribute__((aligned(16)));
static volatile unsigned long ran[MAX_VCPUS], stop;

static void spin(unsigned long id)
{
    (void)id;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        asm volatile ("pause");
}

void ap_main(unsigned long id);
GUEST_AP_ENTRY(ap_entry, ap_main);

void ap_main(unsigned long id)
{
    guest_vcpu_run(id % MAX_VCPUS, ran, spin);
}

#define expect(call, want) do {                                             \
        long r_ = (call);                                                   \
        check(r_ == (long)(want), "%s: got %ld, want %ld", #call, r_, (long)(want)); \
    } while (0)

static long resv(unsigned long cmd, xen_pfn_t *l, unsigned int n, unsigned int order)
{
    struct xen_memory_reservation r = {
        .nr_extents = n, .extent_order = order, .domid = DOMID_SELF,
    };

    set_xen_guest_handle(r.extent_start, l);
    return hypercall_memory_op(cmd, &r);
}

static long stat_op(unsigned int cmd)
{
    domid_t self = DOMID_SELF;

    return hypercall_memory_op(cmd, &self);
}

static long uvm(unsigned long va, unsigned long mfn, unsigned long flags)
{
    return hypercall3(__HYPERVISOR_update_va_mapping, va,
                      mfn ? ((uint64_t)mfn << PAGE_SHIFT) | flags : 0, UVMF_INVLPG);
}

static void shim_stats(void)
{
    long rc = guest_debug_key('f');

    if (rc == 0)
        printk("balloon: shim flush stats (sysctl debug_keys 'f')\n");
    else
        printk("balloon: shim flush stats not available (sysctl debug_keys 'f': %ld)\n", rc);
}

void test_main(void)
{
    const char *args = (const char *)start_info->cmd_line;
    bool strict = strstr(args, "strict") != NULL;
    unsigned long nr = start_info->nr_pages, cur0, max0, maxram, own;
    unsigned int nr_aps;
    /* The page after the one guest_map_shared_info would use: padding
     * of the initial mapping, so it has an L1 entry. */
    unsigned long va = start_info->pt_base + (start_info->nr_pt_frames + 2) * PAGE_SIZE;
    unsigned long pfn_va = (va - (unsigned long)_image_start) >> PAGE_SHIFT;
    volatile uint64_t *vp = (volatile uint64_t *)va;
    xen_pfn_t one[2];

    p2m = (const unsigned long *)start_info->mfn_list;
    if (nr < 4096)
        test_skip("needs at least 16 MiB (nr_pages %lu)", nr);
    cur0 = (unsigned long)stat_op(XENMEM_current_reservation);
    max0 = (unsigned long)stat_op(XENMEM_maximum_reservation);
    maxram = (unsigned long)hypercall_memory_op(XENMEM_maximum_ram_page, NULL);
    printk("balloon: nr_pages %lu current %lu maximum %lu max_ram_page %lu\n",
           nr, cur0, max0, maxram);
    check(cur0 == nr, "current_reservation %lu, start_info nr_pages %lu", cur0, nr);
    check(max0 == cur0, "maximum_reservation %lu, current %lu", max0, cur0);
    /* The padding page is mapped to its own pfn's frame: an L1 exists. */
    own = p2m[pfn_va];
    expect(uvm(va, own, _P | _RW | _US | _A), 0);

    nr_aps = guest_start_vcpus(MAX_VCPUS, (unsigned long)ap_entry, ap_stack[0],
                               sizeof(ap_stack[0]), p2m[(start_info->pt_base -
                               (unsigned long)_image_start) >> PAGE_SHIFT], ran);
    printk("balloon: %u other vCPU(s) spinning\n", nr_aps);

    /* Frames far above the initial mapping: never mapped. */
    for (unsigned int i = 0; i < N; i++)
        list[i] = p2m[nr - 1 - i];

    /* Bad input: nothing done. */
    one[0] = maxram + 16;                       /* !mfn_valid: -EINVAL */
    expect(resv(XENMEM_decrease_reservation, one, 1, 0), 0);
    expect(resv(XENMEM_decrease_reservation, list, 1, 10), 0);     /* order */
    expect(resv(EXT(XENMEM_decrease_reservation, 5), list, 2, 0), 5);
    expect(stat_op(XENMEM_current_reservation), cur0);
    if (strict) {
        /* Still mapped (the padding page): minishim refuses it. */
        one[0] = own;
        expect(resv(XENMEM_decrease_reservation, one, 1, 0), 0);
    }

    /* Down. */
    expect(resv(XENMEM_decrease_reservation, list, N, 0), N);
    expect(stat_op(XENMEM_current_reservation), cur0 - N);
    expect(stat_op(XENMEM_maximum_reservation), max0);
    printk("balloon: gave back %u frames (%lx..%lx)\n", N, (unsigned long)list[N - 1],
           (unsigned long)list[0]);
    /* Gone: no mapping, and not given twice. */
    for (unsigned int i = 0; i < N; i += 21)
        expect(uvm(va, list[i], _P | _RW | _US), -XEN_EBUSY);
    expect(uvm(va, list[N - 1], _P | _US), -XEN_EBUSY);
    expect(resv(XENMEM_decrease_reservation, list, 1, 0), 0);
    expect(stat_op(XENMEM_current_reservation), cur0 - N);

    /* Up: one extent more than given back; max_pages stops it. */
    for (unsigned int i = 0; i <= N; i++)
        list[i] = nr - 1 - i;                   /* the pfns */
    expect(resv(XENMEM_populate_physmap, list, N + 1, 0), N);
    check(list[N] == nr - 1 - N, "the extent not done was written: %lx",
          (unsigned long)list[N]);
    expect(stat_op(XENMEM_current_reservation), cur0);
    expect(resv(XENMEM_increase_reservation, NULL, 1, 0), 0);
    for (unsigned int i = 0; i < N; i++) {
        if (!check(uvm(va, list[i], _P | _RW | _US) == 0, "map new frame %lx",
                   (unsigned long)list[i]))
            continue;
        if (strict)
            check(vp[0] == 0 && vp[511] == 0, "frame %lx not zeroed: %lx",
                  (unsigned long)list[i], (unsigned long)vp[0]);
        vp[0] = 0x5a5a0000 + i;
        vp[511] = ~(uint64_t)i;
        check(vp[0] == 0x5a5a0000 + i && vp[511] == ~(uint64_t)i,
              "frame %lx does not hold what was written", (unsigned long)list[i]);
    }
    expect(uvm(va, own, _P | _RW | _US | _A), 0);

    /* increase_reservation writes the new mfn back. */
    one[0] = list[0];
    expect(resv(XENMEM_decrease_reservation, one, 1, 0), 1);
    one[0] = 0;
    expect(resv(XENMEM_increase_reservation, one, 1, 0), 1);
    check(one[0] != 0, "increase_reservation wrote no mfn");
    expect(uvm(va, one[0], _P | _RW | _US), 0);
    expect(uvm(va, own, _P | _RW | _US | _A), 0);
    expect(stat_op(XENMEM_current_reservation), cur0);
    printk("balloon: took %u frames back, reservation %lu of %lu\n", N,
           (unsigned long)stat_op(XENMEM_current_reservation), max0);
    shim_stats();
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    if (nr_aps)
        guest_wait_vcpu_down(1);
}
