/*
 * The ICMPv6 echo test both Linux programs run for a PingRequest
 * (icmp6_echo.h).
 *
 * Socket: an unprivileged ICMPv6 datagram ("ping") socket first, which
 * Linux allows when the process's group is in net.ipv4.ping_group_range
 * (the sysctl covers IPv6 too); else a raw ICMPv6 socket, which needs root
 * or CAP_NET_RAW. Either way the kernel fills in the ICMPv6 checksum. The
 * socket exists only while a test runs: an idle raw socket would be handed
 * every echo reply the machine receives.
 *
 * Matching: each test draws a random identifier and an 8-byte cookie (the
 * echo's payload). A reply counts when it is an echo reply with our
 * identifier (raw sockets only: on a datagram socket the kernel replaces
 * the identifier with the socket's own and delivers only replies carrying
 * it), a sequence number we sent and not yet answered, our cookie, and, for
 * a unicast destination, comes from that destination. Everything else
 * (other programs' pings, replies from an earlier test, duplicates) is
 * ignored.
 *
 * Statistics: min, mean, max and the population deviation of the answered
 * round trips, as the Node host reports them (host/ping.ts), rounded to
 * whole ms for the agent; logged in µs, since loopback answers well under
 * the 1 ms the agent's unit can show.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icmp6_echo.h"
#include "pal_common.h" /* PAL_LOG_* */

#define ECHO_LEN (8 + ICMP6_ECHO_COOKIE_LEN) /* ICMPv6 header, then the cookie */
/* The last echo gets as long as the others had before their successor went
 * out, and at least the 2 s the Node host's system ping waits (-W 2). */
#define WAIT_MIN_MS 2000

/* Said once per process: the agent may ask again and again, and neither
 * the answer nor the socket kind changes. */
static bool unsupported_told, kind_told;

int64_t
icmp6_echo_clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The test's socket, datagram if allowed, else raw; -1 (said once) if neither. */
static int
open_socket(icmp6_echo_log_fn *log, bool *raw)
{
    int fd, dgram_err, raw_err;

    *raw = false;
    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd >= 0)
        return fd;
    dgram_err = errno;
    fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) {
        raw_err = errno;
        if (!unsupported_told)
            log(PAL_LOG_WARN, "ping",
                "ping unsupported: ICMPv6 datagram socket: %s (gid %u must be in net.ipv4.ping_group_range); "
                "raw ICMPv6 socket: %s (needs root or CAP_NET_RAW)",
                strerror(dgram_err), (unsigned)getgid(), strerror(raw_err));
        unsupported_told = true;
        return -1;
    }
    /* Only echo replies reach us; the kernel filters the rest. */
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0)
        log(PAL_LOG_WARN, "ping", "ICMP6_FILTER: %s (other ICMPv6 traffic is read and ignored)",
            strerror(errno));
    *raw = true;
    return fd;
}

bool
icmp6_echo_open(icmp6_echo_t *t, icmp6_echo_log_fn *log, const uint8_t dest[16],
                uint32_t scope, int32_t count, int32_t interval_ms,
                const uint8_t random[ICMP6_ECHO_RANDOM_LEN])
{
    bool raw;
    int fd = open_socket(log, &raw);

    if (fd < 0)
        return false;
    if (!kind_told)
        log(PAL_LOG_INFO, "ping", "pinging over an ICMPv6 %s socket",
            raw ? "raw" : "datagram (unprivileged)");
    kind_told = true;

    memset(t, 0, sizeof *t);
    t->fd = fd;
    t->raw = raw;
    memcpy(t->dest, dest, 16);
    /* Cannot fail: an IPv6 address into INET6_ADDRSTRLEN bytes. */
    (void)inet_ntop(AF_INET6, dest, t->dest_text, sizeof t->dest_text);
    t->scope = scope;
    t->count = count;
    t->interval_ms = interval_ms;
    t->log = log;
    t->ident = (uint16_t)(((unsigned)random[0] << 8) | random[1]);
    memcpy(t->cookie, random + 2, ICMP6_ECHO_COOKIE_LEN);
    log(PAL_LOG_INFO, "ping", "pinging %s: %d echoes, %d ms apart", t->dest_text, (int)count,
        (int)interval_ms);
    return true;
}

void
icmp6_echo_send(icmp6_echo_t *t)
{
    struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = t->scope };
    uint8_t echo[ECHO_LEN] = { ICMP6_ECHO_REQUEST }; /* code 0; checksum: the kernel's */
    int32_t seq = t->sent++;
    ssize_t n;

    echo[4] = (uint8_t)(t->ident >> 8);
    echo[5] = (uint8_t)t->ident;
    echo[6] = (uint8_t)(seq >> 8);
    echo[7] = (uint8_t)seq;
    memcpy(echo + 8, t->cookie, ICMP6_ECHO_COOKIE_LEN);
    memcpy(&to.sin6_addr, t->dest, 16);
    t->sent_us[seq] = icmp6_echo_clock_us(CLOCK_MONOTONIC);
    do
        n = sendto(t->fd, echo, sizeof echo, 0, (struct sockaddr *)&to, sizeof to);
    while (n < 0 && errno == EINTR); /* a signal: the simulator's tick, say */
    if (n < 0) {
        if (!t->send_error_told)
            t->log(PAL_LOG_WARN, "ping", "echo request to %s refused: %s (counted as lost)",
                   t->dest_text, strerror(errno));
        t->send_error_told = true;
        return;
    }
    t->taken++;
}

void
icmp6_echo_take(icmp6_echo_t *t, const uint8_t *msg, size_t len,
                const struct in6_addr *from, int64_t read_us, int64_t waited_us)
{
    int32_t seq;
    int64_t span;

    if (len < ECHO_LEN || msg[0] != ICMP6_ECHO_REPLY || msg[1] != 0)
        return;
    if (t->raw && (((uint16_t)msg[4] << 8) | msg[5]) != t->ident)
        return;
    if (memcmp(msg + 8, t->cookie, ICMP6_ECHO_COOKIE_LEN) != 0)
        return;
    /* A multicast destination is answered from the members' own addresses. */
    if (t->dest[0] != 0xff && memcmp(from, t->dest, 16) != 0)
        return;
    seq = ((int32_t)msg[6] << 8) | msg[7];
    if (seq >= t->sent || t->answered[seq])
        return;
    /* The wait is bounded by what was measured: a wall-clock step between
     * an arrival stamp and the read must not make a round trip negative. */
    span = read_us - t->sent_us[seq];
    waited_us = waited_us < 0 ? 0 : waited_us > span ? span : waited_us;
    t->answered[seq] = true;
    t->rtt_us[seq] = span - waited_us;
    t->received++;
}

int32_t
icmp6_echo_last_wait_ms(const icmp6_echo_t *t)
{
    return t->interval_ms > WAIT_MIN_MS ? t->interval_ms : WAIT_MIN_MS;
}

bool
icmp6_echo_all_answered(const icmp6_echo_t *t)
{
    return t->received >= t->taken;
}

/* Microseconds to whole milliseconds, rounded as host/ping.ts rounds. */
static int32_t
round_ms(double us)
{
    return (int32_t)((us + 500.0) / 1000.0);
}

/* Min, mean, max and population deviation of the answered round trips, in
 * µs; all 0 when nothing came back. */
static void
rtt_stats(const icmp6_echo_t *t, double us[4])
{
    double sum = 0, sq = 0, lo = 0, hi = 0, mean;
    int n = 0;

    us[0] = us[1] = us[2] = us[3] = 0;
    for (int32_t i = 0; i < t->sent; i++) {
        if (!t->answered[i])
            continue;
        double v = (double)t->rtt_us[i];
        lo = n == 0 || v < lo ? v : lo;
        hi = n == 0 || v > hi ? v : hi;
        sum += v;
        n++;
    }
    if (n == 0)
        return;
    mean = sum / n;
    for (int32_t i = 0; i < t->sent; i++)
        if (t->answered[i])
            sq += ((double)t->rtt_us[i] - mean) * ((double)t->rtt_us[i] - mean);
    us[0] = lo;
    us[1] = mean;
    us[2] = hi;
    us[3] = sqrt(sq / n);
}

void
icmp6_echo_end(icmp6_echo_t *t, icmp6_echo_result_t *r)
{
    double us[4];

    rtt_stats(t, us);
    r->sent = t->sent;
    r->received = t->received;
    r->min_ms = round_ms(us[0]);
    r->mean_ms = round_ms(us[1]);
    r->max_ms = round_ms(us[2]);
    r->stdev_ms = round_ms(us[3]);
    t->log(PAL_LOG_INFO, "ping",
           "%s: %d sent, %d received, rtt min/mean/max/stdev %.3f/%.3f/%.3f/%.3f ms", t->dest_text,
           (int)r->sent, (int)r->received, us[0] / 1000, us[1] / 1000, us[2] / 1000, us[3] / 1000);
    icmp6_echo_close(t);
}

void
icmp6_echo_close(icmp6_echo_t *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}
