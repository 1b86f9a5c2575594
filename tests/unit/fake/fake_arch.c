/*
 * Host implementation of arch.h for the unit tests. See fake.h.
 */
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

#define MAX_CPUID 64
#define MAX_MSR 64

static struct { uint32_t leaf; struct cpuid_regs r; } cpuid_tab[MAX_CPUID];
static unsigned int nr_cpuid;
static struct { uint32_t msr; uint64_t val; unsigned int writes; } msr_tab[MAX_MSR];
static unsigned int nr_msr;
static uint64_t cr3;

void fake_reset(void)
{
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
    fake_irqs_on = true;
    cr3 = 0;
    fake_cpu_id = 0;
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
void arch_write_cr3(uint64_t v) { cr3 = v; fake_nr_local_flushes++; }
void arch_invlpg(vaddr_t v) { (void)v; fake_nr_invlpg++; }
void arch_flush_tlb_local(bool global) { (void)global; fake_nr_local_flushes++; }

unsigned long arch_irq_save(void)
{
    unsigned long was = fake_irqs_on;

    fake_irqs_on = false;
    return was;
}

void arch_irq_restore(unsigned long flags) { fake_irqs_on = flags; }
bool arch_irqs_enabled(void) { return fake_irqs_on; }
void arch_cpu_relax(void) { }

uint64_t arch_rdtsc(void)
{
    static uint64_t tsc;

    return tsc += 1000;
}

void arch_halt_forever(void)
{
    fake_nr_halts++;
    if (fake_halt_jmp)
        longjmp(*fake_halt_jmp, 1);
    abort();
}

void *arch_phys_to_virt(paddr_t p)
{
    if (p.pa >= FAKE_MEM_SIZE)
        abort();            /* the logic read outside "RAM": a test bug or a real one */
    return fake_mem + p.pa;
}

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

/* The fake "image" occupies 2 MiB..2.25 MiB of fake RAM, as the real one. */
paddr_t image_phys_start(void) { return pa(0x200000); }
paddr_t image_phys_end(void) { return pa(0x240000); }

unsigned int fake_cpu_id;
unsigned int arch_cpu_id(void) { return fake_cpu_id; }
