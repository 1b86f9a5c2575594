/*
 * x86 side of starting application processors (arch.h: arch_cpu_prepare,
 * arch_ap_trampoline, arch_ap_regs). The logic (which CPU, when, how to
 * kick it) is shim/smp.c.
 */
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/layout.h>
#include <minishim/percpu.h>
#include <minishim/smp.h>
#include <minishim/x86.h>

uint64_t cpu_tables_setup(unsigned int cpu);
void cpu_tables_load(unsigned int cpu);
void __noreturn ap_start_c(void);

extern const char trampoline_start[], trampoline_end[];
extern char tr_gdt_desc[], tr_jmp32[], tr_jmp64[], tr_cr3[], tr_efer[],
            tr_entry[], tr_gdt[];
extern const uint32_t tr_32_off, tr_64_off;
extern char ap_start64[];
extern uint64_t boot_pml4[512];     /* boot/head.S: the shim's own L4 */

/* Read by ap_start64 (boot/trampoline.S). One AP starts at a time. */
uint64_t ap_boot_cr0, ap_boot_cr3, ap_boot_cr4, ap_boot_stack;

/* Temporary PML4 for the trampoline: must be below 4 GiB (32-bit CR3). */
static uint64_t ap_pml4[512] __aligned(4096);

static uint64_t read_cr0(void)
{
    uint64_t v;

    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static uint64_t read_cr4(void)
{
    uint64_t v;

    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

int arch_cpu_prepare(unsigned int cpu)
{
    if (cpu == 0 || cpu >= NR_CPUS)
        return -XEN_EINVAL;
    ap_boot_stack = cpu_tables_setup(cpu);
    if (!ap_boot_stack)
        return -XEN_ENOMEM;        /* no frames for its tables and stacks */
    ap_boot_cr0 = read_cr0();
    /* The shim's own page table, never a guest's (the boot CPU may be on
     * a guest L4 that the guest can later free). */
    ap_boot_cr3 = arch_virt_to_phys(boot_pml4).pa;
    ap_boot_cr4 = read_cr4();
    return 0;
}

static void put32(char *field, uint32_t base, const char *start, uint32_t v)
{
    char *p = (char *)arch_phys_to_virt(pa(base)) + (field - start);

    memcpy(p, &v, sizeof(v));
}

int arch_ap_trampoline(unsigned int cpu, paddr_t tramp)
{
    size_t len = (size_t)(trampoline_end - trampoline_start);
    uint32_t base = (uint32_t)tramp.pa;
    const uint64_t *cur = boot_pml4;
    paddr_t pml4_pa = arch_virt_to_phys(ap_pml4);
    uint64_t entry = (uint64_t)ap_start64;
    uint32_t efer = (uint32_t)arch_rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE | EFER_SCE);
    char *dst;

    (void)cpu;
    /* Real mode reaches 1 MiB; the SIPI vector names a 4 KiB page. */
    if ((tramp.pa & ~PAGE_MASK) || tramp.pa < PAGE_SIZE ||
        tramp.pa + PAGE_SIZE > 0x100000 || len > PAGE_SIZE)
        return -XEN_EINVAL;
    if (pml4_pa.pa >= (1UL << 32))
        return -XEN_EINVAL;

    /* The shim's mappings, plus the low 4 GiB at 0 for the switch (slot
     * 262 is the direct map of the same 4 GiB). */
    memcpy(ap_pml4, cur, sizeof(ap_pml4));
    ap_pml4[0] = cur[L4_SLOT_DIRECTMAP];

    dst = arch_phys_to_virt(tramp);
    memcpy(dst, trampoline_start, len);
    put32(tr_gdt_desc + 2, base, trampoline_start, base + (uint32_t)(tr_gdt - trampoline_start));
    put32(tr_jmp32, base, trampoline_start, base + tr_32_off);
    put32(tr_jmp64, base, trampoline_start, base + tr_64_off);
    put32(tr_cr3, base, trampoline_start, (uint32_t)pml4_pa.pa);
    put32(tr_efer, base, trampoline_start, efer);
    memcpy(dst + (tr_entry - trampoline_start), &entry, sizeof(entry));
    return 0;
}

void arch_ap_regs(unsigned int cpu, struct arch_ap_regs *r)
{
    (void)cpu;
    *r = (struct arch_ap_regs){
        .rip = (uint64_t)ap_start64,
        .rsp = ap_boot_stack,
        .rflags = 0x2,
        .cr0 = ap_boot_cr0,
        .cr3 = ap_boot_cr3,
        .cr4 = ap_boot_cr4,
        .efer = arch_rdmsr(MSR_EFER),
    };
}

/* First C on an AP, on its own per-CPU stack (stack-top CPU id set by
 * cpu_tables_setup on the boot CPU). */
void __noreturn ap_start_c(void)
{
    cpu_tables_load(arch_cpu_id());
    smp_ap_main();
}
