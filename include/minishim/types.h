/*
 * Basic types shared by every layer. Frame and address types are opaque
 * structs (Hafnium style) so that a guest frame number can never be used
 * where a shim physical address is expected without an explicit conversion.
 */
#ifndef MINISHIM_TYPES_H
#define MINISHIM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

typedef struct { uint64_t pa; } paddr_t;   /* shim physical address        */
typedef struct { uint64_t va; } vaddr_t;   /* virtual address              */
typedef struct { uint64_t mfn; } mfn_t;    /* machine (= shim physical) frame */

static inline paddr_t pa(uint64_t x) { return (paddr_t){ x }; }
static inline vaddr_t va(uint64_t x) { return (vaddr_t){ x }; }
static inline mfn_t mfn(uint64_t x) { return (mfn_t){ x }; }
static inline mfn_t paddr_to_mfn(paddr_t p) { return mfn(p.pa >> PAGE_SHIFT); }
static inline paddr_t mfn_to_paddr(mfn_t m) { return pa(m.mfn << PAGE_SHIFT); }

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#ifndef __noreturn
#define __noreturn __attribute__((noreturn))
#endif
#ifndef __packed
#define __packed __attribute__((packed))
#endif
#ifndef __aligned
#define __aligned(x) __attribute__((aligned(x)))
#endif
#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif
#ifndef __unused
#define __unused __attribute__((unused))
#endif

#endif
