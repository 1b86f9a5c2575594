/*
 * gzip for the guest kernel: Linux's zlib_inflate (lib/decompress_inflate.c
 * in its preboot form compiles it into this file). The gzip member header
 * and trailer (RFC 1952) are read here; the inflate is zlib's, raw
 * (-MAX_WBITS), with no window: the whole output is one buffer, bounded by
 * avail_out. CRC32 and ISIZE must match what was produced (as Xen's
 * gunzip(), "crc error" / "length error"); the CRC-32 is xz's
 * (lib/xz/xz_crc32.c, the same IEEE polynomial).
 */
#define STATIC static
#define __KERNEL__ 1
#include <decomp_compat.h>
static unsigned long free_mem_ptr, free_mem_end_ptr;
#include "decompress_inflate.c"
#define XZ_EXTERN static
#include "xz/xz_crc32.c"
#include <minishim/decomp.h>

/* RFC 1952 2.3.1 FLG bits */
#define GZ_FHCRC    0x02
#define GZ_FEXTRA   0x04
#define GZ_FNAME    0x08
#define GZ_FCOMMENT 0x10
#define GZ_FRESERVED 0xe0

int decomp_gunzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size,
                  void *heap, size_t heap_size, size_t *out_len, const char **why)
{
    struct z_stream_s zs, *strm = &zs;
    size_t p = 10;
    int rc;

    free_mem_ptr = (unsigned long)heap;
    free_mem_end_ptr = free_mem_ptr + heap_size;
    malloc_ptr = 0;
    malloc_count = 0;
    if (in_len < 18 || in[0] != 0x1f || in[1] != 0x8b) {
        *why = "gzip: not a gzip stream";
        return -1;
    }
    if (in[2] != 8 || (in[3] & GZ_FRESERVED)) {
        *why = "gzip: unknown method or reserved flags";
        return -1;
    }
    if (in[3] & GZ_FEXTRA) {
        if (in_len - p < 2 || in_len - p - 2 < get_unaligned_le16(in + p)) {
            *why = "gzip: truncated header";
            return -1;
        }
        p += 2 + get_unaligned_le16(in + p);
    }
    for (unsigned int f = GZ_FNAME; f <= GZ_FCOMMENT; f <<= 1) {
        if (!(in[3] & f))
            continue;
        while (p < in_len && in[p])
            p++;
        if (p++ >= in_len) {
            *why = "gzip: truncated header";
            return -1;
        }
    }
    if (in[3] & GZ_FHCRC)
        p += 2;
    if (p >= in_len || in_len - p < 8) {
        *why = "gzip: truncated stream";
        return -1;
    }
    memset(strm, 0, sizeof(*strm));
    strm->workspace = malloc(sizeof(struct inflate_state));
    if (!strm->workspace) {
        *why = "gzip: out of memory";
        return -1;
    }
    strm->next_in = in + p;
    strm->avail_in = in_len - p - 8;
    strm->next_out = out;
    strm->avail_out = out_size > UINT_MAX ? UINT_MAX : out_size;
    rc = zlib_inflateInit2(strm, -MAX_WBITS);
    if (rc != Z_OK) {
        *why = "gzip: inflate setup failed";
        return -1;
    }
    /* The whole output is the window (as __gunzip without flush). */
    WS(strm)->inflate_state.wsize = 0;
    WS(strm)->inflate_state.window = NULL;
    rc = zlib_inflate(strm, Z_FINISH);
    zlib_inflateEnd(strm);
    if (rc != Z_STREAM_END) {
        *why = rc == Z_BUF_ERROR && strm->avail_out == 0
             ? "gzip: output larger than its declared size"
             : rc == Z_BUF_ERROR ? "gzip: truncated stream" : "gzip: corrupt data";
        return -1;
    }
    if (get_unaligned_le32(in + in_len - 4) != (uint32_t)strm->total_out) {
        *why = "gzip: ISIZE does not match the decompressed length";
        return -1;
    }
    xz_crc32_init();
    if (get_unaligned_le32(in + in_len - 8) != xz_crc32(out, strm->total_out, 0)) {
        *why = "gzip: CRC32 mismatch (corrupt data)";
        return -1;
    }
    *out_len = strm->total_out;
    return 0;
}
