/*
 * What the shim learned at start of day, copied out of hvm_start_info into
 * shim memory (so nothing later depends on loader memory staying intact).
 */
#ifndef MINISHIM_BOOTINFO_H
#define MINISHIM_BOOTINFO_H

#include <minishim/hvm_start_info.h>
#include <minishim/types.h>

#define BOOT_CMDLINE_MAX   1024
#define BOOT_MAX_MODULES   8
#define BOOT_MAX_MEMMAP    128

struct boot_module {
    paddr_t start;
    uint64_t size;
    char cmdline[BOOT_CMDLINE_MAX];
};

struct boot_memmap_entry {
    uint64_t addr, size;
    uint32_t type;
};

struct boot_info {
    uint32_t version;
    char cmdline[BOOT_CMDLINE_MAX];
    unsigned int nr_modules;
    struct boot_module modules[BOOT_MAX_MODULES];
    unsigned int nr_memmap;
    struct boot_memmap_entry memmap[BOOT_MAX_MEMMAP];
    paddr_t rsdp;
};

/*
 * Module bundle (docs/linux-guest.md): QEMU's PVH loader passes a single
 * module, so under QEMU-direct the kernel and its initrd travel as one
 * file: "MSHIMBND", u32 version 1, u32 n (1..BOOT_MAX_MODULES), then n
 * { u64 offset, u64 size } little-endian, offsets from the bundle's start
 * and 4 KiB aligned, every part inside the module. Part i becomes module
 * i (0 the kernel, keeping module 0's command line, 1 the initrd).
 */
#define BOOT_BUNDLE_MAGIC   "MSHIMBND"
#define BOOT_BUNDLE_VERSION 1

/*
 * If the only module is a bundle, replace it by its parts. Returns 0 when
 * there is no bundle, the number of parts after a split, or -XEN_EINVAL
 * with the reason in err.
 */
int bootinfo_split_bundle(struct boot_info *bi, char *err, size_t errlen);

/*
 * Parse the hvm_start_info at si_pa. Returns 0, or -XEN_EINVAL with a
 * reason in err (bad magic, unknown version, unterminated strings, module
 * or memmap tables that are too large). Warnings (e.g. ignored modules) go
 * to the console.
 */
int bootinfo_parse(paddr_t si_pa, struct boot_info *bi, char *err, size_t errlen);

/* Add an E820-style entry (used for the Xen XENMEM_memory_map fallback). */
bool bootinfo_add_memmap(struct boot_info *bi, uint64_t addr, uint64_t size,
                         uint32_t type);
const char *memmap_type_name(uint32_t type);
uint64_t bootinfo_ram_bytes(const struct boot_info *bi);

#endif
