/*
 * pal.host_tlv on the POSIX host. This host has no mesh stack and no vendor
 * firmware behind it: NetworkRole is recorded in the log and taken, vendor
 * TLVs are refused. (pal.ping, a real ICMPv6 echo test, is in ping.c.)
 */
#include "host.h"

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
