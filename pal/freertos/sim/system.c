/*
 * The simulator's console, RTC, TRNG and reset hooks.
 *
 * The POSIX port switches tasks with signals at any point, so a task must
 * not hold a libc-internal lock when it loses the CPU (stdio, malloc and
 * gmtime take some). Log lines are therefore formatted into a buffer and
 * written with one write(2), and the UTC time is computed here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void
civil_date(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void
write_line(int level, const char *source, const char *text, size_t len)
{
    char line[1400];
    struct timespec ts;
    int y, mo, d, n;

    if (level < CSMP_LOG_ERROR || level > CSMP_LOG_DEBUG)
        level = CSMP_LOG_DEBUG;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t secs = (int64_t)ts.tv_sec;
    civil_date(secs / 86400, &y, &mo, &d);
    int64_t day = secs % 86400;
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", y, mo, d,
                 (int)(day / 3600), (int)(day / 60 % 60), (int)(day % 60),
                 (int)(ts.tv_nsec / 1000000), level_names[level], source);
    if (n < 0)
        return;
    if (len > sizeof line - (size_t)n - 1)
        len = sizeof line - (size_t)n - 1;
    memcpy(line + n, text, len);
    line[(size_t)n + len] = '\n';
    for (size_t off = 0, total = (size_t)n + len + 1; off < total;) {
        ssize_t w = write(STDERR_FILENO, line + off, total - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

void
csmp_vendor_log(int level, const char *source, const char *text, uint32_t len)
{
    write_line(level, source, text, len);
}

void
sim_log(int level, const char *source, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n >= 0)
        write_line(level, source, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

/* ---- RTC: untrusted until the agent sets it (or --trust-system-time), then
 * an offset from CLOCK_MONOTONIC, so the host's clock is never changed ------ */

static bool rtc_set;
static int64_t rtc_offset_ms; /* wall milliseconds minus CLOCK_MONOTONIC milliseconds */

static int64_t
read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sim_rtc_trust_system_time(void)
{
    /* A board whose RTC was set at the factory: the system clock, trusted. */
    rtc_offset_ms = read_ms(CLOCK_REALTIME) - read_ms(CLOCK_MONOTONIC);
    rtc_set = true;
}

int64_t
csmp_vendor_rtc_get(void)
{
    if (!rtc_set)
        return -1;
    int64_t ms = read_ms(CLOCK_MONOTONIC) + rtc_offset_ms;
    return ms < 0 ? 0 : ms / 1000;
}

int32_t
csmp_vendor_rtc_set(int64_t posix_seconds)
{
    /* The host's clock is never changed; a device would set its RTC. Times
     * beyond ~2^40 s cannot be real (the POSIX host's bound). */
    if (posix_seconds < 0 || posix_seconds > (1LL << 40))
        return CSMP_PAL_BAD_ARGUMENT;
    rtc_offset_ms = posix_seconds * 1000 - read_ms(CLOCK_MONOTONIC);
    rtc_set = true;
    return 0;
}

/* ---- TRNG ---------------------------------------------------------------------- */

int32_t
csmp_vendor_trng(uint8_t *buf, uint32_t len)
{
    for (uint32_t done = 0; done < len;) {
        ssize_t n = getrandom(buf + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CSMP_PAL_FAILED;
        done += (uint32_t)n;
    }
    return 0;
}

/* ---- reset ---------------------------------------------------------------------- */

void
csmp_vendor_reboot(int32_t reason)
{
    /* No chip to reset: the boot loader runs as after a reset (a firmware
     * load swaps its slot in), then returning makes the PAL restart the
     * agent in place, over the same state directory. */
    sim_log(CSMP_LOG_INFO, "sim", "reboot (reason %d): restarting the agent in place",
            (int)reason);
    sim_boot_loader();
}

void
sim_assert_failed(const char *file, int line)
{
    sim_log(CSMP_LOG_ERROR, "sim", "FreeRTOS assertion failed at %s:%d", file, line);
    abort();
}
