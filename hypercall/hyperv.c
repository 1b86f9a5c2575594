/*
 * Hyper-V L0 backend: the hypercall page and the remote TLB flush
 * hypercalls (HvCallFlushVirtualAddressSpace/List and their Ex forms with
 * sparse VP sets). Encodings: include/hyperv/tlfs.h, from the TLFS.
 *
 * How a flush request maps onto the hypercalls:
 *  - Always HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES: the PV guest switches
 *    between many CR3s and the shim cannot tell which ones cached the VA.
 *  - Processors: every target CPU's VP index (MSR 0x40000002). When the
 *    targets are all online CPUs but this one, or a target's VP index is
 *    unknown (or >= 4096), HV_FLUSH_ALL_PROCESSORS: flushing more
 *    processors than asked is always correct. Otherwise a 64-bit
 *    ProcessorMask when every VP index is < 64, else the Ex form with a
 *    sparse 4K VP set, only when L0 recommends Ex processor masks (CPUID
 *    0x40000004 EAX bit 11); without it the request is refused (IPIs).
 *  - FLUSH_VA_VALID: the List form, one GVA range per 4096 pages, when the
 *    ranges fit in the input page; else the Space form (flush all).
 *  - HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY only for a full flush that did not
 *    ask for global entries (FLUSH_TLB alone): PV guest user mappings may
 *    be global, and a request with FLUSH_TLB_GLOBAL or a VA (INVLPG
 *    semantics) must remove them. The List forms never take it (TLFS:
 *    invalid option there).
 *  - Any status other than HV_STATUS_SUCCESS: -EIO, and flush.c uses IPIs.
 */
#include <string.h>
#include <hyperv/tlfs.h>
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/flush.h>
#include <minishim/l0.h>
#include <minishim/percpu.h>

static uint8_t hypercall_page[PAGE_SIZE] __aligned(PAGE_SIZE);
/* One input page per CPU: input must not cross a page boundary (TLFS
 * "Hypercall Inputs and Outputs"); used with interrupts off. */
static uint8_t input_page[NR_CPUS][PAGE_SIZE] __aligned(PAGE_SIZE);

static bool ready;
static bool have_vp_index_msr;
static uint32_t recommendations;        /* CPUID base+4 EAX */
static cpumask_t vp_known;              /* CPUs whose hv_vp_index is read */

int hyperv_init(const struct l0_detect *d)
{
    struct cpuid_regs features, enl;
    uint64_t os_id, hc;

    ready = false;
    cpumask_clear(&vp_known);
    if (!d->hyperv || d->hyperv_interface != HV_INTERFACE_HV1)
        return -XEN_ENODEV;
    if (d->hyperv_max_leaf < d->hyperv_base + HV_CPUID_ENLIGHTENMENTS)
        return -XEN_ENODEV;
    arch_cpuid(d->hyperv_base + HV_CPUID_FEATURES, 0, &features);
    arch_cpuid(d->hyperv_base + HV_CPUID_ENLIGHTENMENTS, 0, &enl);
    if (!(features.eax & HV_MSR_HYPERCALL_AVAILABLE))
        return -XEN_ENODEV;
    have_vp_index_msr = features.eax & HV_MSR_VP_INDEX_AVAILABLE;
    recommendations = enl.eax;

    /* The guest OS identity must be non-zero before the hypercall page
     * can be enabled (TLFS "Establishing the Hypercall Interface"). */
    os_id = HV_GUEST_OS_ID_OPEN_SOURCE |
            (HV_GUEST_OS_TYPE_XEN << HV_GUEST_OS_TYPE_SHIFT) |
            (0x0001ULL << HV_GUEST_OS_VERSION_SHIFT);        /* 0.1 */
    arch_wrmsr(HV_X64_MSR_GUEST_OS_ID, os_id);

    hc = arch_rdmsr(HV_X64_MSR_HYPERCALL);
    hc = (hc & ~HV_HYPERCALL_PAGE_MASK & ~HV_HYPERCALL_ENABLE) |
         arch_virt_to_phys(hypercall_page).pa | HV_HYPERCALL_ENABLE;
    arch_wrmsr(HV_X64_MSR_HYPERCALL, hc);
    if (!(arch_rdmsr(HV_X64_MSR_HYPERCALL) & HV_HYPERCALL_ENABLE))
        return -XEN_EIO;
    ready = true;
    return 0;
}

void hyperv_cpu_init(void)
{
    unsigned int cpu = arch_cpu_id();

    if (!ready || !have_vp_index_msr || cpu >= NR_CPUS)
        return;
    percpu[cpu].hv_vp_index = (uint32_t)arch_rdmsr(HV_X64_MSR_VP_INDEX);
    cpumask_set(&vp_known, cpu);
}

bool hyperv_flush_recommended(void)
{
    return ready && (recommendations & HV_REMOTE_TLB_FLUSH_RECOMMENDED);
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

        if ((r & HV_RESULT_STATUS_MASK) != HV_STATUS_SUCCESS)
            return -XEN_EIO;
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
    bool all = false, list, ex = false;
    unsigned int nr_banks = 0;
    cpumask_t others;
    unsigned long irq;
    uint64_t *in;
    int rc;

    if (!ready)
        return -XEN_EOPNOTSUPP;
    if (cpumask_empty(mask) || self >= NR_CPUS)
        return -XEN_EINVAL;         /* never send an empty processor set */

    /* All other online CPUs: let L0 take every processor. */
    cpumask_andnot(&others, &cpu_online_mask, mask);
    cpumask_clear_cpu(&others, self);
    if (cpumask_empty(&others))
        all = true;
    for_each_cpu(c, mask) {
        uint32_t vp;

        if (all)
            break;
        if (!cpumask_test(&vp_known, c)) {
            all = true;
            break;
        }
        vp = percpu[c].hv_vp_index;
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

    list = flags & FLUSH_VA_VALID;
    if (list) {
        uint64_t header = ex ? sizeof(struct hv_flush_input_ex) + 8 * nr_banks
                             : sizeof(struct hv_flush_input);
        uint64_t room = (PAGE_SIZE - header) / 8;

        nr_gva = gva_entries(order);
        if (!nr_gva || nr_gva > room || nr_gva > HV_HC_REP_MAX)
            list = false;           /* too many ranges: flush everything */
    }
    if (!list && !(flags & (FLUSH_TLB_GLOBAL | FLUSH_VA_VALID)))
        hvflags |= HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;

    irq = arch_irq_save();
    in = (uint64_t *)input_page[self];
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
    return rc;
}
