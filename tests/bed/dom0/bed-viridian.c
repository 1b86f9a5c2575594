/*
 * bed-viridian DOMID FLAGS - set HVM_PARAM_VIRIDIAN on a (paused) domain.
 *
 * Runs in the bed's dom0 (built on the host by tests/bed/mk-dom0.sh against
 * Debian's libxenctrl). libxl applies the xl option viridian=[...] to
 * type="hvm" guests only (tools/libs/light/libxl_x86.c,
 * libxl__arch_domain_create: "info->type == LIBXL_DOMAIN_TYPE_HVM &&
 * hvm_set_viridian_features()"), but Xen itself accepts the parameter for
 * any HVM-container domain, PVH included: hvmop_set_param() only requires
 * is_hvm_domain(d), hvm_allow_set_param() lets a privileged domain set it
 * once, and hvm_set_param() checks only that the value is within
 * HVMPV_feature_mask and has HVMPV_base_freq (xen/arch/x86/hvm/hvm.c).
 * The bed creates the shim's domain paused (xl create -p), runs this, and
 * unpauses it, so the shim sees the Hyper-V interface from its first CPUID.
 *
 * FLAGS: a number (0x... or decimal) or a comma list of HVMPV_* names
 * without the prefix (base_freq, hcall_remote_tlb_flush,
 * ex_processor_masks, ...); "base" is base_freq. Prints one line
 *   BED-VIRIDIAN domid=N set=0x... readback=0x... rc=0
 * and exits 0 only when Xen took the value and reads it back unchanged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xen/hvm/params.h>

static const struct {
    const char *name;
    uint64_t bit;
} names[] = {
    { "base", HVMPV_base_freq },
    { "base_freq", HVMPV_base_freq },
    { "no_freq", HVMPV_no_freq },
    { "time_ref_count", HVMPV_time_ref_count },
    { "reference_tsc", HVMPV_reference_tsc },
    { "hcall_remote_tlb_flush", HVMPV_hcall_remote_tlb_flush },
    { "apic_assist", HVMPV_apic_assist },
    { "crash_ctl", HVMPV_crash_ctl },
    { "synic", HVMPV_synic },
    { "stimer", HVMPV_stimer },
    { "hcall_ipi", HVMPV_hcall_ipi },
    { "ex_processor_masks", HVMPV_ex_processor_masks },
    { "no_vp_limit", HVMPV_no_vp_limit },
    { "cpu_hotplug", HVMPV_cpu_hotplug },
};

static int parse_flags(const char *s, uint64_t *out)
{
    char buf[512], *save = NULL, *tok;
    char *end;

    if (!*s)
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 0);
    if (!*end && !errno)
        return 0;
    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    *out = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strcmp(tok, names[i].name))
                break;
        if (i == sizeof(names) / sizeof(names[0])) {
            fprintf(stderr, "bed-viridian: unknown flag '%s'\n", tok);
            return -1;
        }
        *out |= names[i].bit;
    }
    return 0;
}

int main(int argc, char **argv)
{
    xc_interface *xch;
    uint64_t flags, back = 0;
    unsigned long domid;
    char *end;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: bed-viridian DOMID FLAGS\n");
        return 2;
    }
    domid = strtoul(argv[1], &end, 0);
    if (*end || !*argv[1] || domid >= DOMID_FIRST_RESERVED) {
        fprintf(stderr, "bed-viridian: bad domid '%s'\n", argv[1]);
        return 2;
    }
    if (parse_flags(argv[2], &flags)) {
        fprintf(stderr, "bed-viridian: bad flags '%s'\n", argv[2]);
        return 2;
    }
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        fprintf(stderr, "bed-viridian: xc_interface_open: %s\n", strerror(errno));
        return 1;
    }
    rc = xc_hvm_param_set(xch, (uint32_t)domid, HVM_PARAM_VIRIDIAN, flags);
    if (rc) {
        int e = errno;

        printf("BED-VIRIDIAN domid=%lu set=%#" PRIx64 " rc=-%d (%s)\n",
               domid, flags, e, strerror(e));
        xc_interface_close(xch);
        return 1;
    }
    rc = xc_hvm_param_get(xch, (uint32_t)domid, HVM_PARAM_VIRIDIAN, &back);
    printf("BED-VIRIDIAN domid=%lu set=%#" PRIx64 " readback=%#" PRIx64 " rc=%d\n",
           domid, flags, back, rc ? -errno : 0);
    xc_interface_close(xch);
    return (rc || back != flags) ? 1 : 0;
}
