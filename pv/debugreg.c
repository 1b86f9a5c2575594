/*
 * Guest debug registers: the set_debugreg/get_debugreg hypercalls, their
 * values in VCPUOP_initialise, and #DB delivery. Facts from Xen 4.17:
 * set_debugreg() (xen/arch/x86/pv/misc-hypercalls.c), x86emul_read_dr()
 * (xen/arch/x86/pv/emul-priv-op.c), do_debug() (xen/arch/x86/traps.c),
 * activate_debugregs(), and the %dr6/%dr7 reserved-bit rules
 * (x86_adj_dr6_rsvd/x86_adj_dr7_rsvd, x86_merge_dr6 in later Xen).
 *
 * Where they live: guest vCPU n runs only on shim CPU n, so its %dr0-%dr3
 * and %dr7 are loaded into that CPU's registers when the vCPU first enters
 * guest context (pv_debugreg_load from pv_vcpu_enter) and on every
 * set_debugreg, and then simply stay there: there is no context switch to
 * save or restore them. They also stay live while the shim runs for the
 * vCPU, as in Xen. That is safe because:
 *  - every breakpoint address is a guest address (guest_access_ok, Xen's
 *    breakpoint_addr_ok), a breakpoint covers at most 8 naturally aligned
 *    bytes and the shim's range is 4 GiB aligned at both ends, so an
 *    instruction breakpoint can never match shim code or a data breakpoint
 *    shim data;
 *  - a data breakpoint can match when the shim itself reads or writes
 *    guest memory through a guest address (copy_to_guest and friends).
 *    That #DB is a trap taken in shim context, on its own IST stack
 *    (XSA-260); shim/trap.c resets %dr6, notes it (rate limited) and goes
 *    on, and the guest never sees it - Xen's "Hit #DB in Xen context";
 *  - the general-detect bit (GD), which would turn the shim's own %dr
 *    accesses into #DB, is refused (-EPERM), as in Xen.
 * I/O breakpoints (R/W = 10b) need the guest's CR4.DE, which a minishim
 * guest never has (its CR4 reads show DE clear), so Xen's answer for that
 * case applies: -EPERM, and no emulated I/O breakpoints (dr7_emul).
 */
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/pv.h>
#include <minishim/pv_domain.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_vcpu.h>
#include <minishim/x86.h>
#include <minishim/pv_cpuid.h>
#include <minishim/pv_debugreg.h>

/* Architectural %dr6/%dr7 bits (SDM vol. 3 17.2; Xen x86-defns.h). */
#define DR6_BP_MASK     0xfUL                   /* B0-B3 */
#define DR6_BD          (1UL << 13)
#define DR6_BS          (1UL << 14)
#define DR6_BT          (1UL << 15)
#define DR6_RTM         (1UL << 16)             /* inverted polarity */
#define DR6_ZEROS       0x1000UL                /* bit 12 */
#define DR6_KNOWN       (DR6_BP_MASK | DR6_BD | DR6_BS | DR6_BT | DR6_RTM)
#define DR7_ACTIVE_MASK 0xffUL                  /* L0-L3, G0-G3 */
#define DR7_RTM         (1UL << 11)
#define DR7_GD          (1UL << 13)
#define DR7_ZEROS       0xd000UL                /* bits 12, 14, 15 */
#define DR7_DEFAULT     0x400UL                 /* bit 10 */
#define DR7_RW_IO       2u

/* The guest sees RTM (CPUID.7.0:EBX[11]) only if the host has it; then
 * %dr6.RTM and %dr7.RTM are real bits for it (Xen x86_adj_dr*_rsvd). */
static bool guest_has_rtm(void)
{
    struct cpuid_regs r;

    arch_cpuid(0, 0, &r);
    if (r.eax < 7)
        return false;
    arch_cpuid(7, 0, &r);
    pv_cpuid_policy(7, 0, &r);
    return r.ebx & (1u << 11);
}

static uint64_t dr6_adjust(uint64_t dr6, bool rtm)
{
    uint64_t ones = X86_DR6_DEFAULT;

    if (rtm)
        ones &= ~DR6_RTM;
    return ((dr6 | ones) & ~DR6_ZEROS) & 0xffffffffUL;
}

uint64_t pv_dr6_adjust(uint64_t dr6)
{
    return dr6_adjust(dr6, guest_has_rtm());
}

uint64_t pv_dr7_adjust(uint64_t dr7)
{
    uint64_t zeros = DR7_ZEROS;

    if (!guest_has_rtm())
        zeros |= DR7_RTM;
    return ((dr7 & ~zeros) | DR7_DEFAULT) & 0xffffffffUL;
}

long pv_set_debugreg(struct vcpu *v, int reg, unsigned long value)
{
    bool live = v == pv_current();

    switch (reg) {
    case 0: case 1: case 2: case 3:
        /* Xen breakpoint_addr_ok(): a breakpoint must be a guest address. */
        if (!guest_access_ok(value, 1))
            return -XEN_EPERM;
        v->debugreg[reg] = value;
        if (live)
            arch_write_dr((unsigned int)reg, value);
        return 0;
    case 4:     /* %dr4/%dr5 alias %dr6/%dr7 while the guest's CR4.DE is */
    case 6:     /* clear (always, under minishim). */
        /* Xen: the upper 32 bits are strictly reserved (-EINVAL). */
        if (value >> 32)
            return -XEN_EINVAL;
        v->debugreg[6] = pv_dr6_adjust(value);
        if (live)
            arch_write_dr(6, v->debugreg[6]);
        return 0;
    case 5:
    case 7:
        if (value >> 32)
            return -XEN_EINVAL;
        value = pv_dr7_adjust(value);
        /* Xen: GD (bit 13) is privileged, -EPERM. */
        if (value & DR7_GD)
            return -XEN_EPERM;
        if (value & DR7_ACTIVE_MASK) {
            /* Xen: an I/O breakpoint without the guest's CR4.DE is
             * -EPERM (checked on every R/W field, enabled or not). */
            for (unsigned int i = 16; i < 32; i += 4)
                if (((value >> i) & 3) == DR7_RW_IO)
                    return -XEN_EPERM;
            /* Xen reloads %dr0-%dr3 here (activate_debugregs) because
             * its context switch skips them while %dr7 is off; minishim's
             * hardware %dr0-%dr3 always hold the vCPU's (set above or by
             * pv_debugreg_load), so nothing stale can be armed. */
        }
        v->debugreg[7] = value;
        if (live)
            arch_write_dr(7, value);
        return 0;
    default:
        /* Xen set_debugreg(): no such register is -ENODEV (#UD). */
        return -XEN_ENODEV;
    }
}

long do_set_debugreg(int reg, unsigned long value)
{
    return pv_set_debugreg(pv_current(), reg, value);
}

/* Xen 4.17 do_get_debugreg() answers -ENODEV whenever x86emul_read_dr()
 * would raise #UD: any register but %dr0-%dr7 (and %dr4/%dr5 with CR4.DE
 * set, which a minishim guest never has); %dr4/%dr5 read as %dr6/%dr7.
 * %dr6 is the vCPU's copy, which #DB delivery keeps up to date. */
long do_get_debugreg(int reg)
{
    if (reg == 4 || reg == 5)
        reg += 2;
    if (reg < 0 || reg > 7)
        return -XEN_ENODEV;
    return (long)pv_current()->debugreg[reg];
}

void pv_debugreg_reset(struct vcpu *v)
{
    for (unsigned int i = 0; i < 8; i++)
        v->debugreg[i] = 0;
    v->debugreg[6] = pv_dr6_adjust(0);
    v->debugreg[7] = pv_dr7_adjust(0);
}

/* Xen arch_set_info_guest(): each of the context's debugreg[] goes
 * through set_debugreg() and a refused value is silently dropped (the
 * register keeps its reset value). */
void pv_debugreg_set_context(struct vcpu *v, const uint64_t dr[8])
{
    pv_debugreg_reset(v);
    for (int i = 0; i < 8; i++)
        (void)pv_set_debugreg(v, i, dr[i]);
}

void pv_debugreg_load(const struct vcpu *v)
{
    for (unsigned int i = 0; i < 4; i++)
        arch_write_dr(i, v->debugreg[i]);
    arch_write_dr(6, X86_DR6_DEFAULT);
    arch_write_dr(7, v->debugreg[7]);
}

/*
 * A #DB taken in guest context: collect the hardware %dr6, put the
 * register back to its default (the CPU only ever sets bits in it, so a
 * stale B0-B3 would show in the next #DB), merge into the vCPU's %dr6 and
 * let the caller bounce the #DB to the guest's trap 1 handler. The merge
 * is Xen's x86_merge_dr6(): breakpoint matches (B0-B3) are replaced by
 * this #DB's, the other status bits accumulate until the guest writes %dr6.
 */
void pv_debug_exception(struct vcpu *v)
{
    uint64_t hw = arch_read_dr(6);
    uint64_t pending = (hw ^ X86_DR6_DEFAULT) & DR6_KNOWN;  /* positive polarity */
    uint64_t dr6 = v->debugreg[6] ^ X86_DR6_DEFAULT;
    bool rtm = guest_has_rtm();

    arch_write_dr(6, X86_DR6_DEFAULT);
    if (!rtm)
        pending &= ~DR6_RTM;
    dr6 = (dr6 & ~DR6_BP_MASK) | pending;
    v->debugreg[6] = dr6_adjust(dr6 ^ X86_DR6_DEFAULT, rtm);
}
