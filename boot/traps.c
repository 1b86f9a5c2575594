/*
 * First C code on every trap: for a #PF in shim context the spurious-fault
 * walk, then exception-table fixups for instructions that are allowed to
 * fault in the shim (rdmsr_safe, copies to and from the guest), then the
 * shim's trap dispatcher.
 */
#include <minishim/boot.h>
#include <minishim/spurious_pf.h>
#include <minishim/trap.h>
#include <minishim/x86.h>

struct extable_entry {
    uint64_t insn;
    uint64_t fixup;
};

extern const struct extable_entry __ex_table_start[], __ex_table_end[];

static bool fixup_exception(struct cpu_regs *regs)
{
    for (const struct extable_entry *e = __ex_table_start; e < __ex_table_end; e++) {
        if (e->insn == regs->rip) {
            regs->rip = e->fixup;
            return true;
        }
    }
    return false;
}

void trap_entry(struct cpu_regs *regs)
{
    uint64_t cr2 = 0;

    if (regs->vector == X86_EXC_PF)
        asm volatile("mov %%cr2, %0" : "=r"(cr2));

    /* Xen's do_page_fault(): a #PF in hypervisor context is first checked
     * by spurious_page_fault(); one the live tables already allow (the PV
     * MMU adds rights without flushing other CPUs, as Xen does) is retried,
     * never turned into -EFAULT by the exception table. The walk runs with
     * interrupts off, as it requires (the #PF gate is an interrupt gate,
     * and the walk saves and disables them itself). */
    if (regs->vector == X86_EXC_PF && (regs->cs & 3) == 0 &&
        spurious_page_fault(va(cr2), regs->error_code))
        return;

    /* Only faults in shim context (CPL 0) may be fixed up: not the traps
     * (#DB, #BP, #OF report the instruction after the event, or a rep
     * string instruction to resume: a guest data breakpoint matched by a
     * copy_to_guest must not turn into -EFAULT), nor NMI and #MC, which
     * can arrive on any instruction. */
    if ((regs->cs & 3) == 0 && regs->vector < X86_NR_EXCEPTIONS &&
        regs->vector != X86_EXC_DB && regs->vector != X86_EXC_NMI &&
        regs->vector != X86_EXC_BP && regs->vector != X86_EXC_OF &&
        regs->vector != X86_EXC_MC && fixup_exception(regs))
        return;

    trap_handle(regs, cr2);
}
