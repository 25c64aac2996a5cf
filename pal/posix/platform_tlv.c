/*
 * pal.ping and pal.host_tlv on the POSIX host. This host has no mesh stack
 * and no vendor firmware behind it: NetworkRole is recorded in the log and
 * taken, vendor TLVs are refused, and ping answers "cannot" (an ICMPv6 echo
 * test in the event loop is still to come; the Node host pings for real).
 */
#include "host.h"

int32_t
csmp_pal_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    (void)dest;
    host_log(LOG_WARN, "pal", "ping (%d echoes, %d ms apart) asked for: not supported by this host",
             (int)count, (int)interval_ms);
    return CSMP_PAL_UNSUPPORTED;
}

int32_t
csmp_pal_host_tlv(int32_t type, int32_t pen, int32_t subtype, const uint8_t *value, int32_t len)
{
    (void)value;
    if (type == 141) {
        host_log(LOG_INFO, "pal", "NetworkRole for the mesh stack (%d bytes): no mesh here, recorded", (int)len);
        return 0;
    }
    host_log(LOG_WARN, "pal", "vendor TLV e%d.%d refused: no vendor handler on this host", (int)pen, (int)subtype);
    return CSMP_PAL_UNSUPPORTED;
}
