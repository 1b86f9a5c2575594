/*
 * Shared by the whole-shim fuzz targets (tests/fuzz/fuzz_pv.c,
 * fuzz_elf.c): a minimal 64-bit PV guest image, building the PV domain
 * on the fake arch (tests/unit/fake/) the way pv/start.c does, and the
 * PV MMU invariant oracle run after every fuzz step.
 */
#ifndef FUZZ_ENV_H
#define FUZZ_ENV_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_KBASE     0xffffffff80000000ULL
#define FUZZ_NR_PAGES  2048ul

/* A guest like tests/guests: one LOAD at FUZZ_KBASE, the Xen notes
 * (features as given), hypercall page at FUZZ_KBASE + 0x1000. */
size_t fuzz_build_image(uint8_t *img, size_t cap, const char *features);

/* Fresh fake machine, frame allocator and M2P (pv/start.c's first steps). */
void fuzz_machine_reset(void);

/* pv_build_domain + pv_mm_setup + what pv_run does before entering the
 * guest. 0 or the builder's errno; the message in err. */
int fuzz_build_domain(const void *img, size_t size, const char *cmdline,
                      char *err, size_t errlen);

/* The shim invariants; abort() with a message when one is broken:
 * - every validated page table holds only entries the PV MMU admits, and
 *   the shim's L4 slots in every guest L4 are the shim's values;
 * - no L1 entry maps a page-table / descriptor frame writable, nor any
 *   frame that is not the guest's (shim frames);
 * - type and general reference counts: exact for page-table frames
 *   (only entries, pins and base pointers may hold them), at least the
 *   recount for the others; no reference on a frame the guest does not own. */
void fuzz_check_invariants(void);

#endif
