/* Console capture for unit tests (fake_console.h). */
#include <string.h>
#include <minishim/console.h>
#include "fake_console.h"

char fake_console_out[FAKE_CONSOLE_OUT_SIZE];

static void capture(const char *s, size_t len)
{
    size_t used = strlen(fake_console_out);

    if (used + len < sizeof(fake_console_out)) {
        memcpy(fake_console_out + used, s, len);
        fake_console_out[used + len] = '\0';
    }
}

void fake_console_capture(void)
{
    fake_console_out[0] = '\0';
    console_add_sink("test", capture);
}
