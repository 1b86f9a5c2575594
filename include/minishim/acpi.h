/* Just enough ACPI to count the CPUs the platform gives the shim (MADT). */
#ifndef MINISHIM_ACPI_H
#define MINISHIM_ACPI_H

#include <minishim/types.h>

/* Find the RSDP: the given address, else the BIOS area 0xE0000-0xFFFFF. */
paddr_t acpi_find_rsdp(paddr_t hint);
/* Number of enabled processors in the MADT (LAPIC and x2APIC entries),
 * or -XEN_ENOENT when there is no usable MADT. */
int acpi_count_cpus(paddr_t rsdp);

#endif
