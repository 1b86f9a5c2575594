/*
 * callback.S - pvtime's event callback (CALLBACKTYPE_event). Entered like
 * an exception without error code: %rsp -> rcx, r11, rip, cs, rflags, rsp,
 * ss. Calls pvt_event(), returns with HYPERVISOR_iret.
 */
#include <xen/xen.h>

    .text
    .code64
    .globl pvt_callback
    .type pvt_callback, @function
pvt_callback:
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
    mov     %rsp, %rbp
    and     $-16, %rsp
    call    pvt_event
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
    push    $0
    jmp     hypercall_page + __HYPERVISOR_iret * 32
    .size pvt_callback, . - pvt_callback

    .section .note.GNU-stack, "", @progbits
