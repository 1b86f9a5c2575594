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

unsigned int guest_start_vcpus(unsigned int max, unsigned long entry, uint8_t *stacks,
                               unsigned long stack_size, unsigned long l4_mfn,
                               volatile unsigned long *ran)
{
    static struct vcpu_guest_context ctx;
    unsigned int id, n;

    for (id = 1; id < max; id++) {
        if (hypercall_vcpu_op(VCPUOP_is_up, id, NULL) < 0)
            break;                  /* -ENOENT: the domain has no more */
        guest_vcpu_ctx(&ctx, entry, (unsigned long)(stacks + (id + 1) * stack_size), id, l4_mfn);
        check(hypercall_vcpu_op(VCPUOP_initialise, id, &ctx) == 0, "initialise vCPU %u", id);
        check(hypercall_vcpu_op(VCPUOP_up, id, NULL) == 0, "up vCPU %u", id);
    }
    n = id - 1;
    for (id = 1; id <= n; id++) {
        unsigned long i;

        for (i = 0; i < GUEST_SPIN_LIMIT && !__atomic_load_n(&ran[id], __ATOMIC_SEQ_CST); i++)
            ;
        check(ran[id], "vCPU %u never ran", id);
    }
    return n;
}

bool guest_wait_vcpu_down(unsigned int id)
{
    unsigned long i;

    for (i = 0; i < GUEST_SPIN_LIMIT && hypercall_vcpu_op(VCPUOP_is_up, id, NULL) != 0; i++)
        ;
    return check(i < GUEST_SPIN_LIMIT, "vCPU %u did not go down", id);
}

void guest_user_mode_init(const void *kstack_top)
{
    struct mmuext_op op = { .cmd = MMUEXT_NEW_USER_BASEPTR };
    unsigned int done;
    long rc;

    op.arg1.mfn = guest_mfn_of((const void *)start_info->pt_base);
    rc = hypercall4(__HYPERVISOR_mmuext_op, &op, 1, &done, DOMID_SELF);
    if (rc)
        test_fatal("MMUEXT_NEW_USER_BASEPTR = %ld", rc);
    rc = hypercall2(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, (unsigned long)kstack_top);
    check(rc == 0, "stack_switch = %ld", rc);
}

void __noreturn guest_vcpu_run(unsigned long id, volatile unsigned long *ran,
                               void (*work)(unsigned long id))
{
    __atomic_store_n(&ran[id], 1, __ATOMIC_SEQ_CST);
    work(id);
    for (;;)
        hypercall_vcpu_op(VCPUOP_down, (unsigned int)id, NULL);
}
