/*
 * pvio - port I/O from a PV guest, as Xen 4.17 emulates it
 * (xen/arch/x86/pv/emul-priv-op.c): in/out/ins/outs of every size, rep,
 * from guest kernel and guest user; the permission rules (virtual IOPL
 * from PHYSDEVOP_set_iopl against the guest's ring, VMASST
 * architectural_iopl, PHYSDEVOP_set_iobitmap); what a domU without I/O
 * capabilities sees (all-ones reads, dropped writes, the RTC-index and
 * PCI CF8 latches); #GP(0) when not permitted, #PF/#GP for bad ins/outs
 * buffers; bad physdev_op arguments.
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/callback.h>
#include <xen/physdev.h>

#define PORT       0x5a0        /* nothing decodes it: all-ones */
#define RTC_INDEX  0x70
#define PCI_CF8    0xcf8
#define EFLAGS_DF  (1UL << 10)

void __noreturn pio_enter_user(uint64_t rip, uint64_t rsp, uint64_t rdx);
void __noreturn pio_entered(const uint64_t *f, unsigned int kind,
                            unsigned int has_ec, uint64_t rax);
extern const char pio_syscall_entry[], pio_gp_entry[], pio_pf_entry[];
extern const char pio_user_inb[], pio_user_outb_inb[];

enum { K_NONE, K_SYSCALL, K_GP, K_PF };

static struct jmpctx kctx;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[4096] __attribute__((aligned(16)));
static uint8_t iobitmap[8192] __attribute__((aligned(4096)));
static uint8_t buf[4096] __attribute__((aligned(4096)));

static volatile struct guest_trap_seen got;
static volatile uint64_t res, res_ptr, res_cnt;

void pio_entered(const uint64_t *f, unsigned int kind, unsigned int has_ec,
                 uint64_t rax)
{
    guest_trap_record(&got, f, kind, has_ec, rax);
    guest_longjmp(&kctx);
}

/* Run stmt; a #GP/#PF (or the user's syscall) lands back here. */
#define TRY(...) GUEST_TRY(&kctx, &got, __VA_ARGS__)

static const uint64_t JUNK = 0x1122334455667788UL;

static __attribute__((noinline)) void k_inb(uint16_t p)
{ uint64_t v = JUNK; asm volatile("inb %%dx, %%al" : "+a"(v) : "d"(p)); res = v; }
static __attribute__((noinline)) void k_inw(uint16_t p)
{ uint64_t v = JUNK; asm volatile("inw %%dx, %%ax" : "+a"(v) : "d"(p)); res = v; }
static __attribute__((noinline)) void k_inl(uint16_t p)
{ uint64_t v = JUNK; asm volatile("inl %%dx, %%eax" : "+a"(v) : "d"(p)); res = v; }
static __attribute__((noinline)) void k_inb_imm(void)
{ uint64_t v = JUNK; asm volatile("inb $0xe0, %%al" : "+a"(v)); res = v; }
static __attribute__((noinline)) void k_inl_imm(void)
{ uint64_t v = JUNK; asm volatile("inl $0xe0, %%eax" : "+a"(v)); res = v; }
/* REX.W before in: still a 32-bit access. */
static __attribute__((noinline)) void k_inl_rexw(uint16_t p)
{ uint64_t v = JUNK; asm volatile(".byte 0x48, 0xed" : "+a"(v) : "d"(p)); res = v; }
static __attribute__((noinline)) void k_outb(uint16_t p, uint8_t v)
{ asm volatile("outb %%al, %%dx" : : "a"(v), "d"(p)); }
static __attribute__((noinline)) void k_outw(uint16_t p, uint16_t v)
{ asm volatile("outw %%ax, %%dx" : : "a"(v), "d"(p)); }
static __attribute__((noinline)) void k_outl(uint16_t p, uint32_t v)
{ asm volatile("outl %%eax, %%dx" : : "a"(v), "d"(p)); }
static __attribute__((noinline)) void k_outb_imm(uint8_t v)
{ asm volatile("outb %%al, $0x70" : : "a"(v)); }

static __attribute__((noinline)) void k_rep_ins(unsigned int size, uint16_t p,
                                                 uint64_t dst, uint64_t n, bool down)
{
    if (down)
        asm volatile("std");
    switch (size) {
    case 1: asm volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(p) : "memory"); break;
    case 2: asm volatile("rep insw" : "+D"(dst), "+c"(n) : "d"(p) : "memory"); break;
    default: asm volatile("rep insl" : "+D"(dst), "+c"(n) : "d"(p) : "memory"); break;
    }
    asm volatile("cld");
    res_ptr = dst;
    res_cnt = n;
}

/* fs: rep outsb: %fs:(%rsi) -> (%dx). */
static __attribute__((noinline)) void k_rep_outsb_fs(uint16_t p, uint64_t off, uint64_t n)
{
    asm volatile(".byte 0x64, 0xf3, 0x6e" : "+S"(off), "+c"(n) : "d"(p) : "memory");
    res_ptr = off;
    res_cnt = n;
}

static __attribute__((noinline)) void k_outsw(uint16_t p, uint64_t src)
{
    asm volatile("outsw" : "+S"(src) : "d"(p) : "memory");
    res_ptr = src;
}

static long set_iopl(unsigned int iopl)
{
    struct physdev_set_iopl s = { .iopl = iopl };

    return hypercall2(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, &s);
}

static long set_iobitmap(const void *bitmap, unsigned int nr)
{
    struct physdev_set_iobitmap s = { .nr_ports = nr };

    set_xen_guest_handle(s.bitmap, (uint8_t *)bitmap);
    return hypercall2(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iobitmap, &s);
}

static uint64_t read_cr2(void)
{
    uint64_t v;

    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

/* Expect #GP(0) at an instruction starting with byte op. */
static void expect_gp(const char *what, uint8_t op)
{
    check(got.kind == K_GP && got.ec == 0, "%s: kind %u ec %#lx, want #GP(0)",
          what, got.kind, got.ec);
    if (got.kind == K_GP)
        check(*(const uint8_t *)got.rip == op, "%s: #GP at %#lx (byte %#x), want "
              "the instruction (%#x)", what, got.rip, *(const uint8_t *)got.rip, op);
}

static void expect_ok(const char *what)
{
    check(got.kind == K_NONE, "%s: trapped (kind %u ec %#lx rip %#lx)", what,
          got.kind, got.ec, got.rip);
}

static void kernel_denied(const char *when)
{
    char w[64];

    snprintf(w, sizeof(w), "%s: inb", when);
    TRY(k_inb(PORT));
    expect_gp(w, 0xec);
    snprintf(w, sizeof(w), "%s: outb imm8", when);
    TRY(k_outb_imm(1));
    expect_gp(w, 0xe6);
    snprintf(w, sizeof(w), "%s: rep insb", when);
    TRY(k_rep_ins(1, PORT, (uint64_t)buf, 4, false));
    expect_gp(w, 0xf3);
}

static void kernel_io(void)
{
    unsigned int i;
    bool all;

    /* Sizes and register effects: 8/16 bit keep the rest of rax, 32 bit
     * zero-extends. */
    TRY(k_inb(PORT)); expect_ok("inb");
    check(res == ((JUNK & ~0xffUL) | 0xff), "inb: rax %#lx", res);
    TRY(k_inw(PORT)); expect_ok("inw");
    check(res == ((JUNK & ~0xffffUL) | 0xffff), "inw: rax %#lx", res);
    TRY(k_inl(PORT)); expect_ok("inl");
    check(res == 0xffffffffUL, "inl: rax %#lx", res);
    TRY(k_inb_imm()); expect_ok("inb imm8");
    check(res == ((JUNK & ~0xffUL) | 0xff), "inb imm8: rax %#lx", res);
    TRY(k_inl_imm()); expect_ok("inl imm8");
    check(res == 0xffffffffUL, "inl imm8: rax %#lx", res);
    TRY(k_inl_rexw(PORT)); expect_ok("rex.w inl");
    check(res == 0xffffffffUL, "rex.w inl: rax %#lx", res);

    /* Writes are dropped. */
    TRY(k_outb(PORT, 0x12); k_outw(PORT, 0x1234); k_outl(PORT, 0x12345678));
    expect_ok("out b/w/l");
    TRY(k_inl(PORT));
    check(res == 0xffffffffUL, "in after out: %#lx (writes must be dropped)", res);

    /* The RTC index port is a latch; 0x71 is not the domain's. */
    TRY(k_outb_imm(0x0c)); expect_ok("outb 0x70");
    TRY(k_inb(RTC_INDEX));
    check((res & 0xff) == 0x0c, "RTC index latch: %#lx, want 0x0c", res & 0xff);
    TRY(k_inw(RTC_INDEX));
    check((res & 0xffff) == 0xff0c, "inw 0x70: %#lx, want 0xff0c", res & 0xffff);

    /* PCI CONFIG_ADDRESS: a latch for 32-bit accesses only. */
    TRY(k_outl(PCI_CF8, 0x80001234)); expect_ok("outl 0xcf8");
    TRY(k_inl(PCI_CF8));
    check(res == 0x80001234UL, "CF8 latch: %#lx", res);
    TRY(k_outb(PCI_CF8, 0x55); k_inl(PCI_CF8));
    check(res == 0x80001234UL, "outb 0xcf8 changed the latch: %#lx", res);
    TRY(k_inw(PCI_CF8));
    check((res & 0xffff) == 0xffff, "inw 0xcf8: %#lx, want 0xffff", res & 0xffff);
    TRY(k_outl(PCI_CF8, 0));

    /* rep ins, every size, up and down. */
    memset(buf, 0, sizeof(buf));
    TRY(k_rep_ins(1, PORT, (uint64_t)buf + 8, 5, false)); expect_ok("rep insb");
    check(res_ptr == (uint64_t)buf + 13 && res_cnt == 0, "rep insb: rdi %#lx rcx %lu",
          res_ptr, res_cnt);
    check(buf[7] == 0 && buf[8] == 0xff && buf[12] == 0xff && buf[13] == 0,
          "rep insb: buffer %02x %02x %02x %02x", buf[7], buf[8], buf[12], buf[13]);
    memset(buf, 0, sizeof(buf));
    TRY(k_rep_ins(2, PORT, (uint64_t)buf, 3, false)); expect_ok("rep insw");
    check(res_ptr == (uint64_t)buf + 6 && buf[5] == 0xff && buf[6] == 0,
          "rep insw: rdi %#lx", res_ptr);
    memset(buf, 0, sizeof(buf));
    TRY(k_rep_ins(4, PORT, (uint64_t)buf + 64, 4, true)); expect_ok("std rep insl");
    check(res_ptr == (uint64_t)buf + 48 && buf[67] == 0xff && buf[52] == 0xff &&
          buf[51] == 0 && buf[68] == 0, "std rep insl: rdi %#lx", res_ptr);
    /* rcx 0: nothing happens, the instruction completes. */
    memset(buf, 0, sizeof(buf));
    TRY(k_rep_ins(1, PORT, (uint64_t)buf, 0, false)); expect_ok("rep insb rcx=0");
    check(buf[0] == 0 && res_ptr == (uint64_t)buf, "rep insb rcx=0 wrote");
    /* A long run (more than one batch in the shim). */
    memset(buf, 0, sizeof(buf));
    TRY(k_rep_ins(1, PORT, (uint64_t)buf, 3000, false)); expect_ok("rep insb 3000");
    for (all = true, i = 0; i < 3000; i++)
        all &= buf[i] == 0xff;
    check(all && buf[3000] == 0 && res_cnt == 0, "rep insb 3000: rcx %lu", res_cnt);

    /* outs: with an fs override (the live FS base) and the latch. */
    for (i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0x40 + i);
    check(hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_FS, (unsigned long)buf) == 0,
          "set_segment_base(FS)");
    TRY(k_rep_outsb_fs(RTC_INDEX, 2, 5)); expect_ok("fs: rep outsb");
    check(res_ptr == 7 && res_cnt == 0, "fs: rep outsb: rsi %#lx rcx %lu", res_ptr, res_cnt);
    TRY(k_inb(RTC_INDEX));
    check((res & 0xff) == 0x46, "fs: rep outsb: last byte %#lx, want 0x46", res & 0xff);
    hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0);
    TRY(k_outsw(RTC_INDEX, (uint64_t)buf + 9)); expect_ok("outsw");
    TRY(k_inb(RTC_INDEX));
    check((res & 0xff) == 0x49 && res_ptr == (uint64_t)buf + 11,
          "outsw: latch %#lx rsi %#lx", res & 0xff, res_ptr);

    /* Bad buffers: unmapped -> #PF (write), hypervisor range -> #GP(0). */
    TRY(k_rep_ins(1, PORT, 0x1000, 4, false));
    check(got.kind == K_PF && (got.ec & 7) == 2, "ins to 0x1000: kind %u ec %#lx, "
          "want #PF W", got.kind, got.ec);
    if (got.kind == K_PF)
        check(read_cr2() == 0x1000, "ins to 0x1000: cr2 %#lx", read_cr2());
    TRY(k_rep_ins(1, PORT, 0xffff830000000000UL, 4, false));
    expect_gp("ins to the hypervisor range", 0xf3);
    TRY(k_outsw(PORT, 0x2000));
    check(got.kind == K_PF && (got.ec & 7) == 0, "outsw from 0x2000: kind %u ec %#lx, "
          "want #PF read", got.kind, got.ec);
}

static void run_user(const char *code, uint16_t port)
{
    TRY(pio_enter_user((uint64_t)code, (uint64_t)(ustack + sizeof(ustack)), port));
    check(hypercall_xen_version(XENVER_pagesize, NULL) == 4096,
          "hypercalls broken after returning from user mode");
}

static void user_io(void)
{
    /* iopl 1: guest user (ring 3) may not. */
    check(set_iopl(1) == 0, "set_iopl(1)");
    run_user(pio_user_inb, PORT);
    check(got.kind == K_GP && got.ec == 0, "user inb, iopl 1: kind %u ec %#lx, want #GP(0)",
          got.kind, got.ec);
    check((got.cs & 0xffff) == FLAT_USER_CS, "user #GP: cs %#lx", got.cs & 0xffff);
    if (got.kind == K_GP)
        check(*(const uint8_t *)got.rip == 0xec, "user #GP rip %#lx", got.rip);

    check(set_iopl(3) == 0, "set_iopl(3)");
    run_user(pio_user_inb, PORT);
    check(got.kind == K_SYSCALL && got.rax == 0x5a5a5aff,
          "user inb, iopl 3: kind %u rax %#lx", got.kind, got.rax);
    run_user(pio_user_outb_inb, RTC_INDEX);
    check(got.kind == K_SYSCALL && got.rax == 0x3c,
          "user outb/inb 0x70, iopl 3: kind %u rax %#lx", got.kind, got.rax);

    /* iopl 0 and the bitmap: user mode too (read via the kernel's view). */
    check(set_iopl(0) == 0, "set_iopl(0)");
    run_user(pio_user_inb, PORT);
    check(got.kind == K_GP, "user inb, iopl 0, no bitmap: kind %u", got.kind);
    check(set_iobitmap(iobitmap, 0x5a4) == 0, "set_iobitmap");
    run_user(pio_user_inb, PORT);
    check(got.kind == K_SYSCALL && got.rax == 0x5a5a5aff,
          "user inb via the bitmap: kind %u rax %#lx", got.kind, got.rax);
    check(set_iobitmap(iobitmap, 0) == 0, "set_iobitmap(0 ports)");
}

static void bitmap_io(void)
{
    memset(iobitmap, 0xff, sizeof(iobitmap));
    iobitmap[PORT >> 3] &= ~1;                  /* PORT      allowed */
    iobitmap[PORT >> 3] &= ~(1 << 3);           /* PORT + 3  allowed */
    iobitmap[(PORT + 8) >> 3] &= ~1;            /* PORT + 8  allowed, beyond nr_ports */

    check(set_iobitmap(iobitmap, PORT + 4) == 0, "set_iobitmap");
    TRY(k_inb(PORT)); expect_ok("bitmap: inb allowed port");
    check((res & 0xff) == 0xff, "bitmap: inb %#lx", res);
    TRY(k_inb(PORT + 1)); expect_gp("bitmap: inb denied port", 0xec);
    TRY(k_inw(PORT)); expect_gp("bitmap: inw half denied", 0x66);
    TRY(k_inb(PORT + 3)); expect_ok("bitmap: inb last port below nr_ports");
    TRY(k_inb(PORT + 8)); expect_gp("bitmap: inb beyond nr_ports", 0xec);
    iobitmap[PORT >> 3] &= ~2;
    TRY(k_inw(PORT)); expect_ok("bitmap: inw both allowed (read at access time)");
    TRY(k_rep_ins(1, PORT, (uint64_t)buf, 2, false)); expect_ok("bitmap: rep insb");

    /* Bad arguments (Xen: guest_handle_okay over 8 KiB, nr_ports <= 65536). */
    check(set_iobitmap((void *)0xffff830000000000UL, 16) == -XEN_EINVAL,
          "set_iobitmap(hypervisor address)");
    check(set_iobitmap(iobitmap, 65537) == -XEN_EINVAL, "set_iobitmap(65537 ports)");
    check(hypercall2(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iobitmap,
                     0xffff830000000000UL) == -XEN_EFAULT, "set_iobitmap(bad arg)");
    check(set_iobitmap(iobitmap, 0) == 0, "set_iobitmap(none)");
    TRY(k_inb(PORT)); expect_gp("no bitmap: inb", 0xec);
}

void test_main(void)
{
    struct callback_register cb = { .type = CALLBACKTYPE_syscall,
                                    .flags = CALLBACKF_mask_events,
                                    .address = (unsigned long)pio_syscall_entry };
    struct trap_info t[] = {
        { 13, 0, FLAT_KERNEL_CS, (unsigned long)pio_gp_entry },
        { 14, 0, FLAT_KERNEL_CS, (unsigned long)pio_pf_entry },
        { 0, 0, 0, 0 },
    };
    long rc;

    guest_user_mode_init(kstack + sizeof(kstack));
    check(hypercall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb) == 0,
          "register syscall callback");
    check(hypercall_set_trap_table(t) == 0, "set_trap_table");

    /* Start of day: virtual IOPL 0, no bitmap. */
    kernel_denied("iopl 0");
    check(set_iopl(4) == -XEN_EINVAL, "set_iopl(4)");
    check(hypercall2(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl,
                     0xffff830000000000UL) == -XEN_EFAULT, "set_iopl(bad arg)");
    kernel_denied("after bad set_iopl");

    /* The guest kernel counts as ring 1: iopl 1 lets it in. */
    check(set_iopl(1) == 0, "set_iopl(1)");
    kernel_io();

    /* VMASST architectural_iopl: the guest kernel counts as ring 0. */
    check(set_iopl(0) == 0, "set_iopl(0)");
    kernel_denied("iopl 0 again");
    rc = hypercall2(__HYPERVISOR_vm_assist, VMASST_CMD_enable,
                    VMASST_TYPE_architectural_iopl);
    check(rc == 0, "vm_assist(architectural_iopl) = %ld", rc);
    TRY(k_inb(PORT)); expect_ok("architectural iopl 0: kernel inb");
    hypercall2(__HYPERVISOR_vm_assist, VMASST_CMD_disable, VMASST_TYPE_architectural_iopl);
    TRY(k_inb(PORT)); expect_gp("architectural iopl off: kernel inb", 0xec);

    bitmap_io();
    user_io();
    check(set_iopl(0) == 0, "set_iopl(0)");
}
