/*
 * The PV hypercalls the shim serves (Xen's argument lists, guest pointers
 * as uint64_t guest virtual addresses). Each returns 0 / a value or a
 * negative Xen errno, as Xen 4.17 does for a 64-bit PV domU.
 */
#ifndef MINISHIM_PV_HYPERCALL_H
#define MINISHIM_PV_HYPERCALL_H

#include <minishim/pv.h>

#define PV_NR_HYPERCALLS 64

/* Dispatch hypercall nr with up to six arguments (-XEN_ENOSYS if none). */
long pv_do_hypercall(struct cpu_regs *regs, unsigned int nr,
                     const unsigned long args[6]);
/* Handle the SYSCALL the guest kernel made: dispatch on regs->rax. */
void pv_hypercall(struct cpu_regs *regs);

long do_console_io(unsigned int cmd, unsigned int count, uint64_t buf);
long do_sched_op(int cmd, uint64_t arg);
/* The legacy hypercalls 6, 16 and 19 (Xen's *_compat). */
long do_sched_op_compat(int cmd, unsigned long arg);
long do_event_channel_op_compat(uint64_t arg);
long do_physdev_op_compat(uint64_t arg);
/* nmi_op (pv/traps.c): the NMI callback, as CALLBACKTYPE_nmi. */
long do_nmi_op(unsigned int cmd, uint64_t arg);
long do_xen_version(int cmd, uint64_t arg);
long do_set_trap_table(uint64_t traps);
long do_set_callbacks(unsigned long event, unsigned long failsafe,
                      unsigned long syscall);
long do_callback_op(int cmd, uint64_t arg);
long do_stack_switch(unsigned long ss, unsigned long esp);
long do_fpu_taskswitch(int set);
long do_set_segment_base(unsigned int which, unsigned long base);
long do_vm_assist(unsigned int cmd, unsigned int type);
long do_multicall(struct cpu_regs *regs, uint64_t call_list, unsigned int nr_calls);
long do_memory_op(unsigned long cmd, uint64_t arg);
long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg);
long do_event_channel_op(int cmd, uint64_t arg);
long do_set_debugreg(int reg, unsigned long value);
long do_get_debugreg(int reg);
/* pv/debugreg.c: set_debugreg for v (the current vCPU, or one being
 * initialised); the reserved-bit rules for %dr6/%dr7; the register reset
 * state; VCPUOP_initialise's debugreg[]; loading v's registers on its
 * CPU; merging a guest #DB's %dr6 (before the bounce). */
long pv_set_debugreg(struct vcpu *v, int reg, unsigned long value);
uint64_t pv_dr6_adjust(uint64_t dr6);
uint64_t pv_dr7_adjust(uint64_t dr7);
void pv_debugreg_reset(struct vcpu *v);
void pv_debugreg_set_context(struct vcpu *v, const uint64_t dr[8]);
void pv_debugreg_load(const struct vcpu *v);
void pv_debug_exception(struct vcpu *v);
long do_physdev_op(int cmd, uint64_t arg);
long do_iret(struct cpu_regs *regs);
long do_set_gdt(uint64_t frame_list, unsigned int entries);
long do_update_descriptor(uint64_t maddr, uint64_t desc);
/* pv/sysctl.c: an unprivileged domU's sysctl, plus debug key 'f'. */
long do_sysctl(uint64_t arg);

/* pv/traps.c: the PV CPUID policy applied to host leaf values (Xen's
 * PV featureset: features a PV guest must not see are cleared). */
struct cpuid_regs;
void pv_cpuid_policy(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);

/* Descriptors (pv/descriptor.c). */
bool pv_check_descriptor(uint64_t *desc);
int pv_validate_seg_desc_page(void *page);
void pv_gdt_reset(void);
bool pv_selector_ok(uint16_t sel, bool code);

/* Console (pv/console.c). */
void pv_console_init(void);
/* Drain the guest's console ring (start_info console page) to the shim
 * console; called on EVTCHNOP_send to its port. */
void pv_console_kick(void);
/* Move console input (console_read) into the guest's ring, notifying it. */
void pv_console_poll_input(void);
/* Drain the ring and flush half lines before the guest stops. */
void pv_console_drain_final(void);

/* Event channels (pv/event.c). */
void pv_evtchn_reset(void);
/* Allocate a port bound to the shim itself (console); 0 on failure. */
evtchn_port_t pv_evtchn_alloc_shim_port(void (*notify)(void));
/* Boot, after the domain is built (l0_evtchn_init done): the guest's port
 * numbers and interdomain channels become L0's (pv/event.c). 0, or
 * -ENODEV without L0 event channels (the port space stays the shim's). */
long pv_evtchn_use_l0(void);
bool pv_evtchn_is_l0(void);
void pv_evtchn_set_shim_remote(evtchn_port_t p, domid_t dom, evtchn_port_t rport);
/* Mark port pending and raise the upcall as Xen's evtchn_set_pending. */
void pv_evtchn_set_pending(evtchn_port_t port);
bool pv_evtchn_port_in_range(evtchn_port_t port);
bool pv_evtchn_is_pending(evtchn_port_t port);
/* Raise per-vCPU VIRQ virq (VIRQ_TIMER, VIRQ_DEBUG) on v if v bound it
 * (Xen send_guest_vcpu_virq). Any CPU, any interrupt state; kicks v's shim
 * CPU when v runs or blocks elsewhere. */
void pv_send_vcpu_virq(struct vcpu *v, unsigned int virq);
/* VCPUOP_register_vcpu_info, the event part: copy v's vcpu_info to nvi,
 * switch to it, mark every selector and the upcall pending (Xen
 * map_vcpu_info). */
void pv_evtchn_move_vcpu_info(struct vcpu *v, struct vcpu_info *nvi);
/* SCHEDOP_poll for the current vCPU v (Xen do_poll): 0 or -XEN_E*. */
long pv_evtchn_poll(struct vcpu *v, uint64_t ports_gva, unsigned int nr_ports,
                    uint64_t timeout);
/* v's poll deadline passed: wake it if it still polls (poll_timer_fn). */
void pv_evtchn_poll_expired(struct vcpu *v);

#endif
