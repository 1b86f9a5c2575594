/*
 * xs_ring.c - the guest side of the xenstore rings (xen/io/xs_wire.h):
 * copy a request in and a reply out, the indexes published after the
 * data, the other end notified, waiting through the caller's hook.
 */
#include "guest.h"
#include <xen/io/xs_wire.h>

void xs_ring_write(const struct xs_ring_client *c, const void *data, size_t len)
{
    volatile struct xenstore_domain_interface *xs = c->xs;
    const char *p = data;

    while (len) {
        XENSTORE_RING_IDX cons = __atomic_load_n(&xs->req_cons, __ATOMIC_ACQUIRE);
        XENSTORE_RING_IDX prod = xs->req_prod;
        size_t n = 0;

        if (prod - cons > XENSTORE_RING_SIZE)
            test_fatal("request ring corrupt: prod %u cons %u", prod, cons);
        while (n < len && prod - cons < XENSTORE_RING_SIZE)
            xs->req[MASK_XENSTORE_IDX(prod++)] = p[n++];
        /* Data before the index (xs_wire.h: the consumer reads the index,
         * then the data). */
        __atomic_store_n(&xs->req_prod, prod, __ATOMIC_RELEASE);
        c->notify(c->ctx);
        p += n;
        len -= n;
        if (len && !c->wait(c->ctx))
            test_fatal("request ring full for too long");
    }
}

void xs_ring_read(const struct xs_ring_client *c, void *data, size_t len)
{
    volatile struct xenstore_domain_interface *xs = c->xs;
    char *p = data;

    while (len) {
        XENSTORE_RING_IDX cons = xs->rsp_cons;
        XENSTORE_RING_IDX prod = __atomic_load_n(&xs->rsp_prod, __ATOMIC_ACQUIRE);
        size_t n = 0;

        if (prod - cons > XENSTORE_RING_SIZE)
            test_fatal("reply ring corrupt: prod %u cons %u", prod, cons);
        while (n < len && cons != prod)
            p[n++] = xs->rsp[MASK_XENSTORE_IDX(cons++)];
        __atomic_store_n(&xs->rsp_cons, cons, __ATOMIC_RELEASE);
        if (n)
            c->notify(c->ctx);      /* room in the reply ring */
        p += n;
        len -= n;
        if (len && !c->wait(c->ctx))
            test_fatal("no reply from xenstored within the time limit");
    }
}
