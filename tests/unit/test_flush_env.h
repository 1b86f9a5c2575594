/*
 * Shared set-up for the flush tests: fake CPUs online, and an L0 that is
 * none, Xen or Hyper-V, answering flushes with success or failure. The L0
 * is brought up through the real l0_setup() (CPUID signatures, hypercall
 * MSRs), so the tests cover the backend selection too.
 */
#ifndef TEST_FLUSH_ENV_H
#define TEST_FLUSH_ENV_H

#include <string.h>
#include <hyperv/tlfs.h>
#include <minishim/xen-public.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>
#include <minishim/tlbclock.h>
#include "fake/fake.h"
#include "fake/fake_l0.h"
#include "fake/fake_ipi.h"

enum env_l0 {
    ENV_NONE,
    ENV_XEN_OK, ENV_XEN_FAIL,
    ENV_HV_OK, ENV_HV_FAIL,         /* remote flush recommended            */
    ENV_HV_NOTREC,                  /* works, but L0 does not recommend it */
    ENV_NR_L0
};

static unsigned int env_xen_flushes;        /* HVMOP_flush_tlbs calls        */
static unsigned long env_xen_flush_arg;     /* its argument (must be NULL)   */
static bool env_l0_fails;

static inline long env_xen_handler(unsigned int nr, unsigned long a1, unsigned long a2,
                                   unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    if (nr == __HYPERVISOR_hvm_op && a1 == HVMOP_flush_tlbs) {
        env_xen_flushes++;
        env_xen_flush_arg = a2;
        return env_l0_fails ? -XEN_EINVAL : 0;
    }
    return -XEN_ENOSYS;
}

static inline uint64_t env_hv_handler(uint64_t control, const uint64_t *input)
{
    (void)input;
    if (env_l0_fails)
        return HV_STATUS_INVALID_PARAMETER;
    /* Success; a rep call reports every rep done. */
    return control & HV_HC_REP_COUNT_MASK;
}

static inline void env_set_xen(void)
{
    fake_xen_cpuid(0x40000000, 0x40000002, FAKE_XEN_HCALL_MSR);
    fake_wrmsr_hook = fake_xen_msr_hook;
    fake_hypercall_handler = env_xen_handler;
}

/* Hyper-V at 0x40000000 with the given recommendations (CPUID 0x40000004). */
static inline void env_set_hyperv(uint32_t recommend)
{
    fake_hyperv_cpuid(0x40000005, recommend);
    fake_hv_handler = env_hv_handler;
}

/* Bring up CPUs 0..n-1 with Hyper-V VP indexes vp[] (or the CPU number). */
static inline void env_cpus_online(unsigned int n, const uint32_t *vp)
{
    unsigned int saved = fake_cpu_id;

    cpumask_clear(&cpu_online_mask);
    for (unsigned int c = 0; c < n; c++) {
        percpu[c].id = c;
        percpu[c].online = true;
        cpumask_set(&cpu_online_mask, c);
        fake_cpu_id = c;
        arch_wrmsr(HV_X64_MSR_VP_INDEX, vp ? vp[c] : c);
        l0_cpu_init();
    }
    fake_cpu_id = saved;
}

/*
 * A fresh world: n CPUs online (this is CPU 0), the given L0, flush=policy,
 * the TLB clock on or off, counters zero, IPIs intercepted.
 */
static inline void env_setup(enum env_l0 l0, unsigned int ncpus,
                             enum flush_policy policy, bool clock)
{
    fake_reset();
    fake_ipi_reset(true);
    console_remove_all_sinks();
    env_xen_flushes = 0;
    env_xen_flush_arg = 0xdead;
    env_l0_fails = (l0 == ENV_XEN_FAIL || l0 == ENV_HV_FAIL);
    switch (l0) {
    case ENV_XEN_OK: case ENV_XEN_FAIL:
        env_set_xen();
        break;
    case ENV_HV_OK: case ENV_HV_FAIL:
        env_set_hyperv(HV_REMOTE_TLB_FLUSH_RECOMMENDED | HV_EX_PROCESSOR_MASKS_RECOMMENDED);
        break;
    case ENV_HV_NOTREC:
        env_set_hyperv(HV_EX_PROCESSOR_MASKS_RECOMMENDED);
        break;
    default:
        break;
    }
    fake_cpu_id = 0;
    cpumask_clear(&cpu_online_mask);
    cpumask_set(&cpu_online_mask, 0);
    l0_setup(L0_FLUSH_USE_AUTO);
    env_cpus_online(ncpus, NULL);
    flush_init(policy);
    tlbclock_init(clock, 1);
    flush_stats_reset();
}

/* Number of L0 flush hypercalls made so far, whichever the L0. */
static inline unsigned int env_l0_flush_calls(void)
{
    return env_xen_flushes + fake_nr_hv_calls;
}

static inline cpumask_t env_mask(uint64_t bits)
{
    cpumask_t m;

    cpumask_clear(&m);
    m.bits[0] = bits;
    return m;
}

#endif
