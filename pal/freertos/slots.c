/*
 * Firmware slots through the board's flash driver. The range rules of the
 * contract (and of the Node and POSIX hosts: slot 0 is read-only, writes
 * stay inside the slot, reads are clipped at its end) are enforced here so
 * a board's hooks only ever see valid ranges.
 */
#include "internal.h"

int32_t
csmp_pal_slot_size(int32_t slot)
{
    return slot < 0 ? -1 : csmp_vendor_slot_size(slot);
}

/* 0, or why slot/offset/len is refused; *size gets the slot's capacity. */
static int32_t
check(int32_t slot, int32_t offset, int32_t len, bool writing, uint32_t *size)
{
    int32_t s = csmp_pal_slot_size(slot);
    if (s < 0)
        return CSMP_PAL_NO_SLOT;
    if (writing && slot == 0)
        return CSMP_PAL_RUNNING_SLOT;
    if (offset < 0 || len < 0)
        return CSMP_PAL_OUT_OF_RANGE;
    if (writing ? (uint64_t)offset + (uint64_t)len > (uint64_t)s : offset > s)
        return CSMP_PAL_OUT_OF_RANGE;
    *size = (uint32_t)s;
    return 0;
}

int32_t
csmp_pal_slot_erase(int32_t slot)
{
    uint32_t size;
    int32_t rc = check(slot, 0, 0, true, &size);
    return rc < 0 ? rc : csmp_vendor_slot_erase(slot);
}

int32_t
csmp_pal_slot_write(int32_t slot, int32_t offset, const uint8_t *data, int32_t len)
{
    uint32_t size;
    int32_t rc = check(slot, offset, len, true, &size);
    if (rc < 0 || len == 0)
        return rc;
    return csmp_vendor_slot_write(slot, (uint32_t)offset, data, (uint32_t)len);
}

int32_t
csmp_pal_slot_read(int32_t slot, int32_t offset, uint8_t *buf, int32_t len)
{
    uint32_t size, n;
    int32_t rc = check(slot, offset, len, false, &size);
    if (rc < 0)
        return rc;
    n = (uint32_t)len;
    if ((uint64_t)offset + n > size)
        n = size - (uint32_t)offset;
    if (n == 0)
        return 0;
    rc = csmp_vendor_slot_read(slot, (uint32_t)offset, buf, n);
    return rc < 0 ? rc : (int32_t)n;
}

int32_t
csmp_pal_slot_activate(int32_t slot)
{
    if (csmp_pal_slot_size(slot) < 0)
        return CSMP_PAL_NO_SLOT;
    return csmp_vendor_slot_activate(slot);
}
