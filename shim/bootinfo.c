/*
 * hvm_start_info parsing (Xen PVH ABI, docs/misc/pvh.pandoc). The loader's
 * structure is read once and copied; every pointer and count in it is
 * checked before use because a broken loader must give a clear error, not
 * a fault in the middle of the shim's start of day.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/bootinfo.h>
#include <minishim/console.h>

/*
 * The PVH ABI (docs/misc/pvh.pandoc) gives physical addresses; at start of
 * day only arch_boot_mapped_end() bytes are mapped, so a structure or
 * string the loader put beyond that is refused here instead of faulting.
 */
static bool mapped(uint64_t addr, uint64_t len)
{
    uint64_t end = arch_boot_mapped_end();

    return addr < end && len <= end - addr;
}

static int copy_cstring(char *dst, size_t dstlen, uint64_t src_pa,
                        const char *what, char *err, size_t errlen)
{
    const char *src;
    size_t n, room;

    dst[0] = '\0';
    if (!src_pa)
        return 0;
    if (!mapped(src_pa, 1)) {
        snprintf(err, errlen, "%s at 0x%lx lies outside the mapped memory",
                 what, (unsigned long)src_pa);
        return -XEN_EINVAL;
    }
    src = arch_phys_to_virt(pa(src_pa));
    room = (size_t)MIN((uint64_t)dstlen, arch_boot_mapped_end() - src_pa);
    n = strnlen(src, room);
    if (n == room) {
        snprintf(err, errlen, "%s at 0x%lx is not terminated within %lu bytes",
                 what, (unsigned long)src_pa, (unsigned long)(dstlen - 1));
        return -XEN_EINVAL;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

bool bootinfo_add_memmap(struct boot_info *bi, uint64_t addr, uint64_t size,
                         uint32_t type)
{
    if (bi->nr_memmap == BOOT_MAX_MEMMAP)
        return false;
    bi->memmap[bi->nr_memmap++] = (struct boot_memmap_entry){ addr, size, type };
    return true;
}

int bootinfo_parse(paddr_t si_pa, struct boot_info *bi, char *err, size_t errlen)
{
    const struct hvm_start_info *si;
    int rc;

    memset(bi, 0, sizeof(*bi));
    if (!si_pa.pa) {
        snprintf(err, errlen, "no hvm_start_info (%%ebx was 0)");
        return -XEN_EINVAL;
    }
    if (!mapped(si_pa.pa, sizeof(*si))) {
        snprintf(err, errlen, "hvm_start_info at 0x%lx lies outside the mapped memory",
                 (unsigned long)si_pa.pa);
        return -XEN_EINVAL;
    }
    si = arch_phys_to_virt(si_pa);
    if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
        snprintf(err, errlen, "hvm_start_info magic 0x%08x, expected 0x%08x",
                 si->magic, XEN_HVM_START_MAGIC_VALUE);
        return -XEN_EINVAL;
    }
    bi->version = si->version;
    bi->rsdp = pa(si->rsdp_paddr);

    rc = copy_cstring(bi->cmdline, sizeof(bi->cmdline), si->cmdline_paddr,
                      "shim command line", err, errlen);
    if (rc)
        return rc;

    if (si->nr_modules && !si->modlist_paddr) {
        snprintf(err, errlen, "%u modules but no module list", si->nr_modules);
        return -XEN_EINVAL;
    }
    if (si->nr_modules > BOOT_MAX_MODULES)
        pr_warn("boot: %u modules given, only the first %u are used\n",
                si->nr_modules, BOOT_MAX_MODULES);
    bi->nr_modules = MIN(si->nr_modules, (uint32_t)BOOT_MAX_MODULES);
    if (bi->nr_modules &&
        !mapped(si->modlist_paddr, bi->nr_modules * sizeof(struct hvm_modlist_entry))) {
        snprintf(err, errlen, "module list at 0x%lx lies outside the mapped memory",
                 (unsigned long)si->modlist_paddr);
        bi->nr_modules = 0;
        return -XEN_EINVAL;
    }
    for (unsigned int i = 0; i < bi->nr_modules; i++) {
        struct hvm_modlist_entry me, *m = &me;

        /* Copied: the ABI does not promise the loader aligned its tables. */
        memcpy(&me, (const struct hvm_modlist_entry *)
                    arch_phys_to_virt(pa(si->modlist_paddr)) + i, sizeof(me));
        if (m->paddr + m->size < m->paddr) {
            snprintf(err, errlen, "module %u wraps the address space", i);
            return -XEN_EINVAL;
        }
        /* The kernel and initrd are read in place through the direct map
         * (bundle split, kernel probe, domain build): one the loader put
         * beyond it would fault the shim, so it is refused here. */
        if (!mapped(m->paddr, m->size)) {
            snprintf(err, errlen, "module %u at 0x%lx (0x%lx bytes) lies outside the "
                     "mapped memory (below 0x%lx)", i, (unsigned long)m->paddr,
                     (unsigned long)m->size, (unsigned long)arch_boot_mapped_end());
            return -XEN_EINVAL;
        }
        bi->modules[i].start = pa(m->paddr);
        bi->modules[i].size = m->size;
        rc = copy_cstring(bi->modules[i].cmdline, sizeof(bi->modules[i].cmdline),
                          m->cmdline_paddr, "module command line", err, errlen);
        if (rc)
            return rc;
    }

    /* The memory map exists from version 1 on; older loaders give none. */
    if (si->version >= 1 && si->memmap_entries) {
        if (!si->memmap_paddr) {
            snprintf(err, errlen, "%u memory map entries but no table",
                     si->memmap_entries);
            return -XEN_EINVAL;
        }
        if (si->memmap_entries > BOOT_MAX_MEMMAP) {
            snprintf(err, errlen, "memory map has %u entries (limit %u)",
                     si->memmap_entries, BOOT_MAX_MEMMAP);
            return -XEN_EINVAL;
        }
        if (!mapped(si->memmap_paddr,
                    si->memmap_entries * sizeof(struct hvm_memmap_table_entry))) {
            snprintf(err, errlen, "memory map at 0x%lx lies outside the mapped memory",
                     (unsigned long)si->memmap_paddr);
            return -XEN_EINVAL;
        }
        for (unsigned int i = 0; i < si->memmap_entries; i++) {
            struct hvm_memmap_table_entry e;

            memcpy(&e, (const struct hvm_memmap_table_entry *)
                       arch_phys_to_virt(pa(si->memmap_paddr)) + i, sizeof(e));
            bootinfo_add_memmap(bi, e.addr, e.size, e.type);
        }
    }
    return 0;
}

const char *memmap_type_name(uint32_t type)
{
    switch (type) {
    case XEN_HVM_MEMMAP_TYPE_RAM: return "RAM";
    case XEN_HVM_MEMMAP_TYPE_RESERVED: return "reserved";
    case XEN_HVM_MEMMAP_TYPE_ACPI: return "ACPI data";
    case XEN_HVM_MEMMAP_TYPE_NVS: return "ACPI NVS";
    case XEN_HVM_MEMMAP_TYPE_UNUSABLE: return "unusable";
    default: return "unknown";
    }
}

uint64_t bootinfo_ram_bytes(const struct boot_info *bi)
{
    uint64_t total = 0;

    for (unsigned int i = 0; i < bi->nr_memmap; i++)
        if (bi->memmap[i].type == XEN_HVM_MEMMAP_TYPE_RAM)
            total += bi->memmap[i].size;
    return total;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -XEN_EINVAL; } while (0)

int bootinfo_split_bundle(struct boot_info *bi, char *err, size_t errlen)
{
    struct boot_module m0;
    const uint8_t *b;
    uint32_t version, n;

    if (bi->nr_modules != 1 || bi->modules[0].size < 16)
        return 0;
    b = arch_phys_to_virt(bi->modules[0].start);
    if (memcmp(b, BOOT_BUNDLE_MAGIC, 8))
        return 0;
    memcpy(&version, b + 8, 4);
    memcpy(&n, b + 12, 4);
    if (version != BOOT_BUNDLE_VERSION)
        FAIL("module bundle version %u (only %u is known)", version, BOOT_BUNDLE_VERSION);
    if (n == 0 || n > BOOT_MAX_MODULES)
        FAIL("module bundle has %u parts (1..%u allowed)", n, BOOT_MAX_MODULES);
    if (bi->modules[0].size < 16 + 16ULL * n)
        FAIL("module bundle header (%u parts) runs past the module", n);
    m0 = bi->modules[0];
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off, size;

        memcpy(&off, b + 16 + 16 * i, 8);
        memcpy(&size, b + 24 + 16 * i, 8);
        if (off & (PAGE_SIZE - 1))
            FAIL("module bundle part %u at offset 0x%lx is not 4 KiB aligned", i,
                 (unsigned long)off);
        if (off > m0.size || size > m0.size - off || !size)
            FAIL("module bundle part %u (offset 0x%lx, 0x%lx bytes) is empty or "
                 "lies outside the 0x%lx-byte module", i, (unsigned long)off,
                 (unsigned long)size, (unsigned long)m0.size);
        if (off < 16 + 16ULL * n)
            FAIL("module bundle part %u overlaps the bundle header", i);
        bi->modules[i].start = pa(m0.start.pa + off);
        bi->modules[i].size = size;
        if (i)
            bi->modules[i].cmdline[0] = '\0';
    }
    bi->nr_modules = n;
    return (int)n;
}
