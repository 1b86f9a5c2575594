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

/* #PF error code bits (SDM vol. 3 4.7). */
#define PFEC_PRESENT   (1u << 0)
#define PFEC_WRITE     (1u << 1)
#define PFEC_USER      (1u << 2)
#define PFEC_RSVD      (1u << 3)
#define PFEC_INSN      (1u << 4)
#define PFEC_PK        (1u << 5)
#define PFEC_SHSTK     (1u << 6)
#define PFEC_SGX       (1u << 15)

/* Page-table entry bits used by the walk. */
#define X86_PTE_P          (1ULL << 0)
#define X86_PTE_RW         (1ULL << 1)
#define X86_PTE_US         (1ULL << 2)
#define X86_PTE_PS         (1ULL << 7)
#define X86_PTE_NX         (1ULL << 63)
#define X86_PTE_ADDR_MASK  0x000ffffffffff000ULL

#define X86_CR4_SMEP   (1ULL << 20)
#define X86_CR4_SMAP   (1ULL << 21)

bool spurious_page_fault(vaddr_t va, uint64_t error_code);

#endif
