/*
 * libFuzzer target for the domain builder's view of the guest image
 * (module 0, which the guest's owner supplies): pv/elf.c (ELF header,
 * program headers, Xen notes), pv/domain_build.c (notes to parameters,
 * the feature string, the layout) and, when those accept the image, the
 * whole build on the fake arch followed by the PV MMU taking the
 * builder's tables (fuzz_env.c) and the shim invariants.
 *
 * Oracles besides the sanitizers: a refusal always comes with a message;
 * an accepted image's loadable segments lie inside the image; an
 * accepted layout keeps the builder's areas in order inside the mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <minishim/elf.h>
#include <minishim/pv_domain.h>
#include <minishim/xen-public.h>
#include "fuzz_env.h"

static char err[256];

/* FUZZ_VERBOSE=1: say why an input was refused (corpus upkeep). */
static int refused(const char *stage)
{
    if (!err[0]) {
        fprintf(stderr, "oracle: %s refused without a reason\n", stage);
        abort();
    }
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", stage, err);
    return 0;
}

static void __attribute__((noreturn)) fail(const char *what)
{
    fprintf(stderr, "oracle: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_image img;
    struct xen_notes notes;
    struct pv_parms p;
    struct pv_layout l;
    struct elf_segment seg;
    int rc;

    err[0] = '\0';
    if (elf_check(data, size, &img, err, sizeof(err)))
        return refused("elf_check");
    for (unsigned int i = 0; elf_load_segment(&img, i, &seg); i++) {
        const uint8_t *d = seg.data;

        if (d < data || seg.filesz > size || d + seg.filesz > data + size ||
            seg.filesz > seg.memsz)
            fail("an accepted segment lies outside the image");
    }
    if (elf_xen_notes(&img, &notes, err, sizeof(err)))
        return refused("elf_xen_notes");
    err[0] = '\0';
    if (pv_parms_from_notes(&img, &notes, &p, err, sizeof(err)))
        return refused("pv_parms_from_notes");
    err[0] = '\0';
    rc = pv_compute_layout(&p, FUZZ_NR_PAGES, size & 0xffff, &l, err, sizeof(err));
    if (rc)
        return refused("pv_compute_layout");
    if (!(l.v_start <= p.virt_kstart && p.virt_kend <= l.vstartinfo_start &&
          l.vstartinfo_start < l.vpt_start && l.vpt_start < l.vpt_end &&
          l.vpt_end <= l.vstack_start && l.vstack_end <= l.v_end))
        fail("layout areas out of order");

    /* The whole build, then the PV MMU on the builder's tables. */
    fuzz_machine_reset();
    err[0] = '\0';
    if (fuzz_build_domain(data, size, "fuzz", err, sizeof(err)))
        return refused("pv_build_domain");
    fuzz_check_invariants();
    return 0;
}
