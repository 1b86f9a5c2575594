#ifndef MINISHIM_PV_TIME_H
#define MINISHIM_PV_TIME_H
/*
 * Guest time (pv/time.c): Xen system time, the vCPU timers (set_timer_op,
 * VCPUOP_*_timer) and VIRQ_TIMER. The seam between time and events:
 *   - pv_now_ns(): Xen system time in ns (monotonic, the same clock the
 *     guest reads through vcpu_time_info);
 *   - pv_time_reprogram(v): v's deadlines changed (timer set/stopped, or
 *     v->poll_deadline set by SCHEDOP_poll); arm the shim CPU's timer so
 *     that an interrupt arrives by the earliest one;
 *   - pv_time_check(v): called on every exit to guest context and after
 *     every wake-up from a blocked state; raises VIRQ_TIMER on v for an
 *     expired timer (and re-arms a periodic one).
 */
#include <minishim/types.h>

struct vcpu;

uint64_t pv_now_ns(void);
void pv_time_reprogram(struct vcpu *v);
void pv_time_check(struct vcpu *v);

/* Hypercalls. */
long do_set_timer_op(uint64_t timeout);
/* VCPUOP_{set,stop}_{singleshot,periodic}_timer on vCPU v. */
long pv_vcpu_timer_op(int cmd, struct vcpu *v, uint64_t arg);

#endif
