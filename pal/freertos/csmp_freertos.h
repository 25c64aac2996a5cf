/*
 * The OpenCSMP agent on FreeRTOS: what a board's start-up code calls.
 *
 * One agent task runs WAMR's fast interpreter over agent.wasm and is fed by
 * one queue: received datagrams, timer expiries and host events become calls
 * of the agent's entry points, one at a time, each run to completion. Every
 * kernel object, buffer and WAMR's whole heap (linear memory included) is a
 * static array sized at compile time (csmp_freertos_config.h): nothing is
 * allocated after start-up.
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

/* Raises device event code (power outage, join lost, ...: see agent_event in
 * assembly/index.ts) from any task. False when the inbox has no room. */
bool csmp_freertos_host_event(int32_t code, int32_t related_tlv);

#endif /* CSMP_FREERTOS_H */
