/*
 * PVH start-of-day structures, as defined by Xen's public ABI
 * (xen/include/public/arch-x86/hvm/start_info.h, version 1). Debian's
 * libxen-dev does not ship that header, so the layout is written here from
 * the ABI; the sizes are checked at compile time.
 */
#ifndef MINISHIM_HVM_START_INFO_H
#define MINISHIM_HVM_START_INFO_H

#include <stdint.h>

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578

struct hvm_start_info {
    uint32_t magic;          /* XEN_HVM_START_MAGIC_VALUE                 */
    uint32_t version;        /* 0 or 1                                    */
    uint32_t flags;          /* SIF_xxx                                   */
    uint32_t nr_modules;
    uint64_t modlist_paddr;  /* struct hvm_modlist_entry[nr_modules]     */
    uint64_t cmdline_paddr;  /* NUL-terminated, 0 if none                 */
    uint64_t rsdp_paddr;     /* ACPI RSDP, 0 if none                      */
    /* version 1 and later: */
    uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[]          */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;           /* E820 types: 1 RAM, 2 reserved, 3 ACPI, ... */
    uint32_t reserved;
};

#define XEN_HVM_MEMMAP_TYPE_RAM       1
#define XEN_HVM_MEMMAP_TYPE_RESERVED  2
#define XEN_HVM_MEMMAP_TYPE_ACPI      3
#define XEN_HVM_MEMMAP_TYPE_NVS       4
#define XEN_HVM_MEMMAP_TYPE_UNUSABLE  5

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");

#endif
