/*
 * x86 architectural constants used by the shim (Intel SDM vol. 3 / AMD APM
 * vol. 2) and Xen's reserved selectors (xen/include/public/arch-x86/xen-x86_64.h
 * and Xen's gdt.S), which a PV guest relies on.
 */
#ifndef MINISHIM_X86_H
#define MINISHIM_X86_H

/* FIRST_RESERVED_GDT_*, FLAT_RING3_* come from the Xen ABI. */
#include <minishim/xen-public.h>

/* Exception vectors. */
#define X86_EXC_DE   0
#define X86_EXC_DB   1
#define X86_EXC_NMI  2
#define X86_EXC_BP   3
#define X86_EXC_OF   4
#define X86_EXC_BR   5
#define X86_EXC_UD   6
#define X86_EXC_NM   7
#define X86_EXC_DF   8
#define X86_EXC_TS   10
#define X86_EXC_NP   11
#define X86_EXC_SS   12
#define X86_EXC_GP   13
#define X86_EXC_PF   14
#define X86_EXC_MF   16
#define X86_EXC_AC   17
#define X86_EXC_MC   18
#define X86_EXC_XM   19
#define X86_EXC_VE   20
#define X86_EXC_CP   21
#define X86_NR_EXCEPTIONS 32

/* %dr6 with no debug condition recorded (SDM vol. 3 17.2.3): what the
 * register holds after reset and what a #DB handler writes back. */
#define X86_DR6_DEFAULT 0xffff0ff0UL

/* GDT layout: the last two pages of a 16-page GDT, as in Xen, so that the
 * guest's own GDT frames (set_gdt) can fill the first 14 pages later. */
#define GDT_ENTRIES              (16 * 512)
#define SHIM_CS        0xe008    /* __HYPERVISOR_CS: ring 0, 64-bit      */
#define SHIM_DS        0xe010    /* __HYPERVISOR_DS: ring 0 data         */
#define SHIM_CS32      0xe038
#define TSS_SEL        0xe040
#define LDT_SEL        0xe050

/* IST slots (1-based in the IDT gate). */
#define IST_DF  1
#define IST_NMI 2
#define IST_MC  3
#define IST_DB  4   /* XSA-260: never on a guest-controlled stack */

/* MSRs */
#define MSR_EFER         0xC0000080
#define MSR_STAR         0xC0000081
#define MSR_LSTAR        0xC0000082
#define MSR_CSTAR        0xC0000083
#define MSR_FMASK        0xC0000084
#define MSR_FS_BASE      0xC0000100
#define MSR_GS_BASE      0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define EFER_SCE (1UL << 0)
#define EFER_LME (1UL << 8)
#define EFER_NXE (1UL << 11)

#define X86_EFLAGS_IF (1UL << 9)

#endif
