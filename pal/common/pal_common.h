/*
 * What the POSIX PAL (pal/posix/) and the FreeRTOS PAL (pal/freertos/) share
 * besides the WAMR binding (pal/wamr/): the mbedTLS crypto, the record key
 * rule and how the agent is restarted. Both builds compile every .c file
 * here but event_file.c, boot_map.c and icmp6_echo.c (each with its own
 * header), which only the two Linux programs (csmp-agent and the FreeRTOS
 * simulator) compile.
 */
#ifndef CSMP_PAL_COMMON_H
#define CSMP_PAL_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "csmp_pal.h"

/* ---- provided by each platform ------------------------------------------------ */

/* Levels of the PAL's own lines, pal.log's numbering. */
enum { PAL_LOG_ERROR = 0, PAL_LOG_WARN = 1, PAL_LOG_INFO = 2, PAL_LOG_DEBUG = 3 };
/* printf-style line from the PAL itself, source "pal" (any task). */
void pal_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What an agent instance set up in the platform, undone (agent_instance_end):
 * its armed timers, the multicast groups it joined, and the pal.fatal or
 * pal.reboot request its last call recorded. */
void timers_cancel_all(void);
void net_leave_all_groups(void);
void reset_clear(void);

/* ---- crypto_mbedtls.c: csmp_pal_sha256_* and csmp_pal_ecdsa_p256_verify --------- */

/* Forgets a running SHA-256 (an agent restart). */
void crypto_reset(void);
/* Also frees the P-256 group kept loaded between verifies (process exit;
 * a device never needs it). */
void crypto_shutdown(void);

/* ---- record_key.c --------------------------------------------------------------- */

/* A record key the contract allows: 1..CSMP_PAL_KEY_MAX characters of
 * [A-Za-z0-9._-] (so it is also a safe file name). The caller logs a refusal
 * (RECORD_KEY_BAD, with CSMP_PAL_KEY_MAX for its %d) and returns
 * CSMP_PAL_BAD_ARGUMENT. */
bool record_key_valid(const uint8_t *key, int32_t len);
#define RECORD_KEY_BAD "bad record key (need 1..%d chars of [A-Za-z0-9._-])"

/* ---- restart.c: restarting the agent ------------------------------------------------ */

/* More stops than RESTART_LIMIT within RESTART_WINDOW_MS: the agent cannot run. */
#define RESTART_LIMIT 5
#define RESTART_WINDOW_MS 60000

typedef struct restart_window {
    int64_t times[RESTART_LIMIT];
    int count;
} restart_window_t;

/* Counts a stop of the agent at now_ms; false when it is the
 * (RESTART_LIMIT + 1)th within the window: stop restarting. */
bool restart_window_note(restart_window_t *w, int64_t now_ms);

/* Ends the agent's instance before a restart: deinstantiates it, cancels its
 * timers, leaves its multicast groups, forgets a running SHA-256 and the
 * recorded fatal/reboot. The module stays loaded. */
void agent_instance_end(void);

#endif /* CSMP_PAL_COMMON_H */
