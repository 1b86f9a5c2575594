/*
 * Register frame built by the trap entry stubs (boot/entry.S). The order is
 * the push order reversed: general registers, then the vector and error
 * code the stub pushed, then the hardware frame.
 */
#ifndef MINISHIM_REGS_H
#define MINISHIM_REGS_H

#include <stdint.h>

struct cpu_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rax, rcx, rdx, rsi, rdi;
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip, cs, rflags, rsp, ss;    /* hardware frame */
};

#define REGS_OFF_VECTOR (15 * 8)
_Static_assert(__builtin_offsetof(struct cpu_regs, vector) == REGS_OFF_VECTOR,
               "entry.S pushes 15 GPRs below the vector");

/* General-purpose register n in instruction-encoding order (ModRM reg/rm
 * with REX.R/REX.B as bit 3: rax rcx rdx rbx rsp rbp rsi rdi r8..r15). */
static inline uint64_t *regs_gpr(struct cpu_regs *r, unsigned int n)
{
    switch (n & 15) {
    case 0: return &r->rax;   case 1: return &r->rcx;
    case 2: return &r->rdx;   case 3: return &r->rbx;
    case 4: return &r->rsp;   case 5: return &r->rbp;
    case 6: return &r->rsi;   case 7: return &r->rdi;
    case 8: return &r->r8;    case 9: return &r->r9;
    case 10: return &r->r10;  case 11: return &r->r11;
    case 12: return &r->r12;  case 13: return &r->r13;
    case 14: return &r->r14;  default: return &r->r15;
    }
}

#endif
