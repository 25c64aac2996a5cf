/*
 * The simulator's IP stack: one IPv6 UDP socket and a "network" task that
 * polls it.
 *
 * Why polling: under the POSIX port only the task holding the (simulated)
 * CPU runs, so a task blocked in recvmsg() would stall the whole kernel,
 * and a plain pthread may not call FreeRTOS at all. So the socket is
 * non-blocking and the network task drains it, then sleeps one tick, the
 * way a board's stack task wakes on its Ethernet interrupt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "FreeRTOS.h"
#include "task.h"

#include "sim.h"

/* Big enough to see that a datagram exceeds the PAL's 1280-byte slots. */
#define RX_BUFFER 2048
#define NET_TASK_PRIORITY (tskIDLE_PRIORITY + 3)

static struct in6_addr bind_addr;
static char bind_text[INET6_ADDRSTRLEN];
static unsigned int if_index; /* --interface; 0: the kernel chooses */
static int sock = -1;
static csmp_vendor_udp_rx_fn deliver;

static StaticTask_t net_tcb;
static StackType_t net_stack[configMINIMAL_STACK_SIZE];

bool
sim_net_configure(const char *addr, const char *ifname)
{
    if (inet_pton(AF_INET6, addr, &bind_addr) != 1) {
        sim_log(CSMP_LOG_ERROR, "net", "not an IPv6 address: %s", addr);
        return false;
    }
    inet_ntop(AF_INET6, &bind_addr, bind_text, sizeof bind_text);
    if (ifname && !(if_index = if_nametoindex(ifname))) {
        sim_log(CSMP_LOG_ERROR, "net", "no network interface \"%s\"", ifname);
        return false;
    }
    return true;
}

/* Link-local and interface- or link-local multicast addresses mean nothing
 * without an interface: the kernel refuses them, or picks one if it can. */
uint32_t
sim_net_scope_for(const uint8_t a[16])
{
    bool link_local = a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
    bool mcast_small_scope = a[0] == 0xff && (a[1] & 0x0f) <= 2;
    return (link_local || mcast_small_scope) ? if_index : 0;
}

/* One datagram from the socket to the PAL; false when none is waiting. */
static bool
receive_one(void)
{
    static uint8_t buf[RX_BUFFER];
    uint8_t control[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct sockaddr_in6 src;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr msg = {
        .msg_name = &src,
        .msg_namelen = sizeof src,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control,
        .msg_controllen = sizeof control,
    };
    uint8_t dst[16];
    ssize_t n;

    do
        n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return false;
    memcpy(dst, &bind_addr, 16);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
            memcpy(dst, &((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_addr, 16);
    /* MSG_TRUNC gives the real length: the PAL drops what does not fit. */
    deliver(buf, (uint32_t)n, src.sin6_addr.s6_addr, ntohs(src.sin6_port), dst);
    return true;
}

static void
net_task(void *arg)
{
    (void)arg;
    for (;;) {
        while (receive_one())
            ;
        vTaskDelay(1);
    }
}

int32_t
csmp_vendor_udp_open(uint16_t port, csmp_vendor_udp_rx_fn on_rx)
{
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
    socklen_t len = sizeof sa;
    int on = 1, off = 0;

    sock = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        sim_log(CSMP_LOG_ERROR, "net", "socket: %s", strerror(errno));
        return CSMP_PAL_FAILED;
    }
    setsockopt(sock, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    /* Bound to ::, take IPv4 too (as ::ffff:a.b.c.d), like the POSIX host. */
    if (IN6_IS_ADDR_UNSPECIFIED(&bind_addr))
        setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    sa.sin6_addr = bind_addr;
    sa.sin6_scope_id = sim_net_scope_for(bind_addr.s6_addr);
    if (bind(sock, (struct sockaddr *)&sa, sizeof sa) < 0
        || getsockname(sock, (struct sockaddr *)&sa, &len) < 0) {
        sim_log(CSMP_LOG_ERROR, "net", "bind [%s]:%u: %s", bind_text, port, strerror(errno));
        close(sock);
        sock = -1;
        return CSMP_PAL_FAILED;
    }
    deliver = on_rx;
    if (!xTaskCreateStatic(net_task, "net", configMINIMAL_STACK_SIZE, NULL, NET_TASK_PRIORITY,
                           net_stack, &net_tcb))
        return CSMP_PAL_FAILED;
    sim_log(CSMP_LOG_INFO, "net", "listening on [%s]:%u", bind_text, ntohs(sa.sin6_port));
    return ntohs(sa.sin6_port);
}

int32_t
csmp_vendor_udp_send(const uint8_t dst[16], uint16_t dst_port, const uint8_t *data,
                     uint32_t len)
{
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(dst_port) };
    ssize_t n;

    memcpy(&sa.sin6_addr, dst, 16);
    sa.sin6_scope_id = sim_net_scope_for(dst);
    do
        n = sendto(sock, data, len, 0, (struct sockaddr *)&sa, sizeof sa);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        sim_log(CSMP_LOG_WARN, "net", "send of %u bytes: %s", (unsigned)len, strerror(errno));
        return errno == EMSGSIZE ? CSMP_PAL_TOO_LARGE : CSMP_PAL_FAILED;
    }
    return 0;
}

int32_t
csmp_vendor_udp_multicast(const uint8_t group[16], bool join)
{
    struct ipv6_mreq mreq = { .ipv6mr_interface = if_index };
    memcpy(&mreq.ipv6mr_multiaddr, group, 16);
    if (setsockopt(sock, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mreq,
                   sizeof mreq)
        < 0) {
        sim_log(CSMP_LOG_WARN, "net", "multicast %s: %s", join ? "join" : "leave",
                strerror(errno));
        return CSMP_PAL_FAILED;
    }
    return 0;
}
