/* Recording what a one-way trap entry saw (guest.h). */
#include "guest.h"

void guest_trap_record(volatile struct guest_trap_seen *g, const uint64_t *frame,
                       unsigned int kind, unsigned int has_ec, uint64_t rax)
{
    const uint64_t *hw = has_ec ? frame + 1 : frame;

    g->kind = kind;
    g->ec = has_ec ? frame[0] : ~0UL;
    g->rip = hw[0];
    g->cs = hw[1];
    g->rflags = hw[2];
    g->rsp = hw[3];
    g->ss = hw[4];
    g->rax = rax;
    g->frame_addr = (uint64_t)frame;
}
