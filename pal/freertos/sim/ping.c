/*
 * The simulator's csmp_vendor_ping: the ICMPv6 echo test a board's network
 * stack runs for a PingRequest, here on Linux sockets, in a "ping" task
 * that ends it with csmp_freertos_ping_done(), as vendor_hooks.h asks.
 *
 * csmp_vendor_ping (agent task) opens the socket, draws the test's
 * identifier and cookie and wakes the ping task. The task sends the
 * requests interval_ms apart (from the previous send: a late task delays
 * the rest instead of bursting them), reads the replies, and reports once
 * every request the kernel took is answered, or PING_WAIT_MIN_MS /
 * interval_ms (the larger) after the last request: the last echo gets as
 * long as the others had, and at least the POSIX host's 2 s. A request the
 * kernel refuses (no route) counts as sent, never answered, not waited for.
 *
 * Why polling, as net.c: under the POSIX port only the task holding the
 * simulated CPU runs, so a task blocked in recvmsg() would stall the
 * kernel. The socket is non-blocking; the task reads it, then sleeps a
 * tick. A reply may so wait up to a tick before it is read, which must not
 * count in its RTT: the kernel stamps each arrival (SO_TIMESTAMPNS), but on
 * the wall clock only, so the RTT is the monotonic time the reply was read,
 * minus how long it waited (wall clock at the read minus the stamp, two
 * readings a moment apart), minus the monotonic time its request left.
 *
 * Socket: an ICMPv6 datagram ("ping") socket, which Linux allows when the
 * process's group is in net.ipv4.ping_group_range (for IPv6 too), else a
 * raw one (root or CAP_NET_RAW), else CSMP_PAL_UNSUPPORTED, said once. The
 * kernel fills in the checksum either way. The socket is open only while a
 * test runs: an idle raw socket would be handed every echo reply around.
 *
 * Matching: each test draws an identifier and an 8-byte cookie (the echo's
 * payload). A reply counts when it is an echo reply with our identifier
 * (raw only: a datagram socket's kernel puts its own there and delivers
 * only replies carrying it), a sequence number sent and not yet answered,
 * our cookie and, for a unicast destination, comes from it.
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

#include "FreeRTOS.h"
#include "task.h"

#include "csmp_freertos.h"
#include "sim.h"

/* The agent asks for at most 20 (assembly/csmp/ping.ts); room to spare. */
#define PING_MAX_COUNT 64
#define PING_WAIT_MIN_MS 2000
/* Replies read per tick, so foreign traffic cannot keep the task busy. */
#define REPLY_BURST 16
#define COOKIE_LEN 8
#define ECHO_LEN (8 + COOKIE_LEN) /* ICMPv6 header, then the cookie */
/* As the net task: above the agent, so echoes leave on time while it
 * interprets. */
#define PING_TASK_PRIORITY (tskIDLE_PRIORITY + 3)

/* Written by csmp_vendor_ping before it wakes the task, then the task's
 * alone until it reports (the PAL starts no test before that). */
static struct {
    int fd;
    bool raw;
    uint8_t dest[16];
    char dest_text[INET6_ADDRSTRLEN];
    uint16_t ident;
    uint8_t cookie[COOKIE_LEN];
    int32_t count;
    int32_t interval_ms;
    int32_t sent;     /* requests attempted */
    int32_t taken;    /* requests the kernel accepted */
    int32_t received; /* distinct requests answered */
    bool send_error_told;
    int64_t sent_us[PING_MAX_COUNT];
    int64_t rtt_us[PING_MAX_COUNT];
    bool answered[PING_MAX_COUNT];
} test = { .fd = -1 };

static bool unsupported_told, kind_told;

static TaskHandle_t ping_task_handle;
static StaticTask_t ping_tcb;
static StackType_t ping_stack[configMINIMAL_STACK_SIZE];

static int64_t
clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The ping socket, datagram if allowed, else raw; -1 (said once) if neither. */
static int
open_socket(bool *raw)
{
    int fd, dgram_err, raw_err, on = 1;

    *raw = false;
    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) {
        dgram_err = errno;
        *raw = true;
        fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    }
    if (fd < 0) {
        raw_err = errno;
        /* Once: the agent may ask again and again, the answer stays. */
        if (!unsupported_told)
            sim_log(CSMP_LOG_WARN, "ping",
                    "ping unsupported: ICMPv6 datagram socket: %s (gid %u must be in net.ipv4.ping_group_range); "
                    "raw ICMPv6 socket: %s (needs root or CAP_NET_RAW)",
                    strerror(dgram_err), (unsigned)getgid(), strerror(raw_err));
        unsupported_told = true;
        return -1;
    }
    if (*raw) {
        /* Only echo replies reach us; the kernel filters the rest. */
        struct icmp6_filter filter;
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
        if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0)
            sim_log(CSMP_LOG_WARN, "ping", "ICMP6_FILTER: %s (other ICMPv6 traffic is read and ignored)",
                    strerror(errno));
    }
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
        sim_log(CSMP_LOG_WARN, "ping", "SO_TIMESTAMPNS: %s (round trips include up to a tick of polling)",
                strerror(errno));
    if (!kind_told)
        sim_log(CSMP_LOG_INFO, "ping", "pinging over an ICMPv6 %s socket",
                *raw ? "raw" : "datagram (unprivileged)");
    kind_told = true;
    return fd;
}

int32_t
csmp_vendor_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    bool raw;
    int fd;

    if (test.fd >= 0)
        return CSMP_PAL_FAILED; /* the PAL never asks while one runs; a board checks anyway */
    if (count < 1 || count > PING_MAX_COUNT || interval_ms < 0)
        return CSMP_PAL_BAD_ARGUMENT;
    if ((fd = open_socket(&raw)) < 0)
        return CSMP_PAL_UNSUPPORTED;
    memset(&test, 0, sizeof test);
    if (csmp_vendor_trng((uint8_t *)&test.ident, sizeof test.ident) != 0
        || csmp_vendor_trng(test.cookie, COOKIE_LEN) != 0) {
        close(fd);
        test.fd = -1;
        return CSMP_PAL_FAILED;
    }
    test.fd = fd;
    test.raw = raw;
    memcpy(test.dest, dest, 16);
    inet_ntop(AF_INET6, dest, test.dest_text, sizeof test.dest_text);
    test.count = count;
    test.interval_ms = interval_ms;
    sim_log(CSMP_LOG_INFO, "ping", "pinging %s: %d echoes, %d ms apart", test.dest_text, (int)count,
            (int)interval_ms);
    xTaskNotifyGive(ping_task_handle);
    return 0;
}

static void
send_one(void)
{
    struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
    uint8_t echo[ECHO_LEN] = { ICMP6_ECHO_REQUEST }; /* code 0; checksum: the kernel's */
    int32_t seq = test.sent++;
    ssize_t n;

    echo[4] = (uint8_t)(test.ident >> 8);
    echo[5] = (uint8_t)test.ident;
    echo[6] = (uint8_t)(seq >> 8);
    echo[7] = (uint8_t)seq;
    memcpy(echo + 8, test.cookie, COOKIE_LEN);
    memcpy(&to.sin6_addr, test.dest, 16);
    to.sin6_scope_id = sim_net_scope_for(test.dest);
    test.sent_us[seq] = clock_us(CLOCK_MONOTONIC);
    do
        n = sendto(test.fd, echo, sizeof echo, 0, (struct sockaddr *)&to, sizeof to);
    while (n < 0 && errno == EINTR); /* the tick's signal */
    if (n < 0) {
        if (!test.send_error_told)
            sim_log(CSMP_LOG_WARN, "ping", "echo request to %s refused: %s (counted as lost)",
                    test.dest_text, strerror(errno));
        test.send_error_told = true;
        return;
    }
    test.taken++;
}

/* How long a datagram waited in the socket before recvmsg took it, from the
 * kernel's wall-clock arrival stamp; 0 without one. */
static int64_t
waited_us(struct msghdr *mh, int64_t wall_now_us)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        return wall_now_us - ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    }
    return 0;
}

/* One datagram, read at read_us (monotonic), checked against the test. */
static void
take_reply(const uint8_t *msg, ssize_t len, const struct sockaddr_in6 *from, int64_t read_us,
           int64_t waited)
{
    int32_t seq;
    int64_t span;

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
    /* The wait is bounded by what was measured: a wall-clock step between
     * the stamp and the read must not make a round trip negative. */
    span = read_us - test.sent_us[seq];
    waited = waited < 0 ? 0 : waited > span ? span : waited;
    test.answered[seq] = true;
    test.rtt_us[seq] = span - waited;
    test.received++;
}

static void
read_replies(void)
{
    uint8_t msg[256];
    union {
        struct cmsghdr align;
        uint8_t bytes[CMSG_SPACE(sizeof(struct timespec))];
    } control;
    struct sockaddr_in6 from;
    struct iovec iov = { .iov_base = msg, .iov_len = sizeof msg };
    struct msghdr mh;
    ssize_t n;

    for (int i = 0; i < REPLY_BURST; i++) {
        memset(&mh, 0, sizeof mh);
        mh.msg_name = &from;
        mh.msg_namelen = sizeof from;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = control.bytes;
        mh.msg_controllen = sizeof control.bytes;
        n = recvmsg(test.fd, &mh, MSG_DONTWAIT);
        if (n >= 0) {
            /* Both clocks at once, right after the read. */
            int64_t read_us = clock_us(CLOCK_MONOTONIC), wall_us = clock_us(CLOCK_REALTIME);
            take_reply(msg, n, &from, read_us, waited_us(&mh, wall_us));
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return; /* all read */
        /* EINTR (the tick), or an ICMPv6 error the kernel queued on the
         * socket: reading it cleared it; the echo it concerns stays
         * unanswered. */
        if (errno != EINTR)
            sim_log(CSMP_LOG_DEBUG, "ping", "recvmsg: %s", strerror(errno));
    }
}

/* Microseconds to whole milliseconds, rounded as the POSIX host does. */
static int32_t
round_ms(double us)
{
    return (int32_t)((us + 500.0) / 1000.0);
}

/* Closes the socket, then reports: once reported, the PAL may start the
 * next test, so nothing of this one may still be in use. */
static void
finish(void)
{
    double lo = 0, hi = 0, sum = 0, sq = 0, mean = 0, sd = 0;
    int32_t n = test.received;

    for (int32_t i = 0, k = 0; i < test.sent; i++) {
        if (!test.answered[i])
            continue;
        double v = (double)test.rtt_us[i];
        lo = k == 0 || v < lo ? v : lo;
        hi = k == 0 || v > hi ? v : hi;
        sum += v;
        k++;
    }
    if (n > 0) {
        mean = sum / n;
        for (int32_t i = 0; i < test.sent; i++)
            if (test.answered[i])
                sq += ((double)test.rtt_us[i] - mean) * ((double)test.rtt_us[i] - mean);
        sd = sqrt(sq / n); /* population deviation, as the other hosts report */
    }
    /* In µs here: loopback answers well under the 1 ms the agent can show. */
    sim_log(CSMP_LOG_INFO, "ping", "%s: %d sent, %d received, rtt min/mean/max/stdev %.3f/%.3f/%.3f/%.3f ms",
            test.dest_text, (int)test.sent, (int)n, lo / 1000, mean / 1000, hi / 1000, sd / 1000);
    close(test.fd);
    test.fd = -1;
    (void)csmp_freertos_ping_done(test.sent, n, round_ms(lo), round_ms(mean), round_ms(hi),
                                  round_ms(sd));
}

static void
run_test(void)
{
    int64_t now = clock_us(CLOCK_MONOTONIC), next_send = now, end = 0;
    int64_t wait_ms = test.interval_ms > PING_WAIT_MIN_MS ? test.interval_ms : PING_WAIT_MIN_MS;

    for (;;) {
        /* A 0 ms interval sends them all now: at most PING_MAX_COUNT. */
        while (test.sent < test.count && now >= next_send) {
            send_one();
            now = clock_us(CLOCK_MONOTONIC);
            next_send = now + (int64_t)test.interval_ms * 1000;
            if (test.sent == test.count)
                end = now + wait_ms * 1000;
        }
        read_replies();
        now = clock_us(CLOCK_MONOTONIC);
        if (test.sent == test.count && (test.received >= test.taken || now >= end))
            break;
        vTaskDelay(1);
        now = clock_us(CLOCK_MONOTONIC);
    }
    finish();
}

static void
ping_task(void *arg)
{
    (void)arg;
    for (;;) {
        (void)ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
        run_test();
    }
}

bool
sim_ping_start(void)
{
    ping_task_handle = xTaskCreateStatic(ping_task, "ping", configMINIMAL_STACK_SIZE, NULL,
                                         PING_TASK_PRIORITY, ping_stack, &ping_tcb);
    return ping_task_handle != NULL;
}
