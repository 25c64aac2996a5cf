/*
 * pal.host_tlv on FreeRTOS: NetworkRole and vendor TLVs belong to the
 * board's mesh stack and firmware, so they go to a vendor hook a board may
 * define. A board that defines none takes no vendor TLVs; NetworkRole is
 * then only logged. (pal.ping, the other platform-run request, is ping.c.)
 */
#include "internal.h"

/* Board hook (weak default below): apply a NetworkRole or vendor TLV. Same
 * results as csmp_pal_host_tlv. vendor_hooks.h. */
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
csmp_pal_host_tlv(int32_t type, int32_t pen, int32_t subtype, const uint8_t *value, int32_t len)
{
    return csmp_vendor_host_tlv(type, pen, subtype, value, len);
}
