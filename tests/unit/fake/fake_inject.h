/* Arming one fault-injection point from a test, as inject= would. */
#ifndef FAKE_INJECT_H
#define FAKE_INJECT_H

#include <string.h>
#include <minishim/inject.h>

/* Point p alone, for n uses (INJECT_COUNT_ALWAYS: every time); every
 * other point off. inject_init(NULL) disarms. */
static inline void fake_inject_arm(enum inject_point p, uint32_t n)
{
    struct inject_config c;

    memset(&c, 0, sizeof(c));
    c.count[p] = n;
    inject_init(&c);
}

#endif
