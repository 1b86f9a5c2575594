/*
 * setjmp.S - guest_setjmp/guest_longjmp (struct guest_jmpbuf in guest.h):
 * the callee-saved registers, the stack pointer and the return address, so
 * that a trap handler can abandon the faulting context and resume the test.
 */
    .text
    .code64

    .globl guest_setjmp
    .type guest_setjmp, @function
guest_setjmp:
    mov     %rbx, 0(%rdi)
    mov     %rbp, 8(%rdi)
    mov     %r12, 16(%rdi)
    mov     %r13, 24(%rdi)
    mov     %r14, 32(%rdi)
    mov     %r15, 40(%rdi)
    lea     8(%rsp), %rax
    mov     %rax, 48(%rdi)
    mov     (%rsp), %rax
    mov     %rax, 56(%rdi)
    xor     %eax, %eax
    ret
    .size guest_setjmp, . - guest_setjmp

    .globl guest_longjmp
    .type guest_longjmp, @function
guest_longjmp:
    mov     0(%rdi), %rbx
    mov     8(%rdi), %rbp
    mov     16(%rdi), %r12
    mov     24(%rdi), %r13
    mov     32(%rdi), %r14
    mov     40(%rdi), %r15
    mov     48(%rdi), %rsp
    mov     $1, %eax
    jmp     *56(%rdi)
    .size guest_longjmp, . - guest_longjmp

    .section .note.GNU-stack, "", @progbits
