/*
 * pvuser - guest user mode: HYPERVISOR_iret to ring-3 user context with a
 * user page-table base (MMUEXT_NEW_USER_BASEPTR), then back into the guest
 * kernel on the stack_switch stack through the syscall callback, a DPL-3
 * int $0x80 gate, #GP and #PF, each with Xen's frame (user cs/ss, U bit in
 * the #PF error code), and hypercalls working again afterwards.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/callback.h>


void __noreturn pvu_enter_user(uint64_t rip, uint64_t rsp);
void __noreturn pvu_entered(const uint64_t *f, unsigned int kind, unsigned int has_ec,
                            uint64_t rax);

extern const char pvu_syscall_entry[], pvu_int80_entry[], pvu_gp_entry[], pvu_pf_entry[];
extern const char pvu_user_syscall[], pvu_user_syscall_ret[], pvu_user_int80[],
                  pvu_user_int80_ret[], pvu_user_hlt[], pvu_user_pf[];

static struct jmpctx kctx;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[4096] __attribute__((aligned(16)));

static volatile struct guest_trap_seen got;

void pvu_entered(const uint64_t *f, unsigned int kind, unsigned int has_ec,
                 uint64_t rax)
{
    guest_trap_record(&got, f, kind, has_ec, rax);
    guest_longjmp(&kctx);
}

static bool run_user(const char *what, const char *code)
{
    memset((void *)&got, 0, sizeof(got));
    got.kind = ~0u;
    if (guest_setjmp(&kctx) == 0)
        pvu_enter_user((uint64_t)code, (uint64_t)(ustack + sizeof(ustack)));
    printk("%s: back in the kernel, kind %u rip %#lx cs %#lx ss %#lx ec %#lx\n",
           what, got.kind, got.rip, got.cs, got.ss, got.ec);
    /* The kernel-mode bounce used the stack_switch stack. */
    check(got.frame_addr >= (uint64_t)kstack &&
          got.frame_addr < (uint64_t)kstack + sizeof(kstack),
          "%s: frame at %#lx, not on the stack_switch stack", what, got.frame_addr);
    check((got.cs & 0xffff) == FLAT_USER_CS, "%s: saved cs %#lx, want user %#x",
          what, got.cs & 0xffff, FLAT_USER_CS);
    check(got.ss == FLAT_USER_SS, "%s: saved ss %#lx", what, got.ss);
    check(got.rsp == (uint64_t)(ustack + sizeof(ustack)),
          "%s: saved rsp %#lx", what, got.rsp);
    /* Back in kernel mode: a hypercall must be a hypercall again. */
    check(hypercall_xen_version(XENVER_pagesize, NULL) == 4096,
          "%s: hypercalls broken after returning to the kernel", what);
    return true;
}

void test_main(void)
{
    struct callback_register cb = { .type = CALLBACKTYPE_syscall,
                                    .flags = CALLBACKF_mask_events,
                                    .address = (unsigned long)pvu_syscall_entry };
    struct trap_info t[] = {
        { 13, 0, FLAT_KERNEL_CS, (unsigned long)pvu_gp_entry },
        { 14, 0, FLAT_KERNEL_CS, (unsigned long)pvu_pf_entry },
        { 128, 3, FLAT_KERNEL_CS, (unsigned long)pvu_int80_entry },
        { 0, 0, 0, 0 },
    };
    long rc;

    guest_user_mode_init(kstack + sizeof(kstack));
    rc = hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
    check(rc == 0, "register syscall callback = %ld", rc);
    rc = hypercall_set_trap_table(t);
    check(rc == 0, "set_trap_table = %ld", rc);

    run_user("syscall", pvu_user_syscall);
    check(got.kind == 0, "syscall: entered kind %u, want the syscall callback", got.kind);
    check(got.rip == (uint64_t)pvu_user_syscall_ret, "syscall: saved rip %#lx, want %p",
          got.rip, pvu_user_syscall_ret);

    run_user("int $0x80", pvu_user_int80);
    check(got.kind == 1, "int $0x80: entered kind %u", got.kind);
    check(got.rip == (uint64_t)pvu_user_int80_ret, "int $0x80: saved rip %#lx", got.rip);

    run_user("hlt", pvu_user_hlt);
    check(got.kind == 2 && got.ec == 0, "hlt: kind %u ec %#lx, want #GP(0)",
          got.kind, got.ec);
    check(got.rip == (uint64_t)pvu_user_hlt, "hlt: saved rip %#lx", got.rip);

    run_user("user #PF", pvu_user_pf);
    check(got.kind == 3, "user #PF: kind %u", got.kind);
    /* Not present, read, from guest USER mode: U bit set. */
    check(got.ec == 4, "user #PF: error code %#lx, want 4", got.ec);
}
