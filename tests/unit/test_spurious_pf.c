/*
 * The spurious #PF walker on page tables built in fake physical memory:
 * for each error-code bit, a fault the live tables allow (spurious: INVLPG
 * and restart) against one they forbid (genuine). Also: the walk runs with
 * interrupts off, leaves them as they were, and ignores CR3's low bits.
 */
#include <criterion/criterion.h>
#include <minishim/spurious_pf.h>
#include "test_flush_env.h"

#define L4_PA 0x100000ULL
#define L3_PA 0x101000ULL
#define L2_PA 0x102000ULL
#define L1_PA 0x103000ULL
#define PAGE_PA 0x200000ULL

/* VA 0x0000_4000_4020_3000: L4 slot 0x80, L3 slot 1, L2 slot 1, L1 slot 3. */
#define VA 0x0000400040203000ULL
#define VA_OFF 0x0000400040203abcULL

static uint64_t *table(uint64_t p) { return (uint64_t *)(fake_mem + p); }
static uint64_t *l4e(void) { return &table(L4_PA)[0x80]; }
static uint64_t *l3e(void) { return &table(L3_PA)[1]; }
static uint64_t *l2e(void) { return &table(L2_PA)[1]; }
static uint64_t *l1e(void) { return &table(L1_PA)[3]; }

#define ALL (PTE_PRESENT | PTE_RW | PTE_USER)

static void build(uint64_t f4, uint64_t f3, uint64_t f2, uint64_t f1)
{
    fake_reset();
    flush_stats_reset();
    *l4e() = L3_PA | f4;
    *l3e() = L2_PA | f3;
    *l2e() = L1_PA | f2;
    *l1e() = PAGE_PA | f1;
    arch_write_cr3(L4_PA);
    fake_nr_local_flushes = 0;
}

static bool spur(uint64_t ec)
{
    unsigned int inv = fake_nr_invlpg;
    bool r = spurious_page_fault(va(VA_OFF), ec);

    cr_assert_eq(fake_nr_invlpg - inv, r ? 1u : 0u, "INVLPG iff spurious");
    if (r)
        cr_assert_eq(fake_invlpg_log[(fake_nr_invlpg - 1) % FAKE_INVLPG_LOG], VA_OFF);
    cr_assert(fake_irqs_on, "interrupts restored");
    cr_assert_eq(fake_phys_access_irqs_on, 0, "page tables read with interrupts on");
    return r;
}

#define U PFEC_USER
#define W PFEC_WRITE
#define P PFEC_PRESENT
#define I PFEC_INSN

Test(spurious_pf, permitted_accesses_are_spurious)
{
    build(ALL, ALL, ALL, ALL);
    cr_assert(spur(U));                 /* not-present read: entry now present */
    cr_assert(spur(U | P));             /* protection read                     */
    cr_assert(spur(U | W | P));         /* write, RW everywhere                */
    cr_assert(spur(U | I));             /* fetch, no NX                        */
    struct flush_stats st;
    flush_stats_get(&st);
    cr_assert_eq(st.spurious_pf, 4);
}

Test(spurious_pf, not_present_at_any_level_is_genuine)
{
    build(ALL & ~PTE_PRESENT, ALL, ALL, ALL);
    cr_assert_not(spur(U));
    build(ALL, ALL & ~PTE_PRESENT, ALL, ALL);
    cr_assert_not(spur(U));
    build(ALL, ALL, ALL & ~PTE_PRESENT, ALL);
    cr_assert_not(spur(U));
    build(ALL, ALL, ALL, ALL & ~PTE_PRESENT);
    cr_assert_not(spur(U));
    cr_assert_not(spur(U | W));
}

Test(spurious_pf, write_needs_rw_at_every_level)
{
    build(ALL, ALL, ALL & ~PTE_RW, ALL);
    cr_assert_not(spur(U | W | P));
    cr_assert(spur(U | P), "a read is still allowed");
    build(ALL & ~PTE_RW, ALL, ALL, ALL);
    cr_assert_not(spur(U | W | P));
    build(ALL, ALL, ALL, ALL & ~PTE_RW);
    cr_assert_not(spur(W | P), "supervisor write too: CR0.WP is set");
}

Test(spurious_pf, user_needs_us_at_every_level)
{
    build(ALL, ALL & ~PTE_USER, ALL, ALL);
    cr_assert_not(spur(U | P));
    cr_assert(spur(P), "supervisor read of a supervisor page");
    cr_assert(spur(W | P));
    build(ALL, ALL, ALL, ALL & ~PTE_USER);
    cr_assert_not(spur(U));
}

Test(spurious_pf, supervisor_access_to_user_page)
{
    build(ALL, ALL, ALL, ALL);
    /* No SMEP/SMAP: the shim may touch guest pages (copy to/from guest). */
    cr_assert(spur(W | P));
    cr_assert(spur(I));
    fake_cr4 = X86_CR4_SMAP;
    cr_assert_not(spur(P), "may be SMAP (EFLAGS.AC unknown)");
    cr_assert(spur(I), "SMAP does not cover fetches");
    fake_cr4 = X86_CR4_SMEP;
    cr_assert_not(spur(I), "SMEP");
    cr_assert(spur(W | P));
}

Test(spurious_pf, fetch_needs_nx_clear_at_every_level)
{
    build(ALL | PTE_NX, ALL, ALL, ALL);
    cr_assert_not(spur(U | I));
    cr_assert(spur(U | P));
    build(ALL, ALL, ALL, ALL | PTE_NX);
    cr_assert_not(spur(U | I | P));
}

Test(spurious_pf, reserved_pk_shadow_stack_sgx_are_never_spurious)
{
    build(ALL, ALL, ALL, ALL);
    cr_assert_not(spur(U | P | PFEC_RSVD));
    cr_assert_not(spur(U | P | PFEC_PK));
    cr_assert_not(spur(U | P | PFEC_SHSTK));
    cr_assert_not(spur(U | P | PFEC_SGX));
}

Test(spurious_pf, large_pages_end_the_walk)
{
    /* 2 MiB page at L2: the L1 "table" is not read (leave it empty). */
    build(ALL, ALL, ALL | PTE_PSE, 0);
    *l2e() = 0x40000000ULL | ALL | PTE_PSE;
    cr_assert(spur(U | W | P));
    /* 1 GiB page at L3. */
    build(ALL, ALL | PTE_PSE, 0, 0);
    *l3e() = 0x40000000ULL | ALL | PTE_PSE;
    cr_assert(spur(U | W | P));
    *l3e() = 0x40000000ULL | (ALL & ~PTE_RW) | PTE_PSE;
    cr_assert_not(spur(U | W | P));
}

Test(spurious_pf, cr3_low_bits_are_ignored)
{
    build(ALL, ALL, ALL, ALL);
    arch_write_cr3(L4_PA | 0x5);        /* PCID 5 */
    cr_assert(spur(U | P));
}

Test(spurious_pf, non_canonical_address_is_genuine)
{
    build(ALL, ALL, ALL, ALL);
    cr_assert_not(spurious_page_fault(va(0x0000800000000000ULL), U));
    cr_assert_eq(fake_nr_invlpg, 0);
}

Test(spurious_pf, interrupts_stay_off_if_they_were)
{
    build(ALL, ALL, ALL, ALL);
    fake_irqs_on = false;
    cr_assert(spurious_page_fault(va(VA_OFF), U | P));
    cr_assert_not(fake_irqs_on);
}
