/*
 * L0 selection and the operations every L0 offers the shim: console and
 * shutdown (the platform L0), and the choice of the flush backend, which
 * may be a different interface of the same L0 (Xen with viridian).
 */
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/l0.h>

static struct l0_detect detected;
/* No L0 (QEMU-direct), or an L0 we have no interface to: offers nothing. */
static const struct l0_ops none_ops = { .kind = L0_NONE, .name = "none" };
static const struct l0_ops *platform = &none_ops;  /* PVH duties          */
static const struct l0_ops *flusher = &none_ops;   /* assisted flushes    */
static const char *flush_why = "no L0";
static bool hv_ready;           /* Hyper-V hypercall page is set up */

/* Set up the Hyper-V hypercall page once; true when it works. */
static bool hv_setup(void)
{
    int rc;

    if (hv_ready)
        return true;
    rc = hyperv_init(&detected);
    if (rc == 0)
        hv_ready = true;
    else
        pr_warn("l0: Hyper-V interface found but its hypercall page could not be "
                "set up (%d)\n", rc);
    return hv_ready;
}

static void choose_flush(enum l0_flush_use use)
{
    flusher = &none_ops;
    switch (use) {
    case L0_FLUSH_USE_NONE:
        flush_why = "l0-flush=none";
        return;
    case L0_FLUSH_USE_XEN:
        if (platform == &xen_l0_ops) {
            flusher = &xen_l0_ops;
            flush_why = "l0-flush=xen";
        } else {
            flush_why = "l0-flush=xen, but L0 is not Xen";
        }
        return;
    case L0_FLUSH_USE_HYPERV:
        if (!detected.hyperv) {
            flush_why = "l0-flush=hyperv, but L0 offers no Hyper-V interface";
        } else if (!hv_setup()) {
            flush_why = "l0-flush=hyperv, but the Hyper-V hypercall page failed";
        } else {
            flusher = &hyperv_l0_ops;
            flush_why = "l0-flush=hyperv";
        }
        return;
    case L0_FLUSH_USE_AUTO:
    default:
        break;
    }
    if (platform == &hyperv_l0_ops) {
        /* Hyper-V alone: without the hypercall page it offers nothing. */
        if (hv_setup()) {
            flusher = &hyperv_l0_ops;
            flush_why = "auto: Hyper-V L0";
        } else {
            flush_why = "auto: Hyper-V L0 without a hypercall page";
        }
    } else if (platform == &xen_l0_ops && detected.hyperv) {
        /*
         * Xen with viridian. The recommendation leaf is only meaningful
         * once the guest OS identity is written (Xen fills CPUID
         * 0x40000004 only then: viridian.c, cpuid_viridian_leaves()), so
         * the Hyper-V interface is set up first, then asked.
         */
        if (hv_setup() && hyperv_flush_recommended()) {
            flusher = &hyperv_l0_ops;
            flush_why = "auto: Xen with viridian recommends the Hyper-V remote flush hypercalls";
        } else {
            flusher = &xen_l0_ops;
            flush_why = "auto: Xen with viridian, Hyper-V remote flush not recommended";
        }
    } else if (platform == &xen_l0_ops) {
        flusher = &xen_l0_ops;
        flush_why = "auto: Xen L0";
    } else {
        flush_why = "auto: no L0";
    }
}

void l0_setup(enum l0_flush_use use)
{
    platform = &none_ops;
    hv_ready = false;
    l0_detect(&detected);
    /* Xen, wherever its leaves are, serves the PVH duties even when it
     * also offers Hyper-V's interface. */
    if (detected.xen) {
        int rc = xen_init(&detected);

        if (rc == 0)
            platform = &xen_l0_ops;
        else
            pr_err("l0: Xen found but its hypercall page could not be set up (%d)\n", rc);
    }
    if (platform == &none_ops && detected.hyperv)
        platform = &hyperv_l0_ops;
    choose_flush(use);
    l0_cpu_init();
}

void l0_cpu_init(void)
{
    if (flusher->cpu_init)
        flusher->cpu_init();
}

unsigned int l0_flush_caps(void)
{
    return flusher->flush_caps ? flusher->flush_caps() : 0;
}

int l0_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                 unsigned int flags)
{
    if (cpumask_empty(mask))
        return -XEN_EINVAL;     /* never ask L0 to flush an empty set */
    if (!flusher->flush_tlb)
        return -XEN_EOPNOTSUPP;
    return flusher->flush_tlb(mask, va, order, flags);
}

enum l0_kind l0_flush_backend(void)
{
    return flusher->kind;
}

const char *l0_flush_backend_name(void)
{
    return flusher->name;
}

const char *l0_flush_why(void)
{
    return flush_why;
}

const char *l0_flush_use_name(enum l0_flush_use use)
{
    switch (use) {
    case L0_FLUSH_USE_AUTO: return "auto";
    case L0_FLUSH_USE_XEN: return "xen";
    case L0_FLUSH_USE_HYPERV: return "hyperv";
    case L0_FLUSH_USE_NONE: return "none";
    }
    return "?";
}

unsigned int l0_selftest(void)
{
    if (flusher->selftest)
        return flusher->selftest();
    pr_info("l0: selftest backend=none (nothing to probe) mismatches=0\n");
    return 0;
}

static uint64_t cycles_to_ns(uint64_t c, uint64_t tsc_khz)
{
    if (!tsc_khz)
        return 0;
    if (c > UINT64_MAX / 1000000u)      /* hours of cycles: precision moot */
        return c / tsc_khz * 1000000u;
    return c * 1000000u / tsc_khz;
}

unsigned int l0_flush_probe(unsigned int n, unsigned int cpu, uint64_t tsc_khz)
{
    static uint64_t t[L0_FLUSH_PROBE_MAX];
    unsigned int errors = 0;
    int last = 0;
    cpumask_t mask;

    if (!flusher->flush_tlb) {
        pr_info("l0: flush-probe backend=none (no L0 flush to time)\n");
        return 0;
    }
    if (n > L0_FLUSH_PROBE_MAX)
        n = L0_FLUSH_PROBE_MAX;
    if (!n)
        return 0;
    cpumask_clear(&mask);
    cpumask_set(&mask, cpu);
    for (unsigned int i = 0; i < n; i++) {
        uint64_t a = arch_rdtsc(), b;
        int rc = l0_flush_tlb(&mask, va(0), 0, L0_FLUSH_GLOBAL);  /* everything */

        b = arch_rdtsc();
        t[i] = b - a;
        if (rc) {
            errors++;
            last = rc;
        }
    }
    for (unsigned int i = 1; i < n; i++) {     /* insertion sort, n <= 1024 */
        uint64_t v = t[i];
        unsigned int j = i;

        for (; j && t[j - 1] > v; j--)
            t[j] = t[j - 1];
        t[j] = v;
    }
    pr_info("l0: flush-probe backend=%s n=%u errors=%u min_ns=%lu median_ns=%lu max_ns=%lu "
            "min_cycles=%lu median_cycles=%lu max_cycles=%lu last-error=%d\n",
            flusher->name, n, errors,
            (unsigned long)cycles_to_ns(t[0], tsc_khz),
            (unsigned long)cycles_to_ns(t[n / 2], tsc_khz),
            (unsigned long)cycles_to_ns(t[n - 1], tsc_khz),
            (unsigned long)t[0], (unsigned long)t[n / 2], (unsigned long)t[n - 1], last);
    return errors;
}

const struct l0_detect *l0_detected(void)
{
    return &detected;
}

enum l0_kind l0_kind(void)
{
    return platform->kind;
}

const char *l0_name(void)
{
    return platform->name;
}

void l0_console_write(const char *s, size_t len)
{
    if (platform->console_write)
        platform->console_write(s, len);
}

void l0_print_stats(void)
{
    if (flusher->print_stats)
        flusher->print_stats();
    else
        pr_info("l0: flush calls backend=none\n");
}

void __noreturn l0_shutdown(unsigned int reason)
{
    l0_print_stats();
    if (platform->shutdown) {
        long rc = platform->shutdown(reason);

        /* Xen's SCHEDOP_shutdown, the only one, does not return on success. */
        pr_err("l0: SCHEDOP_shutdown(%u) returned %ld\n", reason, rc);
    }
    /* QEMU's isa-debug-exit; harmless on an L0 that has no such device. */
    arch_outb(ISA_DEBUG_EXIT_PORT, (uint8_t)(ISA_DEBUG_EXIT_BASE + reason));
    pr_err("l0: power-off did not take effect; halting\n");
    arch_halt_forever();
}
