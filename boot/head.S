/*
 * PVH entry point. Xen's PVH ABI (docs/misc/pvh.pandoc) and QEMU's PVH boot
 * enter here in 32-bit protected mode, paging off, %ebx = physical address
 * of struct hvm_start_info. We build early page tables (identity map of the
 * first 4 GiB for the switch, plus the same 4 GiB at DIRECTMAP_VIRT_START,
 * which is where the image is linked), enter long mode, jump high and call
 * start_of_day(start_info_pa).
 */
#include <xen/elfnote.h>
#include <minishim/layout.h>

#define PHYS(x) ((x) - DIRECTMAP_VIRT_START)

/* Xen ELF notes: the PVH entry point is all a PVH loader needs. */
        .section .note.Xen, "a", @note
        .p2align 2
        .long 2f - 1f           /* namesz */
        .long 4f - 3f           /* descsz */
        .long XEN_ELFNOTE_PHYS32_ENTRY
1:      .asciz "Xen"
2:      .p2align 2
3:      .long PHYS(pvh_start32)
4:      .p2align 2

        .section .text.head, "ax", @progbits
        .code32
        .globl pvh_start32
pvh_start32:
        cli
        cld
        mov     %ebx, %esi                      /* keep start_info pa   */
        mov     $PHYS(boot_stack_top), %esp

        /* PD entries: 2048 x 2 MiB pages = 4 GiB, present|rw|ps. */
        mov     $PHYS(boot_pd), %edi
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        shl     $21, %eax
        or      $0x83, %eax
        mov     %eax, (%edi,%ecx,8)
        movl    $0, 4(%edi,%ecx,8)
        inc     %ecx
        cmp     $2048, %ecx
        jb      1b

        /* PDPT[0..3] -> the four PDs. */
        mov     $PHYS(boot_pdpt), %edi
        mov     $PHYS(boot_pd) + 3, %eax
        xor     %ecx, %ecx
2:      mov     %eax, (%edi,%ecx,8)
        movl    $0, 4(%edi,%ecx,8)
        add     $4096, %eax
        inc     %ecx
        cmp     $4, %ecx
        jb      2b

        /* PML4[0] (identity, for the switch) and PML4[262] (direct map). */
        mov     $PHYS(boot_pml4), %edi
        movl    $PHYS(boot_pdpt) + 3, (%edi)
        movl    $PHYS(boot_pdpt) + 3, (L4_SLOT_DIRECTMAP * 8)(%edi)

        mov     %cr4, %eax
        /* CR4.PAE; OSFXSR and OSXMMEXCPT for the PV guest's SSE (Xen's
         * mmu_cr4_features: the shim itself never touches FPU/SSE state).
         * APs copy this CR4 (boot/smpboot.c). */
        or      $((1 << 5) | (1 << 9) | (1 << 10)), %eax
        mov     %eax, %cr4
        mov     $PHYS(boot_pml4), %eax
        mov     %eax, %cr3

        /* EFER.LME, and EFER.NXE when the CPU has NX. */
        mov     $0x80000001, %eax
        cpuid
        mov     $(1 << 8), %ebx
        bt      $20, %edx
        jnc     3f
        or      $(1 << 11), %ebx
3:      mov     $0xC0000080, %ecx
        rdmsr
        or      %ebx, %eax
        wrmsr

        mov     $0x80010033, %eax               /* PG|WP|NE|ET|MP|PE    */
        mov     %eax, %cr0

        lgdt    PHYS(boot_gdt_desc32)
        ljmp    $0x08, $PHYS(start64_low)

        .code64
start64_low:
        movabs  $start64_high, %rax
        jmp     *%rax

start64_high:
        lgdt    boot_gdt_desc64(%rip)
        mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        lea     boot_stack_top(%rip), %rsp
        mov     %esi, %edi                      /* start_info pa (zero-extended) */
        xor     %ebp, %ebp
        call    start_of_day
5:      cli
        hlt
        jmp     5b

        .section .rodata
        .p2align 3
boot_gdt:
        .quad 0                                 /* 0x00 null            */
        .quad 0x00af9b000000ffff                /* 0x08 64-bit code     */
        .quad 0x00cf93000000ffff                /* 0x10 data            */
boot_gdt_end:
boot_gdt_desc32:
        .word boot_gdt_end - boot_gdt - 1
        .long PHYS(boot_gdt)
        .p2align 3
        .word 0, 0, 0
boot_gdt_desc64:
        .word boot_gdt_end - boot_gdt - 1
        .quad boot_gdt

        .section .bss.page_aligned, "aw", @nobits
        .p2align 12
        .globl boot_pml4
boot_pml4:      .skip 4096
boot_pdpt:      .skip 4096
boot_pd:        .skip 4096 * 4
        .globl boot_stack_top
boot_stack:     .skip 16384
boot_stack_top:
