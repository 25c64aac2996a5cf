/*
 * The agent module under WAMR (agent.c): load, check, instantiate, and call
 * the entry points of assembly/index.ts. Platform neutral: a host program
 * (pal/posix/main.c, a FreeRTOS task) owns the event loop and calls these.
 *
 * One agent per process, as on a device, so the state is module-static.
 */
#ifndef CSMP_WAMR_AGENT_H
#define CSMP_WAMR_AGENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct csmp_agent_settings {
    /* Bytes for the interpreter's operand and frame stack (not the agent's
     * shadow stack, which lives in its linear memory). */
    uint32_t stack_size;
    /* Linear memory cap in 64 KiB pages; a module that starts bigger is
     * refused. 0: whatever the module declares. */
    uint32_t max_memory_pages;
} csmp_agent_settings_t;

typedef enum csmp_agent_result {
    CSMP_AGENT_OK = 0,
    /* The agent's call ended in an exception: pal.fatal, pal.reboot or a trap
     * (csmp_agent_error() has WAMR's text). Its state is suspect: restart it. */
    CSMP_AGENT_STOPPED = 1,
    /* The host could not make the call (no instance, bad argument). */
    CSMP_AGENT_ERROR = 2
} csmp_agent_result_t;

/* Starts WAMR with every runtime allocation in [pool, pool+size) and
 * registers the "pal" natives. */
bool csmp_agent_runtime_init(void *pool, uint32_t pool_size);
void csmp_agent_runtime_destroy(void);

/* Loads the module and checks that this host provides every import. WAMR
 * only reads the buffer (it may be const, in flash) and, under the fast
 * interpreter, not after this returns: a host may free it then. */
bool csmp_agent_load(uint8_t *wasm, uint32_t size);
void csmp_agent_unload(void);

/* A fresh instance of the loaded module: instantiates with heap 0 (an
 * AssemblyScript module manages its own heap), checks the exports and the
 * buffers they point at, and creates the execution environment. */
bool csmp_agent_instantiate(const csmp_agent_settings_t *settings);
void csmp_agent_deinstantiate(void);

/* Writes the configuration text into the agent's buffer and calls
 * agent_init; *init_rc receives its result (0 ok, negative: rejected). */
csmp_agent_result_t csmp_agent_start(const char *config, uint32_t len,
                                     int32_t *init_rc);

/* Where to put a received datagram (valid until the next agent call). */
uint8_t *csmp_agent_rx_buffer(uint32_t *cap);

/* A datagram of len bytes sits in the rx buffer. */
csmp_agent_result_t csmp_agent_datagram(uint32_t len, const uint8_t src[16],
                                        uint16_t src_port,
                                        const uint8_t dst[16],
                                        uint16_t dst_port);

/* Timer id has expired. */
csmp_agent_result_t csmp_agent_timer(int32_t id);

/* The host raises device event `code` (assembly/csmp/events.ts), optionally
 * naming a related TLV id (0: none); *result is agent_event's answer: 0, or
 * -1 for a code the agent does not know. */
csmp_agent_result_t csmp_agent_event(int32_t code, int32_t related_tlv,
                                     int32_t *result);

/* The ping test pal.ping started is over: echoes sent and answered, round
 * trip times in ms (0 when nothing came back), through agent_ping_done. */
csmp_agent_result_t csmp_agent_ping_done(int32_t sent, int32_t received, int32_t min_ms,
                                         int32_t mean_ms, int32_t max_ms, int32_t stdev_ms);

/* Applies len bytes of configuration lines (docs/device-config.md; later
 * lines override earlier ones) through agent_config_update; *result is its
 * answer: 0, negative (the agent logs why), -3 when the configuration buffer
 * is full (restart the agent with the whole text). */
csmp_agent_result_t csmp_agent_config_update(const char *lines, uint32_t len,
                                             int32_t *result);

/* What went wrong last (load, link, instantiate, or the agent's exception). */
const char *csmp_agent_error(void);

/* WAMR's pool use in bytes; false when unavailable. */
bool csmp_agent_pool_usage(uint32_t *total, uint32_t *free_now,
                           uint32_t *highmark);

#endif
