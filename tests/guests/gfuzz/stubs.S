/*
 * stubs.S - gfuzz's entry points: one trap-table entry per vector (every
 * fault the fuzzer provokes comes back to gf_trap(), which longjmps to
 * the vCPU's recovery point), the NMI and failsafe callbacks, and a raw
 * hypercall for numbers past the hypercall page (128 stubs of 32 bytes):
 * 64-bit PV hypercall = SYSCALL with the number in %rax (Xen's own stub
 * bytes: push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx).
 */
#include <xen/xen.h>
#include "frame.h"

    .text
    .code64

/* gf_vec_N: pop Xen's rcx/r11, gf_trap(frame, N, has_ec, rax). */
.macro gf_vec n:req
    .if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21)
    pv_oneway_entry gf_vec_\n, gf_trap, \n, 1
    .else
    pv_oneway_entry gf_vec_\n, gf_trap, \n, 0
    .endif
.endm

.altmacro
.macro gf_all_vecs from=0, to=255
    gf_vec %(\from)
    .if \to-\from
    gf_all_vecs %(\from+1), \to
    .endif
.endm
    gf_all_vecs 0, 63
    gf_all_vecs 64, 127
    gf_all_vecs 128, 191
    gf_all_vecs 192, 255
.noaltmacro

    .section .rodata
    .balign 8
    .globl gf_vec_table
gf_vec_table:
.altmacro
.macro gf_vec_addr n
    .quad gf_vec_\n
.endm
.macro gf_all_addrs from=0, to=255
    gf_vec_addr %(\from)
    .if \to-\from
    gf_all_addrs %(\from+1), \to
    .endif
.endm
    gf_all_addrs 0, 63
    gf_all_addrs 64, 127
    gf_all_addrs 128, 191
    gf_all_addrs 192, 255
.noaltmacro

    .text
/* NMI callback (CALLBACKTYPE_nmi): count it, return with HYPERVISOR_iret
 * (which also ends Xen's NMI masking). */
    .globl gf_nmi_entry
gf_nmi_entry:
    pv_frame_enter
    call    gf_nmi
    pv_frame_leave
    push    $0
    jmp     hypercall_page + __HYPERVISOR_iret * 32

/* Failsafe callback: a frame Xen could not load (bad selectors from a
 * fuzzed iret or context); gf_failsafe() longjmps to the recovery point. */
    .globl gf_failsafe_entry
gf_failsafe_entry:
    mov     %rsp, %rdi
    and     $-16, %rsp
    call    gf_failsafe
    ud2

/* long gf_raw_hypercall(nr, a1, a2, a3, a4, a5) */
    .globl gf_raw_hypercall
gf_raw_hypercall:
    mov     %rdi, %rax
    mov     %rsi, %rdi
    mov     %rdx, %rsi
    mov     %rcx, %rdx
    mov     %r8, %r10
    mov     %r9, %r8
    push    %rcx
    push    %r11
    syscall
    pop     %r11
    pop     %rcx
    ret

    .section .note.GNU-stack, "", @progbits
