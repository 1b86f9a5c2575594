/*
 * The guest's PV console (pv/console.c): its start_info ring, drained to
 * the shim's console, and console input fed into it.
 */
#ifndef MINISHIM_PV_CONSOLE_H
#define MINISHIM_PV_CONSOLE_H

#include <minishim/types.h>

void pv_console_init(void);
/* After a resume in a new L0 domain: a new port for the ring. */
void pv_console_reconnect(void);
/* Drain the guest's console ring (start_info console page) to the shim
 * console; called on EVTCHNOP_send to its port. */
void pv_console_kick(void);
/* Move console input (console_read) into the guest's ring, notifying it. */
void pv_console_poll_input(void);
/* Drain the ring and flush half lines before the guest stops. */
void pv_console_drain_final(void);

long do_console_io(unsigned int cmd, unsigned int count, uint64_t buf);

#endif
