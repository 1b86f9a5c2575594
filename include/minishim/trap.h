/*
 * Trap dispatch above the boot layer. boot/traps.c handles exception-table
 * fixups and then calls trap_handle(); the guest-facing layer registers a
 * handler for traps taken in guest context (CPL 3), so shim/ never calls up
 * into pv/.
 */
#ifndef MINISHIM_TRAP_H
#define MINISHIM_TRAP_H

#include <minishim/regs.h>
#include <minishim/types.h>

typedef void (*guest_trap_fn)(struct cpu_regs *regs);

void trap_handle(struct cpu_regs *regs, uint64_t cr2);
void trap_set_guest_handler(guest_trap_fn fn);
/* Handler for interrupt vector (32..255); NULL removes it. */
typedef void (*irq_handler_fn)(struct cpu_regs *regs);
void trap_set_irq_handler(unsigned int vector, irq_handler_fn fn);
/* Print a register dump for an unrecoverable trap in the shim and crash. */
void __noreturn trap_fatal(const struct cpu_regs *regs, uint64_t cr2);

const char *trap_name(unsigned int vector);

/* NMIs taken (any context, never fatal) and whether a state dump was
 * asked for since the last call (true once per request). */
unsigned long trap_nmi_count(void);
/* Interrupts and NMIs taken on the idle wait's hlt, inside sti's shadow,
 * and resumed past it (shim/trap.c, arch_wfi_resume_rip). */
unsigned long trap_wfi_shadow_count(void);
bool trap_nmi_take_dump(void);

#endif
