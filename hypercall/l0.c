/*
 * L0 selection and the operations every L0 offers the shim: console and
 * shutdown. The flush backends join this table with the flush engine.
 */
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/l0.h>

static struct l0_detect detected;
static enum l0_kind active = L0_NONE;

void l0_init(void)
{
    l0_detect(&detected);
    if (detected.xen) {
        int rc = xen_init(&detected);

        if (rc == 0)
            active = L0_XEN;
        else
            pr_err("l0: Xen found but its hypercall page could not be set up (%d)\n", rc);
    } else if (detected.hyperv) {
        active = L0_HYPERV;
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
