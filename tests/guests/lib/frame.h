/*
 * frame.h - assembler macros for handlers entered with Xen's 64-bit PV
 * bounce frame (%rsp -> rcx, r11, [error code], rip, cs, rflags, rsp, ss).
 *
 * pv_frame_enter: restore rcx/r11 from the frame, save the caller-saved
 * registers and %rbp (10 words), point %rdi at the rest of the frame
 * ([error code,] rip, ...), keep the old %rsp in %rbp and align %rsp for a
 * C call. pv_frame_leave: undo that, so the registers are the
 * interrupted code's again and %rsp points at [error code,] rip.
 */
#ifndef GUEST_FRAME_H
#define GUEST_FRAME_H

.macro pv_frame_enter
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
.endm

.macro pv_frame_leave
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
.endm

#endif
