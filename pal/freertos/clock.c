/*
 * Clocks. Monotonic time is the FreeRTOS tick, widened to 64 bits with the
 * kernel's own overflow count, so it never wraps (a 32-bit tick at 1 kHz
 * would after 49 days) and timers (timers.c) share its time base exactly.
 * Wall time is the board's RTC.
 */
#include "FreeRTOS.h"
#include "task.h"

#include "internal.h"

uint64_t
clock_ticks64(void)
{
    TimeOut_t t;
    /* Public API that reads the tick count and the number of times it
     * overflowed together, inside one critical section. */
    vTaskSetTimeOutState(&t);
#if configTICK_TYPE_WIDTH_IN_BITS == TICK_TYPE_WIDTH_64_BITS
    return (uint64_t)t.xTimeOnEntering;
#elif configTICK_TYPE_WIDTH_IN_BITS == TICK_TYPE_WIDTH_32_BITS
    return ((uint64_t)(uint32_t)t.xOverflowCount << 32) | (uint64_t)t.xTimeOnEntering;
#else
#error "a 16-bit tick wraps too fast for the agent's clock; use 32 or 64 bits"
#endif
}

int64_t
csmp_pal_clock_ms(void)
{
    return (int64_t)(clock_ticks64() * 1000u / configTICK_RATE_HZ);
}

int64_t
csmp_pal_wall_time(void)
{
    return csmp_vendor_rtc_get();
}

int32_t
csmp_pal_wall_time_set(int64_t posix)
{
    return csmp_vendor_rtc_set(posix);
}
