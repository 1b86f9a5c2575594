/*
 * What a Linux PV guest needs from the shim at start of day (see
 * docs/linux-guest.md): the PV CPUID policy (Xen 4.17 cpufeatureset.h
 * marks the hidden features 'S'/'H' or unmarked) and XENVER_get_features.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/arch.h>
#include <minishim/pv.h>
#include <minishim/pv_cpuid.h>
#include <minishim/pv_version.h>

Test(pv_linux, cpuid_policy_hides_what_a_pv_guest_cannot_use)
{
    struct cpuid_regs r = { ~0u, ~0u, ~0u, ~0u };

    pv_cpuid_policy(1, 0, &r);
    /* PSE PGE PSE36 MTRR (the PV MMU refuses superpages / global pages),
     * MCE MCA (no vMCE), VMX, PCID, XSAVE/OSXSAVE/AVX. */
    cr_expect_eq(r.edx & ((1u << 3) | (1u << 13) | (1u << 17) | (1u << 12)), 0);
    cr_expect_eq(r.edx & ((1u << 7) | (1u << 14)), 0);
    cr_expect_eq(r.ecx & ((1u << 5) | (1u << 17) | (1u << 26) | (1u << 27) | (1u << 28)), 0);
    /* What stays: FPU TSC MSR PAE CX8 CMOV MMX FXSR SSE SSE2, SSE3 SSSE3
     * CX16 SSE4.1/4.2 POPCNT, the hypervisor bit. */
    cr_expect_eq(r.edx & 0x07808171u, 0x07808171u);
    cr_expect_eq(r.ecx & ((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) |
                          (1u << 23) | (1u << 31)),
                 (1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) |
                 (1u << 23) | (1u << 31));

    r = (struct cpuid_regs){ ~0u, ~0u, ~0u, ~0u };
    pv_cpuid_policy(0x80000001, 0, &r);
    cr_expect_eq(r.edx & (1u << 26), 0);                     /* PAGE1GB */
    cr_expect_eq(r.edx & (1u << 27), 0);                     /* RDTSCP: no TSC_AUX */
    cr_expect_eq(r.edx & ((1u << 20) | (1u << 29)), (1u << 20) | (1u << 29)); /* NX LM */
    cr_expect_eq(r.ecx & (1u << 2), 0);                      /* SVM */

    r = (struct cpuid_regs){ ~0u, ~0u, ~0u, ~0u };
    pv_cpuid_policy(7, 0, &r);
    /* FSGSBASE SMEP INVPCID SMAP, PKU UMIP. */
    cr_expect_eq(r.ebx & ((1u << 0) | (1u << 7) | (1u << 10) | (1u << 20)), 0);
    cr_expect_eq(r.ecx & ((1u << 2) | (1u << 3)), 0);
    cr_expect_eq(r.ecx & (1u << 22), 0);                     /* RDPID: no TSC_AUX */
    cr_expect_eq(r.ebx & ((1u << 3) | (1u << 8)), (1u << 3) | (1u << 8)); /* BMI1 BMI2 */

    r = (struct cpuid_regs){ ~0u, ~0u, ~0u, ~0u };
    pv_cpuid_policy(0xd, 0, &r);
    cr_expect(r.eax == 0 && r.ebx == 0 && r.ecx == 0 && r.edx == 0);
    r = (struct cpuid_regs){ 1, 2, 3, 4 };
    pv_cpuid_policy(0x80000008, 0, &r);                      /* untouched */
    cr_expect(r.eax == 1 && r.ebx == 2 && r.ecx == 3 && r.edx == 4);
}

Test(pv_linux, get_features_submap0)
{
    xen_feature_info_t fi = { .submap_idx = 0 };

    memset(&pv_dom, 0, sizeof(pv_dom));
    cr_assert_eq(do_xen_version(XENVER_get_features, (uint64_t)(uintptr_t)&fi), 0);
    /* Linux >= 5.19 panics without these two (xen_setup_features). */
    cr_expect(fi.submap & (1u << XENFEAT_mmu_pt_update_preserve_ad));
    cr_expect(fi.submap & (1u << XENFEAT_gnttab_map_avail_bits));
    cr_expect(fi.submap & (1u << XENFEAT_highmem_assist));
    /* Never for a PV domU (Xen: translated guests, dom0 only). */
    cr_expect_not(fi.submap & (1u << XENFEAT_writable_page_tables));
    cr_expect_not(fi.submap & (1u << XENFEAT_auto_translated_physmap));
    cr_expect_not(fi.submap & (1u << XENFEAT_dom0));
    cr_expect_not(fi.submap & (1u << XENFEAT_pae_pgdir_above_4gb));
    pv_dom.vm_assist = 1UL << VMASST_TYPE_pae_extended_cr3;
    cr_assert_eq(do_xen_version(XENVER_get_features, (uint64_t)(uintptr_t)&fi), 0);
    cr_expect(fi.submap & (1u << XENFEAT_pae_pgdir_above_4gb));
}

/* ------------------------------------------- privileged instructions --- */

#include <setjmp.h>
#include <minishim/regs.h>
#include <minishim/x86.h>
#include "fake/fake.h"
#include "pv_env.h"

static struct shared_info lx_shinfo;

static void lx_setup(void)
{
    pv_env_reset(&lx_shinfo, 1);
    lx_shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
}

/* A #GP(0) at the instruction bytes b in guest kernel mode; true if the
 * domain crashed (no trap table: an unemulated #GP cannot be delivered). */
static bool gp_at(const uint8_t *b, struct cpu_regs *r)
{
    r->vector = X86_EXC_GP;
    r->error_code = 0;
    r->rip = (uint64_t)(uintptr_t)b;
    r->cs = FLAT_KERNEL_CS;
    r->ss = FLAT_KERNEL_SS;
    r->rflags = 0x202;
    return pv_env_trap_crashes(r);
}

Test(pv_linux, wrmsr_segment_bases, .init = lx_setup)
{
    static const uint8_t wrmsr[] = { 0x0f, 0x30, 0x90 };
    struct cpu_regs r = { 0 };

    /* Linux startup_xen: GS base = the per-CPU area. */
    r.rcx = MSR_GS_BASE;
    r.rax = 0x83044000;
    r.rdx = 0xffffffff;
    cr_assert_not(gp_at(wrmsr, &r));
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)wrmsr + 2);
    cr_expect_eq(pv_dom.vcpus[0].gs_base_kernel, 0xffffffff83044000ULL);
    r.rcx = MSR_FS_BASE;
    r.rax = 0x1000;
    r.rdx = 0;
    cr_assert_not(gp_at(wrmsr, &r));
    cr_expect_eq(pv_dom.vcpus[0].fs_base, 0x1000);
    /* Non-canonical (XSA-193) and any other MSR: #GP, here a crash. */
    r.rcx = MSR_KERNEL_GS_BASE;
    r.rdx = 0x00008000;
    cr_expect(gp_at(wrmsr, &r));
    r.rcx = 0x1b;                           /* APIC_BASE */
    r.rdx = 0;
    cr_expect(gp_at(wrmsr, &r));
}

Test(pv_linux, cr4_and_cli_sti, .init = lx_setup)
{
    static const uint8_t to_cr4[] = { 0x0f, 0x22, 0xe7 };     /* mov %rdi,%cr4 */
    static const uint8_t from_cr4[] = { 0x0f, 0x20, 0xe0 };   /* mov %cr4,%rax */
    static const uint8_t cli[] = { 0xfa, 0x90, 0x90 };
    static const uint8_t sti[] = { 0xfb, 0x90, 0x90 };
    struct cpu_regs r = { 0 };

    /* CR4 writes are accepted and change nothing the guest can see. */
    r.rdi = 0x20 | (1UL << 16) | (1UL << 7);
    cr_assert_not(gp_at(to_cr4, &r));
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)to_cr4 + 3);
    cr_assert_not(gp_at(from_cr4, &r));
    cr_expect_eq(r.rax & ~((1UL << 5) | (1UL << 6) | (1UL << 9) | (1UL << 10)), 0,
                 "only PV_CR4_GUEST_VISIBLE_MASK bits: %lx", (unsigned long)r.rax);

    /* cli / sti: #GP without the virtual IOPL, no-ops with it. */
    cr_expect(gp_at(cli, &r));
    pv_dom.vcpus[0].iopl = 1;
    cr_assert_not(gp_at(cli, &r));
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)cli + 1);
    cr_assert_not(gp_at(sti, &r));
    cr_expect_eq(lx_shinfo.vcpu_info[0].evtchn_upcall_mask, 1, "event mask untouched");
}

/* mov cr/dr with REX prefixes (compilers pick %r8-%r15 freely): REX.B
 * selects the GPR, REX.R the control/debug register (%cr8 and up are not
 * emulated: #GP). Debug registers as the hypercalls: a refused value is
 * #GP (here a crash: no trap table), a missing register #UD. */
Test(pv_linux, mov_cr_dr_rex, .init = lx_setup)
{
    static const uint8_t from_cr4_r13[] = { 0x41, 0x0f, 0x20, 0xe5 };  /* mov %cr4,%r13 */
    static const uint8_t from_cr3_r8[] = { 0x41, 0x0f, 0x20, 0xd8 };   /* mov %cr3,%r8 */
    static const uint8_t from_cr8[] = { 0x44, 0x0f, 0x20, 0xc0 };      /* mov %cr8,%rax */
    static const uint8_t to_cr4_r9[] = { 0x41, 0x0f, 0x22, 0xe1 };    /* mov %r9,%cr4 */
    static const uint8_t to_dr0_r10[] = { 0x41, 0x0f, 0x23, 0xc2 };   /* mov %r10,%dr0 */
    static const uint8_t from_dr0_r11[] = { 0x41, 0x0f, 0x21, 0xc3 }; /* mov %dr0,%r11 */
    static const uint8_t to_dr7_rax[] = { 0x0f, 0x23, 0xf8, 0x90 };   /* mov %rax,%dr7 */
    struct cpu_regs r = { 0 };

    fake_cr4 = (1UL << 5) | (1UL << 7);
    cr_assert_not(gp_at(from_cr4_r13, &r));
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)from_cr4_r13 + 4);
    cr_expect_eq(r.r13, 1UL << 5, "PAE only (PGE is not the guest's)");
    cr_expect_eq(r.rax, 0, "not %%rax");
    cr_assert_not(gp_at(from_cr3_r8, &r));
    cr_expect_eq(r.r8, pv_kernel_cr3(&pv_dom.vcpus[0]));
    cr_expect(gp_at(from_cr8, &r), "%%cr8 is not emulated");
    r.r9 = ~0UL;
    cr_assert_not(gp_at(to_cr4_r9, &r));
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)to_cr4_r9 + 4);

    r.r10 = 0x4000;
    cr_assert_not(gp_at(to_dr0_r10, &r));
    cr_expect_eq(pv_dom.vcpus[0].debugreg[0], 0x4000);
    cr_expect_eq(fake_dr[0][0], 0x4000);
    cr_assert_not(gp_at(from_dr0_r11, &r));
    cr_expect_eq(r.r11, 0x4000);
    r.r10 = 0xffff830000000000UL;
    cr_expect(gp_at(to_dr0_r10, &r), "a shim address is refused: #GP");
    r.rax = 1UL << 13;
    cr_expect(gp_at(to_dr7_rax, &r), "GD is refused: #GP");
    r.rax = 0x1;
    cr_assert_not(gp_at(to_dr7_rax, &r));
    cr_expect_eq(fake_dr[0][7], 0x401);
}
