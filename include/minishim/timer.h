/*
 * The shim's clock and its per-CPU one-shot timer (shim/timer.c).
 *
 * Clock: Xen system time, in ns since the shim calibrated the TSC, computed
 * from the TSC exactly as a guest computes it from vcpu_time_info
 * (xen/arch/x86/time.c scale_delta: ((delta << shift) * mul_frac) >> 32),
 * so the shim and the guest never disagree. One record (TSC stamp, scale)
 * for every CPU: shim CPUs share one TSC (L0 gives a domain one TSC offset;
 * QEMU TCG reads the host's invariant TSC).
 *
 * TSC frequency, first that answers: Xen L0's CPUID time leaf (base+3,
 * ECX = guest TSC kHz), CPUID 0x15 (crystal * ratio), CPUID 0x16 (base
 * MHz), else measured against PIT channel 2.
 *
 * Wallclock (the wall time at system time 0): under Xen L0 from L0's own
 * shared_info plus L0's pvclock; otherwise from the CMOS RTC.
 *
 * Timer: one deadline per CPU on the local APIC timer (TSC-deadline mode
 * when CPUID.1:ECX[24] offers it, else one-shot mode calibrated against
 * the TSC), vector TIMER_VECTOR. The interrupt only wakes the CPU: the
 * guest layer (pv_time_check) decides what expired and re-arms.
 */
#ifndef MINISHIM_TIMER_H
#define MINISHIM_TIMER_H

#include <minishim/types.h>

#define TIMER_VECTOR 0xf5

#define NS_PER_MS 1000000ULL
#define NS_PER_S  1000000000ULL

/* Xen's struct time_scale: ns = ((ticks << shift) * mul_frac) >> 32. */
struct time_scale {
    uint32_t mul_frac;
    int8_t shift;
};

/*
 * Xen set_time_scale(): the scale for a clock of ticks_per_sec. Xen only
 * ASSERTs a non-zero rate (and would loop forever normalising 0); here 0
 * gives the zero scale (mul_frac 0, shift 0): a clock that does not tick
 * reads no time passing, and a guest that computes with it sees time
 * stand still instead of the shim hanging.
 */
static inline void time_scale_set(struct time_scale *ts, uint64_t ticks_per_sec)
{
    uint64_t tps64 = ticks_per_sec;
    uint32_t tps32;
    int shift = 0;

    if (!ticks_per_sec) {
        ts->mul_frac = 0;
        ts->shift = 0;
        return;
    }
    while (tps64 > NS_PER_S * 2) {
        tps64 >>= 1;
        shift--;
    }
    tps32 = (uint32_t)tps64;
    while (tps32 <= (uint32_t)NS_PER_S) {
        tps32 <<= 1;
        shift++;
    }
    /* div_frac(10^9, tps32): (10^9 << 32) / tps32, tps32 > 10^9. */
    ts->mul_frac = (uint32_t)((NS_PER_S << 32) / tps32);
    ts->shift = (int8_t)shift;
}

/* Xen scale_delta(). */
static inline uint64_t time_scale_delta(uint64_t delta, const struct time_scale *ts)
{
    if (ts->shift < 0)
        delta >>= -ts->shift;
    else
        delta <<= ts->shift;
    return (uint64_t)(((unsigned __int128)delta * ts->mul_frac) >> 32);
}

/* Calibrate (boot CPU, interrupts off, after smp_init for the APIC). */
void clock_init(void);
/* L0's wall clock read again (after a restore into a new L0 domain). */
void clock_wallclock_resync(void);
/* Xen system time now (ns); the raw TSC before clock_init. */
uint64_t clock_now_ns(void);
/* TSC kHz and where it came from ("xen-cpuid", "cpuid-15h", "pit", ...). */
uint64_t clock_tsc_khz(void);
const char *clock_source(void);
/* The record every vCPU publishes: system time 'stime' at TSC 'tsc'. */
void clock_stamp(uint64_t *tsc, uint64_t *stime, struct time_scale *ts);
/* Wall time at system time 0; false when no wallclock source answered. */
bool clock_wallclock(uint64_t *sec, uint32_t *nsec);

/* Seconds since 1970 for a UTC calendar date (year >= 1970). */
uint64_t clock_mktime(unsigned int year, unsigned int mon, unsigned int day,
                      unsigned int hour, unsigned int min, unsigned int sec);

/*
 * Arm this CPU's timer for system time deadline_ns (0: disarm). A deadline
 * already past fires at once; one far away may fire early (the hardware
 * range is clamped): the caller re-arms from its check. Cheap when the
 * deadline is what is already armed.
 */
void timer_arm(uint64_t deadline_ns);
/* False when the CPU has no usable local APIC timer. */
bool timer_available(void);
/* The deadline this CPU's timer holds (0: none armed, it fired since it
 * was armed, or there is no timer): its interrupt is still to come. */
uint64_t timer_armed(void);
/* For the state dump: what CPU cpu's timer holds, as timer_armed() there,
 * and how many timer interrupts that CPU has taken. */
uint64_t timer_armed_on(unsigned int cpu, unsigned long *fired);

#endif
