/*
 * Hypercall dispatch for the 64-bit PV guest (Xen's pv_hypercall() and
 * pv_hypercall_table): arguments in rdi, rsi, rdx, r10, r8, r9; result in
 * rax. Every number either reaches Xen-like code or answers -ENOSYS.
 * Also here: the small hypercalls that are only a few lines each.
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/layout.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_time.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_mm.h>
#include <minishim/shim.h>
#include <minishim/x86.h>
#include <xen/vcpu.h>
#include <minishim/pv_vcpu.h>
#include <minishim/pv_console.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_suspend.h>
#include <xen/physdev.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

typedef long (*hc_fn)(struct cpu_regs *regs, const unsigned long a[6]);

#define A(i) (a[i])
static long hc_set_trap_table(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_set_trap_table(A(0)); }
static long hc_mmu_update(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_mmu_update(A(0), (unsigned int)A(1), A(2), (unsigned int)A(3)); }
static long hc_stack_switch(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_stack_switch(A(0), A(1)); }
static long hc_set_callbacks(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_set_callbacks(A(0), A(1), A(2)); }
static long hc_fpu_taskswitch(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_fpu_taskswitch((int)A(0)); }
static long hc_set_debugreg(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_set_debugreg((int)A(0), A(1)); }
static long hc_get_debugreg(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_get_debugreg((int)A(0)); }
static long hc_memory_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_memory_op(A(0), A(1)); }
static long hc_multicall(struct cpu_regs *r, const unsigned long *a) { return do_multicall(r, A(0), (unsigned int)A(1)); }
static long hc_update_va_mapping(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_update_va_mapping(A(0), A(1), A(2)); }
/* Xen 4.17 do_update_va_mapping_otherdomain: get_pg_owner(domid), then
 * the same update. Only DOMID_SELF owns pages here; every other id is
 * -ESRCH, as do_mmu_update's foreign domain (pv/mm.c). */
static long hc_update_va_mapping_otherdomain(struct cpu_regs *r, const unsigned long *a)
{
    (void)r;
    if ((uint16_t)A(3) != DOMID_SELF)
        return -XEN_ESRCH;
    return do_update_va_mapping(A(0), A(1), A(2));
}
static long hc_set_timer_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_set_timer_op(A(0)); }
static long hc_xen_version(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_xen_version((int)A(0), A(1)); }
static long hc_console_io(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_console_io((unsigned int)A(0), (unsigned int)A(1), A(2)); }
static long hc_vm_assist(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_vm_assist((unsigned int)A(0), (unsigned int)A(1)); }
static long hc_iret(struct cpu_regs *r, const unsigned long *a) { (void)a; return do_iret(r); }
static long hc_vcpu_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_vcpu_op((int)A(0), (unsigned int)A(1), A(2)); }
static long hc_set_segment_base(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_set_segment_base((unsigned int)A(0), A(1)); }
static long hc_mmuext_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_mmuext_op(A(0), (unsigned int)A(1), A(2), (unsigned int)A(3)); }
static long hc_sched_op(struct cpu_regs *r, const unsigned long *a) { (void)r; pv_suspend_note_arg(A(2)); return do_sched_op((int)A(0), A(1)); }
static long hc_callback_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_callback_op((int)A(0), A(1)); }
static long hc_event_channel_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_event_channel_op((int)A(0), A(1)); }
static long hc_physdev_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_physdev_op((int)A(0), A(1)); }
static long hc_set_gdt(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_set_gdt(A(0), (unsigned int)A(1)); }
static long hc_update_descriptor(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_update_descriptor(A(0), A(1)); }
static long hc_grant_table_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_grant_table_op((unsigned int)A(0), A(1), (unsigned int)A(2)); }
static long hc_sysctl(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_sysctl(A(0)); }
static long hc_sched_op_compat(struct cpu_regs *r, const unsigned long *a) { (void)r; pv_suspend_note_arg(A(2)); return do_sched_op_compat((int)A(0), A(1)); }
static long hc_event_channel_op_compat(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_event_channel_op_compat(A(0)); }
static long hc_physdev_op_compat(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_physdev_op_compat(A(0)); }
static long hc_nmi_op(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_nmi_op((unsigned int)A(0), A(1)); }
/* Xen 4.17 do_xenpmu_op (xen/arch/x86/cpu/vpmu.c): -EOPNOTSUPP while the
 * vPMU is off, which is its default (no "vpmu" on the command line) and
 * the shim's only mode (pv/msr.c hides the PMU). */
static long hc_xenpmu_op(struct cpu_regs *r, const unsigned long *a) { (void)r; (void)a; return -XEN_EOPNOTSUPP; }
/* Xen 4.17 do_mca (xen/arch/x86/cpu/mcheck/mce.c): xsm_do_mca(XSM_PRIV)
 * comes first, before the argument is read: -EPERM for a domU. */
static long hc_mca(struct cpu_regs *r, const unsigned long *a) { (void)r; (void)a; return -XEN_EPERM; }
#undef A

static const hc_fn hypercall_table[PV_NR_HYPERCALLS] = {
    [__HYPERVISOR_set_trap_table] = hc_set_trap_table,
    [__HYPERVISOR_set_gdt] = hc_set_gdt,
    [__HYPERVISOR_update_descriptor] = hc_update_descriptor,
    [__HYPERVISOR_mmu_update] = hc_mmu_update,
    [__HYPERVISOR_stack_switch] = hc_stack_switch,
    [__HYPERVISOR_set_callbacks] = hc_set_callbacks,
    [__HYPERVISOR_fpu_taskswitch] = hc_fpu_taskswitch,
    [__HYPERVISOR_set_debugreg] = hc_set_debugreg,
    [__HYPERVISOR_get_debugreg] = hc_get_debugreg,
    [__HYPERVISOR_memory_op] = hc_memory_op,
    [__HYPERVISOR_multicall] = hc_multicall,
    [__HYPERVISOR_update_va_mapping] = hc_update_va_mapping,
    [__HYPERVISOR_update_va_mapping_otherdomain] = hc_update_va_mapping_otherdomain,
    [__HYPERVISOR_set_timer_op] = hc_set_timer_op,
    [__HYPERVISOR_xen_version] = hc_xen_version,
    [__HYPERVISOR_console_io] = hc_console_io,
    [__HYPERVISOR_vm_assist] = hc_vm_assist,
    [__HYPERVISOR_iret] = hc_iret,
    [__HYPERVISOR_vcpu_op] = hc_vcpu_op,
    [__HYPERVISOR_set_segment_base] = hc_set_segment_base,
    [__HYPERVISOR_mmuext_op] = hc_mmuext_op,
    [__HYPERVISOR_sched_op] = hc_sched_op,
    [__HYPERVISOR_callback_op] = hc_callback_op,
    [__HYPERVISOR_event_channel_op] = hc_event_channel_op,
    [__HYPERVISOR_physdev_op] = hc_physdev_op,
    [__HYPERVISOR_grant_table_op] = hc_grant_table_op,
    [__HYPERVISOR_sysctl] = hc_sysctl,
    /* The legacy layouts Xen 4.17 still serves a 64-bit PV guest
     * (xen/include/hypercall-defs.c, pv64 column). */
    [__HYPERVISOR_sched_op_compat] = hc_sched_op_compat,
    [__HYPERVISOR_event_channel_op_compat] = hc_event_channel_op_compat,
    [__HYPERVISOR_physdev_op_compat] = hc_physdev_op_compat,
    [__HYPERVISOR_nmi_op] = hc_nmi_op,
    [__HYPERVISOR_xenpmu_op] = hc_xenpmu_op,
    [__HYPERVISOR_arch_0] = hc_mca,     /* __HYPERVISOR_mca (xen-mca.h) */
    /*
     * Every other number below 64 is -ENOSYS, as in Debian's xen-shim
     * (a CONFIG_PV_SHIM_EXCLUSIVE build, pvshim_defconfig): platform_op,
     * domctl and paging_domctl_cont are compiled out of it (a full Xen
     * answers -EPERM), so are hvm_op, dm_op (no CONFIG_HVM), kexec_op,
     * argo_op, hypfs_op, xenoprof_op, tmem_op; xsm_op is XSM's dummy
     * (-ENOSYS). sysctl is the one the shim keeps (debug key 'f',
     * pv/sysctl.c; docs/fuzzing.md has the table).
     */
};

long pv_do_hypercall(struct cpu_regs *regs, unsigned int nr, const unsigned long args[6])
{
    if (nr >= PV_NR_HYPERCALLS || !hypercall_table[nr])
        return -XEN_ENOSYS;
    return hypercall_table[nr](regs, args);
}

void pv_hypercall(struct cpu_regs *regs)
{
    const unsigned long args[6] = { regs->rdi, regs->rsi, regs->rdx,
                                    regs->r10, regs->r8, regs->r9 };
    unsigned long nr = regs->rax;
    long rc;

    if (nr >= PV_NR_HYPERCALLS) {
        regs->rax = (uint64_t)-XEN_ENOSYS;
        return;
    }
    rc = pv_do_hypercall(regs, (unsigned int)nr, args);
    /* iret has replaced the whole frame; its result is the saved %rax. */
    regs->rax = (uint64_t)rc;
}

/* ------------------------------------------------------------ multicall --- */

/*
 * Xen's do_multicall(): each entry's result is written back; a fault on
 * the list is -EFAULT. Nested multicalls are refused (Xen: "Multicall
 * reentry is disallowed", -EINVAL). An iret entry ends the batch (Xen
 * arch_do_multicall_call() answers mc_exit for __HYPERVISOR_iret): it
 * has replaced the frame of the multicall itself, so later entries would
 * run in the context it returned to; its result is written back (best
 * effort) and becomes the multicall's return value, which is the %rax
 * the iret frame restored.
 */
long do_multicall(struct cpu_regs *regs, uint64_t call_list, unsigned int nr_calls)
{
    struct vcpu *v = pv_current();
    struct multicall_entry e;
    long rc = 0;

    if (v->in_multicall)
        return -XEN_EINVAL;
    if (!guest_access_ok(call_list, (size_t)nr_calls * sizeof(e)))
        return -XEN_EFAULT;
    v->in_multicall = 1;
    for (unsigned int i = 0; i < nr_calls; i++) {
        uint64_t at = call_list + (uint64_t)i * sizeof(e);

        if (copy_from_guest(&e, at, sizeof(e))) {
            rc = -XEN_EFAULT;
            break;
        }
        if (e.op == __HYPERVISOR_iret) {
            e.result = (xen_ulong_t)do_iret(regs);
            (void)copy_to_guest(at + offsetof(struct multicall_entry, result),
                                &e.result, sizeof(e.result));
            rc = (long)e.result;
            break;
        }
        if (e.op == __HYPERVISOR_multicall)
            e.result = (xen_ulong_t)-XEN_EINVAL;
        else if (e.op >= PV_NR_HYPERCALLS)
            e.result = (xen_ulong_t)-XEN_ENOSYS;
        else
            e.result = (xen_ulong_t)pv_do_hypercall(regs, (unsigned int)e.op,
                                                    (const unsigned long *)e.args);
        if (copy_to_guest(at + offsetof(struct multicall_entry, result),
                          &e.result, sizeof(e.result))) {
            rc = -XEN_EFAULT;
            break;
        }
    }
    v->in_multicall = 0;
    return rc;
}

/* ------------------------------------------------------------ sched_op --- */

/* Xen domain_shutdown() takes the reason as a u8; behind a shim every
 * reason goes to L0 (pv_shim_shutdown). */
static void __noreturn guest_shutdown(const char *via, unsigned int reason)
{
    pv_console_drain_final();
    pr_info("guest: %s, reason %u%s, from vCPU %u\n", via, reason & 0xff,
            (reason & 0xff) == SHUTDOWN_crash ? " (crash)" : "", pv_current()->id);
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

/*
 * The legacy event_channel_op (hypercall 16, before 0x00030202): Xen
 * 4.17 do_event_channel_op_compat (xen/arch/x86/compat.c) reads the whole
 * struct evtchn_op (-EFAULT), then hands the sub-ops that existed then to
 * event_channel_op with the union inside the caller's struct as the
 * argument (results are written back there); newer sub-ops are -ENOSYS.
 */
long do_event_channel_op_compat(uint64_t arg)
{
    struct evtchn_op op;

    if (copy_from_guest(&op, arg, sizeof(op)))
        return -XEN_EFAULT;
    switch (op.cmd) {
    case EVTCHNOP_bind_interdomain:
    case EVTCHNOP_bind_virq:
    case EVTCHNOP_bind_pirq:
    case EVTCHNOP_close:
    case EVTCHNOP_send:
    case EVTCHNOP_status:
    case EVTCHNOP_alloc_unbound:
    case EVTCHNOP_bind_ipi:
    case EVTCHNOP_bind_vcpu:
    case EVTCHNOP_unmask:
        return do_event_channel_op((int)op.cmd, arg + offsetof(struct evtchn_op, u));
    default:
        return -XEN_ENOSYS;
    }
}

/* --------------------------------------------------------- xen_version --- */

#define SHIM_XEN_MAJOR 4
#define SHIM_XEN_MINOR 17

/*
 * The fixed-size xen_version results (extraversion, capabilities,
 * changeset, guest handle): s NUL-padded to size bytes, written whole as
 * Xen does.
 */
#define VERSION_FIELD_MAX sizeof(xen_capabilities_info_t)   /* the largest */
_Static_assert(sizeof(xen_extraversion_t) <= VERSION_FIELD_MAX &&
               sizeof(xen_changeset_info_t) <= VERSION_FIELD_MAX &&
               sizeof(xen_domain_handle_t) <= VERSION_FIELD_MAX,
               "version fields fit the buffer");

static long version_field_to_guest(uint64_t arg, const char *s, size_t size)
{
    char buf[VERSION_FIELD_MAX];

    memset(buf, 0, size);
    strncpy(buf, s, size - 1);
    return copy_to_guest(arg, buf, size) ? -XEN_EFAULT : 0;
}

long do_xen_version(int cmd, uint64_t arg)
{
    switch (cmd) {
    case XENVER_version:
        return (SHIM_XEN_MAJOR << 16) | SHIM_XEN_MINOR;
    case XENVER_extraversion:
        return version_field_to_guest(arg, "-minishim", sizeof(xen_extraversion_t));
    case XENVER_compile_info: {
        xen_compile_info_t ci;

        memset(&ci, 0, sizeof(ci));
        strncpy(ci.compiler, "gcc", sizeof(ci.compiler) - 1);
        strncpy(ci.compile_by, "minishim", sizeof(ci.compile_by) - 1);
        strncpy(ci.compile_domain, "minishim", sizeof(ci.compile_domain) - 1);
        strncpy(ci.compile_date, __DATE__, sizeof(ci.compile_date) - 1);
        return copy_to_guest(arg, &ci, sizeof(ci)) ? -XEN_EFAULT : 0;
    }
    case XENVER_capabilities:
        return version_field_to_guest(arg, "xen-3.0-x86_64 ",
                                      sizeof(xen_capabilities_info_t));
    case XENVER_changeset:
        return version_field_to_guest(arg, "minishim " MINISHIM_VERSION,
                                      sizeof(xen_changeset_info_t));
    case XENVER_platform_parameters: {
        xen_platform_parameters_t pp = { .virt_start = HYPERVISOR_VIRT_START };

        return copy_to_guest(arg, &pp, sizeof(pp)) ? -XEN_EFAULT : 0;
    }
    case XENVER_get_features: {
        xen_feature_info_t fi;

        if (copy_from_guest(&fi, arg, sizeof(fi)))
            return -XEN_EFAULT;
        switch (fi.submap_idx) {
        case 0:
            /* Xen 4.17 common/kernel.c, a PV domU: PRESERVE_AD updates
             * and MMUEXT_{CLEAR,COPY}_PAGE exist (pv/mm.c); Linux >= 5.19
             * panics without preserve_ad and gnttab_map_avail_bits (the
             * latter only describes GNTTABOP_map_grant_ref semantics). */
            fi.submap = (1u << XENFEAT_mmu_pt_update_preserve_ad) |
                        (1u << XENFEAT_highmem_assist) |
                        (1u << XENFEAT_gnttab_map_avail_bits);
            if (pv_dom.vm_assist & (1UL << VMASST_TYPE_pae_extended_cr3))
                fi.submap |= 1u << XENFEAT_pae_pgdir_above_4gb;
            break;
        default:
            return -XEN_EINVAL;
        }
        return copy_to_guest(arg, &fi, sizeof(fi)) ? -XEN_EFAULT : 0;
    }
    case XENVER_pagesize:
        return PAGE_SIZE;
    case XENVER_guest_handle:
        /* The handle is 16 zero bytes: a NUL-filled field of that size. */
        return version_field_to_guest(arg, "", sizeof(xen_domain_handle_t));
    case XENVER_commandline:
    case XENVER_build_id:
        return -XEN_EPERM;      /* XSM_PRIV for a domU */
    default:
        return -XEN_ENOSYS;
    }
}

/* ----------------------------------------------------------- vm_assist --- */

/* Xen's VM_ASSIST_VALID for a 64-bit PV guest. */
#define PV64_VM_ASSIST_VALID ((1UL << VMASST_TYPE_4gb_segments) |          \
                              (1UL << VMASST_TYPE_4gb_segments_notify) |   \
                              (1UL << VMASST_TYPE_writable_pagetables) |   \
                              (1UL << VMASST_TYPE_pae_extended_cr3) |      \
                              (1UL << VMASST_TYPE_architectural_iopl) |    \
                              (1UL << VMASST_TYPE_runstate_update_flag) |  \
                              (1UL << VMASST_TYPE_m2p_strict))

long do_vm_assist(unsigned int cmd, unsigned int type)
{
    if (type >= 64 || !(PV64_VM_ASSIST_VALID & (1UL << type)))
        return -XEN_EINVAL;
    switch (cmd) {
    case VMASST_CMD_enable:
        pv_dom.vm_assist |= 1UL << type;
        return 0;
    case VMASST_CMD_disable:
        pv_dom.vm_assist &= ~(1UL << type);
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}

/* memory_op: pv/memory_op.c */

/* --------------------------------------------------------------- vcpu_op --- */

long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg)
{
    struct vcpu *v;

    if (vcpuid >= pv_dom.nr_vcpus)
        return -XEN_ENOENT;
    v = &pv_dom.vcpus[vcpuid];
    switch (cmd) {
    case VCPUOP_initialise:
    case VCPUOP_up:
    case VCPUOP_down:
    case VCPUOP_is_up:
        return pv_vcpu_op_updown(cmd, vcpuid, arg);
    case VCPUOP_set_singleshot_timer:
    case VCPUOP_stop_singleshot_timer:
    case VCPUOP_set_periodic_timer:
    case VCPUOP_stop_periodic_timer:
    case VCPUOP_register_vcpu_time_memory_area:
        return pv_vcpu_timer_op(cmd, v, arg);
    case VCPUOP_get_physid:
        /* Xen arch_do_vcpu_op: only a hardware domain's pinned vCPUs have
         * a physical CPU to name. */
        return -XEN_EINVAL;
    case VCPUOP_register_vcpu_info:
    case VCPUOP_register_runstate_memory_area:
    case VCPUOP_get_runstate_info:
        return pv_vcpu_op_info(cmd, v, arg);
    case VCPUOP_send_nmi:
        /* Xen 4.17 do_vcpu_op: a non-NULL argument is -EINVAL; the NMI
         * reaches v's NMI handler on its next way out (pv/traps.c). */
        if (arg)
            return -XEN_EINVAL;
        if (!__atomic_exchange_n(&v->nmi_pending, true, __ATOMIC_SEQ_CST))
            pv_vcpu_kick(v);
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}

/* ----------------------------------------------------------- physdev_op --- */

/*
 * The legacy physdev_op (hypercall 19, before 0x00030202): Xen 4.17
 * do_physdev_op_compat (xen/arch/x86/compat.c) reads the whole struct
 * physdev_op (-EFAULT) and calls physdev_op with its cmd and the union
 * inside the caller's struct, every sub-op.
 */
long do_physdev_op_compat(uint64_t arg)
{
    struct physdev_op op;

    if (copy_from_guest(&op, arg, sizeof(op)))
        return -XEN_EFAULT;
    return do_physdev_op((int)op.cmd, arg + offsetof(struct physdev_op, u));
}

/* do_physdev_op: pv/physdev.c */
