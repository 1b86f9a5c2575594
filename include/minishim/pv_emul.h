/*
 * Instruction emulation for the PV guest beyond pv/traps.c's own:
 * port I/O (pv/emul_io.c), Xen's pv/emul-priv-op.c rules.
 */
#ifndef MINISHIM_PV_EMUL_H
#define MINISHIM_PV_EMUL_H

#include <minishim/pv.h>

enum pv_emul_rc {
    PV_EMUL_NONE,       /* not ours, or not permitted: the caller goes on
                           (in the end #GP(0) to the guest, as Xen)      */
    PV_EMUL_DONE,       /* emulated; regs updated                       */
    PV_EMUL_FAULT,      /* deliver *fault to the guest (rip unchanged)  */
};

struct pv_emul_fault {
    unsigned int vector;    /* X86_EXC_GP or X86_EXC_PF                  */
    uint32_t ec;            /* #PF: W bit only; the caller adds U        */
    uint64_t cr2;
};

/* #GP(0) from guest context: in/out/ins/outs (any size, rep) with Xen's
 * permission checks (IOPL from PHYSDEVOP_set_iopl against the guest's
 * ring, then the PHYSDEVOP_set_iobitmap bitmap). */
enum pv_emul_rc pv_emulate_io(struct vcpu *v, struct cpu_regs *regs,
                              struct pv_emul_fault *fault);

/* A #GP(0) from guest context that real hardware raises as #SS(0): a
 * non-canonical stack reference (pv/stack_fault.c). */
bool pv_gp_is_stack_fault(struct vcpu *v, struct cpu_regs *regs);

/* The domain's latched port state (RTC index, PCI CF8): back to zero. */
void pv_emul_io_reset(void);

/*
 * The guest's LDT (pv/descriptor.c). pv_ldt_changed: the pv_mm_config
 * ldt_changed hook (MMUEXT_SET_LDT, NEW_BASEPTR): drop the faulted-in
 * pages, reload the LDTR. pv_ldt_destroy: vCPU teardown. pv_ldt_fault:
 * for a #GP from guest context with error code ec: 1 = an LDT page was
 * faulted in (or the LDTR loaded), retry the instruction; 0 = deliver
 * the #GP as it is; -1 = deliver #PF at *cr2 instead (Xen
 * handle_ldt_mapping_fault).
 */
void pv_ldt_changed(struct pv_mm_vcpu_state *mm);
void pv_ldt_destroy(struct vcpu *v);
int pv_ldt_fault(struct vcpu *v, uint32_t ec, uint64_t *cr2);

/* Descriptor tables per vCPU (pv/descriptor.c). pv_set_gdt: Xen's
 * pv_set_gdt (set_gdt and VCPUOP_initialise): 0 or -XEN_EINVAL.
 * pv_vcpu_selector_ok: pv_selector_ok against v's GDT/LDT. */
int pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int entries);
bool pv_vcpu_selector_ok(struct vcpu *v, uint16_t sel, bool code);

/* VCPUOP_initialise's data selectors (DS, ES, FS, GS), loaded by
 * pv_load_initial_segments on the vCPU's CPU right before its first entry
 * (Xen load_segments: a faulting one enters the failsafe callback). */
void pv_set_initial_segments(struct vcpu *v, const uint16_t sel[4]);
void pv_load_initial_segments(struct vcpu *v);

/* At most this many repetitions of rep ins/outs per trap; the rest runs
 * when the guest re-executes the instruction (rip stays on it). */
#define PV_EMUL_REP_BATCH 1024

#endif
