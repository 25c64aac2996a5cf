/*
 * The ICMPv6 echo test (PingRequest) of the two Linux programs: csmp-agent
 * (pal/posix/ping.c, paced by its ppoll event loop) and the FreeRTOS
 * simulator (pal/freertos/sim/ping.c, paced by a FreeRTOS task). What a
 * test is, is here once (icmp6_echo.c): the socket, the echo requests,
 * which replies count, the round-trip statistics and the lines saying so.
 * When requests go out, how replies are waited for and read, and where the
 * result goes stay with each program.
 *
 * Not part of the FreeRTOS PAL proper: it uses Linux sockets, so only those
 * two programs compile it (the Cortex-M image does not).
 */
#ifndef CSMP_ICMP6_ECHO_H
#define CSMP_ICMP6_ECHO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Echoes per test at most. The agent asks for at most 20
 * (assembly/csmp/ping.ts); room to spare. */
#define ICMP6_ECHO_MAX 64
/* The random payload every echo of a test carries. */
#define ICMP6_ECHO_COOKIE_LEN 8
/* Random bytes icmp6_echo_open takes: the identifier (2), then the cookie. */
#define ICMP6_ECHO_RANDOM_LEN (2 + ICMP6_ECHO_COOKIE_LEN)
/* Datagrams read per round at most, so foreign traffic cannot keep a host
 * from its other work. */
#define ICMP6_ECHO_READ_BURST 16

/* How a program logs: pal.log's levels (PAL_LOG_*), a source ("ping"
 * here), printf-style text; host_log and sim_log as they are. */
typedef void icmp6_echo_log_fn(int level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A test. Between tests only fd (-1) means anything: ICMP6_ECHO_IDLE. */
typedef struct icmp6_echo {
    int fd;
    bool raw;
    uint8_t dest[16];
    char dest_text[INET6_ADDRSTRLEN];
    uint32_t scope;
    int32_t count;
    int32_t interval_ms;
    icmp6_echo_log_fn *log;
    uint16_t ident;
    uint8_t cookie[ICMP6_ECHO_COOKIE_LEN];
    int32_t sent;         /* requests attempted: the next sequence number */
    int32_t taken;        /* requests the kernel accepted */
    int32_t received;     /* distinct requests answered */
    bool send_error_told; /* one line per test for refused sends */
    int64_t sent_us[ICMP6_ECHO_MAX];
    int64_t rtt_us[ICMP6_ECHO_MAX];
    bool answered[ICMP6_ECHO_MAX];
} icmp6_echo_t;

#define ICMP6_ECHO_IDLE { .fd = -1 }

/* What the agent's agent_ping_done takes. */
typedef struct icmp6_echo_result {
    int32_t sent, received;                    /* echo requests, distinct replies */
    int32_t min_ms, mean_ms, max_ms, stdev_ms; /* all 0 when nothing came back */
} icmp6_echo_result_t;

/* Microseconds on clock id: CLOCK_MONOTONIC for round trips. */
int64_t icmp6_echo_clock_us(clockid_t id);

/*
 * Starts a test of count (1..ICMP6_ECHO_MAX, the caller checks) echoes to
 * dest, sent on interface scope: opens its non-blocking socket, takes its
 * identifier and cookie from random, logs the socket's kind (once per
 * process) and the test. False when no socket opens (why: logged once per
 * process, the answer does not change); t stays idle.
 */
bool icmp6_echo_open(icmp6_echo_t *t, icmp6_echo_log_fn *log, const uint8_t dest[16],
                     uint32_t scope, int32_t count, int32_t interval_ms,
                     const uint8_t random[ICMP6_ECHO_RANDOM_LEN]);

/* Sends the next request (t->sent < t->count), its departure stamped on
 * CLOCK_MONOTONIC. A request the kernel refuses (no route) counts as sent
 * and never answered, and is said once per test. */
void icmp6_echo_send(icmp6_echo_t *t);

/*
 * One datagram read from t->fd at read_us (CLOCK_MONOTONIC), from source
 * `from`: counted when it answers one of this test's requests for the first
 * time. waited_us: how long it sat in the socket before the program read
 * it, when the program knows (else 0); not part of the round trip.
 */
void icmp6_echo_take(icmp6_echo_t *t, const uint8_t *msg, size_t len,
                     const struct in6_addr *from, int64_t read_us, int64_t waited_us);

/* Once every request is out: replies are waited for until every request
 * the kernel took is answered, or this long after the last request. */
int32_t icmp6_echo_last_wait_ms(const icmp6_echo_t *t);
bool icmp6_echo_all_answered(const icmp6_echo_t *t);

/* Ends the test: the result into r, the summary line (in µs), the socket
 * closed, so the next test may start as soon as r is handed on. */
void icmp6_echo_end(icmp6_echo_t *t, icmp6_echo_result_t *r);

/* Ends the test without a result (nobody wants it any more). */
void icmp6_echo_close(icmp6_echo_t *t);

#endif /* CSMP_ICMP6_ECHO_H */
