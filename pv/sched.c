/*
 * sched_op (Xen 4.17 common/sched/core.c do_sched_op) and the legacy
 * sched_op_compat (arch/x86/compat.c), with the guest's shutdown: behind
 * a shim every reason goes to L0, as Xen's pv_shim_shutdown forwards it.
 */
#include <minishim/console.h>
#include <minishim/pv.h>
#include <minishim/pv_console.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_sched.h>
#include <minishim/pv_suspend.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/shim.h>
#include <xen/sched.h>

/* Xen domain_shutdown() takes the reason as a u8; behind a shim every
 * reason goes to L0 (pv_shim_shutdown). */
static void __noreturn guest_shutdown(const char *via, unsigned int reason)
{
    pv_console_drain_final();
    pr_info("guest: %s, reason %u%s, from vCPU %u\n", via, reason & 0xff,
            (reason & 0xff) == SHUTDOWN_crash ? " (crash)" : "", pv_current()->id);
    pv_balloon_print();
    shim_shutdown((uint8_t)reason);
}

long do_sched_op(int cmd, uint64_t arg)
{
    struct sched_shutdown sd;

    switch (cmd) {
    case SCHEDOP_yield:
        return 0;
    case SCHEDOP_block:
        /* Xen: enable event delivery, then sleep until an upcall. */
        return pv_vcpu_block(pv_current());
    case SCHEDOP_shutdown:
        if (copy_from_guest(&sd, arg, sizeof(sd)))
            return -XEN_EFAULT;
        /* Xen's domain_shutdown -> pv_shim_shutdown (pv/suspend.c). */
        if ((uint8_t)sd.reason == SHUTDOWN_suspend && pv_suspend_available())
            return pv_suspend(pv_current());
        guest_shutdown("SCHEDOP_shutdown", sd.reason);
    case SCHEDOP_shutdown_code:
        if (copy_from_guest(&sd, arg, sizeof(sd)))
            return -XEN_EFAULT;
        pv_dom.shutdown_code = (uint8_t)sd.reason;
        pv_dom.has_shutdown_code = true;
        return 0;
    case SCHEDOP_poll: {
        struct sched_poll sp;

        if (copy_from_guest(&sp, arg, sizeof(sp)))
            return -XEN_EFAULT;
        return pv_evtchn_poll(pv_current(), (uint64_t)(uintptr_t)sp.ports.p,
                              sp.nr_ports, sp.timeout);
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown rs;

        /* Xen 4.17 do_sched_op: -EFAULT, then rcu_lock_domain_by_id():
         * no domain has a reserved id (DOMID_SELF included): -ESRCH;
         * any other domain is refused by XSM_DM to a domU: -EPERM. */
        if (copy_from_guest(&rs, arg, sizeof(rs)))
            return -XEN_EFAULT;
        return rs.domain_id >= DOMID_FIRST_RESERVED ? -XEN_ESRCH : -XEN_EPERM;
    }
    case SCHEDOP_watchdog: {
        struct sched_watchdog wd;

        /* Xen 4.17 do_sched_op: -EFAULT, then domain_watchdog(). */
        if (copy_from_guest(&wd, arg, sizeof(wd)))
            return -XEN_EFAULT;
        return pv_domain_watchdog(wd.id, wd.timeout);
    }
    case SCHEDOP_pin_override:
        return -XEN_EPERM;      /* privileged: XSM dummy policy */
    default:
        return -XEN_ENOSYS;
    }
}

/*
 * The legacy sched_op (hypercall 6, before 0x00030101): Xen 4.17
 * do_sched_op_compat (xen/arch/x86/compat.c): yield and block as
 * sched_op, shutdown with the reason as the argument itself (a u8),
 * anything else -ENOSYS.
 */
long do_sched_op_compat(int cmd, unsigned long arg)
{
    switch (cmd) {
    case SCHEDOP_yield:
    case SCHEDOP_block:
        return do_sched_op(cmd, 0);
    case SCHEDOP_shutdown:
        if ((uint8_t)arg == SHUTDOWN_suspend && pv_suspend_available())
            return pv_suspend(pv_current());
        guest_shutdown("sched_op_compat SCHEDOP_shutdown", (uint8_t)arg);
    default:
        return -XEN_ENOSYS;
    }
}
