/*
 * Everything the shim asks of its L0 hypervisor. Detection scans the CPUID
 * hypervisor leaves (0x40000000 upward in 0x100 steps, where both Xen and
 * Hyper-V may appear when Xen offers viridian); the backends are chosen
 * once at boot.
 */
#ifndef MINISHIM_L0_H
#define MINISHIM_L0_H

#include <minishim/types.h>

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

/* The shim's PV console ring on Xen (hypercall/xen_console.c). */
struct xencons_interface;
int xen_pvconsole_init(void);
bool xen_pvconsole_ready(void);
void xen_pvconsole_write(const char *s, size_t len);
unsigned long xen_pvconsole_dropped(void);
/* Put up to len bytes into the ring's out[] side; returns bytes written. */
size_t xencons_ring_put(struct xencons_interface *r, const char *s, size_t len);

#endif
