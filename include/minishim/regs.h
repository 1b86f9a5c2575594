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

#endif
