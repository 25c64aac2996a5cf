/*
 * pal.ping and pal.host_tlv on FreeRTOS: both belong to the board's network
 * stack and firmware, so they go to vendor hooks a board may define. A board
 * that defines none can neither ping nor take vendor TLVs; NetworkRole is
 * then only logged.
 */
#include "internal.h"

/* Board hooks (weak defaults below): start an ICMPv6 echo test whose end the
 * board reports through the agent task's ping-done event, and apply a
 * NetworkRole or vendor TLV. Same results as csmp_pal_ping / csmp_pal_host_tlv. */
__attribute__((weak)) int32_t
csmp_vendor_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    (void)dest; (void)count; (void)interval_ms;
    return CSMP_PAL_UNSUPPORTED;
}

__attribute__((weak)) int32_t
csmp_vendor_host_tlv(int32_t type, int32_t pen, int32_t subtype, const uint8_t *value, int32_t len)
{
    (void)value;
    if (type == 141) {
        pal_log(CSMP_LOG_INFO, "NetworkRole (%d bytes): this board has no mesh hook, logged", (int)len);
        return 0;
    }
    pal_log(CSMP_LOG_WARN, "vendor TLV e%d.%d refused: no vendor hook on this board", (int)pen, (int)subtype);
    return CSMP_PAL_UNSUPPORTED;
}

int32_t
csmp_pal_ping(const uint8_t dest[16], int32_t count, int32_t interval_ms)
{
    return csmp_vendor_ping(dest, count, interval_ms);
}

int32_t
csmp_pal_host_tlv(int32_t type, int32_t pen, int32_t subtype, const uint8_t *value, int32_t len)
{
    return csmp_vendor_host_tlv(type, pen, subtype, value, len);
}
