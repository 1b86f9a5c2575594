/*
 * The Hyper-V backend: hypercall page set-up and the exact input pages and
 * hypercall input values (RCX) of the four flush hypercalls. Every expected
 * value below is worked out by hand from the TLFS:
 *   control = call code (15:0) | varhead qwords << 17 | rep count << 32
 *             | rep start << 48
 *   codes: Space 0x0002, List 0x0003, SpaceEx 0x0013, ListEx 0x0014
 *   flags: ALL_PROCESSORS 1, ALL_VIRTUAL_ADDRESS_SPACES 2,
 *          NON_GLOBAL_MAPPINGS_ONLY 4
 *   GVA range: page base | (extra pages, 0..4095)
 */
#include <criterion/criterion.h>
#include "test_flush_env.h"
#include "fake/fake_console.h"

/* VP indexes for CPUs 0..4: CPU 3 is VP 70 (bank 1 bit 6), CPU 4 VP 130
 * (bank 2 bit 2). */
static const uint32_t vps[] = { 0, 1, 2, 70, 130 };

static void setup_hv(uint32_t recommend, unsigned int ncpus)
{
    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    env_set_hyperv(recommend);
    l0_setup(L0_FLUSH_USE_AUTO);
    env_cpus_online(ncpus, vps);
}

#define REC_ALL (HV_REMOTE_TLB_FLUSH_RECOMMENDED | HV_EX_PROCESSOR_MASKS_RECOMMENDED)

static void expect_input(const uint64_t *want, unsigned int n)
{
    const struct fake_hv_call *c = &fake_hv_calls[fake_nr_hv_calls - 1];

    for (unsigned int i = 0; i < n; i++)
        cr_expect_eq(c->input[i], want[i], "input qword %u: %#lx, want %#lx", i,
                     (unsigned long)c->input[i], (unsigned long)want[i]);
}

static uint64_t last_control(void)
{
    return fake_hv_calls[fake_nr_hv_calls - 1].control;
}

Test(hyperv, init_writes_guest_os_id_then_hypercall_page)
{
    setup_hv(REC_ALL, 2);
    cr_assert_eq(l0_kind(), L0_HYPERV);
    /* Open source (bit 63), OS type 3 "Xen" (bits 62:56), version 4.17
     * in bits 47:16 as 0x04110000: bits 47:40 = 4, which Xen's viridian
     * reads as the "OS" field and wants >= 4 before it fills CPUID
     * 0x40000004. */
    cr_assert_eq(fake_msr_value(0x40000000), 0x8300041100000000ULL);
    cr_assert_eq(fake_msr_value(0x40000001) & 1, 1, "hypercall page enabled");
    cr_assert_eq(fake_msr_value(0x40000001) & 0xfff, 1);
    cr_assert_neq(fake_msr_value(0x40000001) & ~0xfffULL, 0);
    cr_assert_eq(l0_flush_caps(), L0_FLUSH_AVAILABLE | L0_FLUSH_RECOMMENDED);
}

Test(hyperv, each_cpu_reads_its_own_vp_index)
{
    cpumask_t m = env_mask(0x08);          /* CPU 3 = VP 70: bank 1 bit 6 */

    setup_hv(REC_ALL, 5);
    fake_cpu_id = 4;
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, L0_FLUSH_GLOBAL), 0);
    cr_assert_eq(fake_hv_calls[0].input[3], 0x2, "valid banks: bank 1");
    cr_assert_eq(fake_hv_calls[0].input[4], 0x40, "VP 70 read on CPU 3");
}

Test(hyperv, not_recommended_is_available_only)
{
    setup_hv(HV_EX_PROCESSOR_MASKS_RECOMMENDED, 2);
    cr_assert_eq(l0_flush_caps(), L0_FLUSH_AVAILABLE);
}

Test(hyperv, no_hypercall_msr_means_no_flush)
{
    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    env_set_hyperv(REC_ALL);
    fake_set_cpuid(0x40000003, 0, 0, 0, 0);
    l0_setup(L0_FLUSH_USE_AUTO);
    cr_assert_eq(l0_kind(), L0_HYPERV);
    cr_assert_eq(l0_flush_caps(), 0);
    cr_assert_eq(fake_msr_writes(0x40000001), 0);
}

/* An L0 that ignores the enable bit (e.g. the MSR is locked elsewhere). */
static void refuse_enable(uint32_t msr, uint64_t val)
{
    if (msr == 0x40000001) {
        fake_wrmsr_hook = NULL;
        arch_wrmsr(msr, val & ~1ULL);
        fake_wrmsr_hook = refuse_enable;
    }
}

Test(hyperv, enable_bit_not_taken_means_no_flush)
{
    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    env_set_hyperv(REC_ALL);
    fake_wrmsr_hook = refuse_enable;
    l0_setup(L0_FLUSH_USE_AUTO);
    cr_assert_eq(l0_kind(), L0_HYPERV);
    cr_assert_eq(l0_flush_caps(), 0);
}

Test(hyperv, empty_set_is_never_sent)
{
    cpumask_t m = env_mask(0);

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), -XEN_EINVAL);
    cr_assert_eq(fake_nr_hv_calls, 0);
}

Test(hyperv, space_with_processor_mask)
{
    cpumask_t m = env_mask(0x06);          /* CPUs 1, 2 = VPs 1, 2; CPU 3 left out */
    const uint64_t want[] = { 0, 0x2, 0x6 };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, L0_FLUSH_GLOBAL), 0);
    cr_assert_eq(fake_nr_hv_calls, 1);
    cr_assert_eq(last_control(), 0x0002ULL);
    cr_assert_eq(fake_hv_calls[0].out_gpa, 0);
    expect_input(want, 3);
}

Test(hyperv, space_non_global_only_when_globals_may_stay)
{
    cpumask_t m = env_mask(0x06);
    const uint64_t want[] = { 0, 0x6, 0x6 };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), 0);
    cr_assert_eq(last_control(), 0x0002ULL);
    expect_input(want, 3);
}

Test(hyperv, space_all_processors)
{
    cpumask_t m = env_mask(0x0e);          /* every other online CPU */
    const uint64_t want[] = { 0, 0x3, 0 };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, L0_FLUSH_GLOBAL | L0_FLUSH_ALL_OTHERS), 0);
    cr_assert_eq(last_control(), 0x0002ULL);
    expect_input(want, 3);
}

Test(hyperv, unknown_vp_index_flushes_all_processors)
{
    cpumask_t m = env_mask(0x02);
    const uint64_t want[] = { 0, 0x3, 0 };

    setup_hv(REC_ALL, 3);
    /* CPU 5 online but never ran l0_cpu_init: its VP index is unknown. */
    cpumask_set(&cpu_online_mask, 5);
    m = env_mask(0x22);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, L0_FLUSH_GLOBAL), 0);
    expect_input(want, 3);
}

Test(hyperv, list_one_page)
{
    cpumask_t m = env_mask(0x02);
    const uint64_t want[] = { 0, 0x2, 0x2, 0x00007f0000123000ULL };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123456ULL), 0,
                                  L0_FLUSH_VA), 0);
    cr_assert_eq(last_control(), 0x0000000100000003ULL, "List, 1 rep");
    expect_input(want, 4);
}

Test(hyperv, list_eight_pages_in_one_range)
{
    cpumask_t m = env_mask(0x04);
    const uint64_t want[] = { 0, 0x2, 0x4, 0x00007f0000123007ULL };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123456ULL), 3,
                                  L0_FLUSH_GLOBAL | L0_FLUSH_VA), 0);
    cr_assert_eq(last_control(), 0x0000000100000003ULL);
    expect_input(want, 4);
}

Test(hyperv, list_8192_pages_two_ranges)
{
    cpumask_t m = env_mask(0x02);
    /* 4096 pages = 16 MiB per range: second base = first + 0x1000000. */
    const uint64_t want[] = { 0, 0x2, 0x2, 0x00007f0000123fffULL, 0x00007f0001123fffULL };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123000ULL), 13,
                                  L0_FLUSH_VA), 0);
    cr_assert_eq(last_control(), 0x0000000200000003ULL, "List, 2 reps");
    expect_input(want, 5);
}

Test(hyperv, huge_range_becomes_space_keeping_globals)
{
    cpumask_t m = env_mask(0x02);
    const uint64_t want[] = { 0, 0x2, 0x2 };

    setup_hv(REC_ALL, 4);
    /* 2^30 pages: 2^18 ranges do not fit the page; no NON_GLOBAL (VA). */
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 30, L0_FLUSH_VA), 0);
    cr_assert_eq(last_control(), 0x0002ULL);
    expect_input(want, 3);
}

Test(hyperv, space_ex_sparse_banks)
{
    cpumask_t m = env_mask(0x18);          /* CPUs 3, 4 = VPs 70, 130 */
    /* format 0 (sparse 4K), valid banks 1 and 2 = 0x6, bank 1 = bit 6,
     * bank 2 = bit 2. */
    const uint64_t want[] = { 0, 0x2, 0, 0x6, 0x40, 0x4 };

    setup_hv(REC_ALL, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, L0_FLUSH_GLOBAL), 0);
    cr_assert_eq(last_control(), 0x0000000000040013ULL, "SpaceEx, varhead 2");
    expect_input(want, 6);
}

Test(hyperv, space_ex_non_global)
{
    cpumask_t m = env_mask(0x08);          /* CPU 3 = VP 70 alone */
    const uint64_t want[] = { 0, 0x6, 0, 0x2, 0x40 };

    setup_hv(REC_ALL, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), 0);
    cr_assert_eq(last_control(), 0x0000000000020013ULL, "SpaceEx, varhead 1");
    expect_input(want, 5);
}

Test(hyperv, list_ex_sparse_banks_then_gvas)
{
    cpumask_t m = env_mask(0x0a);          /* CPUs 1, 3 = VPs 1, 70 */
    const uint64_t want[] = { 0, 0x2, 0, 0x3, 0x2, 0x40, 0x00007f0000123001ULL };

    setup_hv(REC_ALL, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123456ULL), 1,
                                  L0_FLUSH_VA), 0);
    cr_assert_eq(last_control(), 0x0000000100040014ULL, "ListEx, varhead 2, 1 rep");
    expect_input(want, 7);
}

Test(hyperv, vp_64_without_ex_recommendation_is_refused)
{
    cpumask_t m = env_mask(0x08);

    setup_hv(HV_REMOTE_TLB_FLUSH_RECOMMENDED, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), -XEN_EOPNOTSUPP);
    cr_assert_eq(fake_nr_hv_calls, 0);
}

static uint64_t fail_status(uint64_t control, const uint64_t *input)
{
    (void)control; (void)input;
    return HV_STATUS_INVALID_HYPERCALL_INPUT;
}

Test(hyperv, error_status_is_an_error)
{
    cpumask_t m = env_mask(0x02);

    setup_hv(REC_ALL, 4);
    fake_hv_handler = fail_status;
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), -XEN_EIO);
}

static unsigned int rep_calls;
static uint64_t one_rep_at_a_time(uint64_t control, const uint64_t *input)
{
    (void)input;
    rep_calls++;
    /* Report one more rep done than the start index. */
    return (((control >> 48) & 0xfff) + 1) << 32;
}

Test(hyperv, rep_call_restarts_where_it_stopped)
{
    cpumask_t m = env_mask(0x02);

    setup_hv(REC_ALL, 4);
    fake_hv_handler = one_rep_at_a_time;
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123000ULL), 13,
                                  L0_FLUSH_VA), 0);
    cr_assert_eq(rep_calls, 2);
    cr_assert_eq(fake_hv_calls[0].control, 0x0000000200000003ULL);
    cr_assert_eq(fake_hv_calls[1].control, 0x0001000200000003ULL, "rep start 1");
}

static uint64_t no_progress(uint64_t control, const uint64_t *input)
{
    (void)control; (void)input;
    return 0;       /* success, 0 reps done: must not loop forever */
}

Test(hyperv, rep_call_without_progress_fails)
{
    cpumask_t m = env_mask(0x02);

    setup_hv(REC_ALL, 4);
    fake_hv_handler = no_progress;
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 13, L0_FLUSH_VA), -XEN_EIO);
    cr_assert_eq(fake_nr_hv_calls, 1);
}

Test(hyperv, flush_mask_end_to_end_assisted)
{
    cpumask_t m = env_mask(0x0f);

    setup_hv(REC_ALL, 4);
    flush_init(FLUSH_POLICY_AUTO);
    flush_stats_reset();
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(fake_nr_hv_calls, 1);
    cr_assert_eq(fake_nr_ipi_calls, 0);
    cr_assert_eq(fake_hv_calls[0].input[1], 0x3);
}

static bool irqs_during_call = true;
static uint64_t note_irqs(uint64_t control, const uint64_t *input)
{
    (void)control; (void)input;
    irqs_during_call = fake_irqs_on;
    return 0;
}

Test(hyperv, input_page_used_with_interrupts_off)
{
    cpumask_t m = env_mask(0x02);

    setup_hv(REC_ALL, 4);
    fake_hv_handler = note_irqs;
    cr_assert(fake_irqs_on);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), 0);
    cr_assert_not(irqs_during_call, "an interrupt could reuse this CPU's input page");
    cr_assert(fake_irqs_on, "interrupts restored");
}

Test(hyperv, per_cpu_input_pages)
{
    cpumask_t m = env_mask(0x01);

    setup_hv(REC_ALL, 4);
    m = env_mask(0x02);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), 0);
    fake_cpu_id = 2;
    m = env_mask(0x01);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, 0), 0);
    cr_assert_neq(fake_hv_calls[0].in_gpa, fake_hv_calls[1].in_gpa);
    cr_assert_eq(fake_hv_calls[0].in_gpa & 0xfff, 0, "page aligned: no page crossing");
    cr_assert_eq(fake_hv_calls[1].input[2], 0x1, "VP 0 from CPU 2");
}

/* ---------------------------------------------- Xen L0 with viridian --- */

/*
 * Xen's layout with viridian on (xen/arch/x86/cpuid.c guest_cpuid(),
 * viridian.c cpuid_viridian_leaves()): Hyper-V at 0x40000000 (max leaf
 * 0x40000006), Xen at 0x40000100 with its hypercall MSR moved to
 * 0x40000200; CPUID 0x40000004 stays empty until the guest OS ID is
 * written, then shows what the toolstack enabled.
 */
static uint32_t viridian_rec;

static void viridian_msr_hook(uint32_t msr, uint64_t val)
{
    if (msr == 0x40000000 && val)
        fake_set_cpuid(0x40000004, viridian_rec, 0x7ff, 0, 0);
    if (msr == 0x40000200 && val)       /* Xen's hypercall page */
        fake_xen_fill_hcall_page(val);
}

static void setup_xen_viridian(uint32_t rec, enum l0_flush_use use)
{
    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    fake_hyperv_cpuid(0x40000006, 0);
    fake_xen_cpuid(0x40000100, 0x40000105, 0x40000200);
    viridian_rec = rec;
    fake_wrmsr_hook = viridian_msr_hook;
    fake_hypercall_handler = env_xen_handler;
    fake_hv_handler = env_hv_handler;
    l0_setup(use);
    env_cpus_online(4, NULL);
    flush_init(FLUSH_POLICY_AUTO);
    flush_stats_reset();
}

Test(hyperv, xen_viridian_auto_uses_hyperv_when_recommended)
{
    cpumask_t m = env_mask(0x06);
    struct hyperv_stats hs;

    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_AUTO);
    cr_assert_eq(l0_kind(), L0_XEN, "Xen still serves the PVH duties");
    cr_assert_eq(fake_msr_writes(0x40000200), 1, "Xen hypercall page at the moved MSR");
    cr_assert_eq(l0_flush_backend(), L0_HYPERV);
    cr_assert_eq(hyperv_recommendations(), REC_ALL,
                 "recommendations read after the guest OS ID was written");
    cr_assert_eq(l0_flush_caps(), L0_FLUSH_AVAILABLE | L0_FLUSH_RECOMMENDED);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(fake_nr_hv_calls, 1);
    cr_assert_eq(env_xen_flushes, 0);
    cr_assert_eq(fake_hv_calls[0].input[2], 0x6, "only VPs 1 and 2");
    m = env_mask(0x0e);
    flush_mask(&m, FLUSH_TLB | FLUSH_VA_VALID, va(0x1000), 0);
    hyperv_get_stats(&hs);
    cr_assert_eq(hs.calls[0], 1, "one Space");
    cr_assert_eq(hs.calls[1], 1, "one List");
    cr_assert_eq(hs.calls[2] + hs.calls[3], 0);
    cr_assert_eq(hs.all_processors, 1, "CPUs 1-3 are every other CPU");
    cr_assert_eq(hs.errors, 0);
}

Test(hyperv, xen_viridian_auto_uses_xen_without_recommendation)
{
    cpumask_t m = env_mask(0x06);

    /* viridian with "base" only: Xen sets no remote-flush recommendation. */
    setup_xen_viridian(0, L0_FLUSH_USE_AUTO);
    cr_assert_eq(l0_kind(), L0_XEN);
    cr_assert_eq(l0_flush_backend(), L0_XEN);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(env_xen_flushes, 1);
    cr_assert_eq(fake_nr_hv_calls, 0);
}

Test(hyperv, xen_viridian_explicit_xen_leaves_hyperv_alone)
{
    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_XEN);
    cr_assert_eq(l0_flush_backend(), L0_XEN);
    cr_assert_eq(fake_msr_writes(0x40000000), 0, "no guest OS ID written");
    cr_assert_eq(fake_msr_writes(0x40000001), 0, "no Hyper-V hypercall page");
}

Test(hyperv, xen_viridian_explicit_hyperv_without_recommendation)
{
    cpumask_t m = env_mask(0x02);

    setup_xen_viridian(HV_EX_PROCESSOR_MASKS_RECOMMENDED, L0_FLUSH_USE_HYPERV);
    cr_assert_eq(l0_flush_backend(), L0_HYPERV);
    cr_assert_eq(l0_flush_caps(), L0_FLUSH_AVAILABLE, "not recommended: flush=auto uses IPIs");
    flush_init(FLUSH_POLICY_ASSIST);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    cr_assert_eq(fake_nr_hv_calls, 1, "flush=assist uses it");
}

Test(hyperv, xen_viridian_hyperv_error_falls_back_to_ipis_counted)
{
    cpumask_t m = env_mask(0x06);
    struct flush_stats st;
    struct hyperv_stats hs;

    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_HYPERV);
    env_l0_fails = true;
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    flush_stats_get(&st);
    cr_assert_eq(fake_nr_hv_calls, 1);
    cr_assert_eq(env_xen_flushes, 0, "an error goes to IPIs, not to the other interface");
    cr_assert_eq(st.reason[FLUSH_R_IPI_FALLBACK], 1);
    cr_assert_eq(st.backend_errors, 1);
    cr_assert_eq(fake_nr_ipi_calls, 1);
    hyperv_get_stats(&hs);
    cr_assert_eq(hs.errors, 1);
    cr_assert_eq(hs.last_bad_status, HV_STATUS_INVALID_PARAMETER);
}

Test(hyperv, explicit_choices_l0_cannot_serve)
{
    /* Xen alone: no Hyper-V interface to use. */
    env_setup(ENV_XEN_OK, 1, FLUSH_POLICY_AUTO, true);
    l0_setup(L0_FLUSH_USE_HYPERV);
    cr_assert_eq(l0_kind(), L0_XEN);
    cr_assert_eq(l0_flush_backend(), L0_NONE);
    cr_assert_eq(l0_flush_caps(), 0);
    cr_assert(strstr(l0_flush_why(), "no Hyper-V"));

    /* Hyper-V alone: l0-flush=xen has nothing to call. */
    env_setup(ENV_HV_OK, 1, FLUSH_POLICY_AUTO, true);
    l0_setup(L0_FLUSH_USE_XEN);
    cr_assert_eq(l0_kind(), L0_HYPERV);
    cr_assert_eq(l0_flush_backend(), L0_NONE);
    cr_assert(strstr(l0_flush_why(), "not Xen"));

    /* none: nothing, whatever L0 offers. */
    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_NONE);
    cr_assert_eq(l0_kind(), L0_XEN);
    cr_assert_eq(l0_flush_backend(), L0_NONE);
    cr_assert_eq(l0_flush_caps(), 0);
}

/* ------------------------------------------------------------ selftest --- */

/* An L0 that answers as the TLFS says: bad set format -> invalid
 * parameter, unknown code -> invalid code, else success with every rep. */
static uint64_t tlfs_l0(uint64_t control, const uint64_t *input)
{
    uint16_t code = control & 0xffff;

    if ((code == 0x13 || code == 0x14) && input[2] > 1)
        return HV_STATUS_INVALID_PARAMETER;
    if (code != 0x2 && code != 0x3 && code != 0x13 && code != 0x14)
        return HV_STATUS_INVALID_HYPERCALL_CODE;
    return control & HV_HC_REP_COUNT_MASK;
}

Test(hyperv, selftest_against_a_tlfs_l0)
{
    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_HYPERV);
    fake_hv_handler = tlfs_l0;
    fake_cpu_id = 3;                       /* VP 3 */
    cr_assert_eq(l0_selftest(), 0);
    cr_assert_eq(fake_nr_hv_calls, 9);
    /* space mask: VP 3 only. */
    cr_assert_eq(fake_hv_calls[1].control, 0x0002ULL);
    cr_assert_eq(fake_hv_calls[1].input[2], 0x8);
    /* list: 2 reps after the mask. */
    cr_assert_eq(fake_hv_calls[2].control, 0x0000000200000003ULL);
    /* space-ex sparse: varhead 1, bank 0 valid, VP 3. */
    cr_assert_eq(fake_hv_calls[3].control, 0x0000000000020013ULL);
    cr_assert_eq(fake_hv_calls[3].input[3], 0x1);
    cr_assert_eq(fake_hv_calls[3].input[4], 0x8);
    /* list-ex: varhead 1, 2 reps, GVAs after the bank. */
    cr_assert_eq(fake_hv_calls[4].control, 0x0000000200020014ULL);
    cr_assert_eq(fake_hv_calls[4].input[5], 0xffff800000000000ULL);
    /* with an empty bank: banks 0 and 1 valid, varhead 2. */
    cr_assert_eq(fake_hv_calls[5].control, 0x0000000000040013ULL);
    cr_assert_eq(fake_hv_calls[5].input[3], 0x3);
    cr_assert_eq(fake_hv_calls[5].input[5], 0);
}

Test(hyperv, selftest_reports_an_l0_that_accepts_everything)
{
    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_HYPERV);
    /* env_hv_handler: success for every input, even the refused ones. */
    cr_assert_eq(l0_selftest(), 2);
}

Test(hyperv, selftest_reports_an_l0_that_refuses_everything)
{
    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_HYPERV);
    fake_hv_handler = fail_status;
    cr_assert_eq(l0_selftest(), 9);
}

Test(hyperv, selftest_reports_missing_reps)
{
    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_HYPERV);
    fake_hv_handler = no_progress;
    /* Two list probes report success with 0 of 2 reps done; the refused
     * probes get success too. */
    cr_assert_eq(l0_selftest(), 4);
}

Test(hyperv, selftest_xen_backend)
{
    env_setup(ENV_XEN_OK, 2, FLUSH_POLICY_AUTO, true);
    cr_assert_eq(l0_selftest(), 0);
    cr_assert_eq(env_xen_flushes, 1);
    env_setup(ENV_XEN_FAIL, 2, FLUSH_POLICY_AUTO, true);
    cr_assert_eq(l0_selftest(), 1);
}

Test(hyperv, l0_stats_line)
{
    cpumask_t m = env_mask(0x02);

    setup_xen_viridian(REC_ALL, L0_FLUSH_USE_HYPERV);
    fake_console_capture();
    console_set_level(LOG_INFO);
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    env_l0_fails = true;
    flush_mask(&m, FLUSH_TLB_GLOBAL | FLUSH_VA_VALID, va(0x1000), 0);
    l0_print_stats();
    cr_assert(strstr(fake_console_out, "l0: flush calls backend=hyperv space=1 list=1 space-ex=0 "
                              "list-ex=0 all-processors=0 errors=1 last-status=0x5\n"),
              "%s", fake_console_out);

    env_setup(ENV_XEN_OK, 3, FLUSH_POLICY_AUTO, true);
    fake_console_capture();
    flush_mask(&m, FLUSH_TLB_GLOBAL, va(0), 0);
    l0_print_stats();
    cr_assert(strstr(fake_console_out, "l0: flush calls backend=xen hvmop-flush-tlbs=1 errors=0\n"),
              "%s", fake_console_out);
}
