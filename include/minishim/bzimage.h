/*
 * The guest kernel as xl hands it over: an ELF vmlinux, a bzImage (Linux
 * boot protocol >= 2.08) whose payload is an ELF or compressed, or a bare
 * compressed ELF — what Xen's bzimage_parse() accepts (xen/arch/x86/
 * bzimage.c), for the compressions gzip, xz, zstd and lz4.
 */
#ifndef MINISHIM_BZIMAGE_H
#define MINISHIM_BZIMAGE_H

#include <minishim/types.h>

enum kernel_comp {
    KCOMP_NONE,                 /* the payload is used as it is */
    KCOMP_GZIP,
    KCOMP_XZ,
    KCOMP_ZSTD,
    KCOMP_LZ4,
};

struct kernel_payload {
    bool bzimage;               /* found a bzImage setup header */
    enum kernel_comp comp;
    const uint8_t *data;        /* the payload (whole image if no bzImage) */
    size_t len;
    size_t out_len;             /* declared decompressed size (comp != NONE) */
};

/*
 * Find the payload of the kernel image img[0..len). Returns 0 with
 * p->comp == KCOMP_NONE when there is nothing to decompress (an ELF, or
 * something elf_check() will refuse), 0 with the compression and declared
 * size otherwise, or -XEN_EINVAL with the reason in err (a bzImage too old,
 * a payload outside the image, a compression minishim does not build in).
 */
int kernel_probe(const void *img, size_t len, struct kernel_payload *p,
                 char *err, size_t errlen);

/* Heap bytes kernel_decompress() needs for this compression. */
size_t kernel_decomp_heap_size(enum kernel_comp comp);

/*
 * Decompress p's payload into out[0..out_size) (out_size >= p->out_len),
 * using heap[0..heap_size). 0 when exactly p->out_len bytes came out, else
 * -XEN_EINVAL with the reason in err.
 */
int kernel_decompress(const struct kernel_payload *p, void *out, size_t out_size,
                      void *heap, size_t heap_size, char *err, size_t errlen);

const char *kernel_comp_name(enum kernel_comp comp);

#endif
