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

/*
 * pv_oneway_entry name, fn, kind, has_ec: a handler that never returns to
 * what it interrupted. It restores rcx/r11 and calls
 * fn(frame, kind, has_ec, rax) with frame -> [error code,] rip, cs, rflags,
 * rsp, ss and rax the interrupted context's; fn must not return (the
 * tests longjmp back to their kernel context: lib/setjmp.S).
 */
.macro pv_oneway_entry name:req, fn:req, kind:req, has_ec:req
    .globl \name
\name:
    pop     %rcx
    pop     %r11
    mov     %rsp, %rdi
    mov     $\kind, %esi
    mov     $\has_ec, %edx
    mov     %rax, %rcx
    and     $-16, %rsp
    call    \fn
    ud2
.endm

/*
 * pv_enter_user_fn name: defines void name(uint64_t rip, uint64_t rsp),
 * HYPERVISOR_iret to guest user mode (cs RPL 3) at rip with stack rsp.
 * Other registers stay as the caller left them, except rax, rcx and r11,
 * which the iret hypercall restores. rflags.IF stays clear:
 * HYPERVISOR_iret sets evtchn_upcall_mask to !IF, and a test guest with
 * no event callback would have a pending upcall (the console backend
 * notifies its port at any time) bounced to event_addr 0, which Xen
 * answers by crashing the domain (xen/arch/x86/x86_64/entry.S:
 * test_guest_events -> create_bounce_frame, "jz domain_crash_synchronous"
 * on a null TRAPBOUNCE_eip).
 */
.macro pv_enter_user_fn name:req
    .globl \name
\name:
    pushq   $FLAT_USER_SS           /* ss      */
    push    %rsi                    /* rsp     */
    pushq   $0x002                  /* rflags: IF clear */
    pushq   $FLAT_USER_CS           /* cs: RPL 3 = return to user */
    push    %rdi                    /* rip     */
    pushq   $0                      /* flags   */
    jmp     hypercall_page + __HYPERVISOR_iret * 32
.endm

#endif
