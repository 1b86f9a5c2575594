/*
 * traps.S - exception entry stubs registered with set_trap_table.
 *
 * A 64-bit PV guest's exception frame, as Xen builds it: %rcx and %r11 on
 * top (Xen itself entered through SYSCALL-style paths and saved them for
 * us), then the hardware frame: [error code,] rip, cs, rflags, rsp, ss.
 * Each stub restores %rcx/%r11, pushes a dummy error code where the CPU
 * has none, then the vector, so trap_common sees one struct trap_frame.
 */

    .section .text, "ax", @progbits
    .code64

.macro trap_stub vec:req, has_error:req
    .globl trap_entry_\vec
    .type trap_entry_\vec, @function
trap_entry_\vec:
    pop     %rcx
    pop     %r11
    .if \has_error == 0
    push    $0
    .endif
    push    $\vec
    jmp     trap_common
    .size trap_entry_\vec, . - trap_entry_\vec
.endm

trap_stub 0, 0      /* #DE */
trap_stub 1, 0      /* #DB */
trap_stub 3, 0      /* #BP */
trap_stub 4, 0      /* #OF */
trap_stub 5, 0      /* #BR */
trap_stub 6, 0      /* #UD */
trap_stub 7, 0      /* #NM */
trap_stub 10, 1     /* #TS */
trap_stub 11, 1     /* #NP */
trap_stub 12, 1     /* #SS */
trap_stub 13, 1     /* #GP */
trap_stub 14, 1     /* #PF */
trap_stub 16, 0     /* #MF */
trap_stub 17, 1     /* #AC */
trap_stub 18, 0     /* #MC */
trap_stub 19, 0     /* #XM */

trap_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi
    and     $-16, %rsp
    call    trap_unexpected
1:  ud2
    jmp     1b

    .section .note.GNU-stack, "", @progbits
