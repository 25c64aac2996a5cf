/*
 * pal.fatal and pal.reboot: both end the agent's current call (the WAMR
 * binding raises an exception after they return). What happens next is
 * decided by the agent task once the call has unwound: a fresh instance over
 * the same storage, as after a watchdog reset. A board whose reboot hook
 * resets the chip never gets that far.
 */
#include <stdio.h>

#include "internal.h"

static reset_kind_t pending;
static char reason[96];

void
csmp_pal_fatal(const uint8_t *msg, int32_t len, int32_t line, int32_t column)
{
    if (len > 64)
        len = 64;
    snprintf(reason, sizeof reason, "%.*s at %d:%d", (int)len, (const char *)msg, (int)line,
             (int)column);
    pal_log(CSMP_LOG_ERROR, "agent fatal: %s", reason);
    pending = RESET_FATAL;
}

void
csmp_pal_reboot(int32_t code)
{
    snprintf(reason, sizeof reason, "reboot, reason %d", (int)code);
    pal_log(CSMP_LOG_INFO, "agent asked for a reboot (reason %d)", (int)code);
    pending = RESET_REBOOT;
    csmp_vendor_reboot(code);
}

reset_kind_t
reset_pending(void)
{
    return pending;
}

const char *
reset_reason(void)
{
    return reason;
}

void
reset_clear(void)
{
    pending = RESET_NONE;
    reason[0] = '\0';
}
