/*
 * zstd for the guest kernel: Linux's lib/decompress_unzstd.c in its preboot
 * form compiles lib/zstd/'s decompressor (and xxhash) into this file; the
 * single-frame path below is its decompress_single() returning the length.
 */
#define STATIC static
#define __KERNEL__ 1
#include <decomp_compat.h>
static unsigned long free_mem_ptr, free_mem_end_ptr;
#include "decompress_unzstd.c"
#include <minishim/decomp.h>

int decomp_unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size,
                  void *heap, size_t heap_size, size_t *out_len, const char **why)
{
    size_t wksp_size = zstd_dctx_workspace_bound();
    void *wksp;
    zstd_dctx *dctx;
    size_t ret;

    free_mem_ptr = (unsigned long)heap;
    free_mem_end_ptr = free_mem_ptr + heap_size;
    malloc_ptr = 0;
    malloc_count = 0;
    wksp = large_malloc(wksp_size);
    dctx = wksp ? zstd_init_dctx(wksp, wksp_size) : NULL;
    if (!dctx) {
        *why = "zstd: out of memory";
        return -1;
    }
    /* The frame only: kbuild appends the 4-byte size after it. */
    ret = zstd_find_frame_compressed_size(in, in_len);
    if (!zstd_is_error(ret))
        ret = zstd_decompress_dctx(dctx, out, out_size, in, ret);
    if (zstd_is_error(ret)) {
        *why = zstd_get_error_code(ret) == ZSTD_error_dstSize_tooSmall
             ? "zstd: output larger than its declared size"
             : zstd_get_error_code(ret) == ZSTD_error_srcSize_wrong
             ? "zstd: truncated stream" : "zstd: corrupt data";
        return -1;
    }
    *out_len = ret;
    return 0;
}
