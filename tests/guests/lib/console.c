/*
 * console.c - guest output on both consoles a PV guest has:
 *
 *  - HYPERVISOR_console_io(CONSOLEIO_write): the hypervisor's own console.
 *    A release-build Xen (and so Debian's xen-shim) refuses it with -EPERM
 *    for any domain but dom0, so it cannot be the only channel;
 *  - the PV console ring (start_info->console.domU): what Linux's hvc_xen
 *    uses. A PV shim relays it to the real console ring, which xenconsoled
 *    logs in dom0 (/var/log/xen/guest-<name>.log).
 *
 * Every line goes to both, so a runner sees it whichever one the platform
 * under test serves.
 */
#include "guest.h"
#include <xen/event_channel.h>
#include <xen/io/console.h>

#define barrier() asm volatile ("" ::: "memory")

/* How long to wait for the backend to make room (busy-wait iterations). */
#define RING_SPIN_LIMIT 20000000UL

static struct xencons_interface *ring;
static evtchn_port_t ring_port;
static long console_io_rc = 1;      /* 1: not tried yet */

static void ring_notify(void)
{
    struct evtchn_send send = { .port = ring_port };

    hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send);
}

/*
 * Find the console ring in our initial mapping. start_info gives its
 * machine frame; the builder maps pfn N at VIRT_BASE + N * PAGE_SIZE, and
 * mfn_list (the p2m) turns the mfn back into a pfn without needing the
 * hypervisor's M2P table.
 */
void console_init(void)
{
    const start_info_t *si = start_info;
    const unsigned long *p2m = (const unsigned long *)si->mfn_list;
    unsigned long mfn = si->console.domU.mfn;

    if (!mfn || !si->console.domU.evtchn || !p2m ||
        si->mfn_list < (unsigned long)_image_end)
        return;
    for (unsigned long pfn = 0; pfn < si->nr_pages; pfn++) {
        if (p2m[pfn] == mfn) {
            ring = (struct xencons_interface *)
                   (0xffffffff80000000UL + (pfn << PAGE_SHIFT));
            ring_port = si->console.domU.evtchn;
            return;
        }
    }
}

bool console_ring_present(void)
{
    return ring != NULL;
}

long console_io_status(void)
{
    return console_io_rc;
}

static void ring_write(const char *buf, size_t len)
{
    unsigned long spins = 0;

    while (len && ring) {
        XENCONS_RING_IDX cons = *(volatile XENCONS_RING_IDX *)&ring->out_cons;
        XENCONS_RING_IDX prod = ring->out_prod;
        size_t room;

        barrier();
        room = sizeof(ring->out) - (prod - cons);
        if (room == 0 || room > sizeof(ring->out)) {
            /* Full (or garbage indices): kick the backend and wait. */
            ring_notify();
            if (++spins > RING_SPIN_LIMIT) {
                ring = NULL;    /* nobody drains it: stop using it */
                return;
            }
            asm volatile ("pause");
            continue;
        }
        while (room-- && len) {
            ring->out[MASK_XENCONS_IDX(prod, ring->out)] = *buf++;
            prod++;
            len--;
        }
        barrier();  /* data before index (x86: stores are not reordered) */
        ring->out_prod = prod;
        ring_notify();
    }
}

/* Wait (bounded) until the backend has read everything we wrote. */
void console_flush(void)
{
    for (unsigned long spins = 0; ring && spins < RING_SPIN_LIMIT; spins++) {
        if (*(volatile XENCONS_RING_IDX *)&ring->out_cons == ring->out_prod)
            return;
        asm volatile ("pause");
    }
}

void console_write(const char *buf, size_t len)
{
    if (!len)
        return;
    console_io_rc = hypercall_console_io(CONSOLEIO_write, (unsigned int)len,
                                         buf);
    ring_write(buf, len);
}

int vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

    /* Keep line structure even when truncating: the runners parse lines. */
    if ((size_t)n >= sizeof(buf) && len >= 4)
        memcpy(&buf[len - 4], "...\n", 4);
    console_write(buf, len);
    return n;
}

int printk(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintk(fmt, ap);
    va_end(ap);
    return n;
}
