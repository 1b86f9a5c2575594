/*
 * Trap dispatch: traps from guest context go to the guest-facing layer's
 * handler; anything the shim takes in its own context (CPL 0) that no
 * fixup handled is a shim bug and ends in a register dump and a crash
 * shutdown, never a silent hang.
 */
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/trap.h>
#include <minishim/x86.h>

static guest_trap_fn guest_handler;

void trap_set_guest_handler(guest_trap_fn fn)
{
    guest_handler = fn;
}

const char *trap_name(unsigned int vector)
{
    static const char *const names[X86_NR_EXCEPTIONS] = {
        "#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
        "#OF overflow", "#BR bound range", "#UD invalid opcode",
        "#NM device not available", "#DF double fault", "coprocessor overrun",
        "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
        "#GP general protection", "#PF page fault", "reserved 15",
        "#MF x87 error", "#AC alignment check", "#MC machine check",
        "#XM SIMD error", "#VE virtualization", "#CP control protection",
    };

    if (vector < X86_NR_EXCEPTIONS && names[vector])
        return names[vector];
    return vector < X86_NR_EXCEPTIONS ? "reserved exception" : "interrupt";
}

void __noreturn trap_fatal(const struct cpu_regs *r, uint64_t cr2)
{
    pr_err("FATAL trap in shim: vector %lu (%s), error code 0x%lx\n",
           (unsigned long)r->vector, trap_name(r->vector),
           (unsigned long)r->error_code);
    pr_err("  rip %016lx  cs %04lx  rflags %016lx\n",
           (unsigned long)r->rip, (unsigned long)r->cs,
           (unsigned long)r->rflags);
    pr_err("  rsp %016lx  ss %04lx  cr2 %016lx\n",
           (unsigned long)r->rsp, (unsigned long)r->ss,
           (unsigned long)cr2);
    pr_err("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n",
           (unsigned long)r->rax, (unsigned long)r->rbx,
           (unsigned long)r->rcx, (unsigned long)r->rdx);
    pr_err("  rsi %016lx  rdi %016lx  rbp %016lx  r8  %016lx\n",
           (unsigned long)r->rsi, (unsigned long)r->rdi,
           (unsigned long)r->rbp, (unsigned long)r->r8);
    pr_err("  r9  %016lx  r10 %016lx  r11 %016lx  r12 %016lx\n",
           (unsigned long)r->r9, (unsigned long)r->r10,
           (unsigned long)r->r11, (unsigned long)r->r12);
    pr_err("  r13 %016lx  r14 %016lx  r15 %016lx\n",
           (unsigned long)r->r13, (unsigned long)r->r14,
           (unsigned long)r->r15);
    l0_shutdown(SHUTDOWN_crash);
}

/* Interrupt vectors (>= 32) the shim handles itself: IPIs, APIC spurious
 * (include/minishim/apic.h). Taken in shim or guest context alike. */
static irq_handler_fn irq_handlers[256];

void trap_set_irq_handler(unsigned int vector, irq_handler_fn fn)
{
    if (vector >= X86_NR_EXCEPTIONS && vector < ARRAY_SIZE(irq_handlers))
        irq_handlers[vector] = fn;
}

/*
 * NMIs come from L0 (`xl trigger <dom> nmi`, a watchdog) on any
 * instruction, in shim or guest context. Xen's do_nmi() logs one it
 * cannot attribute and goes on; so does the shim: it counts it and asks
 * for a state dump, which the guest-facing layer prints at its next safe
 * point (trap_nmi_take_dump). Nothing more runs here: this is the NMI
 * stack, NMIs stay blocked until the iret, and the interrupted code may
 * hold any lock (the console's included). Not forwarded to the guest
 * (Xen's default nmi=dom0 sends it to the hardware domain, which a shim's
 * guest is not).
 */
static unsigned long nmi_count;
static bool nmi_dump_request;
static unsigned long wfi_shadow_count;

unsigned long trap_wfi_shadow_count(void)
{
    return __atomic_load_n(&wfi_shadow_count, __ATOMIC_RELAXED);
}

/* An interrupt or NMI taken on the hlt of the idle wait, inside sti's
 * interrupt shadow (arch_wfi_resume_rip): return past the hlt, so the
 * wait ends and its caller re-checks what it waits for, instead of
 * halting with the wake-up consumed. Architecturally impossible, so
 * counted: the state dump shows how often an L0 did it. */
static void leave_wfi_shadow(struct cpu_regs *regs)
{
    uint64_t resume;

    if (regs->cs & 3)
        return;                 /* taken in guest context */
    resume = arch_wfi_resume_rip(regs->rip);
    if (!resume)
        return;
    regs->rip = resume;
    __atomic_add_fetch(&wfi_shadow_count, 1, __ATOMIC_RELAXED);
}

unsigned long trap_nmi_count(void)
{
    return __atomic_load_n(&nmi_count, __ATOMIC_RELAXED);
}

bool trap_nmi_take_dump(void)
{
    return __atomic_load_n(&nmi_dump_request, __ATOMIC_RELAXED) &&
           __atomic_exchange_n(&nmi_dump_request, false, __ATOMIC_SEQ_CST);
}

void trap_handle(struct cpu_regs *regs, uint64_t cr2)
{
    if (regs->vector == X86_EXC_NMI || regs->vector >= X86_NR_EXCEPTIONS)
        leave_wfi_shadow(regs);
    if (regs->vector == X86_EXC_NMI) {
        __atomic_add_fetch(&nmi_count, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&nmi_dump_request, true, __ATOMIC_SEQ_CST);
        return;
    }
    if (regs->vector >= X86_NR_EXCEPTIONS && regs->vector < ARRAY_SIZE(irq_handlers) &&
        irq_handlers[regs->vector]) {
        irq_handlers[regs->vector](regs);
        /* Taken in guest context: the guest-facing layer gets to act on
         * the way back (deliver events raised meanwhile, park a vCPU
         * that was taken down, check timers), as after any guest trap. */
        if ((regs->cs & 3) && guest_handler)
            guest_handler(regs);
        return;
    }
    if ((regs->cs & 3) && guest_handler) {
        guest_handler(regs);
        return;
    }
    /* A #DB in the shim is a trap, so it can be ignored: one the guest
     * deferred with mov/pop %ss across a syscall (XSA-260), or a guest
     * data breakpoint matched by the shim's own access to guest memory
     * (pv/debugreg.c: guest breakpoints on shim addresses are refused).
     * Reset %dr6 so the guest's next #DB does not inherit these bits, and
     * go on, as Xen does ("Hit #DB in Xen context", rate limited: a guest
     * can cause one per hypercall). */
    if (regs->vector == X86_EXC_DB) {
        static unsigned long nr_shim_db;
        uint64_t dr6 = arch_read_dr(6);
        unsigned long n = __atomic_add_fetch(&nr_shim_db, 1, __ATOMIC_RELAXED);

        arch_write_dr(6, X86_DR6_DEFAULT);
        if (n <= 4 || !(n & (n - 1)))
            pr_warn("trap: #DB in shim context at %lx, dr6 %lx (ignored; %lu so far)\n",
                    (unsigned long)regs->rip, (unsigned long)dr6, n);
        return;
    }
    trap_fatal(regs, cr2);
}
