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
#include <minishim/page_alloc.h>
#include <minishim/percpu.h>
#include <minishim/pv_emul.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_msr.h>
#include <minishim/pv_ptwr.h>
#include <minishim/pv_state_dump.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/timer.h>
#include <minishim/trap.h>
#include <minishim/x86.h>
#include <minishim/pv_console.h>
#include <minishim/pv_cpuid.h>
#include <minishim/pv_debugreg.h>
#include <minishim/pv_descriptor.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/callback.h>
#include <xen/nmi.h>

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
    case CALLBACKTYPE_syscall32:
        /* Xen register_guest_callback() accepts these from a 64-bit
         * guest too (for its compat user space); some kernels treat a
         * failure as fatal. */
        v->syscall32_callback = reg->address;
        v->syscall32_mask_events = reg->flags & CALLBACKF_mask_events;
        return 0;
    case CALLBACKTYPE_sysenter:
        v->sysenter_callback = reg->address;
        v->sysenter_mask_events = reg->flags & CALLBACKF_mask_events;
        return 0;
    case CALLBACKTYPE_nmi:
        /* Xen register_guest_nmi_callback(): the NMI callback is the
         * trap table's NMI slot, with events masked on entry. */
        v->nmi_callback = reg->address;
        v->traps[X86_EXC_NMI] = (struct trap_info){
            .vector = X86_EXC_NMI, .flags = 4, .cs = FLAT_KERNEL_CS,
            .address = reg->address };
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}

/* Xen unregister_guest_nmi_callback(): the slot is cleared; it cannot
 * fail (CALLBACKOP_unregister of CALLBACKTYPE_nmi, XENNMI_unregister_callback). */
static void unregister_nmi_callback(struct vcpu *v)
{
    v->nmi_callback = 0;
    memset(&v->traps[X86_EXC_NMI], 0, sizeof(struct trap_info));
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
            unregister_nmi_callback(pv_current());
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

/*
 * Xen 4.17 do_nmi_op (xen/arch/x86/pv/callback.c): register reads the
 * whole struct xennmi_callback (-EFAULT), then register_guest_nmi_callback
 * (-EINVAL for a non-canonical handler; the trap table's NMI slot, events
 * masked); unregister clears the slot and cannot fail; else -ENOSYS.
 * (Xen also re-raises an NMI whose reason is pending in shared_info for
 * vCPU 0; only the hardware domain ever has one.)
 */
long do_nmi_op(unsigned int cmd, uint64_t arg)
{
    switch (cmd) {
    case XENNMI_register_callback: {
        struct xennmi_callback cb;
        struct callback_register reg = { .type = CALLBACKTYPE_nmi };

        if (copy_from_guest(&cb, arg, sizeof(cb)))
            return -XEN_EFAULT;
        reg.address = cb.handler_address;
        return register_callback(pv_current(), &reg);
    }
    case XENNMI_unregister_callback:
        unregister_nmi_callback(pv_current());
        return 0;
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
    case SEGBASE_GS_USER_SEL: {
        /*
         * Xen do_set_segment_base(): load the user %gs selector from the
         * GDT/LDT while in guest kernel mode (Xen: swapgs around a
         * fault-safe mov to %gs). The selector register is shared by
         * both modes; its descriptor's base becomes the user GS base and
         * the kernel's stays. An RPL is forced to 3 for a non-null
         * selector; one that faults becomes null. Errors are not
         * reported (Linux BUG()s if this call fails): the caller re-reads
         * %gs. A null %gs has base 0 (Xen loads a flat selector first on
         * CPUs that would keep the old base, cpu_bug_null_seg).
         */
        uint16_t sel = (uint16_t)base;
        unsigned int bad;

        if (sel > 3) {
            sel |= 3;
            /* Xen maps LDT pages on demand, also for its own loads. */
            if (sel & 4)
                (void)pv_vcpu_selector_ok(v, sel, false);
        }
        bad = arch_load_gs_safe(sel);
        v->gs_base_user = (bad || sel <= 3) ? 0 : arch_rdmsr(MSR_GS_BASE);
        arch_wrmsr(MSR_GS_BASE, v->gs_base_kernel);
        arch_wrmsr(MSR_KERNEL_GS_BASE, v->gs_base_user);
        return 0;
    }
    default:
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

/* A VCPUOP_send_nmi NMI on the way out, before events (Xen entry.S
 * test_all_events -> process_nmi): not while the guest's NMI handler
 * runs (until its HYPERVISOR_iret); with no handler in the trap table's
 * NMI slot it is dropped (set_guest_nmi_trapbounce on a null bounce). */
static void deliver_nmi(struct vcpu *v, struct cpu_regs *regs)
{
    const struct trap_info *ti = &v->traps[X86_EXC_NMI];

    if (v->nmi_masked || !__atomic_exchange_n(&v->nmi_pending, false, __ATOMIC_SEQ_CST))
        return;
    if (!ti->address)
        return;
    v->nmi_masked = true;
    create_bounce_frame(v, regs, ti->address, (ti->flags & 4) ? TBF_INTERRUPT : 0, 0);
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

/* Xen permit_softint(): "int $n" reaches the guest's gate when its DPL
 * (TI_GET_DPL) admits the caller's virtual ring: 1 for the guest kernel,
 * 3 for guest user. A permitted gate without a handler is bounced like
 * Xen's null trap bounce (the domain is crashed). */
static bool softint_permitted(const struct vcpu *v, unsigned int vector)
{
    const struct trap_info *ti = &v->traps[vector & 0xff];

    return (ti->flags & 3) >= (v->kernel_mode ? 1u : 3u);
}

/*
 * The vector of the "int $n" a #GP with the IDT bit came from, read from
 * the instruction bytes (CD ib) at rip. Xen's do_general_protection()
 * takes it from the error code (n << 3 | 2), but QEMU's TCG reports n *
 * 16 + 2 in long mode (the 16-byte gate size), so the error code cannot
 * be trusted; the instruction says what ran. Prefixed forms (66 CD nn,
 * a segment override, REX, ...) raise the same #GP, and Xen delivers
 * them as vector n too; its "rip += 2" assumes the 2-byte form and would
 * resume inside a prefixed instruction, so minishim returns after the
 * whole instruction instead (*len; at most 15 bytes, SDM vol. 2 2.3.11).
 * Returns -1 when rip does not hold "int imm8" (then the #GP goes to the
 * guest as the hardware reported it).
 */
static int softint_vector(const struct cpu_regs *regs, unsigned int *len)
{
    uint8_t b;

    for (unsigned int i = 0; i < 14; i++) {
        if (copy_from_guest(&b, regs->rip + i, 1))
            return -1;
        switch (b) {
        case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
        case 0x66: case 0x67: case 0xf2: case 0xf3:
        case 0x40 ... 0x4f:
            continue;                           /* legacy prefix, REX */
        case 0xcd:
            if (copy_from_guest(&b, regs->rip + i + 1, 1))
                return -1;
            *len = i + 2;
            return b;
        default:
            return -1;
        }
    }
    return -1;
}

/* ----------------------------------------------------------- failsafe --- */

/*
 * Xen load_segments() (xen/arch/x86/domain.c), run when a vCPU is loaded:
 * DS, ES, FS, GS from its saved state, each fault-safe; if any faulted
 * (it is then null), the guest kernel is entered at its failsafe
 * callback with this frame on its kernel stack (from the new %rsp up):
 *   rcx, r11, ds, es, fs, gs, rip, cs | saved_upcall_mask << 32, rflags,
 *   rsp, ss
 * holding the selectors it asked for. CALLBACKF_mask_events on the
 * failsafe callback (VGCF_failsafe_disables_events) masks events. Xen
 * leaves through sysret there, so rcx/r11 hold rip/rflags on entry. No
 * null check: a failsafe address 0 is entered like any other (the guest
 * then faults at 0, as under Xen).
 *
 * In minishim a vCPU is loaded once, on its own CPU (vCPU n on shim CPU
 * n, no context switches), so this runs for VCPUOP_initialise's
 * user_regs.ds/es/fs/gs at the vCPU's first entry; the shim never reloads
 * data segments otherwise (they stay as the guest loaded them).
 */
static uint16_t initial_segs[PV_MAX_VCPUS][4];
static bool initial_segs_pending[PV_MAX_VCPUS];

void pv_set_initial_segments(struct vcpu *v, const uint16_t sel[4])
{
    memcpy(initial_segs[v->id], sel, sizeof(initial_segs[v->id]));
    initial_segs_pending[v->id] = true;
}

static void failsafe_bounce(struct vcpu *v, struct cpu_regs *regs, const uint16_t sel[4])
{
    uint8_t mask = v->vcpu_info->evtchn_upcall_mask;
    uint64_t frame[11], rsp, cs = regs->cs, rflags;

    if (!v->kernel_mode) {
        toggle_guest_mode(v);
        rsp = v->kernel_sp;
    } else {
        rsp = regs->rsp;
        cs &= ~3UL;
    }
    rsp &= ~0xfUL;
    rflags = regs->rflags & ~(EFLAGS_IF | EFLAGS_IOPL);
    if (!mask)
        rflags |= EFLAGS_IF;
    if (pv_dom.vm_assist & (1UL << VMASST_TYPE_architectural_iopl))
        rflags |= (uint64_t)v->iopl << 12;
    frame[0] = regs->rcx;
    frame[1] = regs->r11;
    frame[2] = sel[0];
    frame[3] = sel[1];
    frame[4] = sel[2];
    frame[5] = sel[3];
    frame[6] = regs->rip;
    frame[7] = (cs & 0xffff) | ((uint64_t)mask << 32);
    frame[8] = rflags;
    frame[9] = regs->rsp;
    frame[10] = regs->ss;
    rsp -= sizeof(frame);
    if (copy_to_guest(rsp, frame, sizeof(frame)))
        pv_domain_crash("error while creating failsafe callback frame at %lx",
                        (unsigned long)rsp);
    if (v->failsafe_mask_events)
        v->vcpu_info->evtchn_upcall_mask = 1;
    regs->rflags &= ~(EFLAGS_AC | EFLAGS_VM | EFLAGS_RF | EFLAGS_NT | EFLAGS_TF);
    regs->rflags |= EFLAGS_IF;
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = rsp;
    regs->cs = FLAT_KERNEL_CS;
    regs->rip = v->failsafe_callback;
    regs->rcx = regs->rip;              /* as after Xen's sysretq */
    regs->r11 = regs->rflags;
}

void pv_load_initial_segments(struct vcpu *v)
{
    const uint16_t *sel = initial_segs[v->id];
    unsigned int bad;

    if (!initial_segs_pending[v->id])
        return;
    initial_segs_pending[v->id] = false;
    /* Xen loads the LDT first and maps LDT pages on demand, also for
     * loads from Xen itself: fault the pages these selectors need in. */
    for (unsigned int i = 0; i < 4; i++)
        if (sel[i] & 4)
            (void)pv_vcpu_selector_ok(v, sel[i] | 3, false);
    bad = arch_load_data_segs(sel);
    /* Loading FS/GS selectors reset the bases. */
    arch_wrmsr(MSR_FS_BASE, v->fs_base);
    arch_wrmsr(MSR_GS_BASE, v->kernel_mode ? v->gs_base_kernel : v->gs_base_user);
    arch_wrmsr(MSR_KERNEL_GS_BASE, v->kernel_mode ? v->gs_base_user : v->gs_base_kernel);
    if (bad) {
        pr_debug("pv: vCPU %u: data segments %x %x %x %x: loads %x faulted, "
                 "failsafe callback\n", v->id, sel[0], sel[1], sel[2], sel[3], bad);
        failsafe_bounce(v, &v->regs, sel);
    }
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
    /* Xen do_iret: async_exception_cleanup() ends an NMI's masking. */
    v->nmi_masked = false;

    if ((c.flags & VGCF_in_syscall) && is_canonical(c.rip)) {
        /* Xen leaves through sysretq/sysretl here (restore_all_guest):
         * CS and SS come from MSR_STAR, the frame's are ignored. */
        regs->cs = regs->cs == FLAT_RING3_CS32 ? FLAT_RING3_CS32 : FLAT_RING3_CS64;
        regs->ss = FLAT_RING3_SS64;
    } else {
        /*
         * Xen leaves through iretq; when that faults on the frame, its
         * pre-exception fixup (.Lft0 in x86_64/entry.S) turns the fault
         * into a #GP bounced to the guest on the frame iretq was given.
         * The shim checks what iretq would (CS, then SS, then RIP: SDM
         * IRET) so that its own iretq never faults, and bounces the same
         * #GP: error code the selector (0 for a null one or a bad RIP).
         */
        bool bad = true;
        uint32_t ec = 0;

        if (!pv_selector_ok((uint16_t)regs->cs, true))
            ec = (uint32_t)regs->cs & 0xfffc;
        else if (!pv_selector_ok((uint16_t)regs->ss, false))
            ec = (uint32_t)regs->ss & 0xfffc;
        else if (!is_canonical(c.rip))
            ec = 0;
        else
            bad = false;
        if (bad) {
            pr_debug("pv: iret to cs %lx ss %lx rip %lx: #GP(%x)\n", (unsigned long)regs->cs,
                     (unsigned long)regs->ss, (unsigned long)regs->rip, ec);
            regs->rax = c.rax;
            bounce_trap(v, regs, X86_EXC_GP, true, ec);
        }
    }
    return (long)c.rax;
}

/* --------------------------------------------------------- emulation --- */

/* Xen's forced-emulation prefix: ud2a; .ascii "xen" (XEN_EMULATE_PREFIX). */
static const uint8_t emul_prefix[5] = { 0x0f, 0x0b, 'x', 'e', 'n' };

/*
 * Feature bits a PV guest must not see: Xen 4.17's
 * xen/include/public/arch-x86/cpufeatureset.h marks them 'S' / 'H' (HVM
 * only) or leaves them unmarked (never offered). The ones that matter
 * for a PV kernel's MMU: PSE, PGE, PSE36, PAGE1GB (Linux would build
 * 2 MiB / 1 GiB direct-map entries the PV MMU refuses), PCID/INVPCID,
 * SMEP/SMAP/PKU/UMIP (CR4 bits a ring-3 kernel cannot own). XSAVE is
 * hidden too: the shim keeps CR4.OSXSAVE clear and does not emulate
 * XSETBV, so AVX and the other XSAVE-managed features go with it.
 */
void pv_cpuid_policy(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    switch (leaf) {
    case 1:
        r->edx &= ~((1u << 1) | (1u << 3) | (1u << 12) | (1u << 13) | (1u << 17) |
                    (1u << 21) | (1u << 29) | (1u << 31));
        /* MCE, MCA: Xen offers them with its vMCE (MCG_CAP, MCG_STATUS,
         * MCi_* MSRs emulated); minishim emulates none of those MSRs, so
         * it must not advertise machine checks (Linux mcheck_cpu_init
         * reads MCG_CAP and panics on the #GP). */
        r->edx &= ~((1u << 7) | (1u << 14));
        r->ecx &= ~((1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
                    (1u << 7) | (1u << 8) | (1u << 14) | (1u << 15) | (1u << 17) |
                    (1u << 18) | (1u << 24) | (1u << 26) | (1u << 27) |
                    (1u << 28) | (1u << 29) | (1u << 12));  /* XSAVE, OSXSAVE, AVX, F16C, FMA */
        break;
    case 7:
        if (sub == 0) {
            /* TSC_ADJUST SGX HLE SMEP INVPCID PQM MPX PQE SMAP PROC_TRACE,
             * and the AVX2 / AVX-512 families (XSAVE state). */
            /* FSGSBASE: Xen lets the guest own CR4.FSGSBASE
             * (pv_fixup_guest_cr4); minishim discards guest CR4 writes,
             * so the instructions would #UD: not offered (and never
             * enabled behind the guest's back, XSA-293). */
            r->ebx &= ~(1u << 0);
            r->ebx &= ~((1u << 1) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 7) |
                        (1u << 10) | (1u << 12) | (1u << 14) | (1u << 15) |
                        (1u << 16) | (1u << 17) | (1u << 20) | (1u << 21) |
                        (1u << 25) | (1u << 26) | (1u << 27) | (1u << 28) |
                        (1u << 30) | (1u << 31));
            /* UMIP PKU OSPKE CET_SS and the AVX-512 / VAES families. */
            r->ecx &= ~((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6) |
                        (1u << 7) | (1u << 9) | (1u << 10) | (1u << 11) |
                        (1u << 12) | (1u << 14));
            /* AVX512_4VNNIW/4FMAPS/VP2INTERSECT, CET_IBT. */
            r->edx &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 20));
            /* RDPID: reads MSR_TSC_AUX, see RDTSCP below. */
            r->ecx &= ~(1u << 22);
        } else {
            *r = (struct cpuid_regs){ 0, 0, 0, 0 };
        }
        break;
    case 0xd:                       /* XSAVE state: not offered (above) */
        *r = (struct cpuid_regs){ 0, 0, 0, 0 };
        break;
    case 0x80000001:
        r->edx &= ~(1u << 26);      /* PAGE1GB ('H') */
        /* RDTSCP (deviation: Xen offers it and context-switches the
         * guest's MSR_TSC_AUX). minishim neither emulates MSR_TSC_AUX
         * nor traps the guest's TSC reads (CR4.TSD), so RDTSCP would run
         * on L0 directly with the shim's TSC_AUX; and an L0 that
         * intercepts TSC reads can fail it: on the bed (Xen 4.17 L0,
         * nested SVM under QEMU TCG, no nrip-save) L0 decoded Linux's
         * rdtscp against an RDTSC exit ("Insn mismatch") and injected
         * #GP. Linux's rdtsc_ordered() then uses lfence; rdtsc. */
        r->edx &= ~(1u << 27);
        /* SVM EXTAPIC CR8_LEGACY OSVW IBS SKINIT WDT LWP NODEID TOPOEXT
         * MONITORX, and XOP/FMA4 (XSAVE state). */
        r->ecx &= ~((1u << 2) | (1u << 3) | (1u << 4) | (1u << 9) | (1u << 10) |
                    (1u << 11) | (1u << 12) | (1u << 13) | (1u << 15) |
                    (1u << 16) | (1u << 19) | (1u << 22) | (1u << 29));
        break;
    default:
        break;
    }
}

/*
 * The Xen leaves 0x40000000 + 0..5, as Xen 4.17 cpuid_hypervisor_leaves()
 * (arch/x86/traps.c) serves them to a PV domU with no toolstack limit
 * (XEN_CPUID_MAX_NUM_LEAVES) and no Viridian: every other leaf of
 * 0x40000000..0x4000ffff reads as zeros (guest_cpuid's EMPTY_LEAF).
 *   0  max leaf and "XenVMMXenVMM"
 *   1  version 4.17
 *   2  one hypercall page, set by MSR 0x40000000 (pv/msr.c); feature
 *      MMU_PT_UPDATE_PRESERVE_AD (pv/mm.c serves it)
 *   3  time: Xen tsc_set_info() in TSC_MODE_DEFAULT for a new domain
 *      (tsc_khz = cpu_khz; incarnation 0 + 1, as it stores it). vtsc (bit 0) is always 0:
 *      the shim never emulates rdtsc (Xen would when the host TSC is not
 *      reliable; the guest's clock is the native TSC either way, see
 *      docs/architecture.md). host_tsc_is_safe() = X86_FEATURE_TSC_RELIABLE,
 *      which Xen derives from invariant TSC (CPUID 0x80000007 EDX[8]).
 *   4  HVM only: zeros for PV
 *   5  PV: EBX = machine address width, flsl(get_upper_mfn_bound())
 *      + PAGE_SHIFT, the shim's highest frame standing for max_page - 1
 */
/* Xen asm/time.h: the tsc_mode of a domain created without one. */
#define TSC_MODE_DEFAULT 0

static void xen_leaves(uint32_t idx, uint32_t sub, struct cpuid_regs *r)
{
    struct cpuid_regs h;
    struct time_scale ts;
    unsigned long max;

    switch (idx) {
    case 0:
        r->eax = XEN_CPUID_LEAF(XEN_CPUID_MAX_NUM_LEAVES);
        r->ebx = XEN_CPUID_SIGNATURE_EBX;
        r->ecx = XEN_CPUID_SIGNATURE_ECX;
        r->edx = XEN_CPUID_SIGNATURE_EDX;
        break;
    case 1:
        r->eax = (4u << 16) | 17;
        break;
    case 2:
        r->eax = 1;
        r->ebx = 0x40000000;
        r->ecx = XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD;
        break;
    case 3:
        switch (sub) {
        case 0:
            arch_cpuid(0x80000007, 0, &h);
            r->eax = ((h.edx >> 8) & 1) << 1;       /* host TSC safe */
            arch_cpuid(0x80000001, 0, &h);
            r->eax |= ((h.edx >> 27) & 1) << 2;     /* host RDTSCP */
            r->ebx = TSC_MODE_DEFAULT;
            r->ecx = (uint32_t)clock_tsc_khz();
            r->edx = 1;      /* incarnation: tsc_set_info() sets 0 + 1 */
            break;
        case 1:
            /* The clock is calibrated before any guest runs. */
            if (!clock_tsc_khz())
                break;
            time_scale_set(&ts, clock_tsc_khz() * 1000);
            r->eax = (uint32_t)pv_dom.created_ns;
            r->ebx = (uint32_t)(pv_dom.created_ns >> 32);
            r->ecx = ts.mul_frac;
            r->edx = (uint32_t)(int32_t)ts.shift;
            break;
        case 2:
            r->eax = (uint32_t)clock_tsc_khz();     /* cpu_khz */
            break;
        }
        break;
    case 5:
        max = page_alloc_max_mfn();
        if (sub == 0 && max > 1)
            r->ebx = (64 - __builtin_clzl(max - 1)) + PAGE_SHIFT;
        break;
    default:
        break;
    }
}

void pv_guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *out)
{
    struct cpuid_regs r;

    if (leaf >= 0x40000000 && leaf < 0x40010000) {
        /* The hypervisor leaves a PV guest sees are the shim's Xen leaves. */
        r = (struct cpuid_regs){ 0, 0, 0, 0 };
        if (leaf - 0x40000000 <= XEN_CPUID_MAX_NUM_LEAVES)
            xen_leaves(leaf - 0x40000000, sub, &r);
    } else {
        arch_cpuid(leaf, sub, &r);
        if (leaf == 1) {
            r.ecx |= 1u << 31;      /* running on a hypervisor */
            r.ecx &= ~(1u << 5);    /* no VMX for a PV guest */
            r.ecx &= ~(1u << 27);   /* OSXSAVE follows the guest's CR4: not offered */
        }
        pv_cpuid_policy(leaf, sub, &r);
    }
    *out = r;
}

static void pv_cpuid(struct cpu_regs *regs)
{
    struct cpuid_regs r;

    pv_guest_cpuid((uint32_t)regs->rax, (uint32_t)regs->rcx, &r);
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

/*
 * mov to/from %crN / %drN (0f 20/22 and 0f 21/23, optional REX: REX.R
 * extends the control/debug register number, REX.B the GPR; the ModRM
 * mod bits are ignored, SDM vol. 2 MOV). Xen 4.17 read_cr()/write_cr()
 * and x86emul_read_dr()/set_debugreg() in pv/emul-priv-op.c: %cr0, %cr2,
 * %cr3, %cr4 read; %cr4 writes are filtered (pv_fixup_guest_cr4); the
 * debug registers as the get/set_debugreg hypercalls, a register that
 * does not exist being #UD and a refused value #GP. Returns the length
 * of the instruction handled, 0 for "not this" (#GP), -1 when a #UD was
 * bounced instead.
 */
static int emulate_mov_crdr(struct vcpu *v, struct cpu_regs *regs, const uint8_t *insn,
                            unsigned int len)
{
    unsigned int rex = 0, p = 0, n, reg;
    uint64_t *gpr, val;
    long rc;

    if (len && (insn[0] & 0xf0) == 0x40) {
        rex = insn[0];
        p = 1;
    }
    if (len < p + 3 || insn[p] != 0x0f)
        return 0;
    n = ((insn[p + 2] >> 3) & 7) | ((rex & 4) ? 8 : 0);
    reg = (insn[p + 2] & 7) | ((rex & 1) ? 8 : 0);
    gpr = regs_gpr(regs, reg);
    switch (insn[p + 1]) {
    case 0x20:                                  /* mov %crN, %reg */
        switch (n) {
        case 0: val = 0x80050033UL | (v->fpu_ts ? 8 : 0); break; /* PG WP AM NE ET MP PE */
        case 2: val = v->vcpu_info->arch.cr2; break;
        case 3: val = pv_kernel_cr3(v); break;  /* Xen: machine address */
        /* Xen pv_fixup_guest_cr4(): the host's PAE, MCE, OSFXSR and
         * OSXMMEXCPT (PV_CR4_GUEST_VISIBLE_MASK); no guest-owned bits. */
        case 4: val = arch_read_cr4() & (X86_CR4_PAE | X86_CR4_MCE | X86_CR4_OSFXSR |
                                          X86_CR4_OSXMMEXCPT); break;
        default: return 0;
        }
        *gpr = val;
        return (int)p + 3;
    case 0x22:                                  /* mov %reg, %crN */
        /* %cr4 only (Linux cr4_update_irqsoff). Xen write_cr() ->
         * pv_fixup_guest_cr4(): the guest sees the host's visible bits
         * plus the guest-controllable ones its CPUID policy offers
         * (TSD/DE/FSGSBASE/OSXSAVE); other bits are silently discarded.
         * minishim's policy offers none of those, so the write is
         * accepted and changes nothing (reads stay as above). */
        if (n != 4)
            return 0;
        return (int)p + 3;
    case 0x21:                                  /* mov %drN, %reg */
        rc = do_get_debugreg((int)n);
        if (rc == -XEN_ENODEV)
            goto ud;
        *gpr = (uint64_t)rc;
        return (int)p + 3;
    case 0x23:                                  /* mov %reg, %drN */
        rc = pv_set_debugreg(v, (int)n, *gpr);
        if (rc == -XEN_ENODEV)
            goto ud;
        return rc ? 0 : (int)p + 3;
    default:
        return 0;
    }
ud:
    bounce_trap(v, regs, X86_EXC_UD, false, 0);
    return -1;
}

/* cli / sti (Linux this_cpu_cmpxchg16b_emu before alternatives, native
 * irq ops before xen_init_irq_ops). Xen emul-priv-op.c: permitted when
 * iopl_ok() (virtual IOPL >= 1 for the guest kernel, 0 with
 * VMASST_TYPE_architectural_iopl), and then a no-op ("too dangerous to
 * allow": event masking is not touched); otherwise #GP. */
static bool emulate_cli_sti(struct vcpu *v, struct cpu_regs *regs)
{
    unsigned int cpl = (pv_dom.vm_assist & (1UL << VMASST_TYPE_architectural_iopl)) ? 0 : 1;

    if (cpl > v->iopl)
        return false;
    regs->rip += 1;
    return true;
}

/* #GP from the guest kernel: the privileged instructions Xen emulates
 * for PV that our guests and early Linux use (cpuid without the prefix is
 * not faulting, so only rdmsr/wrmsr/mov cr/dr/cli/sti for now). */
static bool emulate_privileged(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t insn[4];
    unsigned int len;
    int done;

    if (!v->kernel_mode)
        return false;
    /* Fetch up to 4 bytes; a short instruction may end a mapped page. */
    for (len = sizeof(insn); len >= 1; len--)
        if (!copy_from_guest(insn, regs->rip, len))
            break;
    if (!len)
        return false;
    if (insn[0] == 0xfa || insn[0] == 0xfb)
        return emulate_cli_sti(v, regs);
    done = emulate_mov_crdr(v, regs, insn, len);
    if (done) {
        if (done > 0)
            regs->rip += (unsigned int)done;
        return true;
    }
    if (len < 2)
        return false;
    if (insn[0] == 0x0f && insn[1] == 0x32) {   /* rdmsr: pv/msr.c */
        uint64_t val;

        if (!pv_msr_read(v, (uint32_t)regs->rcx, &val))
            return false;
        regs->rax = (uint32_t)val;
        regs->rdx = val >> 32;
        regs->rip += 2;
        return true;
    }
    if (insn[0] == 0x0f && insn[1] == 0x30) {   /* wrmsr: pv/msr.c */
        if (!pv_msr_write(v, (uint32_t)regs->rcx,
                          (uint32_t)regs->rax | (regs->rdx << 32)))
            return false;
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
        arch_irq_restore(EFLAGS_IF);
        pv_hypercall(regs);
        arch_irq_save();
        return;
    }
    /*
     * From guest user: the guest kernel's syscall callback (Xen
     * switch_to_kernel, x86_64/entry.S): from a 32-bit code segment the
     * syscall32 callback when one is registered, else the 64-bit one;
     * events masked per VGCF_syscall_disables_events in both cases. No
     * callback at all: #UD on the syscall instruction, through the
     * guest's #UD handler.
     */
    uint64_t eip = v->syscall_callback;

    if (compat && v->syscall32_callback)
        eip = v->syscall32_callback;
    if (!eip) {
        regs->rip -= 2;
        bounce_trap(v, regs, X86_EXC_UD, false, 0);
        return;
    }
    create_bounce_frame(v, regs, eip, v->syscall_mask_events ? TBF_INTERRUPT : 0, 0);
}

void pv_guest_trap(struct cpu_regs *regs)
{
    struct vcpu *v = pv_current();
    unsigned int vec = (unsigned int)regs->vector;
    uint64_t cr2;
    uint32_t ec;
    bool handled;

    if (vec != PV_VEC_SYSCALL && (vec < X86_NR_EXCEPTIONS || vec == PV_VEC_INT80))
        pr_debug("pv: trap %u ec %lx at %lx (%s mode)%s%lx\n", vec,
                 (unsigned long)regs->error_code, (unsigned long)regs->rip,
                 v->kernel_mode ? "kernel" : "user",
                 vec == X86_EXC_PF ? " cr2 " : " rsp ",
                 vec == X86_EXC_PF ? (unsigned long)arch_read_cr2() : (unsigned long)regs->rsp);
    switch (vec) {
    case PV_VEC_SYSCALL:
    case PV_VEC_SYSCALL32:
        guest_syscall(v, regs, vec == PV_VEC_SYSCALL32);
        break;
    case X86_EXC_PF:
        cr2 = arch_read_cr2();
        /* Writable page tables (Xen ptwr): a kernel store into its own
         * read-only L1 is applied as an L1 update, with interrupts on as
         * for a hypercall (the MMU lock may flush by IPI). */
        if (v->kernel_mode &&
            (pv_dom.vm_assist & (1UL << VMASST_TYPE_writable_pagetables))) {
            arch_irq_restore(EFLAGS_IF);
            handled = pv_ptwr_fault(regs, cr2, (uint32_t)regs->error_code, true);
            arch_irq_save();
            if (handled)
                break;
        }
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
        if (regs->error_code == 0) {
            struct pv_emul_fault f;

            switch (pv_emulate_io(v, regs, &f)) {
            case PV_EMUL_DONE:
                goto out;
            case PV_EMUL_FAULT:
                if (f.vector == X86_EXC_PF) {
                    v->vcpu_info->arch.cr2 = f.cr2;
                    bounce_trap(v, regs, X86_EXC_PF, true,
                                f.ec | (v->kernel_mode ? 0 : PFEC_USER));
                } else
                    bounce_trap(v, regs, f.vector, true, f.ec);
                goto out;
            case PV_EMUL_NONE:
                break;
            }
        }
        if (regs->error_code == 0 && emulate_privileged(v, regs))
            break;
        /* TCG raises #GP(0) where the hardware gives #SS(0). */
        if (regs->error_code == 0 && pv_gp_is_stack_fault(v, regs)) {
            bounce_trap(v, regs, X86_EXC_SS, true, 0);
            break;
        }
        /* An LDT selector: fault the LDT page in (Xen's LDT #PF path). */
        if ((regs->error_code & 7) == 4) {
            uint64_t lcr2;
            int r = pv_ldt_fault(v, (uint32_t)regs->error_code, &lcr2);

            if (r > 0)
                break;
            if (r < 0) {
                v->vcpu_info->arch.cr2 = lcr2;
                bounce_trap(v, regs, X86_EXC_PF, true, v->kernel_mode ? 0 : PFEC_USER);
                break;
            }
        }
        /* "int $n" through a DPL-0 gate (IDT bit set, EXT clear). Xen
         * delivers it as the software interrupt, return address after the
         * instruction, if the guest's gate admits the caller; else the
         * #GP goes on with the architectural error code n << 3 | 2. */
        if ((regs->error_code & 3) == 2) {
            unsigned int len = 0;
            int sw = softint_vector(regs, &len);

            if (sw >= 0 && softint_permitted(v, (unsigned int)sw)) {
                regs->rip += len;
                bounce_trap(v, regs, (unsigned int)sw, false, 0);
                break;
            }
            if (sw >= 0)
                regs->error_code = ((unsigned int)sw << 3) | 2;
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
    case X86_EXC_DB:
        /* Xen do_debug(): %dr6 merged where get_debugreg(6) shows it. */
        pv_debug_exception(v);
        bounce_trap(v, regs, vec, false, 0);
        break;
    case X86_EXC_DE: case X86_EXC_BP: case X86_EXC_OF:
    case X86_EXC_BR: case X86_EXC_MF: case X86_EXC_XM:
        bounce_trap(v, regs, vec, false, 0);
        break;
    case X86_EXC_TS: case X86_EXC_NP: case X86_EXC_SS: case X86_EXC_AC:
        bounce_trap(v, regs, vec, true, (uint32_t)regs->error_code);
        break;
    case X86_EXC_NMI:               /* never here: shim/trap.c keeps NMIs */
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
out:
    pv_state_dump_check();          /* asked for by an NMI (shim/trap.c) */
    pv_time_check(v);
    /* VCPUOP_down (on itself, or by another vCPU): stay here until up. */
    pv_vcpu_park(v);
    deliver_nmi(v, regs);
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
    pv_vcpu_runstate_init();
    arch_syscall_init(arch_cpu_id());
    trap_set_guest_handler(pv_guest_trap);
    smp_set_ap_work(pv_vcpu_ap_work);
    pv_console_init();
    pv_time_init();
    pv_time_vcpu_start(v);
    arch_wrmsr(MSR_FS_BASE, 0);
    arch_wrmsr(MSR_GS_BASE, 0);
    arch_wrmsr(MSR_KERNEL_GS_BASE, 0);
    pr_info("guest: entering the PV guest at %lx (cr3 %lx)\n",
            (unsigned long)v->regs.rip, (unsigned long)pv_kernel_cr3(v));
    arch_write_cr3(pv_kernel_cr3(v));
    arch_enter_guest(&v->regs);
}
