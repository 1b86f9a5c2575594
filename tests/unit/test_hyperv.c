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

/* VP indexes for CPUs 0..4: CPU 3 is VP 70 (bank 1 bit 6), CPU 4 VP 130
 * (bank 2 bit 2). */
static const uint32_t vps[] = { 0, 1, 2, 70, 130 };

static void setup_hv(uint32_t recommend, unsigned int ncpus)
{
    env_setup(ENV_NONE, 1, FLUSH_POLICY_AUTO, true);
    env_set_hyperv(recommend);
    l0_init();
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
    /* Open source (bit 63), OS type 3 "Xen" (bits 62:56), version 0.1
     * (bits 47:16 = 1). */
    cr_assert_eq(fake_msr_value(0x40000000), 0x8300000000010000ULL);
    cr_assert_eq(fake_msr_value(0x40000001) & 1, 1, "hypercall page enabled");
    cr_assert_eq(fake_msr_value(0x40000001) & 0xfff, 1);
    cr_assert_neq(fake_msr_value(0x40000001) & ~0xfffULL, 0);
    cr_assert_eq(l0_flush_caps(), L0_FLUSH_AVAILABLE | L0_FLUSH_RECOMMENDED);
    cr_assert_eq(percpu[1].hv_vp_index, 1);
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
    l0_init();
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
    l0_init();
    cr_assert_eq(l0_kind(), L0_HYPERV);
    cr_assert_eq(l0_flush_caps(), 0);
}

Test(hyperv, empty_set_is_never_sent)
{
    cpumask_t m = env_mask(0);

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), -XEN_EINVAL);
    cr_assert_eq(fake_nr_hv_calls, 0);
}

Test(hyperv, space_with_processor_mask)
{
    cpumask_t m = env_mask(0x06);          /* CPUs 1, 2 = VPs 1, 2; CPU 3 left out */
    const uint64_t want[] = { 0, 0x2, 0x6 };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB_GLOBAL), 0);
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
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), 0);
    cr_assert_eq(last_control(), 0x0002ULL);
    expect_input(want, 3);
}

Test(hyperv, space_all_processors)
{
    cpumask_t m = env_mask(0x0e);          /* every other online CPU */
    const uint64_t want[] = { 0, 0x3, 0 };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB_GLOBAL), 0);
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
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB_GLOBAL), 0);
    expect_input(want, 3);
}

Test(hyperv, list_one_page)
{
    cpumask_t m = env_mask(0x02);
    const uint64_t want[] = { 0, 0x2, 0x2, 0x00007f0000123000ULL };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123456ULL), 0,
                                  FLUSH_TLB | FLUSH_VA_VALID), 0);
    cr_assert_eq(last_control(), 0x0000000100000003ULL, "List, 1 rep");
    expect_input(want, 4);
}

Test(hyperv, list_eight_pages_in_one_range)
{
    cpumask_t m = env_mask(0x04);
    const uint64_t want[] = { 0, 0x2, 0x4, 0x00007f0000123007ULL };

    setup_hv(REC_ALL, 4);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123456ULL), 3,
                                  FLUSH_TLB_GLOBAL | FLUSH_VA_VALID), 0);
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
                                  FLUSH_TLB | FLUSH_VA_VALID), 0);
    cr_assert_eq(last_control(), 0x0000000200000003ULL, "List, 2 reps");
    expect_input(want, 5);
}

Test(hyperv, huge_range_becomes_space_keeping_globals)
{
    cpumask_t m = env_mask(0x02);
    const uint64_t want[] = { 0, 0x2, 0x2 };

    setup_hv(REC_ALL, 4);
    /* 2^30 pages: 2^18 ranges do not fit the page; no NON_GLOBAL (VA). */
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 30, FLUSH_TLB | FLUSH_VA_VALID), 0);
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
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB_GLOBAL), 0);
    cr_assert_eq(last_control(), 0x0000000000040013ULL, "SpaceEx, varhead 2");
    expect_input(want, 6);
}

Test(hyperv, space_ex_non_global)
{
    cpumask_t m = env_mask(0x08);          /* CPU 3 = VP 70 alone */
    const uint64_t want[] = { 0, 0x6, 0, 0x2, 0x40 };

    setup_hv(REC_ALL, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), 0);
    cr_assert_eq(last_control(), 0x0000000000020013ULL, "SpaceEx, varhead 1");
    expect_input(want, 5);
}

Test(hyperv, list_ex_sparse_banks_then_gvas)
{
    cpumask_t m = env_mask(0x0a);          /* CPUs 1, 3 = VPs 1, 70 */
    const uint64_t want[] = { 0, 0x2, 0, 0x3, 0x2, 0x40, 0x00007f0000123001ULL };

    setup_hv(REC_ALL, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0x00007f0000123456ULL), 1,
                                  FLUSH_TLB | FLUSH_VA_VALID), 0);
    cr_assert_eq(last_control(), 0x0000000100040014ULL, "ListEx, varhead 2, 1 rep");
    expect_input(want, 7);
}

Test(hyperv, vp_64_without_ex_recommendation_is_refused)
{
    cpumask_t m = env_mask(0x08);

    setup_hv(HV_REMOTE_TLB_FLUSH_RECOMMENDED, 5);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), -XEN_EOPNOTSUPP);
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
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), -XEN_EIO);
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
                                  FLUSH_TLB | FLUSH_VA_VALID), 0);
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
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 13, FLUSH_TLB | FLUSH_VA_VALID), -XEN_EIO);
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
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), 0);
    cr_assert_not(irqs_during_call, "an interrupt could reuse this CPU's input page");
    cr_assert(fake_irqs_on, "interrupts restored");
}

Test(hyperv, per_cpu_input_pages)
{
    cpumask_t m = env_mask(0x01);

    setup_hv(REC_ALL, 4);
    m = env_mask(0x02);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), 0);
    fake_cpu_id = 2;
    m = env_mask(0x01);
    cr_assert_eq(hyperv_flush_tlb(&m, va(0), 0, FLUSH_TLB), 0);
    cr_assert_neq(fake_hv_calls[0].in_gpa, fake_hv_calls[1].in_gpa);
    cr_assert_eq(fake_hv_calls[0].in_gpa & 0xfff, 0, "page aligned: no page crossing");
    cr_assert_eq(fake_hv_calls[1].input[2], 0x1, "VP 0 from CPU 2");
}
