/*
 * The event file's format and how it is taken (event_file.h), shared by
 * csmp-agent's --event-file (pal/posix/events.c, taken on SIGUSR1) and the
 * FreeRTOS simulator's (pal/freertos/sim/events.c, taken on SIGUSR2):
 *
 *     # tamper, then IP address changed with related TLV 35
 *     3
 *     6 35
 *     ip.2.addr=2001:db8::7
 *
 * A line `CODE [RELATED_TLV]` (decimal; codes in assembly/csmp/events.ts,
 * e.g. 1 power outage, 2 power restored, 3 tamper, 6 IP address changed) is
 * a host event; a line starting with a letter and holding '=' is
 * configuration (docs/device-config.md); blank lines and lines starting with
 * '#' are skipped. Leading blanks and a CR before the newline are ignored.
 * Each line is handed on alone, in file order.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_file.h"
#include "pal_common.h" /* PAL_LOG_* */

/* One line being collected: room for the '\n' handed on and a NUL. */
typedef struct line_buf {
    char text[EVENT_FILE_LINE_MAX + 2];
    size_t used;
    bool too_long;
    int number;
} line_buf_t;

static void
say(const event_file_sink_t *sink, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(const event_file_sink_t *sink, int level, const char *fmt, ...)
{
    char text[PATH_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sink->log(level, text);
}

static char *
skip_blanks(char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Hands one complete line on; true when it was an event or configuration. */
static bool
hand_on(line_buf_t *l, const char *path, const event_file_sink_t *sink)
{
    char *p, *end;
    long code, tlv = 0;
    bool ok;

    if (l->too_long) {
        say(sink, PAL_LOG_WARN, "%s line %d: longer than %d bytes; skipped", path, l->number,
            EVENT_FILE_LINE_MAX);
        return false;
    }
    while (l->used > 0 && l->text[l->used - 1] == '\r')
        l->used--; /* a CRLF file */
    l->text[l->used] = '\0';
    p = skip_blanks(l->text);
    if (*p == '#' || *p == '\0')
        return false;
    if (isalpha((unsigned char)*p) && strchr(p, '=')) {
        size_t len = l->used - (size_t)(p - l->text);
        p[len++] = '\n'; /* the room kept for it */
        sink->config(p, (uint32_t)len);
        return true;
    }
    code = strtol(p, &end, 10);
    ok = end != p && code >= 0 && code <= INT32_MAX;
    p = skip_blanks(end);
    if (ok && isdigit((unsigned char)*p)) {
        tlv = strtol(p, &end, 10);
        ok = tlv <= INT32_MAX;
        p = skip_blanks(end);
    }
    if (!ok || *p != '\0') {
        say(sink, PAL_LOG_WARN, "%s line %d: want \"CODE [RELATED_TLV]\" in decimal; skipped",
            path, l->number);
        return false;
    }
    sink->event((int32_t)code, (int32_t)tlv);
    return true;
}

int
event_file_take(const char *path, const event_file_sink_t *sink)
{
    char taken[PATH_MAX + 16], chunk[256];
    line_buf_t line = { .used = 0 };
    int n = 0, fd;
    ssize_t got;

    if (snprintf(taken, sizeof taken, "%s.taking", path) >= (int)sizeof taken) {
        say(sink, PAL_LOG_WARN, "event file path too long: %s", path);
        return -1;
    }
    if (rename(path, taken) < 0) {
        if (errno == ENOENT)
            return EVENT_FILE_MISSING;
        say(sink, PAL_LOG_WARN, "cannot take %s: %s", path, strerror(errno));
        return -1;
    }
    do
        fd = open(taken, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        say(sink, PAL_LOG_WARN, "cannot read %s: %s", taken, strerror(errno));
        return -1;
    }
    for (;;) {
        got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            say(sink, PAL_LOG_WARN, "read %s: %s; the rest is dropped", taken, strerror(errno));
        if (got <= 0)
            break;
        for (ssize_t i = 0; i < got; i++) {
            if (chunk[i] == '\n') {
                line.number++;
                n += hand_on(&line, path, sink);
                line.used = 0;
                line.too_long = false;
            } else if (line.used < EVENT_FILE_LINE_MAX) {
                line.text[line.used++] = chunk[i];
            } else {
                line.too_long = true;
            }
        }
    }
    if (line.used > 0 || line.too_long) { /* the last line, without its newline */
        line.number++;
        n += hand_on(&line, path, sink);
    }
    close(fd);
    unlink(taken);
    return n;
}
