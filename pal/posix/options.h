/*
 * csmp-agent's command line (options.c) and the device configuration text it
 * hands the agent (docs/device-config.md).
 */
#ifndef CSMP_POSIX_OPTIONS_H
#define CSMP_POSIX_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

typedef struct options {
    const char *module_path;  /* --module (default build/agent.wasm) */
    const char *config_path;  /* --config FILE, or NULL */
    const char *eui64;        /* --eui64: 16 hex digits */
    const char *nms_url;      /* --nms coap://[addr]:port */
    const char *bind_addr;    /* --bind (default ::) */
    uint16_t port;            /* --port (default 61628; 0 = any free port) */
    const char *ifname;       /* --interface, or NULL */
    const char *state_dir;    /* --state (default .agent-state) */
    uint32_t slot_sizes[SLOTS_MAX];
    int slot_count;           /* --slot-sizes N,N,... (default 3 x 512 KiB) */
    bool trust_system_time;   /* --trust-system-time */
    uint32_t pool_bytes;      /* --pool-kib (default 256) */
    uint32_t stack_bytes;     /* --stack (default 8192) */
    uint32_t max_pages;       /* --max-pages (default 1) */
    int log_level;            /* --log-level (default info) */
    const char *replay_path;  /* --replay FILE: datagrams from a file, no socket */
    const char *event_path;   /* --event-file FILE: host events, read on SIGUSR1 */
    uint32_t power_cut_at;    /* --power-cut-at N[:torn]: lose power at durable write N (0: never) */
    bool power_cut_torn;      /*   ...tearing that write rather than skipping it */
    bool journal_writes;      /* --journal-writes: log every durable write */
} options_t;

/* Fills o from argv; on a usage error prints why and returns false. --help
 * prints the usage and exits 0. */
bool options_parse(int argc, char **argv, options_t *o);

/* The configuration text: the --config file's content (if any) followed by
 * lines for the flags given, which override it. malloc'd, NUL-terminated;
 * NULL after logging why. */
char *options_config_text(const options_t *o, size_t *len);

#endif
