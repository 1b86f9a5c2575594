/*
 * The shim's console: leveled printk to every registered sink (COM1, the
 * L0 Xen console_io hypercall, ...). Lines are written whole under a lock.
 */
#ifndef MINISHIM_CONSOLE_H
#define MINISHIM_CONSOLE_H

#include <stdarg.h>
#include <minishim/types.h>

enum log_level {
    LOG_NONE = 0,
    LOG_ERR = 1,
    LOG_WARN = 2,
    LOG_INFO = 3,
    LOG_DEBUG = 4,
};

typedef void (*console_write_fn)(const char *s, size_t len);

#define CONSOLE_MAX_SINKS 4

/* Add a sink; returns false when the table is full. */
bool console_add_sink(const char *name, console_write_fn write);
void console_remove_all_sinks(void);
void console_set_level(enum log_level lvl);

/* Console input: a source returns up to len bytes it has ready (never
 * waits). The guest's PV console ring takes what the sources give
 * (pv/console.c: typed on COM1 under QEMU-direct, `xl console` on a Xen
 * L0). */
typedef size_t (*console_read_fn)(char *buf, size_t len);
bool console_add_source(const char *name, console_read_fn read);
void console_remove_all_sources(void);
size_t console_read(char *buf, size_t len);

void printk(enum log_level lvl, const char *fmt, ...) __printf(2, 3);
void vprintk(enum log_level lvl, const char *fmt, va_list ap);

#define pr_err(...)   printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

/* 16550 UART on an I/O port (COM1 = 0x3f8). */
#define COM1_PORT 0x3f8
void serial_init(uint16_t port);
void serial_write(const char *s, size_t len);
/* True if a UART answers at the port (its scratch register holds a value). */
bool serial_present(void);
size_t serial_read(char *buf, size_t len);

#endif
