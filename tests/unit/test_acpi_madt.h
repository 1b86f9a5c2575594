/* Builds RSDP -> XSDT -> MADT in fake RAM for the MADT and SMP tests. */
#ifndef TEST_ACPI_MADT_H
#define TEST_ACPI_MADT_H

#include <string.h>
#include "fake/fake.h"

#define RSDP_PA 0xe0000
#define XSDT_PA 0x10000
#define MADT_PA 0x11000

static uint8_t *madt_p __attribute__((unused));      /* where the next entry goes */

static inline void fix_checksum(uint8_t *t, size_t len, size_t at)
{
    uint8_t sum = 0;

    t[at] = 0;
    for (size_t i = 0; i < len; i++)
        sum += t[i];
    t[at] = (uint8_t)-sum;
}

static inline void put_header(uint8_t *t, const char *sig, uint32_t len)
{
    memcpy(t, sig, 4);
    memcpy(t + 4, &len, 4);
    t[8] = 1;
    memcpy(t + 10, "MINISH", 6);
}

static inline void tables_begin(void)
{
    uint8_t *r = fake_mem + RSDP_PA, *x = fake_mem + XSDT_PA;
    uint32_t xsdt = XSDT_PA;
    uint64_t madt = MADT_PA;

    memcpy(r, "RSD PTR ", 8);
    r[15] = 2;                       /* revision: XSDT present */
    memcpy(r + 24, &xsdt, 4);        /* xsdt (64-bit) at 24 */
    memset(r + 28, 0, 4);
    fix_checksum(r, 20, 8);
    put_header(x, "XSDT", 36 + 8);
    memcpy(x + 36, &madt, 8);
    fix_checksum(x, 36 + 8, 9);
    madt_p = fake_mem + MADT_PA + 44;   /* header + LAPIC address + flags */
}

static inline void lapic(uint8_t acpi_id, uint8_t apic_id, uint32_t flags)
{
    uint8_t e[8] = { 0, 8, acpi_id, apic_id };

    memcpy(e + 4, &flags, 4);
    memcpy(madt_p, e, 8);
    madt_p += 8;
}

static inline void x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
    uint8_t e[16] = { 9, 16 };

    memcpy(e + 4, &id, 4);
    memcpy(e + 8, &flags, 4);
    memcpy(e + 12, &uid, 4);
    memcpy(madt_p, e, 16);
    madt_p += 16;
}

static inline void ioapic(void)
{
    uint8_t e[12] = { 1, 12, 9 };

    memcpy(madt_p, e, 12);
    madt_p += 12;
}

static inline void tables_end(void)
{
    uint8_t *m = fake_mem + MADT_PA;
    uint32_t len = (uint32_t)(madt_p - m), lapic_addr = 0xfee00000;

    put_header(m, "APIC", len);
    memcpy(m + 36, &lapic_addr, 4);
    fix_checksum(m, len, 9);
}

#endif
