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
uint64_t arch_read_cr4(void);
void arch_invlpg(vaddr_t va);
/* Flush this CPU's TLB; with global, global entries too (CR4.PGE toggle). */
void arch_flush_tlb_local(bool global);

unsigned long arch_irq_save(void);      /* disable, return previous state */
void arch_irq_restore(unsigned long flags);
bool arch_irqs_enabled(void);
void arch_cpu_relax(void);
uint64_t arch_rdtsc(void);

/* Enable interrupts, halt until one has been taken, return with interrupts
 * disabled again (sti; hlt; cli: the sti shadow closes the wake-up race). */
void arch_wait_for_interrupt(void);
/* The return address of an interrupt (or NMI) taken on the hlt of
 * arch_wait_for_interrupt, i.e. inside sti's interrupt shadow, where the
 * SDM says none is recognised: returning there would halt with the
 * wake-up already consumed. An L0 may still deliver one there (seen on
 * the nested bed: docs/linux-guest.md, "Lost wake-ups"). Returns the
 * address to resume at instead (just past the hlt), or 0 when rip is not
 * that hlt. */
uint64_t arch_wfi_resume_rip(uint64_t rip);

/* 32-bit device register access (uncached MMIO, e.g. the xAPIC page). */
uint32_t arch_mmio_read32(paddr_t p);
void arch_mmio_write32(paddr_t p, uint32_t val);

/*
 * Application processors (boot/smpboot.c; logic in shim/smp.c).
 * arch_cpu_prepare: descriptor tables, stacks and stack-top CPU id for shim
 * CPU cpu, before it is started. arch_ap_trampoline: copy the real-mode
 * start code to the page at tramp (below 1 MiB, 4 KiB aligned), set up for
 * cpu; returns 0 or a Xen errno. arch_ap_regs: the long-mode state for an
 * AP that L0 starts directly in 64-bit mode (Xen VCPUOP_initialise).
 */
struct arch_ap_regs { uint64_t rip, rsp, rflags, cr0, cr3, cr4, efer; };
int arch_cpu_prepare(unsigned int cpu);
/* Allocate AP cpu's descriptor tables and stacks now, from the frame
 * allocator (arch_cpu_prepare does it on first use otherwise): 0 or
 * -XEN_ENOMEM. arch_cpu_area_bytes: what one AP's area costs. */
int arch_cpu_alloc(unsigned int cpu);
/* A page of CPU cpu's own in its per-CPU area (page-aligned, in the direct
 * map), e.g. for hypercall input that must not cross a page; NULL while
 * the CPU has no area. Only CPU cpu uses it, with interrupts off. */
void *arch_cpu_scratch_page(unsigned int cpu);
unsigned long arch_cpu_area_bytes(void);
int arch_ap_trampoline(unsigned int cpu, paddr_t tramp);
void arch_ap_regs(unsigned int cpu, struct arch_ap_regs *r);

/* Stop this CPU for good (interrupts off). Used after power-off failed. */
void __noreturn arch_halt_forever(void);

/* Current shim CPU number (arch: from the stack top, see percpu.h; fake:
 * settable). */
unsigned int arch_cpu_id(void);

/* Physical memory, as the shim sees it through its direct map. */
void *arch_phys_to_virt(paddr_t p);
paddr_t arch_virt_to_phys(const void *v);
/* End of the physical range the start-of-day direct map covers: what the
 * shim may read before it has set up its own tables (hvm_start_info). */
uint64_t arch_boot_mapped_end(void);

/*
 * Call entry nr of a Xen hypercall page (32 bytes per entry, Xen ABI:
 * arguments in rdi, rsi, rdx, r10, r8; result in rax).
 */
long arch_xen_hypercall(const void *page, unsigned int nr, unsigned long a1,
                        unsigned long a2, unsigned long a3, unsigned long a4,
                        unsigned long a5);

/*
 * Call a Hyper-V hypercall page (TLFS "Hypercall Interface", x64 memory
 * based calling convention): RCX = hypercall input value (control),
 * RDX = input page GPA, R8 = output page GPA; returns the result value
 * (RAX: status in bits 15:0, reps completed in bits 43:32).
 */
uint64_t arch_hyperv_hypercall(const void *page, uint64_t control,
                               uint64_t in_gpa, uint64_t out_gpa);

/*
 * PV guest support (boot/syscall.c). The guest-facing layer uses these to
 * enter and serve the guest; see boot/pv_entry.S for the SYSCALL path.
 */
struct cpu_regs;
/* SYSCALL MSRs (STAR/LSTAR/CSTAR/FMASK, EFER.SCE) for this CPU. */
void arch_syscall_init(unsigned int cpu);
/* Load regs (a ring-3 frame) and iretq to the guest; never returns. */
void __noreturn arch_enter_guest(const struct cpu_regs *regs);
uint64_t arch_read_cr2(void);
void arch_set_cr0_ts(bool ts);
/* Fault-safe copies with a guest virtual address on one side; return the
 * number of bytes NOT copied (0 = success). Range checks are the caller's. */
size_t arch_copy_from_guest(void *dst, uint64_t src_va, size_t n);
size_t arch_copy_to_guest(uint64_t dst_va, const void *src, size_t n);
/* Write nr guest GDT entries from index first (below the reserved area)
 * of shim CPU cpu's GDT; desc NULL clears them. Callers validate first. */
void arch_set_guest_gdt_entries(unsigned int cpu, unsigned int first,
                                const uint64_t *desc, unsigned int nr);
/* Load DS, ES, FS, GS (sel[0..3]) on this CPU, each fault-safe: a
 * selector that faults is replaced by the null selector. Returns a mask
 * of the ones that faulted (bit n: sel[n]). FS/GS bases are clobbered. */
unsigned int arch_load_data_segs(const uint16_t sel[4]);
/* Fault-safe load of %gs alone: 0, or 1 when it faulted (null loaded). */
unsigned int arch_load_gs_safe(uint16_t sel);

/* This CPU's debug registers %dr0-%dr3, %dr6, %dr7 (pv/debugreg.c keeps
 * the guest's in them; shim/trap.c resets %dr6 after a #DB). */
uint64_t arch_read_dr(unsigned int reg);
void arch_write_dr(unsigned int reg, uint64_t val);
/* Point this CPU's LDTR at ents descriptors at base (shim memory the
 * caller filled with validated descriptors); ents 0 loads a null LDT. */
void arch_load_ldt(const void *base, unsigned int ents);

#endif
