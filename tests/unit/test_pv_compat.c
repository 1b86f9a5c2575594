/* The hypercalls a 64-bit PV domU gets from Xen 4.17 beyond the modern
 * ones (pv/hypercall.c, pv/traps.c, pv/watchdog.c): the legacy
 * sched_op_compat / event_channel_op_compat / physdev_op_compat layouts,
 * nmi_op, the answers of the rest of 0..63 behind Debian's xen-shim, and
 * SCHEDOP_watchdog's life cycle (arm, re-arm, destroy, expiry shutting
 * the domain down with SHUTDOWN_watchdog). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stddef.h>
#include <string.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>
#include <minishim/pv.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_physdev.h>
#include <minishim/pv_sched.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_time.h>
#include <minishim/timer.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/memory.h>
#include <xen/nmi.h>
#include <xen/physdev.h>
#include <xen/sched.h>
#include "fake/fake.h"
#include "pv_env.h"

#define HV_ADDR 0xffff800000001000ULL    /* the hypervisor's range: -EFAULT */

static struct shared_info shinfo;

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static void setup(void)
{
    pv_env_reset(&shinfo, 2);
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
    fake_guest_fault_start = HV_ADDR & ~0xfffULL;
    fake_guest_fault_end = fake_guest_fault_start + 0x100000;
    pv_evtchn_reset();
    /* A 1 GHz TSC (CPUID 0x15) that moves only when a test says so. */
    fake_set_cpuid(0, 0x15, 0, 0, 0);
    fake_set_cpuid(0x15, 1, 1, 1000000000u, 0);
    fake_port_in[0x71] = 0;
    clock_init();
    fake_tsc_step = 0;
    pv_time_init();
}

TestSuite(pv_compat, .init = setup);

static void advance_s(double s) { fake_tsc += (uint64_t)(s * 1e9); }

/* The reason the shim shut down with (the QEMU debug exit the fake L0
 * takes), or -1 if fn returned. */
static int shutdown_reason_of(void (*fn)(void))
{
    jmp_buf jb;

    fake_nr_port_writes = 0;
    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0) {
        fn();
        fake_halt_jmp = NULL;
        return -1;
    }
    fake_halt_jmp = NULL;
    for (unsigned int i = 0; i < fake_nr_port_writes; i++)
        if (fake_port_log[i].port == ISA_DEBUG_EXIT_PORT)
            return (int)fake_port_log[i].val - ISA_DEBUG_EXIT_BASE;
    return -2;
}

/* ------------------------------------------------------ sched_op_compat --- */

static void compat_shutdown_reboot(void) { do_sched_op_compat(SCHEDOP_shutdown, SHUTDOWN_reboot); }
static void compat_shutdown_wide(void) { do_sched_op_compat(SCHEDOP_shutdown, 0x103); }

Test(pv_compat, sched_op_compat)
{
    const unsigned long args[6] = { SCHEDOP_yield, 0 };

    cr_expect_eq(pv_do_hypercall(NULL, __HYPERVISOR_sched_op_compat, args), 0, "yield");
    /* Only yield, block and shutdown existed: the rest is -ENOSYS. */
    cr_expect_eq(do_sched_op_compat(SCHEDOP_poll, 0), -XEN_ENOSYS);
    cr_expect_eq(do_sched_op_compat(SCHEDOP_shutdown_code, 0), -XEN_ENOSYS);
    cr_expect_eq(do_sched_op_compat(SCHEDOP_watchdog, 0), -XEN_ENOSYS);
    cr_expect_eq(do_sched_op_compat(-1, 0), -XEN_ENOSYS);
    /* The reason is the argument itself, not a pointer; a u8. */
    cr_expect_eq(shutdown_reason_of(compat_shutdown_reboot), SHUTDOWN_reboot);
    cr_expect_eq(shutdown_reason_of(compat_shutdown_wide), SHUTDOWN_crash);
}

/* ----------------------------------------------- event_channel_op_compat --- */

Test(pv_compat, event_channel_op_compat)
{
    struct evtchn_op op;
    unsigned long args[6] = { gp(&op) };

    memset(&op, 0, sizeof(op));
    op.cmd = EVTCHNOP_alloc_unbound;
    op.u.alloc_unbound.dom = DOMID_SELF;
    op.u.alloc_unbound.remote_dom = DOMID_SELF;
    cr_assert_eq(pv_do_hypercall(NULL, __HYPERVISOR_event_channel_op_compat, args), 0);
    cr_expect_neq(op.u.alloc_unbound.port, 0, "the port is written into the caller's union");

    /* The result lands where the modern call would put it. */
    memset(&op, 0, sizeof(op));
    op.cmd = EVTCHNOP_bind_virq;
    op.u.bind_virq.virq = VIRQ_TIMER;
    cr_assert_eq(do_event_channel_op_compat(gp(&op)), 0);
    cr_expect_neq(op.u.bind_virq.port, 0);
    op.cmd = EVTCHNOP_status;
    {
        evtchn_port_t port = op.u.bind_virq.port;

        memset(&op.u, 0, sizeof(op.u));
        op.u.status.dom = DOMID_SELF;
        op.u.status.port = port;
    }
    cr_expect_eq(do_event_channel_op_compat(gp(&op)), 0);
    cr_expect_eq(op.u.status.status, EVTCHNSTAT_virq);
    /* An error of the modern handler comes through unchanged. */
    op.cmd = EVTCHNOP_close;
    op.u.close.port = 5000;
    cr_expect_eq(do_event_channel_op_compat(gp(&op)), -XEN_EINVAL);

    /* Sub-ops newer than the compat hypercall are -ENOSYS there. */
    op.cmd = EVTCHNOP_reset;
    cr_expect_eq(do_event_channel_op_compat(gp(&op)), -XEN_ENOSYS);
    op.cmd = EVTCHNOP_init_control;
    cr_expect_eq(do_event_channel_op_compat(gp(&op)), -XEN_ENOSYS);
    op.cmd = EVTCHNOP_set_priority;
    cr_expect_eq(do_event_channel_op_compat(gp(&op)), -XEN_ENOSYS);
    op.cmd = 1000;
    cr_expect_eq(do_event_channel_op_compat(gp(&op)), -XEN_ENOSYS);
    /* The whole struct is read first. */
    cr_expect_eq(do_event_channel_op_compat(HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_event_channel_op_compat(HV_ADDR - sizeof(op) + 4), -XEN_EFAULT,
                 "a struct whose union crosses into the hypervisor");
}

/* ---------------------------------------------------- physdev_op_compat --- */

Test(pv_compat, physdev_op_compat)
{
    struct physdev_op op;
    unsigned long args[6] = { gp(&op) };

    memset(&op, 0, sizeof(op));
    op.cmd = PHYSDEVOP_set_iopl;
    op.u.set_iopl.iopl = 2;
    cr_expect_eq(pv_do_hypercall(NULL, __HYPERVISOR_physdev_op_compat, args), 0);
    cr_expect_eq(pv_current()->iopl, 2);
    op.u.set_iopl.iopl = 4;
    cr_expect_eq(do_physdev_op_compat(gp(&op)), -XEN_EINVAL);
    cr_expect_eq(pv_current()->iopl, 2, "unchanged");
    /* Every sub-op goes through: physdev_op's own answer for one it
     * does not know. */
    op.cmd = 1000;
    cr_expect_eq(do_physdev_op_compat(gp(&op)), do_physdev_op(1000, gp(&op.u)));
    cr_expect_eq(do_physdev_op_compat(HV_ADDR), -XEN_EFAULT);
}

/* --------------------------------------------------------------- nmi_op --- */

Test(pv_compat, nmi_op)
{
    struct xennmi_callback cb = { .handler_address = 0xffffffff80003000ULL };
    unsigned long args[6] = { XENNMI_register_callback, gp(&cb) };
    struct vcpu *v = pv_current();

    cr_expect_eq(pv_do_hypercall(NULL, __HYPERVISOR_nmi_op, args), 0);
    cr_expect_eq(v->traps[X86_EXC_NMI].address, cb.handler_address,
                 "the trap table's NMI slot holds the handler");
    cr_expect_eq(v->traps[X86_EXC_NMI].cs, FLAT_KERNEL_CS);
    cr_expect(v->traps[X86_EXC_NMI].flags & 4, "events masked on entry (TI_SET_IF)");
    cb.handler_address = 0x0000800000000000ULL;
    cr_expect_eq(do_nmi_op(XENNMI_register_callback, gp(&cb)), -XEN_EINVAL,
                 "non-canonical handler");
    cr_expect_eq(v->traps[X86_EXC_NMI].address, 0xffffffff80003000ULL, "kept");
    cr_expect_eq(do_nmi_op(XENNMI_register_callback, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_nmi_op(XENNMI_unregister_callback, HV_ADDR), 0,
                 "unregister ignores its argument");
    cr_expect_eq(v->traps[X86_EXC_NMI].address, 0);
    cr_expect_eq(do_nmi_op(2, gp(&cb)), -XEN_ENOSYS);
}

/* ------------------------------------------------- the rest of 0..63 --- */

/* Debian's xen-shim 4.17 (pvshim_defconfig): what each number the shim
 * does not otherwise serve answers a 64-bit PV domU. */
Test(pv_compat, unserved_hypercall_numbers)
{
    static const unsigned int enosys[] = {
        __HYPERVISOR_platform_op, 11, __HYPERVISOR_xsm_op,
        __HYPERVISOR_xenoprof_op, __HYPERVISOR_hvm_op, __HYPERVISOR_domctl,
        __HYPERVISOR_kexec_op, __HYPERVISOR_tmem_op, __HYPERVISOR_argo_op,
        __HYPERVISOR_dm_op, __HYPERVISOR_hypfs_op, 43, 44, 45, 46, 47,
        __HYPERVISOR_arch_1, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60,
        61, 62, 63,
    };
    unsigned long args[6] = { 0, 0, 0, 0, 0, 0 };

    for (unsigned int i = 0; i < sizeof(enosys) / sizeof(enosys[0]); i++)
        cr_expect_eq(pv_do_hypercall(NULL, enosys[i], args), -XEN_ENOSYS,
                     "hypercall %u", enosys[i]);
    cr_expect_eq(pv_do_hypercall(NULL, __HYPERVISOR_xenpmu_op, args), -XEN_EOPNOTSUPP,
                 "xenpmu_op with the vPMU off");
    cr_expect_eq(pv_do_hypercall(NULL, __HYPERVISOR_arch_0, args), -XEN_EPERM,
                 "mca: XSM_PRIV before the argument is read");
    cr_expect_eq(pv_do_hypercall(NULL, 64, args), -XEN_ENOSYS);
}

/* ------------------------------------------------------------ watchdog --- */

static long watchdog(uint32_t id, uint32_t timeout)
{
    struct sched_watchdog wd = { .id = id, .timeout = timeout };

    return do_sched_op(SCHEDOP_watchdog, gp(&wd));
}

static void check_time(void) { pv_time_check(&pv_dom.vcpus[0]); }

Test(pv_compat, watchdog_ids_and_errnos)
{
    cr_expect_eq(do_sched_op(SCHEDOP_watchdog, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(watchdog(1, 10), -XEN_EINVAL, "slot 1 not in use");
    cr_expect_eq(watchdog(3, 0), -XEN_EINVAL, "id beyond NR_DOMAIN_WATCHDOG_TIMERS");
    cr_expect_eq(watchdog(~0u, 10), -XEN_EINVAL);
    cr_expect_eq(watchdog(0, 10), 1, "first free slot");
    cr_expect_eq(watchdog(0, 10), 2);
    /* Xen 4.17's "-ENOSPC : id + 1" is an unsigned conditional: the
     * 32-bit -ENOSPC, zero-extended (what the reference shim returns). */
    cr_expect_eq(watchdog(0, 10), 0xffffffe4L, "both slots taken");
    cr_expect_eq((int)watchdog(0, 10), -XEN_ENOSPC);
    cr_expect_eq(watchdog(1, 20), 0, "re-arm");
    cr_expect_eq(watchdog(1, 0), 0, "destroy");
    cr_expect_eq(watchdog(1, 0), -XEN_EINVAL, "destroyed twice");
    cr_expect_eq(watchdog(1, 5), -XEN_EINVAL, "a destroyed slot cannot be re-armed");
    cr_expect_eq(watchdog(0, 10), 1, "the freed slot is taken again");
    cr_expect_eq(watchdog(2, 0), 0);
    cr_expect_eq(watchdog(1, 0), 0);
}

/* Armed, its deadline wakes the vCPUs (it is part of every vCPU's next
 * deadline); re-armed, it moves; destroyed, it never fires. */
Test(pv_compat, watchdog_rearm_and_destroy)
{
    uint64_t t0 = pv_now_ns();

    cr_assert_eq(watchdog(0, 2), 1);
    cr_expect_eq(pv_watchdog_next_deadline(), t0 + 2 * NS_PER_S);
    pv_dom.vcpus[1].periodic_period = 0;
    pv_dom.vcpus[1].timer_set = false;
    cr_expect_eq(pv_time_next_deadline(&pv_dom.vcpus[1]), t0 + 2 * NS_PER_S,
                 "a vCPU with no timer of its own still wakes for the watchdog");

    advance_s(1.5);
    cr_expect_eq(shutdown_reason_of(check_time), -1, "not due yet");
    cr_assert_eq(watchdog(1, 2), 0, "re-armed: 2 s from now");
    advance_s(1.0);     /* past the first deadline, before the second */
    cr_expect_eq(shutdown_reason_of(check_time), -1, "the re-arm moved the deadline");

    cr_assert_eq(watchdog(1, 0), 0);
    cr_expect_eq(pv_watchdog_next_deadline(), 0);
    advance_s(10);
    cr_expect_eq(shutdown_reason_of(check_time), -1, "a destroyed watchdog never fires");
}

/* Expiry: the domain shuts down with SHUTDOWN_watchdog, from whichever
 * vCPU's check sees it first. */
Test(pv_compat, watchdog_expiry_shuts_down)
{
    cr_assert_eq(watchdog(0, 30), 1);
    cr_assert_eq(watchdog(0, 1), 2);
    advance_s(0.999);
    cr_expect_eq(shutdown_reason_of(check_time), -1);
    advance_s(0.002);
    cr_expect_eq(shutdown_reason_of(check_time), SHUTDOWN_watchdog);
}

/* id 0 with timeout 0 arms a watchdog due at once (Xen sets the timer
 * for NOW() + 0). */
Test(pv_compat, watchdog_timeout_zero_fires_at_once)
{
    cr_assert_eq(watchdog(0, 0), 1);
    advance_s(0.000001);
    cr_expect_eq(shutdown_reason_of(check_time), SHUTDOWN_watchdog);
}

/* memory_op XENMEM_machine_memory_map: XSM_PRIV before the argument is
 * read (Xen 4.17 arch_memory_op), so even a bad pointer is -EPERM. */
Test(pv_compat, memory_op_machine_memory_map)
{
    struct xen_memory_map map = { .nr_entries = 2 };
    uint8_t e820[64];

    set_xen_guest_handle(map.buffer, e820);
    cr_expect_eq(do_memory_op(XENMEM_machine_memory_map, gp(&map)), -XEN_EPERM);
    cr_expect_eq(do_memory_op(XENMEM_machine_memory_map, HV_ADDR), -XEN_EPERM);
}
