/*
 * xz for the guest kernel: Linux's lib/decompress_unxz.c in its preboot
 * form (STATIC), which compiles lib/xz/ into this file, driven through the
 * xz_dec API in single-call mode so the decoder itself enforces the output
 * bound (XZ_BUF_ERROR) instead of trusting the payload's size trailer.
 */
#define STATIC static
#define __KERNEL__ 1
#include <decomp_compat.h>
#define CONFIG_X86 1            /* XZ_DEC_X86: kbuild compresses with --x86 */
#define memmove memmove         /* the C library's, not the file's own */
static unsigned long free_mem_ptr, free_mem_end_ptr;
#include "decompress_unxz.c"
#include <minishim/decomp.h>

int decomp_unxz(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size,
                void *heap, size_t heap_size, size_t *out_len, const char **why)
{
    struct xz_buf b = {
        .in = in, .in_pos = 0, .in_size = in_len,
        .out = out, .out_pos = 0, .out_size = out_size,
    };
    struct xz_dec *s;
    enum xz_ret ret;

    free_mem_ptr = (unsigned long)heap;
    free_mem_end_ptr = free_mem_ptr + heap_size;
    malloc_ptr = 0;
    malloc_count = 0;
    xz_crc32_init();
    s = xz_dec_init(XZ_SINGLE, 0);
    if (!s) {
        *why = "xz: no memory for the decoder state";
        return -1;
    }
    ret = xz_dec_run(s, &b);
    xz_dec_end(s);
    switch (ret) {
    case XZ_STREAM_END:
        *out_len = b.out_pos;
        return 0;
    case XZ_FORMAT_ERROR:
        *why = "xz: not an xz stream";
        break;
    case XZ_OPTIONS_ERROR:
    case XZ_UNSUPPORTED_CHECK:
        *why = "xz: unsupported stream options (integrity check or filter)";
        break;
    case XZ_DATA_ERROR:
        *why = "xz: corrupt data";
        break;
    case XZ_BUF_ERROR:
        *why = "xz: truncated input, or output larger than its declared size";
        break;
    case XZ_MEM_ERROR:
    case XZ_MEMLIMIT_ERROR:
        *why = "xz: out of memory";
        break;
    default:
        *why = "xz: decoder stopped early";
        break;
    }
    return -1;
}
