/*
 * pvseg - segments beyond the GDT basics, as Xen 4.17 does them:
 * - the LDT (MMUEXT_SET_LDT checks; mapped lazily on first use, each page
 *   taken as a segment-descriptor page: a read-only mapping is needed, it
 *   cannot be made writable while in use, it can again after SET_LDT 0;
 *   a page that cannot be taken is a #PF at ldt_base + offset; LDT
 *   selectors load into DS/ES; #NP/#GP from the descriptors as hardware
 *   gives them; update_descriptor reaches a live LDT);
 * - HYPERVISOR_iret with an unusable CS or SS: the guest gets #GP(sel) on
 *   the frame it gave (Xen's iretq fault fixup), not a crash.
 */
#include "guest.h"
#include <xen/errno.h>


#define DATA_FLAT   0x00cff3000000ffffUL    /* P, DPL 3, data RW, 4 GiB */
#define DATA_NP     0x00cf73000000ffffUL    /* the same, not present    */
#define TSS_DESC    0x0000890000000067UL    /* a present 64-bit TSS     */

void __noreturn pseg_iret(const uint64_t *ctx);
void __noreturn pseg_entered(const uint64_t *f, unsigned int kind, unsigned int has_ec,
                             uint64_t rax);
extern const char pseg_np_entry[], pseg_gp_entry[], pseg_pf_entry[], pseg_db_entry[];
void pseg_movss_syscall(void);
extern volatile uint64_t pseg_movss_rax;

static struct jmpctx kctx;
static uint64_t ldt[512] __attribute__((aligned(4096)));
static uint64_t ldt2[512] __attribute__((aligned(4096)));
static uint8_t istack[4096] __attribute__((aligned(16)));
static const unsigned long *p2m;

static volatile struct guest_trap_seen got;

void pseg_entered(const uint64_t *f, unsigned int kind, unsigned int has_ec,
                  uint64_t rax)
{
    guest_trap_record(&got, f, kind, has_ec, rax);
    guest_longjmp(&kctx);
}

#define TRY(...) GUEST_TRY(&kctx, &got, __VA_ARGS__)

static long map(const void *va, bool writable)
{
    uint64_t pte = ((uint64_t)guest_mfn_of(va) << PAGE_SHIFT) | _P | _US | _A | _D |
                   (writable ? _RW : 0);

    return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)va, pte,
                      UVMF_INVLPG | UVMF_LOCAL);
}

static long update_desc(const void *slot, uint64_t d)
{
    uint64_t maddr = ((uint64_t)guest_mfn_of(slot) << PAGE_SHIFT) |
                     ((unsigned long)slot & (PAGE_SIZE - 1));

    return hypercall2(__HYPERVISOR_update_descriptor, maddr, d);
}

static volatile uint16_t sel_seen;

static __attribute__((noinline)) void load_ds(uint16_t sel)
{
    uint16_t back;

    asm volatile("mov %1, %%ds; mov %%ds, %0; mov %2, %%ds"
                 : "=&r"(back) : "r"(sel), "r"((uint16_t)FLAT_KERNEL_DS) : "memory");
    sel_seen = back;
}

static __attribute__((noinline)) void load_es(uint16_t sel)
{
    uint16_t back;

    asm volatile("mov %1, %%es; mov %%es, %0; mov %2, %%es"
                 : "=&r"(back) : "r"(sel), "r"((uint16_t)FLAT_KERNEL_DS) : "memory");
    sel_seen = back;
}

static uint64_t read_cr2(void)
{
    uint64_t v;

    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static void expect_fault(const char *what, unsigned int kind, uint64_t ec)
{
    check(got.kind == kind && got.ec == ec, "%s: got vector %u ec %#lx, want %u/%#lx",
          what, got.kind, got.ec, kind, ec);
}

static void expect_ok(const char *what, uint16_t sel)
{
    check(got.kind == 0, "%s: vector %u ec %#lx at %#lx", what, got.kind, got.ec, got.rip);
    if (got.kind == 0)
        check(sel_seen == sel, "%s: selector reads back %#x", what, sel_seen);
}

static void ldt_tests(void)
{
    long rc;

    /* Xen MMUEXT_SET_LDT: page-aligned, canonical guest address, at most
     * 8192 entries; with 0 entries the base is ignored. */
    check(hypercall_set_ldt((uint64_t)ldt + 8, 1) == -XEN_EINVAL, "SET_LDT unaligned");
    check(hypercall_set_ldt((uint64_t)ldt, 8193) == -XEN_EINVAL, "SET_LDT 8193 entries");
    check(hypercall_set_ldt(0xffff830000000000UL, 1) == -XEN_EINVAL, "SET_LDT hypervisor range");
    check(hypercall_set_ldt(0x0000900000000000UL, 1) == -XEN_EINVAL, "SET_LDT non-canonical");
    check(hypercall_set_ldt(0x1234, 0) == 0, "SET_LDT 0 entries, any base");
    TRY(load_ds(0x0f));
    expect_fault("no LDT: load ds 0x0f", 13, 0x0c);

    /* An LDT page: descriptors first, then read-only (Xen: a writable
     * mapping and PGT_seg_desc_page exclude each other). */
    ldt[1] = DATA_FLAT;
    ldt[2] = DATA_NP;
    check(map(ldt, false) == 0, "map the LDT page read-only");
    check(hypercall_set_ldt((uint64_t)ldt, 3) == 0, "SET_LDT 3 entries");
    TRY(load_ds(0x0f));
    expect_ok("LDT: load ds 0x0f", 0x0f);
    TRY(load_es(0x0f));
    expect_ok("LDT: load es 0x0f", 0x0f);
    TRY(load_ds(0x0c));        /* RPL 0: the DPL-3 descriptor still loads */
    expect_ok("LDT: load ds 0x0c", 0x0c);
    TRY(load_es(0x17));
    expect_fault("LDT: not-present descriptor", 11, 0x14);
    TRY(load_ds(0x1f));
    expect_fault("LDT: beyond ldt_ents", 13, 0x1c);

    /* In use: it may not become writable; update_descriptor reaches it. */
    rc = map(ldt, true);
    check(rc < 0, "map the live LDT page writable: %ld, want an error", rc);
    check(update_desc(&ldt[2], DATA_FLAT) == 0, "update_descriptor in the LDT");
    TRY(load_es(0x17));
    expect_ok("LDT: updated descriptor", 0x17);
    check(update_desc(&ldt[3], TSS_DESC) == -XEN_EINVAL,
          "update_descriptor: a TSS descriptor in the LDT");

    /* SET_LDT 0: the page is released. */
    check(hypercall_set_ldt(0, 0) == 0, "SET_LDT 0");
    TRY(load_ds(0x0f));
    expect_fault("LDT gone: load ds 0x0f", 13, 0x0c);
    check(map(ldt, true) == 0, "map the released LDT page writable");

    /* Lazy: SET_LDT takes a writable page; its first use faults with #PF
     * at the LDT address (Xen handle_ldt_mapping_fault). */
    check(hypercall_set_ldt((uint64_t)ldt, 3) == 0, "SET_LDT on a writable page");
    TRY(load_ds(0x0f));
    expect_fault("LDT page writable: load ds", 14, 0);
    if (got.kind == 14)
        check(read_cr2() == (uint64_t)ldt + 8, "LDT #PF: cr2 %#lx, want %p + 8",
              read_cr2(), ldt);
    check(map(ldt, false) == 0, "map the LDT page read-only again");
    TRY(load_ds(0x0f));
    expect_ok("LDT: after read-only", 0x0f);

    /* Not mapped at all: #PF there. */
    check(hypercall_set_ldt(0x1000, 2) == 0, "SET_LDT at an unmapped address");
    TRY(load_ds(0x0f));
    expect_fault("LDT unmapped: load ds", 14, 0);
    if (got.kind == 14)
        check(read_cr2() == 0x1008, "LDT unmapped #PF: cr2 %#lx", read_cr2());

    /* A page with a descriptor Xen refuses cannot become an LDT page. */
    ldt2[1] = DATA_FLAT;
    ldt2[5] = TSS_DESC;
    check(map(ldt2, false) == 0, "map ldt2 read-only");
    check(hypercall_set_ldt((uint64_t)ldt2, 8) == 0, "SET_LDT ldt2");
    TRY(load_ds(0x0f));
    expect_fault("LDT with a TSS descriptor: load ds", 14, 0);

    /* Two pages: the second page faults in on its own. */
    check(hypercall_set_ldt(0, 0) == 0, "SET_LDT 0 again");
    check(map(ldt2, true) == 0, "map ldt2 writable");
    check(hypercall_set_ldt((uint64_t)ldt, 512 + 2) == 0, "SET_LDT over two pages");
    ldt2[5] = 0;
    ldt2[1] = DATA_FLAT;
    check(map(ldt2, false) == 0, "map ldt2 read-only again");
    TRY(load_ds(0x0f));
    expect_ok("two-page LDT: first page", 0x0f);
    TRY(load_ds((uint16_t)((513 << 3) | 7)));
    /* ldt2 is not necessarily the page after ldt: it is only if the
     * linker put it there. */
    if ((uint64_t)ldt2 == (uint64_t)ldt + PAGE_SIZE)
        expect_ok("two-page LDT: second page", (513 << 3) | 7);
    check(hypercall_set_ldt(0, 0) == 0, "SET_LDT 0 at the end");
    check(map(ldt, true) == 0 && map(ldt2, true) == 0, "LDT pages writable at the end");
}

/* A 64-bit call gate (low 8 bytes) to sel:off with DPL dpl. */
static uint64_t gate(uint16_t sel, uint64_t off, unsigned int dpl)
{
    return (off & 0xffff) | ((uint64_t)sel << 16) | (0xcUL << 40) |
           ((uint64_t)dpl << 45) | (1UL << 47) | (((off >> 16) & 0xffff) << 48);
}

static __attribute__((noinline)) void far_call(uint16_t sel)
{
    struct __attribute__((packed)) { uint32_t off; uint16_t sel; } fp = { 0, sel };

    asm volatile("lcall *%0" : : "m"(fp) : "memory");
}

/* Call gates (Xen check_descriptor; 64-bit guests get no gate emulation):
 * accepted to a guest segment with DPL forced to 0, so using one is a
 * #GP(gate) to the guest. */
static void gate_tests(void)
{
    uint64_t off = (uint64_t)pseg_gp_entry;

    check(map(ldt, false) == 0, "gates: LDT page read-only");
    check(hypercall_set_ldt((uint64_t)ldt, 8) == 0, "gates: SET_LDT");
    check(update_desc(&ldt[4], gate(FLAT_KERNEL_CS, off, 3)) == 0,
          "update_descriptor: call gate to FLAT_KERNEL_CS");
    check(((ldt[4] >> 45) & 3) == 0 && ((ldt[4] >> 16) & 0xffff) == FLAT_KERNEL_CS,
          "call gate as stored: %#lx (want DPL 0, target %#x)", ldt[4], FLAT_KERNEL_CS);
    check(update_desc(&ldt[6], gate(0xe008, off, 3)) == -XEN_EINVAL,
          "update_descriptor: call gate to a Xen segment");
    check(update_desc(&ldt[6], gate(FLAT_KERNEL_CS, off, 3) | (1UL << 32)) == -XEN_EINVAL,
          "update_descriptor: call gate with reserved bits");
    TRY(far_call(0x27));
    expect_fault("lcall through the gate", 13, 0x24);

    /* LDT frames are typed on first use (Xen pv_map_ldt_shadow_page), and
     * typing validates the frame in place: check_descriptor() writes the
     * fixed-up descriptors back (validate_segdesc_page), so what the guest
     * wrote while the page was plain memory reads back changed. */
    check(hypercall_set_ldt(0, 0) == 0, "gates: SET_LDT 0 (release the page)");
    check(map(ldt, true) == 0, "gates: LDT page writable");
    ldt[2] = 0x00cf93000000ffffUL;                  /* data, DPL 0 */
    ldt[6] = gate(FLAT_KERNEL_CS, off, 3);
    ldt[7] = off >> 32;
    check(map(ldt, false) == 0, "gates: LDT page read-only");
    check(hypercall_set_ldt((uint64_t)ldt, 8) == 0, "gates: SET_LDT, 8 entries");
    check(ldt[2] == 0x00cf93000000ffffUL && ldt[6] == gate(FLAT_KERNEL_CS, off, 3),
          "before first use the frame is as written: %#lx %#lx", ldt[2], ldt[6]);
    TRY(far_call(0x37));
    expect_fault("lcall through a gate of a page typed on first use", 13, 0x34);
    check(ldt[2] == DATA_FLAT, "first use: data descriptor in the frame %#lx, want DPL 3 %#lx",
          ldt[2], DATA_FLAT);
    check(ldt[6] == gate(FLAT_KERNEL_CS, off, 0),
          "first use: gate in the frame %#lx, want DPL 0 %#lx", ldt[6],
          gate(FLAT_KERNEL_CS, off, 0));
    /* The LDT limit the kernel set: a 16-byte gate whose upper half, or
     * which itself, lies past it is #GP(gate) as any selector past it. */
    check(hypercall_set_ldt((uint64_t)ldt, 7) == 0, "gates: SET_LDT, 7 entries");
    TRY(far_call(0x37));
    expect_fault("lcall through a gate whose upper half is past the LDT limit", 13, 0x34);
    check(hypercall_set_ldt((uint64_t)ldt, 6) == 0, "gates: SET_LDT, 6 entries");
    TRY(far_call(0x37));
    expect_fault("lcall through a gate past the LDT limit", 13, 0x34);
    /* An LDT at linear address 0 is an LDT (Xen keeps base 0 only with 0
     * entries): its unmapped page gives #PF at 0 + the gate's offset. */
    check(hypercall_set_ldt(0, 8) == 0, "gates: SET_LDT at linear address 0");
    TRY(far_call(0x37));
    expect_fault("lcall through a gate of an LDT at 0 (unmapped)", 14, 0);
    if (got.kind == 14)
        check(read_cr2() == 0x30, "LDT at 0: #PF cr2 %#lx, want 0x30", read_cr2());
    check(hypercall_set_ldt((uint64_t)ldt, 8) == 0, "gates: SET_LDT back");
    check(update_desc(&ldt[6], 0) == 0 && update_desc(&ldt[7], 0) == 0 &&
          update_desc(&ldt[2], 0) == 0, "gates: clear the first-use descriptors");
    check(update_desc(&ldt[4], 0) == 0, "gates: clear");
    check(hypercall_set_ldt(0, 0) == 0, "gates: SET_LDT 0");
    check(map(ldt, true) == 0, "gates: LDT page writable again");
}

static void iret_tests(void)
{
    uint64_t ctx[6];

    /* The bottom of struct iret_context: flags rip cs rflags rsp ss. A CS
     * beyond the (empty) GDT: #GP(cs) on the frame given. */
    TRY(ctx[0] = 0; ctx[1] = (uint64_t)pseg_gp_entry; ctx[2] = 0x1000; ctx[3] = 0x2;
        ctx[4] = (uint64_t)(istack + sizeof(istack)); ctx[5] = FLAT_KERNEL_SS;
        pseg_iret(ctx));
    expect_fault("iret with cs 0x1000", 13, 0x1000);
    check(got.rip == (uint64_t)pseg_gp_entry, "iret bad cs: frame rip %#lx", got.rip);
    check(got.rsp == (uint64_t)(istack + sizeof(istack)), "iret bad cs: frame rsp %#lx",
          got.rsp);

    /* A bad SS. */
    TRY(ctx[0] = 0; ctx[1] = (uint64_t)pseg_gp_entry; ctx[2] = FLAT_KERNEL_CS & ~3; ctx[3] = 0x2;
        ctx[4] = (uint64_t)(istack + sizeof(istack)); ctx[5] = 0x2000;
        pseg_iret(ctx));
    expect_fault("iret with ss 0x2000", 13, 0x2000);
}

void test_main(void)
{
    struct trap_info t[] = {
        { 1, 0, FLAT_KERNEL_CS, (unsigned long)pseg_db_entry },
        { 11, 0, FLAT_KERNEL_CS, (unsigned long)pseg_np_entry },
        { 13, 0, FLAT_KERNEL_CS, (unsigned long)pseg_gp_entry },
        { 14, 0, FLAT_KERNEL_CS, (unsigned long)pseg_pf_entry },
        { 0, 0, 0, 0 },
    };

    p2m = (const unsigned long *)start_info->mfn_list;
    check(hypercall_set_trap_table(t) == 0, "set_trap_table");
    ldt_tests();
    gate_tests();
    iret_tests();

    /* XSA-260: a #DB deferred into the hypervisor by mov %ss + syscall
     * is ignored there; the hypercall completes; single-step goes on. */
    pseg_movss_rax = ~0UL;
    TRY(pseg_movss_syscall());
    /* Where the single-step lands depends on how the CPU (or emulator)
     * holds it back: before the syscall (no result stored) or after the
     * store. Either way the guest gets its #DB and the domain lives. */
    printk("mov ss + syscall with TF: #DB at %#lx, result %#lx\n", got.rip, pseg_movss_rax);
    check(pseg_movss_rax == ~0UL ||
          pseg_movss_rax == (uint64_t)hypercall_xen_version(XENVER_version, NULL),
          "mov ss + syscall with TF: hypercall result %#lx", pseg_movss_rax);
    check(got.kind == 1, "mov ss + syscall with TF: then vector %u, want #DB", got.kind);
}
