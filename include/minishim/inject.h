/*
 * Fault injection (shim/inject.c): named points in the shim where a test
 * can make something go wrong on purpose, to prove that the test catches
 * it. Configured only from the command line (inject=..., parsed by
 * inject_parse() through shim/cmdline.c); nothing a guest does arms a
 * point.
 *
 *   inject=<spec>[,<spec>...]
 *   <spec> = flush-skip:<kind>[:<count>]   drop the remote part of the next
 *                                          <count> guest flushes of <kind>
 *          | l0-flush-fail[:<count>]       the next <count> L0 flushes fail
 *          | pf-slow[:<count>]             the next <count> shim-context #PFs
 *                                          wait 500 ms before their walk
 *          | walker-delay:<us>             every spurious #PF walk spins <us>
 *                                          microseconds (1..1000000) with
 *                                          interrupts off before it reads
 *                                          its level-1 table
 *          | assist-unsafe[:<count>]       the safety rule broken on purpose:
 *                                          FLUSH_NO_ASSIST flushes are
 *                                          delivered as if assisted (default:
 *                                          every time; shim/flush.c)
 *          | fake-l0-flush[:<count>]       where L0 has no flush (QEMU-direct),
 *                                          a flush L0 would take is sent as
 *                                          IPIs not waited for (default:
 *                                          every time; shim/flush.c)
 *          | l0-evtchn-send-fail[:<count>] L0's EVTCHNOP_send fails (-EIO)
 *          | l0-console-fail[:<count>]     console_io / the console kick fail
 *          | l0-vcpuop-fail[:<count>]      VCPUOP_* on our own vCPUs fail
 *          | ipi-drop[:<count>]            an IPI is not sent at all
 *          | ipi-dup[:<count>]             an IPI is sent twice
 *          | ipi-delay[:<count>]           an IPI leaves 5 ms late
 *          | cpu-stall[:<count>]           a CPU taking an IPI stalls 20 ms
 *          | l0-memop-fail[:<count>]       L0's XENMEM_* calls fail (-EIO)
 *   <count> = 1..1000000 or 'all' (every time); default 1
 *
 * Cost when nothing is armed: inject_hit() is inline, one relaxed load of
 * a word that is written only at boot and when a point runs out, and a
 * not-taken branch; no call. Adding a point: a row in enum inject_point,
 * its name in inject.c, and inject_hit(point) where it should strike.
 */
#ifndef MINISHIM_INJECT_H
#define MINISHIM_INJECT_H

#include <minishim/types.h>

enum inject_point {
    /* flush-skip:<kind>, the guest flushes the smp guest uses (pv/mm.c). */
    INJECT_SKIP_UVMF_INVLPG_ALL,    /* update_va_mapping UVMF_INVLPG|UVMF_ALL */
    INJECT_SKIP_UVMF_INVLPG_MULTI,  /* UVMF_INVLPG with a vCPU mask           */
    INJECT_SKIP_UVMF_FLUSH_ALL,     /* UVMF_TLB_FLUSH|UVMF_ALL                */
    INJECT_SKIP_UVMF_FLUSH_MULTI,   /* UVMF_TLB_FLUSH with a vCPU mask        */
    INJECT_SKIP_TLB_FLUSH_ALL,      /* MMUEXT_TLB_FLUSH_ALL                   */
    INJECT_SKIP_TLB_FLUSH_MULTI,    /* MMUEXT_TLB_FLUSH_MULTI                 */
    INJECT_SKIP_INVLPG_ALL,         /* MMUEXT_INVLPG_ALL                      */
    INJECT_SKIP_INVLPG_MULTI,       /* MMUEXT_INVLPG_MULTI                    */
    INJECT_L0_FLUSH_FAIL,           /* shim/flush.c: l0_flush_tlb "fails"     */
    INJECT_PF_SLOW,                 /* shim/spurious_pf.c: slow #PF delivery  */
    INJECT_WALKER_DELAY,            /* shim/spurious_pf.c: long IRQ-off walk  */
    INJECT_ASSIST_UNSAFE,           /* shim/flush.c: NO_ASSIST ignored        */
    INJECT_FAKE_L0_FLUSH,           /* shim/flush.c: no-wait IPIs stand in for
                                       an L0 flush where there is none      */
    /* L0 calls and IPIs (docs/fault-injection.md: where, what the guest
     * sees, the test). */
    INJECT_L0_EVTCHN_SEND_FAIL,     /* l0_evtchn_send: EVTCHNOP_send fails    */
    INJECT_L0_CONSOLE_FAIL,         /* console_io and the PV console kick fail */
    INJECT_L0_VCPUOP_FAIL,          /* xen_vcpu_op/xen_vcpu_start fail        */
    INJECT_IPI_DROP,                /* shim/ipi.c: an IPI is not sent         */
    INJECT_IPI_DUP,                 /* shim/ipi.c: an IPI is sent twice       */
    INJECT_IPI_DELAY,               /* shim/ipi.c: an IPI leaves 5 ms late    */
    INJECT_CPU_STALL,               /* shim/ipi.c: the target stalls 20 ms
                                     * before serving (a preempted vCPU)     */
    INJECT_L0_MEMOP_FAIL,           /* xen_memory_op: XENMEM_* fails          */
    INJECT_NR_POINTS
};
#define INJECT_FIRST_SKIP INJECT_SKIP_UVMF_INVLPG_ALL
#define INJECT_LAST_SKIP  INJECT_SKIP_INVLPG_MULTI
/* The L0-call and IPI points (name[:count], default one use). */
#define INJECT_FIRST_L0_FAULT INJECT_L0_EVTCHN_SEND_FAIL
#define INJECT_LAST_L0_FAULT  (INJECT_NR_POINTS - 1)

/* What the L0 points make the call answer (an errno Xen gives for each of
 * these calls), and the fixed lengths of the IPI faults. */
#define INJECT_L0_ERRNO      XEN_EIO
#define INJECT_IPI_DELAY_US  5000u
#define INJECT_CPU_STALL_US  20000u

#define INJECT_COUNT_MAX    1000000u
#define INJECT_COUNT_ALWAYS UINT32_MAX      /* 'all': never runs out */

/* What the command line asked for: count[p] = 0 means point p is off. */
struct inject_config {
    uint32_t count[INJECT_NR_POINTS];
    uint32_t walker_delay_us;   /* walker-delay:<us> */
};

/* Parse an inject= value and add its points to *out (all or nothing:
 * false leaves *out unchanged). Several inject= options add up; a point
 * named again takes the later count; within one option a point may appear
 * once. */
bool inject_parse(const char *value, struct inject_config *out);
/* The accepted syntax, for the command-line warning. */
#define INJECT_SYNTAX "comma list of flush-skip:<kind>[:<n>|:all], " \
                      "l0-flush-fail[:<n>|:all], pf-slow[:<n>|:all], " \
                      "walker-delay:<us>, assist-unsafe[:<n>|:all], " \
                      "fake-l0-flush[:<n>|:all], " \
                      "l0-evtchn-send-fail, l0-console-fail, l0-vcpuop-fail, " \
                      "ipi-drop, ipi-dup, ipi-delay, cpu-stall, l0-memop-fail " \
                      "(each [:<n>|:all])"

/* Arm the configured points (boot, once; also resets the counters). */
void inject_init(const struct inject_config *cfg);
/* inject=walker-delay:<us>: the delay in microseconds (0: not armed). */
uint32_t inject_walker_delay_us(void);
/* "flush-skip:tlb-flush-all", ... */
const char *inject_point_name(enum inject_point p);
/* Times point p struck since inject_init. */
uint64_t inject_fired(enum inject_point p);
/* One "inject: ..." line per configured point (shutdown summary). */
void inject_print(void);

/* Bit p set: point p is armed. */
extern uint32_t inject_armed;
/* Out of line: consume one use of an armed point; true = strike now. */
bool inject_fire(enum inject_point p);

/* The fast check alone (for a point with a further condition of its own:
 * inject_is_armed(p) && cond && inject_fire(p)). */
static inline bool inject_is_armed(enum inject_point p)
{
    return __builtin_expect(!!(__atomic_load_n(&inject_armed, __ATOMIC_RELAXED) & (1u << p)), 0);
}

/* The fast check for a group of points (a mask of 1u << point): one load
 * where a path holds several points. */
static inline bool inject_any_armed(uint32_t mask)
{
    return __builtin_expect(!!(__atomic_load_n(&inject_armed, __ATOMIC_RELAXED) & mask), 0);
}

/* At an injection point: true when the fault must be injected now. */
static inline bool inject_hit(enum inject_point p)
{
    return inject_is_armed(p) && inject_fire(p);
}

#endif
