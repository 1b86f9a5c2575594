/*
 * The PV domain and its vCPUs: global state, the read-only M2P the guest
 * sees at RO_MPT_VIRT_START, the shim's L4 slots every guest L4 carries,
 * and crashing the domain.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/layout.h>
#include <minishim/page_alloc.h>
#include <minishim/percpu.h>
#include <minishim/pv.h>
#include <minishim/pv_emul.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_pt.h>
#include <minishim/shim.h>
#include <minishim/pv_console.h>
#include <minishim/pv_descriptor.h>

struct domain pv_dom;
unsigned long *pv_m2p;
unsigned long pv_m2p_entries;
mfn_t pv_m2p_base;
static uint64_t ro_mpt_l3e;          /* L4 slot 256 entry: the M2P's L3  */
static uint64_t shim_l4_slots[L4_SLOT_LAST_RESERVED - L4_SLOT_FIRST_RESERVED + 1];

struct vcpu *pv_current(void)
{
    struct vcpu *v = this_cpu()->vcpu;

    return v ? v : &pv_dom.vcpus[0];
}

/* A table page for the shim's own mappings (M2P): zeroed shim frame. */
static uint64_t *new_table(uint64_t *pa_out)
{
    mfn_t m = alloc_frame(FRAME_SHIM);

    if (!mfn_valid_value(m))
        return NULL;
    *pa_out = mfn_to_paddr(m).pa;
    return arch_phys_to_virt(mfn_to_paddr(m));
}

int pv_m2p_init(void)
{
    unsigned long entries = page_alloc_max_mfn(), frames;
    uint64_t l3_pa, l2_pa = 0, l1_pa = 0, m2p_pa;
    uint64_t *l3, *l2 = NULL, *l1 = NULL;
    mfn_t base;

    /* Remember the shim's reserved L4 slots while still on its tables. */
    memcpy(shim_l4_slots,
           (uint64_t *)arch_phys_to_virt(pa(arch_read_cr3() & PTE_ADDR_MASK)) +
           L4_SLOT_FIRST_RESERVED, sizeof(shim_l4_slots));

    frames = (entries * sizeof(unsigned long) + PAGE_SIZE - 1) >> PAGE_SHIFT;
    /* One L2 maps 1 GiB of M2P = 128 Gi frames: plenty. */
    if (!frames || frames > 512 * 512)
        return -XEN_ENOMEM;
    base = alloc_frames_contig(frames, FRAME_SHIM);
    if (!mfn_valid_value(base))
        return -XEN_ENOMEM;
    m2p_pa = mfn_to_paddr(base).pa;
    pv_m2p_base = base;
    pv_m2p = arch_phys_to_virt(pa(m2p_pa));
    pv_m2p_entries = frames * PAGE_SIZE / sizeof(unsigned long);
    memset(pv_m2p, 0xff, frames * PAGE_SIZE);   /* INVALID_M2P_ENTRY */

    l3 = new_table(&l3_pa);
    if (!l3)
        return -XEN_ENOMEM;
    /* Read-only for the guest (Xen: __PAGE_HYPERVISOR_RO | PTE_USER). */
    for (unsigned long i = 0; i < frames; i++) {
        if (i % (512 * 512) == 0) {
            l2 = new_table(&l2_pa);
            if (!l2)
                return -XEN_ENOMEM;
            l3[i / (512 * 512)] = l2_pa | PTE_PRESENT | PTE_USER;
        }
        if (i % 512 == 0) {
            l1 = new_table(&l1_pa);
            if (!l1)
                return -XEN_ENOMEM;
            l2[(i / 512) % 512] = l1_pa | PTE_PRESENT | PTE_USER;
        }
        l1[i % 512] = (m2p_pa + i * PAGE_SIZE) | PTE_PRESENT | PTE_USER |
                      PTE_ACCESSED;
    }
    ro_mpt_l3e = l3_pa | PTE_PRESENT | PTE_USER | PTE_ACCESSED;
    return 0;
}

void pv_init_xen_l4_slots(uint64_t *l4)
{
    for (unsigned int s = L4_SLOT_FIRST_RESERVED; s <= L4_SLOT_LAST_RESERVED; s++)
        l4[s] = shim_l4_slots[s - L4_SLOT_FIRST_RESERVED];
    l4[L4_SLOT_FIRST_RESERVED] = ro_mpt_l3e;
}

void __noreturn pv_domain_crash(const char *fmt, ...)
{
    va_list ap;

    pv_console_drain_final();
    va_start(ap, fmt);
    shim_vcrash("guest: domain crashed", fmt, ap);
}

uint64_t pv_kernel_cr3(const struct vcpu *v)
{
    return v->mm.kernel_l4.mfn ? mfn_to_paddr(v->mm.kernel_l4).pa : v->guest_table;
}

uint64_t pv_user_cr3(const struct vcpu *v)
{
    return v->mm.user_l4.mfn ? mfn_to_paddr(v->mm.user_l4).pa : 0;
}

/* ------------------------------------------------------- PV MMU glue --- */

static uint64_t mm_shim_l4[512] __aligned(PAGE_SIZE);

static struct pv_mm_vcpu_state *mm_current_vcpu(void)
{
    return &pv_current()->mm;
}

static void mm_load_kernel_pt(struct pv_mm_vcpu_state *s)
{
    struct vcpu *v = &pv_dom.vcpus[s->id];

    v->guest_table = mfn_to_paddr(s->kernel_l4).pa;
    if (v == pv_current() && v->kernel_mode)
        arch_write_cr3(v->guest_table);
}

static const struct pv_mm_guest_ops mm_guest_ops = {
    .copy_from = copy_from_guest,
    .copy_to = copy_to_guest,
};

int pv_mm_setup(void)
{
    unsigned long n = page_alloc_max_mfn();
    size_t bytes = pv_mm_frame_info_bytes(n);
    struct pv_mm_config c = {
        .frame_is_guest = frame_is_guest,
        .frame_leave = page_alloc_guest_leave,
        .shim_l4 = mm_shim_l4,
        .dirty_mask = &cpu_online_mask,
        .max_vcpus = pv_dom.nr_vcpus,
        .current_vcpu = mm_current_vcpu,
        .guest = &mm_guest_ops,
        .m2p = (uint64_t *)pv_m2p,
        .load_kernel_pt = mm_load_kernel_pt,
        .validate_seg_desc = pv_validate_seg_desc_page,
        .ldt_changed = pv_ldt_changed,
        .domid = pv_dom.domid,
    };
    struct vcpu *v = &pv_dom.vcpus[0];
    mfn_t store, l4;
    int rc;

    pv_init_xen_l4_slots(mm_shim_l4);
    store = alloc_frames_contig((bytes + PAGE_SIZE - 1) >> PAGE_SHIFT, FRAME_SHIM);
    if (!mfn_valid_value(store))
        return -XEN_ENOMEM;
    rc = pv_mm_init(arch_phys_to_virt(mfn_to_paddr(store)), n, &c);
    if (rc)
        return rc;
    /* Xen's builder: the top-level table is typed, validated and pinned. */
    l4 = paddr_to_mfn(pa(v->guest_table));
    v->mm.id = v->id;
    rc = pv_mm_pin_table(l4, 4);
    if (rc)
        return rc;
    return pv_mm_set_base(&v->mm, l4, false);
}
