/*
 * Minimal ACPI table walk (ACPI 6.x spec, sections 5.2.5 RSDP, 5.2.7/5.2.8
 * RSDT/XSDT, 5.2.12 MADT). Every table's length and checksum is checked
 * before its contents are used.
 */
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/acpi.h>
#include <minishim/arch.h>

struct __packed rsdp {
    char sig[8];
    uint8_t checksum;
    char oem[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t xchecksum;
    uint8_t reserved[3];
};

struct __packed sdt_header {
    char sig[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem[6];
    char oem_table[8];
    uint32_t oem_rev;
    uint32_t creator;
    uint32_t creator_rev;
};

#define ACPI_TABLE_MAX (1u << 20)

static bool checksum_ok(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum += b[i];
    return sum == 0;
}

static bool rsdp_ok(const struct rsdp *r)
{
    return !memcmp(r->sig, "RSD PTR ", 8) && checksum_ok(r, 20);
}

paddr_t acpi_find_rsdp(paddr_t hint)
{
    if (hint.pa && rsdp_ok(arch_phys_to_virt(hint)))
        return hint;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
        if (rsdp_ok(arch_phys_to_virt(pa(a))))
            return pa(a);
    return pa(0);
}

static const struct sdt_header *table_at(uint64_t addr)
{
    const struct sdt_header *h;

    if (!addr)
        return NULL;
    h = arch_phys_to_virt(pa(addr));
    if (h->length < sizeof(*h) || h->length > ACPI_TABLE_MAX ||
        !checksum_ok(h, h->length))
        return NULL;
    return h;
}

static const struct sdt_header *find_table(const struct rsdp *r, const char sig[4])
{
    bool x = r->revision >= 2 && r->xsdt;
    const struct sdt_header *root = table_at(x ? r->xsdt : r->rsdt);
    size_t esz = x ? 8 : 4, n;

    if (!root)
        return NULL;
    n = (root->length - sizeof(*root)) / esz;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = (const uint8_t *)(root + 1) + i * esz;
        uint64_t addr = 0;
        const struct sdt_header *t;

        memcpy(&addr, e, esz);
        t = table_at(addr);
        if (t && !memcmp(t->sig, sig, 4))
            return t;
    }
    return NULL;
}

int acpi_list_cpus(paddr_t rsdp_pa, struct acpi_cpu *out, unsigned int max)
{
    const struct sdt_header *madt;
    const uint8_t *p, *end;
    unsigned int cpus = 0;

    if (!rsdp_pa.pa)
        return -XEN_ENOENT;
    madt = find_table(arch_phys_to_virt(rsdp_pa), "APIC");
    if (!madt)
        return -XEN_ENOENT;
    p = (const uint8_t *)madt + sizeof(*madt) + 8;   /* LAPIC addr, flags */
    end = (const uint8_t *)madt + madt->length;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
        /* Type 0: processor local APIC (ACPI id +2, APIC id +3, flags +4);
         * type 9: local x2APIC (x2APIC id +4, flags +8, UID +12).
         * Flags bit 0 = enabled; disabled entries are not usable CPUs. */
        struct acpi_cpu c = { 0 };
        bool ok = false;

        if (p[0] == 0 && p[1] >= 8 && (p[4] & 1)) {
            c = (struct acpi_cpu){ .acpi_id = p[2], .apic_id = p[3] };
            ok = true;
        } else if (p[0] == 9 && p[1] >= 16 && (p[8] & 1)) {
            memcpy(&c.apic_id, p + 4, 4);
            memcpy(&c.acpi_id, p + 12, 4);
            c.x2apic = true;
            ok = true;
        }
        if (ok) {
            if (out && cpus < max)
                out[cpus] = c;
            cpus++;
        }
        p += p[1];
    }
    return cpus ? (int)cpus : -XEN_ENOENT;
}

int acpi_count_cpus(paddr_t rsdp_pa)
{
    return acpi_list_cpus(rsdp_pa, NULL, 0);
}
