/*
 * Guest vCPUs beyond the first (issue 6): VCPUOP_initialise / up / down /
 * is_up. Guest vCPU n runs on shim CPU n (pinned 1:1); the shim CPU is
 * started (smp_cpu_up) the first time the guest brings vCPU n up and then
 * stays online. A vCPU that is down parks in the shim on its own CPU
 * (Xen's _VPF_down: state kept, resumed where it stopped).
 *
 * Errnos as Xen 4.17 xen/common/domain.c do_vcpu_op /
 * default_initialise_vcpu and xen/arch/x86/domain.c arch_set_info_guest.
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/ipi.h>
#include <minishim/percpu.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_vcpu.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/spinlock.h>
#include <minishim/x86.h>
#include <xen/vcpu.h>

static bool canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* Xen fixup_guest_{code,stack}_selector for a 64-bit PV guest: an RPL-0
 * selector means the guest kernel, which runs in ring 3. */
static uint16_t fixup_sel(uint16_t sel)
{
    return (sel & 3) ? sel : (uint16_t)(sel | 3);
}

/* Arithmetic flags and DF a context may carry; IF is forced on and IOPL
 * goes through physdev_op (Xen keeps IOPL out of the real EFLAGS). */
#define CTX_RFLAGS_KEEP 0xcd5UL

int pv_vcpu_check_context(const struct vcpu_guest_context *c)
{
    /* arch_set_info_guest(): every address the vCPU will use must be
     * canonical. */
    if (!canonical(c->user_regs.rip) || !canonical(c->user_regs.rsp) ||
        !canonical(c->kernel_sp) || !canonical(c->fs_base) ||
        !canonical(c->gs_base_kernel) || !canonical(c->gs_base_user) ||
        !canonical(c->event_callback_eip) || !canonical(c->failsafe_callback_eip) ||
        !canonical(c->syscall_callback_eip) ||
        (c->ldt_ents && !canonical(c->ldt_base)))
        return -XEN_EINVAL;
    /* arch_set_info_guest(): LDT page aligned, at most 8192 entries; GDT
     * not reaching into Xen's reserved entries. */
    if ((c->ldt_base & (PAGE_SIZE - 1)) || c->ldt_ents > 8192 ||
        c->gdt_ents > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    /* minishim: the GDT and LDT are domain-wide here (pv/descriptor.c),
     * so a second vCPU starts on Xen's flat selectors; a per-vCPU GDT or
     * LDT in the context is refused rather than ignored. */
    if (c->gdt_ents || c->ldt_ents)
        return -XEN_EINVAL;
    /* The vCPU starts in guest kernel mode (Linux cpu_initialize_context
     * sets VGCF_in_kernel); user mode needs a user L4 in ctrlreg[1]. */
    if (!(c->flags & VGCF_in_kernel))
        return -XEN_EINVAL;
    /* The shim's iretq must never fault on the first entry. */
    if (!pv_selector_ok(fixup_sel(c->user_regs.cs), true) ||
        !pv_selector_ok(fixup_sel(c->user_regs.ss), false))
        return -XEN_EINVAL;
    /* ctrlreg[3] names the kernel L4 (xen_pfn_to_cr3 format); frame 0 is
     * never a guest frame. */
    if (!xen_cr3_to_pfn(c->ctrlreg[3]))
        return -XEN_EINVAL;
    return 0;
}

/* Load a checked context into v (Xen arch_set_info_guest, PV part). The
 * caller holds no MMU state yet; base pointers are taken here. */
static int set_info_guest(struct vcpu *v, const struct vcpu_guest_context *c)
{
    const struct cpu_user_regs *u = &c->user_regs;
    mfn_t l4 = mfn(xen_cr3_to_pfn(c->ctrlreg[3]));
    mfn_t ul4 = mfn(xen_cr3_to_pfn(c->ctrlreg[1]));
    int rc;

    rc = pv_vcpu_check_context(c);
    if (rc)
        return rc;
    /* Xen: get_page_from_mfn + get_page_type(PGT_root_page_table) on the
     * CR3 frame; anything but a valid L4 the guest owns is -EINVAL. */
    v->mm.id = v->id;
    if (pv_mm_set_base(&v->mm, l4, false))
        return -XEN_EINVAL;
    if (ul4.mfn && pv_mm_set_base(&v->mm, ul4, true)) {
        pv_mm_vcpu_destroy(&v->mm);
        return -XEN_EINVAL;
    }
    v->guest_table = mfn_to_paddr(l4).pa;

    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.r15 = u->r15; v->regs.r14 = u->r14; v->regs.r13 = u->r13;
    v->regs.r12 = u->r12; v->regs.rbp = u->rbp; v->regs.rbx = u->rbx;
    v->regs.r11 = u->r11; v->regs.r10 = u->r10; v->regs.r9 = u->r9;
    v->regs.r8 = u->r8; v->regs.rax = u->rax; v->regs.rcx = u->rcx;
    v->regs.rdx = u->rdx; v->regs.rsi = u->rsi; v->regs.rdi = u->rdi;
    v->regs.rip = u->rip;
    v->regs.rsp = u->rsp;
    v->regs.cs = fixup_sel(u->cs);
    v->regs.ss = fixup_sel(u->ss);
    v->regs.rflags = (u->rflags & CTX_RFLAGS_KEEP) | X86_EFLAGS_IF | 0x2;
    v->kernel_mode = true;
    memcpy(v->traps, c->trap_ctxt, sizeof(v->traps));
    for (unsigned int i = 0; i < ARRAY_SIZE(v->traps); i++)
        v->traps[i].cs = fixup_sel(v->traps[i].cs);
    v->kernel_ss = fixup_sel((uint16_t)c->kernel_ss);
    v->kernel_sp = c->kernel_sp;
    v->event_callback = c->event_callback_eip;
    v->failsafe_callback = c->failsafe_callback_eip;
    v->syscall_callback = c->syscall_callback_eip;
    v->failsafe_mask_events = c->flags & VGCF_failsafe_disables_events;
    v->syscall_mask_events = c->flags & VGCF_syscall_disables_events;
    v->fs_base = c->fs_base;
    v->gs_base_kernel = c->gs_base_kernel;
    v->gs_base_user = c->gs_base_user;
    v->fpu_ts = false;
    v->iopl = 0;
    v->timer_set = false;
    v->in_multicall = 0;
    memset(v->debugreg, 0, sizeof(v->debugreg));
    v->debugreg[6] = 0xffff0ff0UL;
    v->debugreg[7] = 0x400;
    v->initialised = true;
    return 0;
}

static void kick(void *arg)
{
    (void)arg;
}

/* Wake v's shim CPU (parked in pv_vcpu_park, or idle). */
static void kick_cpu(unsigned int cpu)
{
    cpumask_t one;

    if (cpu == arch_cpu_id() || !cpumask_test(&cpu_online_mask, cpu))
        return;
    cpumask_clear(&one);
    cpumask_set(&one, cpu);
    ipi_call_mask(&one, kick, NULL, false);
}

static spinlock_t vcpu_lock = SPINLOCK_INIT;
static struct vcpu_guest_context ctx_buf;

static long vcpu_up(struct vcpu *v)
{
    bool start;
    int rc;

    spin_lock(&vcpu_lock);
    /* do_vcpu_op: bringing up a vCPU never initialised is -EINVAL. */
    if (!v->initialised) {
        spin_unlock(&vcpu_lock);
        return -XEN_EINVAL;
    }
    start = v->id != 0 && !v->started;
    __atomic_store_n(&v->down, false, __ATOMIC_SEQ_CST);
    if (start)
        v->started = true;
    spin_unlock(&vcpu_lock);
    if (!start) {
        kick_cpu(v->id);                /* resume it where it parked */
        return 0;
    }
    rc = smp_cpu_up(v->id);
    if (rc == -XEN_EEXIST) {
        kick_cpu(v->id);                /* online already: its idle loop */
        rc = 0;
    }
    if (rc) {
        pr_warn("guest: vCPU %u: shim CPU did not start (%d)\n", v->id, rc);
        spin_lock(&vcpu_lock);
        v->started = false;
        __atomic_store_n(&v->down, true, __ATOMIC_SEQ_CST);
        spin_unlock(&vcpu_lock);
    }
    return rc;
}

static long vcpu_down(struct vcpu *v)
{
    unsigned int others = 0;

    spin_lock(&vcpu_lock);
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++)
        if (i != v->id && !__atomic_load_n(&pv_dom.vcpus[i].down, __ATOMIC_SEQ_CST))
            others++;
    if (!others) {
        spin_unlock(&vcpu_lock);
        /* do_vcpu_op: the last vCPU going down powers the domain off. */
        pr_info("guest: last vCPU went down\n");
        shim_shutdown(SHUTDOWN_poweroff);
    }
    __atomic_store_n(&v->down, true, __ATOMIC_SEQ_CST);
    spin_unlock(&vcpu_lock);
    /* The vCPU parks at its next entry into the shim (pv_vcpu_park): at
     * once for the caller itself, after this hypercall returns 0. */
    return 0;
}

long pv_vcpu_op_updown(int cmd, unsigned int vcpuid, uint64_t arg)
{
    struct vcpu *v = &pv_dom.vcpus[vcpuid];
    struct vcpu_guest_context *c;
    long rc;

    switch (cmd) {
    case VCPUOP_initialise:
        /* One context buffer (5 KiB, too big for a stack), under the lock. */
        spin_lock(&vcpu_lock);
        c = &ctx_buf;
        if (copy_from_guest(c, arg, sizeof(*c)))
            rc = -XEN_EFAULT;
        else
            rc = v->initialised ? -XEN_EEXIST : set_info_guest(v, c);
        spin_unlock(&vcpu_lock);
        return rc;
    case VCPUOP_up:
        return vcpu_up(v);
    case VCPUOP_down:
        return vcpu_down(v);
    case VCPUOP_is_up:
        return !__atomic_load_n(&v->down, __ATOMIC_SEQ_CST);
    default:
        return -XEN_ENOSYS;
    }
}

void pv_vcpu_park(struct vcpu *v)
{
    if (!__atomic_load_n(&v->down, __ATOMIC_SEQ_CST))
        return;
    pr_debug("guest: vCPU %u down\n", v->id);
    arch_irq_save();
    /* sti;hlt is atomic for a wake-up IPI sent after the check. */
    while (__atomic_load_n(&v->down, __ATOMIC_SEQ_CST))
        arch_wait_for_interrupt();
    pr_debug("guest: vCPU %u up again\n", v->id);
}

void pv_vcpu_enter(struct vcpu *v)
{
    this_cpu()->vcpu = v;
    arch_syscall_init(arch_cpu_id());
    arch_wrmsr(MSR_FS_BASE, v->fs_base);
    arch_wrmsr(MSR_GS_BASE, v->gs_base_kernel);
    arch_wrmsr(MSR_KERNEL_GS_BASE, v->gs_base_user);
    arch_write_cr3(pv_kernel_cr3(v));
    arch_enter_guest(&v->regs);
}

/* smp_set_ap_work: shim CPU cpu runs guest vCPU cpu once it is up. */
void pv_vcpu_ap_work(unsigned int cpu)
{
    struct vcpu *v;

    if (cpu >= pv_dom.nr_vcpus)
        return;
    v = &pv_dom.vcpus[cpu];
    if (!v->initialised || !v->started || __atomic_load_n(&v->down, __ATOMIC_SEQ_CST) ||
        this_cpu()->vcpu == v)
        return;
    pr_info("guest: vCPU %u starts on shim CPU %u at %lx\n", v->id, cpu,
            (unsigned long)v->regs.rip);
    pv_vcpu_enter(v);
}
