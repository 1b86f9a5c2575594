/*
 * A fake Xen L0 for unit tests, the parts every test that plays L0 does
 * the same way: the hypercall page filled when its MSR is written, the
 * backend brought up through the real xen_init(), L0's shared_info placed
 * where the shim asks for it, and 2-level event delivery on vCPU 0 as Xen's
 * evtchn_2l_set_pending does. A test still writes its own hypercall
 * handler (fake_hypercall_handler) for what it checks.
 */
#ifndef FAKE_L0_H
#define FAKE_L0_H

#include <hyperv/tlfs.h>
#include <minishim/l0.h>
#include <minishim/xen-public.h>
#include "fake.h"

/* Xen's hypercall MSR as CPUID leaf base+2 names it without viridian. */
#define FAKE_XEN_HCALL_MSR 0x40000000u

/* Where Hyper-V's leaves are, alone or beside Xen with viridian. */
#define FAKE_HV_BASE 0x40000000u

/* Xen 4.17's CPUID leaves at base (signature with max_leaf, version,
 * one hypercall page at hcall_msr), as l0_detect() reads them. */
void fake_xen_cpuid(uint32_t base, uint32_t max_leaf, uint32_t hcall_msr);
/* Hyper-V's leaves at FAKE_HV_BASE (TLFS "Hypervisor CPUID Leaves"): signature with max_leaf,
 * "Hv#1", the hypercall and VP index MSRs available, and the
 * recommendations (CPUID 0x40000004 EAX). */
void fake_hyperv_cpuid(uint32_t max_leaf, uint32_t recommend);
/* What Xen does on the hypercall MSR write: code in the page at pa. */
void fake_xen_fill_hcall_page(uint64_t pa);
/* A fake_wrmsr_hook: fills the page on a write to FAKE_XEN_HCALL_MSR. */
void fake_xen_msr_hook(uint32_t msr, uint64_t val);
/*
 * Bring the Xen backend up directly (no CPUID scan): xen_init() with a
 * one-page hypercall MSR at FAKE_XEN_HCALL_MSR, then l0 as the hypercall
 * handler; L0 event channels and fake_xen_shinfo reset. Returns
 * xen_init()'s result. Call after fake_reset().
 */
int fake_xen_up(fake_hypercall_fn l0);

/* L0's shared_info: NULL until fake_xen_map_shinfo (a test's handler for
 * XENMEM_add_to_physmap(XENMAPSPACE_shared_info) calls it with gpfn). */
extern struct shared_info *fake_xen_shinfo;
struct shared_info *fake_xen_map_shinfo(uint64_t gpfn);
/* EVTCHNOP_unmask as L0 does it in fake_xen_shinfo (no re-delivery). */
void fake_xen_unmask(uint32_t port);
/* L0 raises port: pending; selector and upcall flag if it is unmasked. */
void fake_xen_raise(uint32_t port);
bool fake_xen_pending(uint32_t port);

#endif
