/*
 * The fake arch layer: a host implementation of include/minishim/arch.h
 * that records what the logic did and lets a test play the hardware and L0.
 * Modelled on Hafnium's src/arch/fake.
 */
#ifndef FAKE_H
#define FAKE_H

#include <setjmp.h>
#include <minishim/arch.h>

/* Fake physical memory: "physical address" p is fake_mem + p. */
#define FAKE_MEM_SIZE (16u << 20)
extern uint8_t *fake_mem;

/* Reset every fake to power-on state (call from each test's init). */
void fake_reset(void);

/* CPUID: leaves not set return all zeros. */
void fake_set_cpuid(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx);
void fake_set_cpuid_sig(uint32_t leaf, uint32_t max_leaf, const char sig[12]);

/* MSRs: last written value per MSR; a hook may react to writes. */
uint64_t fake_msr_value(uint32_t msr);
unsigned int fake_msr_writes(uint32_t msr);
extern void (*fake_wrmsr_hook)(uint32_t msr, uint64_t val);

/* TSC: each arch_rdtsc() adds fake_tsc_step (1000 after fake_reset) to
 * fake_tsc and returns it; step 0 freezes time for a test. */
extern uint64_t fake_tsc, fake_tsc_step;
/* Run by every arch_cpu_relax() (NULL after fake_reset): what the other
 * CPUs do while this one spins; fake_nr_relax counts the spins. */
extern void (*fake_relax_hook)(void);
extern unsigned int fake_nr_relax;
/* Run by every arch_phys_to_virt() (NULL after fake_reset). */
extern void (*fake_phys_read_hook)(void);

/* Ports: inb returns fake_port_in[port] (default 0xff); outb is logged. */
extern uint8_t fake_port_in[65536];
struct fake_port_write { uint16_t port; uint8_t val; };
#define FAKE_PORT_LOG 65536
extern struct fake_port_write fake_port_log[FAKE_PORT_LOG];
extern unsigned int fake_nr_port_writes;
/* Bytes written to one port, as a NUL-terminated string. */
const char *fake_port_output(uint16_t port);

/* Xen hypercalls: the handler plays L0 (default: -ENOSYS). */
typedef long (*fake_hypercall_fn)(unsigned int nr, unsigned long a1,
                                  unsigned long a2, unsigned long a3,
                                  unsigned long a4, unsigned long a5);
extern fake_hypercall_fn fake_hypercall_handler;
extern unsigned int fake_nr_hypercalls;
extern const void *fake_last_hypercall_page;

/* arch_halt_forever() longjmps here when set (else the test aborts). */
extern jmp_buf *fake_halt_jmp;
extern unsigned int fake_nr_halts;

/* TLB and IRQ state. */
extern unsigned int fake_nr_local_flushes, fake_nr_invlpg;
/* Per fake CPU (fake_cpu_id at the time): full flushes without and with
 * global entries, and INVLPGs; the last FAKE_INVLPG_LOG INVLPG addresses. */
#define FAKE_NR_CPUS 64
extern unsigned int fake_cpu_flushes[FAKE_NR_CPUS], fake_cpu_global_flushes[FAKE_NR_CPUS];
extern unsigned int fake_cpu_invlpg[FAKE_NR_CPUS];
#define FAKE_INVLPG_LOG 64
extern uint64_t fake_invlpg_log[FAKE_INVLPG_LOG];

/* Hyper-V hypercalls (arch_hyperv_hypercall): each call is logged with a
 * copy of its input page; the handler plays L0 (default: returns
 * HV_STATUS_INVALID_HYPERCALL_CODE, 2). */
struct fake_hv_call {
    const void *page;
    uint64_t control, in_gpa, out_gpa;
    uint64_t input[512];
};
#define FAKE_HV_LOG 16
extern struct fake_hv_call fake_hv_calls[FAKE_HV_LOG];
extern unsigned int fake_nr_hv_calls;
extern uint64_t (*fake_hv_handler)(uint64_t control, const uint64_t *input);
/* Host pointer for a "physical" address the logic produced: fake RAM, or
 * (for static objects, see arch_virt_to_phys) the host address itself. */
void *fake_pa_to_ptr(uint64_t p);
/* arch_phys_to_virt calls made while interrupts were enabled. */
extern unsigned int fake_phys_access_irqs_on;
/* What arch_read_cr4() returns (0 after fake_reset). */
extern uint64_t fake_cr4;
extern bool fake_irqs_on;

/* The CPU the logic believes it runs on (arch_cpu_id). */
extern __thread unsigned int fake_cpu_id;   /* per host thread: threads play CPUs */

/* PV guest support: guest VAs are host pointers; copies touching
 * [fake_guest_fault_start, fake_guest_fault_end) fault. arch_enter_guest
 * records regs and longjmps to fake_halt_jmp with value 2. */
struct cpu_regs;
extern uint64_t fake_guest_fault_start, fake_guest_fault_end;
/* When fake_guest_window_end is set, every guest address outside
 * [fake_guest_window_start, fake_guest_window_end) faults too (the
 * fuzzers: a guest pointer from fuzz input never reaches host memory). */
extern uint64_t fake_guest_window_start, fake_guest_window_end;
extern uint64_t fake_cr2;
extern bool fake_cr0_ts;
extern unsigned int fake_syscall_inits;
extern const struct cpu_regs *fake_entered_regs;
/* Guest part of the GDT as arch_set_guest_gdt_entries left it. */
#define FAKE_GDT_CPUS 4
extern uint64_t fake_guest_gdt[FAKE_GDT_CPUS][8192];
/* arch_load_data_segs: the mask it reports, what it loaded. */
extern unsigned int fake_data_segs_bad;
extern uint16_t fake_data_segs[4];
/* arch_load_gs_safe: fault when fake_gs_bad; the base a non-null
 * selector's descriptor gives; the selector left in %gs. */
extern bool fake_gs_bad;
extern uint64_t fake_gs_desc_base;
extern uint16_t fake_gs_sel;
/* Debug registers per fake CPU, and how many arch_write_dr calls. */
extern uint64_t fake_dr[FAKE_NR_CPUS][8];
extern unsigned int fake_dr_writes;
/* What arch_load_ldt loaded last (NULL/0: a null LDT). */
extern const void *fake_ldt_base;
extern unsigned int fake_ldt_ents;

/* Local APIC / SMP (shim/apic.c, shim/smp.c). MMIO: reads return the last
 * value written to the address (0 if none) unless fake_mmio_read_hook is
 * set; writes are logged. arch_wait_for_interrupt calls fake_wfi_hook. */
struct fake_mmio_write { uint64_t addr; uint32_t val; };
#define FAKE_MMIO_LOG 256
extern struct fake_mmio_write fake_mmio_log[FAKE_MMIO_LOG];
extern unsigned int fake_nr_mmio_writes;
extern uint32_t (*fake_mmio_read_hook)(uint64_t addr);
extern void (*fake_wfi_hook)(void);
/* Where the fake arch_wait_for_interrupt's hlt is (arch_wfi_resume_rip). */
#define FAKE_WFI_HLT_RIP 0xffff830000201000ULL
extern unsigned int fake_nr_wfi;
extern unsigned int fake_nr_cpu_prepare, fake_nr_ap_trampoline;
extern uint64_t fake_last_trampoline;

#endif
