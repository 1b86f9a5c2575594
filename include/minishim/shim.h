/* Shim-wide state and the composition root (shim/main.c). */
#ifndef MINISHIM_SHIM_H
#define MINISHIM_SHIM_H

#include <stdarg.h>
#include <minishim/bootinfo.h>
#include <minishim/cmdline.h>

#define MINISHIM_VERSION "0.1"

extern struct shim_config shim_cfg;
extern struct boot_info boot_info;

/* Print the shutdown summary and shut down with a Xen SHUTDOWN_* reason. */
void __noreturn shim_shutdown(unsigned int reason);
/* Print "<what>: <message>" as an error and shut down with SHUTDOWN_crash. */
void __noreturn shim_vcrash(const char *what, const char *fmt, va_list ap);
/* Print "PANIC: ..." and shut down with SHUTDOWN_crash. */
void __noreturn panic(const char *fmt, ...) __printf(1, 2);

#endif
