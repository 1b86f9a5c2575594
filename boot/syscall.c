/*
 * SYSCALL set-up for PV guests and the x86 side of entering the guest:
 * the arch.h primitives the guest-facing layer (pv/) needs.
 */
#include <minishim/arch.h>
#include <minishim/percpu.h>
#include <minishim/regs.h>
#include <minishim/x86.h>

struct syscall_slot {
    uint64_t guest_rsp;
    uint64_t stack_top;
};
_Static_assert(sizeof(struct syscall_slot) == 16, "pv_entry.S SLOT_SIZE");
_Static_assert(sizeof(struct cpu_regs) == 22 * 8, "pv_entry.S CPU_REGS_SIZE");
_Static_assert(NR_CPUS == 64, "pv_entry.S NR_CPUS");
_Static_assert(sizeof(struct stack_top) == 16, "pv_entry.S STACK_TOP_SIZE");

extern struct syscall_slot syscall_slots[NR_CPUS];
extern char syscall_stubs[], syscall32_stubs[];
void __noreturn pv_enter(const struct cpu_regs *regs);

#define SYSCALL_STUB_SIZE 64

/* Xen's XEN_SYSCALL_MASK: flags cleared on entry to the hypervisor. */
#define SYSCALL_FMASK (EFLAGS_AC | EFLAGS_VM | EFLAGS_RF | EFLAGS_NT | \
                       EFLAGS_DF | EFLAGS_IF | EFLAGS_TF)

void arch_syscall_init(unsigned int cpu)
{
    syscall_slots[cpu].stack_top =
        (uint64_t)(percpu[cpu].stack + STACK_SIZE - sizeof(struct stack_top));
    /*
     * STAR as Xen writes it: SYSCALL loads CS = __HYPERVISOR_CS (SS = +8),
     * SYSRET loads CS = FLAT_RING3_CS32 + 16 = FLAT_RING3_CS64 and
     * SS = FLAT_RING3_CS32 + 8 = FLAT_RING3_SS64.
     */
    arch_wrmsr(MSR_STAR, ((uint64_t)FLAT_RING3_CS32 << 48) |
                         ((uint64_t)SHIM_CS << 32));
    arch_wrmsr(MSR_LSTAR, (uint64_t)(syscall_stubs + cpu * SYSCALL_STUB_SIZE));
    arch_wrmsr(MSR_CSTAR, (uint64_t)(syscall32_stubs + cpu * SYSCALL_STUB_SIZE));
    arch_wrmsr(MSR_FMASK, SYSCALL_FMASK);
    arch_wrmsr(MSR_EFER, arch_rdmsr(MSR_EFER) | EFER_SCE);
}

void arch_enter_guest(const struct cpu_regs *regs)
{
    pv_enter(regs);
}

uint64_t arch_read_cr2(void)
{
    uint64_t v;

    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

void arch_set_cr0_ts(bool ts)
{
    uint64_t cr0;

    asm volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = ts ? cr0 | X86_CR0_TS : cr0 & ~X86_CR0_TS;
    asm volatile("mov %0, %%cr0" :: "r"(cr0) : "memory");
}

/*
 * Copy to/from guest virtual addresses (the guest's page tables are live).
 * The rep movsb is in __ex_table: a fault stops the copy and the number of
 * bytes not copied is returned (Xen's copy_{from,to}_user contract). The
 * caller (pv/guest_access.c) has range-checked the guest address.
 */
static size_t copy_safe(void *dst, const void *src, size_t n)
{
    asm volatile("1: rep movsb\n"
                 "2:\n"
                 ".section __ex_table, \"a\"\n"
                 ".balign 8\n"
                 ".quad 1b, 2b\n"
                 ".previous"
                 : "+D"(dst), "+S"(src), "+c"(n) :: "memory");
    return n;
}

size_t arch_copy_from_guest(void *dst, uint64_t src_va, size_t n)
{
    return copy_safe(dst, (const void *)src_va, n);
}

size_t arch_copy_to_guest(uint64_t dst_va, const void *src, size_t n)
{
    return copy_safe((void *)dst_va, src, n);
}
