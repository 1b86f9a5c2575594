/*
 * xen_version (Xen 4.17 common/kernel.c do_xen_version) and vm_assist
 * (common/domain.c vm_assist): what the domain is told about the
 * interface and the assists it turns on (XENVER_get_features reports
 * one of them).
 */
#include <string.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_version.h>
#include <minishim/shim.h>
#include <minishim/x86.h>
#include <xen/version.h>

#define SHIM_XEN_MAJOR 4
#define SHIM_XEN_MINOR 17

/*
 * The fixed-size xen_version results (extraversion, capabilities,
 * changeset, guest handle): s NUL-padded to size bytes, written whole as
 * Xen does.
 */
#define VERSION_FIELD_MAX sizeof(xen_capabilities_info_t)   /* the largest */
_Static_assert(sizeof(xen_extraversion_t) <= VERSION_FIELD_MAX &&
               sizeof(xen_changeset_info_t) <= VERSION_FIELD_MAX &&
               sizeof(xen_domain_handle_t) <= VERSION_FIELD_MAX,
               "version fields fit the buffer");

static long version_field_to_guest(uint64_t arg, const char *s, size_t size)
{
    char buf[VERSION_FIELD_MAX];

    memset(buf, 0, size);
    strncpy(buf, s, size - 1);
    return copy_to_guest(arg, buf, size) ? -XEN_EFAULT : 0;
}

long do_xen_version(int cmd, uint64_t arg)
{
    switch (cmd) {
    case XENVER_version:
        return (SHIM_XEN_MAJOR << 16) | SHIM_XEN_MINOR;
    case XENVER_extraversion:
        return version_field_to_guest(arg, "-minishim", sizeof(xen_extraversion_t));
    case XENVER_compile_info: {
        xen_compile_info_t ci;

        memset(&ci, 0, sizeof(ci));
        strncpy(ci.compiler, "gcc", sizeof(ci.compiler) - 1);
        strncpy(ci.compile_by, "minishim", sizeof(ci.compile_by) - 1);
        strncpy(ci.compile_domain, "minishim", sizeof(ci.compile_domain) - 1);
        strncpy(ci.compile_date, __DATE__, sizeof(ci.compile_date) - 1);
        return copy_to_guest(arg, &ci, sizeof(ci)) ? -XEN_EFAULT : 0;
    }
    case XENVER_capabilities:
        return version_field_to_guest(arg, "xen-3.0-x86_64 ",
                                      sizeof(xen_capabilities_info_t));
    case XENVER_changeset:
        return version_field_to_guest(arg, "minishim " MINISHIM_VERSION,
                                      sizeof(xen_changeset_info_t));
    case XENVER_platform_parameters: {
        xen_platform_parameters_t pp = { .virt_start = HYPERVISOR_VIRT_START };

        return copy_to_guest(arg, &pp, sizeof(pp)) ? -XEN_EFAULT : 0;
    }
    case XENVER_get_features: {
        xen_feature_info_t fi;

        if (copy_from_guest(&fi, arg, sizeof(fi)))
            return -XEN_EFAULT;
        switch (fi.submap_idx) {
        case 0:
            /* Xen 4.17 common/kernel.c, a PV domU: PRESERVE_AD updates
             * and MMUEXT_{CLEAR,COPY}_PAGE exist (pv/mm.c); Linux >= 5.19
             * panics without preserve_ad and gnttab_map_avail_bits (the
             * latter only describes GNTTABOP_map_grant_ref semantics). */
            fi.submap = (1u << XENFEAT_mmu_pt_update_preserve_ad) |
                        (1u << XENFEAT_highmem_assist) |
                        (1u << XENFEAT_gnttab_map_avail_bits);
            if (pv_dom.vm_assist & (1UL << VMASST_TYPE_pae_extended_cr3))
                fi.submap |= 1u << XENFEAT_pae_pgdir_above_4gb;
            break;
        default:
            return -XEN_EINVAL;
        }
        return copy_to_guest(arg, &fi, sizeof(fi)) ? -XEN_EFAULT : 0;
    }
    case XENVER_pagesize:
        return PAGE_SIZE;
    case XENVER_guest_handle:
        /* The handle is 16 zero bytes: a NUL-filled field of that size. */
        return version_field_to_guest(arg, "", sizeof(xen_domain_handle_t));
    case XENVER_commandline:
    case XENVER_build_id:
        return -XEN_EPERM;      /* XSM_PRIV for a domU */
    default:
        return -XEN_ENOSYS;
    }
}

/* ----------------------------------------------------------- vm_assist --- */

/* Xen's VM_ASSIST_VALID for a 64-bit PV guest. */
#define PV64_VM_ASSIST_VALID ((1UL << VMASST_TYPE_4gb_segments) |          \
                              (1UL << VMASST_TYPE_4gb_segments_notify) |   \
                              (1UL << VMASST_TYPE_writable_pagetables) |   \
                              (1UL << VMASST_TYPE_pae_extended_cr3) |      \
                              (1UL << VMASST_TYPE_architectural_iopl) |    \
                              (1UL << VMASST_TYPE_runstate_update_flag) |  \
                              (1UL << VMASST_TYPE_m2p_strict))

long do_vm_assist(unsigned int cmd, unsigned int type)
{
    if (type >= 64 || !(PV64_VM_ASSIST_VALID & (1UL << type)))
        return -XEN_EINVAL;
    switch (cmd) {
    case VMASST_CMD_enable:
        pv_dom.vm_assist |= 1UL << type;
        return 0;
    case VMASST_CMD_disable:
        pv_dom.vm_assist &= ~(1UL << type);
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}

