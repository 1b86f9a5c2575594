/* VCPUOP_send_nmi and the NMI's delivery (pv/hypercall.c, pv/traps.c),
 * as Xen 4.17: do_vcpu_op refuses a non-NULL argument, the NMI reaches
 * the trap table's NMI slot (CALLBACKTYPE_nmi) on the way out before
 * events, no second one while the handler runs (until HYPERVISOR_iret),
 * dropped without a handler. And the event-channel sub-ops a PV domU
 * behind a shim gets no service for: EVTCHNOP_reset_cont with no reset
 * to resume (-EBUSY) and EVTCHNOP_bind_pirq (-EOPNOTSUPP, the pv-shim). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>
#include <minishim/pv.h>
#include <minishim/pv_hypercall.h>
#include <minishim/pv_evtchn.h>
#include <minishim/pv_traps.h>
#include <minishim/pv_vcpu.h>
#include <minishim/regs.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/vcpu.h>
#include "fake/fake.h"
#include "pv_env.h"

#define NMI_VA 0xffffffff80003000ULL
#define RIP_VA 0xffffffff80002000ULL

static struct shared_info shinfo;
static uint64_t kstack[64] __attribute__((aligned(16)));

static void setup(void)
{
    pv_env_reset(&shinfo, 2);
    memset(kstack, 0, sizeof(kstack));
    shinfo.vcpu_info[0].evtchn_upcall_mask = 1;
}

TestSuite(pv_nmi, .init = setup);

static uint64_t gp(const void *p) { return (uint64_t)(uintptr_t)p; }

static struct cpu_regs guest_regs(void)
{
    return (struct cpu_regs){ .vector = X86_EXC_NMI, .rip = RIP_VA,
                              .cs = FLAT_KERNEL_CS, .ss = FLAT_KERNEL_SS,
                              .rflags = 0x202, .rsp = gp(kstack + 64) };
}

/* One exit to the guest; false if the domain was crashed. */
static bool exit_to_guest(struct cpu_regs *r)
{
    return !pv_env_trap_crashes(r);
}

static void register_nmi(void)
{
    struct callback_register cb = { .type = CALLBACKTYPE_nmi, .address = NMI_VA };

    cr_assert_eq(do_callback_op(CALLBACKOP_register, gp(&cb)), 0);
}

Test(pv_nmi, argument_must_be_null)
{
    uint64_t x = 0;

    cr_expect_eq(do_vcpu_op(VCPUOP_send_nmi, 0, gp(&x)), -XEN_EINVAL);
    cr_expect_not(pv_dom.vcpus[0].nmi_pending);
    cr_expect_eq(do_vcpu_op(VCPUOP_send_nmi, 7, 0), -XEN_ENOENT);
}

Test(pv_nmi, delivered_once_until_iret)
{
    struct cpu_regs r = guest_regs();
    struct iret_context *c;

    register_nmi();
    cr_assert_eq(do_vcpu_op(VCPUOP_send_nmi, 0, 0), 0);
    cr_assert(exit_to_guest(&r));
    cr_expect_eq(r.rip, NMI_VA, "bounced to the NMI callback");
    cr_expect_eq(kstack[64 - 5], RIP_VA, "interrupted rip in the frame");
    cr_expect_eq(shinfo.vcpu_info[0].evtchn_upcall_mask, 1, "events masked");

    /* A second NMI while the handler runs waits for its iret. */
    cr_assert_eq(do_vcpu_op(VCPUOP_send_nmi, 0, 0), 0);
    r = guest_regs();
    cr_assert(exit_to_guest(&r));
    cr_expect_eq(r.rip, RIP_VA, "no NMI inside the NMI handler");
    cr_expect(pv_dom.vcpus[0].nmi_pending);

    /* HYPERVISOR_iret back to RIP_VA: then the pending one comes. */
    c = (struct iret_context *)(kstack + 32);
    memset(c, 0, sizeof(*c));
    c->rip = RIP_VA;
    c->cs = FLAT_KERNEL_CS & ~3;        /* RPL 0: back to guest kernel */
    c->rflags = 0x2;
    c->rsp = gp(kstack + 64);
    c->ss = FLAT_KERNEL_SS & ~3;
    r = guest_regs();
    r.rsp = gp(c);
    do_iret(&r);
    cr_assert(exit_to_guest(&r));
    cr_expect_eq(r.rip, NMI_VA, "the pending NMI after the iret");
    cr_expect_not(pv_dom.vcpus[0].nmi_pending);
}

Test(pv_nmi, dropped_without_a_handler)
{
    struct cpu_regs r = guest_regs();
    struct callback_unregister un = { .type = CALLBACKTYPE_nmi };

    register_nmi();
    cr_assert_eq(do_callback_op(CALLBACKOP_unregister, gp(&un)), 0);
    cr_assert_eq(do_vcpu_op(VCPUOP_send_nmi, 0, 0), 0);
    cr_assert(exit_to_guest(&r), "no handler: not a domain crash");
    cr_expect_eq(r.rip, RIP_VA);
    cr_expect_not(pv_dom.vcpus[0].nmi_pending, "dropped, as Xen's null bounce");
}

/* update_va_mapping_otherdomain (was -ENOSYS): Xen's get_pg_owner():
 * only DOMID_SELF owns pages here (another id, our own number included,
 * -ESRCH as mmu_update's foreign domain); DOMID_SELF is update_va_mapping. */
Test(pv_nmi, update_va_mapping_otherdomain)
{
    unsigned long a[6] = { 0x1000, 0, UVMF_INVLPG, 0, 0, 0 };
    struct cpu_regs r = { 0 };

    a[3] = 0;
    cr_expect_eq(pv_do_hypercall(&r, __HYPERVISOR_update_va_mapping_otherdomain, a),
                 -XEN_ESRCH);
    a[3] = DOMID_IO;
    cr_expect_eq(pv_do_hypercall(&r, __HYPERVISOR_update_va_mapping_otherdomain, a),
                 -XEN_ESRCH);
    /* DOMID_SELF goes on to do_update_va_mapping: the gfuzz guest shows
     * it (0 and -EINVAL among its uvm_otherdomain results). */
}

Test(pv_nmi, evtchn_reset_cont_and_bind_pirq)
{
    struct evtchn_reset rs = { .dom = DOMID_SELF };
    struct evtchn_bind_pirq bp = { .pirq = 1 };

    cr_expect_eq(do_event_channel_op(14 /* EVTCHNOP_reset_cont */, gp(&rs)), -XEN_EBUSY);
    rs.dom = 1;
    cr_expect_eq(do_event_channel_op(14, gp(&rs)), -XEN_ESRCH);
    fake_guest_fault_start = gp(&rs);
    fake_guest_fault_end = gp(&rs) + 1;
    cr_expect_eq(do_event_channel_op(14, gp(&rs)), -XEN_EFAULT);
    fake_guest_fault_start = fake_guest_fault_end = 0;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_bind_pirq, gp(&bp)), -XEN_EOPNOTSUPP);
}
