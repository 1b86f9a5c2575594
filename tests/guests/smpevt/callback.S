/*
 * callback.S - the event callback (CALLBACKTYPE_event). Entered like an
 * exception without error code: %rsp -> rcx, r11, rip, cs, rflags, rsp,
 * ss. Calls sev_event() with the frame (any vCPU), returns with HYPERVISOR_iret.
 */
#include <xen/xen.h>

    .text
    .code64
    .globl sev_callback
    .type sev_callback, @function
sev_callback:
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
    lea     80(%rsp), %rdi
    mov     %rsp, %rbp
    and     $-16, %rsp
    call    sev_event
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
    .size sev_callback, . - sev_callback

    .section .note.GNU-stack, "", @progbits
