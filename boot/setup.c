/*
 * Start of day on the boot CPU: descriptor tables (GDT in Xen's layout,
 * IDT, TSS with IST stacks for #DF/NMI/#MC so that a broken stack still
 * gives a register dump), then hand-off to shim_main().
 */
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/boot.h>
#include <minishim/layout.h>
#include <minishim/page_alloc.h>
#include <minishim/percpu.h>
#include <minishim/spinlock.h>
#include <minishim/x86.h>

struct __packed tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

struct __packed idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
};

struct __packed desc_ptr {
    uint16_t limit;
    uint64_t base;
};


/*
 * Per-CPU descriptor tables and stacks. The boot CPU's are static (they
 * are needed before the frame allocator exists); an AP's come from the
 * frame allocator the first time that CPU is prepared or has its GDT
 * written (cpu_area()), so a guest pays only for the CPUs it has, not for
 * NR_CPUS of them (docs/architecture.md, "Footprint").
 */
struct cpu_tables {
    uint64_t gdt[GDT_ENTRIES];
    struct tss64 tss __aligned(128);
};
/* The stacks of one CPU, each STACK_SIZE bytes and STACK_SIZE-aligned
 * (arch_cpu_id() masks %rsp): TSS.RSP0, then the four IST stacks. */
struct cpu_stacks {
    uint8_t stack[STACK_SIZE];
    uint8_t ist[4][STACK_SIZE];
};
#define TABLE_FRAMES ((sizeof(struct cpu_tables) + PAGE_SIZE - 1) / PAGE_SIZE)
#define STACK_FRAMES (sizeof(struct cpu_stacks) / PAGE_SIZE)
#define STACK_ALIGN_FRAMES (STACK_SIZE / PAGE_SIZE)

static struct cpu_tables bsp_tables __aligned(4096);
static struct cpu_stacks bsp_stacks __aligned(STACK_SIZE);
static uint8_t bsp_scratch[PAGE_SIZE] __aligned(PAGE_SIZE);
static struct cpu_tables *cpu_tables[NR_CPUS] = { &bsp_tables };
static struct cpu_stacks *cpu_stacks[NR_CPUS] = { &bsp_stacks };
static uint8_t *cpu_scratch[NR_CPUS] = { bsp_scratch };
static struct idt_gate idt[256] __aligned(4096);
static spinlock_t cpu_area_lock = SPINLOCK_INIT;

/* One AP's area is one contiguous run: its tables, its scratch page, then
 * its stacks at the first STACK_SIZE boundary after them (the allocator has
 * no alignment, and frees nothing, so up to STACK_ALIGN_FRAMES - 1 frames
 * stay unused). */
#define AREA_FRAMES (TABLE_FRAMES + 1 + STACK_ALIGN_FRAMES - 1 + STACK_FRAMES)

void *arch_cpu_scratch_page(unsigned int cpu)
{
    return cpu < NR_CPUS ? __atomic_load_n(&cpu_scratch[cpu], __ATOMIC_ACQUIRE) : NULL;
}

unsigned long arch_cpu_area_bytes(void)
{
    return AREA_FRAMES * PAGE_SIZE;
}

/* CPU cpu's tables and stacks, allocated on first use; false when the
 * frame allocator has no room for them (the CPU then cannot start). Kept
 * for good once allocated: a CPU that goes down and up again reuses them. */
static bool cpu_area(unsigned int cpu)
{
    unsigned long flags, stack_mfn;
    bool ok = true;

    if (cpu >= NR_CPUS)
        return false;
    flags = spin_lock_irqsave(&cpu_area_lock);
    if (!cpu_tables[cpu]) {
        mfn_t m = alloc_frames_contig(AREA_FRAMES, FRAME_SHIM);

        if (mfn_valid_value(m)) {
            stack_mfn = (m.mfn + TABLE_FRAMES + 1 + STACK_ALIGN_FRAMES - 1) &
                        ~(unsigned long)(STACK_ALIGN_FRAMES - 1);
            cpu_tables[cpu] = arch_phys_to_virt(mfn_to_paddr(m));
            cpu_stacks[cpu] = arch_phys_to_virt(mfn_to_paddr(mfn(stack_mfn)));
            __atomic_store_n(&cpu_scratch[cpu], arch_phys_to_virt(mfn_to_paddr(
                             mfn(m.mfn + TABLE_FRAMES))), __ATOMIC_RELEASE);
        } else {
            ok = false;
        }
    }
    spin_unlock_irqrestore(&cpu_area_lock, flags);
    return ok;
}

/* Usable top of a shim stack: below the struct stack_top naming the CPU. */
static uint8_t *stack_init(uint8_t *stack, unsigned int cpu)
{
    struct stack_top *top = (struct stack_top *)(stack + STACK_SIZE) - 1;

    top->cpu_id = cpu;
    top->magic = STACK_TOP_MAGIC;
    return (uint8_t *)top;
}

extern char trap_stubs[];
extern char __image_start[], __image_end[];

paddr_t image_phys_start(void) { return arch_virt_to_phys(__image_start); }
paddr_t image_phys_end(void) { return arch_virt_to_phys(__image_end); }

static void gdt_set(uint64_t *gdt, unsigned int sel, uint64_t desc)
{
    gdt[sel >> 3] = desc;
}

static void gdt_init(uint64_t *gdt, struct tss64 *tss)
{
    uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;

    /* Xen's reserved descriptors (xen/arch/x86/x86_64/gdt.S). */
    gdt_set(gdt, SHIM_CS, 0x00af9b000000ffffUL);
    gdt_set(gdt, SHIM_DS, 0x00cf93000000ffffUL);
    gdt_set(gdt, FLAT_RING3_CS32, 0x00cffb000000ffffUL);
    gdt_set(gdt, FLAT_RING3_DS32, 0x00cff3000000ffffUL);
    gdt_set(gdt, FLAT_RING3_CS64, 0x00affb000000ffffUL);
    gdt_set(gdt, SHIM_CS32, 0x00cf9b000000ffffUL);
    /* 64-bit available TSS: two slots. */
    gdt_set(gdt, TSS_SEL, (limit & 0xffff) | ((base & 0xffffff) << 16) |
            (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
            (((base >> 24) & 0xff) << 56));
    gdt_set(gdt, TSS_SEL + 8, base >> 32);
}

static void idt_set(unsigned int vec, void *handler, unsigned int dpl,
                    unsigned int ist)
{
    uint64_t off = (uint64_t)handler;

    idt[vec] = (struct idt_gate){
        .off_lo = off & 0xffff,
        .sel = SHIM_CS,
        .ist = ist,
        .type_attr = 0x8e | (dpl << 5),      /* present, interrupt gate */
        .off_mid = (off >> 16) & 0xffff,
        .off_hi = off >> 32,
    };
}

static void idt_init(void)
{
    for (unsigned int v = 0; v < 256; v++)
        idt_set(v, trap_stubs + 16 * v, 0, 0);
    /* int3 and into may be used by the guest kernel directly (Xen: DPL 3). */
    idt_set(X86_EXC_BP, trap_stubs + 16 * X86_EXC_BP, 3, 0);
    idt_set(X86_EXC_OF, trap_stubs + 16 * X86_EXC_OF, 3, 0);
    /* int $0x80 from the guest (Xen: DPL 3, int80_direct_trap): pv/traps.c
     * bounces it to the guest's vector 0x80 handler. Not for devices. */
    idt_set(0x80, trap_stubs + 16 * 0x80, 3, 0);
    idt_set(X86_EXC_DF, trap_stubs + 16 * X86_EXC_DF, 0, IST_DF);
    idt_set(X86_EXC_NMI, trap_stubs + 16 * X86_EXC_NMI, 0, IST_NMI);
    idt_set(X86_EXC_MC, trap_stubs + 16 * X86_EXC_MC, 0, IST_MC);
    /* XSA-260: a #DB held back by mov/pop %ss is delivered after the next
     * instruction; after a guest's syscall that is the shim's first
     * instruction, still on the guest's %rsp. An IST stack keeps the CPU
     * from writing the frame there (shim/trap.c then ignores it). */
    idt_set(X86_EXC_DB, trap_stubs + 16 * X86_EXC_DB, 0, IST_DB);
}

int arch_cpu_alloc(unsigned int cpu)
{
    return cpu_area(cpu) ? 0 : -XEN_ENOMEM;
}

/* Fill CPU cpu's TSS, GDT and stack tops (stack-top CPU id); returns the
 * top of its per-CPU stack (TSS.RSP0). Nothing is loaded. */
uint64_t cpu_tables_setup(unsigned int cpu)
{
    struct tss64 *tss;
    uint8_t (*ist)[STACK_SIZE];

    if (!cpu_area(cpu))
        return 0;
    tss = &cpu_tables[cpu]->tss;
    ist = cpu_stacks[cpu]->ist;

    *tss = (struct tss64){ 0 };
    tss->rsp[0] = (uint64_t)stack_init(cpu_stacks[cpu]->stack, cpu);
    tss->ist[IST_DF - 1] = (uint64_t)stack_init(ist[0], cpu);
    tss->ist[IST_NMI - 1] = (uint64_t)stack_init(ist[1], cpu);
    tss->ist[IST_MC - 1] = (uint64_t)stack_init(ist[2], cpu);
    tss->ist[IST_DB - 1] = (uint64_t)stack_init(ist[3], cpu);
    tss->iomap_base = sizeof(*tss);        /* no I/O bitmap: ring 3 port I/O faults */
    gdt_init(cpu_tables[cpu]->gdt, tss);
    percpu[cpu].id = cpu;
    percpu[cpu].stack = cpu_stacks[cpu]->stack;
    return tss->rsp[0];
}

/* Load CPU cpu's GDT, IDT, segments and TR (on that CPU). */
void cpu_tables_load(unsigned int cpu)
{
    struct desc_ptr gdtr = { sizeof(uint64_t) * GDT_ENTRIES - 1,
                             (uint64_t)cpu_tables[cpu]->gdt };
    struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };

    asm volatile("lgdt %0" :: "m"(gdtr));
    asm volatile("lidt %0" :: "m"(idtr));
    /* Reload CS through a far return, then the data segments and TR. */
    asm volatile("pushq %[cs]\n\t"
                 "leaq 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "mov %[ds], %%eax\n\t"
                 "mov %%eax, %%ds\n\t"
                 "mov %%eax, %%es\n\t"
                 "mov %%eax, %%ss\n\t"
                 "xor %%eax, %%eax\n\t"
                 "mov %%eax, %%fs\n\t"
                 "mov %%eax, %%gs\n\t"
                 /* A null LDT: after reset the LDTR caches base 0, limit
                  * 0xffff, which would let guest memory at 0 act as an
                  * unvalidated LDT (call gates into ring 0). */
                 "lldt %%ax\n\t"
                 "ltr %w[tr]"
                 :: [cs] "i"(SHIM_CS), [ds] "i"(SHIM_DS), [tr] "r"(TSS_SEL)
                 : "rax", "memory");
}

/*
 * Guest descriptors (set_gdt / update_descriptor, pv/descriptor.c): the
 * guest's part of this CPU's GDT is its first 14 pages (entries below
 * FIRST_RESERVED_GDT_ENTRY); pv/ hands in descriptors it has validated.
 */
void arch_set_guest_gdt_entries(unsigned int cpu, unsigned int first,
                                const uint64_t *desc, unsigned int nr)
{
    uint64_t *gdt;

    /* Written before the vCPU's CPU first starts (VCPUOP_initialise):
     * the area is allocated here then and kept for that start. */
    if (!cpu_area(cpu))
        return;
    gdt = cpu_tables[cpu]->gdt;

    for (unsigned int i = 0; i < nr && first + i < FIRST_RESERVED_GDT_ENTRY; i++)
        gdt[first + i] = desc ? desc[i] : 0;
}

/* The guest's LDT (pv/descriptor.c): a 64-bit LDT descriptor (type 2,
 * DPL 0, two slots) at LDT_SEL in this CPU's GDT, as Xen's LDT_ENTRY. */
void arch_load_ldt(const void *base, unsigned int ents)
{
    uint64_t *gdt = cpu_tables[arch_cpu_id()]->gdt;
    uint64_t b = (uint64_t)base, limit = (uint64_t)ents * 8 - 1;

    if (!ents) {
        __asm__ volatile("lldt %w0" :: "r"(0) : "memory");
        return;
    }
    gdt[LDT_SEL >> 3] = (limit & 0xffff) | ((b & 0xffffff) << 16) | (0x82UL << 40) |
                        (((limit >> 16) & 0xf) << 48) | (((b >> 24) & 0xff) << 56);
    gdt[(LDT_SEL >> 3) + 1] = b >> 32;
    __asm__ volatile("lldt %w0" :: "r"(LDT_SEL) : "memory");
}

uint64_t cpu_tables_setup(unsigned int cpu);
void cpu_tables_load(unsigned int cpu);
void __noreturn start_of_day(uint32_t start_info_pa);

void __noreturn start_of_day(uint32_t start_info_pa)
{
    uint64_t stack_top;

    idt_init();
    stack_top = cpu_tables_setup(0);
    cpu_tables_load(0);
    percpu[0].online = true;
    cpumask_set(&cpu_online_mask, 0);
    /* Switch to the per-CPU stack the TSS names, so traps from ring 3 and
     * the boot code agree; the boot stack is left behind for good. */
    asm volatile("mov %0, %%rsp\n\t"
                 "xor %%ebp, %%ebp\n\t"
                 "call shim_main"
                 :: "r"(stack_top), "D"((uint64_t)start_info_pa)
                 : "memory");
    __builtin_unreachable();
}
