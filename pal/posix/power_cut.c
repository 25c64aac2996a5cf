/*
 * Power cuts for tests (--power-cut-at N[:torn], --journal-writes): the POSIX
 * counterpart of the Node host's FaultStorage (host/fault-storage.ts).
 *
 * Every durable write the PAL makes for the agent is counted, 1-based from
 * the start of the process: record write, record erase, slot write, slot
 * erase, slot activate, and the boot loader's swap of an activated slot
 * (slots_apply_pending_boot, at a start or a reboot). The swap is atomic
 * (one map file replaced), but the power can still go just before it, so
 * it is counted (as the Node host's FaultStorage counts it) and a cut can
 * fall between the agent's reboot and the swap. At write N the power goes:
 *   skip  the write does not happen at all;
 *   torn  a record write leaves what files_write_atomic leaves when the power
 *         fails mid-write (a temporary file holding the first half of the
 *         bytes, never renamed); a slot write lands its first half in the
 *         partition file. Erases, activations and the boot loader's swap
 *         have nothing to tear and are skipped.
 * Then the process ends at once through _exit(EXIT_POWER_CUT): no atexit
 * handlers, no stdio flush beyond the line already written, no clean-up,
 * no fsync of anything not yet synced. The next start sees the state
 * directory as a device sees its flash after the power comes back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "host.h"

static uint32_t cut_at;   /* 0: no cut armed */
static bool cut_torn;
static bool journal;
static uint32_t count;    /* durable writes so far in this process */
static char what[160];    /* the write being counted, for the last log line */

void
power_cut_configure(uint32_t at, bool torn, bool journal_writes)
{
    cut_at = at;
    cut_torn = torn;
    journal = journal_writes;
}

power_cut_t
power_cut_count(const char *fmt, ...)
{
    va_list ap;
    bool hit;

    /* Without either option this costs one increment per write. */
    count++;
    hit = cut_at != 0 && count == cut_at;
    if (!journal && !hit)
        return POWER_ON;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (journal)
        host_log(LOG_INFO, "power-cut", "durable write %u: %s", count, what);
    if (!hit)
        return POWER_ON;
    return cut_torn ? POWER_CUT_TORN : POWER_CUT_SKIP;
}

void
power_cut_now(long landed)
{
    if (landed < 0)
        host_log(LOG_WARN, "power-cut", "power lost at durable write %u (%s): not written",
                 count, what);
    else
        host_log(LOG_WARN, "power-cut", "power lost at durable write %u (%s): torn, %ld bytes landed",
                 count, what, landed);
    /* stderr is line buffered, so the line is out already; this only makes
     * sure of it. Nothing else is flushed, closed or synced. */
    fflush(stderr);
    _exit(EXIT_POWER_CUT);
}
