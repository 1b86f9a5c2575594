/*
 * L0's wall-clock time for the shim's clock (shim/timer.c), the way Xen's
 * own pv-shim gets it (xen/arch/x86/time.c get_wallclock_time() when
 * running on Xen): L0's shared_info holds the wall time at L0's system
 * time 0 (wc_sec/wc_nsec/wc_sec_hi under wc_version), and vcpu_info[0]'s
 * vcpu_time_info gives L0's system time now from the TSC.
 */
#include <minishim/arch.h>
#include <minishim/l0.h>
#include <minishim/timer.h>
#include <minishim/xen-public.h>
#include <xen/memory.h>

/* Read a vcpu_time_info-style record under its version (xen.h: odd =
 * update in progress, retry on change). Bounded: a stuck L0 gives up. */
static bool read_l0_time(volatile struct vcpu_time_info *t, uint64_t *now_ns)
{
    for (unsigned int i = 0; i < 1000000; i++) {
        uint32_t ver = t->version;
        struct time_scale ts;
        uint64_t stamp, stime, tsc;

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        stamp = t->tsc_timestamp;
        stime = t->system_time;
        ts.mul_frac = t->tsc_to_system_mul;
        ts.shift = t->tsc_shift;
        tsc = arch_rdtsc();
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if ((ver & 1) || ver != t->version)
            continue;
        if (!ts.mul_frac)
            return false;
        *now_ns = stime + time_scale_delta(tsc - stamp, &ts);
        return true;
    }
    return false;
}

int xen_wallclock(paddr_t frame, uint64_t *sec, uint32_t *nsec)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = frame.pa >> PAGE_SHIFT,
    };
    volatile struct shared_info *sh;
    uint64_t wc_sec = 0, l0_now, total;
    uint32_t wc_nsec = 0;
    bool ok = false;
    long rc;

    /* One shared_info per domain: mapping it a second time would move it
     * away from the event channel code's frame. */
    sh = l0_shared_info();
    if (!sh) {
        if (!frame.pa)
            return -XEN_EINVAL;
        rc = xen_memory_op(XENMEM_add_to_physmap, &xatp);
        if (rc)
            return (int)rc;
        sh = arch_phys_to_virt(frame);
    }
    for (unsigned int i = 0; i < 1000000 && !ok; i++) {
        uint32_t ver = sh->wc_version;

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        wc_sec = sh->wc_sec | ((uint64_t)sh->wc_sec_hi << 32);
        wc_nsec = sh->wc_nsec;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        ok = !(ver & 1) && ver == sh->wc_version;
    }
    /* Our vCPU 0 (the caller runs on the boot CPU) reads L0's system time. */
    if (!ok || wc_nsec >= NS_PER_S || !read_l0_time(&sh->vcpu_info[0].time, &l0_now))
        return -XEN_EIO;
    total = wc_nsec + l0_now;
    *sec = wc_sec + total / NS_PER_S;
    *nsec = (uint32_t)(total % NS_PER_S);
    return 0;
}
