/*
 * Local APIC driver (shim/apic.c): x2APIC through MSRs when CPUID.1:ECX[21]
 * says the CPU has it, else xAPIC through MMIO at the IA32_APIC_BASE
 * address (Intel SDM vol. 3, chapter 10 / 11 "Advanced Programmable
 * Interrupt Controller").
 *
 * Interrupt vectors the shim owns (all >= 0xf0, above anything an emulated
 * legacy device would use; the IDT routes vectors >= 32 through
 * trap_set_irq_handler):
 *   0xf1  IPI_VECTOR_FLUSH    flush_local() for a remote flush request
 *   0xf2  IPI_VECTOR_CALL     run a function (ipi_call_mask, wake-ups)
 *   0xf3  IPI_VECTOR_EVENT    event check (ipi_event_check): no work, no
 *                             acknowledgement; the interrupt itself makes
 *                             the target leave hlt or guest context
 *   0xf4  L0_UPCALL_VECTOR    L0 Xen event channel upcall (l0.h; L0 injects
 *                             it, not the LAPIC: no EOI)
 *   0xf5  TIMER_VECTOR        the shim's one-shot timer (timer.h)
 *   0xff  APIC_SPURIOUS_VECTOR  spurious interrupt: ignored, no EOI (SDM 10.9)
 */
#ifndef MINISHIM_APIC_H
#define MINISHIM_APIC_H

#include <minishim/cpumask.h>
#include <minishim/types.h>

#define IPI_VECTOR_FLUSH     0xf1
#define IPI_VECTOR_CALL      0xf2
#define IPI_VECTOR_EVENT     0xf3
#define APIC_SPURIOUS_VECTOR 0xff

/* Register offsets (xAPIC MMIO offset; the x2APIC MSR is 0x800 + off/16). */
#define APIC_REG_ID      0x020
#define APIC_REG_VERSION 0x030
#define APIC_REG_TPR     0x080
#define APIC_REG_EOI     0x0b0
#define APIC_REG_SVR     0x0f0
#define APIC_REG_ESR     0x280
#define APIC_REG_ICR_LO  0x300
#define APIC_REG_ICR_HI  0x310      /* xAPIC only: x2APIC ICR is one MSR */
#define APIC_REG_LVT_LINT0 0x350
#define APIC_REG_LVT_LINT1 0x360
#define APIC_REG_LVT_ERR 0x370

#define MSR_IA32_APIC_BASE   0x1b
#define APIC_BASE_BSP        (1UL << 8)
#define APIC_BASE_EXTD       (1UL << 10)   /* x2APIC mode */
#define APIC_BASE_ENABLE     (1UL << 11)
#define APIC_BASE_ADDR_MASK  0x000ffffffffff000UL
#define MSR_X2APIC_FIRST     0x800
#define MSR_X2APIC_ICR       0x830
#define CPUID1_ECX_X2APIC    (1u << 21)
#define CPUID1_EDX_APIC      (1u << 9)

#define APIC_SVR_ENABLE      (1u << 8)

/* ICR fields (SDM 10.6.1, figure 10-12; x2APIC: 10.12.9). */
#define ICR_DM_FIXED         (0u << 8)
#define ICR_DM_NMI           (4u << 8)
#define ICR_DM_INIT          (5u << 8)
#define ICR_DM_STARTUP       (6u << 8)
#define ICR_DEST_LOGICAL     (1u << 11)
#define ICR_BUSY             (1u << 12)    /* delivery status, xAPIC only */
#define ICR_LEVEL_ASSERT     (1u << 14)
#define ICR_TRIGGER_LEVEL    (1u << 15)
#define ICR_SH_NONE          (0u << 18)
#define ICR_SH_SELF          (1u << 18)
#define ICR_SH_ALL           (2u << 18)
#define ICR_SH_ALL_BUT_SELF  (3u << 18)

enum apic_mode { APIC_MODE_NONE, APIC_MODE_XAPIC, APIC_MODE_X2APIC };

/*
 * The 64-bit ICR value for 'lo' (vector | delivery mode | level | trigger |
 * shorthand bits) sent to physical destination 'dest': the destination is
 * bits 63:56 in xAPIC mode (an 8-bit APIC id) and bits 63:32 in x2APIC mode.
 */
uint64_t apic_icr_encode(enum apic_mode mode, uint32_t dest, uint32_t lo);

/* Boot CPU: pick the mode (x2APIC when available), enable the APIC with
 * the spurious vector. Returns the mode, APIC_MODE_NONE without an APIC. */
enum apic_mode apic_init_bsp(void);
/* Application processor: same mode as the boot CPU. */
void apic_init_ap(void);
enum apic_mode apic_mode(void);
/* This CPU's APIC id (full 32 bits in x2APIC mode, 8 bits in xAPIC). */
uint32_t apic_id(void);

uint32_t apic_read(unsigned int reg);
void apic_write(unsigned int reg, uint32_t val);
void apic_eoi(void);

/* Raw ICR write (waits for a previous xAPIC send to be accepted first). */
void apic_icr_send(uint32_t dest_apic_id, uint32_t lo);
/* Fixed-mode IPI with 'vector' to shim CPU cpu / every CPU in mask (self
 * included if set) / every CPU but the sender (shorthand). */
void apic_send_ipi(unsigned int cpu, unsigned int vector);
void apic_send_ipi_mask(const cpumask_t *mask, unsigned int vector);
void apic_send_ipi_all_but_self(unsigned int vector);

/* INIT-SIPI-SIPI (SDM 8.4.4.1, "universal startup algorithm") to the CPU
 * with APIC id 'apic', starting it in real mode at page 'sipi_page'
 * (physical address sipi_page << 12, below 1 MiB). */
void apic_start_ap(uint32_t apic, unsigned int sipi_page);

/* Busy-wait about 'us' microseconds (TSC; frequency from CPUID 0x15/0x16,
 * else assumed high so that waits are never too short). */
void apic_udelay(unsigned long us);

#endif
