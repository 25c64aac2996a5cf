/*
 * The POSIX host's internal interfaces: what main.c needs from each part of
 * the platform besides the csmp_pal_* functions themselves.
 */
#ifndef CSMP_POSIX_HOST_H
#define CSMP_POSIX_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "csmp_pal.h"
#include "icmp6_echo.h" /* the test ping.c paces, and its result */
#include "pal_common.h" /* pal_log, crypto_reset, crypto_shutdown, ... */

/* Exit codes of csmp-agent (documented in pal/README.md). */
enum {
    EXIT_USAGE = 1,      /* bad command line, unreadable configuration file */
    EXIT_MODULE = 2,     /* agent.wasm missing, invalid, or not linkable */
    EXIT_CONFIG = 3,     /* the agent rejected its configuration, or init failed */
    EXIT_HOST = 4,       /* socket, state directory or other host resource */
    EXIT_CRASH_LOOP = 5, /* the agent kept stopping right after restarts */
    EXIT_POWER_CUT = 75  /* --power-cut-at: the simulated power cut happened */
};

/* ---- log.c ---------------------------------------------------------------- */
enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
/* Lines above this level are dropped (default LOG_INFO). */
void log_set_threshold(int level);
/* "<ISO-8601 UTC> <LEVEL> <source>: <text>" on stderr, the Node host's format. */
void host_log(int level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* pal_log (pal_common.h) is host_log with source "pal". */

/* ---- clock.c: monotonic clock, wall clock, agent timers ---------------------- */
int64_t clock_now_ms(void);
void wall_clock_init(bool trust_system_time);
/* Deadline (monotonic ms) of the earliest armed timer, or -1 when none is. */
int64_t timers_next_deadline(void);
/* Disarms and returns the id of the earliest timer due at now_ms, or -1. */
int timers_take_expired(int64_t now_ms);
/* timers_cancel_all: pal_common.h */

/* ---- net.c: the agent's CoAP socket ------------------------------------------- */
/* Binds [addr]:port (port 0: any free port). ifname may be NULL. */
bool net_open(const char *addr, uint16_t port, const char *ifname);
/* No socket (--replay): [addr]:port is only the agent's own address; sends
 * are checked like real ones, counted and dropped. */
bool net_open_offline(const char *addr, uint16_t port);
/* Datagrams the agent sent while offline. */
uint32_t net_offline_sent(void);
int net_fd(void);
uint16_t net_port(void);
/* The bound address (16 bytes; :: for a wildcard bind). */
const uint8_t *net_address(void);
/* Receives one datagram into buf. Returns its length, 0 when nothing is
 * waiting, -1 on a socket error; a datagram larger than cap is dropped
 * (logged) and reported as -2. */
int net_receive(uint8_t *buf, size_t cap, uint8_t src[16], uint16_t *src_port,
                uint8_t dst[16]);
/* net_leave_all_groups: pal_common.h */
void net_close(void);
/* Text form of an address into out (INET6_ADDRSTRLEN bytes). */
const char *net_format(const uint8_t addr[16], char *out, size_t cap);
/* The sin6_scope_id for a destination: --interface's index for link-local
 * and small-scope multicast addresses, else 0. */
uint32_t net_scope_for(const uint8_t addr[16]);

/* ---- ping.c: pal.ping, an ICMPv6 echo test run by the event loop ---------------- */
/* The running test's socket, for ppoll; -1 when none runs. */
int ping_fd(void);
/* When the test next needs the loop (a send, or its end), monotonic ms; -1 idle. */
int64_t ping_next_deadline(void);
/* Reads the replies waiting on ping_fd() (call right after ppoll: the RTT
 * ends when the reply is read). */
void ping_receive(void);
/* Sends what is due; true once, with *result filled, when the test is over. */
bool ping_run(icmp6_echo_result_t *result);
/* Drops a running test (the agent that asked for it is gone). */
void ping_cancel(void);

/* ---- files.c: power-cut-safe file replacement ----------------------------------- */
/* Writes path.tmp, fsyncs it, renames it over path, fsyncs the directory.
 * 0, or -errno (the old file is kept). */
int files_write_atomic(const char *path, const uint8_t *data, size_t len);
/* Writes all of data at offset at (retrying short writes and EINTR); 0 or -errno. */
int files_pwrite_all(int fd, const uint8_t *data, size_t len, off_t at);
/* fsync of the directory holding an entry that was added or removed. */
int files_sync_dir(const char *dir);
/* What files_write_atomic leaves when the power fails mid-write: path.tmp
 * holding the first keep bytes of data, not synced, never renamed. */
void files_write_torn(const char *path, const uint8_t *data, size_t keep);
/* Removes *.tmp left in dir by a crash between write and rename. */
void files_remove_stale(const char *dir);
/* mkdir -p for one or two levels; 0 or -errno. */
int files_make_dir(const char *dir);

/* ---- store.c / slots.c: durable storage under the state directory --------------- */
bool store_open(const char *state_dir);
#define SLOTS_MAX 8
bool slots_open(const char *state_dir, const uint32_t *sizes, int count);
/* The boot loader's step before (re)starting the agent: swaps a pending
 * activated slot into slot 0. Returns the slot swapped in, 0 when none was
 * pending, negative on failure (logged; the old image stays). */
int slots_apply_pending_boot(void);

/* ---- power_cut.c: --power-cut-at N[:torn], --journal-writes (tests) ------------- */
typedef enum {
    POWER_ON = 0,   /* go ahead with the write */
    POWER_CUT_SKIP, /* the power goes before it: call power_cut_now(-1) */
    POWER_CUT_TORN  /* do part of it (half), then power_cut_now(bytes landed) */
} power_cut_t;
/* at: the 1-based durable write that loses power (0: none); torn: tear it
 * rather than skip it; journal_writes: log every counted write. */
void power_cut_configure(uint32_t at, bool torn, bool journal_writes);
/* Counts one durable write of the agent's, described by fmt ("record-write
 * KEY N bytes", "slot-write S @OFF N bytes", ...), before it is made. */
power_cut_t power_cut_count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs the cut (landed < 0: the write never happened; else the bytes of the
 * torn write that did) and ends the process with EXIT_POWER_CUT, no clean-up. */
void power_cut_now(long landed) __attribute__((noreturn));

/* ---- replay.c: --replay FILE, datagrams without a socket (benchmarks) ---------- */
typedef struct replay_record {
    bool measured;
    uint8_t src[16];
    uint16_t src_port;
    uint32_t len;
    const uint8_t *payload; /* inside the file buffer, valid until replay_close */
} replay_record_t;
/* Loads and checks the whole file (format in replay.c); false after logging why. */
bool replay_open(const char *path);
bool replay_next(replay_record_t *r);
void replay_close(void);

/* ---- events.c: host events and configuration lines from a file, on SIGUSR1 -------- */
/* Takes the event file (format in events.c) and calls deliver per event line,
 * configure per key=value line (with its newline). Returns the number of
 * lines handed on, -1 when the file could not be taken. */
int events_take(const char *path, void (*deliver)(int32_t code, int32_t related_tlv),
                void (*configure)(const char *line, uint32_t len));

/* ---- reset.c: what pal.fatal and pal.reboot recorded --------------------------------- */
typedef enum { RESET_NONE = 0, RESET_FATAL, RESET_REBOOT } reset_kind_t;
reset_kind_t reset_pending(void);
int32_t reset_reboot_reason(void);
const char *reset_fatal_reason(void);
/* reset_clear: pal_common.h */

#endif
