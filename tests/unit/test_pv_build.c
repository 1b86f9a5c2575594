/* PV domain builder: note rules, layout, hypercall page, start_info and
 * the initial page tables, on hand-built guest images in fake RAM. */
#include <criterion/criterion.h>
#include <elf.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <minishim/console.h>
#include <minishim/page_alloc.h>
#include <minishim/pv_domain.h>
#include <minishim/pv_sched.h>
#include <minishim/pv_pt.h>
#include <minishim/xen-public.h>
#include <minishim/pv_console.h>
#include <minishim/pv_evtchn.h>
#include "fake/elf_image.h"
#include <xen/event_channel.h>
#include <xen/io/console.h>
#include "fake/fake.h"
#include "fake/fake_console.h"

#define KBASE 0xffffffff80000000ULL

static uint8_t img[16384];
static size_t img_size;
static char err[256];
static struct boot_info bi;

static Elf64_Phdr *ph(int i) { return elf_image_phdr(img, (unsigned int)i); }

static size_t note_at(size_t off, uint32_t type, const void *desc, uint32_t len)
{
    return elf_image_note(img, off, type, desc, len);
}

/* A guest like tests/guests: LOAD at KBASE (paddr 0), 0x3000 in memory
 * (0x2000 in the file, so 0x1000 of bss), hypercall page at KBASE+0x1000. */
/* VIRT_BASE note value when non-zero (else KBASE). */
static uint64_t vbase_note;

static void build_image(const char *features, const char *xenver, bool with_hcall)
{
    uint64_t entry = KBASE + 0x100, hpage = KBASE + 0x1000, poff = 0;
    uint64_t vbase = vbase_note ? vbase_note : KBASE;
    size_t off = 0x2000, start;

    elf_image_header(img, sizeof(img), entry, 2);
    *ph(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = KBASE,
                           .p_paddr = 0, .p_filesz = 0x2000, .p_memsz = 0x3000 };
    memset(img + 0x100, 0x90, 16);          /* "code" at the entry */
    memset(img + 0x1000, 0x5a, 0x1000);     /* hypercall page, overwritten */
    start = off;
    off += note_at(off, XEN_ELFNOTE_LOADER, "generic", 8);
    off += note_at(off, XEN_ELFNOTE_XEN_VERSION, xenver, (uint32_t)strlen(xenver) + 1);
    off += note_at(off, XEN_ELFNOTE_VIRT_BASE, &vbase, 8);
    off += note_at(off, XEN_ELFNOTE_PADDR_OFFSET, &poff, 8);
    off += note_at(off, XEN_ELFNOTE_ENTRY, &entry, 8);
    if (with_hcall)
        off += note_at(off, XEN_ELFNOTE_HYPERCALL_PAGE, &hpage, 8);
    off += note_at(off, XEN_ELFNOTE_FEATURES, features, (uint32_t)strlen(features) + 1);
    off += note_at(off, XEN_ELFNOTE_PAE_MODE, "yes", 4);
    *ph(1) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = start, .p_filesz = off - start };
    img_size = off;
}

static void setup(void)
{
    fake_reset();
    memset(&bi, 0, sizeof(bi));
    bootinfo_add_memmap(&bi, 0, FAKE_MEM_SIZE, XEN_HVM_MEMMAP_TYPE_RAM);
    page_alloc_init(&bi, pa(0x200000), pa(0x240000), pa(0));
    cr_assert_eq(pv_m2p_init(), 0);
    build_image("!writable_page_tables|pae_pgdir_above_4gb", "xen-3.0", true);
    err[0] = '\0';
}

TestSuite(pv_build, .init = setup);

static int parms(struct pv_parms *p)
{
    struct elf_image e;
    struct xen_notes n;

    cr_assert_eq(elf_check(img, img_size, &e, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(elf_xen_notes(&e, &n, err, sizeof(err)), 0, "%s", err);
    return pv_parms_from_notes(&e, &n, p, err, sizeof(err));
}

Test(pv_build, features_as_libelf)
{
    uint32_t sup, req;

    cr_expect_eq(pv_parse_features("!writable_page_tables|pae_pgdir_above_4gb", &sup, &req), 0);
    cr_expect_eq(sup, (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_pae_pgdir_above_4gb));
    cr_expect_eq(req, 1u << XENFEAT_writable_page_tables);
    cr_expect_eq(pv_parse_features("frobnicate|dom0", &sup, &req), 0,
                 "an unknown optional feature is ignored");
    cr_expect_eq(sup, 1u << XENFEAT_dom0);
    cr_expect_eq(pv_parse_features("!frobnicate", &sup, &req), -XEN_EINVAL);
    cr_expect_eq(pv_parse_features("", &sup, &req), 0);
    cr_expect_eq(sup | req, 0);
}

Test(pv_build, notes_to_parms)
{
    struct pv_parms p;

    cr_assert_eq(parms(&p), 0, "%s", err);
    cr_expect_eq(p.virt_base, KBASE);
    cr_expect_eq(p.virt_kstart, KBASE);
    cr_expect_eq(p.virt_kend, KBASE + 0x3000);
    cr_expect_eq(p.virt_entry, KBASE + 0x100);
    cr_expect(p.has_hypercall);
    cr_expect_eq(p.virt_hypercall, KBASE + 0x1000);
    cr_expect(p.pae_extcr3);
}

Test(pv_build, refuses_bad_notes)
{
    struct pv_parms p;

    build_image("!auto_translated_physmap", "xen-3.0", true);
    cr_expect_eq(parms(&p), -XEN_EINVAL);
    cr_expect(strstr(err, "auto_translated_physmap"), "%s", err);

    build_image("!no_such_feature", "xen-3.0", true);
    cr_expect_eq(parms(&p), -XEN_EINVAL);

    build_image("", "xen-2.0", true);
    cr_expect_eq(parms(&p), -XEN_EINVAL);
    cr_expect(strstr(err, "xen-3.0"), "%s", err);

    /* Found by tests/fuzz (fuzz_elf): an unaligned VIRT_BASE put the P2M
     * at an unaligned address in the initial mapping. */
    vbase_note = KBASE - 0x800;
    build_image("", "xen-3.0", true);
    cr_expect_eq(parms(&p), -XEN_EINVAL);
    cr_expect(strstr(err, "VIRT_BASE"), "%s", err);
    vbase_note = 0;
}

Test(pv_build, layout_like_dom0_build)
{
    struct pv_parms p;
    struct pv_layout l;

    cr_assert_eq(parms(&p), 0);
    cr_assert_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(l.v_start, KBASE);
    cr_expect_eq(l.vphysmap_start, KBASE + 0x3000, "P2M right after the kernel");
    cr_expect_eq(l.vphysmap_end, l.vphysmap_start + 2048 * 8);
    cr_expect_eq(l.vstartinfo_start, ALIGN_UP(l.vphysmap_end, PAGE_SIZE));
    cr_expect_eq(l.vxenstore_start, l.vstartinfo_start + PAGE_SIZE);
    cr_expect_eq(l.vconsole_start, l.vxenstore_start + PAGE_SIZE);
    cr_expect_eq(l.vpt_start, l.vconsole_start + PAGE_SIZE);
    /* L4 + one L3 + one L2 + one L1 cover a 4 MiB mapping in one 2 MiB-
     * aligned gigabyte: 4 would do, the search starts at 2 and stops at
     * the first count that fits. */
    cr_expect_eq(l.nr_pt_pages, 5, "nr_pt_pages %lu", l.nr_pt_pages);
    cr_expect_eq(l.vstack_start, l.vpt_end);
    cr_expect_eq(l.v_end & ((1UL << 22) - 1), 0, "v_end 4 MiB aligned");
    cr_expect_geq(l.v_end - l.vstack_end, 512UL << 10, "at least 512 KiB padding");

    /* An initrd goes between kernel and P2M. */
    cr_assert_eq(pv_compute_layout(&p, 2048, 5000, &l, err, sizeof(err)), 0);
    cr_expect_eq(l.vinitrd_start, KBASE + 0x3000);
    cr_expect_eq(l.vphysmap_start, KBASE + 0x3000 + 0x2000);
}

Test(pv_build, layout_refusals)
{
    struct pv_parms p;
    struct pv_layout l;

    cr_assert_eq(parms(&p), 0);
    cr_expect_eq(pv_compute_layout(&p, 512, 0, &l, err, sizeof(err)), -XEN_ENOMEM,
                 "512 pages cannot hold a 4 MiB initial mapping");
    p.virt_hypercall = KBASE + 0x1800;
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL,
                 "unaligned hypercall page");
    p.virt_hypercall = 0x1000;
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL,
                 "hypercall page outside the mapping");
    p.virt_hypercall = KBASE + 0x5000;      /* inside the mapping: P2M area */
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL,
                 "hypercall page over the builder's own data");
    cr_assert_eq(parms(&p), 0);
    p.virt_base = p.virt_kstart = 0xffff840000000000ULL;
    p.virt_kend = p.virt_kstart + 0x3000;
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL,
                 "inside the hypervisor range");
    cr_expect(strstr(err, "hypervisor"), "%s", err);
}

Test(pv_build, hypercall_page_bytes)
{
    static uint8_t page[4096];
    static const uint8_t e1[] = { 0x51, 0x41, 0x53, 0xb8, 1, 0, 0, 0, 0x0f, 0x05,
                                  0x41, 0x5b, 0x59, 0xc3 };
    static const uint8_t iret[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05 };

    pv_write_hypercall_page(page);
    cr_expect_arr_eq(page + 32, e1, sizeof(e1));
    cr_expect_arr_eq(page + 23 * 32, iret, sizeof(iret));
    cr_expect_eq(page + 32 + sizeof(e1) < page + 64 ? page[32 + sizeof(e1)] : 0, 0xcc);
    cr_expect_eq(page[23 * 32 + sizeof(iret)], 0xcc, "nothing after the iret syscall");
}

/* Walk the guest tables (machine addresses are fake RAM offsets). */
static uint64_t walk(uint64_t cr3, uint64_t v, uint64_t *flags)
{
    uint64_t e = cr3 | PTE_PRESENT | PTE_RW | PTE_USER;
    uint64_t f = PTE_RW | PTE_USER;
    unsigned int shifts[4] = { L4_SHIFT, L3_SHIFT, L2_SHIFT, L1_SHIFT };

    for (unsigned int i = 0; i < 4; i++) {
        uint64_t *t = arch_phys_to_virt(pa(e & PTE_ADDR_MASK));

        e = t[PT_INDEX(v, shifts[i])];
        if (!(e & PTE_PRESENT))
            return ~0ULL;
        f &= e;
    }
    *flags = f;
    return e & PTE_ADDR_MASK;
}

Test(pv_build, builds_domain)
{
    struct pv_build_args a = { .image = img, .image_size = img_size,
                               .cmdline = "console=hvc0", .nr_pages = 2048 };
    const struct start_info *si;
    const struct vcpu *v = &pv_dom.vcpus[0];
    const unsigned long *p2m;
    uint64_t flags, cr3, m;
    const uint8_t *k;

    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    cr3 = v->guest_table;
    cr_expect_eq(v->regs.rip, KBASE + 0x100);
    cr_expect_eq(v->regs.cs, FLAT_KERNEL_CS);
    cr_expect_eq(v->regs.ss, FLAT_KERNEL_SS);
    si = pv_initial_va_to_ptr(v->regs.rsi);
    cr_assert_not_null(si);
    cr_expect_str_eq(si->magic, "xen-3.0-x86_64");
    cr_expect_eq(si->nr_pages, 2048);
    cr_expect_eq(si->pt_base, v->regs.rsi + 3 * PAGE_SIZE);
    cr_expect_eq(si->pt_base, ALIGN_DOWN(si->pt_base, PAGE_SIZE));
    cr_expect_eq(si->nr_pt_frames, 5);
    cr_expect_eq(v->regs.rsp, si->pt_base + (si->nr_pt_frames + 1) * PAGE_SIZE);
    cr_expect_eq(si->shared_info, mfn_to_paddr(pv_dom.shared_info_mfn).pa);
    cr_expect_eq(pv_dom.shared_info->vcpu_info[0].evtchn_upcall_mask, 1);
    cr_expect_str_eq((const char *)si->cmd_line, "console=hvc0");
    cr_expect_eq(si->flags, 0, "not privileged, not the initial domain");

    /* P2M and M2P agree; all guest frames owned by the guest. */
    p2m = pv_initial_va_to_ptr(si->mfn_list);
    cr_assert_not_null(p2m);
    for (unsigned long pfn = 0; pfn < 2048; pfn++) {
        cr_assert(frame_is_guest(mfn(p2m[pfn])), "pfn %lu", pfn);
        cr_assert_eq(pv_m2p[p2m[pfn]], pfn);
    }

    /* Kernel loaded, bss zeroed, hypercall page written. */
    k = pv_initial_va_to_ptr(KBASE);
    cr_expect_eq(k[0x100], 0x90);
    cr_expect_eq(k[0x2000], 0);
    cr_expect_eq(k[0x1000 + 32], 0x51);

    /* The tables map the start_info page to its frame, user + writable;
     * the page-table pages read-only; slot 256 user-readable RO M2P. */
    m = walk(cr3, si->pt_base - 3 * PAGE_SIZE, &flags);
    cr_expect_eq(m, mfn_to_paddr(mfn(p2m[(si->pt_base - 3 * PAGE_SIZE - KBASE) >> 12])).pa);
    cr_expect_eq(flags & (PTE_USER | PTE_RW), PTE_USER | PTE_RW);
    m = walk(cr3, si->pt_base, &flags);
    cr_expect_eq(m, cr3, "pt_base maps the L4 itself");
    cr_expect_eq(flags & PTE_RW, 0, "page tables are mapped read-only");
    cr_expect_eq(walk(cr3, 0x1000, &flags), ~0ULL, "nothing below the kernel");
    {
        uint64_t *l4 = arch_phys_to_virt(pa(cr3));

        cr_expect_eq(l4[256] & (PTE_PRESENT | PTE_USER | PTE_RW),
                     PTE_PRESENT | PTE_USER, "RO_MPT: present, user, read-only");
        m = walk(cr3, 0xFFFF800000000000ULL + 8 * p2m[0], &flags);
        cr_expect_neq(m, ~0ULL, "M2P entry of pfn 0 is mapped");
        cr_expect_eq(flags & PTE_RW, 0);
    }
}

Test(pv_build, refuses_bad_images)
{
    struct pv_build_args a = { .image = img, .image_size = 40, .nr_pages = 2048 };

    cr_expect_eq(pv_build_domain(&a, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "too small"), "%s", err);
    build_image("!hvm_callback_vector", "xen-3.0", true);
    a.image_size = img_size;
    cr_expect_eq(pv_build_domain(&a, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "hvm_callback_vector"), "%s", err);
    build_image("", "xen-3.0", true);
    a.nr_pages = 1u << 20;      /* more than fake RAM */
    cr_expect_eq(pv_build_domain(&a, err, sizeof(err)), -XEN_ENOMEM, "%s", err);
}

/* A built domain (2048 pages) with event channels reset and the PV
 * console up: its ring, and its port in *port. */
static struct xencons_interface *console_domain(evtchn_port_t *port)
{
    struct pv_build_args a = { .image = img, .image_size = img_size,
                               .nr_pages = 2048 };

    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    pv_evtchn_reset();
    pv_console_init();
    *port = pv_dom.console_port;
    cr_assert_neq(*port, 0);
    return arch_phys_to_virt(mfn_to_paddr(pv_dom.console_mfn));
}

/* The shim is the PV console backend: it drains the ring when the guest
 * notifies, then notifies the guest back like Xen's pv-shim does
 * (consoled_guest_rx(): pv_shim_inject_evtchn() once output was consumed,
 * nothing when the ring was empty). */
Test(pv_build, console_backend_notifies_guest)
{
    struct xencons_interface *ring;
    struct shared_info *sh;
    struct evtchn_send snd;
    evtchn_port_t port;

    ring = console_domain(&port);
    sh = pv_dom.shared_info;
    memcpy(ring->out, "hi\n", 3);
    ring->out_prod = 3;
    snd.port = port;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, (uint64_t)(uintptr_t)&snd), 0);
    cr_expect_eq(ring->out_cons, 3, "output consumed");
    cr_expect(sh->evtchn_pending[port / 64] & (1UL << (port % 64)),
              "console port pending after the backend consumed output");
    cr_expect_eq(sh->vcpu_info[0].evtchn_upcall_pending, 1, "port unmasked");

    /* Empty ring: nothing consumed, no notification. */
    sh->evtchn_pending[port / 64] = 0;
    cr_expect_eq(do_event_channel_op(EVTCHNOP_send, (uint64_t)(uintptr_t)&snd), 0);
    cr_expect_eq(sh->evtchn_pending[port / 64] & (1UL << (port % 64)), 0);
}

/* One guest vCPU per shim CPU the MADT lists, capped at the
 * vcpu_info slots of shared_info; vCPUs but 0 start down, uninitialised. */
Test(pv_build, one_vcpu_per_shim_cpu)
{
    struct pv_build_args a = { .image = img, .image_size = img_size,
                               .cmdline = "", .nr_pages = 2048 };
    unsigned int saved = nr_cpus_possible;

    nr_cpus_possible = 3;
    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    nr_cpus_possible = saved;
    cr_expect_eq(pv_dom.nr_vcpus, 3);
    cr_expect(pv_dom.vcpus[0].initialised);
    cr_expect_not(pv_dom.vcpus[0].down);
    for (unsigned int i = 1; i < 3; i++) {
        cr_expect_eq(pv_dom.vcpus[i].id, i);
        cr_expect(pv_dom.vcpus[i].down, "vCPU %u starts down", i);
        cr_expect_not(pv_dom.vcpus[i].initialised);
        cr_expect_eq(pv_dom.vcpus[i].vcpu_info, &pv_dom.shared_info->vcpu_info[i]);
    }
}

/* ------------------------------------------------ XEN_ELFNOTE_INIT_P2M --- */

#define P2M_BASE 0x0000008000000000ULL   /* Linux's: L4 slot 1 */

static void add_init_p2m_note(uint64_t base)
{
    size_t n = note_at(img_size, XEN_ELFNOTE_INIT_P2M, &base, 8);

    ph(1)->p_filesz += n;
    img_size += n;
}

Test(pv_build, init_p2m_layout)
{
    struct pv_parms p;
    struct pv_layout l;

    add_init_p2m_note(P2M_BASE);
    cr_assert_eq(parms(&p), 0);
    cr_expect_eq(p.p2m_base, P2M_BASE);
    cr_assert_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(l.vphysmap_start, P2M_BASE);
    cr_expect_eq(l.vphysmap_end, P2M_BASE + 2048 * 8);
    cr_expect_eq(l.vstartinfo_start, KBASE + 0x3000, "no P2M in the initial mapping");
    cr_expect_eq(l.nr_p2m_pages, 4);
    cr_expect_eq(l.nr_p2m_tables, 3, "a new L3, L2 and L1 in L4 slot 1");

    /* Refused: hypervisor range, over the initial mapping, unaligned,
     * non-canonical, too little memory for the P2M frames. */
    p.p2m_base = 0xffff830000000000ULL;
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "hypervisor"), "%s", err);
    p.p2m_base = KBASE + 0x200000;
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "initial mapping"), "%s", err);
    p.p2m_base = P2M_BASE + 8;
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL);
    p.p2m_base = 0x00007ffffffff000ULL;         /* runs into the hole */
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "not canonical"), "%s", err);
    p.p2m_base = 0x0000900000000000ULL;         /* starts in the hole */
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), -XEN_EINVAL);
    cr_expect(strstr(err, "not canonical"), "%s", err);
    p.p2m_base = 0xffff900000000000ULL;         /* upper half, above Xen's range */
    cr_expect_eq(pv_compute_layout(&p, 2048, 0, &l, err, sizeof(err)), 0, "%s", err);
    p.p2m_base = P2M_BASE;
    cr_expect_eq(pv_compute_layout(&p, 1024 + 4, 0, &l, err, sizeof(err)), -XEN_ENOMEM);
    /* Inside the kernel image: libelf refuses it already. */
    build_image("!writable_page_tables", "xen-3.0", true);
    add_init_p2m_note(KBASE + 0x1000);
    cr_expect_eq(parms(&p), -XEN_EINVAL);
}

Test(pv_build, init_p2m_mapped_and_reported)
{
    struct pv_build_args a = { .image = img, .image_size = img_size, .nr_pages = 2048 };
    const struct start_info *si;
    uint64_t flags, cr3, m;
    unsigned long count;

    add_init_p2m_note(P2M_BASE);
    a.image_size = img_size;
    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    cr3 = pv_dom.vcpus[0].guest_table;
    si = pv_initial_va_to_ptr(pv_dom.vcpus[0].regs.rsi);
    cr_assert_not_null(si);
    count = (pv_dom.virt_end - pv_dom.virt_start) >> PAGE_SHIFT;
    cr_expect_eq(si->mfn_list, P2M_BASE);
    cr_expect_eq(si->first_p2m_pfn, count);
    cr_expect_eq(si->nr_p2m_frames, 4 + 3);
    cr_expect_null(pv_initial_va_to_ptr(P2M_BASE));
    /* Each P2M page is guest pfn first_p2m_pfn + i, mapped writable at
     * P2M_BASE + i pages, and holds the list the M2P agrees with. */
    for (unsigned int i = 0; i < 4; i++) {
        unsigned long pfn = count + i;
        const unsigned long *page;

        m = walk(cr3, P2M_BASE + i * PAGE_SIZE, &flags);
        cr_assert_eq(m, mfn_to_paddr(mfn(pv_dom.p2m[pfn])).pa, "page %u", i);
        cr_expect_eq(flags & (PTE_RW | PTE_USER), PTE_RW | PTE_USER);
        page = arch_phys_to_virt(pa(m));
        for (unsigned int j = 0; j < 512; j++) {
            cr_assert_eq(page[j], pv_dom.p2m[i * 512 + j]);
            cr_assert_eq(pv_m2p[page[j]], i * 512 + j);
        }
    }
    cr_expect_eq(walk(cr3, P2M_BASE + 4 * PAGE_SIZE, &flags), ~0ULL, "nothing after it");
    /* The three table frames are the next guest pfns. */
    {
        uint64_t *l4 = arch_phys_to_virt(pa(cr3));

        cr_expect_eq(l4[1] & PTE_ADDR_MASK, mfn_to_paddr(mfn(pv_dom.p2m[count + 4])).pa);
    }
}

/* Output the guest left in its console ring without notifying (a panic
 * on a vCPU that died first) is shown when it shuts down, half line
 * included: the ring is consumed before the shim stops. */
Test(pv_build, console_drained_at_shutdown)
{
    struct sched_shutdown sd = { .reason = SHUTDOWN_crash };
    struct xencons_interface *ring;
    evtchn_port_t port;
    jmp_buf jb;

    ring = console_domain(&port);
    memcpy(ring->out, "Kernel panic\nhalf", 17);
    ring->out_prod = 17;
    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0)
        do_sched_op(SCHEDOP_shutdown, (uint64_t)(uintptr_t)&sd);
    fake_halt_jmp = NULL;
    cr_expect_eq(ring->out_cons, 17, "ring drained before the shutdown");
}

/* Console input: bytes a console source has go to the guest ring's in[]
 * side, only as many as there is room for (the rest stays with the
 * source), and the guest's console port is raised. */
static const char *input_src;
static size_t input_left;

static size_t fake_input(char *buf, size_t len)
{
    size_t n = len < input_left ? len : input_left;

    memcpy(buf, input_src, n);
    input_src += n;
    input_left -= n;
    return n;
}

Test(pv_build, console_input_fills_in_ring)
{
    struct pv_build_args a = { .image = img, .image_size = img_size,
                               .nr_pages = 2048 };
    struct xencons_interface *ring;
    evtchn_port_t port;

    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    pv_evtchn_reset();
    pv_console_init();
    port = pv_dom.console_port;
    cr_assert_neq(port, 0);
    pv_dom.shared_info->evtchn_mask[port / 64] |= 1UL << (port % 64);
    ring = arch_phys_to_virt(mfn_to_paddr(pv_dom.console_mfn));
    console_remove_all_sources();
    cr_assert(console_add_source("test", fake_input));
    input_src = "hello\n";
    input_left = 6;
    pv_console_poll_input();
    cr_expect_eq(ring->in_prod, 6);
    cr_expect_eq(memcmp(ring->in, "hello\n", 6), 0);
    cr_expect(pv_evtchn_is_pending(port), "the guest's console port is raised");
    /* The guest has read 2 of them; 1,020 bytes of room, the rest waits. */
    ring->in_cons = 2;
    {
        static char big[1500];

        memset(big, 'x', sizeof(big));
        input_src = big;
        input_left = sizeof(big);
        for (int i = 0; i < 100; i++)
            pv_console_poll_input();
        cr_expect_eq(ring->in_prod, 2 + sizeof(ring->in));
        cr_expect_eq(input_left, sizeof(big) - (sizeof(ring->in) - 4),
                     "bytes beyond the room stay with the source");
    }
    /* A corrupt in_cons (more than a ring behind): nothing taken. */
    ring->in_cons = ring->in_prod - sizeof(ring->in) - 1;
    input_left = 5;
    pv_console_poll_input();
    cr_expect_eq(input_left, 5);
    console_remove_all_sources();
}

/* Two vCPUs notify the console port at once (Linux's printk on one CPU,
 * a tty write to hvc0 on another): the ring is drained once, every line
 * shown exactly once and whole. Without the backend's lock both drained
 * the same bytes and raced on the line buffer. */
#define RACE_LINES 50

static pthread_barrier_t race_start;

static void *console_kicker(void *arg)
{
    fake_cpu_id = (unsigned int)(uintptr_t)arg;
    pthread_barrier_wait(&race_start);
    pv_console_kick();
    return NULL;
}

Test(pv_build, console_backend_smp_kicks_drain_once)
{
    struct xencons_interface *ring;
    unsigned int bad_rounds = 0;
    XENCONS_RING_IDX prod;
    evtchn_port_t port;

    ring = console_domain(&port);
    /* Masked: the notification sets the port pending, no upcall. */
    pv_dom.shared_info->evtchn_mask[port / 64] |= 1UL << (port % 64);
    console_remove_all_sinks();
    fake_console_capture();
    prod = 0;
    for (unsigned int round = 0; round < 200; round++) {
        char line[32];
        pthread_t th[2];
        unsigned int seen = 0;

        for (unsigned int l = 0; l < RACE_LINES; l++) {
            int n = snprintf(line, sizeof(line), "r%03u-l%02u\n", round, l);

            for (int i = 0; i < n; i++, prod++)
                ring->out[MASK_XENCONS_IDX(prod, ring->out)] = line[i];
        }
        fake_console_out[0] = '\0';
        __atomic_store_n(&ring->out_prod, prod, __ATOMIC_RELEASE);
        pthread_barrier_init(&race_start, NULL, 2);
        for (unsigned int c = 0; c < 2; c++)
            pthread_create(&th[c], NULL, console_kicker, (void *)(uintptr_t)c);
        for (unsigned int c = 0; c < 2; c++)
            pthread_join(th[c], NULL);
        pthread_barrier_destroy(&race_start);
        fake_cpu_id = 0;
        cr_assert_eq(ring->out_cons, prod, "round %u: ring drained", round);
        for (unsigned int l = 0; l < RACE_LINES; l++) {
            const char *at = fake_console_out;
            unsigned int count = 0;

            snprintf(line, sizeof(line), "r%03u-l%02u\n", round, l);
            while ((at = strstr(at, line))) {
                count++;
                at++;
            }
            seen += count == 1;
        }
        /* Nothing but the round's lines: no duplicate, no torn line. */
        if (seen != RACE_LINES || strlen(fake_console_out) != RACE_LINES * 9u)
            bad_rounds++;
    }
    cr_expect_eq(bad_rounds, 0, "%u of 200 rounds showed a line twice, torn or lost",
                 bad_rounds);
}

/* ------------------------------------------ initrd, XEN_ELFNOTE_MOD_START_PFN --- */

static uint8_t initrd[5000];

static void add_mod_start_pfn_note(void)
{
    uint64_t one = 1;
    size_t n = note_at(img_size, XEN_ELFNOTE_MOD_START_PFN, &one, 8);

    ph(1)->p_filesz += n;
    img_size += n;
}

static void fill_initrd(void)
{
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 7 + 3);
}

/* Without the note the initrd is in the initial mapping after the kernel
 * and mod_start is its virtual address (dom0_build.c). */
Test(pv_build, initrd_mapped)
{
    struct pv_build_args a = { .image = img, .image_size = img_size, .nr_pages = 2048,
                               .initrd = initrd, .initrd_size = sizeof(initrd) };
    const struct start_info *si;

    fill_initrd();
    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    si = pv_initial_va_to_ptr(pv_dom.vcpus[0].regs.rsi);
    cr_assert_not_null(si);
    cr_expect_eq(si->mod_start, KBASE + 0x3000);
    cr_expect_eq(si->mod_len, sizeof(initrd));
    cr_expect_eq(si->flags & SIF_MOD_START_PFN, 0);
    cr_expect(!memcmp(pv_initial_va_to_ptr(si->mod_start), initrd, sizeof(initrd)));
}

/* With MOD_START_PFN (Linux sets it) and INIT_P2M: the initrd is the
 * pfns right after the initial mapping, unmapped, the P2M frames follow,
 * mod_start is the pfn and SIF_MOD_START_PFN says so. */
Test(pv_build, initrd_mod_start_pfn)
{
    struct pv_build_args a = { .nr_pages = 2048, .initrd = initrd,
                               .initrd_size = sizeof(initrd) };
    const struct start_info *si;
    unsigned long count;
    uint64_t flags, cr3;

    fill_initrd();
    add_mod_start_pfn_note();
    add_init_p2m_note(P2M_BASE);
    a.image = img;
    a.image_size = img_size;
    cr_assert_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
    cr3 = pv_dom.vcpus[0].guest_table;
    si = pv_initial_va_to_ptr(pv_dom.vcpus[0].regs.rsi);
    cr_assert_not_null(si);
    count = (pv_dom.virt_end - pv_dom.virt_start) >> PAGE_SHIFT;
    cr_expect_eq(pv_dom.vcpus[0].regs.rsi, KBASE + 0x3000, "no room for the initrd");
    cr_expect(si->flags & SIF_MOD_START_PFN);
    cr_expect_eq(si->mod_start, count);
    cr_expect_eq(si->mod_len, sizeof(initrd));
    for (unsigned int i = 0; i < 2; i++) {
        const uint8_t *page = arch_phys_to_virt(mfn_to_paddr(mfn(pv_dom.p2m[count + i])));
        size_t n = i ? sizeof(initrd) - PAGE_SIZE : PAGE_SIZE;

        cr_assert(frame_is_guest(mfn(pv_dom.p2m[count + i])));
        cr_expect(!memcmp(page, initrd + i * PAGE_SIZE, n), "initrd page %u", i);
        if (i)
            cr_expect_eq(page[n], 0, "the rest of the last page is zero");
    }
    cr_expect_eq(si->first_p2m_pfn, count + 2, "the P2M frames follow the initrd");
    cr_expect_eq(si->nr_p2m_frames, 4 + 3);
    cr_expect_eq(walk(cr3, P2M_BASE, &flags),
                 mfn_to_paddr(mfn(pv_dom.p2m[count + 2])).pa);
    for (unsigned long pfn = 0; pfn < 2048; pfn++)
        cr_assert_eq(pv_m2p[pv_dom.p2m[pfn]], pfn);
}

/* An initrd larger than guest memory: refused with a reason, both ways. */
Test(pv_build, initrd_too_big)
{
    static uint8_t big[9 << 20];
    struct pv_build_args a = { .image = img, .image_size = img_size, .nr_pages = 2048,
                               .initrd = big, .initrd_size = sizeof(big) };

    cr_expect_eq(pv_build_domain(&a, err, sizeof(err)), -XEN_ENOMEM);
    cr_expect(strstr(err, "initrd") && strstr(err, "does not fit"), "%s", err);
    add_mod_start_pfn_note();
    a.image_size = img_size;
    err[0] = '\0';
    cr_expect_eq(pv_build_domain(&a, err, sizeof(err)), -XEN_ENOMEM);
    cr_expect(strstr(err, "initrd") && strstr(err, "does not fit"), "%s", err);
    /* One page less than the memory left after the mapping fits. */
    a.initrd_size = (2048 - 1024 - 1) * PAGE_SIZE;
    cr_expect_eq(pv_build_domain(&a, err, sizeof(err)), 0, "%s", err);
}
