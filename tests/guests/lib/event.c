/* event.c - dispatch from guest_event_callback (event.S) to the test. */
#include "guest.h"

void (*guest_event_hook)(const uint64_t *frame);

void guest_event_dispatch(const uint64_t *frame);
void guest_event_dispatch(const uint64_t *frame)
{
    if (guest_event_hook)
        guest_event_hook(frame);
}

xen_ulong_t guest_evtchn_take_word(struct shared_info *s, unsigned int w)
{
    xen_ulong_t p = s->evtchn_pending[w] & ~s->evtchn_mask[w];

    return __atomic_fetch_and(&s->evtchn_pending[w], ~p, __ATOMIC_SEQ_CST) & p;
}

xen_ulong_t guest_evtchn_take_sel(struct vcpu_info *vi)
{
    vi->evtchn_upcall_pending = 0;
    return __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
}
