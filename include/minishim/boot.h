/*
 * The boot layer's interface to the rest of the shim: per-CPU descriptor
 * tables and the hand-off to shim_main().
 */
#ifndef MINISHIM_BOOT_H
#define MINISHIM_BOOT_H

#include <minishim/types.h>
#include <minishim/regs.h>

/* Called by boot/ once the CPU is in long mode with GDT/IDT/TSS loaded. */
void __noreturn shim_main(paddr_t start_info);

/* Called by boot/entry.S for every trap and interrupt. */
void trap_entry(struct cpu_regs *regs);

/* Image bounds (linker script), as physical addresses. */
paddr_t image_phys_start(void);
paddr_t image_phys_end(void);

#endif
