/*
 * The shim's spurious page-fault check (shim/spurious_pf.c). The PV trap
 * path calls it first on every #PF, guest's or shim's: when it returns
 * true the fault came from a stale TLB entry (the live tables already
 * allow the access), the VA has been flushed locally, and the faulting
 * instruction should simply be restarted.
 */
#ifndef MINISHIM_SPURIOUS_PF_H
#define MINISHIM_SPURIOUS_PF_H

#include <minishim/types.h>
#include <minishim/x86.h>   /* PFEC_*, PTE_* */

bool spurious_page_fault(vaddr_t va, uint64_t error_code);

#endif
