/*
 * Restarting the agent after a fatal, a reboot or a trap, the same way in
 * both agent loops (pal/posix/main.c, pal/freertos/agent_task.c): the
 * crash-loop window, and what an instance's end takes with it.
 */
#include "agent.h"
#include "pal_common.h"

bool
restart_window_note(restart_window_t *w, int64_t now_ms)
{
    int kept = 0;
    for (int i = 0; i < w->count; i++)
        if (now_ms - w->times[i] < RESTART_WINDOW_MS)
            w->times[kept++] = w->times[i];
    w->count = kept;
    if (w->count == RESTART_LIMIT)
        return false;
    w->times[w->count++] = now_ms;
    return true;
}

void
agent_instance_end(void)
{
    /* What the old instance set up in the platform dies with it. */
    csmp_agent_deinstantiate();
    timers_cancel_all();
    net_leave_all_groups();
    crypto_reset();
    reset_clear();
}
