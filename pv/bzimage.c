/*
 * bzImage and compressed kernels, as Xen's bzimage_parse() (xen/arch/x86/
 * bzimage.c) and decompress() (xen/common/decompress.c) take them: a
 * bzImage's payload starts (setup_sects + 1) * 512 + payload_offset bytes
 * in and is payload_length long (boot protocol 2.08+, Documentation/x86/
 * boot.rst); a payload (or a whole image) that is not an ELF is
 * decompressed by its magic, its decompressed size being its last four
 * bytes (little-endian: kbuild's size_append, gzip's ISIZE).
 *
 * Deviations from Xen, each a check Xen lacks: the payload must lie inside
 * the image, the declared size must be non-zero and the decompressor must
 * produce exactly that many bytes into a buffer of that size.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/bzimage.h>
#include <minishim/decomp.h>
#include <minishim/xen-public.h>

/* Linux boot protocol: the fields Xen's struct setup_header reads. */
#define BZ_SETUP_SECTS      0x1f1
#define BZ_HEADER           0x202   /* "HdrS" */
#define BZ_VERSION          0x206
#define BZ_PAYLOAD_OFFSET   0x248
#define BZ_PAYLOAD_LENGTH   0x24c
#define BZ_HDR_END          0x250   /* sizeof(struct setup_header) in Xen */
#define BZ_MIN_VERSION      0x0208  /* payload_offset/length exist from 2.08 */

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -XEN_EINVAL; } while (0)

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static bool magic(const uint8_t *d, size_t len, const char *m, size_t mlen)
{
    return len >= mlen && !memcmp(d, m, mlen);
}

const char *kernel_comp_name(enum kernel_comp comp)
{
    switch (comp) {
    case KCOMP_GZIP: return "gzip";
    case KCOMP_XZ: return "xz";
    case KCOMP_ZSTD: return "zstd";
    case KCOMP_LZ4: return "lz4";
    default: return "none";
    }
}

int kernel_probe(const void *img, size_t len, struct kernel_payload *p,
                 char *err, size_t errlen)
{
    const uint8_t *d = img;

    memset(p, 0, sizeof(*p));
    p->data = d;
    p->len = len;
    if (len >= BZ_HDR_END && !memcmp(d + BZ_HEADER, "HdrS", 4)) {
        unsigned int ver = d[BZ_VERSION] | d[BZ_VERSION + 1] << 8;
        uint64_t off, plen;

        /* bzimage_check(): "at least v2.08 is required". */
        if (ver < BZ_MIN_VERSION)
            FAIL("cannot load bzImage v%u.%02u: at least v2.08 is required",
                 ver >> 8, ver & 0xff);
        off = ((uint64_t)d[BZ_SETUP_SECTS] + 1) * 512 + le32(d + BZ_PAYLOAD_OFFSET);
        plen = le32(d + BZ_PAYLOAD_LENGTH);
        if (off > len || plen > len - off)
            FAIL("bzImage payload (offset 0x%lx, 0x%lx bytes) lies outside the "
                 "0x%lx-byte image", (unsigned long)off, (unsigned long)plen,
                 (unsigned long)len);
        p->bzimage = true;
        p->data = d + off;
        p->len = plen;
    }
    if (magic(p->data, p->len, "\177ELF", 4))
        return 0;
    if (magic(p->data, p->len, "\x1f\x8b", 2))
        p->comp = KCOMP_GZIP;
    else if (magic(p->data, p->len, "\xfd" "7zXZ\0", 6))
        p->comp = KCOMP_XZ;
    else if (magic(p->data, p->len, "\x28\xb5\x2f\xfd", 4))
        p->comp = KCOMP_ZSTD;
    else if (magic(p->data, p->len, "\x02\x21\x4c\x18", 4))
        p->comp = KCOMP_LZ4;
    else if (magic(p->data, p->len, "BZh", 3))
        FAIL("kernel compressed with bzip2: minishim decompresses gzip, xz, zstd and lz4");
    else if (magic(p->data, p->len, "\x5d\0", 2))
        FAIL("kernel compressed with lzma: minishim decompresses gzip, xz, zstd and lz4");
    else if (magic(p->data, p->len, "\x89LZO", 4))
        FAIL("kernel compressed with lzo: minishim decompresses gzip, xz, zstd and lz4");
    else if (p->bzimage)
        FAIL("bzImage payload is neither an ELF nor in a known compression format");
    else
        return 0;               /* elf_check() names what is wrong */
    if (p->len < 8)
        FAIL("%s kernel payload truncated (%lu bytes)", kernel_comp_name(p->comp),
             (unsigned long)p->len);
    p->out_len = le32(p->data + p->len - 4);
    if (!p->out_len)
        FAIL("%s kernel payload declares a decompressed size of 0",
             kernel_comp_name(p->comp));
    return 0;
}

size_t kernel_decomp_heap_size(enum kernel_comp comp)
{
    return comp == KCOMP_LZ4 ? DECOMP_HEAP_LZ4 : DECOMP_HEAP_SMALL;
}

int kernel_decompress(const struct kernel_payload *p, void *out, size_t out_size,
                      void *heap, size_t heap_size, char *err, size_t errlen)
{
    decomp_fn *fn;
    const char *why = "unknown error";
    size_t got = 0;

    switch (p->comp) {
    case KCOMP_GZIP: fn = decomp_gunzip; break;
    case KCOMP_XZ: fn = decomp_unxz; break;
    case KCOMP_ZSTD: fn = decomp_unzstd; break;
    case KCOMP_LZ4: fn = decomp_unlz4; break;
    default: FAIL("internal: nothing to decompress");
    }
    if (out_size < p->out_len)
        FAIL("internal: output buffer of %lu bytes for %lu", (unsigned long)out_size,
             (unsigned long)p->out_len);
    if (heap_size < kernel_decomp_heap_size(p->comp))
        FAIL("internal: decompression heap too small");
    /* Bound the output by the declared size: a payload that lies about it
     * fails here rather than writing past the buffer. */
    if (fn(p->data, p->len, out, p->out_len, heap, heap_size, &got, &why))
        FAIL("cannot decompress the %s kernel payload: %s", kernel_comp_name(p->comp),
             why);
    if (got != p->out_len)
        FAIL("%s kernel payload decompressed to %lu bytes, its trailer says %lu",
             kernel_comp_name(p->comp), (unsigned long)got, (unsigned long)p->out_len);
    return 0;
}
