/*
 * Xen L0 backend: hypercall page, console_io, HVM params, memory map,
 * shutdown, HVMOP_flush_tlbs, and the l0_ops that expose them (xen_l0_ops). The shim is an HVM (PVH) guest of L0, so it uses the HVM
 * hypercall ABI: the page is installed by writing its physical address to
 * the MSR named in CPUID leaf base+2 (Xen's public arch-x86/cpuid.h).
 */
#include <string.h>
#include <minishim/xen-public.h>
#include <xen/vcpu.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/grant_table.h>
#include <xen/arch-x86/cpuid.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/inject.h>
#include <minishim/l0.h>

static uint8_t hypercall_page[PAGE_SIZE] __aligned(PAGE_SIZE);
static bool ready;
/* HVMOP_flush_tlbs calls, for the shutdown report (relaxed atomics: CPUs
 * flush concurrently). */
static uint64_t nr_flushes, nr_flush_errors;

int xen_init(const struct l0_detect *d)
{
    nr_flushes = nr_flush_errors = 0;
    if (!d->xen)
        return -XEN_ENODEV;
    if (d->xen_hcall_pages < 1 || !d->xen_hcall_msr)
        return -XEN_ENODEV;
    /* Low 12 bits of the MSR value select which hypercall page (0). */
    arch_wrmsr(d->xen_hcall_msr, arch_virt_to_phys(hypercall_page).pa);
    /* Xen fills every 32-byte entry with code; a zero first byte means the
     * MSR write did not take. */
    if (hypercall_page[0] == 0)
        return -XEN_EIO;
    ready = true;
    return 0;
}

long xen_hypercall(unsigned int nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5)
{
    if (!ready)
        return -XEN_ENOSYS;
    return arch_xen_hypercall(hypercall_page, nr, a1, a2, a3, a4, a5);
}

/*
 * A release build of Xen answers console_io from a domU with -EPERM (only
 * dom0, or any domain on a debug build, may write the hypervisor console);
 * stop asking after the first refusal.
 */
static bool console_io_refused;
/* Bytes console_io failed twice for with another error, and the last one
 * (xen_console_io_lost: the shutdown summary says so). */
static unsigned long console_io_lost;
static long console_io_last_error;

static long console_io(const char *s, size_t len)
{
    if (inject_hit(INJECT_L0_CONSOLE_FAIL))
        return -INJECT_L0_ERRNO;
    return xen_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, len,
                         (unsigned long)s, 0, 0);
}

/* Any other failure (Xen's do_console_io: -EFAULT for a copy that failed)
 * is tried once more; text still refused is counted, not retried again:
 * the other console sinks carry the same text. */
void xen_console_write(const char *s, size_t len)
{
    long rc;

    if (!ready || console_io_refused)
        return;
    rc = console_io(s, len);
    if (rc && rc != -XEN_EPERM)
        rc = console_io(s, len);
    if (rc == -XEN_EPERM) {
        console_io_refused = true;
    } else if (rc) {
        console_io_lost += len;
        console_io_last_error = rc;
    }
}

unsigned long xen_console_io_lost(long *last_error)
{
    if (last_error)
        *last_error = console_io_last_error;
    return console_io_lost;
}

bool xen_console_io_refused(void)
{
    return console_io_refused;
}

int xen_get_hvm_param(unsigned int index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = xen_hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param,
                            (unsigned long)&p, 0, 0, 0);

    if (rc)
        return (int)rc;
    *value = p.value;
    return 0;
}

int xen_set_hvm_param(unsigned int index, uint64_t value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index, .value = value };

    return (int)xen_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param,
                              (unsigned long)&p, 0, 0, 0);
}

/*
 * XENMAPSPACE_gmfn (public memory.h): the page at gfn idx moves to gpfn;
 * whatever backed gpfn is released (xenmem_add_to_physmap_one in
 * xen/arch/x86/mm.c). Mappings other domains hold of the page (xenstored's
 * grant map of the store ring) follow the page, not the frame number.
 */
long xen_memory_op(unsigned int cmd, void *arg)
{
    if (inject_hit(INJECT_L0_MEMOP_FAIL))
        return -INJECT_L0_ERRNO;
    return xen_hypercall(__HYPERVISOR_memory_op, cmd, (unsigned long)arg, 0, 0, 0);
}

long xen_reservation_op(unsigned int op, unsigned long *gfns, unsigned int n)
{
    struct xen_memory_reservation r = {
        .nr_extents = n,
        .extent_order = 0,
        .domid = DOMID_SELF,
    };

    if (op != XENMEM_decrease_reservation && op != XENMEM_populate_physmap)
        return -XEN_EINVAL;
    set_xen_guest_handle(r.extent_start, gfns);
    return xen_memory_op(op, &r);
}

int xen_move_frame(uint64_t from_gfn, uint64_t to_gfn)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_gmfn,
        .idx = from_gfn,
        .gpfn = to_gfn,
    };

    return (int)xen_memory_op(XENMEM_add_to_physmap, &xatp);
}

int xen_memory_map(void *buf, unsigned int max_entries, unsigned int *nr)
{
    struct xen_memory_map map = { .nr_entries = max_entries };
    long rc;

    set_xen_guest_handle(map.buffer, buf);
    rc = xen_memory_op(XENMEM_memory_map, &map);
    if (rc)
        return (int)rc;
    *nr = map.nr_entries;
    return 0;
}

long xen_shutdown(unsigned int reason)
{
    struct sched_shutdown s = { .reason = reason };

    return xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown,
                         (unsigned long)&s, 0, 0, 0);
}

/*
 * HVMOP_flush_tlbs (Xen public hvm/hvm_op.h): flush the TLBs of every vCPU
 * of this domain. Its argument must be NULL (Xen returns -EINVAL
 * otherwise); a needed continuation is made by Xen itself.
 */
int xen_flush_tlb(void)
{
    int rc = (int)xen_hypercall(__HYPERVISOR_hvm_op, HVMOP_flush_tlbs, 0, 0, 0, 0);

    __atomic_fetch_add(&nr_flushes, 1, __ATOMIC_RELAXED);
    if (rc)
        __atomic_fetch_add(&nr_flush_errors, 1, __ATOMIC_RELAXED);
    return rc;
}

static unsigned int xen_flush_caps(void)
{
    /*
     * Xen's own shim uses HVMOP_flush_tlbs whenever it can. It covers the
     * caller: Xen 4.17's HAP flush_tlb() (mm/hap/hap.c, reached through
     * paging_flush_tlb(NULL)) gives every vCPU of the domain, current
     * included, a new ASID/VPID (hvm_asid_flush_vcpu), so the calling
     * vCPU's whole TLB, global entries too, is gone when it runs again.
     */
    return L0_FLUSH_AVAILABLE | L0_FLUSH_RECOMMENDED | L0_FLUSH_COVERS_CALLER;
}

/* mask, va, order and flags cannot be expressed: every vCPU, everything. */
static int xen_flush_op(const cpumask_t *mask, vaddr_t va, unsigned int order,
                        unsigned int flags)
{
    (void)mask; (void)va; (void)order; (void)flags;
    return xen_flush_tlb();
}

static unsigned int xen_selftest(void)
{
    int rc = xen_flush_tlb();

    pr_info("l0: selftest backend=xen HVMOP_flush_tlbs rc=%d mismatches=%u\n",
            rc, rc ? 1u : 0u);
    return rc ? 1 : 0;
}

static void xen_print_stats(void)
{
    pr_info("l0: flush calls backend=xen hvmop-flush-tlbs=%lu errors=%lu\n",
            (unsigned long)__atomic_load_n(&nr_flushes, __ATOMIC_RELAXED),
            (unsigned long)__atomic_load_n(&nr_flush_errors, __ATOMIC_RELAXED));
}

const struct l0_ops xen_l0_ops = {
    .kind = L0_XEN,
    .name = "xen",
    .console_write = xen_console_write,
    .shutdown = xen_shutdown,
    .flush_caps = xen_flush_caps,
    .flush_tlb = xen_flush_op,
    .selftest = xen_selftest,
    .print_stats = xen_print_stats,
};

/*
 * Secondary vCPUs of the shim's own (PVH) domain. VCPUOP_initialise takes
 * a struct vcpu_hvm_context for HVM/PVH guests (public vcpu.h); in
 * VCPU_HVM_MODE_64B the vCPU starts in long mode with flat cached segments
 * and GDTR/IDTR unset (public hvm/hvm_vcpu.h). Xen answers -EEXIST when
 * the vCPU was initialised before; VCPUOP_up then suffices.
 */
int xen_vcpu_start(unsigned int vcpu, const struct arch_ap_regs *r)
{
    struct vcpu_hvm_context ctx = { .mode = VCPU_HVM_MODE_64B };
    long rc;

    ctx.cpu_regs.x86_64 = (struct vcpu_hvm_x86_64){
        .rip = r->rip, .rsp = r->rsp, .rflags = r->rflags,
        .cr0 = r->cr0, .cr3 = r->cr3, .cr4 = r->cr4, .efer = r->efer,
    };
    if (inject_hit(INJECT_L0_VCPUOP_FAIL))
        return -INJECT_L0_ERRNO;
    rc = xen_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, vcpu,
                       (unsigned long)&ctx, 0, 0);
    if (rc && rc != -XEN_EEXIST)
        return (int)rc;
    return (int)xen_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_up, vcpu, 0, 0, 0);
}

/* VCPUOP_up / VCPUOP_down / VCPUOP_is_up on one of our own vCPUs. */
int xen_vcpu_op(int cmd, unsigned int vcpu)
{
    if (inject_hit(INJECT_L0_VCPUOP_FAIL))
        return -INJECT_L0_ERRNO;
    return (int)xen_hypercall(__HYPERVISOR_vcpu_op, (unsigned long)cmd, vcpu, 0, 0, 0);
}

/*
 * The shim domain's id in L0 (public arch-x86/cpuid.h: leaf base+4, ECX
 * holds it when EAX has XEN_HVM_CPUID_DOMID_PRESENT). Xen's own shim
 * (get_initial_domain_id in xen/arch/x86/pv/shim.c) takes 1 when the flag
 * is missing; so do we. -ENODEV without a Xen L0.
 */
int xen_domid(uint16_t *out)
{
    const struct l0_detect *d = l0_detected();
    struct cpuid_regs r;

    if (!ready || !d || !d->xen)
        return -XEN_ENODEV;
    arch_cpuid(d->xen_base + 4, 0, &r);
    *out = (r.eax & XEN_HVM_CPUID_DOMID_PRESENT) ? (domid_t)r.ecx : 1;
    return 0;
}

/* GNTTABOP_query_size on L0 for q->dom: L0's rc; q filled by L0. */
long xen_gnttab_query_size(struct gnttab_query_size *q)
{
    return xen_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_query_size,
                         (unsigned long)q, 1, 0, 0);
}

/*
 * XENMAPSPACE_grant_table (public memory.h): L0 puts shared frame idx of
 * the shim domain's grant table (grown to idx + 1 if needed) at gpfn;
 * the RAM page that was there goes back to L0 (xenmem_add_to_physmap_one
 * in xen/arch/x86/mm.c removes a RAM page it replaces).
 */
int xen_map_grant_frame(unsigned int idx, uint64_t gpfn)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_grant_table,
        .idx = idx,                     /* shared, not XENMAPIDX_grant_table_status */
        .gpfn = gpfn,
    };

    return (int)xen_memory_op(XENMEM_add_to_physmap, &xatp);
}
