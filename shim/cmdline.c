/*
 * Command-line parser. Table-driven: each option names its handler; later
 * subsystems (flush engine, ...) add rows here so that docs/cmdline.md and
 * this table stay one list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <minishim/cmdline.h>
#include <minishim/ptdebug.h>

#define MAX_TOKEN 128

struct warn_ctx {
    cmdline_warn_fn fn;
    void *ctx;
    unsigned int count;
};

static void warn(struct warn_ctx *w, const char *fmt, ...) __printf(2, 3);
static void warn(struct warn_ctx *w, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    w->count++;
    if (w->fn)
        w->fn(w->ctx, msg);
}

static bool parse_loglvl(const char *v, struct shim_config *cfg)
{
    static const struct { const char *name; enum log_level lvl; } lv[] = {
        { "none", LOG_NONE }, { "error", LOG_ERR }, { "warning", LOG_WARN },
        { "info", LOG_INFO }, { "debug", LOG_DEBUG }, { "all", LOG_DEBUG },
    };

    for (size_t i = 0; i < ARRAY_SIZE(lv); i++) {
        if (!strcmp(v, lv[i].name)) {
            cfg->loglvl = lv[i].lvl;
            return true;
        }
    }
    return false;
}

/* console=com1,xen,pv,none: a comma list; any bad element rejects it all. */
static bool parse_console(const char *v, struct shim_config *cfg)
{
    unsigned int mask = 0;
    char item[MAX_TOKEN];

    while (*v) {
        size_t n = strcspn(v, ",");

        if (n == 0 || n >= sizeof(item))
            return false;
        memcpy(item, v, n);
        item[n] = '\0';
        if (!strcmp(item, "com1"))
            mask |= CONSOLE_COM1;
        else if (!strcmp(item, "xen"))
            mask |= CONSOLE_XEN;
        else if (!strcmp(item, "pv"))
            mask |= CONSOLE_PV;
        else if (strcmp(item, "none"))
            return false;
        v += n;
        if (*v == ',' && !*++v)
            return false;           /* trailing comma */
    }
    cfg->console = mask;
    cfg->console_set = true;
    return true;
}

static bool parse_flush(const char *v, struct shim_config *cfg)
{
    if (!strcmp(v, "auto"))
        cfg->flush = FLUSH_POLICY_AUTO;
    else if (!strcmp(v, "ipi"))
        cfg->flush = FLUSH_POLICY_IPI;
    else if (!strcmp(v, "assist"))
        cfg->flush = FLUSH_POLICY_ASSIST;
    else
        return false;
    return true;
}

static bool parse_tlbclock(const char *v, struct shim_config *cfg)
{
    if (!strcmp(v, "on"))
        cfg->tlbclock = true;
    else if (!strcmp(v, "off"))
        cfg->tlbclock = false;
    else
        return false;
    return true;
}

/* flush-safety=: how retype flushes exclude the spurious-#PF walker
 * (shim/flush_defer.c, docs/flush-safety.md). */
static bool parse_flush_safety(const char *v, struct shim_config *cfg)
{
    if (!strcmp(v, "ipi"))
        cfg->flush_safety = FLUSH_SAFETY_IPI;
    else if (!strcmp(v, "defer"))
        cfg->flush_safety = FLUSH_SAFETY_DEFER;
    else
        return false;
    return true;
}

/* l0-flush=: which L0 interface does assisted flushes (hypercall/l0.c). */
static bool parse_l0_flush(const char *v, struct shim_config *cfg)
{
    if (!strcmp(v, "auto"))
        cfg->l0_flush = L0_FLUSH_USE_AUTO;
    else if (!strcmp(v, "xen"))
        cfg->l0_flush = L0_FLUSH_USE_XEN;
    else if (!strcmp(v, "hyperv"))
        cfg->l0_flush = L0_FLUSH_USE_HYPERV;
    else if (!strcmp(v, "none"))
        cfg->l0_flush = L0_FLUSH_USE_NONE;
    else
        return false;
    return true;
}

static bool parse_l0_selftest(const char *v, struct shim_config *cfg)
{
    if (!strcmp(v, "on"))
        cfg->l0_selftest = true;
    else if (!strcmp(v, "off"))
        cfg->l0_selftest = false;
    else
        return false;
    return true;
}

/* l0-flush-probe=N: time N bare L0 flush hypercalls at boot (hypercall/l0.c). */
static bool parse_l0_flush_probe(const char *v, struct shim_config *cfg)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);

    if (end == v || *end || n > L0_FLUSH_PROBE_MAX)
        return false;
    cfg->l0_flush_probe = (unsigned int)n;
    return true;
}

static bool parse_smp_selftest(const char *v, struct shim_config *cfg)
{
    if (!strcmp(v, "on"))
        cfg->smp_selftest = true;
    else if (!strcmp(v, "off"))
        cfg->smp_selftest = false;
    else
        return false;
    return true;
}

/* guest_mem=<n>[K|M|G]: at least 4 MiB (the initial mapping needs it). */
static bool parse_guest_mem(const char *v, struct shim_config *cfg)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    unsigned int shift = 0;

    if (end == v)
        return false;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    else if (*end)
        return false;
    if (shift && end[1])
        return false;
    if (n > (1UL << (40 - shift)) || (n << shift) < (4UL << 20))
        return false;
    cfg->guest_mem = (uint64_t)n << shift;
    return true;
}

/* inject=...: fault injection for tests (shim/inject.c has the syntax). */
static bool parse_inject(const char *v, struct shim_config *cfg)
{
    return inject_parse(v, &cfg->inject);
}

/* debug=pt-gen,pt-poison: page-table hazard debug aids (shim/ptdebug.c). */
static bool parse_debug(const char *v, struct shim_config *cfg)
{
    return ptdebug_parse(v, &cfg->debug);
}

struct option {
    const char *name;
    bool (*parse)(const char *value, struct shim_config *cfg);
    const char *choices;        /* for the warning on a bad value */
};

static const struct option options[] = {
    { "loglvl", parse_loglvl, "none|error|warning|info|debug|all" },
    { "console", parse_console, "comma list of com1, xen, pv, none" },
    { "smp-selftest", parse_smp_selftest, "on|off; the bare word means on" },
    { "flush", parse_flush, "auto|ipi|assist" },
    { "tlbclock", parse_tlbclock, "on|off" },
    { "l0-flush", parse_l0_flush, "auto|xen|hyperv|none" },
    { "l0-selftest", parse_l0_selftest, "on|off; the bare word means on" },
    { "l0-flush-probe", parse_l0_flush_probe, "0..1024 (0 = off)" },
    { "guest_mem", parse_guest_mem, "<n>[K|M|G], 4M..1T" },
    { "inject", parse_inject, INJECT_SYNTAX },
    { "flush-safety", parse_flush_safety, "ipi|defer" },
    { "debug", parse_debug, PTDEBUG_SYNTAX },
};

void cmdline_defaults(struct shim_config *cfg)
{
    *cfg = (struct shim_config){
        .loglvl = LOG_INFO,
        .flush = FLUSH_POLICY_AUTO,
        .tlbclock = true,
        .flush_safety = FLUSH_SAFETY_IPI,
        .console = CONSOLE_COM1 | CONSOLE_XEN | CONSOLE_PV,
    };
}

static void parse_token(const char *tok, struct shim_config *cfg,
                        struct warn_ctx *w)
{
    const char *eq = strchr(tok, '=');
    size_t klen = eq ? (size_t)(eq - tok) : strlen(tok);

    /* Xen's toolstack always passes "pv-shim" first (libxl default
     * pvshim_cmdline "pv-shim console=xen,pv"). */
    if (!eq && !strcmp(tok, "pv-shim")) {
        cfg->pv_shim = true;
        return;
    }
    if (!eq && !strcmp(tok, "smp-selftest")) {
        cfg->smp_selftest = true;
        return;
    }
    if (!eq && !strcmp(tok, "l0-selftest")) {
        cfg->l0_selftest = true;
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        const struct option *o = &options[i];

        if (strlen(o->name) != klen || strncmp(o->name, tok, klen))
            continue;
        if (!eq)
            warn(w, "option '%s' needs a value (%s)", o->name, o->choices);
        else if (!o->parse(eq + 1, cfg))
            warn(w, "bad value '%s' for %s= (expected %s); keeping the default",
                 eq + 1, o->name, o->choices);
        return;
    }
    warn(w, "unknown option '%s' ignored", tok);
}

unsigned int cmdline_parse(const char *cmdline, struct shim_config *cfg,
                           cmdline_warn_fn fn, void *ctx)
{
    struct warn_ctx w = { fn, ctx, 0 };
    char tok[MAX_TOKEN];

    if (!cmdline)
        return 0;
    while (*cmdline) {
        size_t n;

        cmdline += strspn(cmdline, " \t");
        n = strcspn(cmdline, " \t");
        if (n == 0)
            break;
        if (n == 2 && !strncmp(cmdline, "--", 2))
            break;              /* the rest belongs to the guest */
        if (n >= sizeof(tok)) {
            warn(&w, "option of %lu characters ignored (limit %lu)",
                 (unsigned long)n, (unsigned long)(sizeof(tok) - 1));
        } else {
            memcpy(tok, cmdline, n);
            tok[n] = '\0';
            parse_token(tok, cfg, &w);
        }
        cmdline += n;
    }
    return w.count;
}

const char *cmdline_guest_args(const char *cmdline)
{
    while (cmdline && *cmdline) {
        size_t n;

        cmdline += strspn(cmdline, " \t");
        n = strcspn(cmdline, " \t");
        if (n == 2 && !strncmp(cmdline, "--", 2))
            return cmdline + 2 + strspn(cmdline + 2, " \t");
        cmdline += n;
    }
    return NULL;
}
