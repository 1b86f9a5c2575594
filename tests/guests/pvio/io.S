/*
 * io.S - the trap plumbing of pvio (setjmp/longjmp: lib/setjmp.S): entry stubs
 * (kernel #GP, #PF and the syscall callback) that record the frame Xen
 * built and longjmp back to the test, and pio_enter_user(rip, rsp, rdx):
 * HYPERVISOR_iret to guest user mode with %rdx preset (the iret
 * hypercall restores only rax, rcx, r11 and the frame).
 */
#include <xen/xen.h>

    .text
    .code64

    .globl pio_enter_user
pio_enter_user:
    pushq   $FLAT_USER_SS
    push    %rsi
    pushq   $0x002                  /* IF clear: events stay masked */
    pushq   $FLAT_USER_CS
    push    %rdi
    pushq   $0
    jmp     hypercall_page + __HYPERVISOR_iret * 32

.macro entry name:req, kind:req, has_ec:req
    .globl \name
\name:
    pop     %rcx
    pop     %r11
    mov     %rsp, %rdi
    mov     $\kind, %esi
    mov     $\has_ec, %edx
    mov     %rax, %rcx              /* the interrupted context's rax */
    and     $-16, %rsp
    call    pio_entered
    ud2
.endm

entry pio_syscall_entry, 1, 0
entry pio_gp_entry, 2, 1
entry pio_pf_entry, 3, 1

/* User-mode snippets: the I/O instruction, then syscall back. */
    .globl pio_user_inb
pio_user_inb:
    mov     $0x5a5a5a5a, %eax
    inb     %dx, %al
    syscall
    ud2

    .globl pio_user_outb_inb
pio_user_outb_inb:
    mov     $0x3c, %eax
    outb    %al, %dx
    mov     $0, %eax
    inb     %dx, %al
    syscall
    ud2

    .section .note.GNU-stack, "", @progbits
