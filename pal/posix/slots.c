/*
 * Firmware slots as files, with the Node host's layout and semantics
 * (host/storage.ts, host/file-storage.ts), so a state directory is shared:
 *   slot-P.bin   partition P; slot N lives in partition map[N]
 *   boot.json    {"next":null,"map":[0,1,2]}  (next: slot to boot, or null)
 * Erased flash reads 0xFF: bytes never written read as 0xFF, erase deletes
 * the partition file, and a write past the written extent pads with 0xFF.
 * The boot loader swaps slots by rewriting the map in one atomic write, so
 * an activation survives a power cut at any moment whole or not at all.
 * Capacities come from the command line (--slot-sizes).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_map.h"
#include "host.h"

/* Leaves room in a PATH_MAX buffer for "/slot-N.bin" and "/boot.json.tmp". */
#define DIR_MAX (PATH_MAX - 64)
static char dir[DIR_MAX];
static uint32_t sizes[SLOTS_MAX];
static int slot_count;
static int boot_map[SLOTS_MAX];
static int boot_next; /* 0: nothing pending (slot 0 is never "next") */

/* ---- boot.json ---------------------------------------------------------------- */

static void
boot_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s/boot.json", dir);
}

static bool
load_boot(void)
{
    char path[PATH_MAX], text[256];
    FILE *f;
    size_t n;

    boot_path(path, sizeof path);
    boot_next = 0;
    for (int i = 0; i < slot_count; i++)
        boot_map[i] = i;
    f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return true;
        host_log(LOG_ERROR, "slots", "%s: %s", path, strerror(errno));
        return false;
    }
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (!boot_map_parse(text, slot_count, &boot_next, boot_map)) {
        host_log(LOG_ERROR, "slots", "%s: does not match the configured %d slots: %s",
                 path, slot_count, text);
        return false;
    }
    return true;
}

static int32_t
save_boot(int next, const int map[])
{
    char path[PATH_MAX], text[256];
    int n;

    boot_path(path, sizeof path);
    n = boot_map_format(text, sizeof text, slot_count, next, map);
    int rc = files_write_atomic(path, (const uint8_t *)text, (size_t)n);
    if (rc < 0) {
        host_log(LOG_WARN, "slots", "write %s: %s", path, strerror(-rc));
        return CSMP_PAL_IO;
    }
    boot_next = next;
    memcpy(boot_map, map, sizeof boot_map);
    return 0;
}

/* ---- partitions ----------------------------------------------------------------- */

static void
partition_path(int slot, char *out, size_t cap)
{
    snprintf(out, cap, "%s/slot-%d.bin", dir, boot_map[slot]);
}

/* Bytes written so far to a slot's partition (0 when erased). */
static off_t
used_bytes(int slot)
{
    char path[PATH_MAX];
    struct stat st;
    partition_path(slot, path, sizeof path);
    return stat(path, &st) == 0 ? st.st_size : 0;
}

bool
slots_open(const char *state_dir, const uint32_t *slot_sizes, int count)
{
    int rc;

    if (count < 1 || count > SLOTS_MAX) {
        host_log(LOG_ERROR, "slots", "need 1..%d slots, got %d", SLOTS_MAX, count);
        return false;
    }
    if (strlen(state_dir) >= sizeof dir) {
        host_log(LOG_ERROR, "slots", "state directory path too long");
        return false;
    }
    snprintf(dir, sizeof dir, "%s", state_dir);
    memcpy(sizes, slot_sizes, (size_t)count * sizeof sizes[0]);
    slot_count = count;
    rc = files_make_dir(dir);
    if (rc < 0) {
        host_log(LOG_ERROR, "slots", "cannot create %s: %s", dir, strerror(-rc));
        return false;
    }
    files_remove_stale(dir);
    return load_boot();
}

int
slots_apply_pending_boot(void)
{
    int map[SLOTS_MAX], next = boot_next;

    if (!next)
        return 0;
    if (used_bytes(0) > (off_t)sizes[next] || used_bytes(next) > (off_t)sizes[0]) {
        host_log(LOG_WARN, "slots", "slots 0 and %d: content does not fit the other slot; not swapped",
                 next);
        return CSMP_PAL_OUT_OF_RANGE;
    }
    memcpy(map, boot_map, sizeof map);
    map[0] = boot_map[next];
    map[next] = boot_map[0];
    /* Counted like the agent's writes: the power may go between the agent's
     * reboot and the loader's map write, and a test must be able to cut
     * there. The map is replaced atomically, so torn skips too. */
    if (power_cut_count("boot-swap 0 %d", next) != POWER_ON)
        power_cut_now(-1);
    if (save_boot(0, map) < 0)
        return CSMP_PAL_IO;
    host_log(LOG_INFO, "slots", "boot loader: slot %d is now the running image (swapped into slot 0; the previous image is kept in slot %d)",
             next, next);
    return next;
}

int32_t
csmp_pal_slot_size(int32_t slot)
{
    return slot >= 0 && slot < slot_count ? (int32_t)sizes[slot] : -1;
}

/* The range checks of host/storage.ts checkSlotAccess. */
static int32_t
check_access(int32_t slot, int32_t offset, int32_t len, bool writing)
{
    if (slot < 0 || slot >= slot_count)
        return CSMP_PAL_NO_SLOT;
    if (writing && slot == 0)
        return CSMP_PAL_RUNNING_SLOT;
    if (offset < 0 || len < 0)
        return CSMP_PAL_OUT_OF_RANGE;
    if (writing ? (uint64_t)offset + (uint64_t)len > sizes[slot]
                : (uint32_t)offset > sizes[slot])
        return CSMP_PAL_OUT_OF_RANGE;
    return 0;
}

int32_t
csmp_pal_slot_read(int32_t slot, int32_t offset, uint8_t *buf, int32_t len)
{
    char path[PATH_MAX];
    int32_t rc = check_access(slot, offset, len, false);
    size_t n, got = 0;
    int fd;

    if (rc < 0)
        return rc;
    n = (size_t)len;
    if ((uint64_t)offset + n > sizes[slot])
        n = sizes[slot] - (uint32_t)offset;
    memset(buf, 0xff, n);
    partition_path(slot, path, sizeof path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return (int32_t)n; /* never written: erased */
        host_log(LOG_WARN, "slots", "read %s: %s", path, strerror(errno));
        return CSMP_PAL_IO;
    }
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)offset + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            host_log(LOG_WARN, "slots", "read %s: %s", path, strerror(errno));
            close(fd);
            return CSMP_PAL_IO;
        }
        if (r == 0)
            break; /* past the written extent: the rest stays 0xFF */
        got += (size_t)r;
    }
    close(fd);
    return (int32_t)n;
}

int32_t
csmp_pal_slot_write(int32_t slot, int32_t offset, const uint8_t *data, int32_t len)
{
    uint8_t erased[512];
    char path[PATH_MAX];
    struct stat st;
    int32_t rc = check_access(slot, offset, len, true);
    int fd, err = 0;
    power_cut_t power;

    if (rc < 0)
        return rc;
    power = power_cut_count("slot-write %d @%d %d bytes", (int)slot, (int)offset, (int)len);
    if (power == POWER_CUT_SKIP)
        power_cut_now(-1);
    if (power == POWER_CUT_TORN)
        len /= 2; /* the first half lands, then the power goes (below) */
    partition_path(slot, path, sizeof path);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || fstat(fd, &st) < 0) {
        host_log(LOG_WARN, "slots", "write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CSMP_PAL_IO;
    }
    /* The OS would fill a hole with zeros; erased flash reads 0xFF. */
    memset(erased, 0xff, sizeof erased);
    for (off_t at = st.st_size; at < offset && !err;) {
        size_t chunk = (size_t)(offset - at) < sizeof erased ? (size_t)(offset - at)
                                                             : sizeof erased;
        err = files_pwrite_all(fd, erased, chunk, at);
        at += (off_t)chunk;
    }
    if (!err)
        err = files_pwrite_all(fd, data, (size_t)len, offset);
    if (power == POWER_CUT_TORN)
        power_cut_now(err ? -1 : (long)len);
    if (!err && fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (err) {
        host_log(LOG_WARN, "slots", "write %s: %s", path, strerror(-err));
        return CSMP_PAL_IO;
    }
    return 0;
}

int32_t
csmp_pal_slot_erase(int32_t slot)
{
    char path[PATH_MAX];
    int32_t rc = check_access(slot, 0, 0, true);

    if (rc < 0)
        return rc;
    if (power_cut_count("slot-erase %d", (int)slot) != POWER_ON)
        power_cut_now(-1);
    partition_path(slot, path, sizeof path);
    if (unlink(path) < 0 && errno != ENOENT) {
        host_log(LOG_WARN, "slots", "erase %s: %s", path, strerror(errno));
        return CSMP_PAL_IO;
    }
    return files_sync_dir(dir) == 0 ? 0 : CSMP_PAL_IO;
}

int32_t
csmp_pal_slot_activate(int32_t slot)
{
    if (slot < 0 || slot >= slot_count)
        return CSMP_PAL_NO_SLOT;
    /* boot.json is replaced atomically: nothing to tear, so torn skips too. */
    if (power_cut_count("slot-activate %d", (int)slot) != POWER_ON)
        power_cut_now(-1);
    return save_boot(slot, boot_map);
}
