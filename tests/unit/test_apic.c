/*
 * Local APIC driver: ICR encodings (Intel SDM vol. 3, 10.6.1 figure 10-12
 * for xAPIC, 10.12.9 for x2APIC), hand-computed, and what the driver
 * writes through the fake MSRs / MMIO in each mode.
 */
#include <criterion/criterion.h>
#include <minishim/apic.h>
#include <minishim/percpu.h>
#include "fake/fake.h"

TestSuite(apic, .init = fake_reset);

/* ---- pure encodings ---- */

Test(apic, xapic_fixed_to_one)
{
    /* vector 0xf1, fixed (000), physical, assert (bit 14), dest 3 in 63:56 */
    cr_expect_eq(apic_icr_encode(APIC_MODE_XAPIC, 3, ICR_DM_FIXED | ICR_LEVEL_ASSERT | 0xf1),
                 0x03000000000040f1ULL);
}

Test(apic, x2apic_fixed_to_one_uses_32bit_destination)
{
    cr_expect_eq(apic_icr_encode(APIC_MODE_X2APIC, 0x105, ICR_DM_FIXED | ICR_LEVEL_ASSERT | 0xf2),
                 0x00000105000040f2ULL);
    cr_expect_eq(apic_icr_encode(APIC_MODE_X2APIC, 0xfffffffe, ICR_LEVEL_ASSERT | 0xf1),
                 0xfffffffe000040f1ULL);
}

Test(apic, xapic_destination_is_8_bits)
{
    cr_expect_eq(apic_icr_encode(APIC_MODE_XAPIC, 0x1ff, ICR_LEVEL_ASSERT | 0xf1),
                 0xff000000000040f1ULL);
}

Test(apic, shorthands)
{
    /* Destination shorthand in bits 19:18: 11 all-but-self, 10 all, 01 self. */
    cr_expect_eq(apic_icr_encode(APIC_MODE_XAPIC, 0, ICR_SH_ALL_BUT_SELF | ICR_LEVEL_ASSERT | 0xf1),
                 0x00000000000c40f1ULL);
    cr_expect_eq(apic_icr_encode(APIC_MODE_X2APIC, 0, ICR_SH_ALL | ICR_LEVEL_ASSERT | 0xf2),
                 0x00000000000840f2ULL);
    cr_expect_eq(apic_icr_encode(APIC_MODE_X2APIC, 0, ICR_SH_SELF | 0x30), 0x0000000000040030ULL);
}

Test(apic, init_and_startup)
{
    /* INIT (101) level-triggered assert / de-assert; STARTUP (110) with
     * the start page as vector. */
    cr_expect_eq(apic_icr_encode(APIC_MODE_XAPIC, 1, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL),
                 0x010000000000c500ULL);
    cr_expect_eq(apic_icr_encode(APIC_MODE_XAPIC, 1, ICR_DM_INIT | ICR_TRIGGER_LEVEL),
                 0x0100000000008500ULL);
    cr_expect_eq(apic_icr_encode(APIC_MODE_XAPIC, 2, ICR_DM_STARTUP | ICR_LEVEL_ASSERT | 0x9e),
                 0x020000000000469eULL);
    cr_expect_eq(apic_icr_encode(APIC_MODE_X2APIC, 6, ICR_DM_STARTUP | ICR_LEVEL_ASSERT | 0x9e),
                 0x000000060000469eULL);
}

/* ---- through the fake ---- */

#define APIC_BASE_DEFAULT 0xfee00000ULL

static void cpu_has(bool x2apic)
{
    fake_set_cpuid(0, 1, 0, 0, 0);
    fake_set_cpuid(1, 0, 0, x2apic ? (1u << 21) : 0, 1u << 9);
    arch_wrmsr(MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT | APIC_BASE_ENABLE | APIC_BASE_BSP);
}

static uint64_t icr_log[16];
static unsigned int nr_icr;

static void log_icr(uint32_t msr, uint64_t val)
{
    if (msr == MSR_X2APIC_ICR && nr_icr < 16)
        icr_log[nr_icr++] = val;
}

Test(apic, no_apic_is_reported)
{
    fake_set_cpuid(1, 0, 0, 0, 0);
    cr_expect_eq(apic_init_bsp(), APIC_MODE_NONE);
}

Test(apic, x2apic_mode_enables_and_sends_through_msrs)
{
    cpu_has(true);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_X2APIC);
    cr_expect_eq(fake_msr_value(MSR_IA32_APIC_BASE) & (APIC_BASE_EXTD | APIC_BASE_ENABLE),
                 APIC_BASE_EXTD | APIC_BASE_ENABLE);
    /* SVR (0xf0 -> MSR 0x80f): software enable + spurious vector. */
    cr_expect_eq(fake_msr_value(0x80f), 0x1ff);

    percpu[2].apic_id = 7;
    apic_send_ipi(2, IPI_VECTOR_FLUSH);
    cr_expect_eq(fake_msr_value(MSR_X2APIC_ICR), 0x00000007000040f1ULL);
    apic_send_ipi_all_but_self(IPI_VECTOR_CALL);
    cr_expect_eq(fake_msr_value(MSR_X2APIC_ICR), 0x00000000000c40f2ULL);
    apic_eoi();
    cr_expect_eq(fake_msr_writes(0x80b), 1);       /* EOI: 0xb0 -> 0x80b */
    cr_expect_eq(fake_mmio_log[0].addr, 0);        /* no MMIO at all */
    cr_expect_eq(fake_nr_mmio_writes, 0);
}

Test(apic, x2apic_id_is_32_bits)
{
    cpu_has(true);
    apic_init_bsp();
    arch_wrmsr(0x802, 0x12345);
    cr_expect_eq(apic_id(), 0x12345);
}

Test(apic, xapic_mode_sends_high_then_low)
{
    cpu_has(false);
    cr_assert_eq(apic_init_bsp(), APIC_MODE_XAPIC);
    cr_expect_eq(fake_msr_value(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD, 0);

    percpu[1].apic_id = 3;
    fake_nr_mmio_writes = 0;
    apic_send_ipi(1, IPI_VECTOR_FLUSH);
    cr_assert_eq(fake_nr_mmio_writes, 2);
    cr_expect_eq(fake_mmio_log[0].addr, APIC_BASE_DEFAULT + 0x310);
    cr_expect_eq(fake_mmio_log[0].val, 0x03000000);
    cr_expect_eq(fake_mmio_log[1].addr, APIC_BASE_DEFAULT + 0x300);
    cr_expect_eq(fake_mmio_log[1].val, 0x40f1);
}

Test(apic, xapic_id_is_bits_31_24)
{
    cpu_has(false);
    apic_init_bsp();
    arch_mmio_write32(pa(APIC_BASE_DEFAULT + 0x20), 0x05000000);
    cr_expect_eq(apic_id(), 5);
}

Test(apic, xapic_start_ap_sequence)
{
    static const uint32_t want_lo[] = { 0xc500, 0x8500, 0x469e, 0x469e };

    cpu_has(false);
    apic_init_bsp();
    fake_nr_mmio_writes = 0;
    apic_start_ap(2, 0x9e);
    /* ESR clear, then (HI, LO) for INIT assert, INIT de-assert, 2 x SIPI. */
    cr_assert_eq(fake_nr_mmio_writes, 1 + 2 * 4);
    cr_expect_eq(fake_mmio_log[0].addr, APIC_BASE_DEFAULT + 0x280);
    for (unsigned int i = 0; i < 4; i++) {
        cr_expect_eq(fake_mmio_log[1 + 2 * i].val, 0x02000000, "HI of ICR write %u", i);
        cr_expect_eq(fake_mmio_log[2 + 2 * i].addr, APIC_BASE_DEFAULT + 0x300);
        cr_expect_eq(fake_mmio_log[2 + 2 * i].val, want_lo[i], "LO of ICR write %u", i);
    }
}

Test(apic, x2apic_start_ap_has_no_deassert)
{
    cpu_has(true);
    apic_init_bsp();
    nr_icr = 0;
    fake_wrmsr_hook = log_icr;
    apic_start_ap(0x20, 0x9e);
    cr_assert_eq(nr_icr, 3);
    cr_expect_eq(icr_log[0], 0x000000200000c500ULL);
    cr_expect_eq(icr_log[1], 0x000000200000469eULL);
    cr_expect_eq(icr_log[2], 0x000000200000469eULL);
}

static unsigned int busy_reads;

/* ICR_LO reads busy 3 times, then idle. */
static uint32_t busy_hook(uint64_t a)
{
    if (a == APIC_BASE_DEFAULT + 0x300 && busy_reads < 3) {
        busy_reads++;
        return ICR_BUSY;
    }
    return 0;
}

Test(apic, xapic_waits_for_delivery_status)
{
    cpu_has(false);
    apic_init_bsp();
    busy_reads = 0;
    fake_mmio_read_hook = busy_hook;
    fake_nr_mmio_writes = 0;
    apic_icr_send(1, ICR_LEVEL_ASSERT | 0xf1);
    fake_mmio_read_hook = NULL;
    cr_expect_eq(busy_reads, 3);
    cr_expect_eq(fake_nr_mmio_writes, 2);
}
