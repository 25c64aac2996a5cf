/*
 * pal.ping on the POSIX host: a real ICMPv6 echo test (PingRequest, TLV 30).
 * The test itself (socket, requests, matching, statistics) is
 * common/icmp6_echo.c, shared with the FreeRTOS simulator; this file paces
 * it with the event loop.
 *
 * csmp_pal_ping only sets the test up; the event loop in main.c does the
 * rest between agent calls, as it does for timers: ping_run sends the echo
 * requests when they are due and ends the test, ping_receive takes replies
 * when ppoll reports the socket readable, ping_next_deadline joins the
 * loop's timeout. When the test is over main.c hands the result to the
 * agent's agent_ping_done export, through the same path as every other
 * entry point (so a reboot, fatal or trap in that call restarts the agent).
 *
 * Timing: requests go interval_ms apart, measured from the previous send
 * (a late loop delays the rest instead of bursting them). RTTs are stamped
 * when the reply is read right after ppoll returns. The test ends as soon
 * as every request the kernel took has its reply, or
 * icmp6_echo_last_wait_ms after the last request; a request the kernel
 * refuses is not waited for.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "host.h"

static struct {
    icmp6_echo_t echo;
    int64_t next_send_ms; /* monotonic ms */
    int64_t end_ms;       /* after the last send: stop waiting */
} test = { .echo = ICMP6_ECHO_IDLE };

int32_t
csmp_pal_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    uint8_t random[ICMP6_ECHO_RANDOM_LEN];

    if (test.echo.fd >= 0)
        return CSMP_PAL_FAILED; /* one test at a time; the agent logs it */
    if (count < 1 || count > ICMP6_ECHO_MAX || interval_ms < 0)
        return CSMP_PAL_BAD_ARGUMENT;
    if (net_fd() < 0) {
        /* --replay: no network and no event loop to run the test. */
        host_log(LOG_WARN, "ping", "ping asked for without a network (--replay)");
        return CSMP_PAL_UNSUPPORTED;
    }
    csmp_pal_random(random, sizeof random);
    if (!icmp6_echo_open(&test.echo, host_log, dest, net_scope_for(dest), count, interval_ms, random))
        return CSMP_PAL_UNSUPPORTED;
    /* The first request goes on the loop's next round, after this call. */
    test.next_send_ms = clock_now_ms();
    return 0;
}

void
ping_receive(void)
{
    uint8_t msg[256];
    struct sockaddr_in6 from;
    socklen_t fromlen;
    ssize_t n;

    for (int i = 0; i < ICMP6_ECHO_READ_BURST && test.echo.fd >= 0; i++) {
        fromlen = sizeof from;
        n = recvfrom(test.echo.fd, msg, sizeof msg, 0, (struct sockaddr *)&from, &fromlen);
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
        icmp6_echo_take(&test.echo, msg, (size_t)n, &from.sin6_addr,
                        icmp6_echo_clock_us(CLOCK_MONOTONIC), 0);
    }
}

int
ping_fd(void)
{
    return test.echo.fd;
}

int64_t
ping_next_deadline(void)
{
    if (test.echo.fd < 0)
        return -1;
    return test.echo.sent < test.echo.count ? test.next_send_ms : test.end_ms;
}

bool
ping_run(icmp6_echo_result_t *result)
{
    icmp6_echo_t *e = &test.echo;
    int64_t now;

    if (e->fd < 0)
        return false;
    now = clock_now_ms();
    /* A 0 ms interval sends them all now: at most ICMP6_ECHO_MAX. */
    while (e->sent < e->count && now >= test.next_send_ms) {
        icmp6_echo_send(e);
        now = clock_now_ms();
        test.next_send_ms = now + e->interval_ms;
        if (e->sent == e->count)
            test.end_ms = now + icmp6_echo_last_wait_ms(e);
    }
    if (e->sent < e->count || (!icmp6_echo_all_answered(e) && now < test.end_ms))
        return false;
    icmp6_echo_end(e, result);
    return true;
}

void
ping_cancel(void)
{
    if (test.echo.fd >= 0)
        host_log(LOG_INFO, "ping", "ping to %s abandoned after %d of %d echoes", test.echo.dest_text,
                 (int)test.echo.sent, (int)test.echo.count);
    icmp6_echo_close(&test.echo);
}
