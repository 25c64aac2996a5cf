/*
 * Time for the agent: CLOCK_MONOTONIC for clock_ms and timers (immune to
 * clock changes), and a wall clock that stays untrusted (-1) until the agent
 * sets it from the NMS, unless the operator vouches for the system clock
 * (--trust-system-time).
 *
 * Timers are deadlines in a fixed table; the event loop in main.c sleeps
 * until the nearest one and fires the due ones between agent calls, so a
 * timer never interrupts the agent.
 */
#include <time.h>

#include "host.h"

/* Wall-clock values beyond ~2^40 s cannot be real (same bound as the Node host). */
#define MAX_POSIX_SECONDS (1LL << 40)

static int64_t deadlines[CSMP_PAL_TIMER_COUNT];
static bool armed[CSMP_PAL_TIMER_COUNT];

static bool wall_trusted;
/* Trusted wall time = CLOCK_REALTIME + offset (ms). Kept across agent
 * restarts, like a device's RTC across a warm reboot. */
static int64_t wall_offset_ms;

static int64_t
read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_now_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t
csmp_pal_clock_ms(void)
{
    return clock_now_ms();
}

void
wall_clock_init(bool trust_system_time)
{
    wall_trusted = trust_system_time;
    wall_offset_ms = 0;
}

int64_t
csmp_pal_wall_time(void)
{
    if (!wall_trusted)
        return -1;
    int64_t ms = read_ms(CLOCK_REALTIME) + wall_offset_ms;
    return ms < 0 ? 0 : ms / 1000;
}

int32_t
csmp_pal_wall_time_set(int64_t posix)
{
    if (posix < 0 || posix > MAX_POSIX_SECONDS) {
        host_log(LOG_WARN, "pal", "wall_time_set: implausible time %lld",
                 (long long)posix);
        return CSMP_PAL_BAD_ARGUMENT;
    }
    /* Setting the system clock would need privileges and disturb the whole
     * machine; an offset gives the agent the same answer. */
    wall_offset_ms = posix * 1000 - read_ms(CLOCK_REALTIME);
    wall_trusted = true;
    return 0;
}

static bool
check_timer(int32_t id)
{
    if (id >= 0 && id < CSMP_PAL_TIMER_COUNT)
        return true;
    host_log(LOG_ERROR, "pal", "timer id %d outside 0..%d", (int)id,
             CSMP_PAL_TIMER_COUNT - 1);
    return false;
}

void
csmp_pal_timer_arm(int32_t id, uint32_t ms)
{
    if (!check_timer(id))
        return;
    deadlines[id] = clock_now_ms() + ms;
    armed[id] = true;
}

void
csmp_pal_timer_cancel(int32_t id)
{
    if (!check_timer(id))
        return;
    armed[id] = false;
}

int64_t
timers_next_deadline(void)
{
    int64_t next = -1;
    for (int i = 0; i < CSMP_PAL_TIMER_COUNT; i++)
        if (armed[i] && (next < 0 || deadlines[i] < next))
            next = deadlines[i];
    return next;
}

int
timers_take_expired(int64_t now_ms)
{
    int best = -1;
    /* Earliest deadline first; equal deadlines in id order. */
    for (int i = 0; i < CSMP_PAL_TIMER_COUNT; i++)
        if (armed[i] && deadlines[i] <= now_ms
            && (best < 0 || deadlines[i] < deadlines[best]))
            best = i;
    if (best >= 0)
        armed[best] = false;
    return best;
}

void
timers_cancel_all(void)
{
    for (int i = 0; i < CSMP_PAL_TIMER_COUNT; i++)
        armed[i] = false;
}
