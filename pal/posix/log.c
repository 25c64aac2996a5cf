/*
 * Log lines on stderr, in the Node host's format (host/log.ts):
 *   2026-01-31T12:00:00.123Z INFO  agent: text
 * The timestamp is the system's wall clock even while the agent's wall clock
 * is untrusted: a person reading logs wants real time. Control characters
 * from the agent are shown as \xNN so a line stays one line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "host.h"

static int threshold = LOG_INFO;
static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void
log_set_threshold(int level)
{
    threshold = level;
}

static void
write_prefix(int level, const char *source)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %-5s %s: ", stamp, ts.tv_nsec / 1000000L,
            level_names[level], source);
}

static void
vlog(int level, const char *source, const char *fmt, va_list ap)
{
    if (level < LOG_ERROR || level > LOG_DEBUG)
        level = LOG_DEBUG;
    if (level > threshold)
        return;
    write_prefix(level, source);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void
host_log(int level, const char *source, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, source, fmt, ap);
    va_end(ap);
}

void
pal_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, "pal", fmt, ap);
    va_end(ap);
}

void
csmp_pal_log(int32_t level, const uint8_t *text, int32_t len)
{
    if (level < LOG_ERROR || level > LOG_DEBUG)
        level = LOG_DEBUG;
    if (level > threshold)
        return;
    write_prefix(level, "agent");
    for (int32_t i = 0; i < len; i++) {
        uint8_t c = text[i];
        if (c < 0x20 || c == 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputc('\n', stderr);
}
