/* event.c - dispatch from guest_event_callback (event.S) to the test. */
#include "guest.h"

void (*guest_event_hook)(const uint64_t *frame);

void guest_event_dispatch(const uint64_t *frame);
void guest_event_dispatch(const uint64_t *frame)
{
    if (guest_event_hook)
        guest_event_hook(frame);
}
