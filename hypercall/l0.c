/*
 * L0 selection and the operations every L0 offers the shim: console and
 * shutdown. The flush backends join this table with the flush engine.
 */
#include <minishim/xen-public.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/l0.h>

static struct l0_detect detected;
static enum l0_kind active = L0_NONE;
static bool hv_flush;           /* Hyper-V hypercall page is set up */

void l0_init(void)
{
    active = L0_NONE;
    hv_flush = false;
    l0_detect(&detected);
    if (detected.xen) {
        int rc = xen_init(&detected);

        if (rc == 0)
            active = L0_XEN;
        else
            pr_err("l0: Xen found but its hypercall page could not be set up (%d)\n", rc);
    } else if (detected.hyperv) {
        int rc = hyperv_init(&detected);

        /* Without the hypercall page Hyper-V is still the L0, just one
         * that offers the shim nothing: no assisted flush. */
        active = L0_HYPERV;
        if (rc == 0)
            hv_flush = true;
        else
            pr_warn("l0: Hyper-V found but its hypercall page could not be set up (%d); "
                    "flushes use IPIs\n", rc);
    }
    l0_cpu_init();
}

void l0_cpu_init(void)
{
    if (active == L0_HYPERV && hv_flush)
        hyperv_cpu_init();
}

unsigned int l0_flush_caps(void)
{
    switch (active) {
    case L0_XEN:
        /* Xen's own shim uses HVMOP_flush_tlbs whenever it can. */
        return L0_FLUSH_AVAILABLE | L0_FLUSH_RECOMMENDED;
    case L0_HYPERV:
        if (!hv_flush)
            return 0;
        return L0_FLUSH_AVAILABLE |
               (hyperv_flush_recommended() ? L0_FLUSH_RECOMMENDED : 0);
    default:
        return 0;
    }
}

int l0_flush_tlb(const cpumask_t *mask, vaddr_t va, unsigned int order,
                 unsigned int flags)
{
    if (cpumask_empty(mask))
        return -XEN_EINVAL;     /* never ask L0 to flush an empty set */
    switch (active) {
    case L0_XEN:
        return xen_flush_tlb();
    case L0_HYPERV:
        if (hv_flush)
            return hyperv_flush_tlb(mask, va, order, flags);
        return -XEN_EOPNOTSUPP;
    default:
        return -XEN_EOPNOTSUPP;
    }
}

const struct l0_detect *l0_detected(void)
{
    return &detected;
}

enum l0_kind l0_kind(void)
{
    return active;
}

const char *l0_name(void)
{
    switch (active) {
    case L0_XEN: return "xen";
    case L0_HYPERV: return "hyperv";
    default: return "none";
    }
}

void l0_console_write(const char *s, size_t len)
{
    if (active == L0_XEN)
        xen_console_write(s, len);
}

void __noreturn l0_shutdown(unsigned int reason)
{
    if (active == L0_XEN) {
        long rc = xen_shutdown(reason);

        /* SCHEDOP_shutdown does not return on success. */
        pr_err("l0: SCHEDOP_shutdown(%u) returned %ld\n", reason, rc);
    }
    /* QEMU's isa-debug-exit; harmless on an L0 that has no such device. */
    arch_outb(ISA_DEBUG_EXIT_PORT, (uint8_t)(ISA_DEBUG_EXIT_BASE + reason));
    pr_err("l0: power-off did not take effect; halting\n");
    arch_halt_forever();
}
