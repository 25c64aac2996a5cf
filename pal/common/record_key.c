/* The record key rule, checked by every platform before its store sees a key. */
#include "pal_common.h"

bool
record_key_valid(const uint8_t *key, int32_t len)
{
    if (len < 1 || len > CSMP_PAL_KEY_MAX)
        return false;
    for (int32_t i = 0; i < len; i++) {
        uint8_t c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}
