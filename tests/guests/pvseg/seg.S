/*
 * seg.S - trap plumbing of pvseg (setjmp/longjmp: lib/setjmp.S): entry stubs for #NP,
 * #GP, #PF and the failsafe callback that record the frame Xen built and
 * longjmp back to the test, and pseg_iret(frame): HYPERVISOR_iret with a
 * caller-built struct iret_context.
 */
#include <xen/xen.h>
#include "frame.h"

    .text
    .code64

/* void pseg_iret(const uint64_t ctx[6]): flags rip cs rflags rsp ss (the
 * bottom of struct iret_context) copied to a stack of our own; the
 * hypercall page's iret entry pushes rax, r11 and rcx itself. */
    .globl pseg_iret
pseg_iret:
    mov     %rdi, %rsi
    lea     pseg_iret_stack_top(%rip), %rsp
    sub     $48, %rsp
    mov     %rsp, %rdi
    mov     $6, %ecx
    rep movsq
    jmp     hypercall_page + __HYPERVISOR_iret * 32

pv_oneway_entry pseg_db_entry, pseg_entered, 1, 0
pv_oneway_entry pseg_np_entry, pseg_entered, 11, 1

/*
 * XSA-260: single-step armed, then mov %ss (holds the #DB back one
 * instruction), then syscall: the #DB arrives on the hypervisor's first
 * instruction, still on our stack. Xen ignores it there; the hypercall
 * (xen_version(XENVER_version)) completes, its result is stored, and the
 * single-step #DB comes to us after that store.
 */
    .globl pseg_movss_syscall
pseg_movss_syscall:
    mov     %ss, %dx
    mov     $__HYPERVISOR_xen_version, %eax
    xor     %edi, %edi
    xor     %esi, %esi
    pushfq
    orq     $0x100, (%rsp)
    popfq
    mov     %dx, %ss
    syscall
    mov     %rax, pseg_movss_rax(%rip)
    nop
    nop
    pushfq
    andq    $~0x100, (%rsp)
    popfq
    ret
pv_oneway_entry pseg_gp_entry, pseg_entered, 13, 1
pv_oneway_entry pseg_pf_entry, pseg_entered, 14, 1

    .bss
    .globl pseg_movss_rax
    .p2align 3
pseg_movss_rax:
    .skip 8
    .p2align 4
    .skip 4096
pseg_iret_stack_top:

    .section .note.GNU-stack, "", @progbits
