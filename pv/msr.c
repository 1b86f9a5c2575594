/*
 * rdmsr/wrmsr from the guest kernel: Xen 4.17's PV MSR handling, in its
 * order: guest_rdmsr()/guest_wrmsr() (arch/x86/msr.c) first, then
 * read_msr()/write_msr() in arch/x86/pv/emul-priv-op.c, for a domU that
 * is not the hardware domain nor a cpufreq controller, with the vPMU off
 * (Xen's default). Everything else is #GP(0).
 *
 * What minishim leaves out, each a #GP where Xen might answer (see
 * tests/guests/README.md): the vMCE MSRs (the CPUID policy hides MCA,
 * pv_cpuid_policy(), so #GP is Xen's answer too); SPEC_CTRL and
 * VIRT_SPEC_CTRL (not yet: Xen keeps a per-vCPU value and loads it on
 * every guest entry, which the shim's entry path does not do); the AMD
 * DBEXT address masks (not yet). CPUID
 * faulting is not emulated, so PLATFORM_INFO reads 0 and
 * MISC_FEATURES_ENABLES only takes 0.
 */
#include <minishim/apic.h>       /* APIC_BASE_BSP, APIC_BASE_ENABLE */
#include <minishim/arch.h>
#include <minishim/pv_domain.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_msr.h>
#include <minishim/x86.h>
#include <minishim/pv_cpuid.h>

/* MSR indices (Xen's asm/msr-index.h names). */
#define MSR_IA32_TSC                0x00000010
#define MSR_IA32_PLATFORM_ID        0x00000017
#define MSR_APIC_BASE               0x0000001b
#define MSR_IA32_FEATURE_CONTROL    0x0000003a
#define MSR_PRED_CMD                0x00000049
#define MSR_IA32_UCODE_WRITE        0x00000079
#define MSR_IA32_UCODE_REV          0x0000008b      /* = MSR_AMD_PATCHLEVEL */
#define MSR_INTEL_PLATFORM_INFO     0x000000ce
#define MSR_IA32_MPERF              0x000000e7
#define MSR_IA32_APERF              0x000000e8
#define MSR_INTEL_MISC_FEATURES     0x00000140
#define MSR_IA32_PERF_STATUS        0x00000198
#define MSR_IA32_PERF_CTL           0x00000199
#define MSR_IA32_THERM_CONTROL      0x0000019a
#define MSR_IA32_MISC_ENABLE        0x000001a0
#define MSR_IA32_ENERGY_PERF_BIAS   0x000001b0
#define MSR_FLUSH_CMD               0x0000010b
#define MSR_IA32_CR_PAT             0x00000277
#define MSR_IA32_PERF_CAPABILITIES  0x00000345
#define MSR_TSC_AUX                 0xc0000103
#define MSR_K8_HWCR                 0xc0010015
#define MSR_AMD64_NB_CFG            0xc001001f
#define MSR_AMD_PATCHLOADER         0xc0010020
#define MSR_K7_FID_VID_CTL          0xc0010041
#define MSR_K7_FID_VID_STATUS       0xc0010042
#define MSR_FAM10H_MMIO_CONF_BASE   0xc0010058
#define MSR_K8_PSTATE_LIMIT         0xc0010061
#define MSR_K8_PSTATE7              0xc001006b
#define MSR_AMD64_DE_CFG            0xc0011029

#define PRED_CMD_IBPB               (1UL << 0)
#define FLUSH_CMD_L1D               (1UL << 0)
#define APIC_DEFAULT_PHYS_BASE      0xfee00000UL
/* Xen's own PAT (XEN_MSR_PAT): what a PV guest reads. */
#define XEN_MSR_PAT                 0x0000050100070406UL
#define FEATURE_CONTROL_LOCK        (1UL << 0)
#define DE_CFG_LFENCE_SERIALISE     (1UL << 1)
/* EFER bits Xen knows (EFER_KNOWN_MASK); SVME is hidden from guests. */
#define EFER_KNOWN  ((1UL << 0) | (1UL << 8) | (1UL << 10) | (1UL << 11) | \
                     (1UL << 12) | (1UL << 13) | (1UL << 14) | (1UL << 15) | \
                     (1UL << 21))
#define EFER_SVME   (1UL << 12)

enum vendor { V_OTHER, V_INTEL, V_AMD, V_HYGON, V_CENTAUR };

static enum vendor cpu_vendor(void)
{
    struct cpuid_regs r;

    arch_cpuid(0, 0, &r);
    if (r.ebx == 0x756e6547 && r.edx == 0x49656e69 && r.ecx == 0x6c65746e)
        return V_INTEL;                             /* GenuineIntel */
    if (r.ebx == 0x68747541 && r.edx == 0x69746e65 && r.ecx == 0x444d4163)
        return V_AMD;                               /* AuthenticAMD */
    if (r.ebx == 0x6f677948 && r.edx == 0x6e65476e && r.ecx == 0x656e6975)
        return V_HYGON;                             /* HygonGenuine */
    if (r.ebx == 0x746e6543 && r.edx == 0x48727561 && r.ecx == 0x736c7561)
        return V_CENTAUR;                           /* CentaurHauls */
    return V_OTHER;
}

static unsigned int cpu_family(void)
{
    struct cpuid_regs r;
    unsigned int fam;

    arch_cpuid(1, 0, &r);
    fam = (r.eax >> 8) & 0xf;
    return fam == 0xf ? fam + ((r.eax >> 20) & 0xff) : fam;
}

static bool amd_like(enum vendor v)
{
    return v == V_AMD || v == V_HYGON;
}

/* The CPUID bits TSC_AUX depends on, as the guest sees them. */
static bool guest_has_tsc_aux(void)
{
    struct cpuid_regs r;

    pv_guest_cpuid(0x80000001, 0, &r);
    if (r.edx & (1u << 27))                         /* RDTSCP */
        return true;
    pv_guest_cpuid(7, 0, &r);
    return r.ecx & (1u << 22);                      /* RDPID */
}

/* PRED_CMD exists with IBRSB (CPUID 7.0:EDX[26]) or IBPB
 * (0x80000008:EBX[12]); FLUSH_CMD with L1D_FLUSH (7.0:EDX[28]), as the
 * guest's CPUID shows them. */
static bool guest_has_pred_cmd(void)
{
    struct cpuid_regs r;

    pv_guest_cpuid(7, 0, &r);
    if (r.edx & (1u << 26))
        return true;
    pv_guest_cpuid(0x80000008, 0, &r);
    return r.ebx & (1u << 12);
}

static bool guest_has_flush_cmd(void)
{
    struct cpuid_regs r;

    pv_guest_cpuid(7, 0, &r);
    return r.edx & (1u << 28);
}

/* Xen guest_misc_enable(): no perfmon or MONITOR, BTS/PEBS unavailable,
 * xTPR messages disabled. */
static uint64_t guest_misc_enable(uint64_t val)
{
    val &= ~((1UL << 7) | (1UL << 18));
    val |= (1UL << 11) | (1UL << 12) | (1UL << 23);
    return val;
}

static uint64_t guest_efer(void)
{
    return arch_rdmsr(MSR_EFER) & EFER_KNOWN & ~EFER_SVME;
}

/* The vPMU counters and event selects (Xen vpmu_do_msr with the vPMU
 * off: reads 0, writes dropped). */
static bool vpmu_msr(enum vendor vd, uint32_t msr)
{
    if (vd == V_INTEL)
        return (msr >= 0xc1 && msr <= 0xc8) ||          /* P6_PERFCTR0..7 */
               (msr >= 0x186 && msr <= 0x189) ||        /* P6_EVNTSEL0..3 */
               (msr >= 0x309 && msr <= 0x30b) ||        /* FIXED_CTR0..2  */
               (msr >= 0x38d && msr <= 0x390);          /* FIXED_CTR_CTRL..GLOBAL_OVF_CTRL */
    if (amd_like(vd))
        return (msr >= 0xc0010000 && msr <= 0xc0010007) ||  /* K7 EVNTSEL/PERFCTR */
               (msr >= 0xc0010200 && msr <= 0xc001020b);    /* FAM15H */
    return false;
}

static bool amd_pstate_msr(uint32_t msr)
{
    return msr == MSR_K7_FID_VID_CTL || msr == MSR_K7_FID_VID_STATUS ||
           (msr >= MSR_K8_PSTATE_LIMIT && msr <= MSR_K8_PSTATE7);
}

/* Xen guest_rdmsr() + read_msr() without the fallback: true with *val,
 * false for #GP. */
static bool msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    enum vendor vd = cpu_vendor();

    *val = 0;
    switch (msr) {
    /* guest_rdmsr() */
    case MSR_AMD_PATCHLOADER:
    case MSR_IA32_UCODE_WRITE:
        return false;                               /* write-only */
    case MSR_IA32_FEATURE_CONTROL:
        if (vd != V_INTEL && vd != V_CENTAUR)
            return false;
        *val = FEATURE_CONTROL_LOCK;                /* no VMX, no LMCE for PV */
        return true;
    case MSR_IA32_PLATFORM_ID:
        return vd == V_INTEL && !arch_rdmsr_safe(msr, val);
    case MSR_IA32_UCODE_REV:
        /* The microcode version is passed through (Intel and AMD). */
        return (vd == V_INTEL || vd == V_AMD) && !arch_rdmsr_safe(msr, val);
    case MSR_INTEL_PLATFORM_INFO:
    case MSR_INTEL_MISC_FEATURES:
        return true;                                /* no CPUID faulting */
    case MSR_IA32_PERF_STATUS:
    case MSR_IA32_PERF_CTL:
        return vd == V_INTEL || vd == V_CENTAUR;    /* read as zero */
    case MSR_TSC_AUX:
        if (!guest_has_tsc_aux())
            return false;
        *val = v->tsc_aux;
        return true;
    case MSR_K8_HWCR:
        return amd_like(vd);                        /* read as zero */
    case MSR_AMD64_DE_CFG:
        if (!amd_like(vd))
            return false;
        *val = DE_CFG_LFENCE_SERIALISE;
        return true;
    case 0x40000000:
        return true;    /* guest_rdmsr_xen(): the hypercall page MSR reads 0 */
    /* read_msr() */
    case MSR_APIC_BASE:
        *val = APIC_BASE_ENABLE | APIC_DEFAULT_PHYS_BASE | (v->id ? 0 : APIC_BASE_BSP);
        return true;
    case MSR_FS_BASE:
        *val = v->fs_base;
        return true;
    case MSR_GS_BASE:
        *val = v->gs_base_kernel;
        return true;
    case MSR_KERNEL_GS_BASE:
        *val = v->gs_base_user;
        return true;
    case MSR_IA32_TSC:
        *val = arch_rdtsc();
        return true;
    case MSR_EFER:
        *val = guest_efer();
        return true;
    case MSR_IA32_CR_PAT:
        *val = XEN_MSR_PAT;
        return true;
    case MSR_FAM10H_MMIO_CONF_BASE:
        if (vd != V_AMD || cpu_family() < 0x10 || cpu_family() >= 0x17)
            return false;
        return true;                                /* zero for a domU */
    case MSR_AMD64_NB_CFG:
        return true;
    case MSR_IA32_MISC_ENABLE:
        if (arch_rdmsr_safe(msr, val))
            return false;
        *val = guest_misc_enable(*val);
        return true;
    case MSR_IA32_PERF_CAPABILITIES:
        return true;
    default:
        if (amd_like(vd) && amd_pstate_msr(msr))
            return true;                            /* zero: not a cpufreq controller */
        return vpmu_msr(vd, msr);
    }
}

bool pv_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    uint64_t tmp;

    if (msr_read(v, msr, val))
        return true;
    /*
     * Xen read_msr() "faking RDMSR": a guest with no #GP handler in its
     * trap table reads 0 from any MSR the hardware has outside the
     * hypervisor range, rather than dying of the #GP (kernels probe
     * MSRs such as DEBUGCTL before their trap table is up).
     */
    if (!v->traps[X86_EXC_GP].address && (msr >> 16) != 0x4000 &&
        !arch_rdmsr_safe(msr, &tmp)) {
        *val = 0;
        return true;
    }
    return false;
}

/*
 * Xen guest_wrmsr_xen() (arch/x86/traps.c), MSR 0x40000000 (the base
 * CPUID 0x40000002 EBX gives; no Viridian shift): write the hypercall
 * page into the frame named by bits 63:12. Page index (bits 11:0) other
 * than 0, a frame the guest does not own, or one that cannot take a
 * writable type (a page table, GDT/LDT page) is #GP, as in Xen; for PV
 * the gfn is the mfn.
 */
static bool write_hypercall_page(uint64_t val)
{
    mfn_t m = mfn(val >> PAGE_SHIFT);

    if (val & (PAGE_SIZE - 1))
        return false;
    if (pv_mm_get_page_and_type(m, PGT_WRITABLE))
        return false;
    pv_write_hypercall_page(arch_phys_to_virt(mfn_to_paddr(m)));
    pv_mm_put_page_and_type(m);
    return true;
}

bool pv_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    enum vendor vd = cpu_vendor();
    uint64_t host;

    switch (msr) {
    /* guest_wrmsr() */
    case MSR_IA32_UCODE_REV:
        /* Intel's "write 0, CPUID, read" sequence; read-only otherwise. */
        return vd == V_INTEL && val == 0;
    case MSR_INTEL_MISC_FEATURES:
        return val == 0;        /* CPUID faulting is not offered */
    case MSR_IA32_PERF_CTL:
        return vd == V_INTEL || vd == V_CENTAUR;    /* write-discard */
    case MSR_TSC_AUX:
        if (!guest_has_tsc_aux() || val != (uint32_t)val)
            return false;
        v->tsc_aux = val;
        arch_wrmsr(MSR_TSC_AUX, val);   /* vCPU n only runs on CPU n */
        return true;
    case MSR_PRED_CMD:
        /* Xen guest_wrmsr(): available? reserved bits? then issued on
         * this CPU (the writer is the current vCPU). Reads #GP:
         * write-only, as in guest_rdmsr(). */
        if (!guest_has_pred_cmd() || (val & ~PRED_CMD_IBPB))
            return false;
        arch_wrmsr(MSR_PRED_CMD, val);
        return true;
    case MSR_FLUSH_CMD:
        if (!guest_has_flush_cmd() || (val & ~FLUSH_CMD_L1D))
            return false;
        arch_wrmsr(MSR_FLUSH_CMD, val);
        return true;
    case 0x40000000:
        return write_hypercall_page(val);
    /* write_msr() */
    case MSR_FS_BASE:
        return !do_set_segment_base(SEGBASE_FS, val);
    case MSR_GS_BASE:
        return !do_set_segment_base(SEGBASE_GS_KERNEL, val);
    case MSR_KERNEL_GS_BASE:
        return !do_set_segment_base(SEGBASE_GS_USER, val);
    case MSR_EFER:
        /* Linux writes the value back; a change is refused. */
        return val == guest_efer();
    case MSR_K8_HWCR:
        return amd_like(vd);
    case MSR_AMD64_NB_CFG:
        return true;            /* dropped for a domU */
    case MSR_FAM10H_MMIO_CONF_BASE:
        return vd == V_AMD && cpu_family() >= 0x10 && cpu_family() < 0x17;
    case MSR_IA32_MISC_ENABLE:
        /* A different value is logged and dropped by Xen, not refused. */
        return !arch_rdmsr_safe(msr, &host);
    case MSR_IA32_MPERF:
    case MSR_IA32_APERF:
        return vd == V_INTEL || amd_like(vd);
    case MSR_IA32_THERM_CONTROL:
    case MSR_IA32_ENERGY_PERF_BIAS:
        return vd == V_INTEL;
    default:
        if (amd_like(vd) && amd_pstate_msr(msr))
            return true;
        return vpmu_msr(vd, msr);
    }
}
