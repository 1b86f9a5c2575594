/*
 * The only OS hook newlib's parts in the image need. The shim has no heap:
 * vsnprintf into a fixed buffer never allocates, but newlib's printf core
 * links malloc for its growable-buffer variants. sbrk therefore always
 * fails, so any accidental allocation returns NULL instead of corrupting
 * memory.
 */
#include <errno.h>
#include <stddef.h>

void *sbrk(ptrdiff_t increment);

void *sbrk(ptrdiff_t increment)
{
    (void)increment;
    errno = ENOMEM;
    return (void *)-1;
}
