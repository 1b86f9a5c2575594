/* vcpu.c - the initial context for VCPUOP_initialise. */
#include "guest.h"

void guest_vcpu_ctx(struct vcpu_guest_context *c, unsigned long rip,
                    unsigned long rsp, unsigned long arg, unsigned long l4_mfn)
{
    memset(c, 0, sizeof(*c));
    c->flags = VGCF_in_kernel;
    c->user_regs.rip = rip;
    c->user_regs.rsp = rsp;
    c->user_regs.rdi = arg;
    c->user_regs.cs = FLAT_KERNEL_CS;
    c->user_regs.ss = FLAT_KERNEL_SS;
    c->user_regs.rflags = 0x202;            /* IF: events are masked in vcpu_info */
    c->kernel_ss = FLAT_KERNEL_SS;
    c->kernel_sp = rsp;
    c->ctrlreg[3] = xen_pfn_to_cr3(l4_mfn);
}
