/*
 * Application processor start code.
 *
 * trampoline_start..trampoline_end is copied by arch_ap_trampoline()
 * (boot/smpboot.c) to a 4 KiB page below 1 MiB; the STARTUP IPI starts the
 * AP there in real mode with CS = page << 8, IP = 0 (SDM 8.4.4.1). It only
 * uses base-relative addresses; the fields at the end are filled in by C
 * for the page it was copied to. 16-bit -> protected mode (own GDT) ->
 * PAE + EFER.LME + paging with a temporary PML4 below 4 GiB that maps the
 * low 4 GiB at 0 (this page) and the shim at its usual address -> 64-bit
 * -> jump to ap_start64 in the image.
 *
 * ap_start64 is also where Xen starts an AP directly in long mode
 * (VCPUOP_initialise, 64-bit vcpu_hvm_context: GDTR/IDTR not set, so
 * nothing before cpu_tables_load may rely on them). It loads the boot
 * CPU's CR0/CR4/CR3 and the AP's stack and calls ap_start_c().
 */
#define TR(x) ((x) - trampoline_start)

        .section .rodata, "a"
        .p2align 4
        .globl trampoline_start, trampoline_end
        .globl tr_gdt_desc, tr_jmp32, tr_jmp64, tr_cr3, tr_efer, tr_entry, tr_gdt
        .code16
trampoline_start:
        cli
        cld
        mov     %cs, %ax
        mov     %ax, %ds
        xor     %ebx, %ebx
        mov     %ax, %bx
        shl     $4, %ebx                        /* linear base of the page */
        lgdtl   TR(tr_gdt_desc)
        mov     %cr0, %eax
        or      $1, %eax                        /* CR0.PE */
        mov     %eax, %cr0
        ljmpl   *TR(tr_jmp32)

        .code32
tr_32:
        mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %cr4, %eax
        or      $(1 << 5), %eax                 /* CR4.PAE */
        mov     %eax, %cr4
        mov     TR(tr_cr3)(%ebx), %eax
        mov     %eax, %cr3
        mov     $0xC0000080, %ecx               /* EFER: LME (+ NXE, SCE) */
        rdmsr
        or      TR(tr_efer)(%ebx), %eax
        wrmsr
        mov     $0x80010033, %eax               /* PG|WP|NE|ET|MP|PE */
        mov     %eax, %cr0
        ljmpl   *TR(tr_jmp64)(%ebx)

        .code64
tr_64:
        mov     %ebx, %ebx                      /* zero-extend the base */
        mov     TR(tr_entry)(%rbx), %rax
        jmp     *%rax

        .p2align 3
tr_gdt:
        .quad 0                                 /* 0x00 */
        .quad 0x00af9b000000ffff                /* 0x08 64-bit code */
        .quad 0x00cf93000000ffff                /* 0x10 flat data */
        .quad 0x00cf9b000000ffff                /* 0x18 32-bit code */
tr_gdt_desc:
        .word   4 * 8 - 1
        .long   0                               /* base + TR(tr_gdt) */
tr_jmp32:
        .long   0                               /* base + TR(tr_32) */
        .word   0x18
tr_jmp64:
        .long   0                               /* base + TR(tr_64) */
        .word   0x08
tr_cr3:
        .long   0                               /* temporary PML4, < 4 GiB */
tr_efer:
        .long   0
        .p2align 3
tr_entry:
        .quad   0                               /* ap_start64 */
trampoline_end:

        .globl tr_32_off, tr_64_off
        .p2align 2
tr_32_off:      .long TR(tr_32)
tr_64_off:      .long TR(tr_64)

        .text
        .globl ap_start64
ap_start64:
        cli
        mov     ap_boot_cr4(%rip), %rax
        mov     %rax, %cr4
        mov     ap_boot_cr3(%rip), %rax
        mov     %rax, %cr3
        mov     ap_boot_cr0(%rip), %rax
        mov     %rax, %cr0
        mov     ap_boot_stack(%rip), %rsp
        xor     %ebp, %ebp
        call    ap_start_c
1:      cli
        hlt
        jmp     1b
