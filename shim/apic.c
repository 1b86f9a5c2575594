/*
 * Local APIC driver (interface and vector numbers: include/minishim/apic.h).
 * Facts from the Intel SDM vol. 3: 10.4.4 (IA32_APIC_BASE), 10.6.1 (ICR),
 * 10.9 (spurious vector), 10.12 (x2APIC: MSR 0x800 + offset/16, 64-bit
 * ICR at 0x830, no delivery-status bit), 8.4.4.1 (INIT-SIPI-SIPI).
 */
#include <minishim/apic.h>
#include <minishim/arch.h>
#include <minishim/percpu.h>

static enum apic_mode mode = APIC_MODE_NONE;
static paddr_t mmio_base;
static uint64_t tsc_per_us;

uint64_t apic_icr_encode(enum apic_mode m, uint32_t dest, uint32_t lo)
{
    if (m == APIC_MODE_X2APIC)
        return ((uint64_t)dest << 32) | lo;
    /* xAPIC: 8-bit physical destination in ICR bits 63:56. */
    return ((uint64_t)(dest & 0xff) << 56) | lo;
}

enum apic_mode apic_mode(void)
{
    return mode;
}

uint32_t apic_read(unsigned int reg)
{
    if (mode == APIC_MODE_X2APIC)
        return (uint32_t)arch_rdmsr(MSR_X2APIC_FIRST + (reg >> 4));
    return arch_mmio_read32(pa(mmio_base.pa + reg));
}

void apic_write(unsigned int reg, uint32_t val)
{
    if (mode == APIC_MODE_X2APIC)
        arch_wrmsr(MSR_X2APIC_FIRST + (reg >> 4), val);
    else
        arch_mmio_write32(pa(mmio_base.pa + reg), val);
}

uint32_t apic_id(void)
{
    uint32_t id = apic_read(APIC_REG_ID);

    /* xAPIC: id in bits 31:24; x2APIC: the whole register (SDM 10.12.5.1). */
    return mode == APIC_MODE_X2APIC ? id : id >> 24;
}

void apic_eoi(void)
{
    apic_write(APIC_REG_EOI, 0);
}

static void tsc_calibrate(void)
{
    struct cpuid_regs r;

    arch_cpuid(0, 0, &r);
    if (r.eax >= 0x15) {
        struct cpuid_regs l15;

        arch_cpuid(0x15, 0, &l15);
        if (l15.eax && l15.ebx && l15.ecx) {
            tsc_per_us = (uint64_t)l15.ecx * l15.ebx / l15.eax / 1000000;
            if (tsc_per_us)
                return;
        }
    }
    if (r.eax >= 0x16) {
        struct cpuid_regs l16;

        arch_cpuid(0x16, 0, &l16);
        if (l16.eax & 0xffff) {
            tsc_per_us = l16.eax & 0xffff;      /* base MHz */
            return;
        }
    }
    /* Unknown: assume 5 GHz, so delays are at least as long as asked. */
    tsc_per_us = 5000;
}

void apic_udelay(unsigned long us)
{
    uint64_t start = arch_rdtsc();

    if (!tsc_per_us)
        tsc_calibrate();
    while (arch_rdtsc() - start < us * tsc_per_us)
        arch_cpu_relax();
}

static void apic_enable_common(void)
{
    uint64_t base = arch_rdmsr(MSR_IA32_APIC_BASE);
    uint64_t want = base | APIC_BASE_ENABLE;

    if (mode == APIC_MODE_X2APIC)
        want |= APIC_BASE_EXTD;
    /* xAPIC -> x2APIC must go through enabled xAPIC (SDM 10.12.5). */
    if (!(base & APIC_BASE_ENABLE))
        arch_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
    if (want != (base | APIC_BASE_ENABLE))
        arch_wrmsr(MSR_IA32_APIC_BASE, want);
    mmio_base = pa(want & APIC_BASE_ADDR_MASK);

    apic_write(APIC_REG_TPR, 0);                  /* accept every vector */
    apic_write(APIC_REG_SVR, APIC_SVR_ENABLE | APIC_SPURIOUS_VECTOR);
}

enum apic_mode apic_init_bsp(void)
{
    struct cpuid_regs r;

    arch_cpuid(1, 0, &r);
    if (r.ecx & CPUID1_ECX_X2APIC)
        mode = APIC_MODE_X2APIC;
    else if (r.edx & CPUID1_EDX_APIC)
        mode = APIC_MODE_XAPIC;
    else
        return mode = APIC_MODE_NONE;
    tsc_calibrate();
    apic_enable_common();
    return mode;
}

void apic_init_ap(void)
{
    if (mode != APIC_MODE_NONE)
        apic_enable_common();
}

void apic_icr_send(uint32_t dest, uint32_t lo)
{
    uint64_t icr = apic_icr_encode(mode, dest, lo);

    if (mode == APIC_MODE_X2APIC) {
        /* One MSR write sends; x2APIC has no delivery-status bit. */
        arch_wrmsr(MSR_X2APIC_ICR, icr);
        return;
    }
    if (mode != APIC_MODE_XAPIC)
        return;
    /* Wait (bounded) for the previous IPI to be accepted (SDM 10.6.1). */
    for (unsigned int i = 0; i < 1000000 && (apic_read(APIC_REG_ICR_LO) & ICR_BUSY); i++)
        arch_cpu_relax();
    /* The high half first: writing the low half sends. */
    apic_write(APIC_REG_ICR_HI, (uint32_t)(icr >> 32));
    apic_write(APIC_REG_ICR_LO, (uint32_t)icr);
}

void apic_send_ipi(unsigned int cpu, unsigned int vector)
{
    if (cpu >= NR_CPUS)
        return;
    apic_icr_send(percpu[cpu].apic_id,
                  ICR_DM_FIXED | ICR_LEVEL_ASSERT | ICR_SH_NONE | (vector & 0xff));
}

void apic_send_ipi_mask(const cpumask_t *mask, unsigned int vector)
{
    for_each_cpu(c, mask)
        apic_send_ipi(c, vector);
}

void apic_send_ipi_all_but_self(unsigned int vector)
{
    apic_icr_send(0, ICR_DM_FIXED | ICR_LEVEL_ASSERT | ICR_SH_ALL_BUT_SELF |
                  (vector & 0xff));
}

void apic_start_ap(uint32_t apic, unsigned int sipi_page)
{
    if (mode == APIC_MODE_XAPIC)
        apic_write(APIC_REG_ESR, 0);
    /* INIT assert, then (xAPIC) INIT de-assert; x2APIC has no de-assert. */
    apic_icr_send(apic, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
    if (mode == APIC_MODE_XAPIC) {
        apic_udelay(200);
        apic_icr_send(apic, ICR_DM_INIT | ICR_TRIGGER_LEVEL);
    }
    apic_udelay(10000);
    /* Two STARTUPs, 200 us apart; the vector is the start page number. */
    for (unsigned int i = 0; i < 2; i++) {
        apic_icr_send(apic, ICR_DM_STARTUP | ICR_LEVEL_ASSERT | (sipi_page & 0xff));
        apic_udelay(200);
    }
}
