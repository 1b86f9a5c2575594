/*
 * The FIFO event channel ABI (Xen 4.17 xen/common/event_fifo.c): per
 * vCPU a control block in a guest frame (READY word, one queue head per
 * priority), per port a 32-bit event word in guest event-array pages
 * (PENDING, MASKED, LINKED, BUSY, LINK). The shim links a newly pending,
 * unmasked event at the tail of its vCPU's queue for the port's priority
 * and sets that priority's READY bit; the guest consumes from the heads.
 *
 * Xen takes a lock per queue; here every caller holds pv/event.c's
 * evtchn_lock, which serialises all queue changes of the domain, so
 * Xen's retry loop around the two queue locks has nothing to retry. The
 * guest writes the event words and the control block concurrently: every
 * access to them is atomic, and nothing the guest writes is trusted as an
 * index (queue tails are the shim's own, every port is bounds-checked
 * against the array pages the guest added).
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/pv_evtchn_fifo.h>
#include <minishim/pv_mm.h>

#define WORDS_PER_PAGE   (PAGE_SIZE / sizeof(event_word_t))
#define MAX_ARRAY_PAGES  (EVTCHN_FIFO_NR_CHANNELS / WORDS_PER_PAGE)

struct fifo_vcpu {
    struct evtchn_fifo_control_block *cb;   /* NULL: none registered */
    mfn_t cb_mfn;
    uint32_t tail[EVTCHN_FIFO_MAX_QUEUES];  /* Xen queue->tail; 0 = empty */
};

static struct {
    bool active;                            /* Xen d->evtchn_fifo != NULL */
    unsigned int num_evtchns;               /* ports with an event word */
    event_word_t *array[MAX_ARRAY_PAGES];
    mfn_t array_mfn[MAX_ARRAY_PAGES];
    struct fifo_vcpu vcpu[PV_MAX_VCPUS];
} fifo;

_Static_assert(sizeof(struct evtchn_fifo_control_block) == 72, "Xen's layout");

void pv_fifo_forget(void)
{
    memset(&fifo, 0, sizeof(fifo));
}

bool pv_fifo_active(void)
{
    return __atomic_load_n(&fifo.active, __ATOMIC_ACQUIRE);
}

unsigned int pv_fifo_max_evtchns(void)
{
    return pv_fifo_active() ? EVTCHN_FIFO_NR_CHANNELS : 64 * 64;
}

/* Xen evtchn_fifo_word_from_port: NULL past the pages the guest added.
 * The count is published after the page pointer (acquire/release), as
 * Xen's smp_rmb/smp_wmb pair: poll reads words without the lock. */
static event_word_t *word_from_port(evtchn_port_t port)
{
    unsigned int n = __atomic_load_n(&fifo.num_evtchns, __ATOMIC_ACQUIRE);

    if (port >= n)
        return NULL;
    return fifo.array[port / WORDS_PER_PAGE] + port % WORDS_PER_PAGE;
}

static event_word_t bitm(unsigned int b)
{
    return (event_word_t)1 << b;
}

static bool word_test(event_word_t *w, unsigned int b)
{
    return __atomic_load_n(w, __ATOMIC_SEQ_CST) & bitm(b);
}

static bool word_test_and_set(event_word_t *w, unsigned int b)
{
    return __atomic_fetch_or(w, bitm(b), __ATOMIC_SEQ_CST) & bitm(b);
}

static void word_clear(event_word_t *w, unsigned int b)
{
    __atomic_fetch_and(w, ~bitm(b), __ATOMIC_SEQ_CST);
}

void pv_fifo_port_init(struct fifo_port *s)
{
    s->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    s->pending = false;
}

/* Xen try_set_link: 1 linked, 0 the tail is no longer LINKED (the guest
 * consumed it: the queue is empty), -1 the word changed under us. */
static int try_set_link(event_word_t *word, event_word_t *w, uint32_t link)
{
    event_word_t old = *w, new;

    if (!(old & bitm(EVTCHN_FIFO_LINKED)))
        return 0;
    new = (old & ~(bitm(EVTCHN_FIFO_BUSY) | EVTCHN_FIFO_LINK_MASK)) | link;
    if (__atomic_compare_exchange_n(word, w, new, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        return 1;
    return -1;                  /* *w holds the new value */
}

/*
 * Xen evtchn_fifo_set_link: set the LINK field of the tail's word iff it
 * is still LINKED. The guest may only set/clear MASKED, clear PENDING and
 * clear LINKED; BUSY stops it unmasking (Linux waits for BUSY to clear),
 * so after BUSY the cmpxchg fails at most 4 times.
 */
static bool set_link(event_word_t *word, uint32_t link)
{
    event_word_t w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    int ret = try_set_link(word, &w, link);

    if (ret >= 0)
        return ret;
    word_test_and_set(word, EVTCHN_FIFO_BUSY);
    w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    for (unsigned int i = 0; i < 4; i++) {
        ret = try_set_link(word, &w, link);
        if (ret >= 0) {
            if (ret == 0)
                word_clear(word, EVTCHN_FIFO_BUSY);
            return ret;
        }
    }
    /* Xen: "port not linked" warning, and the event counts as linked. */
    word_clear(word, EVTCHN_FIFO_BUSY);
    return true;
}

bool pv_fifo_set_pending(struct vcpu *v, evtchn_port_t port, struct fifo_port *s)
{
    struct fifo_vcpu *fv = &fifo.vcpu[v->id];
    struct fifo_vcpu *old_fv = &fifo.vcpu[s->last_vcpu];
    uint32_t *old_tail = &old_fv->tail[s->last_priority];
    unsigned int prio = s->priority;
    event_word_t *word = word_from_port(port);
    bool was_pending, linked = true;

    /* No event word yet: remember it for expand_array. */
    if (!word) {
        s->pending = true;
        return false;
    }
    was_pending = word_test_and_set(word, EVTCHN_FIFO_PENDING);
    /* No control block: the guest may not unmask an event before it
     * registered one, so Xen drops the event (it stays PENDING). */
    if (!fv->cb)
        return !was_pending;
    if (!word_test(word, EVTCHN_FIFO_MASKED) &&
        !word_test_and_set(word, EVTCHN_FIFO_LINKED)) {
        /* Was it the tail of its old queue? That queue is now empty;
         * a later event there must not link behind this one. */
        if (*old_tail == port)
            *old_tail = 0;
        s->last_vcpu = (uint8_t)v->id;
        s->last_priority = (uint8_t)prio;
        linked = false;
        if (fv->tail[prio]) {
            event_word_t *tw = word_from_port(fv->tail[prio]);

            linked = tw && set_link(tw, port);
        }
        if (!linked)
            __atomic_store_n(&fv->cb->head[prio], port, __ATOMIC_SEQ_CST);
        fv->tail[prio] = port;
    }
    if (!linked &&
        !(__atomic_fetch_or(&fv->cb->ready, 1u << prio, __ATOMIC_SEQ_CST) &
          (1u << prio)))
        pv_evtchn_mark_events_pending(v);
    return !was_pending;
}

void pv_fifo_clear_pending(evtchn_port_t port)
{
    event_word_t *word = word_from_port(port);

    /* Xen: just the P bit; the guest unlinks non-pending events. */
    if (word)
        word_clear(word, EVTCHN_FIFO_PENDING);
}

bool pv_fifo_unmask(struct vcpu *v, evtchn_port_t port, struct fifo_port *s)
{
    event_word_t *word = word_from_port(port);

    if (!word)
        return false;
    word_clear(word, EVTCHN_FIFO_MASKED);
    if (word_test(word, EVTCHN_FIFO_PENDING))
        return pv_fifo_set_pending(v, port, s);
    return false;
}

bool pv_fifo_is_pending(evtchn_port_t port)
{
    event_word_t *word = word_from_port(port);

    return word && word_test(word, EVTCHN_FIFO_PENDING);
}

bool pv_fifo_is_busy(evtchn_port_t port)
{
    event_word_t *word = word_from_port(port);

    return word && word_test(word, EVTCHN_FIFO_LINKED);
}

long pv_fifo_set_priority(struct fifo_port *s, uint32_t priority)
{
    if (priority > EVTCHN_FIFO_PRIORITY_MIN)
        return -XEN_EINVAL;
    /* Only future events go to the new queue (Xen). */
    s->priority = (uint8_t)priority;
    return 0;
}

/* Xen map_guest_page: the guest's frame (a PV gfn is its mfn) with a
 * writable type, held while mapped; any failure is -EINVAL. */
long pv_fifo_get_frame(uint64_t gfn, mfn_t *m)
{
    *m = mfn(gfn);
    if (gfn >> 52 || pv_mm_get_page_and_type(*m, PGT_WRITABLE))
        return -XEN_EINVAL;
    return 0;
}

long pv_fifo_check_control(const struct evtchn_init_control *ic, mfn_t *m)
{
    /* Xen evtchn_fifo_init_control, in its order. */
    if (ic->vcpu >= pv_dom.nr_vcpus)
        return -XEN_ENOENT;                 /* domain_vcpu() NULL */
    /* The control block must not cross the page boundary... */
    if (ic->offset > PAGE_SIZE - sizeof(struct evtchn_fifo_control_block))
        return -XEN_EINVAL;
    /* ...and must be 8-byte aligned. */
    if (ic->offset & 7)
        return -XEN_EINVAL;
    /* A second control block for the vCPU is refused before the frame is
     * looked at (map_control_block); checked again under the lock. */
    if (__atomic_load_n(&fifo.vcpu[ic->vcpu].cb, __ATOMIC_ACQUIRE))
        return -XEN_EINVAL;
    return pv_fifo_get_frame(ic->control_gfn, m);
}

long pv_fifo_install_control(const struct evtchn_init_control *ic, mfn_t m)
{
    struct fifo_vcpu *fv = &fifo.vcpu[ic->vcpu];
    bool first = !fifo.active;

    if (fv->cb)
        return -XEN_EINVAL;
    fv->cb_mfn = m;
    memset(fv->tail, 0, sizeof(fv->tail));
    __atomic_store_n(&fv->cb,
                     (struct evtchn_fifo_control_block *)
                     ((uint8_t *)arch_phys_to_virt(mfn_to_paddr(m)) + ic->offset),
                     __ATOMIC_RELEASE);
    if (first)
        __atomic_store_n(&fifo.active, true, __ATOMIC_RELEASE);
    return first ? 1 : 0;
}

long pv_fifo_add_array_page(mfn_t m, evtchn_port_t *first, evtchn_port_t *end)
{
    unsigned int slot = fifo.num_evtchns / WORDS_PER_PAGE;

    if (!fifo.active)
        return -XEN_EOPNOTSUPP;
    if (slot >= MAX_ARRAY_PAGES)
        return -XEN_ENOSPC;
    fifo.array[slot] = arch_phys_to_virt(mfn_to_paddr(m));
    fifo.array_mfn[slot] = m;
    *first = fifo.num_evtchns;
    *end = fifo.num_evtchns + WORDS_PER_PAGE;
    __atomic_store_n(&fifo.num_evtchns, *end, __ATOMIC_RELEASE);
    return 0;
}

unsigned int pv_fifo_destroy(mfn_t *frames, unsigned int max)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < PV_MAX_VCPUS; i++)
        if (fifo.vcpu[i].cb && n < max)
            frames[n++] = fifo.vcpu[i].cb_mfn;
    for (unsigned int i = 0; i < fifo.num_evtchns / WORDS_PER_PAGE; i++)
        if (n < max)
            frames[n++] = fifo.array_mfn[i];
    pv_fifo_forget();
    return n;
}

/* The state dump (pv/state_dump.c): a port's event word (0 without one),
 * and vCPU vcpu's ready bits with its non-empty queues (control-block
 * head, the shim's tail), as a snapshot read without the lock. Returns
 * the ready bits; *nq the number of queues written to prio/head/tail. */
uint32_t pv_fifo_debug_word(evtchn_port_t port)
{
    event_word_t *w = word_from_port(port);

    return w ? __atomic_load_n(w, __ATOMIC_RELAXED) : 0;
}

uint32_t pv_fifo_debug_queues(unsigned int vcpu, unsigned int *nq, uint8_t *prio,
                              uint32_t *head, uint32_t *tail, unsigned int max)
{
    const struct fifo_vcpu *fv;
    uint32_t ready;

    *nq = 0;
    if (vcpu >= PV_MAX_VCPUS || !fifo.vcpu[vcpu].cb)
        return 0;
    fv = &fifo.vcpu[vcpu];
    ready = __atomic_load_n(&fv->cb->ready, __ATOMIC_RELAXED);
    for (unsigned int q = 0; q < EVTCHN_FIFO_MAX_QUEUES && *nq < max; q++) {
        uint32_t h = __atomic_load_n(&fv->cb->head[q], __ATOMIC_RELAXED);

        if (!h && !fv->tail[q] && !(ready & (1u << q)))
            continue;
        prio[*nq] = (uint8_t)q;
        head[*nq] = h;
        tail[*nq] = fv->tail[q];
        (*nq)++;
    }
    return ready;
}
