/*
 * Hypercall dispatch for the 64-bit PV guest (Xen's pv_hypercall() and
 * pv_hypercall_table): arguments in rdi, rsi, rdx, r10, r8, r9; result in
 * rax. Every number either reaches Xen-like code or answers -ENOSYS.
 * Also here: multicall (Xen's do_multicall), which re-enters the table.
 * Each family lives in its own file with its own header; this file only
 * binds the numbers to them.
 */
#include <stddef.h>
#include <minishim/pv.h>
#include <minishim/pv_console.h>
#include <minishim/pv_debugreg.h>
#include <minishim/pv_descriptor.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_physdev.h>
#include <minishim/pv_sched.h>
#include <minishim/pv_suspend.h>
#include <minishim/pv_sysctl.h>
#include <minishim/pv_time.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_vcpu.h>
#include <minishim/pv_version.h>

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
static long hc_update_va_mapping_otherdomain(struct cpu_regs *r, const unsigned long *a) { (void)r; return do_update_va_mapping_otherdomain(A(0), A(1), A(2), (unsigned int)A(3)); }
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
