/* A fake Xen L0 for unit tests (fake_l0.h). */
#include <string.h>
#include "fake_l0.h"

struct shared_info *fake_xen_shinfo;

void fake_xen_cpuid(uint32_t base, uint32_t max_leaf, uint32_t hcall_msr)
{
    fake_set_cpuid_sig(base, max_leaf, "XenVMMXenVMM");
    fake_set_cpuid(base + 1, (4u << 16) | 17, 0, 0, 0);
    fake_set_cpuid(base + 2, 1, hcall_msr, 0, 0);
}

void fake_hyperv_cpuid(uint32_t max_leaf, uint32_t recommend)
{
    fake_set_cpuid_sig(FAKE_HV_BASE, max_leaf, "Microsoft Hv");
    fake_set_cpuid(FAKE_HV_BASE + HV_CPUID_INTERFACE, HV_INTERFACE_HV1, 0, 0, 0);
    fake_set_cpuid(FAKE_HV_BASE + HV_CPUID_FEATURES, HV_MSR_HYPERCALL_AVAILABLE | HV_MSR_VP_INDEX_AVAILABLE,
                   0, 0, 0);
    fake_set_cpuid(FAKE_HV_BASE + HV_CPUID_ENLIGHTENMENTS, recommend, 0, 0, 0);
}

void fake_xen_fill_hcall_page(uint64_t pa)
{
    /* Xen fills every 32-byte entry with code; xen_init checks byte 0. */
    memset(fake_pa_to_ptr(pa & ~0xfffULL), 0xcc, 32);
}

void fake_xen_msr_hook(uint32_t msr, uint64_t val)
{
    if (msr == FAKE_XEN_HCALL_MSR && val)
        fake_xen_fill_hcall_page(val);
}

int fake_xen_up(fake_hypercall_fn l0)
{
    struct l0_detect d = {
        .xen = true, .xen_hcall_pages = 1, .xen_hcall_msr = FAKE_XEN_HCALL_MSR,
    };
    int rc;

    fake_wrmsr_hook = fake_xen_msr_hook;
    rc = xen_init(&d);
    fake_hypercall_handler = l0;
    l0_evtchn_reset();
    fake_xen_shinfo = NULL;
    return rc;
}

struct shared_info *fake_xen_map_shinfo(uint64_t gpfn)
{
    /* Static objects: the fake's "physical address" is the host one. */
    fake_xen_shinfo = fake_pa_to_ptr(gpfn << 12);
    memset(fake_xen_shinfo, 0, 4096);           /* what L0 maps there */
    return fake_xen_shinfo;
}

void fake_xen_unmask(uint32_t port)
{
    fake_xen_shinfo->evtchn_mask[port / 64] &= ~(1UL << (port % 64));
}

void fake_xen_raise(uint32_t port)
{
    struct vcpu_info *vi = &fake_xen_shinfo->vcpu_info[0];

    fake_xen_shinfo->evtchn_pending[port / 64] |= 1UL << (port % 64);
    if (!(fake_xen_shinfo->evtchn_mask[port / 64] & (1UL << (port % 64)))) {
        vi->evtchn_pending_sel |= 1UL << (port / 64);
        vi->evtchn_upcall_pending = 1;
    }
}

bool fake_xen_pending(uint32_t port)
{
    return fake_xen_shinfo->evtchn_pending[port / 64] & (1UL << (port % 64));
}
