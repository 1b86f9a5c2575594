/*
 * event.S - the event callback (CALLBACKTYPE_event) every guest can
 * register: guest_event_callback. Entered like an exception without error
 * code: %rsp -> rcx, r11, rip, cs, rflags, rsp, ss. Saves the caller-saved
 * registers, calls guest_event_dispatch() with a pointer to the frame
 * (rip, cs, ...), and returns with HYPERVISOR_iret.
 */
#include <xen/xen.h>
#include "frame.h"

    .text
    .code64
    .globl guest_event_callback
    .type guest_event_callback, @function
guest_event_callback:
    pv_frame_enter
    call    guest_event_dispatch
    pv_frame_leave
    push    $0
    jmp     hypercall_page + __HYPERVISOR_iret * 32
    .size guest_event_callback, . - guest_event_callback

    .section .note.GNU-stack, "", @progbits
