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
/* Domain start (pv_run, before the first entry): every vCPU gets Xen's
 * default 100 Hz periodic timer and its vcpu_time_info; shared_info gets
 * the wallclock. */
void pv_time_init(void);
/* v starts running on this CPU: publish its vcpu_time_info, run its
 * timers (Xen does both when it schedules a vCPU in). */
void pv_time_vcpu_start(struct vcpu *v);
void pv_time_reprogram(struct vcpu *v);
/* The earliest of v's singleshot, periodic and poll deadlines (ns; 0:
 * none): what pv_time_reprogram arms when v runs on this CPU. */
uint64_t pv_time_next_deadline(const struct vcpu *v);
void pv_time_check(struct vcpu *v);

/* Domain watchdogs (pv/watchdog.c, SCHEDOP_watchdog): Xen's
 * domain_watchdog() (id, timeout in s): a slot id, 0, or a negative Xen
 * errno. The earliest armed deadline (0: none) joins every vCPU's next
 * deadline; pv_watchdog_check(now), from pv_time_check, shuts the domain
 * down with SHUTDOWN_watchdog when one is due. */
long pv_domain_watchdog(uint32_t id, uint32_t timeout);
uint64_t pv_watchdog_next_deadline(void);
void pv_watchdog_check(uint64_t now);
/* After a resume in a new L0 domain: no watchdog armed (pv/suspend.c). */
void pv_watchdog_forget(void);
/* After a resume in a new L0 domain (pv/suspend.c), as Xen's
 * pv_shim_shutdown: v's singleshot timer stopped, its periodic timer back
 * to Xen's default period. */
void pv_time_after_resume(struct vcpu *v);
/* ... and the wall clock read from L0 again (shared_info's wc_*). */
void pv_time_resume_wallclock(void);

/* Hypercalls. */
long do_set_timer_op(uint64_t timeout);
/* VCPUOP_{set,stop}_{singleshot,periodic}_timer on vCPU v. */
long pv_vcpu_timer_op(int cmd, struct vcpu *v, uint64_t arg);

#endif
