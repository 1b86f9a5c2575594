/* L0 detection over the CPUID hypervisor leaves. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <minishim/l0.h>
#include "fake/fake_l0.h"

static struct l0_detect d;

TestSuite(detect, .init = fake_reset);

Test(detect, bare_metal_finds_nothing)
{
    l0_detect(&d);
    cr_expect_not(d.hv_bit);
    cr_expect_not(d.xen);
    cr_expect_not(d.hyperv);
    cr_expect_eq(d.other_sig[0], '\0');
}

Test(detect, xen_at_base)
{
    fake_set_cpuid(1, 0, 0, 1u << 31, 0);
    fake_xen_cpuid(0x40000000, 0x40000005, 0x40000000);
    l0_detect(&d);
    cr_expect(d.hv_bit);
    cr_assert(d.xen);
    cr_expect_eq(d.xen_base, 0x40000000);
    cr_expect_eq(d.xen_major, 4);
    cr_expect_eq(d.xen_minor, 17);
    cr_expect_eq(d.xen_hcall_msr, 0x40000000);
    cr_expect_eq(d.xen_hcall_pages, 1);
    cr_expect_not(d.hyperv);
}

Test(detect, xen_with_viridian_moves_to_0x100)
{
    /* Xen with viridian: Hyper-V leaves at 0x40000000, Xen's at +0x100. */
    fake_hyperv_cpuid(0x40000006, 0);
    fake_xen_cpuid(0x40000100, 0x40000105, 0x40000000);
    l0_detect(&d);
    cr_assert(d.xen);
    cr_expect_eq(d.xen_base, 0x40000100);
    cr_assert(d.hyperv);
    cr_expect_eq(d.hyperv_base, 0x40000000);
    cr_expect_eq(d.hyperv_interface, 0x31237648);
    cr_expect_eq(d.hyperv_max_leaf, 0x40000006);
}

Test(detect, other_signature_reported_not_used)
{
    fake_set_cpuid_sig(0x40000000, 0x40000001, "KVMKVMKVM\0\0\0");
    l0_detect(&d);
    cr_expect_not(d.xen);
    cr_expect_not(d.hyperv);
    cr_expect_str_eq(d.other_sig, "KVMKVMKVM");
    cr_expect_eq(d.other_base, 0x40000000);
}

Test(detect, max_leaf_outside_block_is_garbage)
{
    /* A leaf that names a max leaf outside its own block is not a
     * hypervisor block (e.g. a CPU echoing its highest basic leaf). */
    fake_set_cpuid_sig(0x40000000, 0x0000000d, "XenVMMXenVMM");
    fake_set_cpuid_sig(0x40000200, 0x40000400, "XenVMMXenVMM");
    l0_detect(&d);
    cr_expect_not(d.xen);
}

Test(detect, xen_without_hypercall_leaf_not_usable)
{
    fake_set_cpuid_sig(0x40000000, 0x40000001, "XenVMMXenVMM");
    l0_detect(&d);
    cr_expect_not(d.xen, "base+2 (hypercall MSR) is required");
}

Test(detect, last_block_is_scanned)
{
    fake_set_cpuid_sig(CPUID_HV_LAST, CPUID_HV_LAST + 3, "XenVMMXenVMM");
    fake_set_cpuid(CPUID_HV_LAST + 2, 1, 0x40000000, 0, 0);
    l0_detect(&d);
    cr_expect(d.xen);
    cr_expect_eq(d.xen_base, CPUID_HV_LAST);
}

/* l0-flush= and l0-selftest on the command line (shim/cmdline.c). */
#include <minishim/cmdline.h>

static unsigned int nr_warnings;
static char last_warning[200];

static void note_warning(void *ctx, const char *msg)
{
    (void)ctx;
    nr_warnings++;
    snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

Test(detect, l0_flush_cmdline)
{
    static const struct {
        const char *line;
        enum l0_flush_use want;
        const char *name;
    } ok[] = {
        { "pv-shim", L0_FLUSH_USE_AUTO, "auto" },
        { "l0-flush=auto", L0_FLUSH_USE_AUTO, "auto" },
        { "l0-flush=xen", L0_FLUSH_USE_XEN, "xen" },
        { "l0-flush=hyperv", L0_FLUSH_USE_HYPERV, "hyperv" },
        { "pv-shim l0-flush=none flush=auto", L0_FLUSH_USE_NONE, "none" },
    };
    struct shim_config cfg;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cmdline_defaults(&cfg);
        cr_expect_eq(cmdline_parse(ok[i].line, &cfg, note_warning, NULL), 0, "%s", ok[i].line);
        cr_expect_eq(cfg.l0_flush, ok[i].want, "%s", ok[i].line);
        cr_expect_str_eq(l0_flush_use_name(cfg.l0_flush), ok[i].name);
    }
}

Test(detect, l0_flush_cmdline_bad_values)
{
    static const char *const bad[] = { "l0-flush=Xen", "l0-flush=", "l0-flush=kvm",
                                       "l0-flush=hyperv,xen", "l0-flush" };
    struct shim_config cfg;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cmdline_defaults(&cfg);
        cfg.l0_flush = L0_FLUSH_USE_XEN;
        nr_warnings = 0;
        cr_expect_eq(cmdline_parse(bad[i], &cfg, note_warning, NULL), 1, "%s", bad[i]);
        cr_expect_eq(cfg.l0_flush, L0_FLUSH_USE_XEN, "%s: value kept", bad[i]);
        cr_expect(strstr(last_warning, "auto|xen|hyperv|none"), "%s: %s", bad[i], last_warning);
    }
}

Test(detect, l0_selftest_cmdline)
{
    struct shim_config cfg;

    cmdline_defaults(&cfg);
    cr_expect_not(cfg.l0_selftest);
    cr_expect_eq(cmdline_parse("l0-selftest", &cfg, note_warning, NULL), 0);
    cr_expect(cfg.l0_selftest);
    cr_expect_eq(cmdline_parse("l0-selftest=off", &cfg, note_warning, NULL), 0);
    cr_expect_not(cfg.l0_selftest);
    cr_expect_eq(cmdline_parse("l0-selftest=maybe", &cfg, note_warning, NULL), 1);
}
