/*
 * Compile-time sizes of the FreeRTOS PAL. A board overrides any of them with
 * -D (or in FreeRTOSConfig.h, which is included first); the defaults fit the
 * current agent (build/agent.wasm, one 64 KiB page of linear memory).
 */
#ifndef CSMP_FREERTOS_CONFIG_H
#define CSMP_FREERTOS_CONFIG_H

#include "FreeRTOS.h"

/* WAMR's single heap: module structures, the precompiled fast-interpreter
 * code, the interpreter stack and the agent's linear memory (64 KiB). The
 * current agent (30 KB) uses 191 KiB at boot on a Cortex-M4 (109 KiB of it
 * after loading); the log reports the high mark after start. */
#ifndef CSMP_FREERTOS_POOL_BYTES
#define CSMP_FREERTOS_POOL_BYTES (208u * 1024u)
#endif

/* WAMR's operand and frame stack for the agent (taken from the pool). */
#ifndef CSMP_FREERTOS_WASM_STACK_BYTES
#define CSMP_FREERTOS_WASM_STACK_BYTES 8192u
#endif

/* Linear memory cap in 64 KiB pages: the agent declares 1, never grows. */
#ifndef CSMP_FREERTOS_MAX_PAGES
#define CSMP_FREERTOS_MAX_PAGES 1u
#endif

/* Native stack of the agent task, in StackType_t words. The interpreter's
 * main loop keeps a large frame; the log reports the high-water mark. */
#ifndef CSMP_FREERTOS_TASK_STACK_WORDS
#define CSMP_FREERTOS_TASK_STACK_WORDS 4096u
#endif

/* WAMR's native stack check against the agent task's stack (its lowest
 * address plus WASM_STACK_GUARD_SIZE). 0 where a task does not really run
 * on its FreeRTOS stack: the POSIX port runs each task on a pthread. */
#ifndef CSMP_FREERTOS_NATIVE_STACK_CHECK
#define CSMP_FREERTOS_NATIVE_STACK_CHECK 1
#endif

/* Received datagrams waiting for the agent: slots of RX_MAX bytes each
 * (1280, the IPv6 minimum MTU, is also the agent's rx buffer size). */
#ifndef CSMP_FREERTOS_RX_SLOTS
#define CSMP_FREERTOS_RX_SLOTS 4u
#endif
#ifndef CSMP_FREERTOS_RX_MAX
#define CSMP_FREERTOS_RX_MAX 1280u
#endif

/* Host events that may wait in the inbox at once. */
#ifndef CSMP_FREERTOS_HOST_EVENTS
#define CSMP_FREERTOS_HOST_EVENTS 4u
#endif

/* Configuration updates (csmp_freertos_config_update) that may wait in the
 * inbox at once, each copied into a static buffer of CONFIG_UPDATE_MAX
 * bytes: the text plus the newline the PAL adds when it lacks one. 256
 * holds the longest single line (nms.key=, 138 bytes) or a few address
 * lines; the agent's whole configuration buffer is 2048 bytes. */
#ifndef CSMP_FREERTOS_CONFIG_UPDATES
#define CSMP_FREERTOS_CONFIG_UPDATES 2u
#endif
#ifndef CSMP_FREERTOS_CONFIG_UPDATE_MAX
#define CSMP_FREERTOS_CONFIG_UPDATE_MAX 256u
#endif

/* Multicast groups the agent may have joined at once (left on restart). */
#ifndef CSMP_FREERTOS_GROUPS
#define CSMP_FREERTOS_GROUPS 8u
#endif

/* mbedTLS's private heap for bignums during an ECDSA verify and the P-256
 * table kept between verifies (a static buffer; mbedTLS never touches the
 * system heap). A verify needs 3.75 KiB of it on a Cortex-M4
 * (mbedtls_config.h). */
#ifndef CSMP_FREERTOS_MBEDTLS_HEAP_BYTES
#define CSMP_FREERTOS_MBEDTLS_HEAP_BYTES 8192u
#endif

#endif /* CSMP_FREERTOS_CONFIG_H */
