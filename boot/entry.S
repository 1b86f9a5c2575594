/*
 * Trap entry stubs. Every vector gets a stub that makes the frame uniform
 * (error code or 0, then the vector number) and jumps to trap_common, which
 * saves the general registers as struct cpu_regs and calls trap_entry().
 */


        .text
        .p2align 4
        .globl trap_stubs
trap_stubs:
        .altmacro
        .macro stub v
        .p2align 4
        .if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
        pushq   $0
        .endif
        pushq   $\v
        jmp     trap_common
        .endm
        .set i, 0
        .rept 256
        stub %i
        .set i, i + 1
        .endr

        .p2align 4
        .globl  trap_common             /* also the SYSCALL path (pv_entry.S) */
trap_common:
        push    %rdi
        push    %rsi
        push    %rdx
        push    %rcx
        push    %rax
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %rbx
        push    %rbp
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        cld
        mov     %rsp, %rdi
        call    trap_entry
        .globl  trap_return
trap_return:
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbp
        pop     %rbx
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rax
        pop     %rcx
        pop     %rdx
        pop     %rsi
        pop     %rdi
        add     $16, %rsp                       /* vector, error code */
        iretq
