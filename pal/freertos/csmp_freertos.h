/*
 * The OpenCSMP agent on FreeRTOS: what a board's start-up code calls, and
 * what its other tasks call to tell the agent about the device.
 *
 * One agent task runs WAMR's fast interpreter over agent.wasm and is fed by
 * one queue: received datagrams, timer expiries, host events, configuration
 * updates and ping results become calls of the agent's entry points, one at
 * a time, each run to completion, in that task only. Every kernel object,
 * buffer and WAMR's whole heap (linear memory included) is a static array
 * sized at compile time (csmp_freertos_config.h): nothing is allocated after
 * start-up.
 *
 * The board provides vendor_hooks.h and a FreeRTOSConfig.h that enables
 * static allocation, software timers and mutexes (see pal/README.md).
 */
#ifndef CSMP_FREERTOS_H
#define CSMP_FREERTOS_H

#include <stdbool.h>
#include <stdint.h>

#include "FreeRTOS.h"

typedef struct csmp_freertos_settings {
    /* agent.wasm; may sit in flash: WAMR copies the little it keeps (data
     * segments, names) into its pool and never writes to the module. Must
     * stay readable forever (the agent is re-instantiated after a fatal). */
    const uint8_t *wasm;
    uint32_t wasm_size;
    /* The device configuration text (docs/device-config.md), kept by
     * reference like the module. */
    const char *config;
    uint32_t config_len;
    /* The agent's CoAP UDP port; 0 lets the board pick one. */
    uint16_t udp_port;
    /* Priority of the agent task. The timer daemon should run above it so
     * timer commands never pile up. */
    UBaseType_t priority;
} csmp_freertos_settings_t;

/* Creates the inbox, the timers and the agent task (all static). Call once,
 * before or after vTaskStartScheduler. False when settings are unusable. */
bool csmp_freertos_start(const csmp_freertos_settings_t *settings);

/*
 * Raises device event code (power outage, join lost, ...: codes in
 * assembly/csmp/events.ts, agent_event in assembly/index.ts) with the id of
 * a related TLV (0: none). Any task, not an ISR; never blocks. The event is
 * queued and the agent task delivers it, logging "host event N raised" (or
 * "unknown to the agent"). False, logged, when CSMP_FREERTOS_HOST_EVENTS
 * events are waiting already or the agent is not started.
 */
bool csmp_freertos_host_event(int32_t code, int32_t related_tlv);

/*
 * Hands the agent a configuration update: len bytes of `key=value` lines
 * (docs/device-config.md; e.g. "ip.2.addr=2001:db8::7\n" when the device
 * gets an address, "nms.url=..." for a new NMS), applied over the text
 * already in use (later lines win). Any task, not an ISR; never blocks.
 *
 * The text is copied into one of CSMP_FREERTOS_CONFIG_UPDATES static
 * buffers of CSMP_FREERTOS_CONFIG_UPDATE_MAX bytes (csmp_freertos_config.h;
 * a '\n' is added when the text does not end with one and counts), so the
 * caller may reuse it at once. The agent task applies it through
 * agent_config_update and logs "configuration update <first line>
 * applied", or why the agent refused it; a changed ip.* or nms.url restarts
 * registration. False, logged, when the text is empty or too long, when
 * every buffer is waiting already, or when the agent is not started.
 *
 * The agent keeps every update in its 2048-byte configuration buffer; once
 * that is full it refuses further updates (logged): restart the device with
 * a configuration holding them. Updates last until the agent restarts: an
 * in-place restart (fatal, trap, a reboot the board's hook returns from)
 * starts again from settings.config, as a reset starts from whatever
 * configuration the board passes at boot, so a board that wants a change to
 * last stores it there too.
 */
bool csmp_freertos_config_update(const char *lines, uint32_t len);

/*
 * Ends the ping test csmp_vendor_ping() started (vendor_hooks.h): echoes
 * sent and answered, and the round trips of the answered ones in ms (min,
 * mean, max, population standard deviation; all 0 when none came back).
 * The board's network task calls it once per test, when every reply is in
 * or its wait for the last one is over. Any task, not an ISR (it may even
 * be called inside csmp_vendor_ping, for a test over at once); never
 * blocks: the result is copied.
 *
 * The agent task hands the result to the agent (agent_ping_done), which
 * POSTs the PingResponse to the NMS and serves it to GETs; a reboot, fatal
 * or trap in that call restarts the agent as in any other. Until then
 * pal.ping refuses a new test: one at a time. Logged there: "ping over: ..."
 * with the numbers, or, when the agent restarted since it asked for the
 * test, "ping result ... dropped" (the new instance never asked; the POSIX
 * host drops its test at a restart too).
 *
 * False, logged, when no test is running (none was started, or its end was
 * reported already). Negative numbers are taken as 0, received at most sent.
 */
bool csmp_freertos_ping_done(int32_t sent, int32_t received, int32_t min_ms,
                             int32_t mean_ms, int32_t max_ms, int32_t stdev_ms);

#endif /* CSMP_FREERTOS_H */
