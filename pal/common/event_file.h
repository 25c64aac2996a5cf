/*
 * The event file of the two Linux programs, csmp-agent (pal/posix) and the
 * FreeRTOS simulator (pal/freertos/sim): how host events and configuration
 * lines get from an operator or a test into a running agent. Each program
 * decides when to take the file (a signal) and what to do with each line;
 * the format and the taking are here, once (event_file.c).
 *
 * Not part of the FreeRTOS PAL proper: it uses POSIX file calls, so only
 * those two programs compile it.
 */
#ifndef CSMP_EVENT_FILE_H
#define CSMP_EVENT_FILE_H

#include <stdint.h>

/* The longest line taken, without its newline; longer ones are skipped. */
#define EVENT_FILE_LINE_MAX 510

/* event_file_take: there was no file to take. */
#define EVENT_FILE_MISSING (-2)

typedef struct event_file_sink {
    /* A `CODE [RELATED_TLV]` line (related TLV 0 when absent). */
    void (*event)(int32_t code, int32_t related_tlv);
    /* A `key=value` line: len bytes from the key to the '\n', included (a
     * last line without one gets it), as agent_config_update wants them. */
    void (*config)(const char *line, uint32_t len);
    /* A skipped line or a file problem: pal.log's level, one line of text. */
    void (*log)(int level, const char *text);
} event_file_sink_t;

/*
 * Takes path (renamed to path.taking first, so lines appended meanwhile wait
 * for the next take instead of being lost), hands its lines to sink in
 * order, then deletes it. Returns the number of lines handed on,
 * EVENT_FILE_MISSING when there is no file, -1 when it could not be taken
 * (logged). Uses no stdio and no heap: the FreeRTOS simulator calls it from
 * a task, where a libc lock held across a task switch could deadlock.
 */
int event_file_take(const char *path, const event_file_sink_t *sink);

#endif /* CSMP_EVENT_FILE_H */
