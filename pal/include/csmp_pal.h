/*
 * The Platform Abstraction Layer contract in C: one function per import of
 * the agent's "pal" module (assembly/pal.ts), same name prefixed csmp_pal_,
 * same argument order. A platform (pal/posix/, pal/freertos/) implements
 * these; the WAMR binding (pal/wamr/natives.c) turns the agent's calls into
 * calls of these functions.
 *
 * Conventions:
 * - Pointers are native pointers the binding already checked against the
 *   agent's linear memory. They are borrowed for the call only: copy what
 *   you keep. Lengths are bytes and never negative by the time they get here.
 * - IPv6 addresses are 16 bytes in network order; IPv4 peers appear as
 *   IPv4-mapped addresses (::ffff:a.b.c.d).
 * - Times are milliseconds on a monotonic clock, or POSIX seconds for the
 *   wall clock, as each name says.
 * - A negative int32_t result is an error (numbering below); the agent logs
 *   it and carries on. No function may call back into the agent; timers and
 *   datagrams are delivered later by the host's event loop.
 */
#ifndef CSMP_PAL_H
#define CSMP_PAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Negative results, one numbering for every function and every host (the
 * Node host uses the same values, host/errors.ts), so a logged code means the
 * same thing everywhere.
 */
enum csmp_pal_error {
    CSMP_PAL_FAILED = -1,       /* generic failure; store_read: no such record */
    CSMP_PAL_BAD_ARGUMENT = -2, /* bad key, address, port or id */
    CSMP_PAL_IO = -3,           /* the medium failed (I/O error, disk full) */
    CSMP_PAL_OUT_OF_RANGE = -4, /* outside a slot, or a record over the limit */
    CSMP_PAL_NO_SLOT = -5,      /* no such firmware slot */
    CSMP_PAL_RUNNING_SLOT = -6, /* not allowed on the running image (slot 0) */
    CSMP_PAL_TOO_LARGE = -7,    /* more than one datagram carries */
    CSMP_PAL_UNSUPPORTED = -8   /* the platform cannot do it */
};

/* Timer ids are 0 .. CSMP_PAL_TIMER_COUNT-1. */
#define CSMP_PAL_TIMER_COUNT 16
/* Record keys: 1..32 characters of [A-Za-z0-9._-]. */
#define CSMP_PAL_KEY_MAX 32

/* ---- log ------------------------------------------------------------------ */

/* One UTF-8 log line of len bytes, no newline. level: 0 error, 1 warn,
 * 2 info, 3 debug (anything else is treated as debug). */
void csmp_pal_log(int32_t level, const uint8_t *text, int32_t len);

/* The agent cannot continue (an AssemblyScript abort: out of memory, failed
 * assertion). msg is ASCII, line/column locate the abort in the agent source.
 * Record the reason; the binding then stops the agent's execution and the
 * host restarts it from durable state, as after a watchdog reset. */
void csmp_pal_fatal(const uint8_t *msg, int32_t len, int32_t line, int32_t column);

/* ---- network -------------------------------------------------------------- */

/* Sends one UDP datagram of len bytes from the agent's CoAP port to addr,
 * port. 0 once handed to the stack (never retried by the host), negative when
 * refused: BAD_ARGUMENT (unspecified address, port outside 1..65535),
 * TOO_LARGE, FAILED (no route, buffers full). */
int32_t csmp_pal_udp_send(const uint8_t addr[16], int32_t port, const uint8_t *data, int32_t len);

/* join 1: joins the IPv6 multicast group addr on the agent's CoAP socket;
 * join 0: leaves it. Joining twice or leaving a group never joined is fine.
 * 0, or BAD_ARGUMENT (not multicast) / UNSUPPORTED. */
int32_t csmp_pal_udp_multicast(const uint8_t addr[16], int32_t join);

/* ---- time ------------------------------------------------------------------ */

/* Arms one-shot timer id to fire ms milliseconds from now, replacing any
 * earlier arming of the same id. On expiry the host calls agent_timer(id);
 * ms 0 fires right after the current agent call returns. */
void csmp_pal_timer_arm(int32_t id, uint32_t ms);

/* Disarms timer id; disarming an idle timer is fine. */
void csmp_pal_timer_cancel(int32_t id);

/* Monotonic milliseconds from an arbitrary origin: never backwards, never wraps. */
int64_t csmp_pal_clock_ms(void);

/* Wall clock in POSIX seconds, or -1 while the device has no trusted time. */
int64_t csmp_pal_wall_time(void);

/* Sets the wall clock to posix seconds (e.g. the NMS's CurrentTime); from then
 * on csmp_pal_wall_time() is trusted. 0, or negative when the clock cannot be
 * set (the agent then keeps an offset itself). */
int32_t csmp_pal_wall_time_set(int64_t posix);

/* ---- randomness ---------------------------------------------------------------- */

/* Fills len bytes from a TRNG or a CSPRNG seeded from one. */
void csmp_pal_random(uint8_t *buf, int32_t len);

/* ---- durable storage -------------------------------------------------------------- */

/* Reads the record named by the ASCII key (key_len bytes, not terminated)
 * into buf. Returns the record's full length, which may exceed cap (then only
 * cap bytes were copied); FAILED (-1) when there is no such record; another
 * negative value on a storage error. */
int32_t csmp_pal_store_read(const uint8_t *key, int32_t key_len, uint8_t *buf, int32_t cap);

/* Replaces the record atomically: whatever moment power fails, a later read
 * sees the old or the new content, whole. len 0 stores an empty record.
 * 0, or negative with the old value kept. */
int32_t csmp_pal_store_write(const uint8_t *key, int32_t key_len, const uint8_t *data, int32_t len);

/* Deletes the record; a missing record is not an error. 0 or negative. */
int32_t csmp_pal_store_erase(const uint8_t *key, int32_t key_len);

/* ---- firmware slots ------------------------------------------------------------------ */

/* Capacity in bytes of slot (0 = the running image), -1 when there is none. */
int32_t csmp_pal_slot_size(int32_t slot);

/* Erases slot (never slot 0: RUNNING_SLOT). Erased bytes read as 0xFF. */
int32_t csmp_pal_slot_erase(int32_t slot);

/* Writes len bytes at offset of slot (not slot 0). 0, or negative:
 * OUT_OF_RANGE past the slot's capacity, NO_SLOT, IO. */
int32_t csmp_pal_slot_write(int32_t slot, int32_t offset, const uint8_t *data, int32_t len);

/* Reads up to len bytes at offset of slot into buf (clipped at the slot's
 * end). Returns the number of bytes read, or negative. */
int32_t csmp_pal_slot_read(int32_t slot, int32_t offset, uint8_t *buf, int32_t len);

/* Marks slot as the image to boot next (0 cancels a pending activation). The
 * boot loader swaps it in at the next reboot and keeps the previous image for
 * a fallback. 0 or negative. */
int32_t csmp_pal_slot_activate(int32_t slot);

/* Restarts the device; reason is a SysResetStats-style code. A platform that
 * resets the chip here never returns. A host that restarts the agent in
 * process records the request and returns: the binding then stops the
 * agent's execution (the agent must not run on after a reboot) and the host
 * starts a new instance over the same durable storage. */
void csmp_pal_reboot(int32_t reason);

/* ---- crypto ----------------------------------------------------------------------- */

/* Starts a SHA-256 computation; one at a time, a new start drops the old one. */
void csmp_pal_sha256_start(void);

/* Feeds len bytes into the running SHA-256. */
void csmp_pal_sha256_update(const uint8_t *data, int32_t len);

/* Finishes the running SHA-256 and writes its 32-byte digest to out. */
void csmp_pal_sha256_finish(uint8_t out[32]);

/* Verifies an ECDSA P-256 signature (r, s: 32 bytes each, big-endian) over a
 * 32-byte digest with an uncompressed public key (65 bytes: 0x04 | X | Y).
 * 1 valid, 0 invalid, negative when the key is malformed or not on the curve. */
int32_t csmp_pal_ecdsa_p256_verify(const uint8_t pub_key[65], const uint8_t digest[32], const uint8_t r[32], const uint8_t s[32]);

/* ---- platform-handled TLVs and network tests --------------------------------------- */

/* Starts an ICMPv6 echo test toward dest: count echoes, interval_ms apart.
 * 0 when started (the host later calls the agent's agent_ping_done export),
 * CSMP_PAL_UNSUPPORTED when the platform cannot ping, CSMP_PAL_FAILED while
 * one runs. */
int32_t csmp_pal_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms);

/* A TLV the platform applies itself: NetworkRole (141) for the mesh stack, or
 * a vendor TLV (type 127 with the vendor's pen and subtype); value/len is the
 * TLV's value. 0 when applied, negative when refused. */
int32_t csmp_pal_host_tlv(int32_t type, int32_t pen, int32_t subtype, const uint8_t *value, int32_t len);

#ifdef __cplusplus
}
#endif

#endif /* CSMP_PAL_H */
