/*
 * Force-included into every image object (-include). With -fpie, gcc reaches
 * external symbols through the GOT unless they are known to be local; a
 * static image at 0xFFFF83... cannot have those relaxed to absolute
 * addresses. Declaring everything hidden makes every access RIP-relative
 * (Xen does the same in xen/include/xen/compiler.h).
 */
#pragma GCC visibility push(hidden)
