/* PV port I/O emulation (pv/emul_io.c, Xen 4.17 pv/emul-priv-op.c) and
 * per-vCPU descriptor tables in VCPUOP_initialise (pv/descriptor.c,
 * pv/vcpu.c). */
#include <criterion/criterion.h>
#include <string.h>
#include <minishim/pv_emul.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_physdev.h>
#include <minishim/pv_vcpu.h>
#include <minishim/x86.h>
#include <minishim/xen-public.h>
#include <xen/vcpu.h>
#include <xen/physdev.h>
#include "fake/fake.h"
#include "pv_env.h"

static struct shared_info shinfo;
static struct vcpu *v;
static struct cpu_regs regs;
static uint8_t code[32];
static uint8_t buf[4096];
static uint8_t bitmap[8192];
static struct pv_emul_fault f;

static void setup(void)
{
    pv_env_reset(&shinfo, 2);
    v = &pv_dom.vcpus[0];
    pv_emul_io_reset();
    memset(&regs, 0, sizeof(regs));
    memset(code, 0x90, sizeof(code));
    regs.rip = (uint64_t)(uintptr_t)code;
    regs.rax = 0x1122334455667788ULL;
}

TestSuite(pv_emul, .init = setup);

static enum pv_emul_rc run(const uint8_t *insn, size_t len)
{
    memcpy(code, insn, len);
    regs.rip = (uint64_t)(uintptr_t)code;
    return pv_emulate_io(v, &regs, &f);
}

#define RIP_ADVANCED(n) (regs.rip == (uint64_t)(uintptr_t)code + (n))

Test(pv_emul, iopl_rules)
{
    static const uint8_t inb_dx[] = { 0xec };

    regs.rdx = 0x5a0;
    /* Virtual IOPL 0: the guest kernel (ring 1 to Xen) may not. */
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_NONE);
    cr_expect(RIP_ADVANCED(0));
    v->iopl = 1;
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_DONE);
    cr_expect(RIP_ADVANCED(1));
    cr_expect_eq(regs.rax, 0x11223344556677ffULL);
    /* Guest user is ring 3. */
    v->kernel_mode = false;
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_NONE);
    v->iopl = 3;
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_DONE);
    /* architectural_iopl: the guest kernel is ring 0. */
    v->kernel_mode = true;
    v->iopl = 0;
    pv_dom.vm_assist = 1UL << VMASST_TYPE_architectural_iopl;
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_DONE);
}

Test(pv_emul, sizes_and_latches)
{
    static const uint8_t inw_dx[] = { 0x66, 0xed }, inl_imm[] = { 0xe5, 0xe0 },
                         rexw_inl[] = { 0x48, 0xed }, outb_70[] = { 0xe6, 0x70 },
                         inb_70[] = { 0xe4, 0x70 }, outl_dx[] = { 0xef };

    v->iopl = 1;
    regs.rdx = 0x5a0;
    cr_expect_eq(run(inw_dx, 2), PV_EMUL_DONE);
    cr_expect(RIP_ADVANCED(2));
    cr_expect_eq(regs.rax, 0x112233445566ffffULL);
    regs.rax = ~0ULL;
    cr_expect_eq(run(inl_imm, 2), PV_EMUL_DONE);
    cr_expect_eq(regs.rax, 0xffffffffULL, "32-bit in zero-extends");
    regs.rax = 0;
    cr_expect_eq(run(rexw_inl, 2), PV_EMUL_DONE);
    cr_expect_eq(regs.rax, 0xffffffffULL, "REX.W stays 32-bit");
    regs.rax = 0x8c;
    cr_expect_eq(run(outb_70, 2), PV_EMUL_DONE);
    regs.rax = 0;
    cr_expect_eq(run(inb_70, 2), PV_EMUL_DONE);
    cr_expect_eq(regs.rax & 0xff, 0x8c, "RTC index latch");
    regs.rdx = 0xcf8;
    regs.rax = 0x80000010;
    cr_expect_eq(run(outl_dx, 1), PV_EMUL_DONE);
    regs.rax = 0;
    cr_expect_eq(run(rexw_inl, 2), PV_EMUL_DONE);
    cr_expect_eq(regs.rax, 0x80000010ULL, "CF8 latch");
    /* No port was touched (no I/O capability). */
    cr_expect_eq(fake_nr_port_writes, 0);
}

Test(pv_emul, not_ours)
{
    static const uint8_t lock_in[] = { 0xf0, 0xec }, hlt[] = { 0xf4 };
    uint8_t many[16];

    v->iopl = 3;
    cr_expect_eq(run(lock_in, 2), PV_EMUL_NONE);
    cr_expect_eq(run(hlt, 1), PV_EMUL_NONE);
    memset(many, 0x66, sizeof(many));
    many[15] = 0xec;
    cr_expect_eq(run(many, 16), PV_EMUL_NONE, "longer than 15 bytes");
    /* An instruction that cannot be read. */
    fake_guest_fault_start = (uint64_t)(uintptr_t)code;
    fake_guest_fault_end = fake_guest_fault_start + 1;
    cr_expect_eq(pv_emulate_io(v, &regs, &f), PV_EMUL_NONE);
}

Test(pv_emul, rep_ins_batches)
{
    static const uint8_t rep_insb[] = { 0xf3, 0x6c };
    unsigned int traps = 0;

    v->iopl = 1;
    regs.rdx = 0x5a0;
    regs.rdi = (uint64_t)(uintptr_t)buf;
    regs.rcx = 3000;
    memset(buf, 0, sizeof(buf));
    memcpy(code, rep_insb, 2);
    do {
        regs.rip = (uint64_t)(uintptr_t)code;
        cr_assert_eq(pv_emulate_io(v, &regs, &f), PV_EMUL_DONE);
        traps++;
    } while (regs.rcx && traps < 10);
    cr_expect_eq(traps, (3000 + PV_EMUL_REP_BATCH - 1) / PV_EMUL_REP_BATCH);
    cr_expect(RIP_ADVANCED(2));
    cr_expect_eq(regs.rdi, (uint64_t)(uintptr_t)buf + 3000);
    cr_expect_eq(buf[2999], 0xff);
    cr_expect_eq(buf[3000], 0);
}

Test(pv_emul, rep_outs_fs_and_faults)
{
    static const uint8_t fs_rep_outsb[] = { 0x64, 0xf3, 0x6e }, rep_insw[] = { 0xf3, 0x66, 0x6d };

    v->iopl = 1;
    for (unsigned int i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0x40 + i);
    arch_wrmsr(MSR_FS_BASE, (uint64_t)(uintptr_t)buf);
    regs.rdx = 0x70;
    regs.rsi = 4;
    regs.rcx = 3;
    cr_expect_eq(run(fs_rep_outsb, 3), PV_EMUL_DONE);
    cr_expect_eq(regs.rsi, 7);
    cr_expect_eq(regs.rcx, 0);
    regs.rax = 0;
    cr_expect_eq(run((const uint8_t[]){ 0xe4, 0x70 }, 2), PV_EMUL_DONE);
    cr_expect_eq(regs.rax & 0xff, 0x46);

    /* A faulting buffer: #PF (W) at the faulting byte, done ones kept. */
    regs.rdx = 0x5a0;
    regs.rdi = (uint64_t)(uintptr_t)buf;
    regs.rcx = 4;
    fake_guest_fault_start = (uint64_t)(uintptr_t)buf + 4;
    fake_guest_fault_end = fake_guest_fault_start + 16;
    cr_expect_eq(run(rep_insw, 3), PV_EMUL_FAULT);
    cr_expect_eq(f.vector, X86_EXC_PF);
    cr_expect_eq(f.ec, 2);
    cr_expect_eq(f.cr2, (uint64_t)(uintptr_t)buf + 4);
    cr_expect_eq(regs.rcx, 2);
    cr_expect(RIP_ADVANCED(0));
    /* The hypervisor range: #GP(0). */
    fake_guest_fault_start = fake_guest_fault_end = 0;
    regs.rdi = 0xffff830000000000ULL;
    cr_expect_eq(run(rep_insw, 3), PV_EMUL_FAULT);
    cr_expect_eq(f.vector, X86_EXC_GP);
    cr_expect_eq(f.ec, 0);
}

Test(pv_emul, io_bitmap)
{
    static const uint8_t inb_dx[] = { 0xec }, inw_dx[] = { 0x66, 0xed };

    memset(bitmap, 0xff, sizeof(bitmap));
    bitmap[0x5a0 >> 3] = 0xfe;                  /* 0x5a0 allowed */
    v->iobmp = (uint64_t)(uintptr_t)bitmap;
    v->iobmp_limit = 0x5a2;
    regs.rdx = 0x5a0;
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_DONE);
    cr_expect_eq(run(inw_dx, 2), PV_EMUL_NONE, "0x5a1 denied");
    bitmap[0x5a0 >> 3] = 0xfc;
    cr_expect_eq(run(inw_dx, 2), PV_EMUL_DONE, "the bitmap is read at each access");
    v->iobmp_limit = 0x5a1;
    cr_expect_eq(run(inw_dx, 2), PV_EMUL_NONE, "beyond nr_ports");
    /* Unreadable bitmap bytes deny. */
    v->iobmp_limit = 0x600;
    fake_guest_fault_start = (uint64_t)(uintptr_t)bitmap + (0x5a0 >> 3);
    fake_guest_fault_end = fake_guest_fault_start + 1;
    cr_expect_eq(run(inb_dx, 1), PV_EMUL_NONE);
}

Test(pv_emul, physdev_set_iobitmap)
{
    struct physdev_set_iobitmap s = { .nr_ports = 16 };

    set_xen_guest_handle(s.bitmap, bitmap);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_set_iobitmap, (uint64_t)(uintptr_t)&s), 0);
    cr_expect_eq(v->iobmp, (uint64_t)(uintptr_t)bitmap);
    cr_expect_eq(v->iobmp_limit, 16);
    s.nr_ports = 65537;
    cr_expect_eq(do_physdev_op(PHYSDEVOP_set_iobitmap, (uint64_t)(uintptr_t)&s), -XEN_EINVAL);
    s.nr_ports = 1;
    set_xen_guest_handle(s.bitmap, (uint8_t *)0xffff830000000000ULL);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_set_iobitmap, (uint64_t)(uintptr_t)&s), -XEN_EINVAL);
    cr_expect_eq(do_physdev_op(PHYSDEVOP_set_iobitmap, 0xffff830000000000ULL), -XEN_EFAULT);
}

Test(pv_emul, ldt_fault_without_ldt_passes_gp)
{
    uint64_t cr2 = 0;

    cr_expect_eq(pv_ldt_fault(v, 0x0c, &cr2), 0, "no LDT: #GP as it is");
    cr_expect_eq(pv_ldt_fault(v, 0x08, &cr2), 0, "a GDT selector is not ours");
    v->mm.ldt_base = 0x10000;
    v->mm.ldt_ents = 2;
    cr_expect_eq(pv_ldt_fault(v, 0x1c, &cr2), 0, "beyond ldt_ents");
    cr_expect_eq(pv_ldt_fault(v, 0x0e, &cr2), 0, "an IDT error code");
}
