/*
 * The guest-facing side: the one PV domain the shim runs and its vCPUs
 * (state Xen keeps in struct domain / struct vcpu / arch.pv). pv/ owns
 * these; other layers only see the opaque struct vcpu pointer in percpu.
 */
#ifndef MINISHIM_PV_H
#define MINISHIM_PV_H

#include <minishim/xen-public.h>
#include <xen/vcpu.h>
#include <minishim/cpumask.h>
#include <minishim/percpu.h>
#include <minishim/pv_mm.h>
#include <minishim/regs.h>
#include <minishim/spinlock.h>
#include <minishim/types.h>

/* Guest vCPU n runs on shim CPU n; vcpu_info starts in shared_info, which
 * has room for XEN_LEGACY_MAX_VCPUS (VCPUOP_register_vcpu_info may move
 * it, but a vCPU beyond those slots is not offered). */
#define PV_MAX_VCPUS (NR_CPUS < XEN_LEGACY_MAX_VCPUS ? NR_CPUS : XEN_LEGACY_MAX_VCPUS)

/* Pseudo vector trap_entry() sees for a SYSCALL (boot/pv_entry.S). */
#define PV_VEC_SYSCALL   0x100
#define PV_VEC_SYSCALL32 0x101      /* SYSCALL from compatibility mode (CSTAR) */
/* int $0x80 arrives through a DPL-3 IDT gate (boot/setup.c), as in Xen. */
#define PV_VEC_INT80   0x80

struct vcpu {
    unsigned int id;
    struct cpu_regs regs;           /* guest state while in the shim       */
    bool kernel_mode;               /* guest kernel (true) or guest user    */
    uint64_t kernel_ss, kernel_sp;  /* stack_switch                        */
    struct trap_info traps[256];    /* set_trap_table; address 0 = none    */
    uint64_t event_callback, failsafe_callback, syscall_callback;
    uint64_t nmi_callback;
    /* CALLBACKTYPE_syscall32 / _sysenter: compat user space (a SYSCALL
     * from a 32-bit code segment; SYSENTER, Intel only); Xen's
     * syscall32_disables_events / sysenter_disables_events. */
    uint64_t syscall32_callback, sysenter_callback;
    bool syscall32_mask_events, sysenter_mask_events;
    bool syscall_mask_events;       /* CALLBACKF_mask_events on syscall     */
    bool failsafe_mask_events;
    uint64_t guest_table;           /* kernel L4 (cr3 value) before the MMU
                                       holds it; then mm.kernel_l4 rules   */
    struct pv_mm_vcpu_state mm;     /* base pointers, LDT (pv/mm.c)         */
    struct vcpu_info *vcpu_info;    /* in shared_info, or registered (shim
                                       pointer into vcpu_info_mfn)         */
    mfn_t vcpu_info_mfn;            /* VCPUOP_register_vcpu_info frame (0:
                                       none); holds a writable type ref    */
    uint64_t fs_base, gs_base_kernel, gs_base_user;
    uint64_t tsc_aux;               /* MSR_TSC_AUX (pv/msr.c)              */
    bool fpu_ts;                    /* fpu_taskswitch: virtual CR0.TS       */
    uint64_t debugreg[8];
    unsigned int iopl;              /* physdev_op set_iopl (0..3)           */
    uint64_t iobmp;                 /* PHYSDEVOP_set_iobitmap: guest va     */
    unsigned int iobmp_limit;       /*   and nr_ports (pv/emul_io.c)        */
    bool timer_set;
    uint64_t timer_deadline;        /* ns, set_timer_op / vcpu_op           */
    uint64_t poll_deadline;         /* ns, SCHEDOP_poll timeout (0: none)   */
    uint64_t periodic_period;       /* ns, VCPUOP_set_periodic_timer (0: off) */
    uint64_t periodic_last_event;   /* ns, last periodic VIRQ_TIMER (Xen)   */
    uint64_t timer_gen;             /* bumped by every timer change        */
    uint64_t timer_checked_gen;     /* timer_gen at the last full check    */
    unsigned int in_multicall;
    bool initialised;               /* Xen is_initialised (VCPUOP_initialise) */
    bool down;                      /* Xen _VPF_down; parked in the shim    */
    bool started;                   /* its shim CPU was brought up for it   */
    /* Events and scheduling (pv/event.c, pv/vcpu.c). */
    evtchn_port_t virq_to_evtchn[NR_VIRQS]; /* Xen: per-vCPU VIRQ ports;
                                       global VIRQs live in vCPU 0's       */
    bool blocked;                   /* Xen _VPF_blocked: in block/poll      */
    int poll_evtchn;                /* Xen poll_evtchn: the one port polled,
                                       -1 several, 0 none                  */
    bool parked;                    /* not running guest or hypercall code
                                       (down, or never entered)            */
    struct vcpu_runstate_info runstate;     /* Xen accounting, pv_now_ns() */
    uint64_t runstate_guest;        /* registered area (guest VA), 0: none  */
    uint64_t time_info_guest;       /* VCPUOP_register_vcpu_time_memory_area
                                       (guest VA), 0: none                 */
    bool time_info_pending;         /* registered by another vCPU: write it
                                       when v next runs                    */
    int runstate_lock;              /* spinlock word for runstate           */
    /* VCPUOP_send_nmi: Xen's nmi_pending, and its NMI bit of
     * async_exception_mask (set while the guest's NMI handler runs,
     * cleared by HYPERVISOR_iret). */
    bool nmi_pending, nmi_masked;
};

struct pv_console_ring;

/* Xen's NR_DOMAIN_WATCHDOG_TIMERS (xen/include/xen/sched.h). */
#define PV_NR_WATCHDOGS 2

struct domain {
    bool built;
    unsigned long nr_pages, max_pages;
    unsigned long *p2m;             /* shim pointer to the guest's P2M      */
    struct shared_info *shared_info;
    mfn_t shared_info_mfn;
    unsigned long vm_assist;        /* VMASST_TYPE_* bits                   */
    uint64_t created_ns;            /* system time at build (vtsc_offset)   */
    unsigned int shutdown_code;     /* SCHEDOP_shutdown_code (~0: none)     */
    bool has_shutdown_code;
    uint64_t virt_start, virt_end;  /* initial mapping                      */
    struct start_info *start_info;  /* shim pointer to the guest's page  */
    mfn_t console_mfn, store_mfn;
    evtchn_port_t console_port, store_port;
    domid_t domid;                  /* the shim domain's id in L0; 0: none  */
    /* SCHEDOP_watchdog (pv/watchdog.c): slots in use (bit n: id n + 1)
     * and their deadlines (ns); changed under watchdog_lock. */
    spinlock_t watchdog_lock;
    uint32_t watchdog_inuse;
    uint64_t watchdog_deadline[PV_NR_WATCHDOGS];
    bool watchdog_fired;
    unsigned int nr_vcpus;
    struct vcpu vcpus[PV_MAX_VCPUS];
};

extern struct domain pv_dom;

/* The vCPU this shim CPU runs. */
struct vcpu *pv_current(void);

/* Xen's rcu_lock_domain_by_any_id() as a shim's guest meets it: only
 * DOMID_SELF or the domain's own id name a domain it can see. */
static inline bool pv_dom_is_self(domid_t dom)
{
    return dom == DOMID_SELF || dom == pv_dom.domid;
}

/* Machine-to-physical table the guest reads at RO_MPT_VIRT_START. */
extern unsigned long *pv_m2p;
extern unsigned long pv_m2p_entries;
/* Its first frame: the table is machine-contiguous (machphys_mfn_list). */
extern mfn_t pv_m2p_base;

/* Copy the shim's reserved L4 slots (256..271) into a guest L4: RO_MPT in
 * slot 256 (user-readable, read-only), the rest supervisor-only. The PV
 * MMU calls this for every L4 it validates. */
void pv_init_xen_l4_slots(uint64_t *l4);

/* Trap and hypercall entry from guest context (registered with
 * trap_set_guest_handler). */
void pv_guest_trap(struct cpu_regs *regs);

/* cr3 values of v's kernel and user page tables (user: 0 when none). */
uint64_t pv_kernel_cr3(const struct vcpu *v);
uint64_t pv_user_cr3(const struct vcpu *v);

/* Hand the built domain's page tables to the PV MMU (pv/mm.c): type and
 * pin the initial L4 as Xen's builder does. 0 or a negative Xen errno. */
int pv_mm_setup(void);

/* Start the built domain on this CPU's vCPU; never returns. */
void __noreturn pv_run(void);

/* Crash the guest: print why and shut the shim down (SHUTDOWN_crash). */
void __noreturn pv_domain_crash(const char *fmt, ...) __printf(1, 2);

#endif
