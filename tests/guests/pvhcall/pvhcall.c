/*
 * pvhcall - the generic hypercalls answer as Xen 4.17 does for a 64-bit
 * PV domU, including for bad arguments: unknown numbers and sub-ops,
 * pointers into the hypervisor range, non-canonical and unmapped
 * pointers, out-of-range values. Also multicall result write-back.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/event_channel.h>

#define HV_PTR      ((void *)0xffff830000000000UL)  /* hypervisor range  */
#define NONCANON    ((void *)0x0000800000000000UL)
#define UNMAPPED    ((void *)0x1000UL)

static void test_unknown(void)
{
    long rc = hypercall1(63, 0);

    check(rc == -XEN_ENOSYS, "hypercall 63 = %ld, want -ENOSYS", rc);
    rc = hypercall_sched_op(99, NULL);
    check(rc == -XEN_ENOSYS, "sched_op(99) = %ld, want -ENOSYS", rc);
    rc = hypercall_xen_version(99, NULL);
    check(rc == -XEN_ENOSYS, "xen_version(99) = %ld, want -ENOSYS", rc);
    rc = hypercall_memory_op(99, NULL);
    check(rc == -XEN_ENOSYS, "memory_op(99) = %ld, want -ENOSYS", rc);
    /* Xen: -ENOSYS; Xen's own PV shim forwards what it knows and answers
     * -EOPNOTSUPP for the rest. */
    rc = hypercall2(__HYPERVISOR_event_channel_op, 99, NULL);
    check(rc == -XEN_ENOSYS || rc == -XEN_EOPNOTSUPP,
          "event_channel_op(99) = %ld, want -ENOSYS/-EOPNOTSUPP", rc);
}

static void test_xen_version(void)
{
    xen_capabilities_info_t caps;
    xen_platform_parameters_t pp;
    xen_feature_info_t fi = { .submap_idx = 0 };
    long rc;

    rc = hypercall_xen_version(XENVER_capabilities, caps);
    check(rc == 0 && strstr(caps, "xen-3.0-x86_64"),
          "XENVER_capabilities = %ld \"%.*s\"", rc, (int)sizeof(caps), caps);
    rc = hypercall_xen_version(XENVER_platform_parameters, &pp);
    check(rc == 0 && pp.virt_start == HYPERVISOR_VIRT_START,
          "XENVER_platform_parameters = %ld, virt_start %#lx", rc, pp.virt_start);
    rc = hypercall_xen_version(XENVER_get_features, &fi);
    check(rc == 0, "XENVER_get_features(0) = %ld", rc);
    fi.submap_idx = 1000;
    rc = hypercall_xen_version(XENVER_get_features, &fi);
    check(rc == -XEN_EINVAL, "XENVER_get_features(1000) = %ld, want -EINVAL", rc);
    rc = hypercall_xen_version(XENVER_pagesize, NULL);
    check(rc == 4096, "XENVER_pagesize = %ld", rc);

    rc = hypercall_xen_version(XENVER_extraversion, HV_PTR);
    check(rc == -XEN_EFAULT, "extraversion(hypervisor ptr) = %ld, want -EFAULT", rc);
    rc = hypercall_xen_version(XENVER_extraversion, NONCANON);
    check(rc == -XEN_EFAULT, "extraversion(non-canonical) = %ld, want -EFAULT", rc);
    rc = hypercall_xen_version(XENVER_extraversion, UNMAPPED);
    check(rc == -XEN_EFAULT, "extraversion(unmapped) = %ld, want -EFAULT", rc);
    /* A read-only page: the guest's own page tables are mapped RO. */
    rc = hypercall_xen_version(XENVER_extraversion, (void *)start_info->pt_base);
    check(rc == -XEN_EFAULT, "extraversion(read-only page) = %ld, want -EFAULT", rc);
}

static void test_sched_memory(void)
{
    domid_t self = DOMID_SELF, other = 12345;
    long rc;

    rc = hypercall_sched_op(SCHEDOP_yield, NULL);
    check(rc == 0, "SCHEDOP_yield = %ld", rc);
    {
        evtchn_port_t ports[2] = { 1u << 20, 1 };  /* bad port first: port 1 may be pending */
        struct sched_poll sp = { .nr_ports = 129 };

        set_xen_guest_handle(sp.ports, ports);
        rc = hypercall_sched_op(SCHEDOP_poll, &sp);
        check(rc == -XEN_EINVAL, "SCHEDOP_poll(129 ports) = %ld, want -EINVAL", rc);
        sp.nr_ports = 2;
        rc = hypercall_sched_op(SCHEDOP_poll, &sp);
        check(rc == -XEN_EINVAL, "SCHEDOP_poll(port 2^20) = %ld, want -EINVAL", rc);
        set_xen_guest_handle(sp.ports, (evtchn_port_t *)HV_PTR);
        rc = hypercall_sched_op(SCHEDOP_poll, &sp);
        check(rc == -XEN_EFAULT, "SCHEDOP_poll(hypervisor ptr) = %ld, want -EFAULT", rc);
    }
    rc = hypercall_sched_op(SCHEDOP_shutdown, HV_PTR);
    check(rc == -XEN_EFAULT, "SCHEDOP_shutdown(hypervisor ptr) = %ld, want -EFAULT", rc);
    rc = hypercall_sched_op(SCHEDOP_shutdown_code, UNMAPPED);
    check(rc == -XEN_EFAULT, "SCHEDOP_shutdown_code(unmapped) = %ld, want -EFAULT", rc);

    rc = hypercall_memory_op(XENMEM_current_reservation, &self);
    check(rc > 0 && (unsigned long)rc <= start_info->nr_pages + 16,
          "XENMEM_current_reservation = %ld (nr_pages %lu)", rc, start_info->nr_pages);
    rc = hypercall_memory_op(XENMEM_maximum_reservation, &self);
    check(rc > 0, "XENMEM_maximum_reservation = %ld", rc);
    rc = hypercall_memory_op(XENMEM_current_reservation, &other);
    check(rc == -XEN_ESRCH || rc == -XEN_EPERM,
          "XENMEM_current_reservation(dom 12345) = %ld, want -ESRCH/-EPERM", rc);
    rc = hypercall_memory_op(XENMEM_current_reservation, HV_PTR);
    check(rc == -XEN_EFAULT, "current_reservation(hypervisor ptr) = %ld", rc);
}

static void test_vm_assist_stack(void)
{
    long rc = hypercall2(__HYPERVISOR_vm_assist, VMASST_CMD_enable, 31);

    check(rc == -XEN_EINVAL, "vm_assist(enable, 31) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_vm_assist, 7, VMASST_TYPE_pae_extended_cr3);
    check(rc == -XEN_ENOSYS, "vm_assist(cmd 7) = %ld, want -ENOSYS", rc);
    rc = hypercall2(__HYPERVISOR_vm_assist, VMASST_CMD_enable,
                    VMASST_TYPE_pae_extended_cr3);
    check(rc == 0, "vm_assist(enable, pae_extended_cr3) = %ld", rc);

    /* Xen 4.17 do_get_debugreg() (xen/arch/x86/pv/misc-hypercalls.c):
     * -ENODEV when x86emul_read_dr() would raise #UD (no such register);
     * set_debugreg() likewise. %dr4/%dr5 read as %dr6/%dr7 while the
     * guest's CR4.DE is clear (the default). */
    rc = hypercall1(__HYPERVISOR_get_debugreg, 8);
    check(rc == -XEN_ENODEV, "get_debugreg(8) = %ld, want -ENODEV", rc);
    rc = hypercall2(__HYPERVISOR_set_debugreg, 8, 0);
    check(rc == -XEN_ENODEV, "set_debugreg(8) = %ld, want -ENODEV", rc);
    check(hypercall1(__HYPERVISOR_get_debugreg, 4) ==
          hypercall1(__HYPERVISOR_get_debugreg, 6), "get_debugreg(4) is not dr6");
    check(hypercall1(__HYPERVISOR_get_debugreg, 5) ==
          hypercall1(__HYPERVISOR_get_debugreg, 7), "get_debugreg(5) is not dr7");
    /* set_debugreg(): the upper 32 bits of %dr6/%dr7 are reserved. */
    rc = hypercall2(__HYPERVISOR_set_debugreg, 7, 1UL << 32);
    check(rc == -XEN_EINVAL, "set_debugreg(7, 1 << 32) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_set_debugreg, 0, 0xffff830000000000UL);
    check(rc == -XEN_EPERM, "set_debugreg(0, hypervisor addr) = %ld, want -EPERM", rc);
    rc = hypercall2(__HYPERVISOR_set_debugreg, 0, 0x1000UL);
    check(rc == 0, "set_debugreg(0, 0x1000) = %ld", rc);
    rc = hypercall1(__HYPERVISOR_get_debugreg, 0);
    check(rc == 0x1000, "get_debugreg(0) = %#lx, want 0x1000", rc);
}

static void test_multicall(void)
{
    static multicall_entry_t mc[3];
    long rc;

    memset(mc, 0, sizeof(mc));
    mc[0].op = __HYPERVISOR_xen_version;
    mc[0].args[0] = XENVER_pagesize;
    mc[1].op = __HYPERVISOR_vm_assist;
    mc[1].args[0] = VMASST_CMD_enable;
    mc[1].args[1] = 31;
    mc[2].op = 63;
    rc = hypercall2(__HYPERVISOR_multicall, mc, 3);
    check(rc == 0, "multicall = %ld", rc);
    check(mc[0].result == 4096, "multicall[0] (pagesize) = %ld", (long)mc[0].result);
    check((long)mc[1].result == -XEN_EINVAL, "multicall[1] = %ld, want -EINVAL",
          (long)mc[1].result);
    check((long)mc[2].result == -XEN_ENOSYS, "multicall[2] = %ld, want -ENOSYS",
          (long)mc[2].result);
    rc = hypercall2(__HYPERVISOR_multicall, HV_PTR, 1);
    check(rc == -XEN_EFAULT, "multicall(hypervisor ptr) = %ld, want -EFAULT", rc);
}

static void test_evtchn(void)
{
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
    struct evtchn_status st;
    struct evtchn_close cl;
    struct evtchn_send sd = { .port = 4095 };
    struct evtchn_bind_virq bv = { .virq = NR_VIRQS, .vcpu = 0 };
    long rc;

    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, &au);
    check(rc == 0 && au.port > 0, "alloc_unbound = %ld port %u", rc, au.port);
    st = (struct evtchn_status){ .dom = DOMID_SELF, .port = au.port };
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_status, &st);
    check(rc == 0 && st.status == EVTCHNSTAT_unbound,
          "status(new unbound port) = %ld, status %u", rc, st.status);
    sd.port = au.port;
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &sd);
    check(rc == 0, "send(unbound) = %ld (Xen drops it silently)", rc);
    cl.port = au.port;
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_close, &cl);
    check(rc == 0, "close = %ld", rc);
    st = (struct evtchn_status){ .dom = DOMID_SELF, .port = au.port };
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_status, &st);
    check(rc == 0 && st.status == EVTCHNSTAT_closed,
          "status(closed port) = %ld, status %u", rc, st.status);

    cl.port = 0;
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_close, &cl);
    check(rc == -XEN_EINVAL, "close(port 0) = %ld, want -EINVAL", rc);
    cl.port = 1u << 20;
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_close, &cl);
    check(rc == -XEN_EINVAL, "close(port 2^20) = %ld, want -EINVAL", rc);
    sd.port = 1u << 20;
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &sd);
    check(rc == -XEN_EINVAL, "send(port 2^20) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, &bv);
    check(rc == -XEN_EINVAL, "bind_virq(NR_VIRQS) = %ld, want -EINVAL", rc);
    rc = hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, HV_PTR);
    check(rc == -XEN_EFAULT, "send(hypervisor ptr) = %ld, want -EFAULT", rc);
}

static void test_console_io(void)
{
    /* Release Xen answers -EPERM for a domU before looking at arguments. */
    long rc = hypercall_console_io(CONSOLEIO_write, 0x80000000u, "x");

    check(rc == -XEN_EINVAL || rc == -XEN_EPERM,
          "console_io(count 2^31) = %ld, want -EINVAL/-EPERM", rc);
    rc = hypercall_console_io(CONSOLEIO_write, 16, HV_PTR);
    check(rc == -XEN_EFAULT || rc == -XEN_EPERM,
          "console_io(hypervisor ptr) = %ld, want -EFAULT/-EPERM", rc);
    rc = hypercall_console_io(99, 0, NULL);
    check(rc == -XEN_ENOSYS || rc == -XEN_EPERM,
          "console_io(cmd 99) = %ld, want -ENOSYS/-EPERM", rc);
}

void test_main(void)
{
    test_unknown();
    test_xen_version();
    test_sched_memory();
    test_vm_assist_stack();
    test_multicall();
    test_evtchn();
    test_console_io();
}
