/*
 * Writable page tables for a PV guest (Xen's ptwr, xen/arch/x86/pv/
 * ro-page-fault.c): a guest-kernel store into one of its own read-only
 * mapped, in-use L1 pages faults, and the shim applies it as an L1 update
 * (pv_mm_ptwr_rmw) with every mmu_update check. Linux relies on it once
 * it enables VMASST_TYPE_writable_pagetables (native_ptep_get_and_clear's
 * xchg, test_and_clear_bit on the Accessed bit, ...).
 *
 * Xen decodes the faulting instruction with x86_emulate; minishim decodes
 * only the stores a kernel uses on page-table entries: mov (88/89/c6/c7),
 * xchg (86/87), cmpxchg (0f b0/b1), or/and (08/09/20/21, 80/81/83 /1 /4),
 * bts/btr (0f ab/b3, 0f ba /5 /6), with lock/66/segment/REX prefixes. The
 * operand address is the fault address (CR2). Anything else is left to
 * the guest as the #PF it was (Xen: X86EMUL_UNHANDLEABLE).
 */
#ifndef MINISHIM_PV_PTWR_H
#define MINISHIM_PV_PTWR_H

#include <minishim/regs.h>
#include <minishim/types.h>

enum pv_ptwr_op { PTWR_MOV, PTWR_XCHG, PTWR_CMPXCHG, PTWR_OR, PTWR_AND,
                  PTWR_BTS, PTWR_BTR };

struct pv_ptwr_insn {
    enum pv_ptwr_op op;
    unsigned int len;       /* whole instruction, prefixes included   */
    unsigned int bytes;     /* memory operand size: 1, 2, 4 or 8       */
    bool src_reg;           /* source is register 'reg' (else imm)     */
    unsigned int reg;       /* 0-15: rax rcx rdx rbx rsp rbp rsi rdi r8-r15 */
    uint64_t imm;           /* immediate (sign-extended as the ISA says) */
};

/* Decode insn[0..n): 0, or -1 for anything outside the subset above. */
int pv_ptwr_decode(const uint8_t *insn, size_t n, struct pv_ptwr_insn *d);

/*
 * The #PF hook (pv/traps.c): Xen's fixup_page_fault conditions (guest
 * kernel mode, a write to a present page, no reserved-bit / fetch fault,
 * VMASST_TYPE_writable_pagetables on), then decode and emulate. True when
 * the store was applied (registers, flags and rip updated), or when a
 * failed cmpxchg left the entry alone (rax/ZF updated); false: bounce the
 * #PF to the guest.
 */
bool pv_ptwr_fault(struct cpu_regs *regs, uint64_t cr2, uint32_t ec, bool kernel_mode);

#endif
