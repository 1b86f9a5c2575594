/*
 * FIFO event channel ABI (pv/evtchn_fifo.c, Xen 4.17
 * xen/common/event_fifo.c). pv/event.c owns the ports and the lock
 * (evtchn_lock); it calls these with the lock held unless said otherwise,
 * and keeps the 2-level ABI until the guest's first successful
 * EVTCHNOP_init_control.
 */
#ifndef MINISHIM_PV_EVTCHN_FIFO_H
#define MINISHIM_PV_EVTCHN_FIFO_H

#include <minishim/pv.h>
#include <xen/event_channel.h>

/* The FIFO state of one port (Xen struct evtchn: priority, fifo_lastq,
 * pending). Kept when the port is closed: the queue it was last linked
 * on must still be known when it is reused. */
struct fifo_port {
    uint8_t priority;           /* queue of future events                  */
    uint8_t last_priority;      /* queue it was last linked on (lastq)     */
    uint8_t last_vcpu;
    bool pending;               /* raised while its event word was missing */
};

/* Forget every FIFO state without dropping page references (a new
 * domain: the PV MMU starts over too). */
void pv_fifo_forget(void);
/* Whether the domain uses the FIFO ABI (init_control succeeded). */
bool pv_fifo_active(void);
/* Xen max_evtchns(): 2^17 with FIFO, else 64 * 64. */
unsigned int pv_fifo_max_evtchns(void);

/* Xen evtchn_fifo_init: a newly allocated port. */
void pv_fifo_port_init(struct fifo_port *s);
/* Xen evtchn_fifo_set_pending on v. Returns whether the port just became
 * pending (the caller then wakes pollers: evtchn_check_pollers). */
bool pv_fifo_set_pending(struct vcpu *v, evtchn_port_t port, struct fifo_port *s);
void pv_fifo_clear_pending(evtchn_port_t port);
/* Xen evtchn_fifo_unmask: v is the port's notify vCPU; returns whether
 * the event became pending again (pollers to wake). */
bool pv_fifo_unmask(struct vcpu *v, evtchn_port_t port, struct fifo_port *s);
bool pv_fifo_is_pending(evtchn_port_t port);
/* Xen evtchn_fifo_is_busy: still LINKED, so not reusable yet. */
bool pv_fifo_is_busy(evtchn_port_t port);
/* Xen evtchn_fifo_set_priority: 0 or -XEN_EINVAL. */
long pv_fifo_set_priority(struct fifo_port *s, uint32_t priority);

/*
 * Xen evtchn_fifo_init_control's checks and map_control_block. Called
 * WITHOUT evtchn_lock (it takes the frame's type reference through the
 * PV MMU first), then pv_fifo_install_control() under the lock.
 * 0 or -XEN_E*; on 0, *m holds the referenced frame.
 */
long pv_fifo_check_control(const struct evtchn_init_control *ic, mfn_t *m);
/* Under the lock: install the control block of vCPU ic->vcpu from frame
 * m. Returns 1 when this switched the domain to FIFO (the caller then
 * runs Xen's setup_ports), 0 when installed, -XEN_EINVAL when the vCPU
 * has one already (the caller drops m's reference, outside the lock). */
long pv_fifo_install_control(const struct evtchn_init_control *ic, mfn_t m);

/* Xen add_page_to_event_array, split as above: pv_fifo_get_frame()
 * without the lock, then pv_fifo_add_array_page() under it: 0 (and
 * [*first, *end) the ports it covers, whose saved pending events the
 * caller re-raises), -XEN_EOPNOTSUPP (not FIFO) or -XEN_ENOSPC. */
long pv_fifo_get_frame(uint64_t gfn, mfn_t *m);
long pv_fifo_add_array_page(mfn_t m, evtchn_port_t *first, evtchn_port_t *end);

/* EVTCHNOP_reset (Xen evtchn_fifo_destroy): back to the 2-level ABI.
 * Fills frames[] (up to max) with the frames whose references the
 * caller drops after unlocking; returns how many. */
unsigned int pv_fifo_destroy(mfn_t *frames, unsigned int max);
/* pv/event.c: Xen vcpu_mark_events_pending (upcall pending, kick). */
void pv_evtchn_mark_events_pending(struct vcpu *v);

/* The state dump (pv/state_dump.c), read without the lock: a port's
 * event word; vCPU vcpu's ready bits and its non-empty queues. */
uint32_t pv_fifo_debug_word(evtchn_port_t port);
uint32_t pv_fifo_debug_queues(unsigned int vcpu, unsigned int *nq, uint8_t *prio,
                              uint32_t *head, uint32_t *tail, unsigned int max);

/* Upper bound of frames pv_fifo_destroy() returns. */
#define PV_FIFO_MAX_FRAMES (PV_MAX_VCPUS + EVTCHN_FIFO_NR_CHANNELS / 1024)

#endif
