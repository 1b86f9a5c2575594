/*
 * gpeer - a PV device's two halves without a device: the guest shares a
 * page with dom0 through its grant table and talks to dom0 over an
 * interdomain event channel, both ways, as blkfront / netfront do. The
 * other half is tests/bed/dom0/bed-peer.c, which xl's dom0 starts next
 * to this guest on the bed (tests/bed/dom0/run-guests.sh).
 *
 * The guest: grant table frame 0 (setup_table) mapped; a data page filled
 * with a pattern from a seed; EVTCHNOP_alloc_unbound for dom0; the port
 * and seed written into the data page; grant entry GREF for dom0,
 * read-write. dom0 maps the grant (only possible when the grant is one of
 * L0's grant table: under a shim, the shim domain's table in L0), checks
 * the pattern, writes its complement into the second half, binds to the
 * port (only possible when the port is L0's) and notifies; the guest
 * checks the second half, marks the page CHECKED and notifies back; dom0,
 * having seen an event and CHECKED, writes ACK into the page and notifies
 * once more; the guest sees ACK and the grant is revoked. Each side waits
 * for an event AND the page state it expects: events coalesce, and
 * binding raises a spurious one on dom0's side (Xen's
 * evtchn_bind_interdomain), so a count of events proves nothing. Without a toolstack (QEMU-direct: store_mfn 0)
 * there is no dom0: SKIP.
 */
#include <xen/errno.h>
#include "guest.h"
#include <xen/event_channel.h>
#include <xen/grant_table.h>

#define GREF       8            /* the first entry not reserved for tools */
#define MAGIC_GUEST 0x6770656572475354UL   /* "gpeerGST" */
#define MAGIC_DOM0  0x6770656572443030UL   /* "gpeerD00" */
#define MAGIC_ACK   0x6770656572414b21UL   /* "gpeerAK!" */
#define MAGIC_CHECKED 0x6770656572434b44UL /* "gpeerCKD" */
#define HALF (PAGE_SIZE / 2)

/* The page dom0 maps; its layout is bed-peer.c's. */
struct peer_page {
    uint64_t magic;             /* guest: MAGIC_GUEST, then MAGIC_CHECKED;
                                 * dom0: MAGIC_DOM0                      */
    uint32_t port, seed;        /* the guest's unbound port, pattern seed */
    uint64_t ack;               /* dom0: MAGIC_ACK after the guest's event */
};

static uint8_t data[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t gt_va[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct shared_info *shinfo;
static evtchn_port_t port;

#define WAIT_NS (60ULL * 1000 * 1000 * 1000)
#define POLL_NS (100ULL * 1000 * 1000)

static uint8_t pattern(uint32_t seed, unsigned int i)
{
    return (uint8_t)((i * 131u + seed) ^ (seed >> 8));
}

static uint64_t now_ns(void)
{
    return guest_system_time_ns(&shinfo->vcpu_info[0].time);
}

static bool take_event(void)
{
    xen_ulong_t bit = 1UL << (port % 64);

    return __atomic_fetch_and(&shinfo->evtchn_pending[port / 64], ~bit,
                              __ATOMIC_SEQ_CST) & bit;
}

/* SCHEDOP_poll on the port until it is pending or until deadline. */
static bool wait_event(uint64_t deadline)
{
    struct sched_poll sp = { .nr_ports = 1 };

    unsigned int n = 0;

    set_xen_guest_handle(sp.ports, &port);
    while (!take_event()) {
        uint64_t now = now_ns();
        long rc;

        if (++n % 50 == 0)
            printk("gpeer: waiting on port %u: %u polls, %lu ms left\n", port, n,
                   (unsigned long)((deadline - now) / 1000000));
        if (now > deadline)
            return false;
        sp.timeout = now + POLL_NS;
        rc = hypercall_sched_op(SCHEDOP_poll, &sp);
        if (rc)
            test_fatal("SCHEDOP_poll(port %u) = %ld", port, rc);
    }
    return true;
}

static void send(void)
{
    struct evtchn_send s = { .port = port };
    long rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &s);

    check(rc == 0, "EVTCHNOP_send(port %u) = %ld", port, rc);
}

/* Every port masked: events still become pending and wake SCHEDOP_poll. */
static void map_shared_info(void)
{
    shinfo = guest_map_shared_info();
}

/* Grant table frame 0 at gt_va; returns the entries. */
static volatile grant_entry_v1_t *map_grant_table(void)
{
    struct gnttab_setup_table op = { .dom = DOMID_SELF, .nr_frames = 1 };
    xen_pfn_t frame = 0;
    long rc;

    set_xen_guest_handle(op.frame_list, &frame);
    rc = hypercall_grant_table_op(GNTTABOP_setup_table, &op, 1);
    if (rc || op.status != GNTST_okay)
        test_fatal("setup_table = %ld status %d", rc, op.status);
    rc = hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)gt_va,
                    (frame << PAGE_SHIFT) | (_P | _RW | _US), UVMF_INVLPG);
    if (rc)
        test_fatal("update_va_mapping(grant frame %#lx) = %ld", (unsigned long)frame, rc);
    printk("gpeer: grant frame 0 is mfn %#lx\n", (unsigned long)frame);
    return (volatile grant_entry_v1_t *)gt_va;
}

void test_main(void)
{
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;
    volatile struct peer_page *pg = (volatile struct peer_page *)data;
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
    volatile grant_entry_v1_t *gt;
    unsigned long mfn;
    unsigned int bad = 0;
    uint32_t seed;
    uint64_t deadline;
    long rc;

    if (!start_info->store_mfn)
        test_skip("no toolstack (start_info store_mfn is 0): no dom0 peer");
    map_shared_info();
    gt = map_grant_table();
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, &au);
    if (rc)
        test_fatal("alloc_unbound(remote dom0) = %ld", rc);
    port = au.port;
    seed = (uint32_t)guest_rdtsc();
    for (unsigned int i = sizeof(*pg); i < PAGE_SIZE; i++)
        data[i] = i < HALF ? pattern(seed, i) : 0;
    pg->port = port;
    pg->seed = seed;
    pg->ack = 0;
    __atomic_store_n(&pg->magic, MAGIC_GUEST, __ATOMIC_RELEASE);

    mfn = p2m[((unsigned long)data - (unsigned long)_image_start) >> PAGE_SHIFT];
    gt[GREF].domid = 0;
    gt[GREF].frame = (uint32_t)mfn;
    __atomic_store_n(&gt[GREF].flags, (uint16_t)GTF_permit_access, __ATOMIC_RELEASE);
    printk("gpeer: gref %u -> mfn %#lx for dom0, port %u, seed %#x\n", GREF, mfn,
           port, seed);

    /* dom0 maps, checks, answers in the second half, notifies. */
    deadline = now_ns() + WAIT_NS;
    do {
        if (!wait_event(deadline))
            test_fatal("no answer from dom0 on port %u within 60 s (did bed-peer map gref %u?)",
                       port, GREF);
    } while (__atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE) != MAGIC_DOM0);
    for (unsigned int i = HALF; i < PAGE_SIZE; i++) {
        uint8_t want = (uint8_t)(0xff ^ pattern(seed, i - HALF));
        uint8_t got = ((volatile uint8_t *)data)[i];   /* dom0 wrote it */

        if (got != want)
            bad++;
    }
    check(bad == 0, "%u bytes of dom0's answer differ", bad);
    printk("gpeer: dom0's answer checked (%u bytes), notifying dom0\n", (unsigned int)HALF);

    /* Guest -> dom0: dom0 acknowledges what it received. */
    __atomic_store_n(&pg->magic, MAGIC_CHECKED, __ATOMIC_RELEASE);
    send();
    deadline = now_ns() + WAIT_NS;
    do {
        if (!wait_event(deadline))
            test_fatal("no acknowledgement from dom0 within 60 s");
    } while (__atomic_load_n(&pg->ack, __ATOMIC_ACQUIRE) != MAGIC_ACK);
    printk("gpeer: dom0 saw the guest's event\n");

    /* dom0 unmapped before its last notify (L0 clears GTF_reading /
     * GTF_writing on the unmap): the grant can go. */
    check(gt[GREF].flags == GTF_permit_access,
          "grant flags %#x after dom0 unmapped", gt[GREF].flags);
    __atomic_store_n(&gt[GREF].flags, 0, __ATOMIC_SEQ_CST);
}
