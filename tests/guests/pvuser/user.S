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
#include "frame.h"

    .text
    .code64

/* void pvu_enter_user(uint64_t rip, uint64_t rsp) */
pv_enter_user_fn pvu_enter_user

pv_oneway_entry pvu_syscall_entry, pvu_entered, 0, 0
pv_oneway_entry pvu_int80_entry, pvu_entered, 1, 0
pv_oneway_entry pvu_gp_entry, pvu_entered, 2, 1
pv_oneway_entry pvu_pf_entry, pvu_entered, 3, 1

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
