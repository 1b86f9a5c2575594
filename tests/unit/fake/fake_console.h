/* What the shim printed, for tests that check its log lines. */
#ifndef FAKE_CONSOLE_H
#define FAKE_CONSOLE_H

#include <stddef.h>

#define FAKE_CONSOLE_OUT_SIZE 8192
/* Everything printed since fake_console_capture(), NUL-terminated; output
 * that would not fit is dropped whole. */
extern char fake_console_out[FAKE_CONSOLE_OUT_SIZE];
/* Empty fake_console_out and add it as the console sink "test". */
void fake_console_capture(void);

#endif
