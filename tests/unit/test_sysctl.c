/*
 * sysctl (pv/sysctl.c): Xen's answers to an unprivileged domU (-EFAULT,
 * -EACCES for another interface version, -EPERM from the dummy XSM), and
 * debug key 'f', which prints the flush statistics line.
 */
#define __XEN_TOOLS__ 1
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <xen/sysctl.h>
#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/pv_sysctl.h>
#include "fake/fake.h"
#include "fake/fake_console.h"

static void setup(void)
{
    fake_reset();
    fake_guest_fault_start = fake_guest_fault_end = 0;
    flush_stats_reset();
    console_remove_all_sinks();
    fake_console_capture();
    console_set_level(LOG_INFO);
}

TestSuite(sysctl, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static struct xen_sysctl keys_op(const char *keys, uint32_t n)
{
    struct xen_sysctl op;

    memset(&op, 0, sizeof(op));
    op.cmd = XEN_SYSCTL_debug_keys;
    op.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    op.u.debug_keys.keys.p = keys;
    op.u.debug_keys.nr_keys = n;
    return op;
}

static unsigned int count_stats_lines(void)
{
    unsigned int n = 0;

    for (const char *p = fake_console_out; (p = strstr(p, "flush: stats policy=")); p++)
        n++;
    return n;
}

Test(sysctl, key_f_prints_the_flush_stats)
{
    struct xen_sysctl op = keys_op("f", 1), before;

    before = op;
    cr_assert_eq(do_sysctl(gp(&op)), 0);
    cr_assert_eq(count_stats_lines(), 1, "%s", fake_console_out);
    cr_assert(strstr(fake_console_out, " retype-ipi=0 "), "%s", fake_console_out);
    cr_assert_eq(memcmp(&op, &before, sizeof(op)), 0, "nothing copied back");
    op = keys_op("ff", 2);
    cr_assert_eq(do_sysctl(gp(&op)), 0);
    cr_assert_eq(count_stats_lines(), 3);
    op = keys_op("f", 0);
    cr_assert_eq(do_sysctl(gp(&op)), 0, "no keys: nothing to do");
    cr_assert_eq(count_stats_lines(), 3);
}

Test(sysctl, unprivileged_domu_answers)
{
    struct xen_sysctl op = keys_op("f", 1);

    op.interface_version = XEN_SYSCTL_INTERFACE_VERSION + 1;
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EACCES);
    op.interface_version = 0;
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EACCES);
    /* The version is checked before the command (Xen's order). */
    op.cmd = XEN_SYSCTL_physinfo;
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EACCES);
    op.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    for (uint32_t cmd = 0; cmd < 64; cmd++) {
        if (cmd == XEN_SYSCTL_debug_keys)
            continue;
        op.cmd = cmd;
        cr_assert_eq(do_sysctl(gp(&op)), -XEN_EPERM, "cmd %u", cmd);
    }
    op.cmd = 0xffffffffu;
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EPERM);
    cr_assert_eq(count_stats_lines(), 0);
}

Test(sysctl, other_keys_are_privileged)
{
    struct xen_sysctl op = keys_op("fq", 2);

    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EPERM);
    op = keys_op("h", 1);
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EPERM);
    cr_assert_eq(count_stats_lines(), 0, "nothing fake_console_out when any key is refused");
}

Test(sysctl, bad_pointers_and_sizes)
{
    static const char many[16] = "ffffffffffffffff";
    struct xen_sysctl op = keys_op("f", 1);

    cr_assert_eq(do_sysctl(0xFFFF830000001000ULL), -XEN_EFAULT, "struct in the shim");
    cr_assert_eq(do_sysctl(0x0000800000000000ULL), -XEN_EFAULT, "non-canonical");
    op.u.debug_keys.keys.p = (const char *)0xFFFF830000001000ULL;
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EFAULT);
    op = keys_op(many, 9);
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EINVAL, "more than 8 keys");
    op = keys_op(many, 0xffffffffu);
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EINVAL);
    op = keys_op(many, 8);
    cr_assert_eq(do_sysctl(gp(&op)), 0);
    cr_assert_eq(count_stats_lines(), 8);
    /* A fault inside the keys. */
    fake_console_out[0] = '\0';
    op = keys_op(many, 4);
    fake_guest_fault_start = gp(many + 2);
    fake_guest_fault_end = gp(many + 3);
    cr_assert_eq(do_sysctl(gp(&op)), -XEN_EFAULT);
    cr_assert_eq(count_stats_lines(), 0);
}
