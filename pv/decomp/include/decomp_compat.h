/*
 * The few kernel definitions Linux's lib/ decompressors (xz, zlib_inflate,
 * zstd, lz4, xxhash, from Debian's linux-source-6.1) need, so they build
 * freestanding into the shim image (newlib's string.h) and hosted into the
 * unit tests (glibc's). Every linux/ and asm/ header under decomp/include/
 * is this file; the decompressors' own headers (linux/xz.h, linux/zlib.h,
 * linux/zstd.h, linux/lz4.h, ...) come unchanged from the kernel tree.
 * Not a decompressor: types, byte access helpers and no-op annotations.
 */
#ifndef DECOMP_COMPAT_H
#define DECOMP_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int32_t __s32;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
typedef uint32_t __be32;

#define __init
#define __initdata
#define __force
#define __always_inline inline __attribute__((__always_inline__))
#define noinline __attribute__((__noinline__))
#define __maybe_unused __attribute__((__unused__))
#define __aligned(x) __attribute__((__aligned__(x)))
#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define EXPORT_SYMBOL(s)
#define EXPORT_SYMBOL_GPL(s)
#define MODULE_LICENSE(s)
#define MODULE_DESCRIPTION(s)
#define MODULE_AUTHOR(s)
#define BUILD_BUG_ON(c) _Static_assert(!(c), #c)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define pr_debug(...) do { } while (0)
#define pr_err(...) do { } while (0)
#define printk(...) do { } while (0)
#define KERN_ERR ""
#define GFP_KERNEL 0
#ifndef INT_MAX
#define INT_MAX __INT_MAX__
#endif
#ifndef UINT_MAX
#define UINT_MAX (__INT_MAX__ * 2U + 1U)
#endif
#ifndef LONG_MAX
#define LONG_MAX __LONG_MAX__
#endif
#ifndef ULONG_MAX
#define ULONG_MAX (__LONG_MAX__ * 2UL + 1UL)
#endif
#define U32_MAX UINT32_MAX
#define U64_MAX UINT64_MAX
#define S32_MAX INT32_MAX
#ifndef CONFIG_64BIT
#define CONFIG_64BIT 1
#endif
#define BITS_PER_LONG 64
#define EINVAL 22
#define CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS 1
#define IS_ENABLED(option) ((option) + 0)

static inline u16 swab16(u16 x) { return __builtin_bswap16(x); }
static inline u32 swab32(u32 x) { return __builtin_bswap32(x); }
static inline u64 swab64(u64 x) { return __builtin_bswap64(x); }
#define __swab16 swab16
#define __swab32 swab32
#define __swab64 swab64
#define cpu_to_le32(x) ((u32)(x))
#define le32_to_cpu(x) ((u32)(x))
#define cpu_to_le16(x) ((u16)(x))
#define le16_to_cpu(x) ((u16)(x))
#define cpu_to_le64(x) ((u64)(x))
#define le64_to_cpu(x) ((u64)(x))

/* Unaligned access: x86 is little-endian; byte copies keep it legal C. */
#define __get_unaligned_t(type, ptr) ({ type __v; __builtin_memcpy(&__v, (ptr), sizeof(__v)); __v; })
#define __put_unaligned_t(type, val, ptr) ({ type __v = (val); __builtin_memcpy((ptr), &__v, sizeof(__v)); })
#define get_unaligned(ptr) __get_unaligned_t(__typeof__(*(ptr)), (ptr))
#define put_unaligned(val, ptr) __put_unaligned_t(__typeof__(*(ptr)), (val), (ptr))
static inline u16 get_unaligned_le16(const void *p) { return __get_unaligned_t(u16, p); }
static inline u32 get_unaligned_le32(const void *p) { return __get_unaligned_t(u32, p); }
static inline u64 get_unaligned_le64(const void *p) { return __get_unaligned_t(u64, p); }
static inline u32 get_unaligned_be32(const void *p) { return swab32(__get_unaligned_t(u32, p)); }
static inline void put_unaligned_le16(u16 v, void *p) { __put_unaligned_t(u16, v, p); }
static inline void put_unaligned_le32(u32 v, void *p) { __put_unaligned_t(u32, v, p); }
static inline void put_unaligned_le64(u64 v, void *p) { __put_unaligned_t(u64, v, p); }
static inline void put_unaligned_be32(u32 v, void *p) { __put_unaligned_t(u32, swab32(v), p); }

static inline u32 le32_to_cpup(const __le32 *p) { return *p; }
static inline u64 div_u64(u64 a, u32 b) { return a / b; }

/*
 * Allocation for the non-preboot paths (kmalloc/vmalloc): a bump heap the
 * caller hands over per run (decomp_heap_set), freed as a whole.
 */
struct decomp_heap { uintptr_t cur, end; };
static struct decomp_heap decomp_heap __attribute__((__unused__));
static inline void decomp_heap_set(void *p, size_t len)
{
    decomp_heap.cur = (uintptr_t)p;
    decomp_heap.end = (uintptr_t)p + len;
}
static inline void *decomp_heap_alloc(size_t n)
{
    uintptr_t p = (decomp_heap.cur + 15) & ~(uintptr_t)15;

    if (p > decomp_heap.end || n > decomp_heap.end - p)
        return NULL;
    decomp_heap.cur = p + n;
    return (void *)p;
}
#define kmalloc(n, f) decomp_heap_alloc(n)
#define vmalloc(n) decomp_heap_alloc(n)
#define kfree(p) ((void)(p))
#define vfree(p) ((void)(p))

#endif
