/*
 * Event channels, the 2-level ABI (Xen 4.17 xen/common/event_channel.c
 * and event_2l.c) and, once the guest registers a control block, the FIFO
 * ABI (pv/evtchn_fifo.c; Xen's evtchn_port_ops switch), and the part of Xen's scheduler that events drive
 * (vcpu_mark_events_pending / vcpu_kick, evtchn_check_pollers and do_poll
 * in xen/common/sched/core.c). One domain, so "interdomain" ports are the
 * shim's own backends (the console ring): sending on one calls the
 * backend.
 *
 * With a Xen L0 (pv_evtchn_use_l0), the guest's interdomain channels are
 * L0's, as in Xen's shim (pv_shim_event_channel_op in
 * xen/arch/x86/pv/shim.c): alloc_unbound and bind_interdomain go to L0
 * and the guest's port number is L0's (a backend in dom0 binds to the
 * number the frontend publishes in xenstore), send / close / status on
 * such a port (ECS_L0) are L0's, and L0's upcall for it makes the guest
 * port pending on the vCPU the guest bound it to. The shim's own ports
 * (VIRQ, IPI, console, store) stay local, but their numbers are reserved
 * in L0 with an unbound port to ourselves, as Xen's shim does for VIRQs,
 * so L0 never hands the same number out for a forwarded channel.
 * docs/pv-devices.md lists what goes where.
 *
 * SMP: the port table, the VIRQ bindings and the poll mask are guarded by
 * evtchn_lock (Xen's d->event_lock), taken with interrupts off so that a
 * timer or IPI path on the same CPU can raise a VIRQ. Nothing under the
 * lock waits for another CPU: a vCPU on another shim CPU is told about a
 * new upcall with ipi_event_check(), which does not wait. The shared_info
 * and vcpu_info bits are updated with atomics, as the guest changes them
 * concurrently.
 */
#include <string.h>
#include <minishim/console.h>
#include <minishim/ipi.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>
#include <minishim/pv_evtchn_fifo.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/spinlock.h>
#include <minishim/pv_evtchn.h>
#include <xen/event_channel.h>

#define NR_PORTS 1024           /* of the 4096 the 2-level ABI allows */

/* Port 0 is reserved (Xen ECS_RESERVED): it stays ECS_FREE here, which
 * every operation treats the same way. */
enum port_state { ECS_FREE, ECS_UNBOUND, ECS_VIRQ, ECS_IPI, ECS_SHIM, ECS_L0 };

struct port {
    uint8_t state;
    uint8_t vcpu;               /* Xen notify_vcpu_id */
    uint16_t virq;
    bool l0;                    /* the number is held in L0 (L0 mode)     */
    domid_t remote;
    evtchn_port_t remote_port;  /* ECS_SHIM: 0 = the port itself */
    void (*notify)(void);
    struct fifo_port fifo;      /* FIFO ABI state, kept across close */
};

static struct port ports[NR_PORTS];
static spinlock_t evtchn_lock = SPINLOCK_INIT;
/* Port numbers and interdomain channels are L0's (set once at boot). */
static bool l0_mode;
/* Xen d->poll_mask: vCPUs in SCHEDOP_poll (PV_MAX_VCPUS <= 32). */
static uint64_t poll_mask;

_Static_assert(PV_MAX_VCPUS <= 64, "poll_mask has a bit per vCPU");

void pv_evtchn_reset(void)
{
    memset(ports, 0, sizeof(ports));
    l0_mode = false;
    pv_fifo_forget();
    __atomic_store_n(&poll_mask, 0, __ATOMIC_SEQ_CST);
    for (unsigned int i = 0; i < PV_MAX_VCPUS; i++)
        memset(pv_dom.vcpus[i].virq_to_evtchn, 0,
               sizeof(pv_dom.vcpus[i].virq_to_evtchn));
}

static unsigned long lock(void)
{
    return spin_lock_irqsave(&evtchn_lock);
}

static void unlock(unsigned long flags)
{
    spin_unlock_irqrestore(&evtchn_lock, flags);
}

/* Port 0 is never handed out (Xen reserves it). Xen get_free_port: a
 * free port whose FIFO event is still LINKED (the guest has not consumed
 * it yet) is busy and skipped. */
static evtchn_port_t get_free_port(void)
{
    for (evtchn_port_t p = 1; p < NR_PORTS; p++)
        if (ports[p].state == ECS_FREE && !pv_fifo_is_busy(p))
            return p;
    return 0;
}

/* ------------------------------------------------ port numbers in L0 --- */

/* L0 mode: a number for a port of the shim's own, reserved in L0 as an
 * unbound port to ourselves (Xen's shim, EVTCHNOP_bind_virq). 0 outside
 * L0 mode, or when L0 has none left. Called without the lock. */
static evtchn_port_t l0_reserve(void)
{
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };

    if (!l0_mode || l0_evtchn_op(EVTCHNOP_alloc_unbound, &a))
        return 0;
    return a.port;                      /* never 0: take_port refuses it */
}

/* Give number p back to L0 (EVTCHNOP_close); without the lock. A number
 * L0 would not close stays taken there, so it is never handed out again. */
static long l0_release(evtchn_port_t p)
{
    struct evtchn_close c = { .port = p };
    long rc = l0_evtchn_op(EVTCHNOP_close, &c);

    if (rc)
        pr_warn("evtchn: L0 refused to close port %u (%ld)\n", p, rc);
    return rc;
}

/* Lock held: the port to take. L0 mode: L0's number want if it is free
 * here (it is, unless L0 and the shim disagree); else the lowest free. */
static evtchn_port_t take_port(evtchn_port_t want)
{
    if (!l0_mode)
        return get_free_port();
    if (!want || want >= NR_PORTS || ports[want].state != ECS_FREE ||
        pv_fifo_is_busy(want))
        return 0;
    return want;
}

/* Take free port p with the binding in init (Xen evtchn_allocate_port +
 * evtchn_port_init: the FIFO priority back to the default). */
static void claim_port(evtchn_port_t p, struct port init)
{
    init.fifo = ports[p].fifo;
    init.l0 = l0_mode;
    pv_fifo_port_init(&init.fifo);
    ports[p] = init;
}

/* Xen port_is_valid(): inside the port space (free ports included). */
static bool port_is_valid(evtchn_port_t p)
{
    return p < NR_PORTS;
}

static xen_ulong_t bit(evtchn_port_t p)
{
    return (xen_ulong_t)1 << (p % 64);
}

static bool test_and_set(xen_ulong_t *w, xen_ulong_t m)
{
    return __atomic_fetch_or(w, m, __ATOMIC_SEQ_CST) & m;
}

static bool test_and_clear(xen_ulong_t *w, xen_ulong_t m)
{
    return __atomic_fetch_and(w, ~m, __ATOMIC_SEQ_CST) & m;
}

static bool test(xen_ulong_t *w, xen_ulong_t m)
{
    return __atomic_load_n(w, __ATOMIC_SEQ_CST) & m;
}

/* ------------------------------------------------------ waking a vCPU --- */

/* Xen vcpu_unblock + vcpu_kick: a vCPU blocked in block/poll wakes up; one
 * running on another shim CPU takes an interrupt and, on its way back to
 * the guest, delivers the upcall. This CPU's own vCPU needs nothing: the
 * upcall goes out on the way back from the current trap. */
void pv_vcpu_kick(struct vcpu *v)
{
    __atomic_store_n(&v->blocked, false, __ATOMIC_SEQ_CST);
    ipi_event_check(v->id);
}

/* Xen vcpu_mark_events_pending: kick only on the 0 -> 1 transition. */
void pv_evtchn_mark_events_pending(struct vcpu *v)
{
    if (__atomic_exchange_n(&v->vcpu_info->evtchn_upcall_pending, 1,
                            __ATOMIC_SEQ_CST))
        return;
    pv_vcpu_kick(v);
}

/* Xen evtchn_check_pollers: wake vCPUs polling this port (or several). */
static void check_pollers(evtchn_port_t port)
{
    uint64_t m = __atomic_load_n(&poll_mask, __ATOMIC_SEQ_CST);

    for (unsigned int i = 0; m && i < pv_dom.nr_vcpus; i++) {
        struct vcpu *v = &pv_dom.vcpus[i];
        uint64_t b = 1ULL << i;
        int pe;

        if (!(m & b))
            continue;
        pe = __atomic_load_n(&v->poll_evtchn, __ATOMIC_SEQ_CST);
        if ((pe <= 0 || (evtchn_port_t)pe == port) &&
            (__atomic_fetch_and(&poll_mask, ~b, __ATOMIC_SEQ_CST) & b)) {
            __atomic_store_n(&v->poll_evtchn, 0, __ATOMIC_SEQ_CST);
            pv_vcpu_kick(v);
        }
    }
}

/* Xen evtchn_port_set_pending on vCPU v (evtchn_2l_set_pending or
 * evtchn_fifo_set_pending); lock held. */
static void set_pending(struct vcpu *v, evtchn_port_t port)
{
    struct shared_info *sh = pv_dom.shared_info;

    if (pv_fifo_active()) {
        if (pv_fifo_set_pending(v, port, &ports[port].fifo))
            check_pollers(port);
        return;
    }
    if (!sh || test_and_set(&sh->evtchn_pending[port / 64], bit(port)))
        return;
    if (!test(&sh->evtchn_mask[port / 64], bit(port)) &&
        !test_and_set(&v->vcpu_info->evtchn_pending_sel, (xen_ulong_t)1 << (port / 64)))
        pv_evtchn_mark_events_pending(v);
    check_pollers(port);
}

static void set_pending_port(evtchn_port_t port)
{
    set_pending(&pv_dom.vcpus[ports[port].vcpu], port);
}

void pv_evtchn_set_pending(evtchn_port_t port)
{
    unsigned long f;

    if (port >= NR_PORTS)
        return;
    f = lock();
    set_pending_port(port);
    unlock(f);
}

/* Xen max_evtchns(d): the port space of the ABI in use. */
bool pv_evtchn_port_in_range(evtchn_port_t port)
{
    return port < pv_fifo_max_evtchns();
}

bool pv_evtchn_is_pending(evtchn_port_t port)
{
    struct shared_info *sh = pv_dom.shared_info;

    if (pv_fifo_active())
        return pv_fifo_is_pending(port);
    return sh && port < 64 * 64 && test(&sh->evtchn_pending[port / 64], bit(port));
}

/* Global VIRQs bind on vCPU 0 only (Xen virq_is_global). */
static bool virq_is_global(unsigned int virq)
{
    return virq != VIRQ_TIMER && virq != VIRQ_DEBUG && virq != VIRQ_XENOPROF &&
           virq != VIRQ_XENPMU;
}

/* Xen send_guest_vcpu_virq: v's own binding, delivered to v. */
void pv_send_vcpu_virq(struct vcpu *v, unsigned int virq)
{
    unsigned long f;
    evtchn_port_t p;

    if (virq >= NR_VIRQS)
        return;
    f = lock();
    p = v->virq_to_evtchn[virq];
    if (p)
        set_pending(v, p);
    unlock(f);
}

evtchn_port_t pv_evtchn_alloc_shim_port(void (*notify)(void))
{
    evtchn_port_t want = l0_reserve();
    unsigned long f = lock();
    evtchn_port_t p = take_port(want);

    if (p)
        claim_port(p, (struct port){ .state = ECS_SHIM, .notify = notify,
                                     .remote = DOMID_SELF });
    unlock(f);
    if (!p && want)
        l0_release(want);
    return p;
}

/* What EVTCHNOP_status reports as the far end of shim port p (the store
 * port bridged to L0: xenstored's domain and port, as Xen's pv-shim
 * forwards status to L0). */
void pv_evtchn_set_shim_remote(evtchn_port_t p, domid_t dom, evtchn_port_t rport)
{
    unsigned long f;

    if (!port_is_valid(p))
        return;
    f = lock();
    if (ports[p].state == ECS_SHIM) {
        ports[p].remote = dom;
        ports[p].remote_port = rport;
    }
    unlock(f);
}

void pv_evtchn_move_vcpu_info(struct vcpu *v, struct vcpu_info *nvi)
{
    unsigned long f = lock();

    /* Xen map_vcpu_info(): copy the old contents, switch, then mark every
     * selector bit and the upcall pending "just to make sure nothing gets
     * lost" (the guest gets a spurious event). */
    memcpy(nvi, v->vcpu_info, sizeof(*nvi));
    __atomic_store_n(&v->vcpu_info, nvi, __ATOMIC_SEQ_CST);
    __atomic_store_n(&nvi->evtchn_pending_sel, ~(xen_ulong_t)0, __ATOMIC_SEQ_CST);
    pv_evtchn_mark_events_pending(v);
    unlock(f);
}

/* ------------------------------------------------------------ the ops --- */

static long evtchn_send(evtchn_port_t p)
{
    void (*notify)(void) = NULL;
    bool to_l0 = false;
    unsigned long f;
    long rc = 0;

    if (!port_is_valid(p))
        return -XEN_EINVAL;
    f = lock();
    switch (ports[p].state) {
    case ECS_SHIM:
        notify = ports[p].notify;
        break;
    case ECS_L0:
        to_l0 = true;           /* Xen's shim: L0's send, L0's rc */
        break;
    case ECS_IPI:
        set_pending_port(p);
        break;
    case ECS_UNBOUND:
        break;                  /* Xen: silently dropped */
    default:
        rc = -XEN_EINVAL;
        break;
    }
    unlock(f);
    /* The backend runs without the lock: it raises events itself. */
    if (notify)
        notify();
    if (to_l0)
        rc = l0_evtchn_send(p);
    return rc;
}

/* Xen evtchn_2l_unmask / evtchn_fifo_unmask: re-raise an event that
 * arrived while masked. */
static long evtchn_unmask(evtchn_port_t p)
{
    struct shared_info *sh = pv_dom.shared_info;
    unsigned long f;

    if (!port_is_valid(p))
        return -XEN_EINVAL;
    f = lock();
    if (pv_fifo_active()) {
        if (pv_fifo_unmask(&pv_dom.vcpus[ports[p].vcpu], p, &ports[p].fifo))
            check_pollers(p);
    } else if (test_and_clear(&sh->evtchn_mask[p / 64], bit(p)) &&
        test(&sh->evtchn_pending[p / 64], bit(p))) {
        struct vcpu *v = &pv_dom.vcpus[ports[p].vcpu];

        if (!test_and_set(&v->vcpu_info->evtchn_pending_sel,
                          (xen_ulong_t)1 << (p / 64)))
            pv_evtchn_mark_events_pending(v);
    }
    unlock(f);
    return 0;
}

/* Xen __evtchn_close + free_evtchn; lock held. *held is set when the
 * number is still held in L0 (ECS_L0 when the channel is L0's): the
 * caller gives it back with l0_close() after unlocking. */
enum l0_hold { L0_HOLD_NONE, L0_HOLD_NUMBER, L0_HOLD_CHANNEL };

static long close_locked(evtchn_port_t p, enum l0_hold *held)
{
    struct shared_info *sh = pv_dom.shared_info;

    *held = L0_HOLD_NONE;
    if (!port_is_valid(p) || ports[p].state == ECS_FREE)
        return -XEN_EINVAL;
    if (ports[p].state == ECS_SHIM)
        return -XEN_EINVAL;     /* Xen: a Xen-attached consumer stays */
    if (ports[p].state == ECS_VIRQ)
        for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++)
            if (pv_dom.vcpus[i].virq_to_evtchn[ports[p].virq] == p)
                pv_dom.vcpus[i].virq_to_evtchn[ports[p].virq] = 0;
    /* free_evtchn(): clear the pending bit against a stale event on
     * re-bind; the binding goes back to vCPU 0. The FIFO queue the port
     * was last linked on is remembered (Xen keeps fifo_lastq). */
    if (pv_fifo_active())
        pv_fifo_clear_pending(p);
    else if (sh)
        test_and_clear(&sh->evtchn_pending[p / 64], bit(p));
    if (ports[p].l0)
        *held = ports[p].state == ECS_L0 ? L0_HOLD_CHANNEL : L0_HOLD_NUMBER;
    {
        struct fifo_port keep = ports[p].fifo;

        ports[p] = (struct port){ .fifo = keep };
        ports[p].fifo.pending = false;
    }
    return 0;
}

/* After close_locked, without the lock: L0's side. The local port is free
 * first, so an upcall in between finds nothing to raise; the number stays
 * taken in L0 until this close, so L0 cannot hand it out meanwhile. A
 * channel's close is L0's rc (Xen's shim); a reserved number's is not the
 * guest's business. */
static long l0_close(evtchn_port_t p, enum l0_hold held)
{
    long rc;

    if (held == L0_HOLD_NONE)
        return 0;
    if (held == L0_HOLD_CHANNEL)
        l0_evtchn_unbind(p);
    rc = l0_release(p);
    return held == L0_HOLD_CHANNEL ? rc : 0;
}

static long evtchn_close(evtchn_port_t p)
{
    enum l0_hold held;
    unsigned long f = lock();
    long rc = close_locked(p, &held);

    unlock(f);
    if (!rc)
        rc = l0_close(p, held);
    return rc;
}

/* Xen evtchn_bind_vcpu: which ports may move to another vCPU. */
static long evtchn_bind_vcpu(evtchn_port_t p, unsigned int vcpu)
{
    unsigned long f;
    long rc = 0;

    if (vcpu >= pv_dom.nr_vcpus)
        return -XEN_ENOENT;
    if (!port_is_valid(p))
        return -XEN_EINVAL;
    f = lock();
    switch (ports[p].state) {
    case ECS_VIRQ:
        /* A per-vCPU VIRQ (timer, debug) stays on its vCPU. */
        if (virq_is_global(ports[p].virq))
            ports[p].vcpu = (uint8_t)vcpu;
        else
            rc = -XEN_EINVAL;
        break;
    case ECS_UNBOUND:
    case ECS_SHIM:              /* interdomain, to the shim's backend */
    case ECS_L0:                /* L0's upcall comes to the shim, which
                                 * raises the port on this vCPU */
        ports[p].vcpu = (uint8_t)vcpu;
        break;
    default:                    /* IPI ports stay where they were bound */
        rc = -XEN_EINVAL;
        break;
    }
    unlock(f);
    return rc;
}

/*
 * After a resume in a new L0 domain (pv/suspend.c): Xen's pv_shim_shutdown
 * closes or frees every port (the guest binds again; Linux's
 * xen_irq_resume does). L0's side of them is gone with the old domain, so
 * nothing is closed in L0. The shim's own ports (console, store) go too:
 * their callers take new ones. The FIFO ABI goes back to 2-level, as in a
 * new domain (Linux's evtchn_fifo_resume initialises its control blocks
 * again).
 */
void pv_evtchn_forget_all(void)
{
    static mfn_t frames[PV_FIFO_MAX_FRAMES];    /* one caller: vCPU 0 */
    struct shared_info *sh = pv_dom.shared_info;
    unsigned int n;
    unsigned long f = lock();

    n = pv_fifo_destroy(frames, PV_FIFO_MAX_FRAMES);
    memset(ports, 0, sizeof(ports));
    for (unsigned int i = 0; i < PV_MAX_VCPUS; i++)
        memset(pv_dom.vcpus[i].virq_to_evtchn, 0,
               sizeof(pv_dom.vcpus[i].virq_to_evtchn));
    if (sh)
        for (unsigned int i = 0; i < NR_PORTS / 64; i++)
            __atomic_store_n(&sh->evtchn_pending[i], 0, __ATOMIC_SEQ_CST);
    unlock(f);
    for (unsigned int i = 0; i < n; i++)
        pv_mm_put_page_and_type(frames[i]);
}

/* Xen evtchn_reset (DOMID_SELF): close every port the guest may close,
 * then back to the 2-level ABI (evtchn_fifo_destroy; the frames' type
 * references are dropped after the lock: the PV MMU has its own). */
static long evtchn_reset(domid_t dom)
{
    static mfn_t frames[PV_FIFO_MAX_FRAMES];    /* under reset_lock */
    static uint8_t held[NR_PORTS];              /* under reset_lock */
    static spinlock_t reset_lock = SPINLOCK_INIT;
    unsigned int n;
    unsigned long f;

    if (dom != DOMID_SELF && !(l0_mode && dom == pv_dom.domid))
        return -XEN_ESRCH;      /* no other domain is visible */
    spin_lock(&reset_lock);
    f = lock();
    for (evtchn_port_t p = 1; p < NR_PORTS; p++) {
        enum l0_hold h = L0_HOLD_NONE;

        if (ports[p].state != ECS_FREE && ports[p].state != ECS_SHIM)
            close_locked(p, &h);
        held[p] = (uint8_t)h;
    }
    n = pv_fifo_destroy(frames, PV_FIFO_MAX_FRAMES);
    for (evtchn_port_t p = 0; p < NR_PORTS; p++)
        ports[p].fifo = (struct fifo_port){ 0 };
    unlock(f);
    for (unsigned int i = 0; i < n; i++)
        pv_mm_put_page_and_type(frames[i]);
    for (evtchn_port_t p = 1; p < NR_PORTS; p++)
        l0_close(p, (enum l0_hold)held[p]);
    spin_unlock(&reset_lock);
    return 0;
}

static long bind_virq(struct evtchn_bind_virq *b)
{
    struct vcpu *v;
    evtchn_port_t p, want;
    unsigned long f;

    if (b->virq >= NR_VIRQS)
        return -XEN_EINVAL;
    if (virq_is_global(b->virq) && b->vcpu != 0)
        return -XEN_EINVAL;
    if (b->vcpu >= pv_dom.nr_vcpus)
        return -XEN_ENOENT;
    v = &pv_dom.vcpus[b->vcpu];
    want = l0_reserve();
    f = lock();
    if (v->virq_to_evtchn[b->virq]) {
        unlock(f);
        if (want)
            l0_release(want);
        return -XEN_EEXIST;
    }
    p = take_port(want);
    if (!p) {
        unlock(f);
        if (want)
            l0_release(want);
        return -XEN_ENOSPC;
    }
    claim_port(p, (struct port){ .state = ECS_VIRQ, .virq = (uint16_t)b->virq,
                                 .vcpu = (uint8_t)b->vcpu });
    v->virq_to_evtchn[b->virq] = p;
    unlock(f);
    b->port = p;
    return 0;
}

static long status(struct evtchn_status *s)
{
    const struct port *pt;
    unsigned long f;

    if (s->dom != DOMID_SELF && !(l0_mode && s->dom == pv_dom.domid))
        return -XEN_ESRCH;
    if (!port_is_valid(s->port))
        return -XEN_EINVAL;
    memset(&s->u, 0, sizeof(s->u));
    f = lock();
    pt = &ports[s->port];
    if (pt->state == ECS_L0) {
        /* Xen's shim: L0's status of its channel. The vCPU is ours: the
         * guest binds it here (EVTCHNOP_bind_vcpu stays in the shim). */
        unsigned int vcpu = pt->vcpu;
        long rc;

        unlock(f);
        s->dom = DOMID_SELF;
        rc = l0_evtchn_op(EVTCHNOP_status, s);
        s->vcpu = vcpu;
        return rc;
    }
    s->vcpu = pt->vcpu;
    switch (pt->state) {
    case ECS_FREE: s->status = EVTCHNSTAT_closed; break;
    case ECS_UNBOUND: s->status = EVTCHNSTAT_unbound; s->u.unbound.dom = pt->remote; break;
    case ECS_VIRQ: s->status = EVTCHNSTAT_virq; s->u.virq = pt->virq; break;
    case ECS_IPI: s->status = EVTCHNSTAT_ipi; break;
    default: s->status = EVTCHNSTAT_interdomain; s->u.interdomain.dom = pt->remote;
             s->u.interdomain.port = pt->remote_port ? pt->remote_port : s->port; break;
    }
    unlock(f);
    return 0;
}

/* Allocate a port in state st bound to vcpu; 0 when the table is full. */
static evtchn_port_t alloc_port(uint8_t st, unsigned int vcpu, domid_t remote)
{
    evtchn_port_t want = l0_reserve();
    unsigned long f = lock();
    evtchn_port_t p = take_port(want);

    if (p)
        claim_port(p, (struct port){ .state = st, .vcpu = (uint8_t)vcpu, .remote = remote });
    unlock(f);
    if (!p && want)
        l0_release(want);
    return p;
}

/* ------------------------------------------ channels that are L0's --- */

/* L0's upcall for a forwarded channel (interrupt context, shim CPU 0):
 * raise the guest's port of the same number on its vCPU. */
static void l0_port_fired(uint32_t port, void *arg)
{
    unsigned long f;

    (void)arg;
    if (port >= NR_PORTS)
        return;
    f = lock();
    if (ports[port].state == ECS_L0)
        set_pending_port(port);
    unlock(f);
}

/* L0 gave us channel p (alloc_unbound / bind_interdomain): the guest's
 * port p, on vCPU 0. Xen's shim (evtchn_allocate_port on the number L0
 * chose): -ENOSPC past our port space, -EBUSY for a number in use here;
 * L0's channel is closed again then. */
static long adopt_l0_channel(evtchn_port_t p, domid_t remote, evtchn_port_t rport)
{
    unsigned long f = lock();
    long rc = 0;

    if (p == 0 || p >= NR_PORTS)
        rc = -XEN_ENOSPC;
    else if (ports[p].state != ECS_FREE || pv_fifo_is_busy(p))
        rc = -XEN_EBUSY;
    else
        claim_port(p, (struct port){ .state = ECS_L0, .remote = remote,
                                     .remote_port = rport });
    unlock(f);
    if (!rc) {
        /* Unmasks in L0: an event that came meanwhile is raised now. */
        rc = l0_evtchn_bind(p, l0_port_fired, NULL);
        if (rc) {
            enum l0_hold h;

            f = lock();
            close_locked(p, &h);
            unlock(f);
        }
    }
    if (rc) {
        pr_warn("evtchn: cannot take L0's channel %u (%ld)\n", p, rc);
        if (p)
            l0_release(p);
    }
    return rc;
}

long pv_evtchn_use_l0(void)
{
    if (!l0_evtchn_ready())
        return -XEN_ENODEV;
    l0_mode = true;
    return 0;
}

bool pv_evtchn_is_l0(void)
{
    return l0_mode;
}

/* Xen setup_ports, on the switch to FIFO: every port keeps its 2-level
 * pending state (raised again when its event-array page comes) and gets
 * the default priority. Lock held. */
static void fifo_setup_ports(void)
{
    struct shared_info *sh = pv_dom.shared_info;

    for (evtchn_port_t p = 1; p < NR_PORTS; p++) {
        ports[p].fifo.pending = sh && test(&sh->evtchn_pending[p / 64], bit(p));
        ports[p].fifo.priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    }
}

/* EVTCHNOP_init_control (Xen evtchn_fifo_init_control). */
static long fifo_init_control(struct evtchn_init_control *ic)
{
    unsigned long f;
    mfn_t m;
    long rc;

    ic->link_bits = EVTCHN_FIFO_LINK_BITS;
    rc = pv_fifo_check_control(ic, &m);
    if (rc)
        return rc;
    f = lock();
    rc = pv_fifo_install_control(ic, m);
    if (rc == 1)
        fifo_setup_ports();
    unlock(f);
    if (rc < 0) {
        pv_mm_put_page_and_type(m);
        return rc;
    }
    return 0;
}

/* EVTCHNOP_expand_array (Xen evtchn_fifo_expand_array and
 * add_page_to_event_array): events raised while their word was missing
 * are raised now. */
static long fifo_expand_array(uint64_t gfn)
{
    evtchn_port_t first, end;
    unsigned long f;
    mfn_t m;
    long rc;

    if (!pv_fifo_active())
        return -XEN_EOPNOTSUPP;
    rc = pv_fifo_get_frame(gfn, &m);
    if (rc)
        return rc;
    f = lock();
    rc = pv_fifo_add_array_page(m, &first, &end);
    for (evtchn_port_t p = first; !rc && p < end && port_is_valid(p); p++)
        if (ports[p].fifo.pending)
            set_pending_port(p);
    unlock(f);
    if (rc)
        pv_mm_put_page_and_type(m);
    return rc;
}

/* EVTCHNOP_set_priority (Xen evtchn_set_priority): a port outside the
 * space is -EINVAL, the 2-level ABI has no priorities (-ENOSYS from
 * evtchn_port_set_priority), a priority past 15 -EINVAL. */
static long evtchn_set_priority(evtchn_port_t p, uint32_t priority)
{
    unsigned long f;
    long rc;

    if (!port_is_valid(p))
        return -XEN_EINVAL;
    f = lock();
    rc = pv_fifo_active() ? pv_fifo_set_priority(&ports[p].fifo, priority)
                          : -XEN_ENOSYS;
    unlock(f);
    return rc;
}

long do_event_channel_op(int cmd, uint64_t arg)
{
    long rc;

    switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
        struct evtchn_alloc_unbound a;

        if (copy_from_guest(&a, arg, sizeof(a)))
            return -XEN_EFAULT;
        if (l0_mode) {
            /* L0 checks dom and remote_dom and picks the number. */
            rc = l0_evtchn_op(EVTCHNOP_alloc_unbound, &a);
            if (!rc)
                rc = adopt_l0_channel(a.port, a.remote_dom, 0);
            if (!rc && copy_to_guest(arg, &a, sizeof(a))) {
                evtchn_close(a.port);
                rc = -XEN_EFAULT;
            }
            return rc;
        }
        if (a.dom != DOMID_SELF)
            return -XEN_ESRCH;      /* no other domain is visible */
        a.port = alloc_port(ECS_UNBOUND, 0, a.remote_dom);
        if (!a.port)
            return -XEN_ENOSPC;
        if (copy_to_guest(arg, &a, sizeof(a))) {
            evtchn_close(a.port);
            return -XEN_EFAULT;
        }
        return 0;
    }
    case EVTCHNOP_bind_virq: {
        struct evtchn_bind_virq b;

        if (copy_from_guest(&b, arg, sizeof(b)))
            return -XEN_EFAULT;
        rc = bind_virq(&b);
        if (!rc && copy_to_guest(arg, &b, sizeof(b)))
            rc = -XEN_EFAULT;   /* Xen: "Cleaning up here would be a mess!" */
        return rc;
    }
    case EVTCHNOP_bind_ipi: {
        struct evtchn_bind_ipi b;

        if (copy_from_guest(&b, arg, sizeof(b)))
            return -XEN_EFAULT;
        if (b.vcpu >= pv_dom.nr_vcpus)
            return -XEN_ENOENT;
        b.port = alloc_port(ECS_IPI, b.vcpu, DOMID_SELF);
        if (!b.port)
            return -XEN_ENOSPC;
        return copy_to_guest(arg, &b, sizeof(b)) ? -XEN_EFAULT : 0;
    }
    case EVTCHNOP_close: {
        struct evtchn_close c;

        if (copy_from_guest(&c, arg, sizeof(c)))
            return -XEN_EFAULT;
        return evtchn_close(c.port);
    }
    case EVTCHNOP_send: {
        struct evtchn_send s;

        if (copy_from_guest(&s, arg, sizeof(s)))
            return -XEN_EFAULT;
        return evtchn_send(s.port);
    }
    case EVTCHNOP_unmask: {
        struct evtchn_unmask u;

        if (copy_from_guest(&u, arg, sizeof(u)))
            return -XEN_EFAULT;
        return evtchn_unmask(u.port);
    }
    case EVTCHNOP_status: {
        struct evtchn_status s;

        if (copy_from_guest(&s, arg, sizeof(s)))
            return -XEN_EFAULT;
        rc = status(&s);
        if (!rc && copy_to_guest(arg, &s, sizeof(s)))
            rc = -XEN_EFAULT;
        return rc;
    }
    case EVTCHNOP_bind_vcpu: {
        struct evtchn_bind_vcpu b;

        if (copy_from_guest(&b, arg, sizeof(b)))
            return -XEN_EFAULT;
        return evtchn_bind_vcpu(b.port, b.vcpu);
    }
    case EVTCHNOP_reset: {
        struct evtchn_reset r;

        if (copy_from_guest(&r, arg, sizeof(r)))
            return -XEN_EFAULT;
        return evtchn_reset(r.dom);
    }
    case 14: {  /* EVTCHNOP_reset_cont (a tools-only name) */
        struct evtchn_reset r;

        /* Xen 4.17 evtchn_reset(d, true) resumes a preempted reset and
         * says -EBUSY when none is in progress; the shim's reset is never
         * preempted, so there is never one to resume. */
        if (copy_from_guest(&r, arg, sizeof(r)))
            return -XEN_EFAULT;
        if (r.dom != DOMID_SELF)
            return -XEN_ESRCH;      /* no other domain is visible */
        return -XEN_EBUSY;
    }
    case EVTCHNOP_bind_pirq:
        /* A domU behind a shim has no physical IRQs: Xen 4.17's pv-shim
         * (xen/arch/x86/pv/shim.c pv_shim_event_channel_op, "No FIFO or
         * PIRQ support") answers -EOPNOTSUPP without reading the argument. */
        return -XEN_EOPNOTSUPP;
    case EVTCHNOP_init_control: {
        struct evtchn_init_control ic;

        if (copy_from_guest(&ic, arg, sizeof(ic)))
            return -XEN_EFAULT;
        rc = fifo_init_control(&ic);
        if (!rc && copy_to_guest(arg, &ic, sizeof(ic)))
            rc = -XEN_EFAULT;
        return rc;
    }
    case EVTCHNOP_expand_array: {
        struct evtchn_expand_array e;

        if (copy_from_guest(&e, arg, sizeof(e)))
            return -XEN_EFAULT;
        return fifo_expand_array(e.array_gfn);
    }
    case EVTCHNOP_set_priority: {
        struct evtchn_set_priority sp;

        if (copy_from_guest(&sp, arg, sizeof(sp)))
            return -XEN_EFAULT;
        return evtchn_set_priority(sp.port, sp.priority);
    }
    case EVTCHNOP_bind_interdomain: {
        struct evtchn_bind_interdomain b;

        if (!l0_mode)
            return -XEN_ENOSYS;         /* no other domain is visible */
        if (copy_from_guest(&b, arg, sizeof(b)))
            return -XEN_EFAULT;
        /* L0 checks the remote domain and port, and picks local_port. */
        rc = l0_evtchn_op(EVTCHNOP_bind_interdomain, &b);
        if (!rc)
            rc = adopt_l0_channel(b.local_port, b.remote_dom, b.remote_port);
        if (!rc && copy_to_guest(arg, &b, sizeof(b))) {
            evtchn_close(b.local_port);
            rc = -XEN_EFAULT;
        }
        return rc;
    }
    default:
        /* bind_pirq. */
        return -XEN_ENOSYS;
    }
}

/* ------------------------------------------------------- SCHEDOP_poll --- */

/* Xen local_events_need_delivery(). */
static bool events_need_delivery(const struct vcpu *v)
{
    return __atomic_load_n(&v->vcpu_info->evtchn_upcall_pending, __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(&v->vcpu_info->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
}

void pv_evtchn_poll_expired(struct vcpu *v)
{
    uint64_t b = 1ULL << v->id;

    /* Xen poll_timer_fn: wake only a vCPU still polling. */
    if (__atomic_fetch_and(&poll_mask, ~b, __ATOMIC_SEQ_CST) & b)
        __atomic_store_n(&v->blocked, false, __ATOMIC_SEQ_CST);
}

/*
 * Xen do_poll(): block until one of the ports is pending or the absolute
 * timeout (system time, ns; 0 = none) passes. The order of the checks is
 * Xen's: an upcall that needs delivery ends the poll before the ports are
 * even read, and a pending port ends it before later ports are checked.
 */
long pv_evtchn_poll(struct vcpu *v, uint64_t ports_gva, unsigned int nr_ports,
                    uint64_t timeout)
{
    uint64_t b = 1ULL << v->id;
    evtchn_port_t port = 0;
    long rc = 0;

    /* "Fairly arbitrary limit." */
    if (nr_ports > 128)
        return -XEN_EINVAL;
    if (!guest_access_ok(ports_gva, (size_t)nr_ports * sizeof(evtchn_port_t)))
        return -XEN_EFAULT;

    __atomic_store_n(&v->blocked, true, __ATOMIC_SEQ_CST);
    __atomic_store_n(&v->poll_evtchn, -1, __ATOMIC_SEQ_CST);
    __atomic_fetch_or(&poll_mask, b, __ATOMIC_SEQ_CST);

    if (events_need_delivery(v))
        goto out;
    for (unsigned int i = 0; i < nr_ports; i++) {
        if (copy_from_guest(&port, ports_gva + i * sizeof(port), sizeof(port))) {
            rc = -XEN_EFAULT;
            goto out;
        }
        if (!pv_evtchn_port_in_range(port)) {
            rc = -XEN_EINVAL;
            goto out;
        }
        if (pv_evtchn_is_pending(port))
            goto out;
    }
    if (nr_ports == 1)
        __atomic_store_n(&v->poll_evtchn, (int)port, __ATOMIC_SEQ_CST);
    if (timeout) {
        v->poll_deadline = timeout;
        pv_time_reprogram(v);
    }
    pv_vcpu_sleep(v);
    if (timeout) {
        v->poll_deadline = 0;
        pv_time_reprogram(v);
    }
out:
    __atomic_store_n(&v->poll_evtchn, 0, __ATOMIC_SEQ_CST);
    __atomic_fetch_and(&poll_mask, ~b, __ATOMIC_SEQ_CST);
    __atomic_store_n(&v->blocked, false, __ATOMIC_SEQ_CST);
    return rc;
}

/* ------------------------------------------------------- state dump --- */

/* The state dump (pv/state_dump.c): how many of v's bound ports are
 * pending and not masked, the first max of them in out. A snapshot read
 * without the lock, for a human reading a hang. */
unsigned int pv_evtchn_debug_pending(const struct vcpu *v, evtchn_port_t *out, unsigned int max)
{
    struct shared_info *sh = pv_dom.shared_info;
    unsigned int n = 0;

    for (evtchn_port_t p = 1; p < NR_PORTS; p++) {
        bool masked;

        if (ports[p].state == ECS_FREE || ports[p].vcpu != v->id || !pv_evtchn_is_pending(p))
            continue;
        if (pv_fifo_active())
            masked = pv_fifo_debug_word(p) & (1u << EVTCHN_FIFO_MASKED);
        else
            masked = sh && test(&sh->evtchn_mask[p / 64], bit(p));
        if (!masked) {
            if (n < max)
                out[n] = p;
            n++;
        }
    }
    return n;
}

/*
 * The legacy event_channel_op (hypercall 16, before 0x00030202): Xen
 * 4.17 do_event_channel_op_compat (xen/arch/x86/compat.c) reads the whole
 * struct evtchn_op (-EFAULT), then hands the sub-ops that existed then to
 * event_channel_op with the union inside the caller's struct as the
 * argument (results are written back there); newer sub-ops are -ENOSYS.
 */
long do_event_channel_op_compat(uint64_t arg)
{
    struct evtchn_op op;

    if (copy_from_guest(&op, arg, sizeof(op)))
        return -XEN_EFAULT;
    switch (op.cmd) {
    case EVTCHNOP_bind_interdomain:
    case EVTCHNOP_bind_virq:
    case EVTCHNOP_bind_pirq:
    case EVTCHNOP_close:
    case EVTCHNOP_send:
    case EVTCHNOP_status:
    case EVTCHNOP_alloc_unbound:
    case EVTCHNOP_bind_ipi:
    case EVTCHNOP_bind_vcpu:
    case EVTCHNOP_unmask:
        return do_event_channel_op((int)op.cmd, arg + offsetof(struct evtchn_op, u));
    default:
        return -XEN_ENOSYS;
    }
}
