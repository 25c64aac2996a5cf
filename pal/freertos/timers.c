/*
 * csmp_pal_timer_arm / _cancel on FreeRTOS software timers: one static
 * one-shot timer per agent timer id. An expiry runs in the timer daemon,
 * which only queues the id; the agent task decides whether it is still due.
 *
 * Why the agent task re-checks: a timer command (re-arm, cancel) and an
 * expiry of the previous arming can cross in the daemon, so an expiry may
 * arrive for a timer that was cancelled or moved. The deadline kept here is
 * the truth; an early or stale expiry is dropped or re-armed for the rest.
 * That also carries waits longer than one FreeRTOS period can express
 * (2^32 ticks is 49 days at 1 kHz): they run as several segments.
 *
 * All state below is touched by the agent task only (the daemon reads the
 * timer's id, which never changes).
 */
#include "FreeRTOS.h"
#include "task.h"
#include "timers.h"

#include "internal.h"

/* Longest single FreeRTOS period we use; longer waits are split. */
#define SEGMENT_MAX_TICKS ((TickType_t)0x3fffffff)

static StaticTimer_t timer_buf[CSMP_PAL_TIMER_COUNT];
static TimerHandle_t timer[CSMP_PAL_TIMER_COUNT];
static uint64_t deadline[CSMP_PAL_TIMER_COUNT]; /* in clock_ticks64() ticks */
static uint32_t armed;                          /* bit per id */
static uint32_t due_now;                        /* armed with 0 ms */

static void
on_expiry(TimerHandle_t t)
{
    inbox_post_timer((int)(uintptr_t)pvTimerGetTimerID(t));
}

void
timers_init(void)
{
    for (int i = 0; i < CSMP_PAL_TIMER_COUNT; i++) {
        timer[i] = xTimerCreateStatic("csmp", 1, pdFALSE, (void *)(uintptr_t)i, on_expiry,
                                      &timer_buf[i]);
        configASSERT(timer[i]);
    }
}

/* Starts (or restarts) timer id for min(ticks, SEGMENT_MAX_TICKS). */
static void
start_segment(int id, uint64_t ticks)
{
    TickType_t period = ticks > SEGMENT_MAX_TICKS ? SEGMENT_MAX_TICKS : (TickType_t)ticks;
    /* Block time 0: the agent task must never wait on the daemon. The
     * daemon's command queue holds two commands per timer, so this only
     * fails if the daemon is starved, which the log must show. */
    if (xTimerChangePeriod(timer[id], period, 0) != pdPASS)
        pal_log(CSMP_LOG_ERROR, "timer %d: the timer daemon's queue is full", id);
}

static bool
valid(int32_t id, const char *what)
{
    if (id >= 0 && id < CSMP_PAL_TIMER_COUNT)
        return true;
    pal_log(CSMP_LOG_WARN, "timer_%s: no timer %d (ids 0..%d)", what, (int)id,
            CSMP_PAL_TIMER_COUNT - 1);
    return false;
}

void
csmp_pal_timer_arm(int32_t id, uint32_t ms)
{
    if (!valid(id, "arm"))
        return;
    uint32_t bit = 1u << id;
    /* Rounded up: a timer never fires before its time. */
    uint64_t ticks = ((uint64_t)ms * configTICK_RATE_HZ + 999u) / 1000u;
    deadline[id] = clock_ticks64() + ticks;
    armed |= bit;
    if (ticks == 0) {
        /* "Right after the current call returns": no need for the daemon. */
        due_now |= bit;
        (void)xTimerStop(timer[id], 0);
        return;
    }
    due_now &= ~bit;
    start_segment(id, ticks);
}

void
csmp_pal_timer_cancel(int32_t id)
{
    if (!valid(id, "cancel"))
        return;
    armed &= ~(1u << id);
    due_now &= ~(1u << id);
    (void)xTimerStop(timer[id], 0);
}

int
timers_on_expiry(int id)
{
    uint32_t bit = 1u << id;
    if (!(armed & bit))
        return -1; /* cancelled, or already delivered */
    uint64_t now = clock_ticks64();
    if (now < deadline[id]) {
        start_segment(id, deadline[id] - now); /* stale or intermediate */
        return -1;
    }
    armed &= ~bit;
    return id;
}

int
timers_take_due_now(void)
{
    for (int id = 0; id < CSMP_PAL_TIMER_COUNT; id++) {
        uint32_t bit = 1u << id;
        if (due_now & bit) {
            due_now &= ~bit;
            armed &= ~bit;
            return id;
        }
    }
    return -1;
}

bool
timers_due_now_pending(void)
{
    return due_now != 0;
}

void
timers_cancel_all(void)
{
    for (int id = 0; id < CSMP_PAL_TIMER_COUNT; id++)
        (void)xTimerStop(timer[id], 0);
    armed = 0;
    due_now = 0;
}
