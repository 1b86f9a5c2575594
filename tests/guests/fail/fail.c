/*
 * fail - a guest that must be reported as FAILED: proves the runners read
 * the RESULT line and do not mistake a clean shutdown for a pass.
 */
#include "guest.h"

void test_main(void)
{
    int two = 2;

    printk("fail guest: about to fail one check on purpose\n");
    check(two == 2, "arithmetic broke");
    check(two + two == 5, "deliberate failure: %d + %d != 5", two, two);
}
