/*
 * Per-CPU data. Shim CPU n runs guest vCPU n (pinned 1:1, as Xen's shim).
 * Each subsystem adds its own fields here, grouped and commented by owner.
 *
 * Finding the current CPU: every shim stack (the per-CPU stack TSS.RSP0
 * names, and the IST stacks) is STACK_SIZE bytes, STACK_SIZE-aligned, and
 * keeps the CPU number in its top 16 bytes (struct stack_top), so
 * arch_cpu_id() works on any shim stack without trusting the guest's GS.
 */
#ifndef MINISHIM_PERCPU_H
#define MINISHIM_PERCPU_H

#include <minishim/arch.h>
#include <minishim/cpumask.h>

#define STACK_SIZE  (32u * 1024)

struct stack_top {
    uint32_t cpu_id;
    uint32_t magic;             /* STACK_TOP_MAGIC: catches a foreign stack */
    uint64_t reserved;
};
#define STACK_TOP_MAGIC 0x5354434bu  /* "STCK" */

struct vcpu;

struct percpu {
    unsigned int id;
    bool online;                /* running shim code, takes IPIs          */
    uint32_t apic_id;           /* local APIC / x2APIC id                  */
    uint32_t acpi_id;
    uint8_t *stack;             /* STACK_SIZE bytes, STACK_SIZE-aligned    */
    struct vcpu *vcpu;          /* the guest vCPU this CPU runs (pv/)      */
};

extern struct percpu percpu[NR_CPUS];
extern cpumask_t cpu_online_mask;
extern unsigned int nr_cpus_possible;   /* from the MADT / L0               */


static inline struct percpu *this_cpu(void)
{
    return &percpu[arch_cpu_id()];
}

#endif
