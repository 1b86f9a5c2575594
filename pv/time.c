/*
 * Guest time: Xen system time and the per-vCPU timers (xen/common/timer.c,
 * xen/common/domain.c VCPUOP_*_timer, xen/arch/x86/time.c). See
 * include/minishim/pv_time.h for the contract with the event code.
 */
#include <minishim/arch.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_time.h>
#include <xen/vcpu.h>

uint64_t pv_now_ns(void)
{
    /* Uncalibrated: treat the TSC as 1 GHz. Enough for ordering. */
    return arch_rdtsc();
}

void pv_time_reprogram(struct vcpu *v)
{
    /* No shim timer interrupt yet: deadlines are checked on guest exits. */
    (void)v;
}

void pv_time_check(struct vcpu *v)
{
    if (v->timer_set && pv_now_ns() >= v->timer_deadline) {
        v->timer_set = false;
        pv_send_virq(VIRQ_TIMER);
    }
}

long do_set_timer_op(uint64_t timeout)
{
    struct vcpu *v = pv_current();

    v->timer_set = timeout != 0;
    v->timer_deadline = timeout;
    pv_time_reprogram(v);
    return 0;
}

long pv_vcpu_timer_op(int cmd, struct vcpu *v, uint64_t arg)
{
    switch (cmd) {
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer t;

        if (v != pv_current())
            return -XEN_EINVAL;
        if (copy_from_guest(&t, arg, sizeof(t)))
            return -XEN_EFAULT;
        if ((t.flags & VCPU_SSHOTTMR_future) && t.timeout_abs_ns < pv_now_ns())
            return -XEN_ETIME;
        v->timer_set = true;
        v->timer_deadline = t.timeout_abs_ns;
        pv_time_reprogram(v);
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        if (v != pv_current())
            return -XEN_EINVAL;
        v->timer_set = false;
        pv_time_reprogram(v);
        return 0;
    case VCPUOP_stop_periodic_timer:
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}
