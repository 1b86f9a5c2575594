/*
 * x86 architectural constants and helpers used by the shim (Intel SDM
 * vol. 3 / AMD APM vol. 2) and Xen's reserved selectors
 * (xen/include/public/arch-x86/xen-x86_64.h and Xen's gdt.S), which a PV
 * guest relies on. Every architectural bit has its one name here; a file
 * that needs one includes this header instead of defining its own.
 */
#ifndef MINISHIM_X86_H
#define MINISHIM_X86_H

/* FIRST_RESERVED_GDT_*, FLAT_RING3_* come from the Xen ABI. */
#include <minishim/types.h>
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

/* RFLAGS (SDM vol. 1 3.4.3). */
#define EFLAGS_CF   (1UL << 0)
#define EFLAGS_MBS  (1UL << 1)      /* always reads as 1 */
#define EFLAGS_PF   (1UL << 2)
#define EFLAGS_AF   (1UL << 4)
#define EFLAGS_ZF   (1UL << 6)
#define EFLAGS_SF   (1UL << 7)
#define EFLAGS_TF   (1UL << 8)
#define EFLAGS_IF   (1UL << 9)
#define EFLAGS_DF   (1UL << 10)
#define EFLAGS_OF   (1UL << 11)
#define EFLAGS_IOPL (3UL << 12)
#define EFLAGS_NT   (1UL << 14)
#define EFLAGS_RF   (1UL << 16)
#define EFLAGS_VM   (1UL << 17)
#define EFLAGS_AC   (1UL << 18)

/* Control registers (SDM vol. 3 2.5). */
#define X86_CR0_TS         (1UL << 3)
#define X86_CR4_PAE        (1UL << 5)
#define X86_CR4_MCE        (1UL << 6)
#define X86_CR4_PGE        (1UL << 7)
#define X86_CR4_OSFXSR     (1UL << 9)
#define X86_CR4_OSXMMEXCPT (1UL << 10)
#define X86_CR4_SMEP       (1UL << 20)
#define X86_CR4_SMAP       (1UL << 21)

/* #PF error code bits (SDM vol. 3 4.7). */
#define PFEC_PRESENT   (1u << 0)
#define PFEC_WRITE     (1u << 1)
#define PFEC_USER      (1u << 2)
#define PFEC_RSVD      (1u << 3)
#define PFEC_INSN      (1u << 4)
#define PFEC_PK        (1u << 5)
#define PFEC_SHSTK     (1u << 6)
#define PFEC_SGX       (1u << 15)

/* 4-level page-table entry bits (SDM vol. 3 4.5). */
#define PTE_PRESENT       (1ULL << 0)
#define PTE_RW            (1ULL << 1)
#define PTE_USER          (1ULL << 2)
#define PTE_PWT           (1ULL << 3)
#define PTE_PCD           (1ULL << 4)
#define PTE_ACCESSED      (1ULL << 5)
#define PTE_DIRTY         (1ULL << 6)
#define PTE_PSE           (1ULL << 7)   /* PAT in an L1 entry */
#define PTE_GLOBAL        (1ULL << 8)
#define PTE_AVAIL         (7ULL << 9)
#define PTE_ADDR_MASK     0x000ffffffffff000ULL
#define PTE_AVAIL_HIGH    (0x7ffULL << 52)
#define PTE_NX            (1ULL << 63)

/* 4-level paging (SDM vol. 3 4.5): the VA bits that index each level's
 * 512-entry table. */
#define PT_LEVELS 4
#define L1_SHIFT 12
#define L2_SHIFT 21
#define L3_SHIFT 30
#define L4_SHIFT 39
#define PT_SHIFT(level) (PAGE_SHIFT + 9 * ((level) - 1))
#define PT_INDEX(va, shift) (((va) >> (shift)) & 511)

/*
 * Canonical with 48-bit linear addresses (SDM vol. 1 3.3.7.1; the shim
 * never enables 5-level paging): bits 63:47 all equal.
 */
static inline bool is_canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* The end of the lower canonical half (bit 47 clear below it). */
#define X86_LOWER_HALF_END (1ULL << 47)

/* [start, end), end > start, lies within one canonical half: no byte of
 * it is in the non-canonical hole. */
static inline bool is_canonical_range(uint64_t start, uint64_t end)
{
    return is_canonical(start) && is_canonical(end - 1) &&
           (start < X86_LOWER_HALF_END) == (end - 1 < X86_LOWER_HALF_END);
}

#endif
