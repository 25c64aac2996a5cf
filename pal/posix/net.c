/*
 * The agent's CoAP socket: one UDP/IPv6 socket, dual-stack when bound to the
 * wildcard (IPv4 peers appear as ::ffff:a.b.c.d). IPV6_RECVPKTINFO reports
 * each datagram's destination address, which the agent needs to tell a
 * multicast request (it must carry GroupMatch) from a unicast one.
 *
 * Multicast is received only when the socket is bound to the wildcard "::":
 * the kernel delivers to a socket bound to a unicast address only datagrams
 * for that address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"

#define MAX_GROUPS 16
/* The largest UDP payload over IPv6 without jumbograms. */
#define MAX_UDP_PAYLOAD 65527

static int sock = -1;
static uint16_t bound_port;
static uint8_t bound_addr[16];
static unsigned int if_index; /* 0: let the kernel choose */
static uint8_t groups[MAX_GROUPS][16];
static int group_count;
static bool offline; /* --replay: no socket */
static uint32_t offline_sent;

const char *
net_format(const uint8_t addr[16], char *out, size_t cap)
{
    if (!inet_ntop(AF_INET6, addr, out, (socklen_t)cap))
        snprintf(out, cap, "?");
    return out;
}

bool
net_open(const char *addr, uint16_t port, const char *ifname)
{
    struct sockaddr_in6 sa;
    socklen_t salen = sizeof sa;
    int off = 0, on = 1;
    char text[INET6_ADDRSTRLEN];

    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) {
        host_log(LOG_ERROR, "net", "bad bind address \"%s\" (IPv6 text, e.g. :: or ::1)",
                 addr);
        return false;
    }
    if (ifname) {
        if_index = if_nametoindex(ifname);
        if (!if_index) {
            host_log(LOG_ERROR, "net", "no network interface \"%s\"", ifname);
            return false;
        }
        /* Needed when the bind address is link-local. */
        sa.sin6_scope_id = if_index;
    }
    sock = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        host_log(LOG_ERROR, "net", "socket: %s", strerror(errno));
        return false;
    }
    setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    if (setsockopt(sock, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0)
        host_log(LOG_WARN, "net", "IPV6_RECVPKTINFO: %s (destinations unknown)",
                 strerror(errno));
    if (bind(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
        host_log(LOG_ERROR, "net", "bind [%s]:%u: %s", addr, port, strerror(errno));
        net_close();
        return false;
    }
    getsockname(sock, (struct sockaddr *)&sa, &salen);
    bound_port = ntohs(sa.sin6_port);
    memcpy(bound_addr, &sa.sin6_addr, 16);
    /* Tests and scripts read the port from this line when they asked for 0. */
    host_log(LOG_INFO, "net", "listening on [%s]:%u",
             net_format(bound_addr, text, sizeof text), bound_port);
    return true;
}

bool
net_open_offline(const char *addr, uint16_t port)
{
    if (inet_pton(AF_INET6, addr, bound_addr) != 1) {
        host_log(LOG_ERROR, "net", "bad address \"%s\" (IPv6 text, e.g. ::1)", addr);
        return false;
    }
    bound_port = port;
    offline = true;
    return true;
}

uint32_t
net_offline_sent(void)
{
    return offline_sent;
}

int
net_fd(void)
{
    return sock;
}

uint16_t
net_port(void)
{
    return bound_port;
}

const uint8_t *
net_address(void)
{
    return bound_addr;
}

void
net_close(void)
{
    if (sock >= 0)
        close(sock);
    sock = -1;
    group_count = 0;
}

int
net_receive(uint8_t *buf, size_t cap, uint8_t src[16], uint16_t *src_port,
            uint8_t dst[16])
{
    struct sockaddr_in6 from;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    union {
        struct cmsghdr align;
        uint8_t space[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } control;
    struct msghdr msg = {
        .msg_name = &from,
        .msg_namelen = sizeof from,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.space,
        .msg_controllen = sizeof control.space,
    };
    ssize_t n;

    do
        n = recvmsg(sock, &msg, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        host_log(LOG_WARN, "net", "recvmsg: %s", strerror(errno));
        return -1;
    }
    memcpy(src, &from.sin6_addr, 16);
    *src_port = ntohs(from.sin6_port);
    /* Without pktinfo the best we know is the bound address. */
    memcpy(dst, bound_addr, 16);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            memcpy(dst, &info.ipi6_addr, 16);
        }
    }
    if (msg.msg_flags & MSG_TRUNC) {
        char text[INET6_ADDRSTRLEN];
        host_log(LOG_WARN, "net", "dropped a datagram from [%s]:%u: larger than the agent's %zu-byte buffer",
                 net_format(src, text, sizeof text), *src_port, cap);
        return -2;
    }
    /* A zero-length datagram is not a CoAP message; report it as nothing. */
    return (int)n;
}

static bool
is_unspecified(const uint8_t a[16])
{
    static const uint8_t zero[16];
    return memcmp(a, zero, 16) == 0;
}

/* Link-local and interface-local destinations need an interface. */
uint32_t
net_scope_for(const uint8_t a[16])
{
    bool link_local = a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
    bool mcast_small_scope = a[0] == 0xff && (a[1] & 0x0f) <= 2;
    return (link_local || mcast_small_scope) ? if_index : 0;
}

int32_t
csmp_pal_udp_send(const uint8_t addr[16], int32_t port, const uint8_t *data,
                  int32_t len)
{
    struct sockaddr_in6 to;
    char text[INET6_ADDRSTRLEN];

    if (sock < 0 && !offline)
        return CSMP_PAL_FAILED;
    if (is_unspecified(addr) || port < 1 || port > 65535)
        return CSMP_PAL_BAD_ARGUMENT;
    if (len > MAX_UDP_PAYLOAD)
        return CSMP_PAL_TOO_LARGE;
    if (offline) {
        offline_sent++;
        return 0;
    }
    memset(&to, 0, sizeof to);
    to.sin6_family = AF_INET6;
    to.sin6_port = htons((uint16_t)port);
    memcpy(&to.sin6_addr, addr, 16);
    to.sin6_scope_id = net_scope_for(addr);
    if (sendto(sock, data, (size_t)len, 0, (struct sockaddr *)&to, sizeof to) < 0) {
        host_log(LOG_WARN, "net", "send to [%s]:%d failed: %s",
                 net_format(addr, text, sizeof text), (int)port, strerror(errno));
        return errno == EMSGSIZE ? CSMP_PAL_TOO_LARGE : CSMP_PAL_FAILED;
    }
    return 0;
}

static int
find_group(const uint8_t addr[16])
{
    for (int i = 0; i < group_count; i++)
        if (memcmp(groups[i], addr, 16) == 0)
            return i;
    return -1;
}

static int
membership(const uint8_t addr[16], int option)
{
    struct ipv6_mreq mreq;
    memcpy(&mreq.ipv6mr_multiaddr, addr, 16);
    mreq.ipv6mr_interface = if_index;
    return setsockopt(sock, IPPROTO_IPV6, option, &mreq, sizeof mreq);
}

int32_t
csmp_pal_udp_multicast(const uint8_t addr[16], int32_t join)
{
    char text[INET6_ADDRSTRLEN];
    int at;

    if (sock < 0 && !offline)
        return CSMP_PAL_FAILED;
    if (addr[0] != 0xff)
        return CSMP_PAL_BAD_ARGUMENT;
    if (offline)
        return 0; /* no socket to join on, and nothing would arrive anyway */
    at = find_group(addr);
    if (join) {
        if (at >= 0)
            return 0;
        if (group_count == MAX_GROUPS) {
            host_log(LOG_WARN, "net", "join %s: already in %d groups",
                     net_format(addr, text, sizeof text), MAX_GROUPS);
            return CSMP_PAL_UNSUPPORTED;
        }
        if (membership(addr, IPV6_JOIN_GROUP) < 0) {
            host_log(LOG_WARN, "net", "join %s failed: %s",
                     net_format(addr, text, sizeof text), strerror(errno));
            return CSMP_PAL_UNSUPPORTED;
        }
        memcpy(groups[group_count++], addr, 16);
        return 0;
    }
    if (at < 0)
        return 0;
    if (membership(addr, IPV6_LEAVE_GROUP) < 0)
        host_log(LOG_WARN, "net", "leave %s failed: %s",
                 net_format(addr, text, sizeof text), strerror(errno));
    memmove(groups[at], groups[at + 1], (size_t)(group_count - at - 1) * 16);
    group_count--;
    return 0;
}

void
net_leave_all_groups(void)
{
    while (group_count > 0)
        csmp_pal_udp_multicast(groups[group_count - 1], 0);
}
