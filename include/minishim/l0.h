/*
 * Everything the shim asks of its L0 hypervisor. Detection scans the CPUID
 * hypervisor leaves (0x40000000 upward in 0x100 steps, where both Xen and
 * Hyper-V may appear when Xen offers viridian); the backends are chosen
 * once at boot.
 */
#ifndef MINISHIM_L0_H
#define MINISHIM_L0_H

#include <minishim/cpumask.h>

#define CPUID_HV_FIRST 0x40000000u
#define CPUID_HV_LAST  0x4000ff00u
#define CPUID_HV_STEP  0x100u

struct l0_detect {
    bool hv_bit;                /* CPUID.1:ECX[31]                         */
    bool xen;
    uint32_t xen_base;          /* CPUID leaf of the Xen signature         */
    uint16_t xen_major, xen_minor;
    uint32_t xen_hcall_msr;     /* leaf base+2: MSR to set the hypercall page */
    uint32_t xen_hcall_pages;
    bool hyperv;
    uint32_t hyperv_base;
    uint32_t hyperv_max_leaf;
    uint32_t hyperv_interface;  /* "Hv#1" = 0x31237648 */
    char other_sig[13];         /* a signature we do not drive (e.g. KVMKVMKVM) */
    uint32_t other_base;
};

enum l0_kind { L0_NONE, L0_XEN, L0_HYPERV };

/* Pure CPUID scan; fills d. */
void l0_detect(struct l0_detect *d);

/* Detect and set up the backend (Xen: hypercall page). */
void l0_init(void);
const struct l0_detect *l0_detected(void);
enum l0_kind l0_kind(void);
const char *l0_name(void);

/* Xen L0 console (console_io). No-op when L0 is not Xen. */
void l0_console_write(const char *s, size_t len);

/*
 * Shut the shim's own domain (or QEMU) down with a Xen SHUTDOWN_* reason.
 * Xen: SCHEDOP_shutdown. Bare QEMU: isa-debug-exit at port 0xf4 with
 * (0x10 + reason), so QEMU exits with status 2*(0x10+reason)+1 (33 = poweroff,
 * 35 = reboot, 39 = crash). Never returns; halts if nothing worked.
 */
void __noreturn l0_shutdown(unsigned int reason);
#define ISA_DEBUG_EXIT_PORT 0xf4
#define ISA_DEBUG_EXIT_BASE 0x10

/*
 * The L0 flush op (used by shim/flush.c only). Flush the TLBs of the shim
 * CPUs in mask (never empty, never this CPU alone) as a flush_request with
 * flags (FLUSH_* from flush.h, whitelisted), va and order would, or more.
 * Returns 0 when L0 has done it, else -errno (the caller then uses IPIs).
 *   Xen:     HVMOP_flush_tlbs flushes every vCPU entirely (global entries
 *            included); mask, va and order cannot be expressed and are
 *            ignored: a superset of any request.
 *   Hyper-V: HvCallFlushVirtualAddress{Space,List}[Ex] (hypercall/hyperv.c).
 *   None:    -EOPNOTSUPP.
 */
#define L0_FLUSH_AVAILABLE   (1u << 0)  /* the backend has a flush op       */
#define L0_FLUSH_RECOMMENDED (1u << 1)  /* L0 recommends it over IPIs       */
unsigned int l0_flush_caps(void);
int l0_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                 unsigned int flags);
/* Per-CPU backend set-up, run on each CPU as it comes online (the boot CPU
 * from l0_init): Hyper-V reads this CPU's VP index. */
void l0_cpu_init(void);

/* Xen backend (hypercall/xen.c). */
int xen_init(const struct l0_detect *d);
long xen_hypercall(unsigned int nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5);
void xen_console_write(const char *s, size_t len);
/* True once L0 refused console_io (release Xen builds refuse domUs). */
bool xen_console_io_refused(void);
int xen_get_hvm_param(unsigned int index, uint64_t *value);
int xen_memory_map(void *buf, unsigned int max_entries, unsigned int *nr);
long xen_shutdown(unsigned int reason);
/* Start our own vCPU vcpu in long mode with r (VCPUOP_initialise, 64-bit
 * vcpu_hvm_context, then VCPUOP_up); 0 or Xen's errno. */
struct arch_ap_regs;
int xen_vcpu_start(unsigned int vcpu, const struct arch_ap_regs *r);
/* VCPUOP_up / VCPUOP_down / VCPUOP_is_up (cmd) on our vCPU vcpu. */
int xen_vcpu_op(int cmd, unsigned int vcpu);
/* HVMOP_flush_tlbs: 0 or -errno. */
int xen_flush_tlb(void);

/* Hyper-V backend (hypercall/hyperv.c). */
int hyperv_init(const struct l0_detect *d);
void hyperv_cpu_init(void);
bool hyperv_flush_recommended(void);
int hyperv_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                     unsigned int flags);

/* The shim's PV console ring on Xen (hypercall/xen_console.c). */
struct xencons_interface;
int xen_pvconsole_init(void);
bool xen_pvconsole_ready(void);
void xen_pvconsole_write(const char *s, size_t len);
unsigned long xen_pvconsole_dropped(void);
/* Put up to len bytes into the ring's out[] side; returns bytes written. */
size_t xencons_ring_put(struct xencons_interface *r, const char *s, size_t len);

#endif
