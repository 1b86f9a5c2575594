/*
 * The shim's spurious page-fault check (shim/spurious_pf.c). The trap
 * entry (boot/traps.c) calls it on every #PF taken in shim context, before
 * the exception table, as Xen's do_page_fault() does for faults in
 * hypervisor context: when it returns true the live tables already allow
 * the access (a stale, narrower TLB entry, or rights another CPU added
 * after the fault was raised), the VA has been flushed locally, and the
 * faulting instruction is simply restarted. Guest-context #PFs are not
 * walked: they go to the guest, as in Xen 4.17 (docs/architecture.md,
 * "Traps").
 */
#ifndef MINISHIM_SPURIOUS_PF_H
#define MINISHIM_SPURIOUS_PF_H

#include <minishim/types.h>
#include <minishim/x86.h>   /* PFEC_*, PTE_* */

bool spurious_page_fault(vaddr_t va, uint64_t error_code);

#endif
