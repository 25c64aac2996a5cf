/*
 * The simulator's csmp_vendor_ping: the ICMPv6 echo test a board's network
 * stack runs for a PingRequest, here on Linux sockets, in a "ping" task
 * that ends it with csmp_freertos_ping_done(), as vendor_hooks.h asks. The
 * test itself (socket, requests, matching, statistics) is
 * common/icmp6_echo.c, shared with the POSIX host; this file paces it with
 * a FreeRTOS task.
 *
 * csmp_vendor_ping (agent task) opens the test and wakes the ping task.
 * The task sends the requests interval_ms apart (from the previous send: a
 * late task delays the rest instead of bursting them), reads the replies,
 * and reports once every request the kernel took is answered, or
 * icmp6_echo_last_wait_ms after the last request; a request the kernel
 * refuses is not waited for.
 *
 * Why polling, as net.c: under the POSIX port only the task holding the
 * simulated CPU runs, so a task blocked in recvmsg() would stall the
 * kernel. The socket is non-blocking; the task reads it, then sleeps a
 * tick. A reply may so wait up to a tick before it is read, which must not
 * count in its RTT: the kernel stamps each arrival (SO_TIMESTAMPNS), but on
 * the wall clock only, so the RTT is the monotonic time the reply was read,
 * minus how long it waited (wall clock at the read minus the stamp, two
 * readings a moment apart), minus the monotonic time its request left.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "FreeRTOS.h"
#include "task.h"

#include "csmp_freertos.h"
#include "icmp6_echo.h"
#include "sim.h"

/* As the net task: above the agent, so echoes leave on time while it
 * interprets. */
#define PING_TASK_PRIORITY (tskIDLE_PRIORITY + 3)

/* Written by csmp_vendor_ping before it wakes the task, then the task's
 * alone until it reports (the PAL starts no test before that). */
static icmp6_echo_t test = ICMP6_ECHO_IDLE;

static TaskHandle_t ping_task_handle;
static StaticTask_t ping_tcb;
static StackType_t ping_stack[configMINIMAL_STACK_SIZE];

int32_t
csmp_vendor_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    uint8_t random[ICMP6_ECHO_RANDOM_LEN];
    int on = 1;

    if (test.fd >= 0)
        return CSMP_PAL_FAILED; /* the PAL never asks while one runs; a board checks anyway */
    if (count < 1 || count > ICMP6_ECHO_MAX || interval_ms < 0)
        return CSMP_PAL_BAD_ARGUMENT;
    if (csmp_vendor_trng(random, sizeof random) != 0)
        return CSMP_PAL_FAILED;
    if (!icmp6_echo_open(&test, sim_log, dest, sim_net_scope_for(dest), count, interval_ms, random))
        return CSMP_PAL_UNSUPPORTED;
    if (setsockopt(test.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
        sim_log(CSMP_LOG_WARN, "ping", "SO_TIMESTAMPNS: %s (round trips include up to a tick of polling)",
                strerror(errno));
    xTaskNotifyGive(ping_task_handle);
    return 0;
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

    for (int i = 0; i < ICMP6_ECHO_READ_BURST; i++) {
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
            int64_t read_us = icmp6_echo_clock_us(CLOCK_MONOTONIC);
            int64_t wall_us = icmp6_echo_clock_us(CLOCK_REALTIME);
            icmp6_echo_take(&test, msg, (size_t)n, &from.sin6_addr, read_us, waited_us(&mh, wall_us));
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

static void
run_test(void)
{
    int64_t now = icmp6_echo_clock_us(CLOCK_MONOTONIC), next_send = now, end = 0;
    icmp6_echo_result_t r;

    for (;;) {
        /* A 0 ms interval sends them all now: at most ICMP6_ECHO_MAX. */
        while (test.sent < test.count && now >= next_send) {
            icmp6_echo_send(&test);
            now = icmp6_echo_clock_us(CLOCK_MONOTONIC);
            next_send = now + (int64_t)test.interval_ms * 1000;
            if (test.sent == test.count)
                end = now + (int64_t)icmp6_echo_last_wait_ms(&test) * 1000;
        }
        read_replies();
        now = icmp6_echo_clock_us(CLOCK_MONOTONIC);
        if (test.sent == test.count && (icmp6_echo_all_answered(&test) || now >= end))
            break;
        vTaskDelay(1);
        now = icmp6_echo_clock_us(CLOCK_MONOTONIC);
    }
    /* The socket is closed before the report: once reported, the PAL may
     * start the next test, so nothing of this one may still be in use. */
    icmp6_echo_end(&test, &r);
    (void)csmp_freertos_ping_done(r.sent, r.received, r.min_ms, r.mean_ms, r.max_ms, r.stdev_ms);
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
