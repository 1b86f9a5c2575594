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

/*
 * Two choices are made at boot. The platform L0 (l0_kind) serves the
 * shim's PVH duties: Xen when Xen's leaves are found anywhere (hypercall
 * page, console, shutdown, vCPU bring-up), else Hyper-V, else none. The
 * flush backend (l0_flush_backend) is chosen separately, because Xen can
 * offer its Hyper-V interface (viridian) next to its own: then Hyper-V is
 * at 0x40000000 and Xen at 0x40000100 (Xen's xen/arch/x86/cpuid.c,
 * guest_cpuid()), and both flush interfaces work.
 */
enum l0_kind { L0_NONE, L0_XEN, L0_HYPERV };

/* Command line l0-flush=auto|xen|hyperv|none (shim/cmdline.c). */
enum l0_flush_use {
    L0_FLUSH_USE_AUTO,          /* see l0_setup()                          */
    L0_FLUSH_USE_XEN,           /* HVMOP_flush_tlbs; Xen must be the L0    */
    L0_FLUSH_USE_HYPERV,        /* Hyper-V flush hypercalls; Hyper-V (or
                                 * Xen's viridian) must be offered          */
    L0_FLUSH_USE_NONE,          /* no L0 flush: every remote flush by IPI  */
};

/* Pure CPUID scan; fills d. */
void l0_detect(struct l0_detect *d);

/*
 * Detect, set up the platform L0 (Xen: hypercall page) and choose the
 * flush backend. auto: Hyper-V alone -> hyperv; Xen alone -> xen; Xen with
 * viridian -> hyperv when L0 recommends its remote-flush hypercalls (CPUID
 * 0x40000004 EAX bit 2, which Xen sets only when the toolstack enabled
 * HVMPV_hcall_remote_tlb_flush), else xen. Both reach the same code in
 * Xen (paging_flush_tlb()), but the Hyper-V call names the target vCPUs,
 * so Xen pauses and flushes only those, where HVMOP_flush_tlbs takes every
 * vCPU of the domain. An explicit choice that L0 cannot serve leaves no
 * flush backend (IPIs), with the reason in l0_flush_why().
 */
void l0_setup(enum l0_flush_use use);
const struct l0_detect *l0_detected(void);
enum l0_kind l0_kind(void);
const char *l0_name(void);
enum l0_kind l0_flush_backend(void);    /* L0_NONE: no L0 flush          */
const char *l0_flush_backend_name(void);
const char *l0_flush_why(void);         /* one phrase: why this backend  */
const char *l0_flush_use_name(enum l0_flush_use use);
/*
 * Probe the flush backend against the real L0 and print one line per probe
 * plus a summary "l0: selftest ... mismatches=N" (Hyper-V: each flush
 * hypercall form, Ex with sparse and "all" VP sets, a rep List, and two
 * inputs the TLFS says must be refused). Returns the number of answers
 * that differ from the TLFS. Flushes only this CPU's own TLB entries.
 */
unsigned int l0_selftest(void);
/*
 * l0-flush-probe=N (make bench): time n (1..L0_FLUSH_PROBE_MAX) bare calls
 * of the flush backend's op, each flushing only CPU cpu (the smallest
 * request: one L0 round trip), with the TSC, and print
 *   l0: flush-probe backend=B n=N errors=E min_ns=.. median_ns=.. max_ns=..
 *       min_cycles=.. median_cycles=.. max_cycles=..
 * tsc_khz converts cycles to ns (0: the ns fields are 0). With no backend
 * it says so and times nothing. Returns the number of failed calls.
 */
#define L0_FLUSH_PROBE_MAX 1024u
unsigned int l0_flush_probe(unsigned int n, unsigned int cpu, uint64_t tsc_khz);

/* Xen L0 console (console_io). No-op when L0 is not Xen. */
void l0_console_write(const char *s, size_t len);

/*
 * Shut the shim's own domain (or QEMU) down with a Xen SHUTDOWN_* reason.
 * Xen: SCHEDOP_shutdown. Bare QEMU: isa-debug-exit at port 0xf4 with
 * (0x10 + reason), so QEMU exits with status 2*(0x10+reason)+1 (33 = poweroff,
 * 35 = reboot, 39 = crash). Never returns; halts if nothing worked.
 */
void __noreturn l0_shutdown(unsigned int reason);
/*
 * One line with the flush backend's own counts (called by l0_shutdown):
 *   l0: flush calls backend=hyperv space=N list=N space-ex=N list-ex=N
 *       all-processors=N errors=N last-status=0x...
 *   l0: flush calls backend=xen hvmop-flush-tlbs=N errors=N
 */
void l0_print_stats(void);
#define ISA_DEBUG_EXIT_PORT 0xf4
#define ISA_DEBUG_EXIT_BASE 0x10

/*
 * The L0 flush op (used by shim/flush.c only). Flush the TLBs of the shim
 * CPUs in mask (never empty, never this CPU alone) at least as much as
 * flags (L0_FLUSH_* below), va and order ask. Returns 0 when L0 has done
 * it, else -errno (the caller then uses IPIs).
 *   Xen:     HVMOP_flush_tlbs flushes every vCPU entirely (global entries
 *            included); mask, va and order cannot be expressed and are
 *            ignored: a superset of any request.
 *   Hyper-V: HvCallFlushVirtualAddress{Space,List}[Ex] (hypercall/hyperv.c).
 *   None:    -EOPNOTSUPP.
 * The flags are L0's own, so the backends need nothing from the flush
 * engine; with none of them set the request is "every non-global entry".
 */
#define L0_FLUSH_GLOBAL      (1u << 0)  /* global entries too               */
#define L0_FLUSH_VA          (1u << 1)  /* only the 2^order pages at va,
                                         * global ones included (INVLPG)    */
#define L0_FLUSH_ALL_OTHERS  (1u << 2)  /* mask is every online CPU but the
                                         * caller: L0 may take them all     */
#define L0_FLUSH_AVAILABLE   (1u << 0)  /* the backend has a flush op       */
#define L0_FLUSH_RECOMMENDED (1u << 1)  /* L0 recommends it over IPIs       */
#define L0_FLUSH_COVERS_CALLER (1u << 2) /* a successful flush also flushed
                                         * the calling CPU entirely       */
unsigned int l0_flush_caps(void);
int l0_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                 unsigned int flags);
/* Per-CPU backend set-up, run on each CPU as it comes online (the boot CPU
 * from l0_setup): Hyper-V reads this CPU's VP index. */
void l0_cpu_init(void);

/*
 * One L0 interface, as Xen's hypervisor_ops: l0_setup() picks one for the
 * platform duties and one for flushes (they differ for Xen with viridian)
 * and the l0_* functions above only call through them. A NULL member is
 * an operation that interface does not offer. Backends never call up into
 * the shim: what they need comes in as parameters.
 */
struct l0_ops {
    enum l0_kind kind;
    const char *name;
    /* Platform duties. */
    void (*console_write)(const char *s, size_t len);
    long (*shutdown)(unsigned int reason);      /* returns only on failure */
    /* Flush backend. */
    void (*cpu_init)(void);
    unsigned int (*flush_caps)(void);           /* L0_FLUSH_AVAILABLE...    */
    int (*flush_tlb)(const cpumask_t *mask, vaddr_t va, unsigned int order,
                     unsigned int flags);
    unsigned int (*selftest)(void);             /* see l0_selftest()        */
    void (*print_stats)(void);                  /* see l0_print_stats()     */
};
extern const struct l0_ops xen_l0_ops;          /* hypercall/xen.c          */
extern const struct l0_ops hyperv_l0_ops;       /* hypercall/hyperv.c       */

/* Xen backend (hypercall/xen.c). */
int xen_init(const struct l0_detect *d);
long xen_hypercall(unsigned int nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5);
/* XENMEM_* cmd on arg: every memory op the shim makes of L0 (boot and
 * guest build, ballooning), through the l0-memop-fail point. */
long xen_memory_op(unsigned int cmd, void *arg);
/* XENMEM_decrease_reservation or XENMEM_populate_physmap (op) on L0 for
 * n of the shim's own gfns, order 0 (Xen's pv-shim batch_memory_op): the
 * number L0 did (it stops at the first it cannot do), or -errno. */
long xen_reservation_op(unsigned int op, unsigned long *gfns, unsigned int n);
void xen_console_write(const char *s, size_t len);
/* True once L0 refused console_io (release Xen builds refuse domUs). */
bool xen_console_io_refused(void);
/* Bytes console_io failed for twice with an error other than -EPERM, and
 * the last such error (shutdown summary). */
unsigned long xen_console_io_lost(long *last_error);
int xen_get_hvm_param(unsigned int index, uint64_t *value);
int xen_memory_map(void *buf, unsigned int max_entries, unsigned int *nr);
long xen_shutdown(unsigned int reason);
/* Start our own vCPU vcpu in long mode with r (VCPUOP_initialise, 64-bit
 * vcpu_hvm_context, then VCPUOP_up); 0 or Xen's errno. */
struct arch_ap_regs;
int xen_vcpu_start(unsigned int vcpu, const struct arch_ap_regs *r);
/* VCPUOP_up / VCPUOP_down / VCPUOP_is_up (cmd) on our vCPU vcpu. */
int xen_vcpu_op(int cmd, unsigned int vcpu);
/* HVMOP_flush_tlbs: 0 or -errno (counted for xen_l0_ops.print_stats). */
int xen_flush_tlb(void);
/* L0's wall time now (hypercall/xen_time.c) from L0's shared_info (wc_*
 * plus L0's pvclock for vCPU 0; call on the boot CPU): the one
 * l0_evtchn_init mapped, else mapped now at the shim frame 'frame'
 * (XENMAPSPACE_shared_info; the frame's RAM is given up). 0 or an errno. */
int xen_wallclock(paddr_t frame, uint64_t *sec, uint32_t *nsec);

/* Hyper-V backend (hypercall/hyperv.c). */
int hyperv_init(const struct l0_detect *d);
bool hyperv_flush_recommended(void);
uint32_t hyperv_recommendations(void);  /* CPUID base+4 EAX, read after init */
/* hyperv_flush_tlb() calls by form: 0 Space, 1 List, 2 SpaceEx, 3 ListEx
 * (the self-test's probes are not counted). */
#define HV_NR_FORMS 4
struct hyperv_stats {
    uint64_t calls[HV_NR_FORMS];
    uint64_t all_processors;    /* calls with HV_FLUSH_ALL_PROCESSORS    */
    uint64_t errors;            /* calls that did not succeed (-> IPIs)  */
    uint64_t last_bad_status;   /* the last HV_STATUS_* other than success */
};
void hyperv_get_stats(struct hyperv_stats *st);
unsigned int hyperv_selftest(void);     /* see l0_selftest()             */
int hyperv_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                     unsigned int flags);

/* The shim's PV console ring on Xen (hypercall/xen_console.c). */
struct xencons_interface;
int xen_pvconsole_init(void);
bool xen_pvconsole_ready(void);
void xen_pvconsole_write(const char *s, size_t len);
/* Take up to len input bytes from the ring's in[] side (never waits). */
size_t xen_pvconsole_read(char *buf, size_t len);
unsigned long xen_pvconsole_dropped(void);
/* Kicks of L0's console port that failed twice (their bytes stay in the
 * ring for the next kick), and the last error. */
unsigned long xen_pvconsole_kick_failures(long *last_error);
/* Put up to len bytes into the ring's out[] side; returns bytes written. */
size_t xencons_ring_put(struct xencons_interface *r, const char *s, size_t len);

/*
 * Event channels from L0 Xen (hypercall/xen_evtchn.c). L0's shared_info is
 * mapped in the shim and L0 raises L0_UPCALL_VECTOR (HVM_PARAM_CALLBACK_IRQ,
 * vector type: no LAPIC EOI) while the shim's vCPU has an event pending;
 * l0_evtchn_upcall is that vector's handler (registered by shim/main.c with
 * trap_set_irq_handler) and calls the handler bound to each pending port.
 * Every function answers -XEN_ENODEV until l0_evtchn_init succeeded (no Xen
 * L0: QEMU-direct, Hyper-V), -XEN_EINVAL for port 0 or a port >=
 * L0_EVTCHN_MAX_PORTS. Ports stay masked in L0's shared_info until bound.
 */
#define L0_UPCALL_VECTOR     0xf4   /* beside the IPI vectors of apic.h */
#define L0_EVTCHN_MAX_PORTS  1024
struct cpu_regs;
struct evtchn_status;
typedef void (*l0_evtchn_handler_fn)(uint32_t port, void *arg);
int l0_evtchn_init(unsigned int vector);
/* After a resume in a new L0 domain: shared_info mapped again, every port
 * masked, the upcall vector set again, no port bound. -ENODEV before init. */
int l0_evtchn_resume(void);
bool l0_evtchn_ready(void);
/* L0's shared_info as l0_evtchn_init mapped it (NULL: not mapped). There
 * is one per domain: mapping it again elsewhere would move it. */
struct shared_info *l0_shared_info(void);
/* Call fn(port, arg) from the upcall (interrupt context, CPU 0, interrupts
 * off) each time L0 port fires, then unmask it; -XEN_EEXIST if bound. */
int l0_evtchn_bind(uint32_t port, l0_evtchn_handler_fn fn, void *arg);
int l0_evtchn_unmask(uint32_t port);
int l0_evtchn_send(uint32_t port);                      /* EVTCHNOP_send   */
/* Mask port in L0 and drop its handler (the port stays open in L0). */
void l0_evtchn_unbind(uint32_t port);
/* EVTCHNOP_<cmd> on L0 with arg as given: L0's rc (-ENODEV before
 * l0_evtchn_init). */
int l0_evtchn_op(int cmd, void *arg);
int l0_evtchn_status(uint32_t port, struct evtchn_status *st);
void l0_evtchn_upcall(struct cpu_regs *regs);
unsigned long l0_evtchn_nr_upcalls(void);
unsigned long l0_evtchn_nr_spurious(void);      /* pending, nobody bound */
void l0_evtchn_reset(void);                     /* unit tests          */
int xen_set_hvm_param(unsigned int index, uint64_t value);
/* Move the page behind our frame from_gfn to frame to_gfn (XENMEM_
 * add_to_physmap, XENMAPSPACE_gmfn; L0 frees what was at to_gfn). */
int xen_move_frame(uint64_t from_gfn, uint64_t to_gfn);
/* The shim domain's id in L0 (CPUID base+4); -ENODEV without a Xen L0. */
int xen_domid(uint16_t *out);
/* GNTTABOP_query_size on L0 (the shim domain's own grant table). */
struct gnttab_query_size;
long xen_gnttab_query_size(struct gnttab_query_size *q);
/* Map shared frame idx of L0's grant table for us at gpfn
 * (XENMAPSPACE_grant_table); 0 or L0's errno. */
int xen_map_grant_frame(unsigned int idx, uint64_t gpfn);

#endif
