/*
 * bzImage / compressed kernel handling (pv/bzimage.c) over the real
 * decompressors ($(BUILD)/decomp, Linux's lib/ code): each test makes a
 * small "kernel" (an ELF magic and 192 KiB of mixed data), compresses it
 * with Debian's own command-line tool as kbuild does (xz --check=crc32
 * --x86, gzip -9, zstd -19, lz4 -l -9; a le32 size appended for all but
 * gzip, whose ISIZE is that size), wraps it in a bzImage setup header and
 * checks that exactly the original comes back, or that bad input is
 * refused with a reason.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <minishim/bzimage.h>
#include <minishim/xen-public.h>

#define ORIG_SIZE   (192u * 1024)
#define SETUP_SECTS 3                   /* payload area at (3 + 1) * 512 */
#define PAYLOAD_OFF 0x30                /* payload_offset within it */

static uint8_t orig[ORIG_SIZE];
static uint8_t *img, *out, *heap;
static size_t img_len, out_size, heap_size;
static char err[200];

static void make_orig(void)
{
    uint32_t x = 12345;

    memcpy(orig, "\177ELF\2\1\1", 7);
    for (size_t i = 7; i < ORIG_SIZE; i++) {
        x = x * 1103515245u + 12345u;
        /* Runs of text and noise: compressible, but not trivially. */
        orig[i] = (i / 4096) % 2 ? (uint8_t)(x >> 16) : (uint8_t)("minishim "[i % 9]);
    }
}

/* Compress orig with cmd (stdin to stdout); returns the stream, malloc'd. */
static uint8_t *compress(const char *cmd, size_t *len)
{
    char in[] = "/tmp/msbz-in-XXXXXX", outp[] = "/tmp/msbz-out-XXXXXX", line[512];
    int fdi = mkstemp(in), fdo = mkstemp(outp);
    uint8_t *buf;
    FILE *f;
    long n;

    cr_assert(fdi >= 0 && fdo >= 0);
    cr_assert_eq(write(fdi, orig, ORIG_SIZE), (ssize_t)ORIG_SIZE);
    close(fdi);
    close(fdo);
    snprintf(line, sizeof(line), "%s < %s > %s", cmd, in, outp);
    cr_assert_eq(system(line), 0, "'%s' failed (are xz, gzip, zstd, lz4 installed?)", line);
    f = fopen(outp, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n + 4);
    cr_assert_eq(fread(buf, 1, n, f), (size_t)n);
    fclose(f);
    unlink(in);
    unlink(outp);
    *len = n;
    return buf;
}

static const char *tool(enum kernel_comp c)
{
    switch (c) {
    case KCOMP_GZIP: return "gzip -9 -n -c";
    case KCOMP_XZ: return "xz --format=xz --check=crc32 --x86 --lzma2=dict=1MiB -c";
    case KCOMP_ZSTD: return "zstd -19 -q -c";
    case KCOMP_LZ4: return "lz4 -l -9 -q -c";
    default: return "cat";
    }
}

/* The payload as kbuild makes it: the stream, then (not for gzip) the
 * decompressed size, le32. */
static uint8_t *payload(enum kernel_comp c, size_t *len, uint32_t declared)
{
    uint8_t *p = compress(tool(c), len);

    if (c != KCOMP_GZIP && c != KCOMP_NONE) {
        memcpy(p + *len, &declared, 4);
        *len += 4;
    }
    return p;
}

static void le32_at(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static void le16_at(uint8_t *b, uint16_t v) { memcpy(b, &v, 2); }

/* A bzImage (boot protocol 2.15) around payload p. */
static void wrap(const uint8_t *p, size_t len)
{
    size_t off = (SETUP_SECTS + 1) * 512 + PAYLOAD_OFF;

    free(img);
    img_len = off + len + 64;
    img = calloc(1, img_len);
    img[0x1f1] = SETUP_SECTS;
    memcpy(img + 0x202, "HdrS", 4);
    le16_at(img + 0x206, 0x020f);
    le32_at(img + 0x248, PAYLOAD_OFF);
    le32_at(img + 0x24c, (uint32_t)len);
    memcpy(img + off, p, len);
}

static void setup(void)
{
    make_orig();
    img = NULL;
    out_size = ORIG_SIZE + 8192;
    out = calloc(1, out_size);
    heap_size = kernel_decomp_heap_size(KCOMP_LZ4);
    heap = malloc(heap_size);
}

static void teardown(void)
{
    free(img);
    free(out);
    free(heap);
}

TestSuite(bzimage, .init = setup, .fini = teardown);

/* Probe and decompress img; expect the original back. */
static void roundtrip(enum kernel_comp c, bool bz)
{
    struct kernel_payload kp;
    size_t len;
    uint8_t *p = payload(c, &len, ORIG_SIZE);

    if (bz) {
        wrap(p, len);
    } else {
        img = malloc(len);
        memcpy(img, p, len);
        img_len = len;
    }
    free(p);
    cr_assert_eq(kernel_probe(img, img_len, &kp, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kp.bzimage, bz);
    cr_assert_eq(kp.comp, c, "found %s", kernel_comp_name(kp.comp));
    cr_assert_eq(kp.out_len, ORIG_SIZE);
    cr_assert_eq(kp.len, len);
    cr_assert_eq(kernel_decompress(&kp, out, out_size, heap, heap_size, err, sizeof(err)),
                 0, "%s: %s", kernel_comp_name(c), err);
    cr_assert(!memcmp(out, orig, ORIG_SIZE), "%s: output differs", kernel_comp_name(c));
}

Test(bzimage, xz) { roundtrip(KCOMP_XZ, true); }
Test(bzimage, gzip) { roundtrip(KCOMP_GZIP, true); }
Test(bzimage, zstd) { roundtrip(KCOMP_ZSTD, true); }
Test(bzimage, lz4) { roundtrip(KCOMP_LZ4, true); }
/* Xen's bzimage_parse() also decompresses a bare compressed kernel. */
Test(bzimage, bare_xz) { roundtrip(KCOMP_XZ, false); }
Test(bzimage, bare_zstd) { roundtrip(KCOMP_ZSTD, false); }

Test(bzimage, elf_payload_used_in_place)
{
    struct kernel_payload kp;

    wrap(orig, ORIG_SIZE);
    cr_assert_eq(kernel_probe(img, img_len, &kp, err, sizeof(err)), 0, "%s", err);
    cr_assert(kp.bzimage);
    cr_assert_eq(kp.comp, KCOMP_NONE);
    cr_assert_eq(kp.data, img + (SETUP_SECTS + 1) * 512 + PAYLOAD_OFF);
    cr_assert_eq(kp.len, ORIG_SIZE);
}

Test(bzimage, plain_elf_and_garbage_left_to_elf_check)
{
    struct kernel_payload kp;
    static const uint8_t junk[64] = "not a kernel at all";

    cr_assert_eq(kernel_probe(orig, ORIG_SIZE, &kp, err, sizeof(err)), 0);
    cr_assert(!kp.bzimage);
    cr_assert_eq(kp.comp, KCOMP_NONE);
    cr_assert_eq(kp.data, orig);
    cr_assert_eq(kernel_probe(junk, sizeof(junk), &kp, err, sizeof(err)), 0);
    cr_assert_eq(kp.comp, KCOMP_NONE);
}

#define EXPECT_PROBE_REFUSED(what)                                              \
    do {                                                                        \
        struct kernel_payload kp_;                                              \
        cr_assert_eq(kernel_probe(img, img_len, &kp_, err, sizeof(err)),        \
                     -XEN_EINVAL);                                              \
        cr_assert(strstr(err, what), "reason: %s", err);                        \
    } while (0)

/* Probe succeeds, decompression is refused with a reason naming what. */
static void expect_decomp_refused(const char *what)
{
    struct kernel_payload kp;

    cr_assert_eq(kernel_probe(img, img_len, &kp, err, sizeof(err)), 0, "%s", err);
    cr_assert_neq(kp.comp, KCOMP_NONE);
    cr_assert_eq(kernel_decompress(&kp, out, out_size, heap, heap_size, err, sizeof(err)),
                 -XEN_EINVAL, "%s accepted", kernel_comp_name(kp.comp));
    cr_assert(strstr(err, what), "reason: %s", err);
}

Test(bzimage, old_boot_protocol)
{
    wrap(orig, ORIG_SIZE);
    le16_at(img + 0x206, 0x0207);
    EXPECT_PROBE_REFUSED("at least v2.08");
}

Test(bzimage, payload_outside_image)
{
    wrap(orig, ORIG_SIZE);
    le32_at(img + 0x24c, ORIG_SIZE + 4096);
    EXPECT_PROBE_REFUSED("outside");
    wrap(orig, ORIG_SIZE);
    le32_at(img + 0x248, 0xfffffff0u);
    EXPECT_PROBE_REFUSED("outside");
}

Test(bzimage, unsupported_compressions_named)
{
    wrap((const uint8_t *)"BZh91AY&SY\0\0\0\0\0\0", 16);
    EXPECT_PROBE_REFUSED("bzip2");
    wrap((const uint8_t *)"\x5d\0\0\x80\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    EXPECT_PROBE_REFUSED("lzma");
    wrap((const uint8_t *)"\x89LZO\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    EXPECT_PROBE_REFUSED("lzo");
    wrap((const uint8_t *)"0123456789abcdef", 16);
    EXPECT_PROBE_REFUSED("neither an ELF nor");
}

Test(bzimage, declared_size_zero)
{
    size_t len;
    uint8_t *p = payload(KCOMP_XZ, &len, 0);

    wrap(p, len);
    free(p);
    EXPECT_PROBE_REFUSED("size of 0");
}

/* The stream cut short (size trailer kept): every decompressor refuses. */
static void truncated(enum kernel_comp c)
{
    size_t len;
    uint8_t *p = payload(c, &len, ORIG_SIZE);
    size_t cut = len / 2;

    memcpy(p + cut - 4, p + len - 4, 4);  /* gzip: a stale ISIZE */
    wrap(p, cut);
    free(p);
    expect_decomp_refused(kernel_comp_name(c));
}

Test(bzimage, truncated_xz) { truncated(KCOMP_XZ); }
Test(bzimage, truncated_gzip) { truncated(KCOMP_GZIP); }
Test(bzimage, truncated_zstd) { truncated(KCOMP_ZSTD); }
Test(bzimage, truncated_lz4) { truncated(KCOMP_LZ4); }

/* A flipped byte inside the stream: xz (CRC32), gzip (ISIZE / inflate),
 * zstd (block structure) refuse it. */
static void corrupt(enum kernel_comp c)
{
    size_t len;
    uint8_t *p = payload(c, &len, ORIG_SIZE);

    for (size_t i = len / 3; i < len / 3 + 16; i++)
        p[i] ^= 0x5a;
    wrap(p, len);
    free(p);
    expect_decomp_refused(kernel_comp_name(c));
}

Test(bzimage, corrupt_xz) { corrupt(KCOMP_XZ); }
Test(bzimage, corrupt_gzip) { corrupt(KCOMP_GZIP); }
Test(bzimage, corrupt_zstd) { corrupt(KCOMP_ZSTD); }

/* A size trailer below the real size: the decompressor stops at the
 * declared size (never writes past it) and refuses. */
static void declared_too_small(enum kernel_comp c)
{
    size_t len;
    uint8_t *p = payload(c, &len, ORIG_SIZE - 4096);

    if (c == KCOMP_GZIP)
        le32_at(p + len - 4, ORIG_SIZE - 4096);
    wrap(p, len);
    free(p);
    memset(out, 0xee, out_size);
    expect_decomp_refused(kernel_comp_name(c));
    for (size_t i = ORIG_SIZE - 4096; i < out_size; i++)
        cr_assert_eq(out[i], 0xee, "%s wrote past the declared size at %zu",
                     kernel_comp_name(c), i);
}

Test(bzimage, declared_too_small_xz) { declared_too_small(KCOMP_XZ); }
Test(bzimage, declared_too_small_gzip) { declared_too_small(KCOMP_GZIP); }
Test(bzimage, declared_too_small_zstd) { declared_too_small(KCOMP_ZSTD); }
Test(bzimage, declared_too_small_lz4) { declared_too_small(KCOMP_LZ4); }

/* A size trailer above the real size: fewer bytes come out than promised. */
static void declared_too_big(enum kernel_comp c)
{
    size_t len;
    uint8_t *p = payload(c, &len, ORIG_SIZE + 4096);

    if (c == KCOMP_GZIP)
        le32_at(p + len - 4, ORIG_SIZE + 4096);
    wrap(p, len);
    free(p);
    expect_decomp_refused(kernel_comp_name(c));
}

Test(bzimage, declared_too_big_xz) { declared_too_big(KCOMP_XZ); }
Test(bzimage, declared_too_big_gzip) { declared_too_big(KCOMP_GZIP); }
Test(bzimage, declared_too_big_zstd) { declared_too_big(KCOMP_ZSTD); }
Test(bzimage, declared_too_big_lz4) { declared_too_big(KCOMP_LZ4); }

Test(bzimage, heap_too_small_refused)
{
    struct kernel_payload kp;
    size_t len;
    uint8_t *p = payload(KCOMP_XZ, &len, ORIG_SIZE);

    wrap(p, len);
    free(p);
    cr_assert_eq(kernel_probe(img, img_len, &kp, err, sizeof(err)), 0);
    cr_assert_eq(kernel_decompress(&kp, out, out_size, heap, 4096, err, sizeof(err)),
                 -XEN_EINVAL);
    cr_assert(strstr(err, "heap"), "reason: %s", err);
}
