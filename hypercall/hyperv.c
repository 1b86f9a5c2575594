/*
 * Hyper-V L0 backend: the hypercall page and the remote TLB flush
 * hypercalls (HvCallFlushVirtualAddressSpace/List and their Ex forms with
 * sparse VP sets). Encodings: include/hyperv/tlfs.h, from the TLFS.
 *
 * How a flush request maps onto the hypercalls:
 *  - Always HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES: the PV guest switches
 *    between many CR3s and the shim cannot tell which ones cached the VA.
 *  - Processors: every target CPU's VP index (MSR 0x40000002, read by
 *    each CPU into vp_index[] here). When the caller says the targets are
 *    all online CPUs but itself (L0_FLUSH_ALL_OTHERS), or a target's VP
 *    index is unknown (or >= 4096), HV_FLUSH_ALL_PROCESSORS: flushing more
 *    processors than asked is always correct. Otherwise a 64-bit
 *    ProcessorMask when every VP index is < 64, else the Ex form with a
 *    sparse 4K VP set, only when L0 recommends Ex processor masks (CPUID
 *    0x40000004 EAX bit 11); without it the request is refused (IPIs).
 *  - L0_FLUSH_VA: the List form, one GVA range per 4096 pages, when the
 *    ranges fit in the input page; else the Space form (flush all).
 *  - HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY only for a full flush that did not
 *    ask for global entries (neither L0_FLUSH_GLOBAL nor L0_FLUSH_VA): PV
 *    guest user mappings may be global, and a request with L0_FLUSH_GLOBAL
 *    or a VA (INVLPG semantics) must remove them. The List forms never take it (TLFS:
 *    invalid option there).
 *  - Any status other than HV_STATUS_SUCCESS: -EIO, and flush.c uses IPIs.
 */
#include <string.h>
#include <hyperv/tlfs.h>
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/l0.h>

static uint8_t hypercall_page[PAGE_SIZE] __aligned(PAGE_SIZE);
/* Input goes in the CPU's own scratch page (arch_cpu_scratch_page, in its
 * per-CPU area): input must not cross a page boundary (TLFS "Hypercall
 * Inputs and Outputs"); used with interrupts off. */

/*
 * Version field of the guest OS identity (bits 47:16): the Xen ABI the shim
 * offers its guest, 4.17 (pv/hypercall.c XENVER_version), with the major
 * number in the top byte (bits 47:40) and the minor below it. This matters
 * on Xen L0: viridian reads the identity in the Microsoft layout, where bits
 * 47:40 are the "OS" field, and fills the recommendation leaf (CPUID
 * 0x40000004: remote flush, Ex processor masks) only when that field is at
 * least 4 (xen/arch/x86/hvm/viridian/viridian.c, cpuid_viridian_leaves(),
 * leaf 4). A version of 0.x there would hide every recommendation.
 */
#define SHIM_OS_VERSION ((4u << 24) | (17u << 16))

static bool ready;
/* Flush calls by form, for the shutdown report (relaxed atomics: CPUs
 * flush concurrently). */
static uint64_t nr_calls[HV_NR_FORMS], nr_all_processors, nr_errors;
static uint64_t last_bad_status;
static bool have_vp_index_msr;
static uint32_t recommendations;        /* CPUID base+4 EAX */
static cpumask_t vp_known;              /* CPUs whose vp_index[] is read */
/* Shim CPU -> Hyper-V VP index (HV_X64_MSR_VP_INDEX), owned here. */
static uint32_t vp_index[NR_CPUS];

int hyperv_init(const struct l0_detect *d)
{
    struct cpuid_regs features, enl;
    uint64_t os_id, hc;

    ready = false;
    cpumask_clear(&vp_known);
    memset(nr_calls, 0, sizeof(nr_calls));
    nr_all_processors = nr_errors = last_bad_status = 0;
    if (!d->hyperv || d->hyperv_interface != HV_INTERFACE_HV1)
        return -XEN_ENODEV;
    if (d->hyperv_max_leaf < d->hyperv_base + HV_CPUID_ENLIGHTENMENTS)
        return -XEN_ENODEV;
    arch_cpuid(d->hyperv_base + HV_CPUID_FEATURES, 0, &features);
    if (!(features.eax & HV_MSR_HYPERCALL_AVAILABLE))
        return -XEN_ENODEV;
    have_vp_index_msr = features.eax & HV_MSR_VP_INDEX_AVAILABLE;

    /* The guest OS identity must be non-zero before the hypercall page
     * can be enabled (TLFS "Establishing the Hypercall Interface"). */
    os_id = HV_GUEST_OS_ID_OPEN_SOURCE |
            (HV_GUEST_OS_TYPE_XEN << HV_GUEST_OS_TYPE_SHIFT) |
            ((uint64_t)SHIM_OS_VERSION << HV_GUEST_OS_VERSION_SHIFT);
    arch_wrmsr(HV_X64_MSR_GUEST_OS_ID, os_id);
    /* Recommendations only after the identity: Xen's viridian leaves
     * CPUID 0x40000004 empty until the guest OS ID is set. */
    arch_cpuid(d->hyperv_base + HV_CPUID_ENLIGHTENMENTS, 0, &enl);
    recommendations = enl.eax;

    hc = arch_rdmsr(HV_X64_MSR_HYPERCALL);
    hc = (hc & ~HV_HYPERCALL_PAGE_MASK & ~HV_HYPERCALL_ENABLE) |
         arch_virt_to_phys(hypercall_page).pa | HV_HYPERCALL_ENABLE;
    arch_wrmsr(HV_X64_MSR_HYPERCALL, hc);
    if (!(arch_rdmsr(HV_X64_MSR_HYPERCALL) & HV_HYPERCALL_ENABLE))
        return -XEN_EIO;
    ready = true;
    return 0;
}

static void hyperv_cpu_init(void)
{
    unsigned int cpu = arch_cpu_id();

    if (!ready || !have_vp_index_msr || cpu >= NR_CPUS)
        return;
    vp_index[cpu] = (uint32_t)arch_rdmsr(HV_X64_MSR_VP_INDEX);
    cpumask_set(&vp_known, cpu);
}

bool hyperv_flush_recommended(void)
{
    return ready && (recommendations & HV_REMOTE_TLB_FLUSH_RECOMMENDED);
}

uint32_t hyperv_recommendations(void)
{
    return ready ? recommendations : 0;
}

/* Number of GVA range entries for 2^order pages (0: too many to count). */
static uint64_t gva_entries(unsigned int order)
{
    if (order >= 40)
        return 0;
    if (order <= 12)
        return 1;
    return 1ULL << (order - 12);
}

/* Fill GVA ranges for 2^order pages from va (order known to fit). */
static unsigned int fill_gvas(uint64_t *out, vaddr_t v, unsigned int order)
{
    uint64_t base = v.va & PAGE_MASK;
    uint64_t pages = 1ULL << order;
    unsigned int n = 0;

    while (pages) {
        uint64_t chunk = MIN(pages, HV_GVA_PAGES_PER_ENTRY);

        out[n++] = base | (chunk - 1);
        base += chunk * PAGE_SIZE;
        pages -= chunk;
    }
    return n;
}

/* Issue a (rep) hypercall to completion; 0 or -XEN_EIO. */
static int call(uint64_t code, uint64_t varhead, unsigned int reps, const void *in)
{
    uint64_t control = code | (varhead << HV_HC_VARHEAD_SHIFT) |
                       ((uint64_t)reps << HV_HC_REP_COUNT_SHIFT);
    uint64_t in_gpa = arch_virt_to_phys(in).pa;
    unsigned int start = 0;

    for (;;) {
        uint64_t r = arch_hyperv_hypercall(hypercall_page, control, in_gpa, 0);
        unsigned int done;

        if ((r & HV_RESULT_STATUS_MASK) != HV_STATUS_SUCCESS) {
            __atomic_store_n(&last_bad_status, r & HV_RESULT_STATUS_MASK, __ATOMIC_RELAXED);
            return -XEN_EIO;
        }
        if (!reps)
            return 0;
        /* A rep call may return early (TLFS "Rep hypercall restarting"):
         * continue from the reps it completed, which must advance. */
        done = (r & HV_RESULT_REP_DONE_MASK) >> HV_RESULT_REP_DONE_SHIFT;
        if (done >= reps)
            return 0;
        if (done <= start)
            return -XEN_EIO;
        start = done;
        control = (control & ~HV_HC_REP_START_MASK) |
                  ((uint64_t)start << HV_HC_REP_START_SHIFT);
    }
}

int hyperv_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                     unsigned int flags)
{
    unsigned int self = arch_cpu_id();
    uint64_t hvflags = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
    uint64_t banks[HV_VP_SET_MAX_BANKS] = { 0 };
    uint64_t valid_banks = 0, nr_gva = 0;
    bool all = flags & L0_FLUSH_ALL_OTHERS, list, ex = false;
    unsigned int nr_banks = 0;
    unsigned long irq;
    uint64_t *in;
    int rc;

    if (!ready)
        return -XEN_EOPNOTSUPP;
    if (cpumask_empty(mask) || self >= NR_CPUS)
        return -XEN_EINVAL;         /* never send an empty processor set */
    if (!arch_cpu_scratch_page(self))
        return -XEN_ENOMEM;         /* no per-CPU area: the caller uses IPIs */

    /* All other online CPUs (the caller knows): let L0 take every
     * processor. */
    for_each_cpu(c, mask) {
        uint32_t vp;

        if (all)
            break;
        if (!cpumask_test(&vp_known, c)) {
            all = true;
            break;
        }
        vp = vp_index[c];
        if (vp >= HV_VP_SET_BANK_SIZE * HV_VP_SET_MAX_BANKS) {
            all = true;
            break;
        }
        banks[vp / 64] |= 1ULL << (vp % 64);
        valid_banks |= 1ULL << (vp / 64);
    }
    if (all)
        hvflags |= HV_FLUSH_ALL_PROCESSORS;
    else if (valid_banks & ~1ULL)
        ex = true;
    if (ex && !(recommendations & HV_EX_PROCESSOR_MASKS_RECOMMENDED))
        return -XEN_EOPNOTSUPP;     /* cannot name VP >= 64 without Ex */
    if (ex)
        nr_banks = popcount64(valid_banks);

    list = flags & L0_FLUSH_VA;
    if (list) {
        uint64_t header = ex ? sizeof(struct hv_flush_input_ex) + 8 * nr_banks
                             : sizeof(struct hv_flush_input);
        uint64_t room = (PAGE_SIZE - header) / 8;

        nr_gva = gva_entries(order);
        if (!nr_gva || nr_gva > room || nr_gva > HV_HC_REP_MAX)
            list = false;           /* too many ranges: flush everything */
    }
    if (!list && !(flags & (L0_FLUSH_GLOBAL | L0_FLUSH_VA)))
        hvflags |= HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;

    irq = arch_irq_save();
    in = arch_cpu_scratch_page(self);
    if (!ex) {
        struct hv_flush_input *f = (struct hv_flush_input *)in;

        f->address_space = 0;
        f->flags = hvflags;
        f->processor_mask = all ? 0 : banks[0];
        if (list)
            fill_gvas(f->gva, va, order);
        rc = list ? call(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 0, (unsigned int)nr_gva, f)
                  : call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0, f);
    } else {
        struct hv_flush_input_ex *f = (struct hv_flush_input_ex *)in;
        unsigned int n = 0;

        f->address_space = 0;
        f->flags = hvflags;
        f->vp_set_format = HV_GENERIC_SET_SPARSE_4K;
        f->vp_set_valid_banks = valid_banks;
        for (unsigned int b = 0; b < HV_VP_SET_MAX_BANKS; b++)
            if (valid_banks & (1ULL << b))
                f->vp_set_banks[n++] = banks[b];
        if (list)
            fill_gvas(&f->vp_set_banks[n], va, order);
        /* The variable header is the banks, in 8-byte units (TLFS). */
        rc = list ? call(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, nr_banks,
                         (unsigned int)nr_gva, f)
                  : call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, nr_banks, 0, f);
    }
    arch_irq_restore(irq);
    __atomic_fetch_add(&nr_calls[(ex ? 2 : 0) + (list ? 1 : 0)], 1, __ATOMIC_RELAXED);
    if (all)
        __atomic_fetch_add(&nr_all_processors, 1, __ATOMIC_RELAXED);
    if (rc)
        __atomic_fetch_add(&nr_errors, 1, __ATOMIC_RELAXED);
    return rc;
}

void hyperv_get_stats(struct hyperv_stats *st)
{
    for (unsigned int i = 0; i < HV_NR_FORMS; i++)
        st->calls[i] = __atomic_load_n(&nr_calls[i], __ATOMIC_RELAXED);
    st->all_processors = __atomic_load_n(&nr_all_processors, __ATOMIC_RELAXED);
    st->errors = __atomic_load_n(&nr_errors, __ATOMIC_RELAXED);
    st->last_bad_status = __atomic_load_n(&last_bad_status, __ATOMIC_RELAXED);
}

/*
 * Self-test against the real L0: each flush form with this CPU as the only
 * target (or every processor), checked against what the TLFS says the
 * answer must be. Flushing is always safe, so the probes cost nothing but
 * TLB refills; the two refused inputs change nothing by definition.
 */
struct hv_probe {
    const char *name;
    uint16_t code;
    uint16_t varhead;           /* 8-byte units                          */
    uint16_t reps;
    uint16_t want;              /* TLFS status                           */
    uint64_t in[8];             /* input page head; VP bit filled in     */
    uint8_t vp_qword;           /* index of the qword holding our VP bit, 0: none */
};

unsigned int hyperv_selftest(void)
{
    unsigned int self = arch_cpu_id();
    uint32_t vp = (self < NR_CPUS && cpumask_test(&vp_known, self)) ?
                  vp_index[self] : 0;
    uint64_t bit = 1ULL << (vp % 64);
    uint64_t bank_mask = 1ULL << (vp / 64);
    const uint64_t gva0 = 0xffff800000000000ULL, gva1 = 0x400000ULL | 3;
    const uint64_t aas = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
    const struct hv_probe probes[] = {
        { "space all-processors", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0,
          HV_STATUS_SUCCESS, { 0, aas | HV_FLUSH_ALL_PROCESSORS, 0 }, 0 },
        { "space mask", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0,
          HV_STATUS_SUCCESS, { 0, aas, 0 }, 2 },
        { "list mask 2 reps", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 0, 2,
          HV_STATUS_SUCCESS, { 0, aas, 0, gva0, gva1 }, 2 },
        { "space-ex sparse 1 bank", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 1, 0,
          HV_STATUS_SUCCESS, { 0, aas, HV_GENERIC_SET_SPARSE_4K, bank_mask, 0 }, 4 },
        { "list-ex sparse 1 bank 2 reps", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 1, 2,
          HV_STATUS_SUCCESS, { 0, aas, HV_GENERIC_SET_SPARSE_4K, bank_mask, 0, gva0, gva1 }, 4 },
        /* A sparse set may list a bank with no VP in it. */
        { "space-ex sparse with empty bank", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 2, 0,
          HV_STATUS_SUCCESS,
          { 0, aas, HV_GENERIC_SET_SPARSE_4K, bank_mask | (bank_mask << 1), 0, 0 }, 4 },
        { "space-ex set-all", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0,
          HV_STATUS_SUCCESS, { 0, aas, HV_GENERIC_SET_ALL, 0 }, 0 },
        /* TLFS "HV_GENERIC_SET_FORMAT": only 0 and 1 exist. */
        { "space-ex bad set format (refused)", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0,
          HV_STATUS_INVALID_PARAMETER, { 0, aas, 7, 0 }, 0 },
        /* An unassigned call code (TLFS "Hypercall Code Reference"). */
        { "unknown call code (refused)", 0x7ffe, 0, 0,
          HV_STATUS_INVALID_HYPERCALL_CODE, { 0 }, 0 },
    };
    unsigned int bad = 0;

    if (!ready || self >= NR_CPUS || !arch_cpu_scratch_page(self)) {
        pr_info("l0: selftest backend=hyperv not set up mismatches=1\n");
        return 1;
    }
    pr_info("l0: selftest backend=hyperv vp=%u recommendations=0x%x\n",
            (unsigned int)vp, (unsigned int)recommendations);
    for (unsigned int i = 0; i < ARRAY_SIZE(probes); i++) {
        const struct hv_probe *p = &probes[i];
        uint64_t *in = arch_cpu_scratch_page(self);
        uint64_t control = p->code | ((uint64_t)p->varhead << HV_HC_VARHEAD_SHIFT) |
                           ((uint64_t)p->reps << HV_HC_REP_COUNT_SHIFT);
        unsigned long irq;
        unsigned int status, done;
        uint64_t r;
        bool ok;

        irq = arch_irq_save();
        memset(in, 0, 8 * ARRAY_SIZE(p->in));
        memcpy(in, p->in, sizeof(p->in));
        if (p->vp_qword)
            in[p->vp_qword] = bit;
        r = arch_hyperv_hypercall(hypercall_page, control, arch_virt_to_phys(in).pa, 0);
        arch_irq_restore(irq);
        status = (unsigned int)(r & HV_RESULT_STATUS_MASK);
        done = (unsigned int)((r & HV_RESULT_REP_DONE_MASK) >> HV_RESULT_REP_DONE_SHIFT);
        /* A rep call that succeeds has done every rep (no restart here:
         * two reps never need it). */
        ok = status == p->want && (status != HV_STATUS_SUCCESS || done == p->reps);
        if (!ok)
            bad++;
        pr_info("l0: selftest %-34s status=0x%04x reps=%u/%u want=0x%04x %s\n",
                p->name, status, done, (unsigned int)p->reps, (unsigned int)p->want,
                ok ? "ok" : "MISMATCH");
    }
    pr_info("l0: selftest backend=hyperv probes=%lu mismatches=%u\n",
            (unsigned long)ARRAY_SIZE(probes), bad);
    return bad;
}

static unsigned int hyperv_flush_caps(void)
{
    return L0_FLUSH_AVAILABLE |
           (hyperv_flush_recommended() ? L0_FLUSH_RECOMMENDED : 0);
}

static void hyperv_print_stats(void)
{
    struct hyperv_stats hs;

    hyperv_get_stats(&hs);
    pr_info("l0: flush calls backend=hyperv space=%lu list=%lu space-ex=%lu list-ex=%lu "
            "all-processors=%lu errors=%lu last-status=0x%lx\n",
            (unsigned long)hs.calls[0], (unsigned long)hs.calls[1],
            (unsigned long)hs.calls[2], (unsigned long)hs.calls[3],
            (unsigned long)hs.all_processors, (unsigned long)hs.errors,
            (unsigned long)hs.last_bad_status);
}

/* As the platform L0, Hyper-V offers no console and no shutdown here. */
const struct l0_ops hyperv_l0_ops = {
    .kind = L0_HYPERV,
    .name = "hyperv",
    .cpu_init = hyperv_cpu_init,
    .flush_caps = hyperv_flush_caps,
    .flush_tlb = hyperv_flush_tlb,
    .selftest = hyperv_selftest,
    .print_stats = hyperv_print_stats,
};
