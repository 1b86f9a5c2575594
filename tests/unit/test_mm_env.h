/*
 * Shared set-up for the PV MMU unit tests (test_mm_*.c): 4096 frames of
 * fake physical memory, frames 0x100.. given to the guest except a few
 * the shim keeps, a guest virtual window backed by a host buffer for
 * hypercall arguments, two online CPUs running vCPUs 0 and 1.
 */
#ifndef TEST_MM_ENV_H
#define TEST_MM_ENV_H

#include <criterion/criterion.h>
#include <string.h>
#include <minishim/flush.h>
#include <minishim/layout.h>
#include <minishim/percpu.h>
#include <minishim/pv_mm.h>
#include <minishim/xen-public.h>
#include "fake/fake.h"
#include "fake/fake_ipi.h"

#define NR_FRAMES     (FAKE_MEM_SIZE >> PAGE_SHIFT)
#define GUEST_FIRST   0x100u
#define SHIM_FRAME    mfn(0x80)         /* a shim frame (page table, data) */
#define SHIM_HOLE     mfn(0x200)        /* a frame inside the guest range the shim kept */
#define GUEST_DOMID   7

/* Guest frame n (n from 0), never SHIM_HOLE. */
static inline mfn_t G(unsigned int n) { return mfn(0x300 + n); }

static struct pv_frame mm_frames[NR_FRAMES];
static uint64_t mm_shim_l4[512];
static unsigned long mm_m2p[NR_FRAMES];
static cpumask_t mm_dirty;
static struct pv_mm_vcpu_state mm_vcpu;

/* Guest virtual window for hypercall arguments. */
#define GBUF_VA   0x10000000ULL
#define GBUF_SIZE 0x10000u
static uint8_t gbuf[GBUF_SIZE];
static unsigned int nr_copy_faults;

static bool test_frame_is_guest(mfn_t m)
{
    return m.mfn >= GUEST_FIRST && m.mfn < NR_FRAMES && m.mfn != SHIM_HOLE.mfn;
}

static int test_copy_from(void *dst, uint64_t gva, size_t n)
{
    if (gva < GBUF_VA || gva + n > GBUF_VA + GBUF_SIZE || gva + n < gva) {
        nr_copy_faults++;
        return -XEN_EFAULT;
    }
    memcpy(dst, gbuf + (gva - GBUF_VA), n);
    return 0;
}

static int test_copy_to(uint64_t gva, const void *src, size_t n)
{
    if (gva < GBUF_VA || gva + n > GBUF_VA + GBUF_SIZE || gva + n < gva) {
        nr_copy_faults++;
        return -XEN_EFAULT;
    }
    memcpy(gbuf + (gva - GBUF_VA), src, n);
    return 0;
}

static const struct pv_mm_guest_ops test_guest_ops = { test_copy_from, test_copy_to };

static struct pv_mm_vcpu_state *test_current(void) { return &mm_vcpu; }

/* Descriptor-page validation stand-in: accepts unless told otherwise. */
static int seg_desc_rc;
static unsigned int nr_seg_desc_checks;
static int test_validate_seg_desc(void *page) { (void)page; nr_seg_desc_checks++; return seg_desc_rc; }

static unsigned int nr_ldt_changed;
static void test_ldt_changed(struct pv_mm_vcpu_state *v) { (void)v; nr_ldt_changed++; }

static void mm_setup(void)
{
    struct pv_mm_config c = {
        .frame_is_guest = test_frame_is_guest,
        .shim_l4 = mm_shim_l4,
        .dirty_mask = &mm_dirty,
        .max_vcpus = 2,
        .current_vcpu = test_current,
        .guest = &test_guest_ops,
        .m2p = mm_m2p,
        .ldt_changed = test_ldt_changed,
        .validate_seg_desc = test_validate_seg_desc,
        .domid = GUEST_DOMID,
    };

    fake_reset();
    fake_ipi_reset(true);
    flush_stats_reset();
    memset(gbuf, 0, sizeof(gbuf));
    memset(&mm_vcpu, 0, sizeof(mm_vcpu));
    nr_copy_faults = 0;
    nr_ldt_changed = 0;
    seg_desc_rc = 0;
    nr_seg_desc_checks = 0;
    for (unsigned int i = 0; i < 512; i++)
        mm_shim_l4[i] = (i >= 256 && i <= 271) ? (0x5000ULL + i) << 12 | 0x63 : 0;
    cpumask_clear(&cpu_online_mask);
    cpumask_set(&cpu_online_mask, 0);
    cpumask_set(&cpu_online_mask, 1);
    cpumask_clear(&mm_dirty);
    cpumask_set(&mm_dirty, 0);
    cpumask_set(&mm_dirty, 1);
    cr_assert_eq(pv_mm_init(mm_frames, NR_FRAMES, &c), 0);
}

static inline uint64_t *tab(mfn_t m) { return (uint64_t *)(fake_mem + (m.mfn << PAGE_SHIFT)); }
static inline uint64_t pte(mfn_t m, uint64_t flags) { return (m.mfn << PAGE_SHIFT) | flags; }

#define P   PTE_PRESENT
#define RW  PTE_RW
#define US  PTE_USER
#define UP  (PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED)   /* upper-level entry */

static inline const struct pv_frame *F(mfn_t m) { return pv_mm_frame(m); }

/* One mmu_update request through the guest window; done count in *done. */
static inline long mmu1(uint64_t ptr, uint64_t val, unsigned int *done)
{
    uint64_t req[2] = { ptr, val };
    unsigned int d = 0xdead;
    long rc;

    memcpy(gbuf, req, sizeof(req));
    memcpy(gbuf + 0x8000, &d, 4);
    rc = do_mmu_update(GBUF_VA, 1, GBUF_VA + 0x8000, DOMID_SELF);
    if (done)
        memcpy(done, gbuf + 0x8000, 4);
    return rc;
}

/* Normal update of entry slot of table m. */
static inline long set_entry(mfn_t m, unsigned int slot, uint64_t val)
{
    return mmu1((m.mfn << PAGE_SHIFT) + slot * 8 + MMU_NORMAL_PT_UPDATE, val, NULL);
}

struct ext { uint32_t cmd, pad; uint64_t arg1, arg2; };

static inline long ext1(uint32_t cmd, uint64_t arg1, uint64_t arg2)
{
    struct ext op = { cmd, 0, arg1, arg2 };

    memcpy(gbuf, &op, sizeof(op));
    return do_mmuext_op(GBUF_VA, 1, 0, DOMID_SELF);
}

static inline long pin(mfn_t m, unsigned int level)
{
    return ext1(MMUEXT_PIN_L1_TABLE + level - 1, m.mfn, 0);
}

static inline long unpin(mfn_t m) { return ext1(MMUEXT_UNPIN_TABLE, m.mfn, 0); }

static inline uint64_t nr_flush_calls(void)
{
    struct flush_stats s;
    uint64_t n = 0;

    flush_stats_get(&s);
    for (unsigned int r = 0; r < FLUSH_NR_REASONS; r++)
        n += s.reason[r];
    return n;
}

static inline uint64_t nr_flush_reason(enum flush_reason r)
{
    struct flush_stats s;

    flush_stats_get(&s);
    return s.reason[r];
}

#endif
