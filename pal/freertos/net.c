/*
 * The agent's UDP port through the board's IP stack (vendor_hooks.h):
 * sends go straight to the stack, received datagrams go through the inbox
 * (the stack's task must not run the agent), multicast joins are remembered
 * so a restarted agent starts with none.
 */
#include <string.h>

#include "internal.h"

/* UDP's own limit for one datagram's payload over IPv6 without jumbograms. */
#define UDP_PAYLOAD_MAX 65527

static uint16_t bound_port;
static uint8_t groups[CSMP_FREERTOS_GROUPS][16];
static bool group_used[CSMP_FREERTOS_GROUPS];

static void
on_rx(const uint8_t *data, uint32_t len, const uint8_t src[16], uint16_t src_port,
      const uint8_t dst[16])
{
    (void)inbox_post_datagram(data, len, src, src_port, dst);
}

uint16_t
net_open(uint16_t port)
{
    int32_t rc = csmp_vendor_udp_open(port, on_rx);
    if (rc <= 0 || rc > 65535) {
        pal_log(CSMP_LOG_ERROR, "cannot open UDP port %u (%d)", port, (int)rc);
        return 0;
    }
    bound_port = (uint16_t)rc;
    return bound_port;
}

uint16_t
net_port(void)
{
    return bound_port;
}

static bool
unspecified(const uint8_t a[16])
{
    for (int i = 0; i < 16; i++)
        if (a[i])
            return false;
    return true;
}

int32_t
csmp_pal_udp_send(const uint8_t addr[16], int32_t port, const uint8_t *data, int32_t len)
{
    if (port < 1 || port > 65535 || unspecified(addr))
        return CSMP_PAL_BAD_ARGUMENT;
    if (len > UDP_PAYLOAD_MAX)
        return CSMP_PAL_TOO_LARGE;
    return csmp_vendor_udp_send(addr, (uint16_t)port, data, (uint32_t)len);
}

static int
find_group(const uint8_t addr[16])
{
    for (int i = 0; i < (int)CSMP_FREERTOS_GROUPS; i++)
        if (group_used[i] && memcmp(groups[i], addr, 16) == 0)
            return i;
    return -1;
}

int32_t
csmp_pal_udp_multicast(const uint8_t addr[16], int32_t join)
{
    int i = find_group(addr);
    int32_t rc;

    if (addr[0] != 0xff)
        return CSMP_PAL_BAD_ARGUMENT;
    if (join ? i >= 0 : i < 0)
        return 0; /* joining twice, or leaving a group never joined */
    if (join) {
        for (i = 0; i < (int)CSMP_FREERTOS_GROUPS && group_used[i]; i++)
            ;
        if (i == (int)CSMP_FREERTOS_GROUPS)
            return CSMP_PAL_FAILED;
    }
    rc = csmp_vendor_udp_multicast(addr, join != 0);
    if (rc < 0)
        return rc;
    group_used[i] = join != 0;
    if (join)
        memcpy(groups[i], addr, 16);
    return 0;
}

void
net_leave_all_groups(void)
{
    for (int i = 0; i < (int)CSMP_FREERTOS_GROUPS; i++) {
        if (group_used[i])
            (void)csmp_vendor_udp_multicast(groups[i], false);
        group_used[i] = false;
    }
}
