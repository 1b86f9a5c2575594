/* memory_op and physdev_op sub-ops as Xen 4.17 answers a 64-bit PV domU
 * behind a pv-shim (pv/memory_op.c, pv/physdev.c): each errno in Xen's
 * order, the MEMOP_CMD_MASK / start-extent split, the state the few
 * served ones keep (memory map, PIRQs, the PIRQ EOI page). */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>
#include <minishim/percpu.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_memory_op.h>
#include <minishim/pv_physdev.h>
#include <minishim/pv_mm.h>
#include <minishim/xen-public.h>
#include <xen/memory.h>
#include <xen/physdev.h>
#include "fake/fake.h"
#include "pv_env.h"

#define HV_ADDR 0xffff800000001000ULL    /* the hypervisor's range: -EFAULT */
#define NO_DOM  0x7fefu
#define OWN_DOM 5u
#define EXT(op, n) ((unsigned long)(op) | ((unsigned long)(n) << 6))

static struct shared_info shinfo;

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static void setup(void)
{
    pv_env_reset(&shinfo, 2);
    fake_guest_fault_start = HV_ADDR & ~0xfffULL;
    fake_guest_fault_end = fake_guest_fault_start + 0x100000;
    pv_dom.nr_pages = pv_dom.max_pages = 4096;
    pv_dom.domid = OWN_DOM;
}

TestSuite(pv_memop, .init = setup);

/* A small frame table: frames 0x100..0x1ff are the guest's. */
#define NR_FR 0x200u
static struct pv_frame frames[NR_FR];
static struct pv_mm_vcpu_state mmv;
static cpumask_t dirty;
static bool is_guest(mfn_t m) { return m.mfn >= 0x100 && m.mfn < NR_FR; }
static struct pv_mm_vcpu_state *cur(void) { return &mmv; }
static const struct pv_mm_guest_ops gops = { copy_from_guest, copy_to_guest };

static void mm_setup(void)
{
    struct pv_mm_config c = {
        .frame_is_guest = is_guest, .dirty_mask = &dirty, .max_vcpus = 1,
        .current_vcpu = cur, .guest = &gops,
    };

    cr_assert_eq(pv_mm_init(frames, NR_FR, &c), 0);
}

Test(pv_memop, reservation_ops_answer_extents_done)
{
    xen_pfn_t list[2] = { 0x150, 0x151 };
    struct xen_memory_reservation r = { .nr_extents = 2, .domid = DOMID_SELF };

    set_xen_guest_handle(r.extent_start, list);
    /* At max_pages: nothing added; frames the frame table does not cover
     * (not RAM: guest_remove_page -EINVAL) are not given back. The
     * ballooning itself: test_pv_balloon.c. */
    cr_expect_eq(do_memory_op(XENMEM_increase_reservation, gp(&r)), 0);
    cr_expect_eq(do_memory_op(XENMEM_populate_physmap, gp(&r)), 0);
    cr_expect_eq(do_memory_op(XENMEM_decrease_reservation, gp(&r)), 0);
    /* The bits above MEMOP_CMD_MASK are the start extent, not the op. */
    cr_expect_eq(do_memory_op(EXT(XENMEM_increase_reservation, 1), gp(&r)), 1);
    cr_expect_eq(do_memory_op(EXT(XENMEM_populate_physmap, 7), HV_ADDR), 7);
    cr_expect_eq(do_memory_op(EXT(XENMEM_decrease_reservation, 3), gp(&r)), 3);
}

Test(pv_memop, stat_ops)
{
    domid_t self = DOMID_SELF, own = OWN_DOM, other = NO_DOM;

    cr_expect_eq(do_memory_op(EXT(XENMEM_current_reservation, 1), gp(&self)), -XEN_EINVAL);
    cr_expect_eq(do_memory_op(EXT(XENMEM_maximum_reservation, 1), HV_ADDR), -XEN_EINVAL);
    cr_expect_eq(do_memory_op(XENMEM_current_reservation, gp(&own)), 4096);
    cr_expect_eq(do_memory_op(XENMEM_maximum_gpfn, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_memory_op(XENMEM_maximum_gpfn, gp(&other)), -XEN_ESRCH);
    cr_expect_eq(do_memory_op(XENMEM_maximum_gpfn, gp(&self)), 0);
    shinfo.arch.max_pfn = 1234;
    cr_expect_eq(do_memory_op(XENMEM_maximum_gpfn, gp(&self)), 1233);
    cr_expect_eq(do_memory_op(EXT(XENMEM_maximum_ram_page, 1), 0), -XEN_EINVAL);
    cr_expect_geq(do_memory_op(XENMEM_maximum_ram_page, 0), 0);
    /* 18/19: sharing counters, 0 without mem-sharing; whole cmd matched. */
    cr_expect_eq(do_memory_op(18, HV_ADDR), 0);
    cr_expect_eq(do_memory_op(19, HV_ADDR), 0);
    cr_expect_eq(do_memory_op(EXT(19, 1), HV_ADDR), -XEN_ENOSYS);
    cr_expect_eq(do_memory_op(EXT(XENMEM_machphys_mapping, 1), HV_ADDR), -XEN_ENOSYS);
    cr_expect_eq(do_memory_op(EXT(XENMEM_machine_memory_map, 1), HV_ADDR), -XEN_ENOSYS);
    for (unsigned int op = 0; op < 64; op++)
        if (op == 8 || op == XENMEM_set_pod_target || op == XENMEM_get_pod_target ||
            (op >= 20 && op <= 22) || op >= 29)
            cr_expect_eq(do_memory_op(op, HV_ADDR), -XEN_ENOSYS, "op %u", op);
}

Test(pv_memop, machphys_mfn_lists)
{
    xen_pfn_t got[4] = { 0 };
    struct xen_machphys_mfn_list l = { .max_extents = 4 };

    /* An M2P of 3 MiB at frame 0x1000: two 2 MiB chunks. */
    pv_m2p_base = mfn(0x1000);
    pv_m2p_entries = (3UL << 20) / sizeof(unsigned long);
    set_xen_guest_handle(l.extent_start, got);
    cr_expect_eq(do_memory_op(XENMEM_machphys_mfn_list, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_memory_op(XENMEM_machphys_mfn_list, gp(&l)), 0);
    cr_expect_eq(l.nr_extents, 2);
    cr_expect_eq(got[0], 0x1000);
    cr_expect_eq(got[1], 0x1200);
    cr_expect_eq(got[2], 0);
    l.max_extents = 1;
    cr_expect_eq(do_memory_op(XENMEM_machphys_mfn_list, gp(&l)), 0);
    cr_expect_eq(l.nr_extents, 1);
    l.max_extents = 4;
    set_xen_guest_handle(l.extent_start, (void *)HV_ADDR);
    cr_expect_eq(do_memory_op(XENMEM_machphys_mfn_list, gp(&l)), -XEN_EFAULT);
    cr_expect_eq(do_memory_op(XENMEM_machphys_compat_mfn_list, gp(&l)), -XEN_EOPNOTSUPP);
    cr_expect_eq(do_memory_op(EXT(XENMEM_machphys_mfn_list, 1), gp(&l)), -XEN_ENOSYS);
}

Test(pv_memop, physmap_ops)
{
    struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn };
    struct xen_add_to_physmap_batch b = { .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn };
    struct xen_remove_from_physmap r = { .domid = DOMID_SELF, .gpfn = 0x150 };

    cr_expect_eq(do_memory_op(EXT(XENMEM_add_to_physmap, 0x10000), gp(&x)), -XEN_EDOM);
    cr_expect_eq(do_memory_op(EXT(XENMEM_add_to_physmap, 0xffff), HV_ADDR), -XEN_EFAULT);
    x.space = XENMAPSPACE_gmfn_foreign;
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap, gp(&x)), -XEN_ENOSYS);
    x.space = XENMAPSPACE_gmfn;
    x.domid = NO_DOM;
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap, gp(&x)), -XEN_ESRCH);
    x.domid = OWN_DOM;
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap, gp(&x)), -XEN_EACCES);

    cr_expect_eq(do_memory_op(EXT(XENMEM_add_to_physmap_batch, 0x10000), gp(&b)), -XEN_EDOM);
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap_batch, HV_ADDR), -XEN_EFAULT);
    b.size = 1;
    set_xen_guest_handle(b.idxs, (void *)HV_ADDR);
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap_batch, gp(&b)), -XEN_EFAULT);
    b.size = 0;
    b.space = XENMAPSPACE_gmfn_range;
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap_batch, gp(&b)), -XEN_EOPNOTSUPP);
    b.space = XENMAPSPACE_gmfn;
    b.domid = NO_DOM;
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap_batch, gp(&b)), -XEN_ESRCH);
    b.domid = DOMID_SELF;
    cr_expect_eq(do_memory_op(XENMEM_add_to_physmap_batch, gp(&b)), -XEN_EACCES);

    cr_expect_eq(do_memory_op(EXT(XENMEM_remove_from_physmap, 1), gp(&r)), -XEN_EINVAL);
    cr_expect_eq(do_memory_op(XENMEM_remove_from_physmap, HV_ADDR), -XEN_EFAULT);
    r.domid = NO_DOM;
    cr_expect_eq(do_memory_op(XENMEM_remove_from_physmap, gp(&r)), -XEN_ESRCH);
    r.domid = DOMID_SELF;
    cr_expect_eq(do_memory_op(XENMEM_remove_from_physmap, gp(&r)), -XEN_EACCES);
}

Test(pv_memop, exchange)
{
    xen_pfn_t in[2] = { 0x150, 0x151 }, out[2];
    struct xen_memory_exchange e = {
        .in = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF },
        .out = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF },
        .nr_exchanged = 0,
    };

    mm_setup();
    set_xen_guest_handle(e.in.extent_start, in);
    set_xen_guest_handle(e.out.extent_start, out);
    cr_expect_eq(do_memory_op(EXT(XENMEM_exchange, 1), gp(&e)), -XEN_EINVAL);
    cr_expect_eq(do_memory_op(XENMEM_exchange, HV_ADDR), -XEN_EFAULT);
    e.in.extent_order = 10;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EPERM);
    e.in.extent_order = 1;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EINVAL);   /* sizes */
    e.in.extent_order = 0;
    e.out.domid = OWN_DOM;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EINVAL);   /* domids */
    e.out.domid = DOMID_SELF;
    e.nr_exchanged = 1;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), 0);             /* all done */
    e.nr_exchanged = 0;
    set_xen_guest_handle(e.in.extent_start, (void *)HV_ADDR);
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EFAULT);
    set_xen_guest_handle(e.in.extent_start, in);
    e.out.mem_flags = XENMEMF_exact_node(0);
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EINVAL);
    e.out.mem_flags = 0;
    e.in.domid = e.out.domid = NO_DOM;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_ESRCH);
    e.in.domid = e.out.domid = DOMID_SELF;
    in[0] = 0x50;                       /* not the guest's: steal_page */
    e.nr_exchanged = 99;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EINVAL);
    e.nr_exchanged = 0;
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EINVAL);
    cr_expect_eq(e.nr_exchanged, 0);
    in[0] = 0x150;                      /* the guest's, but referenced */
    cr_assert_eq(pv_mm_get_page_and_type(mfn(0x150), PGT_WRITABLE), 0);
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_EINVAL);
    pv_mm_put_page_and_type(mfn(0x150));
    /* A free guest frame: no memory to exchange it for. */
    cr_expect_eq(do_memory_op(XENMEM_exchange, gp(&e)), -XEN_ENOMEM);
    cr_expect_eq(e.nr_exchanged, 0);
}

Test(pv_memop, privileged_and_absent_ops)
{
    struct xen_memory_reservation r = { .domid = DOMID_SELF };
    struct xen_vnuma_topology_info t = { .domid = DOMID_SELF, .pad = 1 };
    struct xen_mem_acquire_resource a = { .domid = DOMID_SELF, .pad = 1 };
    struct { uint32_t flags, nr_entries; uint64_t buffer, dev; } rdm = { .flags = 2 };

    cr_expect_eq(do_memory_op(XENMEM_machine_memory_map, HV_ADDR), -XEN_EPERM);
    cr_expect_eq(do_memory_op(EXT(24, 1), gp(&r)), -XEN_EINVAL);        /* claim_pages */
    cr_expect_eq(do_memory_op(24, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_memory_op(24, gp(&r)), -XEN_EINVAL);                /* DOMID_SELF */
    r.domid = OWN_DOM;
    cr_expect_eq(do_memory_op(24, gp(&r)), -XEN_EPERM);
    r.extent_order = 1;
    cr_expect_eq(do_memory_op(24, gp(&r)), -XEN_EINVAL);

    cr_expect_eq(do_memory_op(XENMEM_get_vnumainfo, gp(&t)), -XEN_EINVAL);
    t.pad = 0;
    cr_expect_eq(do_memory_op(XENMEM_get_vnumainfo, gp(&t)), -XEN_EOPNOTSUPP);
    t.domid = NO_DOM;
    cr_expect_eq(do_memory_op(XENMEM_get_vnumainfo, gp(&t)), -XEN_ESRCH);

    cr_expect_eq(do_memory_op(XENMEM_acquire_resource, gp(&a)), -XEN_EINVAL);
    a.pad = 0;
    a.frame = 1ULL << 32;
    cr_expect_eq(do_memory_op(XENMEM_acquire_resource, gp(&a)), -XEN_EINVAL);
    a.frame = 0;
    cr_expect_eq(do_memory_op(XENMEM_acquire_resource, gp(&a)), -XEN_ESRCH);
    a.domid = OWN_DOM;
    cr_expect_eq(do_memory_op(XENMEM_acquire_resource, gp(&a)), -XEN_EPERM);

    cr_expect_eq(do_memory_op(27, gp(&rdm)), -XEN_EINVAL);
    rdm.flags = 1;
    rdm.nr_entries = 3;
    cr_expect_eq(do_memory_op(27, gp(&rdm)), 0);
    cr_expect_eq(rdm.nr_entries, 0);
    cr_expect_eq(do_memory_op(EXT(27, 1), gp(&rdm)), -XEN_EINVAL);
}

Test(pv_memop, set_memory_map_then_memory_map)
{
    struct { uint64_t addr, size; uint32_t type; } __attribute__((packed))
        mine[2] = { { 0, 0x9f000, 1 }, { 0x100000, 0x1000000, 1 } }, got[3];
    struct xen_foreign_memory_map f = { .domid = DOMID_SELF, .map.nr_entries = 1025 };
    struct xen_memory_map m = { .nr_entries = 3 };

    set_xen_guest_handle(m.buffer, (void *)got);
    cr_expect_eq(do_memory_op(XENMEM_memory_map, gp(&m)), -XEN_ENOSYS);
    cr_expect_eq(do_memory_op(XENMEM_set_memory_map, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_memory_op(XENMEM_set_memory_map, gp(&f)), -XEN_EINVAL);
    f.map.nr_entries = 2;
    f.domid = NO_DOM;
    cr_expect_eq(do_memory_op(XENMEM_set_memory_map, gp(&f)), -XEN_ESRCH);
    f.domid = DOMID_SELF;
    set_xen_guest_handle(f.map.buffer, (void *)HV_ADDR);
    cr_expect_eq(do_memory_op(XENMEM_set_memory_map, gp(&f)), -XEN_EFAULT);
    set_xen_guest_handle(f.map.buffer, (void *)mine);
    cr_expect_eq(do_memory_op(XENMEM_set_memory_map, gp(&f)), 0);
    cr_expect_eq(do_memory_op(XENMEM_memory_map, gp(&m)), 0);
    cr_expect_eq(m.nr_entries, 2);
    cr_expect_eq(memcmp(got, mine, sizeof(mine)), 0);
    m.nr_entries = 0;
    cr_expect_eq(do_memory_op(XENMEM_memory_map, gp(&m)), 0);
    cr_expect_eq(m.nr_entries, 0);
}

Test(pv_memop, physdev_refusals)
{
    struct physdev_apic apic = { 0 };
    struct physdev_map_pirq mp = { .domid = DOMID_SELF, .type = MAP_PIRQ_TYPE_MULTI_MSI,
                                   .table_base = 1 };
    struct physdev_unmap_pirq up = { .domid = OWN_DOM };
    struct physdev_manage_pci_ext ext = { .is_virtfn = 2 };
    struct physdev_setup_gsi g = { .gsi = 15 };
    struct physdev_pci_device dev = { 0 };
    struct physdev_pci_device_add add = { .flags = XEN_PCI_DEV_PXM };
    uint8_t big[64] = { 0 };
    static const int eperm[] = { PHYSDEVOP_apic_read, PHYSDEVOP_apic_write,
        PHYSDEVOP_alloc_irq_vector, PHYSDEVOP_manage_pci_add,
        PHYSDEVOP_manage_pci_remove, PHYSDEVOP_pci_device_remove,
        PHYSDEVOP_prepare_msix, PHYSDEVOP_release_msix, PHYSDEVOP_dbgp_op,
        PHYSDEVOP_pci_mmcfg_reserved };

    for (unsigned int i = 0; i < sizeof(eperm) / sizeof(eperm[0]); i++) {
        cr_expect_eq(do_physdev_op(eperm[i], gp(big)), -XEN_EPERM, "cmd %d", eperm[i]);
        cr_expect_eq(do_physdev_op(eperm[i], HV_ADDR), -XEN_EFAULT, "cmd %d", eperm[i]);
    }
    cr_expect_eq(do_physdev_op(PHYSDEVOP_apic_read, gp(&apic)), -XEN_EPERM);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_map_pirq, gp(&mp)), -XEN_EINVAL);
    mp.table_base = 0;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_map_pirq, gp(&mp)), -XEN_EPERM);
    mp.domid = NO_DOM;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_map_pirq, gp(&mp)), -XEN_ESRCH);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_unmap_pirq, gp(&up)), -XEN_EPERM);
    up.domid = NO_DOM;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_unmap_pirq, gp(&up)), -XEN_ESRCH);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_manage_pci_add_ext, gp(&ext)), -XEN_EINVAL);
    ext.is_virtfn = 1;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_manage_pci_add_ext, gp(&ext)), -XEN_EPERM);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_restore_msi, gp(big)), -XEN_ENODEV);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_restore_msi_ext, gp(&dev)), -XEN_ENODEV);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_restore_msi_ext, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_setup_gsi, gp(&g)), -XEN_EPERM);
    g.gsi = 16;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_setup_gsi, gp(&g)), -XEN_EINVAL);
    g.gsi = -1;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_setup_gsi, gp(&g)), -XEN_EINVAL);
    /* XEN_PCI_DEV_PXM: the proximity word after the struct is read. */
    cr_expect_eq(do_physdev_op(PHYSDEVOP_pci_device_add, gp(&add)), -XEN_EPERM);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_IRQ_UNMASK_NOTIFY, HV_ADDR), 0);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_free_irq_vector, gp(big)), -XEN_ENOSYS);
    cr_expect_eq(do_physdev_op(18, gp(big)), -XEN_ENOSYS);
    cr_expect_eq(do_physdev_op(32, gp(big)), -XEN_ENOSYS);
}

Test(pv_memop, physdev_pirqs)
{
    struct physdev_eoi eoi = { .irq = 47 };
    struct physdev_irq_status_query q = { .irq = 47 };
    struct physdev_get_free_pirq fp = { .type = MAP_PIRQ_TYPE_GSI };
    int got = 0;

    cr_expect_eq(do_physdev_op(PHYSDEVOP_eoi, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_eoi, gp(&eoi)), -XEN_EINVAL);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_irq_status_query, gp(&q)), 0);
    cr_expect_eq(q.flags, XENIRQSTAT_needs_eoi);
    q.irq = 48;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_irq_status_query, gp(&q)), -XEN_EINVAL);
    q.irq = ~0u;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_irq_status_query, gp(&q)), -XEN_EINVAL);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_get_free_pirq, HV_ADDR), -XEN_EFAULT);
    /* 47 down to 16, whatever the type, then -ENOSPC. */
    for (int want = 47; want >= 16; want--) {
        fp.pirq = 0;
        cr_expect_eq(do_physdev_op(PHYSDEVOP_get_free_pirq, gp(&fp)), 0);
        cr_expect_eq(fp.pirq, (uint32_t)want);
        fp.type = MAP_PIRQ_TYPE_MSI;
        got++;
    }
    cr_expect_eq(got, 32);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_get_free_pirq, gp(&fp)), -XEN_ENOSPC);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_eoi, gp(&eoi)), 0);
    eoi.irq = 15;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_eoi, gp(&eoi)), -XEN_EINVAL);
}

Test(pv_memop, physdev_pirq_eoi_gmfn)
{
    struct physdev_pirq_eoi_gmfn g = { .gmfn = 0x50 };

    mm_setup();
    cr_expect_eq(do_physdev_op(PHYSDEVOP_pirq_eoi_gmfn_v2, HV_ADDR), -XEN_EFAULT);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_pirq_eoi_gmfn_v2, gp(&g)), -XEN_EINVAL);
    g.gmfn = 0x150;
    cr_assert_eq(pv_mm_get_page_and_type(mfn(0x150), PGT_L1), 0);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_pirq_eoi_gmfn_v2, gp(&g)), -XEN_EINVAL);
    pv_mm_put_page_and_type(mfn(0x150));
    cr_expect_eq(do_physdev_op(PHYSDEVOP_pirq_eoi_gmfn_v2, gp(&g)), 0);
    cr_expect_eq(pv_mm_frame(mfn(0x150))->type, PGT_WRITABLE);
    cr_expect(pv_mm_frame_in_use(mfn(0x150)));
    g.gmfn = 0x151;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_pirq_eoi_gmfn_v1, gp(&g)), -XEN_EBUSY);
    cr_expect_not(pv_mm_frame_in_use(mfn(0x151)));
}
