/*
 * hang - a guest that never finishes: proves the runners' timeouts fire
 * and that a guest without a RESULT line is reported as failed.
 */
#include "guest.h"

void test_main(void)
{
    printk("hang guest: spinning forever on purpose\n");
    for (;;)
        asm volatile ("pause" ::: "memory");
}
