/* Just enough ACPI to count the CPUs the platform gives the shim (MADT). */
#ifndef MINISHIM_ACPI_H
#define MINISHIM_ACPI_H

#include <minishim/types.h>

/* Find the RSDP: the given address, else the BIOS area 0xE0000-0xFFFFF. */
paddr_t acpi_find_rsdp(paddr_t hint);
/* Number of enabled processors in the MADT (LAPIC and x2APIC entries),
 * or -XEN_ENOENT when there is no usable MADT. */
int acpi_count_cpus(paddr_t rsdp);

/* One enabled processor from the MADT. */
struct acpi_cpu {
    uint32_t apic_id;           /* local APIC or x2APIC id */
    uint32_t acpi_id;           /* ACPI processor UID       */
    bool x2apic;                /* from a type 9 entry      */
};
/* Fill out[0..max) with the enabled processors in MADT order and return
 * how many there are (may exceed max), or -XEN_ENOENT. out may be NULL to count. */
int acpi_list_cpus(paddr_t rsdp, struct acpi_cpu *out, unsigned int max);

#endif
