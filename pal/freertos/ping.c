/*
 * pal.ping on FreeRTOS: the board's network stack runs the ICMPv6 echo test
 * (csmp_vendor_ping starts it, from the agent task) and its network task
 * reports the end with csmp_freertos_ping_done(). The result reaches the
 * agent through the inbox, as everything from another task does, so only
 * the agent task ever enters WAMR.
 *
 * One test at a time, for the PAL as a whole: from the moment a test is
 * handed to the board until the agent task has taken its result, pal.ping
 * answers CSMP_PAL_FAILED (the agent logs that it could not start one). So
 * at most one result ever waits: in `result` here, with one place kept for
 * it in the inbox. A board's own check is then only a second line of
 * defence.
 *
 * Instances: the agent may restart (fatal, trap, a reboot done in place)
 * while the board still pings, and a board has no way to stop a test. The
 * new instance never asked for it, so the result is dropped, logged, as the
 * POSIX host drops a running test at a restart (pal/posix/main.c). Each
 * test remembers the instance that started it; the agent task compares when
 * the result comes out of the inbox.
 */
#include "FreeRTOS.h"
#include "task.h"

#include "csmp_freertos.h"
#include "internal.h"

typedef enum { PING_IDLE, PING_RUNNING, PING_DONE } ping_state_t;

/* state and result are shared with the board's task: a critical section
 * guards them. owner and instance are the agent task's alone. */
static ping_state_t state;
static ping_result_t result;
static uint32_t owner;    /* the instance that started the current test */
static uint32_t instance; /* bumped at every boot of the agent */

/* Board hook (weak default: this board cannot ping). vendor_hooks.h. */
__attribute__((weak)) int32_t
csmp_vendor_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    (void)dest; (void)count; (void)interval_ms;
    return CSMP_PAL_UNSUPPORTED;
}

int32_t
csmp_pal_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    bool idle;
    int32_t rc;

    if (count < 1 || interval_ms < 0)
        return CSMP_PAL_BAD_ARGUMENT;
    taskENTER_CRITICAL();
    idle = state == PING_IDLE;
    /* Running before the hook is called: a board may end a test (a send
     * refused at once, say) before its hook has returned. */
    if (idle)
        state = PING_RUNNING;
    taskEXIT_CRITICAL();
    if (!idle) {
        /* The agent logs the refusal; only this cause is worth a word. */
        if (owner != instance)
            pal_log(CSMP_LOG_WARN, "ping refused: the board still runs the test an earlier agent instance started");
        return CSMP_PAL_FAILED;
    }
    owner = instance;
    rc = csmp_vendor_ping(dest, count, interval_ms);
    if (rc == 0)
        return 0;
    taskENTER_CRITICAL();
    if (state == PING_RUNNING)
        state = PING_IDLE; /* nothing started, nothing will end */
    taskEXIT_CRITICAL();
    return rc < 0 ? rc : CSMP_PAL_FAILED;
}

/* What the agent can take: counts and times never negative, no more
 * answered than sent (the agent stores them unsigned). */
static int32_t
at_least_0(int32_t v)
{
    return v < 0 ? 0 : v;
}

bool
csmp_freertos_ping_done(int32_t sent, int32_t received, int32_t min_ms, int32_t mean_ms,
                        int32_t max_ms, int32_t stdev_ms)
{
    bool running;

    sent = at_least_0(sent);
    received = at_least_0(received);
    if (received > sent)
        received = sent;
    taskENTER_CRITICAL();
    running = state == PING_RUNNING;
    if (running) {
        result.sent = sent;
        result.received = received;
        result.min_ms = at_least_0(min_ms);
        result.mean_ms = at_least_0(mean_ms);
        result.max_ms = at_least_0(max_ms);
        result.stdev_ms = at_least_0(stdev_ms);
        state = PING_DONE;
    }
    taskEXIT_CRITICAL();
    if (!running) {
        pal_log(CSMP_LOG_WARN, "ping result (%d sent, %d received) dropped: no ping test is running",
                (int)sent, (int)received);
        return false;
    }
    inbox_post_ping();
    return true;
}

void
ping_new_instance(void)
{
    instance++;
}

bool
ping_take(ping_result_t *out)
{
    bool done;

    taskENTER_CRITICAL();
    done = state == PING_DONE;
    if (done) {
        *out = result;
        state = PING_IDLE; /* from here on pal.ping may start the next test */
    }
    taskEXIT_CRITICAL();
    if (!done)
        return false; /* cannot happen: only a finished test is queued */
    if (owner != instance) {
        pal_log(CSMP_LOG_INFO,
                "ping result (%d sent, %d received) dropped: the agent restarted since it asked for the test",
                (int)out->sent, (int)out->received);
        return false;
    }
    pal_log(CSMP_LOG_INFO, "ping over: %d sent, %d received, rtt min/mean/max/stdev %d/%d/%d/%d ms",
            (int)out->sent, (int)out->received, (int)out->min_ms, (int)out->mean_ms,
            (int)out->max_ms, (int)out->stdev_ms);
    return true;
}
