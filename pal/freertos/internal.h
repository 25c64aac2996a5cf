/*
 * Between the files of the FreeRTOS PAL; nothing here is for boards.
 *
 * Threading: everything runs in the agent task except the entry points that
 * say otherwise (the inbox posts, called from the IP stack's task, the timer
 * daemon and any task raising host events, configuration updates or the end
 * of a ping test).
 */
#ifndef CSMP_FREERTOS_INTERNAL_H
#define CSMP_FREERTOS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "FreeRTOS.h"

#include "csmp_freertos_config.h"
#include "csmp_pal.h"
#include "pal_common.h" /* pal_log, crypto_reset, record_key_valid, ... */
#include "vendor_hooks.h"

/* ---- log.c: pal_log (pal_common.h), any task ------------------------------ */

/* ---- inbox.c: the agent task's one queue ------------------------------------------- */

typedef enum { INBOX_DATAGRAM = 1, INBOX_TIMER, INBOX_HOST, INBOX_CONFIG, INBOX_PING } inbox_kind_t;

typedef struct inbox_event {
    uint8_t kind;  /* inbox_kind_t */
    uint8_t index; /* INBOX_DATAGRAM: rx slot; INBOX_TIMER: timer id; INBOX_CONFIG: text slot */
    int32_t code;  /* INBOX_HOST: event code and related TLV */
    int32_t tlv;
} inbox_event_t;

/* A received datagram as the rx slot holds it. */
typedef struct inbox_datagram {
    const uint8_t *data;
    uint32_t len;
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t src_port;
} inbox_datagram_t;

void inbox_init(void);
/* Copies a datagram into a free rx slot and queues it; false (dropped) when
 * every slot is taken. Any task. */
bool inbox_post_datagram(const uint8_t *data, uint32_t len, const uint8_t src[16],
                         uint16_t src_port, const uint8_t dst[16]);
/* Queues an expiry of timer id unless one is queued already. Timer daemon. */
void inbox_post_timer(int id);
/* Queues a host event; false when HOST_EVENTS are waiting already. Any task. */
bool inbox_post_host(int32_t code, int32_t tlv);
/* Copies len bytes of configuration text into a free text slot, with a '\n'
 * added when the text does not end with one (the agent appends each update
 * to its configuration text), and queues it. False when every slot is taken
 * or the text (with that '\n') is empty or over CONFIG_UPDATE_MAX; the
 * caller checks the sizes first to say which. Any task. */
bool inbox_post_config(const char *text, uint32_t len);
/* Queues the end of the ping test; its result waits in ping.c, and ping.c
 * lets only one wait at a time, so its place in the queue is kept. Any task. */
void inbox_post_ping(void);
/* Waits up to ticks for the next event. Agent task. */
bool inbox_wait(inbox_event_t *ev, TickType_t ticks);
/* The datagram in rx slot index, and its release once delivered. */
void inbox_datagram(uint8_t index, inbox_datagram_t *out);
void inbox_release(uint8_t index);
/* The configuration text in text slot index, and its release once applied. */
const char *inbox_config(uint8_t index, uint32_t *len);
void inbox_config_release(uint8_t index);

/* ---- ping.c: pal.ping through the board, its result back through the inbox ---------- */

typedef struct ping_result {
    int32_t sent, received, min_ms, mean_ms, max_ms, stdev_ms;
} ping_result_t;

/* A new agent instance starts: a test an earlier one started is no longer
 * its own. Agent task, at every boot. */
void ping_new_instance(void);
/* On INBOX_PING: the result, true when the running instance asked for it;
 * false (logged) when it is dropped. Agent task. */
bool ping_take(ping_result_t *out);

/* ---- timers.c --------------------------------------------------------------------- */

void timers_init(void);
/* An INBOX_TIMER event for id: returns id when it is due now, or -1 when it
 * was cancelled, re-armed later, or is a long wait's intermediate wake-up. */
int timers_on_expiry(int id);
/* A timer armed with 0 ms (due without going through the daemon), or -1;
 * timers_due_now_pending() says whether one is waiting. */
int timers_take_due_now(void);
bool timers_due_now_pending(void);
/* timers_cancel_all: pal_common.h */

/* ---- clock.c ---------------------------------------------------------------------- */

/* The FreeRTOS tick count extended to 64 bits (never wraps). Any task. */
uint64_t clock_ticks64(void);

/* ---- net.c ------------------------------------------------------------------------ */

/* Opens the agent's UDP port; the bound port, or 0 on failure. */
uint16_t net_open(uint16_t port);
uint16_t net_port(void);
/* net_leave_all_groups: pal_common.h */

/* ---- crypto.c: the TRNG and mbedTLS's static heap --------------------------------- */

/* Hands mbedTLS its heap; before the agent task starts. */
void crypto_init(void);

/* ---- wamr/platform.c ------------------------------------------------------------- */

/* The lowest address of the agent task's stack, for WAMR's native stack
 * check (NULL: no check). */
void csmp_wamr_set_stack_boundary(uint8_t *lowest);

/* ---- reset.c: fatal and reboot requests from the agent's current call -------------- */

typedef enum { RESET_NONE, RESET_FATAL, RESET_REBOOT } reset_kind_t;
reset_kind_t reset_pending(void);
const char *reset_reason(void);
/* reset_clear: pal_common.h */

#endif /* CSMP_FREERTOS_INTERNAL_H */
