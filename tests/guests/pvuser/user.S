/*
 * user.S - leaving the guest kernel for guest user mode and coming back.
 *
 * guest_setjmp/guest_longjmp (lib/setjmp.S) keep the kernel context the
 * callbacks return to. pvu_enter_user(rip, rsp): HYPERVISOR_iret to user
 * mode (cs RPL 3). The entry stubs record the frame Xen built (after
 * restoring rcx/r11) and call pvu_entered(frame, kind, has_ec), which
 * longjmps back to the kernel context.
 */
#include <xen/xen.h>

    .text
    .code64

/*
 * void pvu_enter_user(uint64_t rip, uint64_t rsp)
 *
 * rflags.IF stays clear: HYPERVISOR_iret sets evtchn_upcall_mask to
 * !IF, and this guest registers no event callback. With events enabled
 * a pending upcall (the console backend notifies its port at any time)
 * is bounced to event_addr 0, and Xen crashes the domain
 * (xen/arch/x86/x86_64/entry.S: test_guest_events -> create_bounce_frame,
 * "jz domain_crash_synchronous" on a null TRAPBOUNCE_eip).
 */
    .globl pvu_enter_user
pvu_enter_user:
    pushq   $FLAT_USER_SS           /* ss      */
    push    %rsi                    /* rsp     */
    pushq   $0x002                  /* rflags: IF clear (events stay masked) */
    pushq   $FLAT_USER_CS           /* cs: RPL 3 = return to user */
    push    %rdi                    /* rip     */
    pushq   $0                      /* flags   */
    jmp     hypercall_page + __HYPERVISOR_iret * 32

.macro entry name:req, kind:req, has_ec:req
    .globl \name
\name:
    pop     %rcx
    pop     %r11
    mov     %rsp, %rdi
    mov     $\kind, %esi
    mov     $\has_ec, %edx
    and     $-16, %rsp
    call    pvu_entered
    ud2
.endm

entry pvu_syscall_entry, 0, 0
entry pvu_int80_entry, 1, 0
entry pvu_gp_entry, 2, 1
entry pvu_pf_entry, 3, 1

/* User-mode code: each ends in a trap back into the kernel. */
    .globl pvu_user_syscall, pvu_user_syscall_ret
pvu_user_syscall:
    mov     $0x1234, %eax
    syscall
pvu_user_syscall_ret:
    ud2

    .globl pvu_user_int80, pvu_user_int80_ret
pvu_user_int80:
    int     $0x80
pvu_user_int80_ret:
    ud2

    .globl pvu_user_hlt
pvu_user_hlt:
    hlt
    ud2

    .globl pvu_user_pf
pvu_user_pf:
    mov     0x1000, %rax
    ud2

    .section .note.GNU-stack, "", @progbits
