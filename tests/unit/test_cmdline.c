/* Shim command line: defaults, every option, and bad input. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/cmdline.h>

static char warnings[2048];
static void collect(void *ctx, const char *msg)
{
    (void)ctx;
    strcat(warnings, msg);
    strcat(warnings, "\n");
}

static struct shim_config cfg;
static unsigned int parse(const char *s)
{
    warnings[0] = '\0';
    cmdline_defaults(&cfg);
    return cmdline_parse(s, &cfg, collect, NULL);
}

Test(cmdline, defaults)
{
    cr_expect_eq(parse(""), 0);
    cr_expect_eq(cfg.loglvl, LOG_INFO);
    cr_expect_eq(cfg.console, CONSOLE_COM1 | CONSOLE_XEN | CONSOLE_PV);
    cr_expect_not(cfg.console_set);
    cr_expect_eq(parse(NULL), 0);
}

Test(cmdline, loglvl_values)
{
    cr_expect_eq(parse("loglvl=debug"), 0);
    cr_expect_eq(cfg.loglvl, LOG_DEBUG);
    parse("loglvl=none");
    cr_expect_eq(cfg.loglvl, LOG_NONE);
    parse("loglvl=all");
    cr_expect_eq(cfg.loglvl, LOG_DEBUG);
    parse("loglvl=warning loglvl=error");
    cr_expect_eq(cfg.loglvl, LOG_ERR, "last one wins");
}

Test(cmdline, bad_value_keeps_default_and_warns)
{
    cr_expect_eq(parse("loglvl=loud"), 1);
    cr_expect_eq(cfg.loglvl, LOG_INFO);
    cr_expect(strstr(warnings, "bad value 'loud' for loglvl="), "%s", warnings);
    cr_expect(strstr(warnings, "none|error|warning|info|debug|all"));
}

Test(cmdline, missing_value)
{
    cr_expect_eq(parse("loglvl"), 1);
    cr_expect(strstr(warnings, "needs a value"), "%s", warnings);
    cr_expect_eq(parse("loglvl="), 1);
}

Test(cmdline, unknown_option_warns_and_continues)
{
    cr_expect_eq(parse("frobnicate=1 loglvl=error bogus"), 2);
    cr_expect_eq(cfg.loglvl, LOG_ERR);
    cr_expect(strstr(warnings, "unknown option 'frobnicate=1'"));
    cr_expect(strstr(warnings, "unknown option 'bogus'"));
}

Test(cmdline, prefix_is_not_a_match)
{
    cr_expect_eq(parse("loglvlx=debug"), 1);
    cr_expect_eq(cfg.loglvl, LOG_INFO);
    cr_expect_eq(parse("log=debug"), 1);
}

Test(cmdline, console_lists)
{
    parse("console=com1");
    cr_expect_eq(cfg.console, CONSOLE_COM1);
    cr_expect(cfg.console_set);
    parse("pv-shim console=xen,pv");
    cr_expect_eq(cfg.console, CONSOLE_XEN | CONSOLE_PV);
    cr_expect(cfg.pv_shim);
    parse("console=none");
    cr_expect_eq(cfg.console, 0);
}

Test(cmdline, console_bad_lists_rejected_whole)
{
    cr_expect_eq(parse("console=com1,serial"), 1);
    cr_expect_eq(cfg.console, CONSOLE_COM1 | CONSOLE_XEN | CONSOLE_PV, "default kept");
    cr_expect_eq(parse("console=com1,"), 1);
    cr_expect_eq(parse("console=,xen"), 1);
    cr_expect_eq(parse("console=com1,,xen"), 1);
    cr_expect_not(cfg.console_set);
}

Test(cmdline, whitespace_and_tabs)
{
    cr_expect_eq(parse("   loglvl=debug\t\tconsole=com1   "), 0);
    cr_expect_eq(cfg.loglvl, LOG_DEBUG);
    cr_expect_eq(cfg.console, CONSOLE_COM1);
}

Test(cmdline, overlong_token_is_refused_not_truncated)
{
    char s[400];

    memset(s, 'a', sizeof(s));
    memcpy(s, "loglvl=", 7);
    s[sizeof(s) - 1] = '\0';
    cr_expect_eq(parse(s), 1);
    cr_expect_eq(cfg.loglvl, LOG_INFO);
    cr_expect(strstr(warnings, "characters ignored"), "%s", warnings);
}

Test(cmdline, guest_args_after_double_dash)
{
    cr_expect_eq(parse("loglvl=debug -- console=hvc0 loglvl=whatever"), 0,
                 "options after -- belong to the guest: %s", warnings);
    cr_expect_eq(cfg.loglvl, LOG_DEBUG);
    cr_expect_str_eq(cmdline_guest_args("loglvl=debug -- console=hvc0 x"), "console=hvc0 x");
    cr_expect_null(cmdline_guest_args("loglvl=debug --x"));
    cr_expect_str_eq(cmdline_guest_args("--"), "");
    cr_expect_null(cmdline_guest_args(NULL));
}
