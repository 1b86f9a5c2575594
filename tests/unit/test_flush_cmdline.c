/* flush= and tlbclock= on the shim command line. */
#include <criterion/criterion.h>
#include <minishim/cmdline.h>

static unsigned int parse(const char *s, struct shim_config *cfg)
{
    cmdline_defaults(cfg);
    return cmdline_parse(s, cfg, NULL, NULL);
}

Test(flush_cmdline, defaults)
{
    struct shim_config c;

    cr_assert_eq(parse("", &c), 0);
    cr_assert_eq(c.flush, FLUSH_POLICY_AUTO);
    cr_assert(c.tlbclock);
}

Test(flush_cmdline, values)
{
    struct shim_config c;

    cr_assert_eq(parse("flush=ipi tlbclock=off", &c), 0);
    cr_assert_eq(c.flush, FLUSH_POLICY_IPI);
    cr_assert_not(c.tlbclock);
    cr_assert_eq(parse("flush=assist tlbclock=on", &c), 0);
    cr_assert_eq(c.flush, FLUSH_POLICY_ASSIST);
    cr_assert(c.tlbclock);
    cr_assert_eq(parse("flush=ipi flush=auto", &c), 0);
    cr_assert_eq(c.flush, FLUSH_POLICY_AUTO);
}

Test(flush_cmdline, bad_values_warn_and_keep_defaults)
{
    struct shim_config c;

    cr_assert_eq(parse("flush=fast tlbclock=maybe flush tlbclock=", &c), 4);
    cr_assert_eq(c.flush, FLUSH_POLICY_AUTO);
    cr_assert(c.tlbclock);
}

/* flush-safety= (shim/flush_defer.c): ipi by default. */
Test(flush_cmdline, flush_safety)
{
    struct shim_config c;

    cr_assert_eq(parse("", &c), 0);
    cr_assert_eq(c.flush_safety, FLUSH_SAFETY_IPI);
    cr_assert_eq(parse("flush-safety=defer", &c), 0);
    cr_assert_eq(c.flush_safety, FLUSH_SAFETY_DEFER);
    cr_assert_eq(parse("flush-safety=defer flush-safety=ipi", &c), 0);
    cr_assert_eq(c.flush_safety, FLUSH_SAFETY_IPI);
    cr_assert_eq(parse("flush-safety=rcu flush-safety", &c), 2);
    cr_assert_eq(c.flush_safety, FLUSH_SAFETY_IPI);
}
