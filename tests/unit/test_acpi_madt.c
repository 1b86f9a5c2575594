/*
 * MADT parsing (ACPI 6.x 5.2.12): processor local APIC (type 0) and local
 * x2APIC (type 9) entries, enabled flag, other entry types skipped, and
 * the CPU numbering smp_init builds from the list (boot CPU first).
 */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/acpi.h>
#include <minishim/apic.h>
#include <minishim/bootinfo.h>
#include <minishim/console.h>
#include <minishim/percpu.h>
#include <minishim/smp.h>
#include "fake/fake.h"

#include "test_acpi_madt.h"

static void setup(void)
{
    fake_reset();
    console_remove_all_sinks();
}

TestSuite(madt, .init = setup);

Test(madt, several_cpus_disabled_and_x2apic_entries)
{
    struct acpi_cpu c[8];

    tables_begin();
    lapic(0, 0, 1);
    lapic(1, 2, 0);          /* disabled: not a usable CPU */
    ioapic();                /* other types are skipped */
    lapic(2, 4, 1);
    x2apic(0x100, 1, 7);
    x2apic(0x102, 0, 8);     /* disabled */
    tables_end();

    cr_assert_eq(acpi_list_cpus(pa(RSDP_PA), c, 8), 3);
    cr_expect_eq(c[0].apic_id, 0);
    cr_expect_eq(c[0].acpi_id, 0);
    cr_expect_not(c[0].x2apic);
    cr_expect_eq(c[1].apic_id, 4);
    cr_expect_eq(c[1].acpi_id, 2);
    cr_expect_eq(c[2].apic_id, 0x100);
    cr_expect_eq(c[2].acpi_id, 7);
    cr_expect(c[2].x2apic);
    cr_expect_eq(acpi_count_cpus(pa(RSDP_PA)), 3);
}

Test(madt, list_longer_than_buffer_is_counted)
{
    struct acpi_cpu c[2] = { { 0 } };

    tables_begin();
    for (unsigned int i = 0; i < 5; i++)
        lapic((uint8_t)i, (uint8_t)(2 * i), 1);
    tables_end();
    cr_expect_eq(acpi_list_cpus(pa(RSDP_PA), c, 2), 5);
    cr_expect_eq(c[1].apic_id, 2);
}

Test(madt, bad_checksum_means_no_madt)
{
    tables_begin();
    lapic(0, 0, 1);
    tables_end();
    fake_mem[MADT_PA + 44 + 3] ^= 1;       /* change an APIC id */
    cr_expect_eq(acpi_list_cpus(pa(RSDP_PA), NULL, 0), -XEN_ENOENT);
}

Test(madt, truncated_entry_stops_the_walk)
{
    tables_begin();
    lapic(0, 0, 1);
    lapic(1, 1, 1);
    tables_end();
    /* Second entry claims 200 bytes: past the table end. */
    fake_mem[MADT_PA + 44 + 8 + 1] = 200;
    fix_checksum(fake_mem + MADT_PA, 44 + 16, 9);
    cr_expect_eq(acpi_list_cpus(pa(RSDP_PA), NULL, 0), 1);
}

Test(madt, no_rsdp)
{
    cr_expect_eq(acpi_list_cpus(pa(0), NULL, 0), -XEN_ENOENT);
}

/* smp_init numbering: the boot CPU (APIC id from the APIC) is CPU 0. */
static struct boot_info bi;

static void x2apic_cpu_with_id(uint32_t id)
{
    fake_set_cpuid(1, 0, 0, 1u << 21, 1u << 9);
    arch_wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    arch_wrmsr(0x802, id);
}

Test(madt, smp_init_puts_boot_cpu_first)
{
    tables_begin();
    lapic(0, 0, 1);
    lapic(1, 2, 0);
    lapic(2, 4, 1);
    x2apic(0x100, 1, 7);
    tables_end();
    x2apic_cpu_with_id(4);

    cr_assert_eq(smp_init(&bi, pa(RSDP_PA)), 0);
    cr_expect_eq(nr_cpus_possible, 3);
    cr_expect_eq(percpu[0].apic_id, 4);
    cr_expect_eq(percpu[0].acpi_id, 2);
    cr_expect_eq(percpu[1].apic_id, 0);
    cr_expect_eq(percpu[2].apic_id, 0x100);
    cr_expect_eq(percpu[2].acpi_id, 7);
}

Test(madt, smp_init_xapic_skips_ids_above_254_and_duplicates)
{
    tables_begin();
    lapic(0, 0, 1);
    lapic(1, 1, 1);
    lapic(2, 1, 1);          /* duplicate APIC id */
    x2apic(0x100, 1, 7);     /* unreachable in xAPIC mode */
    tables_end();
    fake_set_cpuid(1, 0, 0, 0, 1u << 9);
    arch_wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    arch_mmio_write32(pa(0xfee00020), 0);

    cr_assert_eq(smp_init(&bi, pa(RSDP_PA)), 0);
    cr_expect_eq(nr_cpus_possible, 2);
    cr_expect_eq(percpu[1].apic_id, 1);
}

Test(madt, smp_init_without_madt_is_uniprocessor)
{
    x2apic_cpu_with_id(0);
    cr_expect_eq(smp_init(&bi, pa(0)), -XEN_ENOENT);
    cr_expect_eq(nr_cpus_possible, 1);
}
