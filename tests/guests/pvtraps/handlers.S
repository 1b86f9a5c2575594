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
#include "frame.h"

    .text
    .code64

.macro handler vec:req, has_ec:req
    .globl pvt_handler_\vec
    .type pvt_handler_\vec, @function
pvt_handler_\vec:
    pv_frame_enter                  /* %rdi -> [error code,] rip, ... */
    mov     $\vec, %esi
    mov     $\has_ec, %edx
    call    pvt_trap
    pv_frame_leave
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
