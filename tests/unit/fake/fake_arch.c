/*
 * Host implementation of arch.h for the unit tests. See fake.h.
 */
#include <minishim/cpumask.h>
#include <stdlib.h>
#include <string.h>
#include <xen/errno.h>
#include <minishim/boot.h>
#include "fake.h"

uint8_t *fake_mem;
uint8_t fake_port_in[65536];
struct fake_port_write fake_port_log[FAKE_PORT_LOG];
unsigned int fake_nr_port_writes;
fake_hypercall_fn fake_hypercall_handler;
unsigned int fake_nr_hypercalls;
const void *fake_last_hypercall_page;
jmp_buf *fake_halt_jmp;
unsigned int fake_nr_halts;
unsigned int fake_nr_local_flushes, fake_nr_invlpg;
bool fake_irqs_on;
void (*fake_wrmsr_hook)(uint32_t msr, uint64_t val);
unsigned int fake_cpu_flushes[FAKE_NR_CPUS], fake_cpu_global_flushes[FAKE_NR_CPUS];
unsigned int fake_cpu_invlpg[FAKE_NR_CPUS];
uint64_t fake_invlpg_log[FAKE_INVLPG_LOG];
struct fake_hv_call fake_hv_calls[FAKE_HV_LOG];
unsigned int fake_nr_hv_calls;
uint64_t (*fake_hv_handler)(uint64_t control, const uint64_t *input);

#define MAX_CPUID 64
#define MAX_MSR 64

static struct { uint32_t leaf; struct cpuid_regs r; } cpuid_tab[MAX_CPUID];
static unsigned int nr_cpuid;
static struct { uint32_t msr; uint64_t val; unsigned int writes; } msr_tab[MAX_MSR];
static unsigned int nr_msr;
static uint64_t cr3;

void fake_reset(void)
{
    fake_tsc_step = 1000;
    if (!fake_mem)
        fake_mem = aligned_alloc(4096, FAKE_MEM_SIZE);
    memset(fake_mem, 0, FAKE_MEM_SIZE);
    memset(fake_port_in, 0xff, sizeof(fake_port_in));
    fake_nr_port_writes = 0;
    nr_cpuid = 0;
    nr_msr = 0;
    fake_wrmsr_hook = NULL;
    fake_hypercall_handler = NULL;
    fake_nr_hypercalls = 0;
    fake_last_hypercall_page = NULL;
    fake_halt_jmp = NULL;
    fake_nr_halts = 0;
    fake_nr_local_flushes = fake_nr_invlpg = 0;
    memset(fake_cpu_flushes, 0, sizeof(fake_cpu_flushes));
    memset(fake_cpu_global_flushes, 0, sizeof(fake_cpu_global_flushes));
    memset(fake_cpu_invlpg, 0, sizeof(fake_cpu_invlpg));
    memset(fake_invlpg_log, 0, sizeof(fake_invlpg_log));
    fake_nr_hv_calls = 0;
    fake_phys_access_irqs_on = 0;
    fake_cr4 = 0;
    fake_hv_handler = NULL;
    fake_irqs_on = true;
    cr3 = 0;
    fake_cpu_id = 0;
    fake_nr_mmio_writes = 0;
    fake_mmio_read_hook = NULL;
    fake_wfi_hook = NULL;
    fake_nr_wfi = 0;
    fake_relax_hook = NULL;
    fake_nr_relax = 0;
    fake_phys_read_hook = NULL;
    fake_nr_cpu_prepare = fake_nr_ap_trampoline = 0;
    fake_last_trampoline = 0;
    fake_gs_bad = false;
    fake_gs_desc_base = 0;
    fake_gs_sel = 0;
    memset(fake_dr, 0, sizeof(fake_dr));
    fake_dr_writes = 0;
}

void fake_set_cpuid(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    for (unsigned int i = 0; i < nr_cpuid; i++) {
        if (cpuid_tab[i].leaf == leaf) {
            cpuid_tab[i].r = (struct cpuid_regs){ eax, ebx, ecx, edx };
            return;
        }
    }
    if (nr_cpuid < MAX_CPUID)
        cpuid_tab[nr_cpuid++] = (typeof(cpuid_tab[0])){ leaf, { eax, ebx, ecx, edx } };
}

void fake_set_cpuid_sig(uint32_t leaf, uint32_t max_leaf, const char sig[12])
{
    uint32_t w[3];

    memcpy(w, sig, 12);
    fake_set_cpuid(leaf, max_leaf, w[0], w[1], w[2]);
}

void arch_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
    (void)subleaf;
    for (unsigned int i = 0; i < nr_cpuid; i++) {
        if (cpuid_tab[i].leaf == leaf) {
            *r = cpuid_tab[i].r;
            return;
        }
    }
    *r = (struct cpuid_regs){ 0, 0, 0, 0 };
}

static int msr_slot(uint32_t msr, bool create)
{
    for (unsigned int i = 0; i < nr_msr; i++)
        if (msr_tab[i].msr == msr)
            return (int)i;
    if (!create || nr_msr == MAX_MSR)
        return -1;
    msr_tab[nr_msr].msr = msr;
    msr_tab[nr_msr].val = 0;
    msr_tab[nr_msr].writes = 0;
    return (int)nr_msr++;
}

uint64_t arch_rdmsr(uint32_t msr)
{
    int i = msr_slot(msr, false);

    return i < 0 ? 0 : msr_tab[i].val;
}

int arch_rdmsr_safe(uint32_t msr, uint64_t *val)
{
    int i = msr_slot(msr, false);

    if (i < 0)
        return -XEN_EFAULT;
    *val = msr_tab[i].val;
    return 0;
}

void arch_wrmsr(uint32_t msr, uint64_t val)
{
    int i = msr_slot(msr, true);

    if (i >= 0) {
        msr_tab[i].val = val;
        msr_tab[i].writes++;
    }
    if (fake_wrmsr_hook)
        fake_wrmsr_hook(msr, val);
}

uint64_t fake_msr_value(uint32_t msr)
{
    return arch_rdmsr(msr);
}

unsigned int fake_msr_writes(uint32_t msr)
{
    int i = msr_slot(msr, false);

    return i < 0 ? 0 : msr_tab[i].writes;
}

uint8_t arch_inb(uint16_t port)
{
    return fake_port_in[port];
}

void arch_outb(uint16_t port, uint8_t val)
{
    if (fake_nr_port_writes < FAKE_PORT_LOG)
        fake_port_log[fake_nr_port_writes++] = (struct fake_port_write){ port, val };
}

const char *fake_port_output(uint16_t port)
{
    static char buf[FAKE_PORT_LOG + 1];
    size_t n = 0;

    for (unsigned int i = 0; i < fake_nr_port_writes; i++)
        if (fake_port_log[i].port == port)
            buf[n++] = (char)fake_port_log[i].val;
    buf[n] = '\0';
    return buf;
}

uint64_t arch_read_cr3(void) { return cr3; }
uint64_t fake_cr4;
uint64_t arch_read_cr4(void) { return fake_cr4; }
void arch_write_cr3(uint64_t v) { cr3 = v; fake_nr_local_flushes++; }
void arch_invlpg(vaddr_t v)
{
    fake_invlpg_log[fake_nr_invlpg % FAKE_INVLPG_LOG] = v.va;
    fake_nr_invlpg++;
    if (fake_cpu_id < FAKE_NR_CPUS)
        fake_cpu_invlpg[fake_cpu_id]++;
}

void arch_flush_tlb_local(bool global)
{
    fake_nr_local_flushes++;
    if (fake_cpu_id < FAKE_NR_CPUS) {
        if (global)
            fake_cpu_global_flushes[fake_cpu_id]++;
        else
            fake_cpu_flushes[fake_cpu_id]++;
    }
}

unsigned long arch_irq_save(void)
{
    unsigned long was = fake_irqs_on;

    fake_irqs_on = false;
    return was;
}

void arch_irq_restore(unsigned long flags) { fake_irqs_on = flags; }
bool arch_irqs_enabled(void) { return fake_irqs_on; }
/* Called from every arch_cpu_relax(): what other CPUs do while this one
 * spins (tests/unit/test_flush_defer.c). */
void (*fake_relax_hook)(void);
unsigned int fake_nr_relax;

void arch_cpu_relax(void)
{
    fake_nr_relax++;
    if (fake_relax_hook)
        fake_relax_hook();
}

uint64_t fake_tsc;
uint64_t fake_tsc_step = 1000;

uint64_t arch_rdtsc(void)
{
    return fake_tsc += fake_tsc_step;
}

void arch_halt_forever(void)
{
    fake_nr_halts++;
    if (fake_halt_jmp)
        longjmp(*fake_halt_jmp, 1);
    abort();
}

unsigned int fake_phys_access_irqs_on;

void (*fake_phys_read_hook)(void);

void *arch_phys_to_virt(paddr_t p)
{
    if (fake_phys_read_hook)
        fake_phys_read_hook();
    if (fake_irqs_on)
        fake_phys_access_irqs_on++;
    if (p.pa >= FAKE_MEM_SIZE)
        abort();            /* the logic read outside "RAM": a test bug or a real one */
    return fake_mem + p.pa;
}

uint64_t arch_boot_mapped_end(void) { return FAKE_MEM_SIZE; }

paddr_t arch_virt_to_phys(const void *v)
{
    const uint8_t *b = v;

    if (fake_mem && b >= fake_mem && b < fake_mem + FAKE_MEM_SIZE)
        return pa((uint64_t)(b - fake_mem));
    /* Objects outside fake RAM (static buffers): their host address. */
    return pa((uint64_t)(uintptr_t)v);
}

long arch_xen_hypercall(const void *page, unsigned int nr, unsigned long a1,
                        unsigned long a2, unsigned long a3, unsigned long a4,
                        unsigned long a5)
{
    fake_nr_hypercalls++;
    fake_last_hypercall_page = page;
    if (!fake_hypercall_handler)
        return -XEN_ENOSYS;
    return fake_hypercall_handler(nr, a1, a2, a3, a4, a5);
}

void *fake_pa_to_ptr(uint64_t p)
{
    return p < FAKE_MEM_SIZE ? fake_mem + p : (void *)(uintptr_t)p;
}

uint64_t arch_hyperv_hypercall(const void *page, uint64_t control,
                               uint64_t in_gpa, uint64_t out_gpa)
{
    struct fake_hv_call *c = &fake_hv_calls[fake_nr_hv_calls % FAKE_HV_LOG];

    c->page = page;
    c->control = control;
    c->in_gpa = in_gpa;
    c->out_gpa = out_gpa;
    memcpy(c->input, fake_pa_to_ptr(in_gpa), sizeof(c->input));
    fake_nr_hv_calls++;
    if (!fake_hv_handler)
        return 2;               /* HV_STATUS_INVALID_HYPERCALL_CODE */
    return fake_hv_handler(control, c->input);
}

/* The fake "image" occupies 2 MiB..2.25 MiB of fake RAM, as the real one. */
paddr_t image_phys_start(void) { return pa(0x200000); }
paddr_t image_phys_end(void) { return pa(0x240000); }

__thread unsigned int fake_cpu_id;
unsigned int arch_cpu_id(void) { return fake_cpu_id; }

/* PV guest support (arch.h). Guest virtual addresses are host pointers;
 * [fake_guest_fault_start, fake_guest_fault_end) faults like unmapped memory. */
uint64_t fake_guest_fault_start, fake_guest_fault_end;
uint64_t fake_guest_window_start, fake_guest_window_end;
uint64_t fake_cr2;
bool fake_cr0_ts;
unsigned int fake_syscall_inits;
const struct cpu_regs *fake_entered_regs;

void arch_syscall_init(unsigned int cpu) { (void)cpu; fake_syscall_inits++; }

void arch_enter_guest(const struct cpu_regs *regs)
{
    fake_entered_regs = regs;
    if (fake_halt_jmp)
        longjmp(*fake_halt_jmp, 2);
    abort();
}

uint64_t arch_read_cr2(void) { return fake_cr2; }
void arch_set_cr0_ts(bool ts) { fake_cr0_ts = ts; }

static size_t fake_copy(uint8_t *dst, const uint8_t *src, uint64_t guest, size_t n)
{
    size_t done = 0;

    for (; done < n; done++) {
        uint64_t a = guest + done;

        if (a >= fake_guest_fault_start && a < fake_guest_fault_end)
            break;
        if (fake_guest_window_end &&
            (a < fake_guest_window_start || a >= fake_guest_window_end))
            break;
        dst[done] = src[done];
    }
    return n - done;
}

size_t arch_copy_from_guest(void *dst, uint64_t src_va, size_t n)
{
    return fake_copy(dst, (const uint8_t *)(uintptr_t)src_va, src_va, n);
}

size_t arch_copy_to_guest(uint64_t dst_va, const void *src, size_t n)
{
    return fake_copy((uint8_t *)(uintptr_t)dst_va, src, dst_va, n);
}

/* Local APIC / SMP fakes (see fake.h). */
struct fake_mmio_write fake_mmio_log[FAKE_MMIO_LOG];
unsigned int fake_nr_mmio_writes;
uint32_t (*fake_mmio_read_hook)(uint64_t addr);
void (*fake_wfi_hook)(void);
unsigned int fake_nr_wfi;
unsigned int fake_nr_cpu_prepare, fake_nr_ap_trampoline;
uint64_t fake_last_trampoline;

uint32_t arch_mmio_read32(paddr_t p)
{
    if (fake_mmio_read_hook)
        return fake_mmio_read_hook(p.pa);
    for (unsigned int i = fake_nr_mmio_writes; i-- > 0;)
        if (i < FAKE_MMIO_LOG && fake_mmio_log[i].addr == p.pa)
            return fake_mmio_log[i].val;
    return 0;
}

void arch_mmio_write32(paddr_t p, uint32_t val)
{
    if (fake_nr_mmio_writes < FAKE_MMIO_LOG)
        fake_mmio_log[fake_nr_mmio_writes] = (struct fake_mmio_write){ p.pa, val };
    fake_nr_mmio_writes++;
}

void arch_wait_for_interrupt(void)
{
    fake_nr_wfi++;
    if (fake_wfi_hook)
        fake_wfi_hook();
}

/* The fake wait's "hlt" sits at FAKE_WFI_HLT_RIP. */
uint64_t arch_wfi_resume_rip(uint64_t rip)
{
    return rip == FAKE_WFI_HLT_RIP ? rip + 1 : 0;
}

int arch_cpu_prepare(unsigned int cpu)
{
    (void)cpu;
    fake_nr_cpu_prepare++;
    return 0;
}

int arch_cpu_alloc(unsigned int cpu)
{
    (void)cpu;
    return 0;
}

void *arch_cpu_scratch_page(unsigned int cpu)
{
    static uint8_t pages[NR_CPUS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

    return cpu < NR_CPUS ? pages[cpu] : NULL;
}

unsigned long arch_cpu_area_bytes(void)
{
    return 0;
}

int arch_ap_trampoline(unsigned int cpu, paddr_t tramp)
{
    (void)cpu;
    fake_nr_ap_trampoline++;
    fake_last_trampoline = tramp.pa;
    return 0;
}

void arch_ap_regs(unsigned int cpu, struct arch_ap_regs *r)
{
    *r = (struct arch_ap_regs){ .rip = 0xffff830000201000UL, .rsp = 0x1000 * (cpu + 1),
                                .rflags = 2, .cr0 = 0x80050033, .cr3 = 0x300000,
                                .cr4 = 0x6a0, .efer = 0xd01 };
}

uint64_t fake_guest_gdt[FAKE_GDT_CPUS][8192];
unsigned int fake_data_segs_bad;    /* mask arch_load_data_segs reports */
uint16_t fake_data_segs[4];
unsigned int arch_load_data_segs(const uint16_t sel[4])
{
    for (unsigned int i = 0; i < 4; i++)
        fake_data_segs[i] = (fake_data_segs_bad & (1u << i)) ? 0 : sel[i];
    return fake_data_segs_bad;
}
uint16_t fake_gs_sel;
bool fake_gs_bad;
uint64_t fake_gs_desc_base;
unsigned int arch_load_gs_safe(uint16_t sel)
{
    fake_gs_sel = fake_gs_bad ? 0 : sel;
    /* A selector load sets the GS base from the descriptor (null: 0). */
    arch_wrmsr(0xC0000101, fake_gs_bad || sel < 4 ? 0 : fake_gs_desc_base);
    return fake_gs_bad;
}
uint64_t fake_dr[FAKE_NR_CPUS][8];
unsigned int fake_dr_writes;
uint64_t arch_read_dr(unsigned int reg)
{
    return reg < 8 ? fake_dr[fake_cpu_id][reg] : 0;
}
void arch_write_dr(unsigned int reg, uint64_t val)
{
    if (reg < 8)
        fake_dr[fake_cpu_id][reg] = val;
    fake_dr_writes++;
}
const void *fake_ldt_base;
unsigned int fake_ldt_ents;
void arch_load_ldt(const void *base, unsigned int ents)
{
    fake_ldt_base = ents ? base : NULL;
    fake_ldt_ents = ents;
}
void arch_set_guest_gdt_entries(unsigned int cpu, unsigned int first,
                                const uint64_t *desc, unsigned int nr)
{
    if (cpu >= FAKE_GDT_CPUS)
        return;
    for (unsigned int i = 0; i < nr && first + i < 7168; i++)
        fake_guest_gdt[cpu][first + i] = desc ? desc[i] : 0;
}
