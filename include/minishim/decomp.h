/*
 * Decompressors for the guest kernel (bzImage payloads): Linux's own
 * lib/ decompressors from Debian's linux-source-6.1, built freestanding by
 * the Makefile into $(BUILD)/decomp/ (one pv/decomp/<format>.c wraps each).
 *
 * Each call decompresses one whole stream from in[0..in_len) into
 * out[0..out_size), never writing past out_size, using heap[0..heap_size)
 * as its only memory (DECOMP_HEAP_* bytes at least). Returns 0 and the
 * decompressed length in *out_len, or -1 with a static reason in *why
 * (corrupt or truncated input, output larger than out_size, no memory).
 */
#ifndef MINISHIM_DECOMP_H
#define MINISHIM_DECOMP_H

#include <stddef.h>
#include <stdint.h>

/* Heap each decompressor needs (single-call modes; lz4 decodes its
 * legacy 8 MiB chunks into a heap buffer before copying them out). */
#define DECOMP_HEAP_SMALL   (1UL << 20)
#define DECOMP_HEAP_LZ4     ((8UL << 20) + (1UL << 20))

typedef int decomp_fn(const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t out_size, void *heap, size_t heap_size,
                      size_t *out_len, const char **why);

decomp_fn decomp_gunzip;        /* gzip (zlib_inflate) */
decomp_fn decomp_unxz;          /* xz, CRC32 or no check, x86 BCJ */
decomp_fn decomp_unzstd;        /* zstd, one frame */
decomp_fn decomp_unlz4;         /* lz4 legacy format (lz4 -l), as kbuild */

#endif
