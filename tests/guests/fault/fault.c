/*
 * fault - a guest that takes an exception nobody expects: proves the trap
 * table is live and that an unexpected exception ends in a FAIL result
 * naming the vector (not a silent crash with no RESULT line).
 */
#include "guest.h"

void test_main(void)
{
    printk("fault guest: executing ud2 on purpose\n");
    asm volatile ("ud2");
    check(false, "execution continued after ud2");
}
