/*
 * The shim's own PV console ring on Xen L0. A release build of Xen refuses
 * console_io from every domain but dom0 (-EPERM; only debug builds or
 * guest_loglvl on debug hypervisors show domU output), so on a real L0 the
 * only console the shim has is the ring L0 gives every domain: the page at
 * HVM_PARAM_CONSOLE_PFN, signalled through HVM_PARAM_CONSOLE_EVTCHN
 * (xen/include/public/io/console.h, xenconsoled reads it into
 * /var/log/xen/guest-NAME.log). This is what "console=pv" means, as in Xen's
 * own pv-shim.
 */
#include <minishim/arch.h>
#include <minishim/inject.h>
#include <minishim/l0.h>
#include <minishim/xen-public.h>
#include <xen/io/console.h>
#include <xen/event_channel.h>
#include <minishim/timer.h>

/* How long a full ring may stall the shim before output is dropped: at
 * least this many yields and this much time (clock_now_ns: L0 system time,
 * raw TSC cycles before calibration). xenconsoled in a dom0 that is itself
 * slow (the nested TCG bed) takes far longer than 2000 yields to drain a
 * burst such as a guest's panic; a dead consumer must still not hang us. */
#define RING_STALL_YIELDS 2000
#define RING_STALL_NS     2000000000ULL

static struct xencons_interface *ring;
static uint32_t ring_port;
static unsigned long dropped;
static unsigned long kick_failures;
static long kick_last_error;

size_t xencons_ring_put(struct xencons_interface *r, const char *s, size_t len)
{
    XENCONS_RING_IDX cons = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
    XENCONS_RING_IDX prod = r->out_prod;
    size_t n = 0;

    /* A producer index more than a ring ahead means the consumer side is
     * corrupt; write nothing rather than overwrite unread data. */
    if ((XENCONS_RING_IDX)(prod - cons) > sizeof(r->out))
        return 0;
    while (n < len && (XENCONS_RING_IDX)(prod - cons) < sizeof(r->out))
        r->out[MASK_XENCONS_IDX(prod++, r->out)] = s[n++];
    /* Data before index (the consumer reads the index, then the data). */
    __atomic_store_n(&r->out_prod, prod, __ATOMIC_RELEASE);
    return n;
}

int xen_pvconsole_init(void)
{
    uint64_t pfn = 0, port = 0;
    int rc;

    rc = xen_get_hvm_param(HVM_PARAM_CONSOLE_PFN, &pfn);
    if (rc)
        return rc;
    rc = xen_get_hvm_param(HVM_PARAM_CONSOLE_EVTCHN, &port);
    if (rc)
        return rc;
    if (!pfn || port == 0 || port > UINT32_MAX)
        return -XEN_ENODEV;
    ring = arch_phys_to_virt(pa(pfn << PAGE_SHIFT));
    ring_port = (uint32_t)port;
    return 0;
}

bool xen_pvconsole_ready(void)
{
    return ring != NULL;
}

static long kick(void)
{
    struct evtchn_send send = { .port = ring_port };

    if (inject_hit(INJECT_L0_CONSOLE_FAIL))
        return -INJECT_L0_ERRNO;
    return xen_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send,
                         (unsigned long)&send, 0, 0, 0);
}

/*
 * Tell xenconsoled there is output. A lost kick loses no text (it is in
 * the ring) but xenconsoled reads only when kicked: one failure is tried
 * again at once; after two, the next write's kick covers these bytes too
 * (the shutdown summary names every write that had to wait so).
 */
static void notify(void)
{
    long rc = kick();

    if (rc)
        rc = kick();
    if (rc) {
        kick_failures++;
        kick_last_error = rc;
    }
}

unsigned long xen_pvconsole_kick_failures(long *last_error)
{
    if (last_error)
        *last_error = kick_last_error;
    return kick_failures;
}

void xen_pvconsole_write(const char *s, size_t len)
{
    unsigned int stalls = 0;
    uint64_t stall_start = 0;

    if (!ring)
        return;
    while (len) {
        size_t n = xencons_ring_put(ring, s, len);

        s += n;
        len -= n;
        notify();
        if (!len)
            break;
        if (n) {
            stalls = 0;
        } else if (!stalls++) {
            stall_start = clock_now_ns();
        } else if (stalls > RING_STALL_YIELDS &&
                   clock_now_ns() - stall_start > RING_STALL_NS) {
            dropped += len;
            return;
        }
        xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
    }
}

/*
 * Input: what xenconsoled put on the ring's in[] side (`xl console`
 * typed into dom0). Consumed bytes free room, which xenconsoled learns of
 * through the port as for output (xen/io/console.h: a consumer notifies
 * after moving its index). A producer index more than a ring ahead is a
 * corrupt ring: nothing is taken.
 */
size_t xen_pvconsole_read(char *buf, size_t len)
{
    XENCONS_RING_IDX cons, prod;
    size_t n = 0;

    if (!ring)
        return 0;
    cons = ring->in_cons;
    prod = __atomic_load_n(&ring->in_prod, __ATOMIC_ACQUIRE);
    if ((XENCONS_RING_IDX)(prod - cons) > sizeof(ring->in))
        return 0;
    while (n < len && cons != prod)
        buf[n++] = ring->in[MASK_XENCONS_IDX(cons++, ring->in)];
    if (!n)
        return 0;
    __atomic_store_n(&ring->in_cons, cons, __ATOMIC_RELEASE);
    notify();
    return n;
}

unsigned long xen_pvconsole_dropped(void)
{
    return dropped;
}
