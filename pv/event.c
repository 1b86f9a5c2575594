/*
 * Event channels, 2-level ABI (xen/common/event_channel.c and
 * event_2l.c): alloc_unbound, bind_virq, bind_ipi, status, close, send,
 * unmask. One domain, so "interdomain" ports are the shim's own backends
 * (the console ring): sending on one calls the backend.
 */
#include <string.h>
#include <minishim/console.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <xen/event_channel.h>

#define NR_PORTS 1024           /* of the 4096 the 2-level ABI allows */

enum port_state { ECS_FREE, ECS_UNBOUND, ECS_VIRQ, ECS_IPI, ECS_SHIM };

struct port {
    uint8_t state;
    uint8_t vcpu;
    uint16_t virq;
    domid_t remote;
    void (*notify)(void);
};

static struct port ports[NR_PORTS];
static evtchn_port_t virq_port[NR_VIRQS];

void pv_evtchn_reset(void)
{
    memset(ports, 0, sizeof(ports));
    memset(virq_port, 0, sizeof(virq_port));
}

/* Port 0 is never handed out (Xen reserves it). */
static evtchn_port_t get_free_port(void)
{
    for (evtchn_port_t p = 1; p < NR_PORTS; p++)
        if (ports[p].state == ECS_FREE)
            return p;
    return 0;
}

static bool port_valid(evtchn_port_t p)
{
    return p > 0 && p < NR_PORTS && ports[p].state != ECS_FREE;
}

static bool test_and_set(xen_ulong_t *w, unsigned int bit)
{
    xen_ulong_t m = (xen_ulong_t)1 << bit;

    return __atomic_fetch_or(w, m, __ATOMIC_SEQ_CST) & m;
}

void pv_evtchn_set_pending(evtchn_port_t port)
{
    struct shared_info *sh = pv_dom.shared_info;
    struct vcpu_info *vi;

    if (!sh || port >= NR_PORTS)
        return;
    vi = pv_dom.vcpus[ports[port].vcpu].vcpu_info;
    if (test_and_set(&sh->evtchn_pending[port / 64], port % 64))
        return;
    if (!(__atomic_load_n(&sh->evtchn_mask[port / 64], __ATOMIC_SEQ_CST) &
          ((xen_ulong_t)1 << (port % 64))) &&
        !test_and_set(&vi->evtchn_pending_sel, port / 64))
        __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
}

/* Xen's max_evtchns for the 2-level ABI on a 64-bit guest. */
bool pv_evtchn_port_in_range(evtchn_port_t port)
{
    return port < 64 * 64;
}

bool pv_evtchn_is_pending(evtchn_port_t port)
{
    struct shared_info *sh = pv_dom.shared_info;

    return sh && port < 64 * 64 &&
           (__atomic_load_n(&sh->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) &
            ((xen_ulong_t)1 << (port % 64)));
}

void pv_send_virq(unsigned int virq)
{
    if (virq < NR_VIRQS && virq_port[virq])
        pv_evtchn_set_pending(virq_port[virq]);
}

evtchn_port_t pv_evtchn_alloc_shim_port(void (*notify)(void))
{
    evtchn_port_t p = get_free_port();

    if (p)
        ports[p] = (struct port){ .state = ECS_SHIM, .notify = notify,
                                  .remote = DOMID_SELF };
    return p;
}

static long evtchn_send(evtchn_port_t p)
{
    if (!port_valid(p))
        return -XEN_EINVAL;
    switch (ports[p].state) {
    case ECS_SHIM:
        ports[p].notify();
        return 0;
    case ECS_IPI:
        pv_evtchn_set_pending(p);
        return 0;
    case ECS_UNBOUND:
        return 0;               /* Xen: silently dropped */
    default:
        return -XEN_EINVAL;
    }
}

static long evtchn_unmask(evtchn_port_t p)
{
    struct shared_info *sh = pv_dom.shared_info;
    struct vcpu_info *vi;

    if (p == 0 || p >= NR_PORTS)
        return -XEN_EINVAL;
    vi = pv_dom.vcpus[ports[p].vcpu].vcpu_info;
    __atomic_fetch_and(&sh->evtchn_mask[p / 64], ~((xen_ulong_t)1 << (p % 64)),
                       __ATOMIC_SEQ_CST);
    if ((__atomic_load_n(&sh->evtchn_pending[p / 64], __ATOMIC_SEQ_CST) &
         ((xen_ulong_t)1 << (p % 64))) &&
        !test_and_set(&vi->evtchn_pending_sel, p / 64))
        __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static long evtchn_close(evtchn_port_t p)
{
    if (!port_valid(p))
        return -XEN_EINVAL;
    if (ports[p].state == ECS_SHIM)
        return -XEN_EINVAL;     /* the shim's console stays connected */
    if (ports[p].state == ECS_VIRQ)
        virq_port[ports[p].virq] = 0;
    ports[p] = (struct port){ 0 };
    return 0;
}

/* Global VIRQs bind on vCPU 0 only (Xen virq_is_global). */
static bool virq_is_global(unsigned int virq)
{
    return virq != VIRQ_TIMER && virq != VIRQ_DEBUG && virq != VIRQ_XENOPROF &&
           virq != VIRQ_XENPMU;
}

long do_event_channel_op(int cmd, uint64_t arg)
{
    switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
        struct evtchn_alloc_unbound a;
        evtchn_port_t p;

        if (copy_from_guest(&a, arg, sizeof(a)))
            return -XEN_EFAULT;
        if (a.dom != DOMID_SELF)
            return -XEN_ESRCH;      /* no other domain is visible */
        p = get_free_port();
        if (!p)
            return -XEN_ENOSPC;
        ports[p] = (struct port){ .state = ECS_UNBOUND, .remote = a.remote_dom };
        a.port = p;
        if (copy_to_guest(arg, &a, sizeof(a))) {
            ports[p].state = ECS_FREE;
            return -XEN_EFAULT;
        }
        return 0;
    }
    case EVTCHNOP_bind_virq: {
        struct evtchn_bind_virq b;
        evtchn_port_t p;

        if (copy_from_guest(&b, arg, sizeof(b)))
            return -XEN_EFAULT;
        if (b.virq >= NR_VIRQS)
            return -XEN_EINVAL;
        if (virq_is_global(b.virq) && b.vcpu != 0)
            return -XEN_EINVAL;
        if (b.vcpu >= pv_dom.nr_vcpus)
            return -XEN_ENOENT;
        if (virq_port[b.virq])
            return -XEN_EEXIST;
        p = get_free_port();
        if (!p)
            return -XEN_ENOSPC;
        ports[p] = (struct port){ .state = ECS_VIRQ, .virq = (uint16_t)b.virq,
                                  .vcpu = (uint8_t)b.vcpu };
        virq_port[b.virq] = p;
        b.port = p;
        return copy_to_guest(arg, &b, sizeof(b)) ? -XEN_EFAULT : 0;
    }
    case EVTCHNOP_bind_ipi: {
        struct evtchn_bind_ipi b;
        evtchn_port_t p;

        if (copy_from_guest(&b, arg, sizeof(b)))
            return -XEN_EFAULT;
        if (b.vcpu >= pv_dom.nr_vcpus)
            return -XEN_ENOENT;
        p = get_free_port();
        if (!p)
            return -XEN_ENOSPC;
        ports[p] = (struct port){ .state = ECS_IPI, .vcpu = (uint8_t)b.vcpu };
        b.port = p;
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
        const struct port *pt;

        if (copy_from_guest(&s, arg, sizeof(s)))
            return -XEN_EFAULT;
        if (s.dom != DOMID_SELF)
            return -XEN_ESRCH;
        if (s.port >= NR_PORTS)
            return -XEN_EINVAL;
        pt = &ports[s.port];
        memset(&s.u, 0, sizeof(s.u));
        s.vcpu = pt->vcpu;
        switch (pt->state) {
        case ECS_FREE: s.status = EVTCHNSTAT_closed; break;
        case ECS_UNBOUND: s.status = EVTCHNSTAT_unbound; s.u.unbound.dom = pt->remote; break;
        case ECS_VIRQ: s.status = EVTCHNSTAT_virq; s.u.virq = pt->virq; break;
        case ECS_IPI: s.status = EVTCHNSTAT_ipi; break;
        default: s.status = EVTCHNSTAT_interdomain; s.u.interdomain.dom = DOMID_SELF;
                 s.u.interdomain.port = s.port; break;
        }
        return copy_to_guest(arg, &s, sizeof(s)) ? -XEN_EFAULT : 0;
    }
    default:
        /* bind_interdomain, bind_pirq, bind_vcpu, reset, FIFO ops. */
        return -XEN_ENOSYS;
    }
}
