/*
 * entry.S - pvconf's way into guest user mode and back, its catch-all
 * trap stubs and the user code it runs.
 *
 * Every vector 0..255 has a stub: it restores %rcx/%r11 from Xen's frame
 * and calls pvc_entered(frame, vector, rax), which records what arrived
 * and longjmps to the kernel context the test saved (lib/setjmp.S).
 * pvc_entered decides from the vector whether an error code is on the
 * frame. The syscall callbacks use the pseudo vectors 0x100 (64-bit) and
 * 0x101 (syscall32).
 */
#include <xen/xen.h>

    .text
    .code64

/* void pvc_enter_user(uint64_t rip, uint64_t rsp): HYPERVISOR_iret to
 * guest user mode with events masked (IF clear in the frame). */
    .globl pvc_enter_user
pvc_enter_user:
    pushq   $FLAT_USER_SS
    push    %rsi
    pushq   $0x002
    pushq   $FLAT_USER_CS
    push    %rdi
    pushq   $0
    jmp     hypercall_page + __HYPERVISOR_iret * 32

/*
 * long pvc_multicall_on_frame(void *list, unsigned long n, void *frame):
 * the multicall hypercall issued with %rsp at frame, a struct
 * iret_context (rax, r11, rcx, flags, rip, cs, rflags, rsp, ss), as the
 * hypercall page's iret stub leaves it. An iret entry in the list
 * returns through that frame; if the multicall returns instead, the
 * kernel stack comes back and its result is returned.
 */
    .globl pvc_multicall_on_frame
pvc_multicall_on_frame:
    push    %rbx
    push    %rbp
    mov     %rsp, pvc_saved_rsp(%rip)
    mov     %rdx, %rsp
    mov     $__HYPERVISOR_multicall, %eax
    syscall
    mov     pvc_saved_rsp(%rip), %rsp
    pop     %rbp
    pop     %rbx
    ret

    .data
    .balign 8
pvc_saved_rsp:
    .quad   0
    .text

.macro stub vec:req
    .globl pvc_trap_\vec
pvc_trap_\vec:
    pop     %rcx
    pop     %r11
    mov     %rax, %rdx
    mov     %rsp, %rdi
    mov     $\vec, %esi
    and     $-16, %rsp
    call    pvc_entered
    ud2
.endm

    .altmacro
.macro stubs from, to
    stub %(from)
    .if \to-\from
    stubs %(from+1), \to
    .endif
.endm
    stubs 0, 63
    stubs 64, 127
    stubs 128, 191
    stubs 192, 255
    stub 256
    stub 257

/* pvc_trap_table[v]: the stub of vector v (0..255), then 256 and 257. */
.macro stubaddr from, to
    .quad   pvc_trap_\from
    .if \to-\from
    stubaddr %(from+1), \to
    .endif
.endm
    .section .rodata
    .balign 8
    .globl pvc_trap_table
pvc_trap_table:
    stubaddr 0, 63
    stubaddr 64, 127
    stubaddr 128, 191
    stubaddr 192, 255
    stubaddr 256, 257
    .noaltmacro

    .text
/* User code. pvc_user_int: "int $n; ud2" for n = 0..255, 4 bytes each. */
    .balign 16
    .globl pvc_user_int
pvc_user_int:
    .set n, 0
    .rept 256
    .byte   0xcd, n, 0x0f, 0x0b
    .set n, n + 1
    .endr

/* User code: "int $0x81" with an operand-size prefix, then ud2. */
    .globl pvc_user_int66
pvc_user_int66:
    .byte   0x66, 0xcd, 0x81, 0x0f, 0x0b

/* syscall with %rax as the kernel left it (the multicall's iret frame). */
    .globl pvc_user_syscall
pvc_user_syscall:
    syscall
    ud2

/* A kernel-mode "int $n" helper: int $0x90 / int $0x91 then return. */
    .globl pvc_kernel_int90, pvc_kernel_int91
pvc_kernel_int90:
    int     $0x90
    ret
pvc_kernel_int91:
    int     $0x91
    ret

/* Non-canonical memory operands (each faults; the stub longjmps back).
 * Stack-relative ones must be #SS(0), the others #GP(0). */
    .globl pvc_ss_rsp_index, pvc_ss_rbp, pvc_ss_rbp_fs, pvc_gp_rax, pvc_user_ss
pvc_ss_rsp_index:
    movabs  $0x8000000000000000, %rax
    mov     (%rsp,%rax,1), %rbx
    ret
pvc_ss_rbp:
    movabs  $0x8000000000000000, %rbp
    mov     8(%rbp), %rax
    ret
pvc_ss_rbp_fs:
    movabs  $0x8000000000000000, %rbp
    mov     %fs:(%rbp), %rax
    ret
pvc_gp_rax:
    movabs  $0x8000000000000000, %rax
    mov     (%rax), %rbx
    ret
pvc_user_ss:
    movabs  $0x8000000000000000, %rbp
    mov     (%rbp), %rax
    ud2

/* Single-step over "mov %ss": the #DB is held for one instruction (the
 * interrupt shadow) and arrives after the nop, at pvc_db_after_nop. */
    .globl pvc_db_movss, pvc_db_after_nop, pvc_user_db_movss, pvc_user_db_after_nop
pvc_db_movss:
    mov     %ss, %eax
    pushf
    orq     $0x100, (%rsp)
    popf
    mov     %eax, %ss
    nop
pvc_db_after_nop:
    ud2
pvc_user_db_movss:
    mov     %ss, %eax
    pushf
    orq     $0x100, (%rsp)
    popf
    mov     %eax, %ss
    nop
pvc_user_db_after_nop:
    ud2

/* rdmsr/wrmsr wrappers: a #GP goes to the stub and longjmps instead. */
    .globl pvc_rdmsr, pvc_wrmsr
pvc_rdmsr:                          /* uint64_t pvc_rdmsr(uint32_t msr) */
    mov     %edi, %ecx
    rdmsr
    shl     $32, %rdx
    or      %rdx, %rax
    ret
pvc_wrmsr:                          /* void pvc_wrmsr(uint32_t msr, uint64_t val) */
    mov     %edi, %ecx
    mov     %esi, %eax
    mov     %rsi, %rdx
    shr     $32, %rdx
    wrmsr
    ret

    .section .note.GNU-stack, "", @progbits
