/*
 * bed-peer DOMID: dom0's half of the gpeer guest (tests/guests/gpeer):
 * map the guest's grant GREF (libxengnttab, retried until the guest has
 * written it), check the pattern the guest wrote, answer with its
 * complement, bind to the guest's unbound port (libxenevtchn) and notify,
 * wait for the guest's event with the page marked CHECKED (binding itself
 * raises our port once: Xen's evtchn_bind_interdomain), acknowledge it in
 * the page, unmap, notify.
 * Prints "bed-peer: PASS ..." or "bed-peer: FAIL <reason>"; exit 0 / 1.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define GREF        8
#define MAGIC_GUEST 0x6770656572475354UL
#define MAGIC_DOM0  0x6770656572443030UL
#define MAGIC_ACK   0x6770656572414b21UL
#define MAGIC_CHECKED 0x6770656572434b44UL
#define PAGE        4096
#define HALF        (PAGE / 2)

struct peer_page {
    uint64_t magic;
    uint32_t port, seed;
    uint64_t ack;
};

static uint8_t pattern(uint32_t seed, unsigned int i)
{
    return (uint8_t)((i * 131u + seed) ^ (seed >> 8));
}

static int fail(const char *why, int err)
{
    printf("bed-peer: FAIL %s%s%s\n", why, err ? ": " : "", err ? strerror(err) : "");
    fflush(stdout);
    return 1;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait up to secs for an event on lport; 0 when it came. */
static int wait_event(xenevtchn_handle *xce, evtchn_port_t lport, int secs)
{
    struct pollfd pfd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
    double end = now() + secs;

    while (now() < end) {
        xenevtchn_port_or_error_t p;

        if (poll(&pfd, 1, 200) <= 0)
            continue;
        p = xenevtchn_pending(xce);
        if (p < 0)
            return -1;
        xenevtchn_unmask(xce, p);
        if ((evtchn_port_t)p == lport)
            return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    xengnttab_handle *xgt;
    xenevtchn_handle *xce;
    volatile struct peer_page *pg = NULL;
    uint8_t *b;
    unsigned int bad = 0;
    xenevtchn_port_or_error_t lport;
    uint32_t domid;
    double end;

    if (argc != 2)
        return fail("usage: bed-peer DOMID", 0);
    domid = (uint32_t)strtoul(argv[1], NULL, 0);
    xgt = xengnttab_open(NULL, 0);
    xce = xenevtchn_open(NULL, 0);
    if (!xgt || !xce)
        return fail("cannot open gntdev / evtchn", errno);

    /* The guest writes the grant after it has set its table up. */
    end = now() + 60;
    while (now() < end) {
        pg = xengnttab_map_grant_ref(xgt, domid, GREF, PROT_READ | PROT_WRITE);
        if (pg && __atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE) == MAGIC_GUEST)
            break;
        if (pg) {
            xengnttab_unmap(xgt, (void *)pg, 1);
            pg = NULL;
        }
        usleep(100 * 1000);
    }
    if (!pg)
        return fail("could not map the guest's grant 8 within 60 s", errno);
    b = (uint8_t *)pg;
    for (unsigned int i = sizeof(*pg); i < HALF; i++)
        if (b[i] != pattern(pg->seed, i))
            bad++;
    if (bad)
        return fail("the guest's pattern differs", 0);
    for (unsigned int i = HALF; i < PAGE; i++)
        b[i] = (uint8_t)~pattern(pg->seed, i - HALF);
    __atomic_store_n(&pg->magic, MAGIC_DOM0, __ATOMIC_RELEASE);

    lport = xenevtchn_bind_interdomain(xce, domid, pg->port);
    if (lport < 0)
        return fail("cannot bind to the guest's port", errno);
    printf("bed-peer: d%u gref %u mapped, pattern ok, bound to its port %u (ours %d)\n",
           domid, GREF, pg->port, lport);
    fflush(stdout);
    if (xenevtchn_notify(xce, lport))
        return fail("notify", errno);
    end = now() + 60;
    do {
        if (now() > end || wait_event(xce, lport, 60))
            return fail("no event with the page CHECKED from the guest within 60 s", 0);
    } while (__atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE) != MAGIC_CHECKED);
    __atomic_store_n(&pg->ack, MAGIC_ACK, __ATOMIC_RELEASE);
    xengnttab_unmap(xgt, (void *)pg, 1);
    if (xenevtchn_notify(xce, lport))
        return fail("notify (ack)", errno);
    printf("bed-peer: PASS d%u: grant mapped and answered, events both ways\n", domid);
    fflush(stdout);
    xenevtchn_unbind(xce, lport);
    return 0;
}
