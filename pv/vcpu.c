/*
 * Guest vCPUs beyond the first: VCPUOP_initialise / up / down /
 * is_up. Guest vCPU n runs on shim CPU n (pinned 1:1); the shim CPU is
 * started (smp_cpu_up) the first time the guest brings vCPU n up and then
 * stays online. A vCPU that is down parks in the shim on its own CPU
 * (Xen's _VPF_down: state kept, resumed where it stopped).
 *
 * Also the vCPU's scheduling state as Xen's scheduler keeps it: blocking
 * (SCHEDOP_block/poll sleep here, halted, until kicked), the runstate
 * accounting (xen/common/sched/core.c vcpu_runstate_change) and the
 * guest-registered vcpu_info and runstate areas.
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
#include <minishim/pv_emul.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_state_dump.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/spinlock.h>
#include <minishim/timer.h>
#include <minishim/x86.h>
#include <minishim/pv_console.h>
#include <minishim/pv_debugreg.h>
#include <minishim/pv_descriptor.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_suspend.h>
#include <xen/vcpu.h>

/* Xen fixup_guest_{code,stack}_selector for a 64-bit PV guest: an RPL-0
 * selector means the guest kernel, which runs in ring 3. */
static uint16_t fixup_sel(uint16_t sel)
{
    return (sel & 3) ? sel : (uint16_t)(sel | 3);
}

/* Arithmetic flags and DF a context may carry; IF is forced on and IOPL
 * becomes the vCPU's virtual IOPL (Xen keeps it out of the real EFLAGS). */
#define CTX_RFLAGS_KEEP (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | \
                         EFLAGS_DF | EFLAGS_OF)

/* CS/SS of a context: Xen's flat selectors now; a GDT (LDT) selector
 * needs the context's own GDT (LDT) and is checked by set_info_guest once
 * those are installed. */
static bool ctx_selector_ok(const struct vcpu_guest_context *c, uint16_t sel, bool code)
{
    if ((sel & 3) != 3)
        return false;
    if (sel & 4)
        return c->ldt_ents != 0;
    if ((sel >> 3) >= FIRST_RESERVED_GDT_ENTRY)
        return pv_selector_ok(sel, code);
    return c->gdt_ents != 0;
}

int pv_vcpu_check_context(const struct vcpu_guest_context *c)
{
    /* arch_set_info_guest(): every address the vCPU will use must be
     * canonical. */
    if (!is_canonical(c->user_regs.rip) || !is_canonical(c->user_regs.rsp) ||
        !is_canonical(c->kernel_sp) || !is_canonical(c->fs_base) ||
        !is_canonical(c->gs_base_kernel) || !is_canonical(c->gs_base_user) ||
        !is_canonical(c->event_callback_eip) || !is_canonical(c->failsafe_callback_eip) ||
        !is_canonical(c->syscall_callback_eip))
        return -XEN_EINVAL;
    for (unsigned int i = 0; i < ARRAY_SIZE(c->trap_ctxt); i++)
        if (!is_canonical(c->trap_ctxt[i].address))
            return -XEN_EINVAL;
    /* Xen __addr_ok(ldt_base), whatever ldt_ents says: in the lower
     * canonical half or above the hypervisor range's end. */
    if (!guest_addr_ok(c->ldt_base))
        return -XEN_EINVAL;
    /* arch_set_info_guest(): LDT page aligned, at most 8192 entries; GDT
     * not reaching into Xen's reserved entries. */
    if ((c->ldt_base & (PAGE_SIZE - 1)) || c->ldt_ents > 8192 ||
        c->gdt_ents > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    /* Xen arch_set_info_guest(): without VGCF_in_kernel the vCPU starts
     * in guest user mode, on the user L4 of ctrlreg[1], which it must then
     * name. */
    if (!(c->flags & VGCF_in_kernel) && !xen_cr3_to_pfn(c->ctrlreg[1]))
        return -XEN_EINVAL;
    /* The shim's iretq must never fault on the first entry. */
    if (!ctx_selector_ok(c, fixup_sel(c->user_regs.cs), true) ||
        !ctx_selector_ok(c, fixup_sel(c->user_regs.ss), false))
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
    /* Xen arch_set_info_guest: the LDT as MMUEXT_SET_LDT records it (its
     * pages fault in on first use, on v's own CPU), the GDT frames as
     * set_gdt takes them (pv_set_gdt); CS/SS must then be usable. */
    pv_ldt_destroy(v);
    v->mm.ldt_base = c->ldt_ents ? c->ldt_base : 0;
    v->mm.ldt_ents = c->ldt_ents;
    rc = pv_set_gdt(v, c->gdt_frames, c->gdt_ents);
    if (!rc && (!pv_vcpu_selector_ok(v, fixup_sel(u->cs), true) ||
                !pv_vcpu_selector_ok(v, fixup_sel(u->ss), false)))
        rc = -XEN_EINVAL;
    if (rc) {
        pv_set_gdt(v, NULL, 0);
        pv_ldt_destroy(v);
        v->mm.ldt_base = 0;
        v->mm.ldt_ents = 0;
        pv_mm_vcpu_destroy(&v->mm);
        return -XEN_EINVAL;
    }
    v->guest_table = mfn_to_paddr(l4).pa;
    pv_set_initial_segments(v, (const uint16_t[4]){ u->ds, u->es, u->fs, u->gs });

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
    v->regs.rflags = (u->rflags & CTX_RFLAGS_KEEP) | EFLAGS_IF | 0x2;
    v->kernel_mode = c->flags & VGCF_in_kernel;     /* Xen TF_kernel_mode */
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
    /* Xen arch_set_info_guest(): the virtual IOPL is the context's
     * EFLAGS.IOPL (what PHYSDEVOP_set_iopl would set). */
    v->iopl = (unsigned int)(u->rflags >> 12) & 3;
    v->timer_set = false;
    v->in_multicall = 0;
    pv_debugreg_set_context(v, c->debugreg);
    v->initialised = true;
    return 0;
}

/* Wake v's shim CPU (parked in pv_vcpu_park, or idle). */
/*
 * A sleeping (or parked) vCPU never halts for longer than this without looking at its
 * wake-up conditions again. Nothing in the PV ABI needs it: it is a
 * backstop for a lost event-check IPI (QEMU 7.2's TCG has been seen
 * leaving the shim's IPIs undelivered in the target's IRR, see
 * docs/architecture.md), so a lost kick costs at most this much latency
 * instead of a vCPU asleep for good. The first catch is logged.
 */
#define SLEEP_BACKSTOP_NS 50000000ULL        /* 50 ms */

static void kick_cpu(unsigned int cpu)
{
    ipi_event_check(cpu);
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
    struct vcpu *self = pv_current();
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
     * once for the caller itself, after this hypercall returns 0. Another
     * vCPU is interrupted (it may spin in guest code, or block) and, as
     * Xen's pv-shim does (pv_shim_cpu_down: vcpu_sleep_sync), waited for
     * until it has stopped. The wait ends early if the caller is taken
     * down itself meanwhile (two vCPUs downing each other). */
    if (v == self || (v->id != 0 && !v->started))
        return 0;
    kick_cpu(v->id);
    while (!__atomic_load_n(&v->parked, __ATOMIC_SEQ_CST) &&
           !(self && __atomic_load_n(&self->down, __ATOMIC_SEQ_CST)))
        arch_cpu_relax();
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

/* Down (VCPUOP_down), or paused while vCPU 0 suspends the domain
 * (pv/suspend.c: Xen's pv_shim_shutdown pauses the other vCPUs). */
static bool held(const struct vcpu *v)
{
    return __atomic_load_n(&v->down, __ATOMIC_SEQ_CST) || pv_suspend_holds(v);
}

void pv_vcpu_park(struct vcpu *v)
{
    unsigned long flags;

    if (!held(v))
        return;
    pr_debug("guest: vCPU %u down\n", v->id);
    pv_vcpu_runstate_change(v, RUNSTATE_offline);
    flags = arch_irq_save();
    for (;;) {
        /* parked is what vcpu_down() waits for; it is cleared before the
         * last look at down, so a down that comes after that look sees
         * parked clear and waits for the kick to bring us back here. */
        __atomic_store_n(&v->parked, true, __ATOMIC_SEQ_CST);
        /* sti;hlt is atomic for a wake-up IPI sent after the check. The
         * wake-up is vcpu_up's event-check IPI; if it is lost (an L0 that
         * drops it, inject=ipi-drop) the sleep backstop's timer looks
         * again, as for a blocked vCPU (pv_vcpu_sleep). */
        while (held(v)) {
            if (timer_available())
                timer_arm(pv_now_ns() + SLEEP_BACKSTOP_NS);
            arch_wait_for_interrupt();
            pv_state_dump_check();
        }
        __atomic_store_n(&v->parked, false, __ATOMIC_SEQ_CST);
        if (!held(v))
            break;
    }
    arch_irq_restore(flags);
    pv_vcpu_runstate_change(v, RUNSTATE_running);
    pr_debug("guest: vCPU %u up again\n", v->id);
}

void pv_vcpu_enter(struct vcpu *v)
{
    this_cpu()->vcpu = v;
    arch_syscall_init(arch_cpu_id());
    arch_wrmsr(MSR_FS_BASE, v->fs_base);
    /* Kernel or user mode, as VCPUOP_initialise's VGCF_in_kernel said:
     * that mode's GS base active and its L4 loaded (Xen: the context
     * switch to a vCPU in user mode loads guest_table_user). */
    arch_wrmsr(MSR_GS_BASE, v->kernel_mode ? v->gs_base_kernel : v->gs_base_user);
    arch_wrmsr(MSR_KERNEL_GS_BASE, v->kernel_mode ? v->gs_base_user : v->gs_base_kernel);
    arch_write_cr3(v->kernel_mode ? pv_kernel_cr3(v) : pv_user_cr3(v));
    /* offline -> running, written to a runstate area registered for it
     * while it was down (its address space is loaded now). */
    pv_vcpu_runstate_change(v, RUNSTATE_running);
    pv_time_vcpu_start(v);
    pv_debugreg_load(v);                /* pv/debugreg.c */
    pv_load_initial_segments(v);        /* pv/traps.c: may enter failsafe */
    arch_enter_guest(&v->regs);
}

/* smp_set_ap_work: shim CPU cpu runs guest vCPU cpu once it is up. */
void pv_vcpu_ap_work(unsigned int cpu)
{
    struct vcpu *v;

    if (cpu >= pv_dom.nr_vcpus)
        return;
    v = &pv_dom.vcpus[cpu];
    if (!v->initialised || !v->started || this_cpu()->vcpu == v)
        return;
    /* Same order as pv_vcpu_park: clear parked, then look at down. */
    __atomic_store_n(&v->parked, false, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&v->down, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&v->parked, true, __ATOMIC_SEQ_CST);
        return;
    }
    pr_info("guest: vCPU %u starts on shim CPU %u at %lx\n", v->id, cpu,
            (unsigned long)v->regs.rip);
    pv_vcpu_enter(v);
}

/* ------------------------------------------------------------ runstate --- */

/* Runstate updates come from v's own CPU and from vCPUs reading it. */
static unsigned long runstate_lock(struct vcpu *v)
{
    unsigned long flags = arch_irq_save();

    while (__atomic_exchange_n(&v->runstate_lock, 1, __ATOMIC_ACQUIRE))
        arch_cpu_relax();
    return flags;
}

static void runstate_unlock(struct vcpu *v, unsigned long flags)
{
    __atomic_store_n(&v->runstate_lock, 0, __ATOMIC_RELEASE);
    arch_irq_restore(flags);
}

/* Xen update_runstate_area(): with VMASST_TYPE_runstate_update_flag the
 * guest sees XEN_RUNSTATE_UPDATE in state_entry_time while the copy is
 * being written. Faults are ignored, as in Xen. Runs in v's (or, at
 * registration, the caller's) address space. */
static void runstate_to_guest(struct vcpu *v, const struct vcpu_runstate_info *rs)
{
    uint64_t gva = __atomic_load_n(&v->runstate_guest, __ATOMIC_ACQUIRE);
    uint64_t at = gva + offsetof(struct vcpu_runstate_info, state_entry_time);
    struct vcpu_runstate_info r = *rs;
    bool flag = pv_dom.vm_assist & (1UL << VMASST_TYPE_runstate_update_flag);

    if (!gva)
        return;
    if (flag) {
        r.state_entry_time |= XEN_RUNSTATE_UPDATE;
        (void)copy_to_guest(at, &r.state_entry_time, sizeof(r.state_entry_time));
        __atomic_thread_fence(__ATOMIC_RELEASE);
    }
    (void)copy_to_guest(gva, &r, sizeof(r));
    if (flag) {
        r.state_entry_time &= ~XEN_RUNSTATE_UPDATE;
        __atomic_thread_fence(__ATOMIC_RELEASE);
        (void)copy_to_guest(at, &r.state_entry_time, sizeof(r.state_entry_time));
    }
}

void pv_vcpu_runstate_init(void)
{
    uint64_t now = pv_now_ns();

    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++) {
        struct vcpu *v = &pv_dom.vcpus[i];

        memset(&v->runstate, 0, sizeof(v->runstate));
        v->runstate.state = i == 0 ? RUNSTATE_running : RUNSTATE_offline;
        v->runstate.state_entry_time = now;
        v->parked = i != 0;
    }
}

/*
 * Xen vcpu_runstate_change(): the time since the last change goes to the
 * old state. The registered area is rewritten at each change (Xen writes
 * it when it schedules a vCPU, which here is exactly such a change); every
 * change happens on v's own CPU, in v's address space.
 */
void pv_vcpu_runstate_change(struct vcpu *v, int state)
{
    uint64_t now = pv_now_ns();
    struct vcpu_runstate_info snap;
    unsigned long flags = runstate_lock(v);

    if (v->runstate.state != state) {
        int64_t delta = (int64_t)(now - v->runstate.state_entry_time);

        if (delta > 0) {
            v->runstate.time[v->runstate.state] += (uint64_t)delta;
            v->runstate.state_entry_time = now;
        }
        v->runstate.state = state;
    }
    snap = v->runstate;
    runstate_unlock(v, flags);
    if (v == pv_current())
        runstate_to_guest(v, &snap);
}

void pv_vcpu_runstate_get(struct vcpu *v, struct vcpu_runstate_info *r)
{
    uint64_t now = pv_now_ns();
    unsigned long flags = runstate_lock(v);
    int64_t delta;

    *r = v->runstate;
    runstate_unlock(v, flags);
    delta = (int64_t)(now - r->state_entry_time);
    if (delta > 0 && (unsigned int)r->state < 4)
        r->time[r->state] += (uint64_t)delta;
}

/* ------------------------------------------------------ block and poll --- */


static unsigned long sleep_backstop_catches;

/* Arm the backstop unless one of v's own deadlines comes sooner; returns
 * the backstop deadline armed, or 0. */
static uint64_t sleep_arm_backstop(const struct vcpu *v)
{
    uint64_t d = pv_time_next_deadline(v);
    uint64_t backstop = pv_now_ns() + SLEEP_BACKSTOP_NS;

    if (!timer_available())
        return 0;
    if (d && d <= backstop) {
        /* v's own deadline wakes it, if the hardware holds it: the timer
         * may have fired between pv_time_check() and the caller turning
         * interrupts off (its interrupt clears timer_armed()), and a
         * deadline nobody re-arms leaves the vCPU asleep for good (seen
         * on the bed: blocked, deadline 880 s past, timer off). Interrupts
         * are off here, so what timer_armed() says holds until the hlt;
         * a deadline already past fires at once and the loop sends it. */
        timer_arm(d);           /* a no-op when the hardware holds d */
        return 0;
    }
    timer_arm(backstop);
    return backstop;
}

void pv_vcpu_sleep(struct vcpu *v)
{
    unsigned long flags;
    uint64_t backstop;

    pv_vcpu_runstate_change(v, RUNSTATE_blocked);
    for (;;) {
        /* An expired timer raises VIRQ_TIMER on v, which unblocks it. */
        pv_time_check(v);
        /* Console input has no interrupt: an idle vCPU looks for it
         * (pv/console.c), so typed bytes wait at most one backstop. */
        pv_console_poll_input();
        if (v->poll_deadline && pv_now_ns() >= v->poll_deadline)
            pv_evtchn_poll_expired(v);
        flags = arch_irq_save();
        if (!__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST) ||
            __atomic_load_n(&v->down, __ATOMIC_SEQ_CST)) {
            arch_irq_restore(flags);
            break;
        }
        backstop = sleep_arm_backstop(v);
        /* Woken by a kick (pv_vcpu_kick, vcpu_down), the shim timer
         * pv_time_reprogram armed, the backstop, or any other interrupt.
         * sti;hlt closes the race with a kick sent after the check above. */
        arch_wait_for_interrupt();
        arch_irq_restore(flags);
        pv_state_dump_check();
        /* Woken only at the backstop although a kick had already made v
         * runnable: the kick's interrupt was lost, or arrived late (a
         * host that does not run this CPU for a while looks the same). */
        if (backstop && pv_now_ns() >= backstop &&
            !__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST)) {
            unsigned long n = __atomic_add_fetch(&sleep_backstop_catches, 1,
                                                 __ATOMIC_RELAXED);

            if (n == 1)
                pr_info("pv: vCPU %u was found runnable at the %lu ms sleep "
                        "backstop, not by its kick (lost or late event-check "
                        "interrupt; further ones at loglvl=debug)\n",
                        v->id, (unsigned long)(SLEEP_BACKSTOP_NS / 1000000ULL));
            else
                pr_debug("pv: vCPU %u found runnable at the sleep backstop (%lu)\n",
                         v->id, n);
        }
    }
    /* A vCPU taken down while blocked parks on its way out (and its
     * block returns when it is up again: a spurious wake-up, which PV
     * guests handle; Xen would keep it blocked). */
    pv_vcpu_runstate_change(v, RUNSTATE_running);
}

/* Xen vcpu_block_enable_events(): enable delivery, block unless an upcall
 * is already pending. */
long pv_vcpu_block(struct vcpu *v)
{
    struct vcpu_info *vi = v->vcpu_info;

    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&v->blocked, true, __ATOMIC_SEQ_CST);
    /* Check for events after setting the flag: a sender either sees us
     * blocked (and kicks) or we see its upcall here. */
    if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
        pv_vcpu_sleep(v);
    __atomic_store_n(&v->blocked, false, __ATOMIC_SEQ_CST);
    return 0;
}

/* -------------------------------------------- vcpu_info and runstate ops --- */

/*
 * VCPUOP_register_vcpu_info as the reference shim (Debian's Xen 4.17.7,
 * whose do_vcpu_op has the guest-area rework of later Xen: map_guest_area)
 * answers: an offset outside the frame is -EINVAL, a second registration
 * -EINVAL, a vcpu_info that does not fit in the page or is not 8-byte
 * aligned -ENXIO, a frame that is not the guest's or cannot take a
 * writable type -EINVAL. Xen 4.17.0's map_vcpu_info() said -EINVAL for
 * all of them; tests/guests/README.md has the observation.
 */
static long register_vcpu_info(struct vcpu *v, uint64_t arg)
{
    struct vcpu_register_vcpu_info info;
    struct vcpu_info *nvi;
    mfn_t m;
    long rc = 0;

    if (copy_from_guest(&info, arg, sizeof(info)))
        return -XEN_EFAULT;
    if (info.offset >= PAGE_SIZE)
        return -XEN_EINVAL;             /* gaddr no longer in info.mfn */
    m = mfn(info.mfn);
    spin_lock(&vcpu_lock);              /* Xen: domain_lock */
    if (v->vcpu_info_mfn.mfn) {
        rc = -XEN_EINVAL;               /* once only */
        goto out;
    }
    /* The whole vcpu_info inside the page, xen_ulong_t aligned. */
    if (info.offset > PAGE_SIZE - sizeof(struct vcpu_info) ||
        (info.offset & (sizeof(xen_ulong_t) - 1))) {
        rc = -XEN_ENXIO;
        goto out;
    }
    /* Xen 4.17 map_vcpu_info(): "Run this command on yourself or on
     * other offline VCPUS" (a running vCPU is never switched under it). */
    if (v != pv_current() && !__atomic_load_n(&v->down, __ATOMIC_SEQ_CST)) {
        rc = -XEN_EINVAL;
        goto out;
    }
    /* A PV guest names the machine frame; it must be the guest's and
     * take a writable type (a page table or descriptor page cannot),
     * held as long as the vcpu_info lives there. */
    if (!info.mfn || pv_mm_get_page_and_type(m, PGT_WRITABLE)) {
        rc = -XEN_EINVAL;
        goto out;
    }
    nvi = (struct vcpu_info *)((uint8_t *)arch_phys_to_virt(mfn_to_paddr(m)) +
                               info.offset);
    v->vcpu_info_mfn = m;
    pv_evtchn_move_vcpu_info(v, nvi);
out:
    spin_unlock(&vcpu_lock);
    return rc;
}

/*
 * After a resume in a new L0 domain (pv/suspend.c): Xen's pv_shim_shutdown
 * unmaps every registered vcpu_info (unmap_vcpu_info: back to the
 * shared_info slot, the frame's type reference dropped), so the guest can
 * register it again (Linux's xen_vcpu_restore does; a second
 * registration would be -EINVAL).
 */
void pv_vcpu_forget_info(struct vcpu *v)
{
    mfn_t m;

    spin_lock(&vcpu_lock);
    m = v->vcpu_info_mfn;
    if (m.mfn) {
        v->vcpu_info_mfn = mfn(0);
        __atomic_store_n(&v->vcpu_info, &pv_dom.shared_info->vcpu_info[v->id],
                         __ATOMIC_SEQ_CST);
    }
    spin_unlock(&vcpu_lock);
    if (m.mfn)
        pv_mm_put_page_and_type(m);
}

long pv_vcpu_op_info(int cmd, struct vcpu *v, uint64_t arg)
{
    struct vcpu_runstate_info r;

    switch (cmd) {
    case VCPUOP_register_vcpu_info:
        return register_vcpu_info(v, arg);
    case VCPUOP_register_runstate_memory_area: {
        uint64_t gva;

        /* Xen: the handle must be a guest range (NULL is, and stops the
         * updates); the area is written at once, faults ignored. */
        if (copy_from_guest(&gva, arg, sizeof(gva)))
            return -XEN_EFAULT;
        if (!guest_access_ok(gva, sizeof(r)))
            return -XEN_EFAULT;
        __atomic_store_n(&v->runstate_guest, gva, __ATOMIC_RELEASE);
        if (v == pv_current()) {
            unsigned long flags = runstate_lock(v);

            r = v->runstate;
            runstate_unlock(v, flags);
        } else {
            pv_vcpu_runstate_get(v, &r);
        }
        runstate_to_guest(v, &r);
        return 0;
    }
    case VCPUOP_get_runstate_info:
        pv_vcpu_runstate_get(v, &r);
        return copy_to_guest(arg, &r, sizeof(r)) ? -XEN_EFAULT : 0;
    default:
        return -XEN_ENOSYS;
    }
}

/*
 * vcpu_op (Xen 4.17 common/domain.c do_vcpu_op, arch_do_vcpu_op): -ENOENT
 * for a vCPU that does not exist, then each sub-op to its family.
 */
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

