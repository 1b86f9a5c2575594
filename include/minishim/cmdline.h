/*
 * The shim's command line (hvm_start_info cmdline: QEMU -append, xl
 * pvshim_cmdline). Options are "name=value" or bare words separated by
 * spaces. Unknown options and bad values produce a warning and leave the
 * default in place; they never stop the shim.
 */
#ifndef MINISHIM_CMDLINE_H
#define MINISHIM_CMDLINE_H

#include <minishim/console.h>
#include <minishim/flush.h>
#include <minishim/flush_defer.h>
#include <minishim/l0.h>
#include <minishim/inject.h>

#define CONSOLE_COM1 (1u << 0)
#define CONSOLE_XEN  (1u << 1)
#define CONSOLE_PV   (1u << 2)

struct shim_config {
    enum log_level loglvl;
    unsigned int console;       /* CONSOLE_* mask                        */
    bool console_set;           /* console= given (else: auto)           */
    bool pv_shim;               /* "pv-shim" word, as Xen's toolstack passes */
    bool smp_selftest;          /* smp-selftest[=on|off] (shim/smp.c)     */
    enum flush_policy flush;    /* flush=auto|ipi|assist (shim/flush.c)  */
    bool tlbclock;              /* tlbclock=on|off (shim/tlbclock.c)     */
    enum l0_flush_use l0_flush; /* l0-flush=auto|xen|hyperv|none (hypercall/l0.c) */
    bool l0_selftest;           /* l0-selftest[=on|off] (hypercall/l0.c)  */
    unsigned int l0_flush_probe; /* l0-flush-probe=N round trips timed, 0 = off */
    uint64_t guest_mem;         /* guest_mem=<n>[K|M|G] bytes, 0 = auto (pv/) */
    struct inject_config inject; /* inject=... (shim/inject.c), tests only */
    enum flush_safety flush_safety; /* flush-safety=ipi|defer (shim/flush_defer.c) */
    unsigned int debug;         /* debug=pt-gen,pt-poison: PTDEBUG_* (shim/ptdebug.c) */
};

typedef void (*cmdline_warn_fn)(void *ctx, const char *msg);

void cmdline_defaults(struct shim_config *cfg);
/* Parse cmdline into cfg; returns the number of warnings issued. */
unsigned int cmdline_parse(const char *cmdline, struct shim_config *cfg,
                           cmdline_warn_fn warn, void *ctx);

/*
 * Text after a lone "--" is the guest's command line, used when module 0
 * carries none (QEMU's PVH loader cannot pass a module command line).
 * Returns NULL when there is no "--".
 */
const char *cmdline_guest_args(const char *cmdline);

#endif
