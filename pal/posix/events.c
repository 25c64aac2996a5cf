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
 * `CODE [RELATED_TLV]` is an event, `key=value` is configuration, '#'
 * starts a comment line. The file is taken whole by renaming it first, so
 * lines appended while it is being read wait for the next signal. Format
 * and taking are pal/common/event_file.c, shared with the FreeRTOS
 * simulator.
 */
#include "event_file.h"
#include "host.h"

static void
log_line(int level, const char *text)
{
    host_log(level, "events", "%s", text);
}

int
events_take(const char *path, void (*deliver)(int32_t code, int32_t related_tlv),
            void (*configure)(const char *line, uint32_t len))
{
    const event_file_sink_t sink = { .event = deliver, .config = configure, .log = log_line };
    int n = event_file_take(path, &sink);
    if (n == EVENT_FILE_MISSING) {
        host_log(LOG_INFO, "events", "SIGUSR1 but no events in %s", path);
        return 0;
    }
    return n;
}
