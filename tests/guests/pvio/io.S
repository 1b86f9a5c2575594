/*
 * io.S - the trap plumbing of pvio (setjmp/longjmp: lib/setjmp.S): entry stubs
 * (kernel #GP, #PF and the syscall callback) that record the frame Xen
 * built and longjmp back to the test, and pio_enter_user(rip, rsp, rdx):
 * HYPERVISOR_iret to guest user mode with %rdx preset (the iret
 * hypercall restores only rax, rcx, r11 and the frame).
 */
#include <xen/xen.h>
#include "frame.h"

    .text
    .code64

/* %rdx, the third argument, is left for user mode as it is. */
pv_enter_user_fn pio_enter_user

pv_oneway_entry pio_syscall_entry, pio_entered, 1, 0
pv_oneway_entry pio_gp_entry, pio_entered, 2, 1
pv_oneway_entry pio_pf_entry, pio_entered, 3, 1

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
