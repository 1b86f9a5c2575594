/*
 * Hyper-V Top-Level Functional Specification (TLFS v6.0b and the
 * learn.microsoft.com "Hypervisor TLFS" pages): the subset the shim uses.
 * Written from the specification; section names are cited per group.
 */
#ifndef HYPERV_TLFS_H
#define HYPERV_TLFS_H

#include <stdint.h>

/* "Hypervisor CPUID Leaves" (offsets from the Hyper-V base leaf). */
#define HV_CPUID_VENDOR          0x0     /* "Microsoft Hv"                  */
#define HV_CPUID_INTERFACE       0x1     /* EAX = "Hv#1"                    */
#define HV_CPUID_FEATURES        0x3
#define HV_CPUID_ENLIGHTENMENTS  0x4     /* implementation recommendations */
#define HV_INTERFACE_HV1         0x31237648u  /* "Hv#1" */

/* Leaf 0x40000003 EAX: partition privileges (MSR access). */
#define HV_MSR_VP_INDEX_AVAILABLE    (1u << 6)
#define HV_MSR_HYPERCALL_AVAILABLE   (1u << 5)

/* Leaf 0x40000004 EAX: recommendations. */
#define HV_REMOTE_TLB_FLUSH_RECOMMENDED   (1u << 2)  /* use hypercalls for remote TLB flush */
#define HV_EX_PROCESSOR_MASKS_RECOMMENDED (1u << 11) /* use the Ex (sparse VP set) forms  */

/* "Partition Properties" / synthetic MSRs. */
#define HV_X64_MSR_GUEST_OS_ID   0x40000000u
#define HV_X64_MSR_HYPERCALL     0x40000001u
#define HV_X64_MSR_VP_INDEX      0x40000002u

/* HV_X64_MSR_HYPERCALL: bit 0 enable, bit 1 locked, bits 63:12 the GPA
 * of the hypercall page (overlay); bits 11:2 reserved, preserved. */
#define HV_HYPERCALL_ENABLE      (1ULL << 0)
#define HV_HYPERCALL_LOCKED      (1ULL << 1)
#define HV_HYPERCALL_PAGE_MASK   (~0xfffULL)

/* "Reporting the Guest OS Identity", open-source format: bit 63 set,
 * bits 62:56 OS type (3 = Xen, which is what a PV shim presents),
 * bits 55:48 OS id, bits 47:16 version, bits 15:0 build. */
#define HV_GUEST_OS_ID_OPEN_SOURCE  (1ULL << 63)
#define HV_GUEST_OS_TYPE_SHIFT      56
#define HV_GUEST_OS_TYPE_XEN        0x3ULL
#define HV_GUEST_OS_VERSION_SHIFT   16

/* "Hypercall Interface": the hypercall input value (RCX). */
#define HV_HC_CODE_MASK          0xffffULL          /* bits 15:0  */
#define HV_HC_FAST               (1ULL << 16)
#define HV_HC_VARHEAD_SHIFT      17                 /* bits 26:17, in 8-byte units */
#define HV_HC_VARHEAD_MASK       (0x3ffULL << 17)
#define HV_HC_REP_COUNT_SHIFT    32                 /* bits 43:32 */
#define HV_HC_REP_COUNT_MASK     (0xfffULL << 32)
#define HV_HC_REP_START_SHIFT    48                 /* bits 59:48 */
#define HV_HC_REP_START_MASK     (0xfffULL << 48)
#define HV_HC_REP_MAX            0xfffu

/* The hypercall result value (RAX). */
#define HV_RESULT_STATUS_MASK    0xffffULL          /* bits 15:0  */
#define HV_RESULT_REP_DONE_SHIFT 32                 /* bits 43:32 */
#define HV_RESULT_REP_DONE_MASK  (0xfffULL << 32)
#define HV_STATUS_SUCCESS        0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE  0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x0003
#define HV_STATUS_INVALID_PARAMETER       0x0005

/* Call codes ("Hypercall Code Reference"). */
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE     0x0002
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST      0x0003   /* rep */
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX  0x0013
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX   0x0014   /* rep */

/* HV_FLUSH_FLAGS. NON_GLOBAL_MAPPINGS_ONLY is invalid for the List forms. */
#define HV_FLUSH_ALL_PROCESSORS              (1ULL << 0)
#define HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES  (1ULL << 1)
#define HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY    (1ULL << 2)

/*
 * Input of HvCallFlushVirtualAddressSpace / ...List: AddressSpace (a CR3
 * value, ignored with ALL_VIRTUAL_ADDRESS_SPACES), Flags, ProcessorMask
 * (bit n = VP index n, ignored with ALL_PROCESSORS); the List form then
 * has one 8-byte GVA range per rep.
 */
struct hv_flush_input {
    uint64_t address_space;
    uint64_t flags;
    uint64_t processor_mask;
    uint64_t gva[];
};

/*
 * HV_VP_SET ("HV_VP_SET" data type): Format, ValidBanksMask, then one
 * 64-bit bank per set bit of ValidBanksMask, in bank order. Bank b holds
 * VP indexes 64*b .. 64*b+63; at most 64 banks. The Ex inputs are
 * AddressSpace, Flags, HV_VP_SET (the variable header: the banks, counted
 * in the control's varhead field), then the GVA ranges.
 */
#define HV_GENERIC_SET_SPARSE_4K 0ULL
#define HV_GENERIC_SET_ALL       1ULL
#define HV_VP_SET_BANK_SIZE      64
#define HV_VP_SET_MAX_BANKS      64

struct hv_flush_input_ex {
    uint64_t address_space;
    uint64_t flags;
    uint64_t vp_set_format;
    uint64_t vp_set_valid_banks;
    uint64_t vp_set_banks[];        /* followed by the GVA ranges */
};

/* A GVA range: page-aligned base; the low 12 bits count the pages beyond
 * the first (0..4095), so one entry covers 1..4096 pages. */
#define HV_GVA_PAGES_PER_ENTRY   4096ULL
#define HV_GVA_EXTRA_PAGES_MASK  0xfffULL

#endif
