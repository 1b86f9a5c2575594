/*
 * The one door to the hardware. Logic files (shim/, pv/, hypercall/) reach
 * CPU registers, ports, MSRs, the TLB and L0 only through these functions.
 * The image links the x86 implementation (boot/arch_x86.c); the unit tests
 * link tests/unit/fake/, which records calls and models CPUs and L0.
 */
#ifndef MINISHIM_ARCH_H
#define MINISHIM_ARCH_H

#include <minishim/types.h>

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };

void arch_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r);
uint64_t arch_rdmsr(uint32_t msr);
void arch_wrmsr(uint32_t msr, uint64_t val);
/* rdmsr that reports a #GP instead of taking it: 0 on success, -EFAULT. */
int arch_rdmsr_safe(uint32_t msr, uint64_t *val);

uint8_t arch_inb(uint16_t port);
void arch_outb(uint16_t port, uint8_t val);

uint64_t arch_read_cr3(void);
void arch_write_cr3(uint64_t cr3);
void arch_invlpg(vaddr_t va);
/* Flush this CPU's TLB; with global, global entries too (CR4.PGE toggle). */
void arch_flush_tlb_local(bool global);

unsigned long arch_irq_save(void);      /* disable, return previous state */
void arch_irq_restore(unsigned long flags);
bool arch_irqs_enabled(void);
void arch_cpu_relax(void);
uint64_t arch_rdtsc(void);

/* Stop this CPU for good (interrupts off). Used after power-off failed. */
void __noreturn arch_halt_forever(void);

/* Physical memory, as the shim sees it through its direct map. */
void *arch_phys_to_virt(paddr_t p);
paddr_t arch_virt_to_phys(const void *v);

/*
 * Call entry nr of a Xen hypercall page (32 bytes per entry, Xen ABI:
 * arguments in rdi, rsi, rdx, r10, r8; result in rax).
 */
long arch_xen_hypercall(const void *page, unsigned int nr, unsigned long a1,
                        unsigned long a2, unsigned long a3, unsigned long a4,
                        unsigned long a5);

#endif
