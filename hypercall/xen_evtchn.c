/*
 * Event channels from L0 Xen to the shim: how the shim, a PVH guest of L0,
 * is told that one of its own L0 ports fired (the xenstore and console
 * rings L0's toolstack gave the domain).
 *
 * L0's shared_info is mapped over a page of the shim image
 * (XENMEM_add_to_physmap, XENMAPSPACE_shared_info: L0 frees the RAM page
 * behind that frame and puts shared_info there, as Linux and Xen's own
 * guest code do). Upcalls come as one IDT vector through
 * HVM_PARAM_CALLBACK_IRQ with the vector type (public hvm/params.h;
 * xen/arch/x86/hvm/irq.c: allowed for a PVH domain, which has no PIC or
 * IO-APIC, and injected while vcpu_info->evtchn_upcall_pending is set,
 * without going through the local APIC: no EOI). Xen's own guest code
 * uses the per-vCPU HVMOP_set_evtchn_upcall_vector instead, which goes
 * through the vLAPIC and needs an EOI; every port here is bound to vCPU 0
 * (L0's default), so one domain-wide vector is enough.
 *
 * The handler scans the 2-level bitmaps (xen/common/event_2l.c) and calls
 * what l0_evtchn_bind() registered for each pending, unmasked port.
 */
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/inject.h>
#include <minishim/l0.h>
#include <xen/event_channel.h>

/* Replaced by L0's shared_info once mapped; never touched before. */
static uint8_t shared_info_page[PAGE_SIZE] __aligned(PAGE_SIZE);
static struct shared_info *shinfo;

struct l0_port {
    l0_evtchn_handler_fn fn;
    void *arg;
};
static struct l0_port handlers[L0_EVTCHN_MAX_PORTS];
static unsigned long nr_upcalls, nr_spurious;
static unsigned int upcall_vector;      /* for l0_evtchn_resume */

#define BITS_PER_WORD (8 * sizeof(xen_ulong_t))

static long evtchn_op(int cmd, void *arg)
{
    return xen_hypercall(__HYPERVISOR_event_channel_op, (unsigned long)cmd,
                         (unsigned long)arg, 0, 0, 0);
}

/* Map L0's shared_info over shared_info_page, every port masked, and the
 * upcall on vector (HVM_PARAM_CALLBACK_IRQ). shinfo stays NULL on error. */
static int map_and_connect(unsigned int vector)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
    };
    struct shared_info *sh = (struct shared_info *)shared_info_page;
    long rc;

    xatp.gpfn = arch_virt_to_phys(shared_info_page).pa >> PAGE_SHIFT;
    rc = xen_memory_op(XENMEM_add_to_physmap, &xatp);
    if (rc)
        return (int)rc;
    /* Every port masked until someone binds it (as Xen's guest code does):
     * the domain's ports start unmasked and may already be pending. */
    for (unsigned int i = 0; i < ARRAY_SIZE(sh->evtchn_mask); i++)
        __atomic_store_n(&sh->evtchn_mask[i], ~(xen_ulong_t)0, __ATOMIC_SEQ_CST);
    rc = xen_set_hvm_param(HVM_PARAM_CALLBACK_IRQ,
                           ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | vector);
    if (rc)
        return (int)rc;         /* shared_info stays mapped: no upcalls */
    upcall_vector = vector;
    shinfo = sh;
    return 0;
}

int l0_evtchn_init(unsigned int vector)
{
    if (shinfo)
        return -XEN_EEXIST;
    /* Vectors below 32 are exceptions; 0x10..0x1f would also be refused
     * by a real LAPIC. */
    if (vector < 0x20 || vector > 0xff)
        return -XEN_EINVAL;
    return map_and_connect(vector);
}

/*
 * After L0 resumed the shim in a new domain (save/restore, migration):
 * the new domain has no shared_info mapped, no callback set (libxc does
 * not save HVM_PARAM_CALLBACK_IRQ) and none of the old ports (their
 * handlers go). Xen's own guest code does the same in hypervisor_resume
 * (xen/arch/x86/guest/xen/xen.c: map_shared_info, init_evtchn).
 */
int l0_evtchn_resume(void)
{
    unsigned int vector = upcall_vector;

    if (!shinfo)
        return -XEN_ENODEV;
    shinfo = NULL;
    for (unsigned int i = 0; i < L0_EVTCHN_MAX_PORTS; i++)
        __atomic_store_n(&handlers[i].fn, NULL, __ATOMIC_RELEASE);
    return map_and_connect(vector);
}

bool l0_evtchn_ready(void)
{
    return shinfo != NULL;
}

struct shared_info *l0_shared_info(void)
{
    return shinfo;
}

static bool port_ok(uint32_t port)
{
    /* Port 0 is never a valid channel (Xen reserves it). */
    return port > 0 && port < L0_EVTCHN_MAX_PORTS;
}

int l0_evtchn_unmask(uint32_t port)
{
    struct evtchn_unmask u = { .port = port };

    if (!shinfo)
        return -XEN_ENODEV;
    if (!port_ok(port))
        return -XEN_EINVAL;
    /* L0 clears the mask bit and, if the port is pending, raises the
     * upcall again (evtchn_2l_unmask). */
    return (int)evtchn_op(EVTCHNOP_unmask, &u);
}

int l0_evtchn_bind(uint32_t port, l0_evtchn_handler_fn fn, void *arg)
{
    struct l0_port *h;

    if (!shinfo)
        return -XEN_ENODEV;
    if (!port_ok(port) || !fn)
        return -XEN_EINVAL;
    h = &handlers[port];
    if (__atomic_load_n(&h->fn, __ATOMIC_ACQUIRE))
        return -XEN_EEXIST;
    h->arg = arg;
    __atomic_store_n(&h->fn, fn, __ATOMIC_RELEASE);
    return l0_evtchn_unmask(port);
}

/* Stop handling port: masked in L0's shared_info (its events stay there),
 * no handler. The port itself is not closed. */
void l0_evtchn_unbind(uint32_t port)
{
    if (!shinfo || !port_ok(port))
        return;
    __atomic_fetch_or(&shinfo->evtchn_mask[port / BITS_PER_WORD],
                      (xen_ulong_t)1 << (port % BITS_PER_WORD), __ATOMIC_SEQ_CST);
    __atomic_store_n(&handlers[port].fn, NULL, __ATOMIC_RELEASE);
}

/* An event-channel op the guest's forwarded ports need on L0
 * (alloc_unbound, bind_interdomain, close, status): L0's rc. */
int l0_evtchn_op(int cmd, void *arg)
{
    if (!shinfo)
        return -XEN_ENODEV;
    return (int)evtchn_op(cmd, arg);
}

int l0_evtchn_send(uint32_t port)
{
    struct evtchn_send s = { .port = port };

    if (!shinfo)
        return -XEN_ENODEV;
    if (!port_ok(port))
        return -XEN_EINVAL;
    if (inject_hit(INJECT_L0_EVTCHN_SEND_FAIL))
        return -INJECT_L0_ERRNO;
    return (int)evtchn_op(EVTCHNOP_send, &s);
}

int l0_evtchn_status(uint32_t port, struct evtchn_status *st)
{
    if (!shinfo)
        return -XEN_ENODEV;
    if (!port_ok(port))
        return -XEN_EINVAL;
    memset(st, 0, sizeof(*st));
    st->dom = DOMID_SELF;
    st->port = port;
    return (int)evtchn_op(EVTCHNOP_status, st);
}

void l0_evtchn_upcall(struct cpu_regs *regs)
{
    unsigned int cpu = arch_cpu_id();
    struct vcpu_info *vi;
    xen_ulong_t sel;

    (void)regs;
    if (!shinfo || cpu >= XEN_LEGACY_MAX_VCPUS)
        return;
    vi = &shinfo->vcpu_info[cpu];
    nr_upcalls++;
    /* Clear the flag first: L0 injects the vector for as long as it is set,
     * and sets it again for any event that arrives from here on. */
    __atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned int w = (unsigned int)__builtin_ctzl(sel);
        xen_ulong_t ready;

        sel &= sel - 1;
        ready = __atomic_load_n(&shinfo->evtchn_pending[w], __ATOMIC_SEQ_CST) &
                ~__atomic_load_n(&shinfo->evtchn_mask[w], __ATOMIC_SEQ_CST);
        while (ready) {
            unsigned int bit = (unsigned int)__builtin_ctzl(ready);
            uint32_t port = w * BITS_PER_WORD + bit;
            l0_evtchn_handler_fn fn;

            ready &= ready - 1;
            /* Clear before calling: a new event during the handler sets
             * it, and the selector, again. Masked ports stay pending. */
            __atomic_fetch_and(&shinfo->evtchn_pending[w],
                               ~((xen_ulong_t)1 << bit), __ATOMIC_SEQ_CST);
            fn = port < L0_EVTCHN_MAX_PORTS ?
                 __atomic_load_n(&handlers[port].fn, __ATOMIC_ACQUIRE) : NULL;
            if (fn)
                fn(port, handlers[port].arg);
            else
                nr_spurious++;
        }
    }
}

unsigned long l0_evtchn_nr_upcalls(void)
{
    return nr_upcalls;
}

unsigned long l0_evtchn_nr_spurious(void)
{
    return nr_spurious;
}

void l0_evtchn_reset(void)
{
    shinfo = NULL;
    memset(handlers, 0, sizeof(handlers));
    nr_upcalls = nr_spurious = 0;
    upcall_vector = 0;
}
