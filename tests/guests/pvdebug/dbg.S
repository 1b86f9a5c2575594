/*
 * dbg.S - pvdebug's trap plumbing: a #DB entry that records the frame and
 * longjmps back to the test (pdbg_db_entry), a #DB entry that returns with
 * HYPERVISOR_iret and RF set so an instruction breakpoint does not fire
 * again on the way back (pdbg_db_iret_entry), the instruction-breakpoint
 * target, and the single-step and data-access sequences.
 */
#include <xen/xen.h>

    .text
    .code64

/* Xen's 64-bit bounce frame: rcx, r11, rip, cs, rflags, rsp, ss. */
    .globl pdbg_db_entry
pdbg_db_entry:
    pop     %rcx
    pop     %r11
    mov     %rsp, %rdi
    and     $-16, %rsp
    call    pdbg_entered
    ud2

/* Count, set RF in the frame, and iret (the hypercall page's iret entry
 * pushes rax, r11 and rcx itself; the flags word goes below rip). */
    .globl pdbg_db_iret_entry
pdbg_db_iret_entry:
    pop     %rcx
    pop     %r11
    incl    pdbg_iret_count(%rip)
    orq     $0x10000, 16(%rsp)
    pushq   $0
    jmp     hypercall_page + __HYPERVISOR_iret * 32

/* The instruction-breakpoint target. */
    .globl pdbg_target
pdbg_target:
    mov     $42, %eax
    ret

/* Single-step one instruction: TF on, a nop (the #DB comes after it). */
    .globl pdbg_single_step
pdbg_single_step:
    pushfq
    orq     $0x100, (%rsp)
    popfq
    nop
    pushfq
    andq    $~0x100, (%rsp)
    popfq
    ret

    .bss
    .globl pdbg_iret_count
    .p2align 2
pdbg_iret_count:
    .skip 4

    .section .note.GNU-stack, "", @progbits
