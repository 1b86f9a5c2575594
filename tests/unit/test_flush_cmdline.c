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
