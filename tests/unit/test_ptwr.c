/*
 * Writable page tables (Xen's ptwr): the instruction decoder, the MMU's
 * read-modify-write of an L1 entry behind a read-only mapping, and the
 * #PF hook's conditions (xen/arch/x86/traps.c fixup_page_fault,
 * xen/arch/x86/pv/ro-page-fault.c).
 */
#include "test_mm_env.h"
#include <minishim/pv.h>
#include <minishim/pv_ptwr.h>

TestSuite(ptwr, .init = mm_setup);

/* ------------------------------------------------------------ decoder --- */

static int dec(const uint8_t *b, size_t n, struct pv_ptwr_insn *d)
{
    return pv_ptwr_decode(b, n, d);
}
#define DEC(d, ...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; dec(b_, sizeof(b_), (d)); })

Test(ptwr, decode_the_stores_linux_uses)
{
    struct pv_ptwr_insn d;

    cr_assert_eq(DEC(&d, 0x48, 0x89, 0x07), 0);                 /* mov %rax,(%rdi) */
    cr_expect(d.op == PTWR_MOV && d.len == 3 && d.bytes == 8 && d.src_reg && d.reg == 0);
    cr_assert_eq(DEC(&d, 0x48, 0x87, 0x07), 0);                 /* xchg %rax,(%rdi) */
    cr_expect(d.op == PTWR_XCHG && d.len == 3 && d.bytes == 8);
    cr_assert_eq(DEC(&d, 0xf0, 0x48, 0x0f, 0xb1, 0x17), 0);     /* lock cmpxchg %rdx,(%rdi) */
    cr_expect(d.op == PTWR_CMPXCHG && d.len == 5 && d.bytes == 8 && d.reg == 2);
    cr_assert_eq(DEC(&d, 0xf0, 0x80, 0x27, 0xfd), 0);           /* lock andb $0xfd,(%rdi) */
    cr_expect(d.op == PTWR_AND && d.len == 4 && d.bytes == 1 && !d.src_reg);
    cr_expect_eq(d.imm & 0xff, 0xfd);
    cr_assert_eq(DEC(&d, 0xf0, 0x48, 0x0f, 0xba, 0x37, 0x05), 0); /* lock btrq $5,(%rdi) */
    cr_expect(d.op == PTWR_BTR && d.len == 6 && d.bytes == 8 && d.imm == 5);
    cr_assert_eq(DEC(&d, 0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80), 0); /* movq $imm32 */
    cr_expect(d.op == PTWR_MOV && d.len == 7 && d.imm == 0xffffffff80000000ULL);
    cr_assert_eq(DEC(&d, 0x4c, 0x89, 0x44, 0x24, 0x08), 0);     /* mov %r8,8(%rsp) */
    cr_expect(d.reg == 8 && d.len == 5);
    cr_assert_eq(DEC(&d, 0x48, 0x89, 0x05, 1, 2, 3, 4), 0);     /* mov %rax,disp32(%rip) */
    cr_expect_eq(d.len, 7);
    cr_assert_eq(DEC(&d, 0x89, 0x84, 0x8f, 1, 2, 3, 4), 0);     /* mov %eax,disp32(%rdi,%rcx,4) */
    cr_expect(d.len == 7 && d.bytes == 4);
    cr_assert_eq(DEC(&d, 0x66, 0x89, 0x07), 0);                 /* mov %ax,(%rdi) */
    cr_expect_eq(d.bytes, 2);
    cr_assert_eq(DEC(&d, 0x65, 0x48, 0x83, 0x0f, 0x01), 0);     /* or $1,%gs:(%rdi) */
    cr_expect(d.op == PTWR_OR && d.len == 5 && d.imm == 1);
}

Test(ptwr, decode_refuses_the_rest)
{
    struct pv_ptwr_insn d;

    cr_expect_eq(DEC(&d, 0x48, 0x8b, 0x07), -1);                /* a load */
    cr_expect_eq(DEC(&d, 0x48, 0x89, 0xc7), -1);                /* register destination */
    cr_expect_eq(DEC(&d, 0x88, 0x27), -1);                      /* mov %ah,(%rdi) */
    cr_expect_eq(DEC(&d, 0x80, 0x07, 0x01), -1);                /* add: not a PTE store */
    cr_expect_eq(DEC(&d, 0x48, 0x89), -1);                      /* truncated */
    cr_expect_eq(DEC(&d, 0x48, 0xc7, 0x07, 0x00, 0x00), -1);    /* truncated immediate */
    cr_expect_eq(DEC(&d, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                     0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89, 0x07), -1); /* > 15 */
    cr_expect_eq(DEC(&d, 0xf0), -1);
}

/* ----------------------------------------------------------- MMU side --- */

#define VA_PT 0x0000000040201000ULL     /* L4 0, L3 1, L2 1, L1 slot 1 */

/* Kernel base L4 G(0) -> G(1) -> G(2) -> L1 G(3); G(3)[1] maps the L1
 * page G(4) read-only at VA_PT (the guest's linear view of its L1). */
static void ptwr_space(void)
{
    tab(G(0))[0] = pte(G(1), UP);
    tab(G(1))[1] = pte(G(2), UP);
    tab(G(2))[1] = pte(G(3), UP);
    tab(G(3))[1] = pte(G(4), P | US);
    tab(G(3))[2] = pte(G(8), P | US);               /* a data page, read-only */
    tab(G(3))[3] = pte(G(12), P | RW | US);         /* a data page, writable */
    tab(G(3))[4] = pte(G(2), P | US);               /* the L2, read-only */
    tab(G(4))[2] = pte(G(9), P | RW | US);
    cr_assert_eq(pin(G(4), 1), 0);
    cr_assert_eq(pin(G(0), 4), 0);
    cr_assert_eq(ext1(MMUEXT_NEW_BASEPTR, G(0).mfn, 0), 0);
}

static bool op_set(void *ctx, uint64_t old, uint64_t *nv) { (void)old; *nv = *(uint64_t *)ctx; return true; }
static bool op_and(void *ctx, uint64_t old, uint64_t *nv) { *nv = old & *(uint64_t *)ctx; return true; }
static bool op_miss(void *ctx, uint64_t old, uint64_t *nv) { (void)ctx; (void)old; (void)nv; return false; }

Test(ptwr, l1_entry_updated_with_mmu_update_checks)
{
    uint64_t v = pte(G(10), P | RW | US), old = 0;

    ptwr_space();
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 8, op_set, &v, &old), 0);
    cr_expect_eq(old, 0);
    cr_expect_eq(tab(G(4))[1] & (P | RW | US), P | RW | US);
    cr_expect_eq(tab(G(4))[1] & PTE_ADDR_MASK, G(10).mfn << 12);
    cr_expect_eq(F(G(10))->type, PGT_WRITABLE);
    cr_expect_eq(F(G(10))->type_count, 1);

    /* The new entry is checked like mmu_update's: a writable mapping of
     * a page table is refused and nothing changes (Xen: "could not
     * get_page_from_l1e()"). */
    v = pte(G(3), P | RW | US);
    cr_expect_neq(pv_mm_ptwr_rmw(VA_PT + 8, 8, op_set, &v, NULL), 0);
    cr_expect_eq(tab(G(4))[1] & PTE_ADDR_MASK, G(10).mfn << 12);
    /* A shim frame: refused. */
    v = pte(SHIM_FRAME, P | US);
    cr_expect_neq(pv_mm_ptwr_rmw(VA_PT + 8, 8, op_set, &v, NULL), 0);

    /* A sub-word store merges into the entry: clear RW with a byte AND
     * (Linux clear_bit); the writable type reference goes. */
    v = (uint8_t)~PTE_RW;
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 1, op_and, &v, &old), 0);
    cr_expect_eq(old & (P | RW | US), P | RW | US);
    cr_expect_eq(tab(G(4))[1] & PTE_RW, 0);
    cr_expect_eq(tab(G(4))[1] & PTE_ADDR_MASK, G(10).mfn << 12);
    cr_expect_eq(F(G(10))->type_count, 0);

    /* A failed cmpxchg stores nothing and reports the old value. */
    v = tab(G(4))[1];
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 8, op_miss, NULL, &old), 0);
    cr_expect_eq(old, v);
    cr_expect_eq(tab(G(4))[1], v);

    /* Clear everything: references dropped. */
    v = 0;
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 8, op_set, &v, NULL), 0);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 16, 8, op_set, &v, NULL), 0);
    cr_assert_eq(unpin(G(0)), 0);
    cr_assert_eq(unpin(G(4)), 0);
    pv_mm_vcpu_destroy(&mm_vcpu);
    cr_expect_eq(pv_mm_total_refs(), 0);
}

Test(ptwr, not_a_ptwr_case)
{
    uint64_t v = 0;

    ptwr_space();
    /* Alignment and size (Xen: "bad access"). */
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 12, 8, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 3, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 16, op_set, &v, NULL), -XEN_EINVAL);
    /* A read-only data page, an unmapped address, a writable mapping of
     * data page (not a write fault to emulate), the hypervisor range. */
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 0x1000, 8, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 0x5000, 8, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 0x2000, 8, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(pv_mm_ptwr_rmw(0xffff830000001000ULL, 8, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(tab(G(4))[2] & PTE_ADDR_MASK, G(9).mfn << 12);
    /* Only L1 pages: a write to the read-only mapped L2 is the guest's
     * #PF (Xen: PGT_l1_page_table only). */
    v = pte(G(13), UP);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 0x3000 + 16, 8, op_set, &v, NULL), -XEN_EINVAL);
    cr_expect_eq(tab(G(2))[2], 0);
    /* An L1 that is not in use (unpinned, unreferenced): not emulated. */
    tab(G(3))[1] = pte(G(5), P | US);
    cr_expect_eq(pv_mm_ptwr_rmw(VA_PT + 8, 8, op_set, &v, NULL), -XEN_EINVAL);
}

/* ------------------------------------------------------ the #PF hook --- */

#define PF_PW 3u    /* present | write */

Test(ptwr, fault_hook_emulates_and_advances)
{
    static const uint8_t xchg[] = { 0x48, 0x87, 0x07, 0x90 };       /* xchg %rax,(%rdi) */
    static const uint8_t cmpx[] = { 0xf0, 0x48, 0x0f, 0xb1, 0x17 }; /* lock cmpxchg %rdx,(%rdi) */
    static const uint8_t btr[] = { 0xf0, 0x48, 0x0f, 0xba, 0x37, 0x01 }; /* lock btrq $1,(%rdi) */
    struct cpu_regs r = { 0 };
    uint64_t e9;

    ptwr_space();
    pv_dom.vm_assist = 1UL << VMASST_TYPE_writable_pagetables;
    e9 = tab(G(4))[2];

    /* xchg: the old entry comes back in %rax, the new one is validated. */
    r.rip = (uint64_t)(uintptr_t)xchg;
    r.rax = pte(G(11), P | US);
    cr_expect(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, true));
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)xchg + 3);
    cr_expect_eq(r.rax, e9);
    cr_expect_eq(tab(G(4))[2] & PTE_ADDR_MASK, G(11).mfn << 12);
    cr_expect_eq(F(G(9))->type_count, 0);

    /* cmpxchg that misses: %rax gets the current value, ZF clear, entry
     * unchanged; then a hit: ZF set, stored. */
    r.rip = (uint64_t)(uintptr_t)cmpx;
    r.rax = 12345;
    r.rdx = 0;
    r.rflags = 0x2 | (1UL << 6);
    e9 = tab(G(4))[2];
    cr_expect(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, true));
    cr_expect_eq(r.rax, e9);
    cr_expect_eq(r.rflags & (1UL << 6), 0);
    cr_expect_eq(tab(G(4))[2], e9);
    r.rip = (uint64_t)(uintptr_t)cmpx;
    cr_expect(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, true));
    cr_expect_eq(r.rflags & (1UL << 6), 1UL << 6);
    cr_expect_eq(tab(G(4))[2], 0);

    /* btr on entry 1 (empty): CF = old bit = 0. */
    r.rip = (uint64_t)(uintptr_t)btr;
    r.rflags = 0x3;
    cr_expect(pv_ptwr_fault(&r, VA_PT + 8, PF_PW, true));
    cr_expect_eq(r.rflags & 1, 0);
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)btr + 6);
}

Test(ptwr, fault_hook_conditions)
{
    static const uint8_t mov[] = { 0x48, 0x89, 0x07 };
    static const uint8_t load[] = { 0x48, 0x8b, 0x07 };
    struct cpu_regs r = { 0 };
    uint64_t e9;

    ptwr_space();
    e9 = tab(G(4))[2];
    r.rip = (uint64_t)(uintptr_t)mov;
    r.rax = 0;
    /* Without VMASST_TYPE_writable_pagetables: the guest's own #PF. */
    pv_dom.vm_assist = 0;
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, true));
    pv_dom.vm_assist = 1UL << VMASST_TYPE_writable_pagetables;
    /* Guest user mode, a read, not-present, reserved bit, fetch. */
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, false));
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, 1, true));
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, 2, true));
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, PF_PW | 8, true));
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, PF_PW | 16, true));
    /* An instruction outside the subset. */
    r.rip = (uint64_t)(uintptr_t)load;
    cr_expect_not(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, true));
    cr_expect_eq(tab(G(4))[2], e9);
    cr_expect_eq(r.rip, (uint64_t)(uintptr_t)load);
    /* All conditions met: emulated. */
    r.rip = (uint64_t)(uintptr_t)mov;
    cr_expect(pv_ptwr_fault(&r, VA_PT + 16, PF_PW, true));
    cr_expect_eq(tab(G(4))[2], 0);
    pv_dom.vm_assist = 0;
}
