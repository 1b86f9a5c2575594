/* PV hypercalls: argument validation and Xen's answers, with guest
 * pointers as host pointers (fake arch) and a settable fault window. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_console.h>
#include <minishim/pv_debugreg.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_sched.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_version.h>
#include <minishim/xen-public.h>
#include <minishim/pv_descriptor.h>
#include <minishim/pv_evtchn.h>
#include <xen/event_channel.h>
#include <xen/callback.h>
#include "fake/fake.h"

#define HV_ADDR   0xFFFF830000001000ULL
#define NONCANON  0x0000800000000000ULL

static struct shared_info shinfo;

static void setup(void)
{
    fake_reset();
    fake_guest_fault_start = fake_guest_fault_end = 0;
    memset(&pv_dom, 0, sizeof(pv_dom));
    memset(&shinfo, 0, sizeof(shinfo));
    pv_dom.shared_info = &shinfo;
    pv_dom.nr_vcpus = 1;
    pv_dom.nr_pages = 4096;
    pv_dom.max_pages = 4096;
    pv_dom.vcpus[0].vcpu_info = &shinfo.vcpu_info[0];
    pv_dom.vcpus[0].kernel_mode = true;
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
    pv_evtchn_reset();
}

TestSuite(pv_hc, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

Test(pv_hc, access_ok_ranges)
{
    cr_expect(guest_access_ok(0, 8));
    cr_expect(guest_access_ok(0x00007ffffffffff8ULL, 8));
    cr_expect_not(guest_access_ok(0x00007ffffffffff9ULL, 8), "crosses into non-canonical");
    cr_expect_not(guest_access_ok(NONCANON, 1));
    cr_expect_not(guest_access_ok(0xFFFF800000000000ULL, 1), "RO_MPT is not writable by copy");
    cr_expect_not(guest_access_ok(HV_ADDR, 8), "the shim's direct map");
    cr_expect_not(guest_access_ok(0xFFFF87FFFFFFFFF8ULL, 8));
    cr_expect(guest_access_ok(0xFFFF880000000000ULL, 8), "first guest address above the hole");
    cr_expect_not(guest_access_ok(0xFFFFFFFFFFFFFFF8ULL, 16), "wraps");
    cr_expect(guest_access_ok(0xFFFFFFFF80000000ULL, 4096));
}

Test(pv_hc, copy_faults_are_efault)
{
    static uint8_t buf[64], out[64];

    memset(buf, 0xab, sizeof(buf));
    cr_expect_eq(copy_from_guest(out, gp(buf), sizeof(buf)), 0);
    cr_expect_eq(out[63], 0xab);
    fake_guest_fault_start = gp(buf + 32);
    fake_guest_fault_end = gp(buf + 33);
    cr_expect_eq(copy_from_guest(out, gp(buf), sizeof(buf)), -XEN_EFAULT);
    cr_expect_eq(copy_to_guest(gp(buf), out, sizeof(buf)), -XEN_EFAULT);
    cr_expect_eq(copy_to_guest(HV_ADDR, out, 8), -XEN_EFAULT);
}

Test(pv_hc, dispatch_unknown_is_enosys)
{
    unsigned long args[6] = { 0 };
    struct cpu_regs r = { .rax = 1000 };

    cr_expect_eq(pv_do_hypercall(&r, 63, args), -XEN_ENOSYS);
    cr_expect_eq(pv_do_hypercall(&r, __HYPERVISOR_grant_table_op, args), -XEN_ENOSYS);
    pv_hypercall(&r);
    cr_expect_eq((long)r.rax, -XEN_ENOSYS, "nr beyond the table");
    r.rax = __HYPERVISOR_xen_version;
    r.rdi = XENVER_version;
    pv_hypercall(&r);
    cr_expect_eq(r.rax, (4u << 16) | 17);
}

Test(pv_hc, xen_version_subops)
{
    xen_extraversion_t extra;
    xen_feature_info_t fi = { .submap_idx = 1 };

    cr_expect_eq(do_xen_version(XENVER_extraversion, gp(extra)), 0);
    cr_expect_lt(strnlen(extra, sizeof(extra)), sizeof(extra));
    cr_expect_eq(do_xen_version(XENVER_extraversion, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_xen_version(XENVER_extraversion, NONCANON), -XEN_EFAULT);
    cr_expect_eq(do_xen_version(XENVER_get_features, gp(&fi)), -XEN_EINVAL);
    cr_expect_eq(do_xen_version(XENVER_pagesize, 0), 4096);
    cr_expect_eq(do_xen_version(XENVER_commandline, 0), -XEN_EPERM);
    cr_expect_eq(do_xen_version(77, 0), -XEN_ENOSYS);
}

Test(pv_hc, trap_table)
{
    struct trap_info t[3] = {
        { 14, 4, FLAT_KERNEL_CS & ~3, 0xffffffff80001000ULL },
        { 3, 3, FLAT_KERNEL_CS, 0xffffffff80002000ULL },
        { 0, 0, 0, 0 },
    };
    struct vcpu *v = &pv_dom.vcpus[0];

    cr_expect_eq(do_set_trap_table(gp(t)), 0);
    cr_expect_eq(v->traps[14].address, 0xffffffff80001000ULL);
    cr_expect_eq(v->traps[14].cs & 3, 3, "RPL 0 fixed up to the guest's RPL 3");
    cr_expect_eq(v->traps[3].flags, 3);
    t[0].address = NONCANON;
    cr_expect_eq(do_set_trap_table(gp(t)), -XEN_EINVAL);
    cr_expect_eq(do_set_trap_table(HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_set_trap_table(0), 0);
    cr_expect_eq(v->traps[3].address, 0, "a NULL table clears all vectors");
}

Test(pv_hc, callbacks_and_stack)
{
    struct callback_register reg = { .type = CALLBACKTYPE_syscall,
                                     .flags = CALLBACKF_mask_events,
                                     .address = 0xffffffff80003000ULL };
    struct callback_unregister un = { .type = CALLBACKTYPE_event };
    struct vcpu *v = &pv_dom.vcpus[0];

    cr_expect_eq(do_callback_op(CALLBACKOP_register, gp(&reg)), 0);
    cr_expect_eq(v->syscall_callback, reg.address);
    cr_expect(v->syscall_mask_events);
    reg.address = NONCANON;
    cr_expect_eq(do_callback_op(CALLBACKOP_register, gp(&reg)), -XEN_EINVAL);
    reg.type = 99;
    reg.address = 0;
    cr_expect_eq(do_callback_op(CALLBACKOP_register, gp(&reg)), -XEN_ENOSYS);
    cr_expect_eq(do_callback_op(CALLBACKOP_unregister, gp(&un)), -XEN_EINVAL);
    cr_expect_eq(do_callback_op(5, gp(&un)), -XEN_ENOSYS);
    cr_expect_eq(do_set_callbacks(1, 2, NONCANON), -XEN_EINVAL);
    cr_expect_eq(do_stack_switch(FLAT_KERNEL_SS & ~3, 0xffffffff80010000ULL), 0);
    cr_expect_eq(v->kernel_ss, FLAT_KERNEL_SS);
    cr_expect_eq(v->kernel_sp, 0xffffffff80010000ULL);
}

Test(pv_hc, vm_assist_and_memory)
{
    domid_t self = DOMID_SELF, other = 7;
    struct xen_memory_map map;
    struct { uint64_t addr, size; uint32_t type; } __attribute__((packed)) e820[2];

    cr_expect_eq(do_vm_assist(VMASST_CMD_enable, 31), -XEN_EINVAL);
    cr_expect_eq(do_vm_assist(VMASST_CMD_enable, 64), -XEN_EINVAL);
    cr_expect_eq(do_vm_assist(9, VMASST_TYPE_writable_pagetables), -XEN_ENOSYS);
    cr_expect_eq(do_vm_assist(VMASST_CMD_enable, VMASST_TYPE_m2p_strict), 0);
    cr_expect(pv_dom.vm_assist & (1UL << VMASST_TYPE_m2p_strict));
    cr_expect_eq(do_vm_assist(VMASST_CMD_disable, VMASST_TYPE_m2p_strict), 0);
    cr_expect_not(pv_dom.vm_assist & (1UL << VMASST_TYPE_m2p_strict));

    cr_expect_eq(do_memory_op(XENMEM_current_reservation, gp(&self)), 4096);
    cr_expect_eq(do_memory_op(XENMEM_maximum_reservation, gp(&self)), 4096);
    cr_expect_eq(do_memory_op(XENMEM_current_reservation, gp(&other)), -XEN_ESRCH);
    cr_expect_eq(do_memory_op(XENMEM_current_reservation, HV_ADDR), -XEN_EFAULT);
    /* No map set: -ENOSYS, as Xen 4.17 answers the pv-shim's guest
     * (the kernel then takes nr_pages of RAM). */
    map.nr_entries = 2;
    set_xen_guest_handle(map.buffer, (void *)e820);
    cr_expect_eq(do_memory_op(XENMEM_memory_map, gp(&map)), -XEN_ENOSYS);
    cr_expect_eq(do_memory_op(77, 0), -XEN_ENOSYS);
}

Test(pv_hc, sched_op)
{
    struct sched_shutdown sd = { .reason = 9 };

    cr_expect_eq(do_sched_op(SCHEDOP_yield, 0), 0);
    cr_expect_eq(do_sched_op(SCHEDOP_shutdown_code, gp(&sd)), 0);
    cr_expect(pv_dom.has_shutdown_code);
    cr_expect_eq(pv_dom.shutdown_code, 9);
    cr_expect_eq(do_sched_op(SCHEDOP_shutdown, HV_ADDR), -XEN_EFAULT);
    {
        /* Xen: no domain has a reserved id (-ESRCH); another one is
         * refused to a domU (-EPERM); the argument is read first. */
        struct sched_remote_shutdown rs = { .domain_id = 0, .reason = 0 };

        cr_expect_eq(do_sched_op(SCHEDOP_remote_shutdown, gp(&rs)), -XEN_EPERM);
        rs.domain_id = DOMID_SELF;
        cr_expect_eq(do_sched_op(SCHEDOP_remote_shutdown, gp(&rs)), -XEN_ESRCH);
        rs.domain_id = DOMID_IO;
        cr_expect_eq(do_sched_op(SCHEDOP_remote_shutdown, gp(&rs)), -XEN_ESRCH);
        cr_expect_eq(do_sched_op(SCHEDOP_remote_shutdown, HV_ADDR), -XEN_EFAULT);
        cr_expect_not(fake_nr_halts, "nothing shut down");
    }
    cr_expect_eq(do_sched_op(42, 0), -XEN_ENOSYS);
    /* An upcall already pending: block enables events and returns at
     * once (blocking itself: test_pv_event.c). */
    shinfo.vcpu_info[0].evtchn_upcall_pending = 1;
    cr_expect_eq(do_sched_op(SCHEDOP_block, 0), 0);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_mask, 0, "block enables events");
}

Test(pv_hc, multicall)
{
    multicall_entry_t mc[3];
    struct cpu_regs r = { 0 };

    memset(mc, 0, sizeof(mc));
    mc[0].op = __HYPERVISOR_xen_version;
    mc[0].args[0] = XENVER_pagesize;
    mc[1].op = __HYPERVISOR_multicall;
    mc[2].op = 1000;
    cr_expect_eq(do_multicall(&r, gp(mc), 3), 0);
    cr_expect_eq(mc[0].result, 4096);
    cr_expect_eq((long)mc[1].result, -XEN_EINVAL, "no nested multicall");
    cr_expect_eq((long)mc[2].result, -XEN_ENOSYS);
    cr_expect_eq(do_multicall(&r, HV_ADDR, 1), -XEN_EFAULT);
    cr_expect_eq(do_multicall(&r, 0xFFFFFFFFFFFFFF00ULL, 100), -XEN_EFAULT, "wraps");
    cr_expect_eq(pv_dom.vcpus[0].in_multicall, 0);
}

Test(pv_hc, event_channels)
{
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF };
    struct evtchn_bind_ipi bi = { .vcpu = 0 };
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    struct evtchn_send sd;
    struct evtchn_unmask um;
    struct evtchn_close cl;
    struct evtchn_status st;

    cr_expect_eq(do_event_channel_op(EVTCHNOP_alloc_unbound, gp(&au)), 0);
    cr_expect_gt(au.port, 0, "port 0 is never handed out");
    au.dom = 5;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_alloc_unbound, gp(&au)), -XEN_ESRCH);

    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&bv)), 0);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&bv)), -XEN_EEXIST);
    bv.virq = NR_VIRQS;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&bv)), -XEN_EINVAL);
    bv.virq = VIRQ_TIMER;
    bv.vcpu = 3;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_virq, gp(&bv)), -XEN_ENOENT);

    /* IPI to self: pending, then the upcall once unmasked. */
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_ipi, gp(&bi)), 0);
    shinfo.evtchn_mask[0] = 1UL << bi.port;
    sd.port = bi.port;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, gp(&sd)), 0);
    cr_expect(shinfo.evtchn_pending[0] & (1UL << bi.port));
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 0, "masked port");
    um.port = bi.port;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_unmask, gp(&um)), 0);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 1);
    cr_expect(shinfo.vcpu_info[0].evtchn_pending_sel & 1);

    st = (struct evtchn_status){ .dom = DOMID_SELF, .port = bi.port };
    cr_expect_eq(do_event_channel_op(EVTCHNOP_status, gp(&st)), 0);
    cr_expect_eq(st.status, EVTCHNSTAT_ipi);
    cl.port = bi.port;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&cl)), 0);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&cl)), -XEN_EINVAL);
    cl.port = 0;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_close, gp(&cl)), -XEN_EINVAL);
    sd.port = 1u << 20;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, gp(&sd)), -XEN_EINVAL);
    um.port = 1u << 20;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_unmask, gp(&um)), -XEN_EINVAL);
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_event_channel_op(99, 0), -XEN_ENOSYS);
}

Test(pv_hc, console_io)
{
    static const char msg[] = "hi\n";

    cr_expect_eq(do_console_io(CONSOLEIO_write, 3, gp(msg)), 0);
    cr_expect_eq(do_console_io(CONSOLEIO_write, 0x80000000u, gp(msg)), -XEN_EINVAL);
    cr_expect_eq(do_console_io(CONSOLEIO_write, 16, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_console_io(CONSOLEIO_read, 16, gp(msg)), 0);
    cr_expect_eq(do_console_io(7, 0, 0), -XEN_ENOSYS);
}

Test(pv_hc, iret_restores_frame)
{
    struct iret_context c = {
        .rax = 0x1234, .r11 = 0x11, .rcx = 0xcc, .flags = 0,
        .rip = 0xffffffff80004000ULL, .cs = FLAT_KERNEL_CS & ~3,
        .rflags = (1UL << 9) | (3UL << 12), .rsp = 0xffffffff80008000ULL,
        .ss = FLAT_KERNEL_SS & ~3,
    };
    struct cpu_regs r = { .rsp = gp(&c) };

    cr_expect_eq(do_iret(&r), 0x1234);
    cr_expect_eq(r.rip, c.rip);
    cr_expect_eq(r.cs, FLAT_KERNEL_CS, "guest privilege forced");
    cr_expect_eq(r.ss, FLAT_KERNEL_SS);
    cr_expect_eq(r.rflags & (3UL << 12), 0, "IOPL never reaches the hardware");
    cr_expect(r.rflags & (1UL << 9));
    cr_expect_eq(r.rcx, 0xcc);
    cr_expect_eq(r.r11, 0x11);
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_mask, 0, "IF set: unmasked");

    c.rflags = 0;
    c.flags = VGCF_in_syscall;
    r = (struct cpu_regs){ .rsp = gp(&c), .rcx = 1, .r11 = 2 };
    do_iret(&r);
    cr_expect_eq(r.rcx, 1, "in_syscall: rcx not restored");
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_mask, 1, "IF clear: masked");
}

Test(pv_hc, iret_bad_frame_crashes_guest)
{
    jmp_buf jb;
    struct cpu_regs r = { .rsp = HV_ADDR };

    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0) {
        do_iret(&r);
        cr_assert_fail("iret from a hypervisor address returned");
    }
    cr_expect_geq(fake_nr_halts, 1, "domain crashed (shim shut down)");
}

Test(pv_hc, segment_base_and_debugregs)
{
    cr_expect_eq(do_set_segment_base(SEGBASE_FS, NONCANON), -XEN_EINVAL);
    cr_expect_eq(do_set_segment_base(SEGBASE_FS, 0x1000), 0);
    cr_expect_eq(fake_msr_value(0xC0000100), 0x1000);
    cr_expect_eq(do_set_segment_base(SEGBASE_GS_USER, 0x2000), 0);
    cr_expect_eq(fake_msr_value(0xC0000102), 0x2000, "user GS in the shadow MSR");
    cr_expect_eq(do_set_segment_base(7, 0), -XEN_EINVAL);
    cr_expect_eq(do_set_debugreg(0, HV_ADDR), -XEN_EPERM);
    cr_expect_eq(do_set_debugreg(1, 0x4000), 0);
    cr_expect_eq(do_get_debugreg(1), 0x4000);
    /* Xen 4.17 do_get_debugreg()/set_debugreg(): a register x86emul_read_dr
     * would #UD on is -ENODEV; %dr4/%dr5 alias %dr6/%dr7 (CR4.DE clear);
     * the upper halves of %dr6/%dr7 are reserved (-EINVAL). */
    cr_expect_eq(do_get_debugreg(8), -XEN_ENODEV);
    cr_expect_eq(do_get_debugreg(-1), -XEN_ENODEV);
    cr_expect_eq(do_set_debugreg(9, 0), -XEN_ENODEV);
    cr_expect_eq(do_get_debugreg(4), do_get_debugreg(6));
    cr_expect_eq(do_get_debugreg(5), do_get_debugreg(7));
    cr_expect_eq(do_set_debugreg(7, 1UL << 32), -XEN_EINVAL);
    cr_expect_eq(do_set_debugreg(4, 1UL << 32), -XEN_EINVAL);
    cr_expect_eq(do_set_debugreg(5, 0x400), 0);
    cr_expect_eq(do_get_debugreg(7), 0x400, "%%dr5 writes %%dr7");
    cr_expect_eq(do_fpu_taskswitch(1), 0);
    cr_expect(fake_cr0_ts);
    cr_expect_eq(do_fpu_taskswitch(0), 0);
    cr_expect_not(fake_cr0_ts);
}

Test(pv_hc, check_descriptor_rules)
{
    uint64_t d;
    static uint64_t page[512];

    d = 0;
    cr_expect(pv_check_descriptor(&d), "null");
    d = 0x00af9b000000ffffULL;                  /* 64-bit code, DPL 0 */
    cr_expect(pv_check_descriptor(&d));
    cr_expect_eq((d >> 45) & 3, 3, "DPL raised to the guest kernel's ring");
    d = 0x0000890000000067ULL;                  /* available TSS */
    cr_expect_not(pv_check_descriptor(&d), "system descriptor");
    d = 0x0000820000000000ULL;                  /* LDT */
    cr_expect_not(pv_check_descriptor(&d));
    /* Call gates (Xen check_descriptor): to a guest segment only, DPL
     * forced to 0 with the old DPL in the target's RPL, no reserved bits. */
    d = 0x0000ec00e0331000ULL;                  /* call gate, DPL 3, to FLAT_KERNEL_CS */
    cr_expect(pv_check_descriptor(&d), "call gate to a guest segment");
    cr_expect_eq(d, 0x00008c00e0331000ULL, "gate DPL 0, target RPL 3");
    d = 0x0000ec0000081000ULL;                  /* to GDT entry 1, RPL 0 */
    cr_expect(pv_check_descriptor(&d));
    cr_expect_eq((d >> 16) & 0xffff, 0x000b);
    d = 0x0000ec00e0081000ULL;                  /* to the shim's code segment */
    cr_expect_not(pv_check_descriptor(&d), "gate to a Xen segment");
    d = 0x0000ec01e0331000ULL;                  /* reserved bits set */
    cr_expect_not(pv_check_descriptor(&d), "gate with reserved bits");
    d = 0x0000090000000067ULL;                  /* not present TSS */
    cr_expect(pv_check_descriptor(&d), "not present is harmless");
    d = 0x0000800000000000ULL;                  /* type 0 system: gate upper half */
    cr_expect(pv_check_descriptor(&d));

    memset(page, 0, sizeof(page));
    page[1] = 0x00cff3000000ffffULL;
    page[2] = 0x00cf93000000ffffULL;            /* data, DPL 0 */
    page[4] = 0x0000ec0000081000ULL;            /* gate DPL 3 to GDT entry 1, RPL 0 */
    cr_expect_eq(pv_validate_seg_desc_page(page), 0);
    /* Xen validate_segdesc_page: the fixed-up descriptors are written
     * back into the frame. */
    cr_expect_eq(page[1], 0x00cff3000000ffffULL);
    cr_expect_eq(page[2], 0x00cff3000000ffffULL, "DPL raised to 3 in the frame");
    cr_expect_eq(page[4], 0x00008c00000b1000ULL, "gate: DPL 0, target RPL 3 in the frame");
    page[511] = 0x0000890000000067ULL;
    cr_expect_eq(pv_validate_seg_desc_page(page), -XEN_EINVAL);
    cr_expect_eq(do_set_gdt(0, 7169), -XEN_EINVAL);
    cr_expect_eq(do_update_descriptor(0x1004, 0), -XEN_EINVAL, "unaligned");
}

/* The shim's iretq must never fault on a guest frame: selectors that are
 * not usable at ring 3 crash the domain instead (never the shim). */
Test(pv_hc, iret_bad_selectors_crash_guest)
{
    static const uint64_t bad[][2] = {
        { 0xe008, FLAT_KERNEL_SS },        /* the shim's CS */
        { FLAT_KERNEL_CS, 0 },              /* null SS at ring 3 */
        { FLAT_KERNEL_CS, 0xe010 },         /* the shim's DS */
        { 0x0f, FLAT_KERNEL_SS },           /* LDT selector */
        { 0x13, FLAT_KERNEL_SS },           /* guest GDT entry, no GDT */
    };

    cr_expect(pv_selector_ok(FLAT_KERNEL_CS, true));
    cr_expect(pv_selector_ok(FLAT_USER_CS32, true));
    cr_expect(pv_selector_ok(FLAT_KERNEL_SS, false));
    cr_expect_not(pv_selector_ok(FLAT_KERNEL_SS, true), "data selector as CS");
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iret_context c = { .rip = 0x1000, .cs = bad[i][0], .ss = bad[i][1],
                                  .rsp = 0x2000, .rflags = 0x202 };
        struct cpu_regs r = { .rsp = gp(&c) };
        jmp_buf jb;
        unsigned int halts = fake_nr_halts;

        fake_halt_jmp = &jb;
        if (setjmp(jb) == 0) {
            do_iret(&r);
            cr_assert_fail("iret with cs %#lx ss %#lx returned",
                           (unsigned long)bad[i][0], (unsigned long)bad[i][1]);
        }
        cr_expect_eq(fake_nr_halts, halts + 1);
    }
}

Test(pv_hc, sched_poll)
{
    evtchn_port_t ports[2] = { 3, 5000 };
    struct sched_poll sp = { .nr_ports = 129 };

    set_xen_guest_handle(sp.ports, ports);
    cr_expect_eq(do_sched_op(SCHEDOP_poll, gp(&sp)), -XEN_EINVAL);
    sp.nr_ports = 2;
    cr_expect_eq(do_sched_op(SCHEDOP_poll, gp(&sp)), -XEN_EINVAL, "port 5000");
    shinfo.evtchn_pending[0] = 1UL << 3;
    cr_expect_eq(do_sched_op(SCHEDOP_poll, gp(&sp)), 0, "port 3 pending: done");
    set_xen_guest_handle(sp.ports, (evtchn_port_t *)HV_ADDR);
    cr_expect_eq(do_sched_op(SCHEDOP_poll, gp(&sp)), -XEN_EFAULT);
}
