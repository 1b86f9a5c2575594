/*
 * The fuzz input as a stream of little-endian integers, shared by every
 * target (tests/fuzz/fuzz_*.c): reading past the end yields zeros, so a
 * short input is still a complete (if dull) test case and no target has
 * to check lengths.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in { const uint8_t *p; size_t n; };

static inline uint8_t u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t u16(struct in *in)
{
    uint16_t lo = u8(in);

    return (uint16_t)(lo | u8(in) << 8);
}

static inline uint64_t u64(struct in *in)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v |= (uint64_t)u8(in) << (8 * i);
    return v;
}

#endif
