/*
 * x86-64 implementation of include/minishim/arch.h for the shim image.
 */
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/layout.h>
#include <minishim/percpu.h>
#include <minishim/x86.h>

void arch_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
    asm volatile("cpuid"
                 : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
                 : "a"(leaf), "c"(subleaf));
}

uint64_t arch_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

void arch_wrmsr(uint32_t msr, uint64_t val)
{
    /* WRMSR to the x2APIC ICR is not serializing (SDM 10.12.3): make the
     * stores an IPI announces visible before it is sent. */
    if (msr == 0x830)
        asm volatile("mfence; lfence" ::: "memory");
    asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)val),
                 "d"((uint32_t)(val >> 32)) : "memory");
}

/*
 * The rdmsr is listed in __ex_table: a #GP on it resumes at the fixup label
 * with -EFAULT in the result register (boot/traps.c).
 */
/* One fault-safe data segment load; 1 when it faulted (null loaded). */
#define LOAD_SEG_SAFE(seg, val, bad)                          \
    asm volatile("1: mov %k[v], %%" #seg "\n"                  \
                 "2:\n"                                       \
                 ".section .fixup_text, \"ax\"\n"             \
                 "3: mov $1, %k[b]\n"                         \
                 "   xor %k[v], %k[v]\n"                      \
                 "   mov %k[v], %%" #seg "\n"                  \
                 "   jmp 2b\n"                                \
                 ".previous\n"                                \
                 ".section __ex_table, \"a\"\n"               \
                 ".balign 8\n"                                \
                 ".quad 1b, 3b\n"                             \
                 ".previous"                                  \
                 : [b] "+r"(bad), [v] "+r"(val) : : "memory")

unsigned int arch_load_data_segs(const uint16_t sel[4])
{
    unsigned int mask = 0, bad;
    uint32_t v;

    bad = 0; v = sel[0]; LOAD_SEG_SAFE(ds, v, bad); mask |= bad << 0;
    bad = 0; v = sel[1]; LOAD_SEG_SAFE(es, v, bad); mask |= bad << 1;
    bad = 0; v = sel[2]; LOAD_SEG_SAFE(fs, v, bad); mask |= bad << 2;
    bad = 0; v = sel[3]; LOAD_SEG_SAFE(gs, v, bad); mask |= bad << 3;
    return mask;
}

unsigned int arch_load_gs_safe(uint16_t sel)
{
    unsigned int bad = 0;
    uint32_t v = sel;

    LOAD_SEG_SAFE(gs, v, bad);
    return bad;
}

/* mov to/from %drN takes the register number in the instruction. */
uint64_t arch_read_dr(unsigned int reg)
{
    uint64_t v = 0;

    switch (reg) {
    case 0: asm volatile("mov %%db0, %0" : "=r"(v)); break;
    case 1: asm volatile("mov %%db1, %0" : "=r"(v)); break;
    case 2: asm volatile("mov %%db2, %0" : "=r"(v)); break;
    case 3: asm volatile("mov %%db3, %0" : "=r"(v)); break;
    case 6: asm volatile("mov %%db6, %0" : "=r"(v)); break;
    case 7: asm volatile("mov %%db7, %0" : "=r"(v)); break;
    default: break;
    }
    return v;
}

void arch_write_dr(unsigned int reg, uint64_t v)
{
    switch (reg) {
    case 0: asm volatile("mov %0, %%db0" :: "r"(v)); break;
    case 1: asm volatile("mov %0, %%db1" :: "r"(v)); break;
    case 2: asm volatile("mov %0, %%db2" :: "r"(v)); break;
    case 3: asm volatile("mov %0, %%db3" :: "r"(v)); break;
    case 6: asm volatile("mov %0, %%db6" :: "r"(v)); break;
    case 7: asm volatile("mov %0, %%db7" :: "r"(v)); break;
    default: break;
    }
}

int arch_rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    int rc = 0;

    asm volatile("1: rdmsr\n"
                 "2:\n"
                 ".section .fixup_text, \"ax\"\n"
                 "3: mov %[efault], %[rc]\n"
                 "   jmp 2b\n"
                 ".previous\n"
                 ".section __ex_table, \"a\"\n"
                 ".balign 8\n"
                 ".quad 1b, 3b\n"
                 ".previous"
                 : "=a"(lo), "=d"(hi), [rc] "+r"(rc)
                 : "c"(msr), [efault] "i"(-XEN_EFAULT));
    *val = ((uint64_t)hi << 32) | lo;
    return rc;
}

uint8_t arch_inb(uint16_t port)
{
    uint8_t v;

    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void arch_outb(uint16_t port, uint8_t val)
{
    asm volatile("outb %0, %1" :: "a"(val), "Nd"(port));
}

uint64_t arch_read_cr3(void)
{
    uint64_t v;

    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

void arch_write_cr3(uint64_t cr3)
{
    asm volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
}

uint64_t arch_read_cr4(void)
{
    uint64_t v;

    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

void arch_invlpg(vaddr_t v)
{
    asm volatile("invlpg (%0)" :: "r"(v.va) : "memory");
}

/*
 * CR4 as this CPU set it at start of day (head.S, trampoline.S); the shim
 * never changes it afterwards (the PGE toggle below puts it back). Read
 * once per CPU: an HVM L0 intercepts CR4 reads (SVM has no CR4 read
 * shadow), so each read is an L0 round trip, as Xen's own read_cr4()
 * avoids with its per-CPU copy.
 */
static uint64_t cr4_copy[NR_CPUS];

void arch_flush_tlb_local(bool global)
{
    unsigned long flags = arch_irq_save();
    unsigned int cpu = arch_cpu_id();
    uint64_t cr4 = cpu < NR_CPUS ? cr4_copy[cpu] : 0;

    if (!cr4) {
        asm volatile("mov %%cr4, %0" : "=r"(cr4));
        if (cpu < NR_CPUS)
            cr4_copy[cpu] = cr4;
    }
    if (global && (cr4 & X86_CR4_PGE)) {
        /* Toggling CR4.PGE flushes global entries too (SDM 4.10.4.1). */
        asm volatile("mov %0, %%cr4" :: "r"(cr4 & ~X86_CR4_PGE) : "memory");
        asm volatile("mov %0, %%cr4" :: "r"(cr4) : "memory");
    } else {
        arch_write_cr3(arch_read_cr3());
    }
    arch_irq_restore(flags);
}

unsigned long arch_irq_save(void)
{
    unsigned long flags;

    asm volatile("pushf; pop %0; cli" : "=r"(flags) :: "memory");
    return flags;
}

void arch_irq_restore(unsigned long flags)
{
    asm volatile("push %0; popf" :: "r"(flags) : "memory", "cc");
}

bool arch_irqs_enabled(void)
{
    unsigned long flags;

    asm volatile("pushf; pop %0" : "=r"(flags));
    return flags & EFLAGS_IF;
}

void arch_cpu_relax(void)
{
    asm volatile("pause" ::: "memory");
}

uint64_t arch_rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* One copy of the wait (noinline): its hlt has one address, which
 * arch_wfi_resume_rip knows. */
__attribute__((noinline)) void arch_wait_for_interrupt(void)
{
    /* The interrupt shadow of sti covers hlt: an interrupt that became
     * pending before the sti still wakes the hlt (SDM, STI). */
    asm volatile("sti\n\t"
                 ".globl arch_wfi_hlt\n"
                 "arch_wfi_hlt:\n\t"
                 "hlt\n\t"
                 "cli" ::: "memory");
}

extern const char arch_wfi_hlt[];

uint64_t arch_wfi_resume_rip(uint64_t rip)
{
    /* hlt is one byte (F4). */
    return rip == (uint64_t)(uintptr_t)arch_wfi_hlt ? rip + 1 : 0;
}

uint32_t arch_mmio_read32(paddr_t p)
{
    return *(volatile uint32_t *)arch_phys_to_virt(p);
}

void arch_mmio_write32(paddr_t p, uint32_t val)
{
    *(volatile uint32_t *)arch_phys_to_virt(p) = val;
}

void __noreturn arch_halt_forever(void)
{
    for (;;)
        asm volatile("cli; hlt");
}

void *arch_phys_to_virt(paddr_t p)
{
    return (void *)(p.pa + DIRECTMAP_VIRT_START);
}

uint64_t arch_boot_mapped_end(void)
{
    return EARLY_DIRECTMAP_SIZE;        /* boot/head.S: 4 GiB of 2 MiB pages */
}

paddr_t arch_virt_to_phys(const void *v)
{
    return pa((uint64_t)v - DIRECTMAP_VIRT_START);
}

long arch_xen_hypercall(const void *page, unsigned int nr, unsigned long a1,
                        unsigned long a2, unsigned long a3, unsigned long a4,
                        unsigned long a5)
{
    register unsigned long r10 asm("r10") = a4;
    register unsigned long r8 asm("r8") = a5;
    long ret;

    asm volatile("call *%[entry]"
                 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 : [entry] "r"((const char *)page + nr * 32)
                 : "memory", "rcx", "r9", "r11");
    return ret;
}

uint64_t arch_hyperv_hypercall(const void *page, uint64_t control,
                               uint64_t in_gpa, uint64_t out_gpa)
{
    register uint64_t r8 asm("r8") = out_gpa;
    uint64_t status;

    asm volatile("call *%[entry]"
                 : "=a"(status), "+c"(control), "+d"(in_gpa), "+r"(r8)
                 : [entry] "r"(page)
                 : "memory", "cc", "r9", "r10", "r11");
    return status;
}

unsigned int arch_cpu_id(void)
{
    uint64_t rsp;
    const struct stack_top *top;

    asm volatile("mov %%rsp, %0" : "=r"(rsp));
    top = (const struct stack_top *)((rsp | (STACK_SIZE - 1)) + 1) - 1;
    return top->cpu_id;
}
