/*
 * handlers.S - trap handlers that record the bounce frame Xen built and
 * return with HYPERVISOR_iret.
 *
 * On entry (64-bit PV ABI): %rsp -> rcx, r11, [error code], rip, cs,
 * rflags, rsp, ss. The handler restores rcx/r11, saves the caller-saved
 * registers, calls pvt_trap(frame, vector, has_ec) (which may move the
 * saved rip past the faulting instruction), then drops the error code and
 * jumps to the iret hypercall with flags 0 pushed (struct iret_context).
 */
#include <xen/xen.h>

    .text
    .code64

.macro handler vec:req, has_ec:req
    .globl pvt_handler_\vec
    .type pvt_handler_\vec, @function
pvt_handler_\vec:
    pop     %rcx
    pop     %r11
    push    %rax
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %rbp
    lea     80(%rsp), %rdi          /* [error code,] rip, ...          */
    mov     $\vec, %esi
    mov     $\has_ec, %edx
    mov     %rsp, %rbp
    and     $-16, %rsp
    call    pvt_trap
    mov     %rbp, %rsp
    pop     %rbp
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rax
    .if \has_ec
    add     $8, %rsp
    .endif
    push    $0                      /* iret_context.flags: not in syscall */
    jmp     hypercall_page + __HYPERVISOR_iret * 32
    .size pvt_handler_\vec, . - pvt_handler_\vec
.endm

handler 0, 0
handler 3, 0
handler 6, 0
handler 13, 1
handler 14, 1
handler 128, 0

    .section .note.GNU-stack, "", @progbits
