/*
 * pal.ping on the POSIX host: a real ICMPv6 echo test (PingRequest, TLV 30).
 *
 * csmp_pal_ping only sets the test up; the event loop in main.c does the
 * rest between agent calls, as it does for timers: ping_run sends the echo
 * requests when they are due and ends the test, ping_receive takes replies
 * when ppoll reports the socket readable, ping_next_deadline joins the
 * loop's timeout. When the test is over main.c hands the result to the
 * agent's agent_ping_done export, through the same path as every other
 * entry point (so a reboot, fatal or trap in that call restarts the agent).
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
 * it), a sequence number we sent, our cookie, and, for a unicast
 * destination, comes from that destination. Everything else (other
 * programs' pings, replies from an earlier test, duplicates) is ignored.
 *
 * Timing: requests go interval_ms apart, measured from the previous send
 * (a late loop delays the rest instead of bursting them). RTTs come from
 * CLOCK_MONOTONIC in microseconds, stamped when the reply is read right
 * after ppoll returns. The test ends as soon as every request the kernel
 * took has its reply, or PING_WAIT_MIN_MS / interval_ms (the larger) after
 * the last request: the last echo gets as long as the others had before
 * their successor went out, and at least the 2 s the Node host's system
 * ping waits (-W 2, host/ping.ts). A request the kernel refuses (no route,
 * say) counts as sent and never received, and is not waited for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

/* The agent asks for at most 20 (assembly/csmp/ping.ts); room to spare. */
#define PING_MAX_COUNT 64
#define PING_WAIT_MIN_MS 2000
/* Replies read per loop round, so foreign traffic cannot starve the loop. */
#define REPLY_BURST 16
#define COOKIE_LEN 8
#define ECHO_LEN (8 + COOKIE_LEN) /* ICMPv6 header, then the cookie */

static struct {
    bool running;
    int fd;
    bool raw;
    uint8_t dest[16];
    uint32_t scope;
    uint16_t ident;
    uint8_t cookie[COOKIE_LEN];
    int32_t count;
    int32_t interval_ms;
    int32_t sent;          /* requests attempted */
    int32_t taken;         /* requests the kernel accepted */
    int32_t received;      /* distinct sequence numbers answered */
    int64_t next_send_ms;  /* monotonic ms */
    int64_t end_ms;        /* after the last send: stop waiting */
    bool send_error_told;  /* one log line per test for refused sends */
    int64_t sent_us[PING_MAX_COUNT];
    int64_t rtt_us[PING_MAX_COUNT];
    bool answered[PING_MAX_COUNT];
} test = { .fd = -1 };

static bool unsupported_told;
static bool kind_told;

static int64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The ping socket, datagram if allowed, else raw; -1 (logged once) if neither. */
static int
open_socket(bool *raw)
{
    int fd, dgram_err, raw_err;

    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd >= 0) {
        *raw = false;
        return fd;
    }
    dgram_err = errno;
    fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd >= 0) {
        /* Only echo replies reach us; the kernel filters the rest. */
        struct icmp6_filter filter;
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
        if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0)
            host_log(LOG_WARN, "ping", "ICMP6_FILTER: %s (other ICMPv6 traffic is read and ignored)",
                     strerror(errno));
        *raw = true;
        return fd;
    }
    raw_err = errno;
    /* Said once: the agent may ask again and again, the answer stays the same. */
    if (!unsupported_told)
        host_log(LOG_WARN, "ping",
                 "ping unsupported: ICMPv6 datagram socket: %s (gid %u must be in net.ipv4.ping_group_range); "
                 "raw ICMPv6 socket: %s (needs root or CAP_NET_RAW)",
                 strerror(dgram_err), (unsigned)getgid(), strerror(raw_err));
    unsupported_told = true;
    return -1;
}

int32_t
csmp_pal_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    char text[INET6_ADDRSTRLEN];
    bool raw = false;
    int fd;

    if (test.running)
        return CSMP_PAL_FAILED; /* one test at a time; the agent logs it */
    if (count < 1 || count > PING_MAX_COUNT || interval_ms < 0)
        return CSMP_PAL_BAD_ARGUMENT;
    if (net_fd() < 0) {
        /* --replay: no network and no event loop to run the test. */
        host_log(LOG_WARN, "ping", "ping asked for without a network (--replay)");
        return CSMP_PAL_UNSUPPORTED;
    }
    if ((fd = open_socket(&raw)) < 0)
        return CSMP_PAL_UNSUPPORTED;
    if (!kind_told)
        host_log(LOG_INFO, "ping", "pinging over an ICMPv6 %s socket",
                 raw ? "raw" : "datagram (unprivileged)");
    kind_told = true;

    memset(&test, 0, sizeof test);
    test.running = true;
    test.fd = fd;
    test.raw = raw;
    memcpy(test.dest, dest, 16);
    test.scope = net_scope_for(dest);
    csmp_pal_random((uint8_t *)&test.ident, sizeof test.ident);
    csmp_pal_random(test.cookie, COOKIE_LEN);
    test.count = count;
    test.interval_ms = interval_ms;
    /* The first request goes on the loop's next round, after this call. */
    test.next_send_ms = clock_now_ms();
    host_log(LOG_INFO, "ping", "pinging %s: %d echoes, %d ms apart",
             net_format(dest, text, sizeof text), (int)count, (int)interval_ms);
    return 0;
}

static void
send_one(void)
{
    struct sockaddr_in6 to;
    uint8_t echo[ECHO_LEN];
    int32_t seq = test.sent++;
    char text[INET6_ADDRSTRLEN];

    memset(echo, 0, sizeof echo);
    echo[0] = ICMP6_ECHO_REQUEST;
    /* echo[1] code 0, echo[2..3] checksum: the kernel's */
    echo[4] = (uint8_t)(test.ident >> 8);
    echo[5] = (uint8_t)test.ident;
    echo[6] = (uint8_t)(seq >> 8);
    echo[7] = (uint8_t)seq;
    memcpy(echo + 8, test.cookie, COOKIE_LEN);

    memset(&to, 0, sizeof to);
    to.sin6_family = AF_INET6;
    memcpy(&to.sin6_addr, test.dest, 16);
    to.sin6_scope_id = test.scope;
    test.sent_us[seq] = now_us();
    if (sendto(test.fd, echo, sizeof echo, 0, (struct sockaddr *)&to, sizeof to) < 0) {
        if (!test.send_error_told)
            host_log(LOG_WARN, "ping", "echo request to %s refused: %s (counted as lost)",
                     net_format(test.dest, text, sizeof text), strerror(errno));
        test.send_error_told = true;
        return;
    }
    test.taken++;
}

/* One datagram from the socket, checked against the running test. */
static void
take_reply(const uint8_t *msg, ssize_t len, const struct sockaddr_in6 *from, int64_t at_us)
{
    int32_t seq;

    if (len < ECHO_LEN || msg[0] != ICMP6_ECHO_REPLY || msg[1] != 0)
        return;
    if (test.raw && (((uint16_t)msg[4] << 8) | msg[5]) != test.ident)
        return;
    if (memcmp(msg + 8, test.cookie, COOKIE_LEN) != 0)
        return;
    /* A multicast destination is answered from the members' own addresses. */
    if (test.dest[0] != 0xff && memcmp(&from->sin6_addr, test.dest, 16) != 0)
        return;
    seq = ((int32_t)msg[6] << 8) | msg[7];
    if (seq >= test.sent || test.answered[seq])
        return;
    test.answered[seq] = true;
    test.rtt_us[seq] = at_us - test.sent_us[seq];
    test.received++;
}

void
ping_receive(void)
{
    uint8_t msg[256];
    struct sockaddr_in6 from;
    socklen_t fromlen;
    ssize_t n;

    for (int i = 0; i < REPLY_BURST && test.running; i++) {
        fromlen = sizeof from;
        n = recvfrom(test.fd, msg, sizeof msg, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* EAGAIN: all read. Anything else is an ICMPv6 error the
             * kernel queued on the socket; reading it cleared it, and the
             * echo it concerns stays unanswered. */
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                host_log(LOG_DEBUG, "ping", "recvfrom: %s", strerror(errno));
            return;
        }
        take_reply(msg, n, &from, now_us());
    }
}

int
ping_fd(void)
{
    return test.running ? test.fd : -1;
}

int64_t
ping_next_deadline(void)
{
    if (!test.running)
        return -1;
    return test.sent < test.count ? test.next_send_ms : test.end_ms;
}

static void
end_test(void)
{
    if (test.fd >= 0)
        close(test.fd);
    test.fd = -1;
    test.running = false;
}

/* Microseconds to whole milliseconds, rounded as host/ping.ts rounds. */
static int32_t
round_ms(double us)
{
    return (int32_t)((us + 500.0) / 1000.0);
}

/* The result for the agent, and in us[] min, mean, max, stdev in µs. */
static void
summarise(ping_result_t *r, double us[4])
{
    double sum = 0, sq = 0, lo = 0, hi = 0, mean;
    int n = 0;

    memset(r, 0, sizeof *r);
    us[0] = us[1] = us[2] = us[3] = 0;
    r->sent = test.sent;
    r->received = test.received;
    for (int32_t i = 0; i < test.sent; i++) {
        if (!test.answered[i])
            continue;
        double v = (double)test.rtt_us[i];
        lo = n == 0 || v < lo ? v : lo;
        hi = n == 0 || v > hi ? v : hi;
        sum += v;
        n++;
    }
    if (n == 0)
        return; /* nothing came back: every time stays 0 */
    mean = sum / n;
    for (int32_t i = 0; i < test.sent; i++)
        if (test.answered[i])
            sq += ((double)test.rtt_us[i] - mean) * ((double)test.rtt_us[i] - mean);
    /* Population deviation, as the Node host reports it. */
    us[0] = lo;
    us[1] = mean;
    us[2] = hi;
    us[3] = sqrt(sq / n);
    r->min_ms = round_ms(us[0]);
    r->mean_ms = round_ms(us[1]);
    r->max_ms = round_ms(us[2]);
    r->stdev_ms = round_ms(us[3]);
}

bool
ping_run(ping_result_t *result)
{
    char text[INET6_ADDRSTRLEN];
    double us[4];
    int64_t now;

    if (!test.running)
        return false;
    now = clock_now_ms();
    /* A 0 ms interval sends them all now: at most PING_MAX_COUNT. */
    while (test.sent < test.count && now >= test.next_send_ms) {
        send_one();
        now = clock_now_ms();
        test.next_send_ms = now + test.interval_ms;
        if (test.sent == test.count)
            test.end_ms = now + (test.interval_ms > PING_WAIT_MIN_MS ? test.interval_ms : PING_WAIT_MIN_MS);
    }
    if (test.sent < test.count || (test.received < test.taken && now < test.end_ms))
        return false;

    summarise(result, us);
    /* In µs here: loopback answers well under the 1 ms the agent's unit can show. */
    host_log(LOG_INFO, "ping", "%s: %d sent, %d received, rtt min/mean/max/stdev %.3f/%.3f/%.3f/%.3f ms",
             net_format(test.dest, text, sizeof text), (int)result->sent, (int)result->received,
             us[0] / 1000, us[1] / 1000, us[2] / 1000, us[3] / 1000);
    end_test();
    return true;
}

void
ping_cancel(void)
{
    char text[INET6_ADDRSTRLEN];
    if (test.running)
        host_log(LOG_INFO, "ping", "ping to %s abandoned after %d of %d echoes",
                 net_format(test.dest, text, sizeof text), (int)test.sent, (int)test.count);
    end_test();
}
