/*
 * What the platform tells a running agent, from outside the process: host
 * events (power outage, tamper, ...) for its agent_event export, and
 * configuration changes (a new address, a new NMS) for agent_config_update.
 * With --event-file FILE, an operator or a script appends lines to FILE and
 * sends SIGUSR1:
 *
 *     echo 3 >> /run/csmp/events && kill -USR1 <pid>                 # tamper
 *     echo ip.2.addr=2001:db8::7 >> /run/csmp/events && kill -USR1 <pid>
 *
 * A line `CODE [RELATED_TLV]` (decimal; codes in assembly/csmp/events.ts,
 * e.g. 1 power outage, 2 power restored, 3 tamper, 6 IP address changed) is
 * an event; a `key=value` line is configuration (docs/device-config.md);
 * blank lines and lines starting with '#' are skipped. The file is taken
 * whole by renaming it first, so lines appended while it is being read wait
 * for the next signal instead of being lost.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

static char *
skip_blanks(char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

int
events_take(const char *path, void (*deliver)(int32_t code, int32_t related_tlv),
            void (*configure)(const char *line, uint32_t len))
{
    char taken[4096 + 16], line[512];
    FILE *f;
    int n = 0, line_no = 0;

    if (snprintf(taken, sizeof taken, "%s.taking", path) >= (int)sizeof taken) {
        host_log(LOG_WARN, "events", "event file path too long: %s", path);
        return -1;
    }
    if (rename(path, taken) < 0) {
        int err = errno;
        if (err == ENOENT)
            host_log(LOG_INFO, "events", "SIGUSR1 but no events in %s", path);
        else
            host_log(LOG_WARN, "events", "cannot take %s: %s", path, strerror(err));
        return err == ENOENT ? 0 : -1;
    }
    f = fopen(taken, "r");
    if (!f) {
        host_log(LOG_WARN, "events", "cannot read %s: %s", taken, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *p = skip_blanks(line), *end;
        long code, tlv = 0;
        bool ok;
        line_no++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        if (isalpha((unsigned char)*p) && strchr(p, '=')) {
            size_t len = strlen(p);
            bool room = (size_t)(p - line) + len + 2 <= sizeof line;
            if (p[len - 1] != '\n' && feof(f) && room) {
                p[len++] = '\n'; /* the last line, without its newline */
                p[len] = '\0';
            } else if (p[len - 1] != '\n') {
                host_log(LOG_WARN, "events", "%s line %d: longer than %zu bytes; skipped", path,
                         line_no, sizeof line - 2);
                while (fgets(line, sizeof line, f) && !strchr(line, '\n'))
                    ; /* the rest of the long line */
                continue;
            }
            configure(p, (uint32_t)len);
            n++;
            continue;
        }
        code = strtol(p, &end, 10);
        ok = end != p && code >= 0 && code <= INT32_MAX;
        p = skip_blanks(end);
        if (ok && isdigit((unsigned char)*p)) {
            tlv = strtol(p, &end, 10);
            ok = tlv <= INT32_MAX;
            p = skip_blanks(end);
        }
        if (!ok || (*p != '\n' && *p != '\0')) {
            host_log(LOG_WARN, "events", "%s line %d: want \"CODE [RELATED_TLV]\" in decimal; skipped",
                     path, line_no);
            continue;
        }
        deliver((int32_t)code, (int32_t)tlv);
        n++;
    }
    fclose(f);
    unlink(taken);
    return n;
}
