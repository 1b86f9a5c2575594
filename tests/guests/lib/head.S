/*
 * head.S - what makes this ELF a Xen PV guest kernel: the Xen ELF notes a
 * PV domain builder reads (Xen's libelf, the PV shim's builder, minishim's),
 * the entry point, the hypercall page and the boot stack.
 *
 * ABI facts (xen/include/public/xen.h, "start of day" comment): on entry the
 * guest runs in 64-bit mode with %rsi = virtual address of start_info, %rsp
 * on a small stack inside the initial mapping, and event delivery masked.
 */
#include <xen/elfnote.h>

/* Link address of the image: same virtual base as Linux, so the builder's
 * initial mapping is the one 64-bit Linux gets. Must match guest.lds. */
#define GUEST_VIRT_BASE 0xffffffff80000000

/*
 * One ELF note of owner "Xen": namesz, descsz, type, "Xen\0", descriptor,
 * each padded to 4 bytes (ELF64 notes in practice use 4-byte alignment).
 */
#define XEN_NOTE(type, ...)                         \
    .pushsection .note.Xen, "a", @note;             \
    .balign 4;                                      \
    .long 2f - 1f;                                  \
    .long 4f - 3f;                                  \
    .long (type);                                   \
1:  .asciz "Xen";                                   \
2:  .balign 4;                                      \
3:  __VA_ARGS__;                                    \
4:  .balign 4;                                      \
    .popsection

XEN_NOTE(XEN_ELFNOTE_GUEST_OS,       .asciz "minishim-testguest")
XEN_NOTE(XEN_ELFNOTE_GUEST_VERSION,  .asciz "1")
/* libelf refuses anything but "xen-3.0" here. */
XEN_NOTE(XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0")
/* "generic": not Linux, but a plain ELF the builder may load as it is. */
XEN_NOTE(XEN_ELFNOTE_LOADER,         .asciz "generic")
XEN_NOTE(XEN_ELFNOTE_VIRT_BASE,      .quad GUEST_VIRT_BASE)
/* virtual = physical (ELF p_paddr) + VIRT_BASE - PADDR_OFFSET */
XEN_NOTE(XEN_ELFNOTE_PADDR_OFFSET,   .quad 0)
XEN_NOTE(XEN_ELFNOTE_ENTRY,          .quad _start)
XEN_NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)
/* The feature string 64-bit Linux has always carried. */
XEN_NOTE(XEN_ELFNOTE_FEATURES,       .asciz "!writable_page_tables|pae_pgdir_above_4gb")
XEN_NOTE(XEN_ELFNOTE_PAE_MODE,       .asciz "yes")

    .section .text.head, "ax", @progbits
    .code64
    .globl _start
    .type _start, @function
_start:
    cld
    /* Our own stack: the builder's boot stack is small and its size is
     * not part of the ABI. */
    lea     boot_stack_top(%rip), %rsp
    /* The builder loads the ELF and zeroes its bss, but a guest that
     * relies on that would hide a builder bug; clear it again. %rsi (the
     * start_info pointer) is not touched by rep stosb. */
    lea     __bss_start(%rip), %rdi
    lea     __bss_end(%rip), %rcx
    sub     %rdi, %rcx
    xor     %eax, %eax
    rep stosb
    mov     %rsi, %rdi
    xor     %ebp, %ebp
    call    guest_start
    /* guest_start never returns; if it does, fault loudly. */
1:  ud2
    jmp     1b
    .size _start, . - _start

/*
 * The hypervisor writes one 32-byte stub per hypercall into this page
 * while building the domain (hypercall nr at offset nr * 32).
 */
    .section .text.hypercall_page, "ax", @progbits
    .balign 4096
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill 4096, 1, 0xcc
    .size hypercall_page, 4096

    .section .bss.stack, "aw", @nobits
    .balign 4096
boot_stack:
    .skip 16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
