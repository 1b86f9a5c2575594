/*
 * Guest traps: the virtual IDT (set_trap_table), callbacks, the kernel
 * stack (stack_switch), bouncing exceptions and events onto the guest
 * kernel stack in Xen's 64-bit frame layout (create_bounce_frame in
 * xen/arch/x86/x86_64/entry.S), the iret hypercall, and the instructions
 * Xen emulates for a PV kernel running in ring 3.
 *
 * Bounce frame, from the new %rsp upward (16-byte aligned):
 *   rcx, r11, [error code], rip, cs | saved_upcall_mask << 32, rflags,
 *   rsp, ss
 * cs has RPL 0 when the guest kernel was interrupted (Xen's "andb $0xfc":
 * tells the guest it was in kernel context), RPL 3 for guest user.
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/percpu.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/trap.h>
#include <minishim/x86.h>
#include <xen/callback.h>

#define PFEC_USER   (1u << 2)
#define EFLAGS_TF   (1UL << 8)
#define EFLAGS_IF   (1UL << 9)
#define EFLAGS_IOPL (3UL << 12)
#define EFLAGS_NT   (1UL << 14)
#define EFLAGS_RF   (1UL << 16)
#define EFLAGS_VM   (1UL << 17)
#define EFLAGS_AC   (1UL << 18)

static bool is_canonical(uint64_t va)
{
    return va < (1UL << 47) || va >= 0xFFFF800000000000UL;
}

/* --------------------------------------------------- trap table et al. --- */

long do_set_trap_table(uint64_t traps)
{
    struct vcpu *v = pv_current();
    struct trap_info ti;

    /* Xen: a NULL handle clears the whole table. */
    if (!traps) {
        memset(v->traps, 0, sizeof(v->traps));
        return 0;
    }
    for (;;) {
        if (copy_from_guest(&ti, traps, sizeof(ti)))
            return -XEN_EFAULT;
        if (ti.address == 0)
            break;
        if (!is_canonical(ti.address))
            return -XEN_EINVAL;
        /* fixup_guest_code_selector(): RPL 0 becomes the guest's RPL 3. */
        if ((ti.cs & 3) == 0)
            ti.cs |= 3;
        v->traps[ti.vector] = ti;
        traps += sizeof(ti);
    }
    return 0;
}

static long register_callback(struct vcpu *v, const struct callback_register *reg)
{
    if (!is_canonical(reg->address))
        return -XEN_EINVAL;
    switch (reg->type) {
    case CALLBACKTYPE_event:
        v->event_callback = reg->address;
        return 0;
    case CALLBACKTYPE_failsafe:
        v->failsafe_callback = reg->address;
        v->failsafe_mask_events = reg->flags & CALLBACKF_mask_events;
        return 0;
    case CALLBACKTYPE_syscall:
        v->syscall_callback = reg->address;
        v->syscall_mask_events = reg->flags & CALLBACKF_mask_events;
        return 0;
    case CALLBACKTYPE_nmi:
        v->nmi_callback = reg->address;
        return 0;
    default:
        /* syscall32/sysenter: 32-bit user processes are not offered yet. */
        return -XEN_ENOSYS;
    }
}

long do_callback_op(int cmd, uint64_t arg)
{
    switch (cmd) {
    case CALLBACKOP_register: {
        struct callback_register reg;

        if (copy_from_guest(&reg, arg, sizeof(reg)))
            return -XEN_EFAULT;
        return register_callback(pv_current(), &reg);
    }
    case CALLBACKOP_unregister: {
        struct callback_unregister unreg;

        if (copy_from_guest(&unreg, arg, sizeof(unreg)))
            return -XEN_EFAULT;
        switch (unreg.type) {
        case CALLBACKTYPE_nmi:
            pv_current()->nmi_callback = 0;
            return 0;
        case CALLBACKTYPE_event:
        case CALLBACKTYPE_failsafe:
        case CALLBACKTYPE_syscall:
        case CALLBACKTYPE_syscall32:
        case CALLBACKTYPE_sysenter:
            return -XEN_EINVAL;     /* Xen: these cannot be unregistered */
        default:
            return -XEN_ENOSYS;
        }
    }
    default:
        return -XEN_ENOSYS;
    }
}

long do_set_callbacks(unsigned long event, unsigned long failsafe,
                      unsigned long syscall)
{
    struct callback_register e = { .type = CALLBACKTYPE_event, .address = event };
    struct callback_register f = { .type = CALLBACKTYPE_failsafe, .address = failsafe };
    struct callback_register s = { .type = CALLBACKTYPE_syscall, .address = syscall,
                                   .flags = CALLBACKF_mask_events };
    struct vcpu *v = pv_current();

    if (!is_canonical(event) || !is_canonical(failsafe) || !is_canonical(syscall))
        return -XEN_EINVAL;
    register_callback(v, &e);
    register_callback(v, &f);
    register_callback(v, &s);
    return 0;
}

long do_stack_switch(unsigned long ss, unsigned long esp)
{
    struct vcpu *v = pv_current();

    /* fixup_guest_stack_selector(): RPL 0 becomes the guest's RPL 3. */
    if ((ss & 3) == 0)
        ss |= 3;
    v->kernel_ss = ss;
    v->kernel_sp = esp;
    return 0;
}

long do_fpu_taskswitch(int set)
{
    struct vcpu *v = pv_current();

    v->fpu_ts = set != 0;
    arch_set_cr0_ts(v->fpu_ts);
    return 0;
}

long do_set_segment_base(unsigned int which, unsigned long base)
{
    struct vcpu *v = pv_current();

    switch (which) {
    case SEGBASE_FS:
        if (!is_canonical(base))
            return -XEN_EINVAL;
        v->fs_base = base;
        arch_wrmsr(MSR_FS_BASE, base);
        return 0;
    case SEGBASE_GS_USER:
        /* In guest kernel mode the user GS base sits in the shadow MSR. */
        if (!is_canonical(base))
            return -XEN_EINVAL;
        v->gs_base_user = base;
        arch_wrmsr(MSR_KERNEL_GS_BASE, base);
        return 0;
    case SEGBASE_GS_KERNEL:
        if (!is_canonical(base))
            return -XEN_EINVAL;
        v->gs_base_kernel = base;
        arch_wrmsr(MSR_GS_BASE, base);
        return 0;
    default:
        /* SEGBASE_GS_USER_SEL needs a fault-safe selector load: not yet. */
        return -XEN_EINVAL;
    }
}

/* ------------------------------------------------------------- bounce --- */

/* Switch between guest kernel and guest user (Xen toggle_guest_mode):
 * the other page-table base and the other GS base. */
static void toggle_guest_mode(struct vcpu *v)
{
    uint64_t gs = arch_rdmsr(MSR_GS_BASE);

    arch_wrmsr(MSR_GS_BASE, arch_rdmsr(MSR_KERNEL_GS_BASE));
    arch_wrmsr(MSR_KERNEL_GS_BASE, gs);
    v->kernel_mode = !v->kernel_mode;
    arch_write_cr3(v->kernel_mode ? pv_kernel_cr3(v) : pv_user_cr3(v));
}

#define TBF_ERRCODE   1
#define TBF_INTERRUPT 2

/*
 * Build the bounce frame on the guest kernel stack and point regs at the
 * handler. A frame that cannot be written crashes the domain (Xen does the
 * same: the guest has no stack left to report anything on).
 */
static void create_bounce_frame(struct vcpu *v, struct cpu_regs *regs,
                                uint64_t eip, unsigned int flags, uint32_t ec)
{
    uint64_t frame[8], *f = frame, rsp, cs = regs->cs;
    uint8_t saved_mask = v->vcpu_info->evtchn_upcall_mask;
    uint64_t rflags;
    size_t n;

    if (!eip)
        pv_domain_crash("bounce to a null handler (rip %lx)", (unsigned long)regs->rip);
    if (!v->kernel_mode) {
        toggle_guest_mode(v);
        rsp = v->kernel_sp;
    } else {
        rsp = regs->rsp;
        cs &= ~3UL;
    }
    rsp &= ~0xfUL;

    rflags = regs->rflags & ~(EFLAGS_IF | EFLAGS_IOPL);
    if (!saved_mask)
        rflags |= EFLAGS_IF;
    if (pv_dom.vm_assist & (1UL << VMASST_TYPE_architectural_iopl))
        rflags |= (uint64_t)v->iopl << 12;

    *f++ = regs->rcx;
    *f++ = regs->r11;
    if (flags & TBF_ERRCODE)
        *f++ = ec;
    *f++ = regs->rip;
    *f++ = (cs & 0xffff) | ((uint64_t)saved_mask << 32);
    *f++ = rflags;
    *f++ = regs->rsp;
    *f++ = regs->ss;
    n = (size_t)(f - frame) * sizeof(uint64_t);
    rsp -= n;
    if (copy_to_guest(rsp, frame, n))
        pv_domain_crash("cannot write a bounce frame at %lx (rip %lx)",
                        (unsigned long)rsp, (unsigned long)regs->rip);

    if (flags & TBF_INTERRUPT)
        v->vcpu_info->evtchn_upcall_mask = 1;
    /* SDM: TF, VM, RF, NT cleared on a trap; AC too (kernel mode). */
    regs->rflags &= ~(EFLAGS_AC | EFLAGS_VM | EFLAGS_RF | EFLAGS_NT | EFLAGS_TF);
    regs->rflags |= EFLAGS_IF;     /* real IF stays on in guest context */
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = rsp;
    regs->cs = FLAT_KERNEL_CS;
    regs->rip = eip;
}

/* Deliver exception/interrupt vector through the guest's trap table. */
static void bounce_trap(struct vcpu *v, struct cpu_regs *regs, unsigned int vector,
                        bool has_ec, uint32_t ec)
{
    const struct trap_info *ti = &v->traps[vector];
    unsigned int flags = has_ec ? TBF_ERRCODE : 0;

    if (!ti->address)
        pv_domain_crash("unhandled %s (vector %u, error code 0x%x) at rip %lx, "
                        "no guest handler", trap_name(vector), vector, ec,
                        (unsigned long)regs->rip);
    if (ti->flags & 4)              /* TI_GET_IF: mask events, like an interrupt gate */
        flags |= TBF_INTERRUPT;
    create_bounce_frame(v, regs, ti->address, flags, ec);
}

/* Deliver pending events through the event callback (Xen's
 * test_all_events on the way out to the guest). */
static void deliver_events(struct vcpu *v, struct cpu_regs *regs)
{
    struct vcpu_info *vi = v->vcpu_info;

    if (!vi || vi->evtchn_upcall_mask || !vi->evtchn_upcall_pending)
        return;
    /* Xen does not skip the upcall when no callback is registered: it
     * bounces to event_addr 0 and create_bounce_frame crashes the domain
     * on the null TRAPBOUNCE_eip (xen/arch/x86/x86_64/entry.S). A guest
     * that enables events must have an event callback. */
    if (!v->event_callback)
        pv_domain_crash("event upcall with events enabled but no event "
                        "callback registered (rip %lx)", (unsigned long)regs->rip);
    create_bounce_frame(v, regs, v->event_callback, TBF_INTERRUPT, 0);
}

/* "int $n" is allowed when the guest's gate has a handler and its DPL
 * admits the caller: guest kernel always, guest user only with DPL 3. */
static bool softint_permitted(const struct vcpu *v, unsigned int vector)
{
    const struct trap_info *ti = &v->traps[vector & 0xff];

    return ti->address && (v->kernel_mode || (ti->flags & 3) == 3);
}

/* -------------------------------------------------------------- iret --- */

long do_iret(struct cpu_regs *regs)
{
    struct vcpu *v = pv_current();
    struct iret_context c;

    if (copy_from_guest(&c, regs->rsp, sizeof(c)))
        pv_domain_crash("iret: cannot read the frame at %lx", (unsigned long)regs->rsp);
    if ((c.cs & 3) == 3) {
        /* Returning to guest user: needs a user page-table base. */
        if (!pv_user_cr3(v))
            pv_domain_crash("iret to user mode without a user page table");
        toggle_guest_mode(v);
    }
    if (pv_dom.vm_assist & (1UL << VMASST_TYPE_architectural_iopl))
        v->iopl = (c.rflags & EFLAGS_IOPL) >> 12;
    /* The shim's iretq must not fault on the guest's frame (Xen recovers
     * from such a fault through the failsafe callback; minishim does not
     * offer that yet and crashes the domain instead). */
    if (!is_canonical(c.rip))
        pv_domain_crash("iret to non-canonical rip %lx", (unsigned long)c.rip);
    if (!pv_selector_ok((uint16_t)(c.cs | 3), true) ||
        !pv_selector_ok((uint16_t)(c.ss | 3), false))
        pv_domain_crash("iret with unusable selectors cs %lx ss %lx",
                        (unsigned long)c.cs, (unsigned long)c.ss);
    regs->rip = c.rip;
    regs->cs = c.cs | 3;
    regs->rflags = (c.rflags & ~(EFLAGS_IOPL | EFLAGS_VM)) | EFLAGS_IF;
    regs->rsp = c.rsp;
    regs->ss = c.ss | 3;
    if (!(c.flags & VGCF_in_syscall)) {
        regs->r11 = c.r11;
        regs->rcx = c.rcx;
    }
    /* Restore the upcall mask from the supplied EFLAGS.IF. */
    v->vcpu_info->evtchn_upcall_mask = !(c.rflags & EFLAGS_IF);
    return (long)c.rax;
}

/* --------------------------------------------------------- emulation --- */

/* Xen's forced-emulation prefix: ud2a; .ascii "xen" (XEN_EMULATE_PREFIX). */
static const uint8_t emul_prefix[5] = { 0x0f, 0x0b, 'x', 'e', 'n' };

static void pv_cpuid(struct cpu_regs *regs)
{
    struct cpuid_regs r;
    uint32_t leaf = (uint32_t)regs->rax, sub = (uint32_t)regs->rcx;

    if (leaf >= 0x40000000 && leaf < 0x40010000) {
        /* The hypervisor leaves a PV guest sees are the shim's Xen leaves. */
        r = (struct cpuid_regs){ 0, 0, 0, 0 };
        if (leaf == 0x40000000) {
            r.eax = 0x40000002;
            memcpy(&r.ebx, "XenV", 4);
            memcpy(&r.ecx, "MMXe", 4);
            memcpy(&r.edx, "nVMM", 4);
        } else if (leaf == 0x40000001) {
            r.eax = (4u << 16) | 17;
        } else if (leaf == 0x40000002) {
            r.eax = 1;              /* hypercall pages */
        }
    } else {
        arch_cpuid(leaf, sub, &r);
        if (leaf == 1) {
            r.ecx |= 1u << 31;      /* running on a hypervisor */
            r.ecx &= ~(1u << 5);    /* no VMX for a PV guest */
            r.ecx &= ~(1u << 27);   /* OSXSAVE follows the guest's CR4: not offered */
        }
    }
    regs->rax = r.eax;
    regs->rbx = r.ebx;
    regs->rcx = r.ecx;
    regs->rdx = r.edx;
}

/* #UD: the forced-emulation prefix followed by cpuid. */
static bool emulate_forced(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t insn[7];

    (void)v;
    if (copy_from_guest(insn, regs->rip, sizeof(insn)))
        return false;
    if (memcmp(insn, emul_prefix, sizeof(emul_prefix)) ||
        insn[5] != 0x0f || insn[6] != 0xa2)
        return false;
    pv_cpuid(regs);
    regs->rip += sizeof(insn);
    return true;
}

/* #GP from the guest kernel: the privileged instructions Xen emulates
 * for PV that our guests and early Linux use (cpuid without the prefix is
 * not faulting, so only rdmsr/wrmsr/mov-from-cr for now). */
static bool emulate_privileged(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t insn[3];

    if (!v->kernel_mode || copy_from_guest(insn, regs->rip, sizeof(insn)))
        return false;
    if (insn[0] == 0x0f && insn[1] == 0x20 && (insn[2] & 0xc0) == 0xc0) {
        /* mov %crN, %reg */
        unsigned int cr = (insn[2] >> 3) & 7, reg = insn[2] & 7;
        static const size_t off[8] = {
            offsetof(struct cpu_regs, rax), offsetof(struct cpu_regs, rcx),
            offsetof(struct cpu_regs, rdx), offsetof(struct cpu_regs, rbx),
            offsetof(struct cpu_regs, rsp), offsetof(struct cpu_regs, rbp),
            offsetof(struct cpu_regs, rsi), offsetof(struct cpu_regs, rdi),
        };
        uint64_t val;

        switch (cr) {
        case 0: val = 0x80050033UL | (v->fpu_ts ? 8 : 0); break; /* PG WP AM NE ET MP PE */
        case 2: val = v->vcpu_info->arch.cr2; break;
        case 3: val = pv_kernel_cr3(v); break;  /* Xen: machine address */
        case 4: val = 0x20; break;              /* PAE */
        default: return false;
        }
        *(uint64_t *)((uint8_t *)regs + off[reg]) = val;
        regs->rip += 3;
        return true;
    }
    if (insn[0] == 0x0f && insn[1] == 0x32) {   /* rdmsr: Xen reads 0 or #GP */
        switch ((uint32_t)regs->rcx) {
        case MSR_FS_BASE: regs->rax = (uint32_t)v->fs_base; regs->rdx = v->fs_base >> 32; break;
        case MSR_GS_BASE: regs->rax = (uint32_t)v->gs_base_kernel; regs->rdx = v->gs_base_kernel >> 32; break;
        case MSR_KERNEL_GS_BASE: regs->rax = (uint32_t)v->gs_base_user; regs->rdx = v->gs_base_user >> 32; break;
        case MSR_EFER: regs->rax = EFER_SCE | EFER_LME | (1UL << 10) | EFER_NXE; regs->rdx = 0; break;
        default: return false;
        }
        regs->rip += 2;
        return true;
    }
    return false;
}

/* --------------------------------------------------------- entry point --- */

static void guest_syscall(struct vcpu *v, struct cpu_regs *regs, bool compat)
{
    if (v->kernel_mode && !compat) {
        /* Hypercalls run with interrupts on, as in Xen: a vCPU waiting
         * in the shim (the MMU lock, a flush) must still take IPIs. The
         * way back to the guest runs with them off again. */
        arch_irq_restore(X86_EFLAGS_IF);
        pv_hypercall(regs);
        arch_irq_save();
        return;
    }
    /* From guest user: the guest kernel's syscall callback (Xen
     * switch_to_kernel). */
    create_bounce_frame(v, regs, v->syscall_callback,
                        v->syscall_mask_events ? TBF_INTERRUPT : 0, 0);
}

void pv_guest_trap(struct cpu_regs *regs)
{
    struct vcpu *v = pv_current();
    unsigned int vec = (unsigned int)regs->vector;
    uint64_t cr2;
    uint32_t ec;

    if (vec != PV_VEC_SYSCALL)
        pr_debug("pv: trap %u ec %lx at %lx (%s mode)\n", vec,
                 (unsigned long)regs->error_code, (unsigned long)regs->rip,
                 v->kernel_mode ? "kernel" : "user");
    switch (vec) {
    case PV_VEC_SYSCALL:
    case PV_VEC_SYSCALL32:
        guest_syscall(v, regs, vec == PV_VEC_SYSCALL32);
        break;
    case X86_EXC_PF:
        cr2 = arch_read_cr2();
        v->vcpu_info->arch.cr2 = cr2;
        /* Xen pv_inject_event(): the U bit says guest user, not ring 3
         * (the guest kernel runs in ring 3 too). */
        ec = (uint32_t)regs->error_code & ~PFEC_USER;
        if (!v->kernel_mode)
            ec |= PFEC_USER;
        bounce_trap(v, regs, vec, true, ec);
        break;
    case X86_EXC_UD:
        if (!emulate_forced(v, regs))
            bounce_trap(v, regs, vec, false, 0);
        break;
    case X86_EXC_GP:
        if (regs->error_code == 0 && emulate_privileged(v, regs))
            break;
        /* "int $n" through a DPL-0 gate: error code n*8+2. Xen delivers it
         * as the software interrupt if the guest's gate allows the caller. */
        if ((regs->error_code & 3) == 2 && (regs->error_code >> 3) < 256) {
            unsigned int sw = (unsigned int)(regs->error_code >> 3);

            if (softint_permitted(v, sw)) {
                regs->rip += 2;
                bounce_trap(v, regs, sw, false, 0);
                break;
            }
        }
        bounce_trap(v, regs, vec, true, (uint32_t)regs->error_code);
        break;
    case X86_EXC_NM:
        /* Xen do_device_not_available(): clear the real TS; if the guest
         * had set its virtual TS, clear that and tell the guest. */
        arch_set_cr0_ts(false);
        if (v->fpu_ts) {
            v->fpu_ts = false;
            bounce_trap(v, regs, vec, false, 0);
        }
        break;
    case X86_EXC_DE: case X86_EXC_DB: case X86_EXC_BP: case X86_EXC_OF:
    case X86_EXC_BR: case X86_EXC_MF: case X86_EXC_XM:
        bounce_trap(v, regs, vec, false, 0);
        break;
    case X86_EXC_TS: case X86_EXC_NP: case X86_EXC_SS: case X86_EXC_AC:
        bounce_trap(v, regs, vec, true, (uint32_t)regs->error_code);
        break;
    case X86_EXC_NMI:
        break;
    case PV_VEC_INT80:
        /* Xen int80_direct_trap: to the guest's 0x80 handler if its DPL
         * lets the caller in, else #GP(0x80 << 3 | 2) like a DPL-0 gate. */
        if (softint_permitted(v, PV_VEC_INT80))
            bounce_trap(v, regs, PV_VEC_INT80, false, 0);
        else {
            regs->rip -= 2;
            bounce_trap(v, regs, X86_EXC_GP, true, (PV_VEC_INT80 << 3) | 2);
        }
        break;
    default:
        if (vec < X86_NR_EXCEPTIONS)
            pv_domain_crash("%s (vector %u) in guest context at rip %lx",
                            trap_name(vec), vec, (unsigned long)regs->rip);
        /* External interrupts taken in guest context: nothing for the
         * guest yet (no passthrough devices). */
        break;
    }
    pv_time_check(v);
    /* VCPUOP_down (on itself, or by another vCPU): stay here until up. */
    pv_vcpu_park(v);
    deliver_events(v, regs);
}

/* ------------------------------------------------------------ start --- */

void __noreturn pv_run(void)
{
    struct vcpu *v = &pv_dom.vcpus[0];

    /*
     * The guest runs with real EFLAGS.IF set (Xen's PV model: events are
     * masked in vcpu_info, not in EFLAGS). The firmware left the legacy
     * 8259 PIC routing the PIT to vectors 8-15, which would look like
     * exceptions: mask both PICs (OCW1) before the first entry.
     */
    arch_outb(0x21, 0xff);
    arch_outb(0xa1, 0xff);
    this_cpu()->vcpu = v;
    arch_syscall_init(arch_cpu_id());
    trap_set_guest_handler(pv_guest_trap);
    smp_set_ap_work(pv_vcpu_ap_work);
    pv_console_init();
    arch_wrmsr(MSR_FS_BASE, 0);
    arch_wrmsr(MSR_GS_BASE, 0);
    arch_wrmsr(MSR_KERNEL_GS_BASE, 0);
    pr_info("guest: entering the PV guest at %lx (cr3 %lx)\n",
            (unsigned long)v->regs.rip, (unsigned long)pv_kernel_cr3(v));
    arch_write_cr3(pv_kernel_cr3(v));
    arch_enter_guest(&v->regs);
}
