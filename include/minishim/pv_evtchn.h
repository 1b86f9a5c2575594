/*
 * Event channels (pv/event.c), as the rest of the shim uses them: the
 * shim's own ports, pending/upcall, per-vCPU VIRQs, SCHEDOP_poll, and
 * the event_channel_op hypercalls; the FIFO ABI is in pv_evtchn_fifo.h.
 */
#ifndef MINISHIM_PV_EVTCHN_H
#define MINISHIM_PV_EVTCHN_H

#include <minishim/pv.h>

void pv_evtchn_reset(void);
/* Allocate a port bound to the shim itself (console); 0 on failure. */
evtchn_port_t pv_evtchn_alloc_shim_port(void (*notify)(void));
/* Boot, after the domain is built (l0_evtchn_init done): the guest's port
 * numbers and interdomain channels become L0's (pv/event.c). 0, or
 * -ENODEV without L0 event channels (the port space stays the shim's). */
long pv_evtchn_use_l0(void);
bool pv_evtchn_is_l0(void);
/* After a resume in a new L0 domain: every port freed, nothing closed in
 * L0, back to the 2-level ABI (pv/suspend.c). */
void pv_evtchn_forget_all(void);
void pv_evtchn_set_shim_remote(evtchn_port_t p, domid_t dom, evtchn_port_t rport);
/* Mark port pending and raise the upcall as Xen's evtchn_set_pending. */
void pv_evtchn_set_pending(evtchn_port_t port);
bool pv_evtchn_port_in_range(evtchn_port_t port);
bool pv_evtchn_is_pending(evtchn_port_t port);
/* Raise per-vCPU VIRQ virq (VIRQ_TIMER, VIRQ_DEBUG) on v if v bound it
 * (Xen send_guest_vcpu_virq). Any CPU, any interrupt state; kicks v's shim
 * CPU when v runs or blocks elsewhere. */
void pv_send_vcpu_virq(struct vcpu *v, unsigned int virq);
/* VCPUOP_register_vcpu_info, the event part: copy v's vcpu_info to nvi,
 * switch to it, mark every selector and the upcall pending (Xen
 * map_vcpu_info). */
void pv_evtchn_move_vcpu_info(struct vcpu *v, struct vcpu_info *nvi);
/* SCHEDOP_poll for the current vCPU v (Xen do_poll): 0 or -XEN_E*. */
long pv_evtchn_poll(struct vcpu *v, uint64_t ports_gva, unsigned int nr_ports,
                    uint64_t timeout);
/* v's poll deadline passed: wake it if it still polls (poll_timer_fn). */
void pv_evtchn_poll_expired(struct vcpu *v);

long do_event_channel_op(int cmd, uint64_t arg);
/* The legacy hypercall 16 (Xen's do_event_channel_op_compat). */
long do_event_channel_op_compat(uint64_t arg);

#endif
