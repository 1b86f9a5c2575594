/*
 * hypercall.h - Xen hypercalls from a 64-bit PV guest.
 *
 * x86-64 PV ABI: call hypercall_page + nr * 32 with arguments in
 * rdi, rsi, rdx, r10, r8 (r9 for a sixth); the result comes back in rax.
 * The stub executes SYSCALL, which clobbers rcx and r11, and a debug
 * hypervisor poisons argument registers it did not use, so every argument
 * register is treated as clobbered.
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include "types.h"

extern uint8_t hypercall_page[4096];

static inline long hypercall5(unsigned int nr, unsigned long a1,
                              unsigned long a2, unsigned long a3,
                              unsigned long a4, unsigned long a5)
{
    register unsigned long rdi asm("rdi") = a1;
    register unsigned long rsi asm("rsi") = a2;
    register unsigned long rdx asm("rdx") = a3;
    register unsigned long r10 asm("r10") = a4;
    register unsigned long r8 asm("r8") = a5;
    long ret;

    asm volatile ("call *%[stub]"
                  : "=a" (ret), "+r" (rdi), "+r" (rsi), "+r" (rdx),
                    "+r" (r10), "+r" (r8)
                  : [stub] "r" (hypercall_page + nr * 32)
                  : "rcx", "r11", "r9", "memory");
    return ret;
}

#define hypercall1(nr, a1) hypercall5(nr, (unsigned long)(a1), 0, 0, 0, 0)
#define hypercall2(nr, a1, a2) \
    hypercall5(nr, (unsigned long)(a1), (unsigned long)(a2), 0, 0, 0)
#define hypercall3(nr, a1, a2, a3) \
    hypercall5(nr, (unsigned long)(a1), (unsigned long)(a2), \
               (unsigned long)(a3), 0, 0)
#define hypercall4(nr, a1, a2, a3, a4) \
    hypercall5(nr, (unsigned long)(a1), (unsigned long)(a2), \
               (unsigned long)(a3), (unsigned long)(a4), 0)

static inline long hypercall_console_io(unsigned int cmd, unsigned int count,
                                        const char *buf)
{
    return hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}

static inline long hypercall_xen_version(unsigned int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}

static inline long hypercall_sched_op(unsigned int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}

static inline long hypercall_set_trap_table(const struct trap_info *traps)
{
    return hypercall1(__HYPERVISOR_set_trap_table, traps);
}

static inline long hypercall_memory_op(unsigned int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

static inline long hypercall_vcpu_op(unsigned int cmd, unsigned int vcpu,
                                     void *arg)
{
    return hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}

static inline long hypercall_grant_table_op(unsigned int cmd, void *uop,
                                            unsigned int count)
{
    return hypercall3(__HYPERVISOR_grant_table_op, cmd, uop, count);
}

/* One mmu_update request on this domain's tables, no done count. */
static inline long hypercall_mmu_update_one(uint64_t ptr, uint64_t val)
{
    mmu_update_t req = { .ptr = ptr, .val = val };

    return hypercall4(__HYPERVISOR_mmu_update, &req, 1, NULL, DOMID_SELF);
}

/* One mmuext_op: arg1 is the 64-bit member of its union (mfn or
 * linear_addr), arg2 of the other (src_mfn, or a vcpumask pointer). */
static inline long hypercall_mmuext_one(unsigned int cmd, unsigned long arg1,
                                        unsigned long arg2)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = arg1, .arg2.src_mfn = arg2 };

    return hypercall4(__HYPERVISOR_mmuext_op, &op, 1, NULL, DOMID_SELF);
}

/* MMUEXT_SET_LDT: ents descriptors at base (0 entries: no LDT). */
static inline long hypercall_set_ldt(uint64_t base, unsigned int ents)
{
    struct mmuext_op op = { .cmd = MMUEXT_SET_LDT, .arg1.linear_addr = base,
                            .arg2.nr_ents = ents };

    return hypercall4(__HYPERVISOR_mmuext_op, &op, 1, NULL, DOMID_SELF);
}

static inline long hypercall_update_va_mapping(const volatile void *va, uint64_t val,
                                               unsigned long flags)
{
    return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)va, val, flags);
}

#endif
