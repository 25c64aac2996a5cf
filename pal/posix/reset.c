/*
 * pal.fatal and pal.reboot on this host: a process cannot reset itself the
 * way a chip does, so both record what happened; the WAMR binding then ends
 * the agent's call and main.c starts a new instance over the same state
 * directory, as a watchdog or a reset would.
 */
#include <stdio.h>

#include "host.h"

static reset_kind_t pending;
static int32_t reboot_reason;
static char fatal_reason[160];

void
csmp_pal_fatal(const uint8_t *msg, int32_t len, int32_t line, int32_t column)
{
    int n = len < 96 ? (int)len : 96; /* the agent's abort text is short */
    char text[100];

    for (int i = 0; i < n; i++)
        text[i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? (char)msg[i] : '?';
    text[n] = '\0';
    snprintf(fatal_reason, sizeof fatal_reason, "%s (line %d, column %d)", text,
             (int)line, (int)column);
    host_log(LOG_ERROR, "pal", "agent fatal: %s", fatal_reason);
    /* A fatal outranks a reboot asked for earlier in the same call. */
    pending = RESET_FATAL;
}

void
csmp_pal_reboot(int32_t reason)
{
    host_log(LOG_INFO, "pal", "agent asked to reboot (reason %d)", (int)reason);
    reboot_reason = reason;
    if (pending == RESET_NONE)
        pending = RESET_REBOOT;
}

reset_kind_t
reset_pending(void)
{
    return pending;
}

int32_t
reset_reboot_reason(void)
{
    return reboot_reason;
}

const char *
reset_fatal_reason(void)
{
    return fatal_reason;
}

void
reset_clear(void)
{
    pending = RESET_NONE;
    fatal_reason[0] = '\0';
}
