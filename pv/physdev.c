/*
 * physdev_op (hypercall 33) for the 64-bit PV guest: every PHYSDEVOP_*
 * Xen 4.17's do_physdev_op (xen/arch/x86/physdev.c) handles, answered as
 * it answers the pv-shim's domain: a domU (the privileged sub-ops are
 * refused by the dummy XSM policy, XSM_PRIV / XSM_DM_PRIV: -EPERM), with
 * no PCI devices (-ENODEV), no interrupt bound to a PIRQ (pv-shim refuses
 * EVTCHNOP_bind_pirq), nr_irqs_gsi 16 (no IO-APIC in the HVM container)
 * and so nr_pirqs 16 + 32 (extra_domU_irqs). The virtual IOPL and I/O
 * bitmap are served (pv/emul_io.c reads them).
 */
#include <stddef.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_physdev.h>
#include <minishim/pv_mm.h>
#include <minishim/spinlock.h>
#include <minishim/xen-public.h>
#include <xen/physdev.h>

#define NR_IRQS_GSI     16      /* nr_irqs_gsi without an IO-APIC */
#define NR_PIRQS        (NR_IRQS_GSI + 32)      /* + extra_domU_irqs */

/* PIRQs PHYSDEVOP_get_free_pirq handed out (Xen: PIRQ_ALLOCATED), the
 * PHYSDEVOP_pirq_eoi_gmfn page (a writable type reference held) and
 * v1's auto-unmask; under pirq_lock (Xen's event_lock). */
static spinlock_t pirq_lock = SPINLOCK_INIT;
static uint64_t pirq_allocated;         /* bit n: PIRQ n (NR_PIRQS <= 64) */
static unsigned long pirq_eoi_map_mfn;  /* 0: none */
static bool pirq_auto_unmask;

/* Read the sub-op's struct (-EFAULT), as every case starts. */
#define READ_ARG(s) do {                                     \
        if (copy_from_guest(&(s), arg, sizeof(s)))          \
            return -XEN_EFAULT;                              \
    } while (0)

static long pirq_eoi_gmfn(int cmd, uint64_t arg)
{
    struct physdev_pirq_eoi_gmfn info;
    mfn_t m;

    READ_ARG(info);
    /* get_page_from_gfn + get_page_type(PGT_writable_page): a PV gfn is
     * the frame; not the guest's, or typed otherwise: -EINVAL. */
    m = mfn(info.gmfn);
    if (!pv_mm_frame_is_guest(m) || pv_mm_get_page_and_type(m, PGT_WRITABLE))
        return -XEN_EINVAL;
    spin_lock(&pirq_lock);
    if (pirq_eoi_map_mfn) {
        spin_unlock(&pirq_lock);
        pv_mm_put_page_and_type(m);
        return -XEN_EBUSY;              /* one map per domain */
    }
    pirq_eoi_map_mfn = info.gmfn;
    /* No PIRQ is ever bound, so Xen never sets a bit in the map. */
    if (cmd == PHYSDEVOP_pirq_eoi_gmfn_v1)
        pirq_auto_unmask = true;
    spin_unlock(&pirq_lock);
    return 0;
}

/* After a resume in a new L0 domain (pv/suspend.c): the PIRQ EOI map is
 * dropped, as Xen's pv_shim_shutdown does ("Clean the PIRQ EOI page"). */
void pv_physdev_forget_eoi_map(void)
{
    unsigned long m;

    spin_lock(&pirq_lock);
    m = pirq_eoi_map_mfn;
    pirq_eoi_map_mfn = 0;
    pirq_auto_unmask = false;
    spin_unlock(&pirq_lock);
    if (m)
        pv_mm_put_page_and_type(mfn(m));
}

static long get_free_pirq(uint64_t arg)
{
    struct physdev_get_free_pirq out;
    int pirq = -XEN_ENOSPC;

    READ_ARG(out);
    /* get_free_pirq(): a GSI type looks in 16..nr_irqs_gsi - 1 (none
     * here), then any type from nr_pirqs - 1 down to nr_irqs_gsi. */
    spin_lock(&pirq_lock);
    for (int i = NR_PIRQS - 1; i >= NR_IRQS_GSI; i--)
        if (!(pirq_allocated & (1ULL << i))) {
            pirq_allocated |= 1ULL << i;
            pirq = i;
            break;
        }
    spin_unlock(&pirq_lock);
    if (pirq < 0)
        return pirq;
    out.pirq = (uint32_t)pirq;
    return copy_to_guest(arg, &out, sizeof(out)) ? -XEN_EFAULT : 0;
}

long do_physdev_op(int cmd, uint64_t arg)
{
    switch (cmd) {
    case PHYSDEVOP_eoi: {
        struct physdev_eoi eoi;
        bool allocated;

        READ_ARG(eoi);
        if (eoi.irq >= NR_PIRQS)
            return -XEN_EINVAL;
        spin_lock(&pirq_lock);
        allocated = pirq_allocated & (1ULL << eoi.irq);
        spin_unlock(&pirq_lock);
        /* No pirq_info: -EINVAL. An allocated, unbound PIRQ has no IRQ
         * to EOI: 0. (With v1's auto-unmask Xen would also unmask its
         * event channel, port 0, which no guest binds: not done.) */
        return allocated ? 0 : -XEN_EINVAL;
    }
    case PHYSDEVOP_pirq_eoi_gmfn_v2:
    case PHYSDEVOP_pirq_eoi_gmfn_v1:
        return pirq_eoi_gmfn(cmd, arg);
    case PHYSDEVOP_irq_status_query: {
        struct physdev_irq_status_query q;
        int irq;

        READ_ARG(q);
        irq = (int)q.irq;
        if (irq < 0 || irq >= NR_PIRQS)
            return -XEN_EINVAL;
        /* A PV guest must always EOI (no PIRQ is shared here). */
        q.flags = XENIRQSTAT_needs_eoi;
        return copy_to_guest(arg, &q, sizeof(q)) ? -XEN_EFAULT : 0;
    }
    case PHYSDEVOP_IRQ_UNMASK_NOTIFY:
        /* Legacy: pirq_guest_unmask() of the bound PIRQs (none). */
        return 0;
    case PHYSDEVOP_map_pirq: {
        struct physdev_map_pirq map;

        READ_ARG(map);
        if (map.type == MAP_PIRQ_TYPE_MULTI_MSI && map.table_base)
            return -XEN_EINVAL;
        /* physdev_map_pirq: the domain, then xsm_map_domain_pirq
         * (XSM_DM_PRIV). */
        return pv_dom_is_self(map.domid) ? -XEN_EPERM : -XEN_ESRCH;
    }
    case PHYSDEVOP_unmap_pirq: {
        struct physdev_unmap_pirq unmap;

        READ_ARG(unmap);
        return pv_dom_is_self(unmap.domid) ? -XEN_EPERM : -XEN_ESRCH;
    }
    case PHYSDEVOP_apic_read:
    case PHYSDEVOP_apic_write: {
        struct physdev_apic apic;

        READ_ARG(apic);
        return -XEN_EPERM;              /* xsm_apic: XSM_PRIV */
    }
    case PHYSDEVOP_alloc_irq_vector: {
        struct physdev_irq irq_op;

        READ_ARG(irq_op);
        return -XEN_EPERM;              /* hardware domain only */
    }
    case PHYSDEVOP_set_iopl: {
        struct physdev_set_iopl s;

        READ_ARG(s);
        if (s.iopl > 3)
            return -XEN_EINVAL;
        pv_current()->iopl = s.iopl;
        return 0;
    }
    case PHYSDEVOP_set_iobitmap: {
        struct physdev_set_iobitmap s;
        uint64_t bitmap;

        READ_ARG(s);
        bitmap = (uint64_t)(uintptr_t)s.bitmap.p;
        /* Xen: guest_handle_okay(bitmap, IOBMP_BYTES) and at most 65536
         * ports; the bitmap itself is read at each access (pv/emul_io.c). */
        if (!guest_access_ok(bitmap, 8192) || s.nr_ports > 65536)
            return -XEN_EINVAL;
        pv_current()->iobmp = bitmap;
        pv_current()->iobmp_limit = s.nr_ports;
        return 0;
    }
    case PHYSDEVOP_manage_pci_add:
    case PHYSDEVOP_manage_pci_remove: {
        struct physdev_manage_pci m;

        READ_ARG(m);
        return -XEN_EPERM;      /* pci_{add,remove}_device: XSM_PRIV */
    }
    case PHYSDEVOP_manage_pci_add_ext: {
        struct physdev_manage_pci_ext m;

        READ_ARG(m);
        if (m.is_extfn > 1 || m.is_virtfn > 1)
            return -XEN_EINVAL;
        return -XEN_EPERM;
    }
    case PHYSDEVOP_pci_device_add: {
        struct physdev_pci_device_add add;
        uint32_t pxm;

        READ_ARG(add);
        if ((add.flags & XEN_PCI_DEV_PXM) &&
            copy_from_guest(&pxm, arg + offsetof(struct physdev_pci_device_add,
                                                 optarr), sizeof(pxm)))
            return -XEN_EFAULT;
        return -XEN_EPERM;              /* pci_add_device: XSM_PRIV */
    }
    case PHYSDEVOP_pci_device_remove:
    case PHYSDEVOP_prepare_msix:
    case PHYSDEVOP_release_msix: {
        struct physdev_pci_device dev;

        READ_ARG(dev);
        return -XEN_EPERM;      /* xsm_resource_{unplug,setup}_pci: XSM_PRIV */
    }
    case PHYSDEVOP_restore_msi: {
        struct physdev_restore_msi r;

        READ_ARG(r);
        return -XEN_ENODEV;             /* pci_get_pdev: no such device */
    }
    case PHYSDEVOP_restore_msi_ext: {
        struct physdev_pci_device dev;

        READ_ARG(dev);
        return -XEN_ENODEV;
    }
    case PHYSDEVOP_setup_gsi: {
        struct physdev_setup_gsi g;

        READ_ARG(g);
        if (g.gsi < 0 || g.gsi >= NR_IRQS_GSI)
            return -XEN_EINVAL;
        return -XEN_EPERM;      /* xsm_resource_setup_gsi: XSM_PRIV */
    }
    case PHYSDEVOP_get_free_pirq:
        return get_free_pirq(arg);
    case PHYSDEVOP_dbgp_op: {
        struct physdev_dbgp_op op;

        READ_ARG(op);
        return -XEN_EPERM;      /* xsm_resource_setup_misc: XSM_PRIV */
    }
    case PHYSDEVOP_pci_mmcfg_reserved: {
        struct physdev_pci_mmcfg_reserved info;

        READ_ARG(info);
        return -XEN_EPERM;
    }
    default:
        return -XEN_ENOSYS;
    }
}

/*
 * The legacy physdev_op (hypercall 19, before 0x00030202): Xen 4.17
 * do_physdev_op_compat (xen/arch/x86/compat.c) reads the whole struct
 * physdev_op (-EFAULT) and calls physdev_op with its cmd and the union
 * inside the caller's struct, every sub-op.
 */
long do_physdev_op_compat(uint64_t arg)
{
    struct physdev_op op;

    if (copy_from_guest(&op, arg, sizeof(op)))
        return -XEN_EFAULT;
    return do_physdev_op((int)op.cmd, arg + offsetof(struct physdev_op, u));
}

