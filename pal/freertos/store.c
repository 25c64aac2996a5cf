/*
 * Durable records through the board's NV store. Keys are checked here, once
 * for every board, and handed over NUL-terminated; atomic replacement is the
 * board's promise (vendor_hooks.h).
 */
#include <string.h>

#include "internal.h"

/* Copies a valid key into out (CSMP_PAL_KEY_MAX + 1 bytes). */
static bool
key_text(const uint8_t *key, int32_t len, char *out)
{
    if (!record_key_valid(key, len)) {
        pal_log(CSMP_LOG_WARN, RECORD_KEY_BAD, CSMP_PAL_KEY_MAX);
        return false;
    }
    memcpy(out, key, (size_t)len);
    out[len] = '\0';
    return true;
}

int32_t
csmp_pal_store_read(const uint8_t *key, int32_t key_len, uint8_t *buf, int32_t cap)
{
    char k[CSMP_PAL_KEY_MAX + 1];
    if (!key_text(key, key_len, k))
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_vendor_record_read(k, buf, (uint32_t)cap);
}

int32_t
csmp_pal_store_write(const uint8_t *key, int32_t key_len, const uint8_t *data, int32_t len)
{
    char k[CSMP_PAL_KEY_MAX + 1];
    if (!key_text(key, key_len, k))
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_vendor_record_write(k, data, (uint32_t)len);
}

int32_t
csmp_pal_store_erase(const uint8_t *key, int32_t key_len)
{
    char k[CSMP_PAL_KEY_MAX + 1];
    if (!key_text(key, key_len, k))
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_vendor_record_erase(k);
}
