/*
 * From a checked module 0 to a running guest: the frame allocator, the
 * M2P, the domain build, then the jump into the guest.
 */
#include <minishim/arch.h>
#include <minishim/boot.h>
#include <minishim/bzimage.h>
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/page_alloc.h>
#include <minishim/pv_domain.h>
#include <minishim/pv_grant.h>
#include <minishim/pv_pt.h>
#include <minishim/pv_store.h>
#include <minishim/shim.h>
#include <minishim/pv_evtchn.h>

/* Frames kept back for the shim itself (tables, M2P, per-CPU pages). */
#define SHIM_RESERVE_FRAMES 2048UL
/* Default guest memory when guest_mem= is not given. */
#define DEFAULT_GUEST_MEM   (512UL << 20)

/* Frames of the decompressed kernel and of the decompressor's heap. */
struct frames {
    mfn_t first;
    unsigned long nr;
};

static void *frames_alloc(struct frames *f, size_t bytes)
{
    f->nr = (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
    f->first = alloc_frames_contig(f->nr, FRAME_SHIM);
    if (!mfn_valid_value(f->first)) {
        f->nr = 0;
        return NULL;
    }
    return arch_phys_to_virt(mfn_to_paddr(f->first));
}

static void frames_free(struct frames *f)
{
    for (unsigned long i = 0; i < f->nr; i++)
        free_frame(mfn(f->first.mfn + i));
    f->nr = 0;
}

/*
 * A bzImage or compressed kernel (Xen's bzimage_parse()): decompress it
 * into shim frames that stay until the domain is built. Any refusal is a
 * crash shutdown with the reason.
 */
static void unpack_kernel(struct pv_build_args *a, struct frames *out)
{
    struct kernel_payload p;
    struct frames heap = { 0 };
    void *dst, *hp;
    char err[200];

    if (kernel_probe(a->image, a->image_size, &p, err, sizeof(err))) {
        pr_err("guest: bad kernel image: %s\n", err);
        shim_shutdown(SHUTDOWN_crash);
    }
    if (p.comp == KCOMP_NONE) {
        if (p.bzimage)
            pr_info("guest: bzImage with an uncompressed ELF payload (%lu bytes)\n",
                    (unsigned long)p.len);
        a->image = p.data;
        a->image_size = p.len;
        return;
    }
    dst = frames_alloc(out, p.out_len);
    hp = dst ? frames_alloc(&heap, kernel_decomp_heap_size(p.comp)) : NULL;
    if (!hp) {
        pr_err("guest: no memory to decompress the %s kernel (%lu MiB declared)\n",
               kernel_comp_name(p.comp), (unsigned long)(p.out_len >> 20));
        shim_shutdown(SHUTDOWN_crash);
    }
    pr_info("guest: %s%s kernel, %lu bytes -> %lu\n", p.bzimage ? "bzImage, " : "",
            kernel_comp_name(p.comp), (unsigned long)p.len, (unsigned long)p.out_len);
    if (kernel_decompress(&p, dst, out->nr << PAGE_SHIFT, hp, heap.nr << PAGE_SHIFT,
                          err, sizeof(err))) {
        pr_err("guest: bad kernel image: %s\n", err);
        shim_shutdown(SHUTDOWN_crash);
    }
    frames_free(&heap);
    a->image = dst;
    a->image_size = p.out_len;
}

void __noreturn pv_start(paddr_t start_info)
{
    struct frames kernel = { 0 };
    const struct boot_module *m = &boot_info.modules[0];
    struct pv_build_args a = { 0 };
    unsigned long nr_free, want;
    char err[200];
    int rc;

    /* The frame allocator is up since shim_main (shim/main.c,
     * memory_init), before the APs took their per-CPU areas. */
    (void)start_info;
    nr_free = page_alloc_nr_free();
    pr_info("mem: %lu free frames (%lu MiB) for the guest and the shim\n",
            nr_free, nr_free >> 8);
    rc = pv_m2p_init();
    if (rc) {
        pr_err("guest: cannot set up the M2P table (%d)\n", rc);
        shim_shutdown(SHUTDOWN_crash);
    }
    /* Before sizing the guest: the decompressed kernel needs frames until
     * the domain is built. */
    a.image = arch_phys_to_virt(m->start);
    a.image_size = m->size;
    unpack_kernel(&a, &kernel);
    nr_free = page_alloc_nr_free();
    want = shim_cfg.guest_mem ? shim_cfg.guest_mem >> PAGE_SHIFT
                              : DEFAULT_GUEST_MEM >> PAGE_SHIFT;
    if (nr_free <= SHIM_RESERVE_FRAMES) {
        pr_err("guest: no memory left for the guest (%lu free frames)\n", nr_free);
        shim_shutdown(SHUTDOWN_crash);
    }
    if (want > nr_free - SHIM_RESERVE_FRAMES) {
        if (shim_cfg.guest_mem)
            pr_warn("guest: guest_mem=%lu MiB does not fit; using %lu MiB\n",
                    (unsigned long)(shim_cfg.guest_mem >> 20),
                    (nr_free - SHIM_RESERVE_FRAMES) >> 8);
        want = nr_free - SHIM_RESERVE_FRAMES;
    }

    if (boot_info.nr_modules > 1) {
        a.initrd = arch_phys_to_virt(boot_info.modules[1].start);
        a.initrd_size = boot_info.modules[1].size;
        pr_info("guest: initrd (module 1) at %lx, %lu bytes\n",
                (unsigned long)boot_info.modules[1].start.pa,
                (unsigned long)a.initrd_size);
    }
    a.cmdline = m->cmdline;
    a.nr_pages = want;
    rc = pv_build_domain(&a, err, sizeof(err));
    if (rc) {
        pr_err("guest: cannot build the PV domain: %s\n", err);
        shim_shutdown(SHUTDOWN_crash);
    }
    frames_free(&kernel);       /* the builder copied what it needs */
    /* The guest is the shim's domain in L0: its id, and its grant table
     * is L0's (pv/grant_table.c); without a Xen L0, id 0 and a local one. */
    if (xen_domid(&pv_dom.domid))
        pv_dom.domid = 0;
    pv_gnttab_init_l0(pv_dom.domid);
    if (!pv_evtchn_use_l0())
        pr_info("evtchn: the guest's interdomain channels and port numbers are L0's\n");
    rc = pv_mm_setup();
    if (rc) {
        pr_err("guest: the PV MMU refused the initial page tables (%d)\n", rc);
        shim_shutdown(SHUTDOWN_crash);
    }
    /* xenstore from L0 (pv/store.c); without one (QEMU-direct) the store
     * fields of start_info stay 0, as for a domain with no toolstack. */
    rc = pv_store_init();
    if (rc && rc != -XEN_ENODEV)
        pr_warn("guest: no xenstore for the guest (%d)\n", rc);
    pv_run();
}
