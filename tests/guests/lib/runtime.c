/*
 * runtime.c - start of day and the end of every test: one RESULT line,
 * then SCHEDOP_shutdown (poweroff when the test passed or skipped, crash
 * when it failed, so the toolstack sees the failure too).
 */
#include "guest.h"

const char guest_name[] = GUEST_NAME;
const start_info_t *start_info;

static unsigned int nr_failures;
static char first_failure[160];

void __noreturn guest_start(const start_info_t *si);

unsigned int test_failures(void)
{
    return nr_failures;
}

void __noreturn guest_shutdown(unsigned int reason)
{
    struct sched_shutdown sd = { .reason = reason };

    /* The RESULT line must reach the backend before the domain stops. */
    console_flush();
    for (;;) {
        hypercall_sched_op(SCHEDOP_shutdown, &sd);
        /* Still here: the hypervisor refused. Crash is the last resort. */
        sd.reason = SHUTDOWN_crash;
    }
}

/* Reasons go on the RESULT line: make them one printable line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
    while (s > first_failure && s[-1] == ' ')
        *--s = '\0';
}

static void __noreturn finish_fail(const char *reason, unsigned int extra)
{
    if (extra)
        printk("RESULT %s FAIL %s (and %u more)\n", guest_name, reason, extra);
    else
        printk("RESULT %s FAIL %s\n", guest_name, reason);
    guest_shutdown(SHUTDOWN_crash);
}

void check_failed(const char *file, int line, const char *fmt, ...)
{
    char msg[sizeof(first_failure)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    printk("FAIL: %s:%d: %s\n", file, line, msg);
    if (nr_failures++ == 0) {
        memcpy(first_failure, msg, sizeof(first_failure));
        one_line(first_failure);
    }
}

void __noreturn test_fatal(const char *fmt, ...)
{
    char msg[sizeof(first_failure)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    printk("FAIL: %s\n", msg);
    if (nr_failures++ == 0)
        memcpy(first_failure, msg, sizeof(first_failure));
    one_line(first_failure);
    finish_fail(first_failure, nr_failures - 1);
}

void __noreturn test_skip(const char *fmt, ...)
{
    char msg[sizeof(first_failure)];
    va_list ap;

    if (nr_failures) {
        one_line(first_failure);
        finish_fail(first_failure, nr_failures - 1);
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(first_failure, msg, sizeof(first_failure));
    one_line(first_failure);
    printk("RESULT %s SKIP %s\n", guest_name, first_failure);
    guest_shutdown(SHUTDOWN_poweroff);
}

void __noreturn guest_start(const start_info_t *si)
{
    start_info = si;
    console_init();
    traps_init();
    printk("GUEST %s: start, start_info %p\n", guest_name, si);

    test_main();

    if (nr_failures)
        finish_fail(first_failure, nr_failures - 1);
    printk("RESULT %s PASS\n", guest_name);
    guest_shutdown(SHUTDOWN_poweroff);
}
