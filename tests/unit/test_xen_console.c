/* The shim's PV console ring on Xen L0 and console_io refusal. */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/l0.h>
#include <minishim/xen-public.h>
#include <xen/io/console.h>
#include <xen/event_channel.h>
#include "fake/fake_l0.h"

#define RING_PFN 0x800
#define RING_PORT 5

static struct xencons_interface *r;
static unsigned int sends, yields, console_io_calls;
static bool consumer_drains;
static long console_io_rc;

static long l0(unsigned int nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4, unsigned long a5)
{
    (void)a3; (void)a4; (void)a5;
    if (nr == __HYPERVISOR_hvm_op && a1 == HVMOP_get_param) {
        struct xen_hvm_param *p = (void *)a2;

        p->value = p->index == HVM_PARAM_CONSOLE_PFN ? RING_PFN :
                   p->index == HVM_PARAM_CONSOLE_EVTCHN ? RING_PORT : 0;
        return 0;
    }
    if (nr == __HYPERVISOR_event_channel_op && a1 == EVTCHNOP_send) {
        cr_assert_eq(((struct evtchn_send *)a2)->port, RING_PORT);
        sends++;
        if (consumer_drains)
            r->out_cons = r->out_prod;
        return 0;
    }
    if (nr == __HYPERVISOR_sched_op && a1 == SCHEDOP_yield) {
        yields++;
        return 0;
    }
    if (nr == __HYPERVISOR_console_io) {
        console_io_calls++;
        return console_io_rc;
    }
    return -XEN_ENOSYS;
}

static void setup(void)
{
    fake_reset();
    cr_assert_eq(fake_xen_up(l0), 0);
    r = (struct xencons_interface *)(fake_mem + RING_PFN * 4096);
    sends = yields = console_io_calls = 0;
    consumer_drains = true;
    console_io_rc = 0;
}

TestSuite(xen_console, .init = setup);

Test(xen_console, ring_put_wraps_and_publishes)
{
    char out[4];

    r->out_prod = r->out_cons = 2046;          /* two bytes before the end */
    cr_expect_eq(xencons_ring_put(r, "abcd", 4), 4);
    cr_expect_eq(r->out_prod, 2050);
    memcpy(out, &r->out[2046], 2);
    memcpy(out + 2, &r->out[0], 2);
    cr_expect_eq(memcmp(out, "abcd", 4), 0);
}

Test(xen_console, ring_put_stops_when_full)
{
    static char big[3000];

    memset(big, 'x', sizeof(big));
    r->out_prod = r->out_cons = 0;
    cr_expect_eq(xencons_ring_put(r, big, sizeof(big)), sizeof(r->out));
    cr_expect_eq(xencons_ring_put(r, "y", 1), 0);
}

Test(xen_console, corrupt_indexes_write_nothing)
{
    r->out_cons = 0;
    r->out_prod = 5000;                         /* more than a ring ahead */
    cr_expect_eq(xencons_ring_put(r, "abc", 3), 0);
    cr_expect_eq(r->out_prod, 5000);
}

Test(xen_console, write_notifies_port)
{
    cr_assert_eq(xen_pvconsole_init(), 0);
    cr_assert(xen_pvconsole_ready());
    xen_pvconsole_write("minishim 0.1\n", 13);
    cr_expect_eq(memcmp(r->out, "minishim 0.1\n", 13), 0);
    cr_expect_geq(sends, 1);
}

Test(xen_console, long_write_waits_for_consumer)
{
    static char big[5000];

    memset(big, 'z', sizeof(big));
    cr_assert_eq(xen_pvconsole_init(), 0);
    xen_pvconsole_write(big, sizeof(big));
    cr_expect_eq(r->out_prod, sizeof(big), "all of it went through the ring");
    cr_expect_eq(xen_pvconsole_dropped(), 0);
}

Test(xen_console, dead_consumer_drops_instead_of_hanging)
{
    static char big[5000];

    consumer_drains = false;
    memset(big, 'z', sizeof(big));
    cr_assert_eq(xen_pvconsole_init(), 0);
    xen_pvconsole_write(big, sizeof(big));
    cr_expect_eq(r->out_prod, sizeof(r->out));
    cr_expect_eq(xen_pvconsole_dropped(), sizeof(big) - sizeof(r->out));
    cr_expect_gt(yields, 100, "it waited before giving up");
}

Test(xen_console, console_io_eperm_stops_further_calls)
{
    console_io_rc = -XEN_EPERM;
    xen_console_write("a", 1);
    xen_console_write("b", 1);
    cr_expect_eq(console_io_calls, 1);
    cr_expect(xen_console_io_refused());
}

Test(xen_console, console_io_other_errors_keep_trying)
{
    long err = 0;
    unsigned long lost0 = xen_console_io_lost(NULL);

    console_io_rc = -XEN_EFAULT;
    xen_console_write("a", 1);
    xen_console_write("bc", 2);
    cr_expect_eq(console_io_calls, 4, "each write tried twice");
    cr_expect_not(xen_console_io_refused());
    cr_expect_eq(xen_console_io_lost(&err), lost0 + 3);
    cr_expect_eq(err, -XEN_EFAULT);
}

/* ---- inject=l0-console-fail (docs/fault-injection.md) ---- */

#include <minishim/console.h>
#include <minishim/inject.h>

#include "fake/fake_inject.h"

static void arm(uint32_t n)
{
    fake_inject_arm(INJECT_L0_CONSOLE_FAIL, n);
}

/* One failed kick: tried again at once, xenconsoled is told. */
Test(xen_console, one_failed_kick_is_retried)
{
    unsigned long f0 = xen_pvconsole_kick_failures(NULL);

    cr_assert_eq(xen_pvconsole_init(), 0);
    arm(1);
    xen_pvconsole_write("line 1\n", 7);
    cr_expect_eq(inject_fired(INJECT_L0_CONSOLE_FAIL), 1);
    cr_expect_eq(sends, 1, "the second kick went through");
    cr_expect_eq(xen_pvconsole_kick_failures(NULL), f0);
    inject_init(NULL);
}

/* Kicks that keep failing lose no text: it waits in the ring, the
 * failures are counted, and the next kick that works covers it. */
Test(xen_console, failed_kicks_lose_no_text)
{
    unsigned long f0 = xen_pvconsole_kick_failures(NULL);
    long err = 0;

    consumer_drains = false;
    cr_assert_eq(xen_pvconsole_init(), 0);
    arm(INJECT_COUNT_ALWAYS);
    xen_pvconsole_write("one\n", 4);
    xen_pvconsole_write("two\n", 4);
    cr_expect_eq(sends, 0);
    cr_expect_eq(xen_pvconsole_kick_failures(&err), f0 + 2);
    cr_expect_eq(err, -INJECT_L0_ERRNO);
    inject_init(NULL);
    xen_pvconsole_write("three\n", 6);
    cr_expect_eq(sends, 1);
    cr_expect_eq(r->out_prod, 14);
    cr_expect_eq(memcmp(r->out, "one\ntwo\nthree\n", 14), 0, "every line is in the ring");
    cr_expect_eq(xen_pvconsole_dropped(), 0);
}

/* Through printk, as the image writes: the strike must not print through
 * the console it fails (that took the console lock twice: a hang on the
 * bed). */
Test(xen_console, console_point_strikes_inside_printk, .timeout = 10)
{
    console_remove_all_sinks();
    arm(2);
    console_add_sink("xen", xen_console_write);
    pr_info("through printk\n");
    console_remove_all_sinks();
    cr_expect_eq(inject_fired(INJECT_L0_CONSOLE_FAIL), 2);
    cr_expect_eq(console_io_calls, 0, "both tries failed");
    inject_init(NULL);
}

/* console_io: one injected failure is retried; failures that last are
 * counted as text the other sinks carry. */
Test(xen_console, console_io_injected_failures)
{
    unsigned long lost0 = xen_console_io_lost(NULL);

    arm(1);
    xen_console_write("abc", 3);
    cr_expect_eq(console_io_calls, 1, "the retry reached L0");
    cr_expect_eq(xen_console_io_lost(NULL), lost0);
    arm(INJECT_COUNT_ALWAYS);
    xen_console_write("abc", 3);
    cr_expect_eq(console_io_calls, 1);
    cr_expect_eq(xen_console_io_lost(NULL), lost0 + 3);
    cr_expect_not(xen_console_io_refused(), "not mistaken for -EPERM");
    inject_init(NULL);
}

/* Input: what xenconsoled put on in[] (`xl console`) is taken in order,
 * across the wrap, in_cons published, and xenconsoled kicked once. */
Test(xen_console, read_takes_input_and_kicks)
{
    char buf[8];

    cr_assert_eq(xen_pvconsole_init(), 0);
    r->in_cons = 1022;                          /* two bytes before the end */
    memcpy(&r->in[1022], "ab", 2);
    memcpy(&r->in[0], "cd", 2);
    r->in_prod = 1026;
    cr_expect_eq(xen_pvconsole_read(buf, 3), 3);
    cr_expect_eq(memcmp(buf, "abc", 3), 0);
    cr_expect_eq(r->in_cons, 1025);
    cr_expect_eq(sends, 1);
    cr_expect_eq(xen_pvconsole_read(buf, sizeof(buf)), 1);
    cr_expect_eq(buf[0], 'd');
    cr_expect_eq(xen_pvconsole_read(buf, sizeof(buf)), 0, "empty: nothing");
    cr_expect_eq(sends, 2, "no kick when nothing was taken");
}

/* A producer index more than a ring ahead: corrupt, nothing taken. */
Test(xen_console, read_refuses_corrupt_ring)
{
    char buf[8];

    cr_assert_eq(xen_pvconsole_init(), 0);
    r->in_cons = 0;
    r->in_prod = sizeof(r->in) + 1;
    cr_expect_eq(xen_pvconsole_read(buf, sizeof(buf)), 0);
    cr_expect_eq(r->in_cons, 0);
    cr_expect_eq(sends, 0);
}
