// The Platform Abstraction Layer contract: every function the agent imports.
//
// All imports come from the WebAssembly module "pal". The C declarations in
// pal/include/csmp_pal.h and the Node host's implementation (host/pal.ts) match
// this file one for one; a test compares them.
//
// Conventions (they hold for every function below):
// - Pointers are offsets into the agent's linear memory. A (ptr, len) pair is
//   borrowed for the duration of the call only: the host copies what it keeps.
// - IPv6 addresses are 16 bytes in network order. IPv4 peers are carried as
//   IPv4-mapped addresses (::ffff:a.b.c.d).
// - Sizes and lengths are bytes; times are milliseconds (monotonic) or POSIX
//   seconds (wall clock), as named.
// - A negative i32 result is an error; the agent logs it and carries on. One
//   numbering for every function, so a logged code means the same thing on
//   every platform: -1 failed (store_read: no such record), -2 bad argument
//   (key, pointer outside memory, address), -3 I/O, -4 out of range, -5 no
//   such slot, -6 not allowed on the running slot, -7 too large, -8 the
//   platform cannot (host/errors.ts, pal/include/csmp_pal.h).
// - No import calls back into the agent. Only fatal and reboot may leave the
//   agent's call without returning (a host unwinds the call: Node throws, WAMR
//   sets an exception); every other import returns.

// ---- log ----------------------------------------------------------------

/** Writes one log line (UTF-8, no newline). level: 0 error, 1 warn, 2 info, 3 debug. */
@external("pal", "log")
export declare function pal_log(level: i32, ptr: usize, len: i32): void;

/**
 * The agent hit a condition it cannot continue from (an AssemblyScript abort:
 * out of memory, failed assertion). msg is ASCII. The agent executes
 * `unreachable` right after this returns; the host should record the reason
 * and restart the agent from durable state, as after a watchdog reset.
 */
@external("pal", "fatal")
export declare function pal_fatal(ptr: usize, len: i32, line: i32, column: i32): void;

// ---- network --------------------------------------------------------------

/**
 * Sends one UDP datagram from the agent's CoAP port to addr (16 bytes) and
 * port. Returns 0 when handed to the stack, negative on error (no route,
 * buffer full); errors the stack reports later are only logged by the host.
 * Datagrams are never retried by the host.
 */
@external("pal", "udp_send")
export declare function pal_udp_send(addr: usize, port: i32, data: usize, len: i32): i32;

/**
 * Joins (join = 1) or leaves (join = 0) the IPv6 multicast group addr on the
 * agent's CoAP socket. Returns 0, or negative when the platform cannot.
 */
@external("pal", "udp_multicast")
export declare function pal_udp_multicast(addr: usize, join: i32): i32;

// ---- time -----------------------------------------------------------------

/**
 * Arms one-shot timer `id` (0..15) to fire after `ms` milliseconds; re-arming
 * a running timer restarts it. When it fires the host calls the export
 * `agent_timer(id)`. ms 0 fires at the host's next turn, never inside the
 * current call (the agent relies on that to send after an answer is built).
 */
@external("pal", "timer_arm")
export declare function pal_timer_arm(id: i32, ms: u32): void;

/** Cancels timer `id`; cancelling a timer that is not armed is not an error. */
@external("pal", "timer_cancel")
export declare function pal_timer_cancel(id: i32): void;

/** Monotonic milliseconds since an arbitrary origin; never goes backwards, never wraps. */
@external("pal", "clock_ms")
export declare function pal_clock_ms(): i64;

/** Wall clock in POSIX seconds, or -1 when the device has no trusted time yet. */
@external("pal", "wall_time")
export declare function pal_wall_time(): i64;

/**
 * Sets the wall clock (POSIX seconds), e.g. from an NMS CurrentTime; from
 * then on wall_time() is trusted. Returns 0, or negative when the platform's
 * clock cannot be set (the agent then keeps its own offset).
 */
@external("pal", "wall_time_set")
export declare function pal_wall_time_set(posix: i64): i32;

// ---- randomness -------------------------------------------------------------

/** Fills len bytes at ptr from the platform's random source (a TRNG or a CSPRNG seeded from one). */
@external("pal", "random")
export declare function pal_random(ptr: usize, len: i32): void;

// ---- durable storage --------------------------------------------------------

/**
 * Reads the durable record named by the ASCII key (1..32 chars) into buf.
 * Returns the record's full length (which may exceed cap: then only cap bytes
 * were copied), -1 when no such record exists, < -1 on a storage error.
 */
@external("pal", "store_read")
export declare function pal_store_read(key: usize, keyLen: i32, buf: usize, cap: i32): i32;

/**
 * Replaces the record atomically: after a power cut at any moment a later
 * store_read returns either the old or the new content, whole. len 0 stores
 * an empty record. Returns 0, or negative on error (old value kept).
 */
@external("pal", "store_write")
export declare function pal_store_write(key: usize, keyLen: i32, buf: usize, len: i32): i32;

/** Deletes the record; deleting a missing record is not an error. Returns 0 or negative. */
@external("pal", "store_erase")
export declare function pal_store_erase(key: usize, keyLen: i32): i32;

// ---- firmware slots -----------------------------------------------------------

/** Capacity in bytes of firmware slot `slot` (0 = running image), or -1 when it does not exist. */
@external("pal", "slot_size")
export declare function pal_slot_size(slot: i32): i32;

/** Erases slot `slot` (never the running one). Returns 0 or negative. */
@external("pal", "slot_erase")
export declare function pal_slot_erase(slot: i32): i32;

/** Writes len bytes at offset of the slot (never slot 0: -6). Returns 0 or negative (out of range, flash error). */
@external("pal", "slot_write")
export declare function pal_slot_write(slot: i32, offset: i32, data: usize, len: i32): i32;

/**
 * Reads len bytes at offset of the slot into buf. Returns the bytes read:
 * fewer than len only at the end of the slot; negative for an offset past it.
 */
@external("pal", "slot_read")
export declare function pal_slot_read(slot: i32, offset: i32, buf: usize, len: i32): i32;

/**
 * Marks `slot` as the image to boot next (the platform's boot loader swaps
 * it in and falls back to the previous image if it does not come up).
 * Returns 0 or negative. Takes effect at the next reboot.
 */
@external("pal", "slot_activate")
export declare function pal_slot_activate(slot: i32): i32;

/**
 * Restarts the device (the host: a new agent instance over the same durable
 * storage). reason is a SysResetStats-style code. Returns only on failure.
 */
@external("pal", "reboot")
export declare function pal_reboot(reason: i32): void;

// ---- crypto -----------------------------------------------------------------

/** Starts a SHA-256 computation (one at a time; a new start discards the old one). */
@external("pal", "sha256_start")
export declare function pal_sha256_start(): void;

/** Feeds len bytes into the running SHA-256. */
@external("pal", "sha256_update")
export declare function pal_sha256_update(data: usize, len: i32): void;

/** Finishes the SHA-256 and writes the 32-byte digest at out. */
@external("pal", "sha256_finish")
export declare function pal_sha256_finish(out: usize): void;

/**
 * Verifies an ECDSA P-256 signature (r, s: 32 bytes each, big-endian) over a
 * 32-byte SHA-256 digest with an uncompressed public key (65 bytes, 0x04|X|Y).
 * Returns 1 valid, 0 invalid (including r or s zero or not below the group
 * order), negative when the key is malformed.
 */
@external("pal", "ecdsa_p256_verify")
export declare function pal_ecdsa_p256_verify(pubKey: usize, digest: usize, r: usize, s: usize): i32;

// ---- platform-handled TLVs and network tests -----------------------------------

/**
 * Starts an ICMPv6 echo test toward dest (16 bytes): count echoes, intervalMs
 * apart. Returns 0 when started (the host calls agent_ping_done when it is
 * over), negative when the platform cannot ping (-8) or a test runs (-1).
 */
@external("pal", "ping")
export declare function pal_ping(dest: usize, count: i32, intervalMs: i32): i32;

/**
 * A TLV the platform applies itself, from a POST the agent accepted:
 * NetworkRole (141) for the mesh stack, or a vendor TLV (type 127 with the
 * vendor's pen and subtype). value/len is the TLV's value. Returns 0 when
 * applied, negative when refused (the agent logs it).
 */
@external("pal", "host_tlv")
export declare function pal_host_tlv(type: i32, pen: i32, subtype: i32, value: usize, len: i32): i32;
