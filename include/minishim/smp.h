/*
 * Shim CPUs beyond the boot CPU (shim/smp.c, boot/smpboot.c). The IPIs
 * between them: include/minishim/ipi.h.
 *
 * Policy: shim CPU n runs guest vCPU n and is brought up when the
 * guest brings vCPU n up (pv/ calls smp_cpu_up from VCPUOP_up), not before.
 * Start methods: Xen L0 -> VCPUOP_initialise (64-bit vcpu_hvm_context) +
 * VCPUOP_up; otherwise INIT-SIPI-SIPI through the local APIC with a
 * real-mode trampoline in a low page.
 */
#ifndef MINISHIM_SMP_H
#define MINISHIM_SMP_H

#include <minishim/cpumask.h>
#include <minishim/regs.h>
#include <minishim/types.h>

/*
 * Boot CPU, after the memory map and L0 are known: local APIC, CPU list
 * from the MADT (CPU 0 = the boot CPU; nr_cpus_possible), trampoline page
 * (native start only). Registers the IPI vectors. Returns 0 or a Xen errno
 * (the shim then stays uniprocessor).
 */
struct boot_info;
int smp_init(const struct boot_info *bi, paddr_t rsdp);

/*
 * Start shim CPU cpu (1 <= cpu < nr_cpus_possible) and wait until it is
 * online. 0 on success; -XEN_EINVAL out of range, -XEN_EEXIST already
 * online, -XEN_ENODEV no way to start CPUs, -XEN_ETIMEDOUT it never came up,
 * or L0's error (Xen VCPUOP_initialise / VCPUOP_up, e.g. -XEN_ENOENT).
 */
int smp_cpu_up(unsigned int cpu);
/*
 * Take shim CPU cpu (not 0, not the caller) offline: it leaves the online
 * mask, then parks (native: halted until the next INIT; Xen: VCPUOP_down
 * on itself, resumed by the next smp_cpu_up). 0, -XEN_EINVAL, -XEN_ENOENT
 * (not online), -XEN_ETIMEDOUT.
 */
int smp_cpu_down(unsigned int cpu);

/*
 * What an online AP does besides serving IPIs (pv/: run the guest vCPU
 * pinned to it). The idle loop calls fn(cpu) each time the CPU wakes; fn
 * returns when there is nothing to run, and the CPU halts until the next
 * interrupt (wake it with ipi_call_mask to that CPU). smp_cpu_down expects
 * fn to have stopped running guest code on that CPU: it only wakes the CPU
 * and waits for it to leave the online mask.
 */
void smp_set_ap_work(void (*fn)(unsigned int cpu));

/* Run the smp-selftest (bring every CPU up, IPI checks, take them down);
 * prints "smp-selftest: PASS ..." or "smp-selftest: FAIL ...". Returns the
 * number of failures. */
int smp_selftest(void);

/* Called by boot/ on an application processor once its tables are
 * loaded, on its own stack. Never returns. */
void __noreturn smp_ap_main(void);

/* Pick the trampoline page: the highest whole 4 KiB RAM page in
 * [0x1000, 0x9f000) of bi's memory map that no boot module overlaps.
 * Returns 0 when there is none. */
uint64_t smp_pick_trampoline(const struct boot_info *bi);

#endif
