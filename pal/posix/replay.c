/*
 * --replay FILE: datagrams from a file instead of a socket, for measuring the
 * agent (scripts/bench/wamr.ts runs it under callgrind) without a network or
 * timers in the way. main.c delivers every record in order, then exits.
 *
 * The file is a sequence of records, all integers big-endian:
 *   u8   flags     bit 0: measured (its agent call is timed), others 0
 *   u8   src[16]   source IPv6 address
 *   u16  src_port
 *   u16  len
 *   u8   payload[len]
 * Unmeasured records set the agent up (a TransferRequest before blocks).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define HEADER_LEN 21
/* A replay is a benchmark input, not a capture: this bounds a typo'd path. */
#define MAX_FILE (64u * 1024u * 1024u)

static uint8_t *data;
static size_t size, at;

/* Reads the whole file and checks that its records fit it exactly. */
bool
replay_open(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (!f) {
        host_log(LOG_ERROR, "replay", "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || (size_t)n > MAX_FILE
        || fseek(f, 0, SEEK_SET) != 0) {
        host_log(LOG_ERROR, "replay", "%s: not a regular file of at most %u bytes", path, MAX_FILE);
        fclose(f);
        return false;
    }
    size = (size_t)n;
    data = malloc(size ? size : 1);
    if (!data || fread(data, 1, size, f) != size) {
        host_log(LOG_ERROR, "replay", "cannot read %s", path);
        fclose(f);
        replay_close();
        return false;
    }
    fclose(f);
    for (size_t p = 0; p < size;) {
        bool whole_header = size - p >= HEADER_LEN;
        size_t len = whole_header ? ((size_t)data[p + 19] << 8 | data[p + 20]) : 0;
        if (!whole_header || data[p] > 1 || size - p - HEADER_LEN < len) {
            host_log(LOG_ERROR, "replay", "%s: bad record at byte %zu (format: pal/posix/replay.c)",
                     path, p);
            replay_close();
            return false;
        }
        p += HEADER_LEN + len;
    }
    at = 0;
    return true;
}

bool
replay_next(replay_record_t *r)
{
    if (!data || at >= size)
        return false;
    r->measured = data[at] & 1;
    memcpy(r->src, data + at + 1, 16);
    r->src_port = (uint16_t)(data[at + 17] << 8 | data[at + 18]);
    r->len = (uint32_t)(data[at + 19] << 8 | data[at + 20]);
    r->payload = data + at + HEADER_LEN;
    at += HEADER_LEN + r->len;
    return true;
}

void
replay_close(void)
{
    free(data);
    data = NULL;
    size = at = 0;
}
