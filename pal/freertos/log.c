/*
 * Log lines to the board's console (csmp_vendor_log): the agent's own lines
 * (pal.log) and the PAL's. Formatting happens in a small buffer on the
 * caller's stack, so any task may log and nothing is allocated.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* Longer PAL lines are cut; the agent's lines are passed through whole. */
#define PAL_LINE_MAX 160

void
pal_log(int level, const char *fmt, ...)
{
    char line[PAL_LINE_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    csmp_vendor_log(level, "pal", line, (uint32_t)n);
}

void
csmp_pal_log(int32_t level, const uint8_t *text, int32_t len)
{
    if (level < CSMP_LOG_ERROR || level > CSMP_LOG_DEBUG)
        level = CSMP_LOG_DEBUG;
    csmp_vendor_log((int)level, "agent", (const char *)text, (uint32_t)len);
}
