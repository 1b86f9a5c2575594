/*
 * L0 detection. Hypervisors publish a signature at CPUID 0x40000000 and may
 * repeat the block at 0x100 steps (Xen moves its leaves to 0x40000100 when
 * it also offers Hyper-V's interface at 0x40000000, see Xen's
 * xen/arch/x86/cpuid.c and the TLFS "Hypervisor CPUID leaves" section).
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/l0.h>

static void signature(const struct cpuid_regs *r, char out[13])
{
    memcpy(out, &r->ebx, 4);
    memcpy(out + 4, &r->ecx, 4);
    memcpy(out + 8, &r->edx, 4);
    out[12] = '\0';
}

void l0_detect(struct l0_detect *d)
{
    struct cpuid_regs r;

    memset(d, 0, sizeof(*d));
    arch_cpuid(1, 0, &r);
    d->hv_bit = r.ecx & (1u << 31);

    for (uint32_t base = CPUID_HV_FIRST; base <= CPUID_HV_LAST; base += CPUID_HV_STEP) {
        char sig[13];

        arch_cpuid(base, 0, &r);
        /* A real block names its own last leaf, within this 0x100 block. */
        if (r.eax < base || r.eax >= base + CPUID_HV_STEP)
            continue;
        signature(&r, sig);

        if (!strcmp(sig, "XenVMMXenVMM") && !d->xen && r.eax >= base + 2) {
            struct cpuid_regs v, h;

            arch_cpuid(base + 1, 0, &v);
            arch_cpuid(base + 2, 0, &h);
            d->xen = true;
            d->xen_base = base;
            d->xen_major = v.eax >> 16;
            d->xen_minor = v.eax & 0xffff;
            d->xen_hcall_pages = h.eax;
            d->xen_hcall_msr = h.ebx;
        } else if (!strcmp(sig, "Microsoft Hv") && !d->hyperv) {
            struct cpuid_regs i;

            arch_cpuid(base + 1, 0, &i);
            d->hyperv = true;
            d->hyperv_base = base;
            d->hyperv_max_leaf = r.eax;
            d->hyperv_interface = i.eax;
        } else if (!d->other_sig[0] && sig[0]) {
            memcpy(d->other_sig, sig, sizeof(sig));
            d->other_base = base;
        }
    }
}
