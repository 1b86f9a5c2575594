/* l0-flush-probe=N: the bare L0 flush round trip make bench reports. */
#include <criterion/criterion.h>
#include <minishim/cmdline.h>
#include "test_flush_env.h"
#include "fake/fake_console.h"

static void start_capture(void)
{
    fake_console_capture();
    console_set_level(LOG_INFO);
}

Test(l0_probe, cmdline)
{
    struct shim_config cfg;

    cmdline_defaults(&cfg);
    cr_assert_eq(cfg.l0_flush_probe, 0, "off by default");
    cr_assert_eq(cmdline_parse("l0-flush-probe=200", &cfg, NULL, NULL), 0);
    cr_assert_eq(cfg.l0_flush_probe, 200);
    cr_assert_eq(cmdline_parse("l0-flush-probe=1025", &cfg, NULL, NULL), 1);
    cr_assert_eq(cmdline_parse("l0-flush-probe=12x", &cfg, NULL, NULL), 1);
    cr_assert_eq(cmdline_parse("l0-flush-probe=", &cfg, NULL, NULL), 1);
    cr_assert_eq(cfg.l0_flush_probe, 200, "bad values keep the last good one");
    cr_assert_eq(cmdline_parse("l0-flush-probe=0", &cfg, NULL, NULL), 0);
    cr_assert_eq(cfg.l0_flush_probe, 0);
}

Test(l0_probe, xen_times_each_call)
{
    env_setup(ENV_XEN_OK, 2, FLUSH_POLICY_AUTO, true);
    fake_tsc_step = 1000;       /* every rdtsc advances 1000 cycles */
    start_capture();
    cr_assert_eq(l0_flush_probe(5, 0, 2000000), 0);
    cr_assert_eq(env_xen_flushes, 5, "one HVMOP_flush_tlbs per probe");
    /* Two rdtscs per call, 1000 cycles apart: 1000 cycles = 500 ns at 2 GHz. */
    cr_assert(strstr(fake_console_out, "l0: flush-probe backend=xen n=5 errors=0 min_ns=500 "
                              "median_ns=500 max_ns=500 min_cycles=1000 "
                              "median_cycles=1000 max_cycles=1000 last-error=0\n"),
              "%s", fake_console_out);
}

Test(l0_probe, errors_counted_and_capped)
{
    env_setup(ENV_XEN_FAIL, 2, FLUSH_POLICY_AUTO, true);
    start_capture();
    cr_assert_eq(l0_flush_probe(L0_FLUSH_PROBE_MAX + 5, 0, 0), L0_FLUSH_PROBE_MAX);
    cr_assert_eq(env_xen_flushes, L0_FLUSH_PROBE_MAX);
    cr_assert(strstr(fake_console_out, "n=1024 errors=1024 min_ns=0 "), "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, "last-error=-22\n"), "%s", fake_console_out);
}

Test(l0_probe, hyperv_names_only_this_cpu)
{
    env_setup(ENV_HV_OK, 4, FLUSH_POLICY_AUTO, true);
    start_capture();
    cr_assert_eq(l0_flush_probe(3, 2, 1000000), 0);
    cr_assert_eq(fake_nr_hv_calls, 3);
    /* The probe is a whole flush (global entries included): the Space
     * form without NON_GLOBAL_MAPPINGS_ONLY, never a one-page List flush. */
    for (unsigned int i = 0; i < 3; i++) {
        cr_assert_eq(fake_hv_calls[i].control & 0xffff, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
                     "call %u: control %#lx", i, (unsigned long)fake_hv_calls[i].control);
        cr_assert_eq(fake_hv_calls[i].input[1] & HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY, 0, "flags");
    }
    cr_assert(strstr(fake_console_out, "l0: flush-probe backend=hyperv n=3 errors=0 "), "%s", fake_console_out);
}

Test(l0_probe, no_backend_times_nothing)
{
    env_setup(ENV_NONE, 2, FLUSH_POLICY_AUTO, true);
    start_capture();
    cr_assert_eq(l0_flush_probe(10, 0, 1000000), 0);
    cr_assert(strstr(fake_console_out, "l0: flush-probe backend=none (no L0 flush to time)\n"),
              "%s", fake_console_out);
}
