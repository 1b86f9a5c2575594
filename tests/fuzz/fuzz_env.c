/* See fuzz_env.h. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <minishim/bootinfo.h>
#include <minishim/layout.h>
#include <minishim/page_alloc.h>
#include <minishim/percpu.h>
#include <minishim/pv.h>
#include <minishim/pv_domain.h>
#include <minishim/pv_emul.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_pt.h>
#include <minishim/pv_time.h>
#include <minishim/pv_vcpu.h>
#include <minishim/xen-public.h>
#include <minishim/pv_console.h>
#include "../unit/fake/fake.h"
#include "fuzz_env.h"
#include "../unit/fake/elf_image.h"

size_t fuzz_build_image(uint8_t *img, size_t cap, const char *features)
{
    Elf64_Phdr *ph = elf_image_phdr(img, 0);
    uint64_t entry = FUZZ_KBASE + 0x100, hpage = FUZZ_KBASE + 0x1000;
    uint64_t vbase = FUZZ_KBASE, poff = 0;
    size_t off = 0x2000, start;

    if (cap < 0x2400)
        abort();
    elf_image_header(img, cap, entry, 2);
    ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = FUZZ_KBASE,
                          .p_paddr = 0, .p_filesz = 0x2000, .p_memsz = 0x3000 };
    memset(img + 0x100, 0x90, 16);
    start = off;
    off += elf_image_note(img, off, XEN_ELFNOTE_LOADER, "generic", 8);
    off += elf_image_note(img, off, XEN_ELFNOTE_XEN_VERSION, "xen-3.0", 8);
    off += elf_image_note(img, off, XEN_ELFNOTE_VIRT_BASE, &vbase, 8);
    off += elf_image_note(img, off, XEN_ELFNOTE_PADDR_OFFSET, &poff, 8);
    off += elf_image_note(img, off, XEN_ELFNOTE_ENTRY, &entry, 8);
    off += elf_image_note(img, off, XEN_ELFNOTE_HYPERCALL_PAGE, &hpage, 8);
    off += elf_image_note(img, off, XEN_ELFNOTE_FEATURES, features, (uint32_t)strlen(features) + 1);
    off += elf_image_note(img, off, XEN_ELFNOTE_PAE_MODE, "yes", 4);
    ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = start, .p_filesz = off - start };
    return off;
}

void fuzz_machine_reset(void)
{
    static struct boot_info bi;
    uint64_t *l4;

    fake_reset();
    fake_guest_fault_start = fake_guest_fault_end = 0;
    cpumask_clear(&cpu_online_mask);
    cpumask_set(&cpu_online_mask, 0);
    memset(percpu, 0, sizeof(percpu));
    memset(&bi, 0, sizeof(bi));
    bootinfo_add_memmap(&bi, 0, FAKE_MEM_SIZE, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0));
    /* The shim's own L4 (pv_m2p_init copies its reserved slots from the
     * live CR3): one shim frame with recognisable slot values. */
    l4 = (uint64_t *)(fake_mem + 0x100000);
    for (unsigned int s = L4_SLOT_FIRST_RESERVED; s <= L4_SLOT_LAST_RESERVED; s++)
        l4[s] = (0x101000ULL + s * PAGE_SIZE) | 0x63;
    arch_write_cr3(0x100000);
    if (pv_m2p_init())
        abort();
}

int fuzz_build_domain(const void *img, size_t size, const char *cmdline,
                      char *err, size_t errlen)
{
    struct pv_build_args a = { .image = img, .image_size = size,
                               .cmdline = cmdline, .nr_pages = FUZZ_NR_PAGES };
    struct vcpu *v;
    int rc;

    rc = pv_build_domain(&a, err, errlen);
    if (rc)
        return rc;
    rc = pv_mm_setup();
    if (rc) {
        /* The builder's own tables must always pass the PV MMU. */
        fprintf(stderr, "oracle: pv_mm_setup refused the builder's tables (%d)\n", rc);
        abort();
    }
    /* pv_run() up to the guest entry. */
    v = &pv_dom.vcpus[0];
    percpu[0].vcpu = v;
    pv_emul_io_reset();
    pv_vcpu_runstate_init();
    pv_console_init();
    pv_time_init();
    pv_time_vcpu_start(v);
    return 0;
}

/* ------------------------------------------------------------ oracle --- */

static uint32_t *exp_ref, *exp_type;
static unsigned long exp_frames;
static uint64_t want_slots[512];

static void __attribute__((noreturn)) fail(const char *what, unsigned long m, unsigned long extra)
{
    fprintf(stderr, "oracle: %s (frame %#lx, %#lx)\n", what, m, extra);
    abort();
}

static void expect(uint64_t e, unsigned int type, bool typed, unsigned long from)
{
    unsigned long t = (unsigned long)((e & PTE_ADDR_MASK) >> PAGE_SHIFT);
    const struct pv_frame *f;

    if (t >= exp_frames || !frame_is_guest(mfn(t)))
        fail("a validated entry maps a frame that is not the guest's", from, t);
    f = pv_mm_frame(mfn(t));
    exp_ref[t]++;
    if (typed) {
        exp_type[t]++;
        if (f->type != type || !f->type_count)
            fail("an entry's frame does not hold the type it needs", from, t);
    }
}

void fuzz_check_invariants(void)
{
    unsigned long n = page_alloc_max_mfn();

    if (n != exp_frames) {
        free(exp_ref);
        free(exp_type);
        exp_ref = calloc(n, sizeof(*exp_ref));
        exp_type = calloc(n, sizeof(*exp_type));
        exp_frames = n;
    }
    memset(exp_ref, 0, n * sizeof(*exp_ref));
    memset(exp_type, 0, n * sizeof(*exp_type));
    pv_init_xen_l4_slots(want_slots);

    for (unsigned long m = 0; m < n; m++) {
        const struct pv_frame *f = pv_mm_frame(mfn(m));
        const uint64_t *t;
        unsigned int level;

        if (!f)
            fail("no frame info", m, 0);
        if (f->flags & PV_FRAME_PINNED) {
            exp_ref[m]++;
            exp_type[m]++;
        }
        if (!f->type_count || f->type < PGT_L1 || f->type > PGT_L4)
            continue;
        if (!(f->flags & PV_FRAME_VALIDATED))
            fail("page table in use but not validated", m, 0);
        level = f->type - PGT_L1 + 1;
        t = arch_phys_to_virt(mfn_to_paddr(mfn(m)));
        for (unsigned int i = 0; i < 512; i++) {
            uint64_t e = t[i];
            unsigned long tg;

            if (level == 4 && i >= L4_SLOT_FIRST_RESERVED && i <= L4_SLOT_LAST_RESERVED) {
                if (e != want_slots[i])
                    fail("a shim L4 slot in a guest L4 changed", m, i);
                continue;
            }
            if (!(e & PTE_PRESENT))
                continue;
            tg = (unsigned long)((e & PTE_ADDR_MASK) >> PAGE_SHIFT);
            if (level == 1) {
                /* A writable mapping takes a PGT_WRITABLE type reference,
                 * so a page table / GDT frame can never be behind one. */
                expect(e, PGT_WRITABLE, e & PTE_RW, m);
                continue;
            }
            if (e & (PTE_PSE | PTE_GLOBAL))
                fail("upper entry with PSE/G", m, i);
            if (tg == m) {
                if (e & PTE_RW)
                    fail("writable linear self map", m, i);
                continue;
            }
            if (tg < n && pv_mm_frame(mfn(tg))->type == f->type &&
                pv_mm_frame(mfn(tg))->type_count) {
                if (e & PTE_RW)
                    fail("writable linear entry", m, i);
                expect(e, f->type, true, m);
            } else {
                expect(e, f->type - 1, true, m);
            }
        }
    }
    for (unsigned int i = 0; i < pv_dom.nr_vcpus; i++) {
        const struct pv_mm_vcpu_state *s = &pv_dom.vcpus[i].mm;

        if (s->kernel_l4.mfn) {
            if (s->kernel_l4.mfn >= n || pv_mm_frame(s->kernel_l4)->type != PGT_L4)
                fail("kernel base is not an L4", s->kernel_l4.mfn, i);
            exp_ref[s->kernel_l4.mfn]++;
            exp_type[s->kernel_l4.mfn]++;
        }
        if (s->user_l4.mfn) {
            if (s->user_l4.mfn >= n || pv_mm_frame(s->user_l4)->type != PGT_L4)
                fail("user base is not an L4", s->user_l4.mfn, i);
            exp_ref[s->user_l4.mfn]++;
            exp_type[s->user_l4.mfn]++;
        }
    }
    for (unsigned long m = 0; m < n; m++) {
        const struct pv_frame *f = pv_mm_frame(mfn(m));
        bool pt = f->type >= PGT_L1 && f->type <= PGT_L4 && f->type_count;

        if (!frame_is_guest(mfn(m))) {
            if (f->ref_count || f->type_count)
                fail("a frame the guest does not own holds a reference", m, f->ref_count);
            continue;
        }
        if (pt ? f->ref_count != exp_ref[m] : f->ref_count < exp_ref[m])
            fail("general reference count wrong", m, ((unsigned long)f->ref_count << 32) | exp_ref[m]);
        if (pt ? f->type_count != exp_type[m] : f->type_count < exp_type[m])
            fail("type count wrong", m, ((unsigned long)f->type_count << 32) | exp_type[m]);
        if (f->type_count > f->ref_count)
            fail("more type than general references", m, 0);
    }
}
