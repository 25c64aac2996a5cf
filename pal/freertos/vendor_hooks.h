/*
 * What a board port gives the FreeRTOS PAL: the few things only the vendor's
 * SDK knows (its IP stack, its flash and NV driver, its RTC and TRNG, its
 * console). Everything else (timers, the agent task, key and bounds checks,
 * crypto) is ours and the same on every board.
 *
 * Rules for every hook:
 * - Called from task context, never from an ISR; each call may block
 *   briefly (a flash erase) but must not wait for the network.
 * - Results follow include/csmp_pal.h: 0 (or a length) on success, a
 *   negative CSMP_PAL_* code otherwise. A hook the board cannot provide
 *   returns CSMP_PAL_UNSUPPORTED.
 * - Arguments were checked already: keys are 1..CSMP_PAL_KEY_MAX characters
 *   of [A-Za-z0-9._-] (NUL-terminated here), slot ranges lie inside
 *   csmp_vendor_slot_size(), lengths are never negative.
 * - No hook may allocate after start-up, and none calls back into the PAL
 *   except the UDP receive callback and csmp_freertos_ping_done() (both
 *   below).
 * - csmp_vendor_ping and csmp_vendor_host_tlv are optional: the PAL has
 *   weak defaults (no ping; NetworkRole logged, vendor TLVs refused).
 *
 * pal/freertos/sim/ implements these for Linux (the CI proof), and
 * pal/cortex-m/ for the QEMU MPS2 board (RAM-backed storage, no network).
 */
#ifndef CSMP_VENDOR_HOOKS_H
#define CSMP_VENDOR_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "csmp_pal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- UDP -------------------------------------------------------------------- */

/*
 * Called by the board's IP stack for every datagram to the agent's port,
 * from the stack's own task (not an ISR). src/dst are IPv6 (IPv4 as
 * ::ffff:a.b.c.d), 16 bytes each; dst is the address the datagram was sent
 * to (unicast or a joined multicast group). The PAL copies the datagram
 * before returning, or drops it when its receive slots are full.
 */
typedef void (*csmp_vendor_udp_rx_fn)(const uint8_t *data, uint32_t len,
                                      const uint8_t src[16], uint16_t src_port,
                                      const uint8_t dst[16]);

/* Binds the agent's UDP port (0: any free port) and registers on_rx.
 * Returns the bound port (1..65535) or a negative code. Called once. */
int32_t csmp_vendor_udp_open(uint16_t port, csmp_vendor_udp_rx_fn on_rx);

/* Sends one datagram from the agent's port. 0 once handed to the stack. */
int32_t csmp_vendor_udp_send(const uint8_t dst[16], uint16_t dst_port,
                             const uint8_t *data, uint32_t len);

/* Joins (join true) or leaves an IPv6 multicast group on the agent's port. */
int32_t csmp_vendor_udp_multicast(const uint8_t group[16], bool join);

/* ---- network test and platform TLVs (optional) ----------------------------------- */

/*
 * Starts an ICMPv6 echo test for a PingRequest: count echoes to dest
 * (1..20 from the agent), interval_ms apart. Called in the agent task, only
 * when no earlier test is running or waiting to be reported (the PAL keeps
 * it to one at a time), so it must only hand the test to the board's
 * network task and return: 0 when started, CSMP_PAL_UNSUPPORTED when the
 * board cannot ping, another negative code when it cannot start one now.
 *
 * The network task sends the echoes and, once every reply is in or the
 * wait after the last request is over (the simulator waits max(2 s,
 * interval), as the POSIX host), calls csmp_freertos_ping_done()
 * (csmp_freertos.h) exactly once, with sent (every request, a refused one
 * included), received (distinct requests answered) and the answered
 * round trips in ms: min, mean, max, population standard deviation, all 0
 * when none came back. That call only queues the result; the agent task
 * hands it to the agent, which POSTs the PingResponse.
 *
 * If the agent restarts while a test runs, let the test finish and report
 * it all the same: the PAL drops the result, logged (the new instance never
 * asked for it), and until then refuses the new instance's pings.
 * pal/freertos/sim/ping.c (the test itself in pal/common/icmp6_echo.c) is a
 * complete example on Linux sockets.
 */
int32_t csmp_vendor_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms);

/* Applies a NetworkRole (type 141) or vendor TLV (127, with the vendor's pen
 * and subtype); value/len is the TLV's value. 0 applied, negative refused. */
int32_t csmp_vendor_host_tlv(int32_t type, int32_t pen, int32_t subtype,
                             const uint8_t *value, int32_t len);

/* ---- firmware slots (flash) ---------------------------------------------------- */

/* Capacity of slot in bytes (slot 0 is the running image), -1 if none. */
int32_t csmp_vendor_slot_size(int32_t slot);

/* Erases a whole slot (never 0) to 0xFF. */
int32_t csmp_vendor_slot_erase(int32_t slot);

/* Programs len bytes at offset of slot (never 0); the range was erased. */
int32_t csmp_vendor_slot_write(int32_t slot, uint32_t offset,
                               const uint8_t *data, uint32_t len);

/* Reads len bytes at offset of slot; the range lies inside the slot. */
int32_t csmp_vendor_slot_read(int32_t slot, uint32_t offset, uint8_t *buf,
                              uint32_t len);

/* Tells the boot loader to boot slot next (0: cancel a pending swap). */
int32_t csmp_vendor_slot_activate(int32_t slot);

/* ---- records (NV key/value store) ------------------------------------------------ */

/* Copies up to cap bytes of record key into buf and returns the record's
 * full length; CSMP_PAL_FAILED (-1) when there is no such record. */
int32_t csmp_vendor_record_read(const char *key, uint8_t *buf, uint32_t cap);

/* Replaces record key with len bytes, atomically across power loss. */
int32_t csmp_vendor_record_write(const char *key, const uint8_t *data,
                                 uint32_t len);

/* Deletes record key; a missing record is not an error. */
int32_t csmp_vendor_record_erase(const char *key);

/* ---- wall clock (RTC) ------------------------------------------------------------- */

/* POSIX seconds from the RTC, or -1 while it holds no trusted time. (The
 * monotonic clock is the FreeRTOS tick: no hook needed.) */
int64_t csmp_vendor_rtc_get(void);

/* Sets the RTC; 0, or negative when it cannot be set. */
int32_t csmp_vendor_rtc_set(int64_t posix_seconds);

/* ---- TRNG ------------------------------------------------------------------------- */

/* Fills buf with len bytes from a TRNG (or a CSPRNG seeded from one).
 * 0, or negative when no entropy is available. */
int32_t csmp_vendor_trng(uint8_t *buf, uint32_t len);

/* ---- console and reset ------------------------------------------------------------- */

/* Log levels, as in csmp_pal_log. */
enum { CSMP_LOG_ERROR = 0, CSMP_LOG_WARN = 1, CSMP_LOG_INFO = 2, CSMP_LOG_DEBUG = 3 };

/* One log line: source ("agent", "pal", "wamr", ...) and len bytes of text,
 * no newline. May be called from any task; the board serialises. */
void csmp_vendor_log(int level, const char *source, const char *text,
                     uint32_t len);

/* Resets the device with a SysResetStats-style reason. A board that resets
 * the chip never returns; if this returns, the PAL restarts the agent in
 * place over the same storage. */
void csmp_vendor_reboot(int32_t reason);

#ifdef __cplusplus
}
#endif

#endif /* CSMP_VENDOR_HOOKS_H */
