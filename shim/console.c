/*
 * Leveled console. Every message is formatted into one buffer and handed to
 * each sink in one call, so lines from different CPUs never interleave and
 * a slow sink (console_io to L0) is called once per message, not per byte.
 * Errors and warnings are tagged so users and test runners can find them.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/console.h>
#include <minishim/spinlock.h>

struct sink {
    const char *name;
    console_write_fn write;
};

static struct sink sinks[CONSOLE_MAX_SINKS];
static unsigned int nr_sinks;

struct source {
    const char *name;
    console_read_fn read;
};

static struct source sources[CONSOLE_MAX_SINKS];
static unsigned int nr_sources;
static enum log_level level = LOG_INFO;
static spinlock_t console_lock = SPINLOCK_INIT;

bool console_add_sink(const char *name, console_write_fn write)
{
    if (nr_sinks == CONSOLE_MAX_SINKS)
        return false;
    sinks[nr_sinks++] = (struct sink){ name, write };
    return true;
}

void console_remove_all_sinks(void)
{
    nr_sinks = 0;
}

bool console_add_source(const char *name, console_read_fn read)
{
    if (nr_sources == CONSOLE_MAX_SINKS)
        return false;
    sources[nr_sources++] = (struct source){ name, read };
    return true;
}

void console_remove_all_sources(void)
{
    nr_sources = 0;
}

/* Callers serialise (pv/console.c's lock): sources keep no lock. */
size_t console_read(char *buf, size_t len)
{
    size_t n = 0;

    for (unsigned int i = 0; i < nr_sources && n < len; i++)
        n += sources[i].read(buf + n, len - n);
    return n;
}

void console_set_level(enum log_level lvl)
{
    level = lvl;
}

void vprintk(enum log_level lvl, const char *fmt, va_list ap)
{
    static char buf[1024];   /* protected by console_lock */
    static const char *const tag[] = {
        [LOG_ERR] = "ERROR: ", [LOG_WARN] = "WARNING: ",
    };
    unsigned long flags;
    size_t n = 0;
    int r;

    if (lvl == LOG_NONE || lvl > level)
        return;

    flags = spin_lock_irqsave(&console_lock);
    if (lvl < ARRAY_SIZE(tag) && tag[lvl]) {
        n = strlen(tag[lvl]);
        memcpy(buf, tag[lvl], n);
    }
    r = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    if (r < 0)
        r = 0;
    if ((size_t)r >= sizeof(buf) - n) {
        /* Truncated: say so rather than cut a line silently. */
        n = sizeof(buf) - 1;
        memcpy(buf + n - 4, "...\n", 4);
    } else {
        n += (size_t)r;
    }
    for (unsigned int i = 0; i < nr_sinks; i++)
        sinks[i].write(buf, n);
    spin_unlock_irqrestore(&console_lock, flags);
}

void printk(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintk(lvl, fmt, ap);
    va_end(ap);
}
