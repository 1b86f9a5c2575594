/*
 * lz4 for the guest kernel: Linux's lib/decompress_unlz4.c (legacy format,
 * as kbuild's `lz4 -l`) over lib/lz4/lz4_decompress.c, in its normal (not
 * preboot) form: the preboot form uses LZ4_decompress_fast, which trusts
 * its input. Each chunk goes through LZ4_decompress_safe into a heap
 * buffer and is copied out by the flush callback, which enforces the bound.
 */
#define __KERNEL__ 1
#include <decomp_compat.h>
#include "lz4/lz4_decompress.c"
#include "decompress_unlz4.c"
#include <minishim/decomp.h>

static uint8_t *lz4_out;
static size_t lz4_pos, lz4_size;
static const char *lz4_why;

static void lz4_error(char *x)
{
    lz4_why = x;
}

static long lz4_flush(void *buf, unsigned long len)
{
    if (len > lz4_size - lz4_pos) {
        lz4_why = "lz4: output larger than its declared size";
        return -1;
    }
    memcpy(lz4_out + lz4_pos, buf, len);
    lz4_pos += len;
    return (long)len;
}

int decomp_unlz4(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size,
                 void *heap, size_t heap_size, size_t *out_len, const char **why)
{
    long pos = 0;

    decomp_heap_set(heap, heap_size);
    lz4_out = out;
    lz4_pos = 0;
    lz4_size = out_size;
    lz4_why = NULL;
    /* kbuild appends the 4-byte decompressed size after the stream. */
    if (in_len < 8 || in_len > LONG_MAX) {
        *why = "lz4: truncated stream";
        return -1;
    }
    if (unlz4((u8 *)in, (long)in_len - 4, NULL, lz4_flush, NULL, &pos, lz4_error)) {
        *why = lz4_why ? lz4_why : "lz4: corrupt data";
        return -1;
    }
    *out_len = lz4_pos;
    return 0;
}
