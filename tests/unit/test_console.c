/* Console: levels, tags, sinks, truncation, and the COM1 driver. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/console.h>
#include "fake/fake.h"

static char out[4096];
static unsigned int calls;

static void sink(const char *s, size_t n)
{
    strncat(out, s, n);
    calls++;
}

static void setup(void)
{
    fake_reset();
    console_remove_all_sinks();
    console_set_level(LOG_INFO);
    out[0] = '\0';
    calls = 0;
    console_add_sink("test", sink);
}

TestSuite(console, .init = setup);

Test(console, levels_filter)
{
    pr_debug("hidden\n");
    pr_info("shown %d\n", 1);
    cr_expect_str_eq(out, "shown 1\n");
    console_set_level(LOG_ERR);
    pr_warn("hidden\n");
    pr_err("bad\n");
    cr_expect_str_eq(out, "shown 1\nERROR: bad\n");
    console_set_level(LOG_NONE);
    pr_err("nothing\n");
    cr_expect_eq(calls, 2);
}

Test(console, warning_tag_and_one_call_per_message)
{
    pr_warn("careful %s\n", "now");
    cr_expect_str_eq(out, "WARNING: careful now\n");
    cr_expect_eq(calls, 1);
}

Test(console, long_message_truncated_visibly)
{
    char big[3000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    pr_info("%s", big);
    cr_expect_eq(strlen(out), 1023);
    cr_expect_str_eq(out + strlen(out) - 4, "...\n");
}

Test(console, sink_table_is_bounded)
{
    for (int i = 1; i < CONSOLE_MAX_SINKS; i++)
        cr_expect(console_add_sink("more", sink));
    cr_expect_not(console_add_sink("one too many", sink));
}

Test(console, serial_translates_newline)
{
    fake_port_in[COM1_PORT + 5] = 0x20;        /* THR empty */
    serial_init(COM1_PORT);
    fake_nr_port_writes = 0;
    serial_write("a\nb", 3);
    cr_expect_str_eq(fake_port_output(COM1_PORT), "a\r\nb");
}

Test(console, serial_never_hangs_without_uart)
{
    fake_port_in[COM1_PORT + 5] = 0x00;        /* THR never empties */
    serial_init(COM1_PORT);
    fake_nr_port_writes = 0;
    serial_write("x", 1);                       /* bounded wait, then writes */
    cr_expect_str_eq(fake_port_output(COM1_PORT), "x");
}
