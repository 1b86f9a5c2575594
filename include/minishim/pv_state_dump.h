/*
 * The shim's state dump (pv/state_dump.c): what each guest vCPU and its
 * event channels and timers look like, printed when L0 sends the shim an
 * NMI (`xl trigger <domid> nmi`; docs/debugging.md).
 */
#ifndef MINISHIM_PV_STATE_DUMP_H
#define MINISHIM_PV_STATE_DUMP_H

#include <minishim/pv.h>

/* At a safe point (not NMI context, no lock held): print the dump if an
 * NMI asked for one since the last call. Cheap when none did. */
void pv_state_dump_check(void);

/* pv/event.c: how many of v's bound ports are pending and not masked; the
 * first max of them in out. */
unsigned int pv_evtchn_debug_pending(const struct vcpu *v, evtchn_port_t *out,
                                     unsigned int max);

#endif
