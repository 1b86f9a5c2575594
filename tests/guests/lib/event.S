/*
 * event.S - the event callback (CALLBACKTYPE_event) every guest can
 * register: guest_event_callback. Entered like an exception without error
 * code: %rsp -> rcx, r11, rip, cs, rflags, rsp, ss. Saves the caller-saved
 * registers, calls guest_event_dispatch() with a pointer to the frame
 * (rip, cs, ...), and returns with HYPERVISOR_iret.
 */
#include <xen/xen.h>

    .text
    .code64
    .globl guest_event_callback
    .type guest_event_callback, @function
guest_event_callback:
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
    call    guest_event_dispatch
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
    .size guest_event_callback, . - guest_event_callback

    .section .note.GNU-stack, "", @progbits
