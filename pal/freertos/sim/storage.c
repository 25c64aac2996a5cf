/*
 * The simulator's flash and NV store: files in the state directory, in the
 * POSIX host's layout (records/<key>.rec, slot-<n>.bin), so a state
 * directory can move between the hosts. Erased flash reads 0xFF: a slot file
 * that is missing or shorter than the slot reads as erased past its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

#define SLOT_COUNT 3
#define SLOT_BYTES (512 * 1024)

static char state_dir[PATH_MAX - 64];

static int32_t
io_error(const char *what, const char *path)
{
    sim_log(CSMP_LOG_WARN, "storage", "%s %s: %s", what, path, strerror(errno));
    return CSMP_PAL_IO;
}

static bool
make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

bool
sim_storage_open(const char *dir)
{
    char records[PATH_MAX];
    if (snprintf(state_dir, sizeof state_dir, "%s", dir) >= (int)sizeof state_dir) {
        sim_log(CSMP_LOG_ERROR, "storage", "state directory path too long");
        return false;
    }
    snprintf(records, sizeof records, "%s/records", state_dir);
    if (!make_dir(state_dir) || !make_dir(records)) {
        sim_log(CSMP_LOG_ERROR, "storage", "cannot create %s: %s", records, strerror(errno));
        return false;
    }
    return true;
}

/* Reads/writes everything, retrying after the tick signal interrupts. */
static ssize_t
pio(int fd, void *buf, size_t len, off_t at, bool writing)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = writing ? pwrite(fd, (const uint8_t *)buf + done, len - done, at + (off_t)done)
                            : pread(fd, (uint8_t *)buf + done, len - done, at + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int
sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Replaces path atomically: temp file, fsync, rename, directory fsync. */
static int32_t
replace_file(const char *dir, const char *path, const uint8_t *data, uint32_t len)
{
    char tmp[PATH_MAX + 4];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_error("create", tmp);
    if (pio(fd, (void *)(uintptr_t)data, len, 0, true) != (ssize_t)len || fsync(fd) < 0) {
        close(fd);
        unlink(tmp);
        return io_error("write", tmp);
    }
    close(fd);
    if (rename(tmp, path) < 0 || sync_dir(dir) < 0)
        return io_error("rename", path);
    return 0;
}

/* ---- records ------------------------------------------------------------------ */

/* state_dir is short enough for these never to be cut (see its size). */
static void
record_path(const char *key, char *path, char *dir)
{
    if (snprintf(dir, PATH_MAX, "%s/records", state_dir) >= PATH_MAX
        || snprintf(path, PATH_MAX, "%s/%s.rec", dir, key) >= PATH_MAX)
        path[0] = '\0';
}

int32_t
csmp_vendor_record_read(const char *key, uint8_t *buf, uint32_t cap)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    record_path(key, path, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? CSMP_PAL_FAILED : io_error("open", path);
    if (fstat(fd, &st) < 0 || st.st_size > INT32_MAX) {
        close(fd);
        return io_error("stat", path);
    }
    uint32_t want = (uint32_t)st.st_size < cap ? (uint32_t)st.st_size : cap;
    ssize_t n = pio(fd, buf, want, 0, false);
    close(fd);
    if (n != (ssize_t)want)
        return io_error("read", path);
    return (int32_t)st.st_size;
}

int32_t
csmp_vendor_record_write(const char *key, const uint8_t *data, uint32_t len)
{
    char path[PATH_MAX], dir[PATH_MAX];
    record_path(key, path, dir);
    return replace_file(dir, path, data, len);
}

int32_t
csmp_vendor_record_erase(const char *key)
{
    char path[PATH_MAX], dir[PATH_MAX];
    record_path(key, path, dir);
    if (unlink(path) < 0 && errno != ENOENT)
        return io_error("unlink", path);
    return sync_dir(dir) == 0 ? 0 : io_error("sync", dir);
}

/* ---- slots ------------------------------------------------------------------- */

static void
slot_path(int32_t slot, char *path)
{
    if (snprintf(path, PATH_MAX, "%s/slot-%d.bin", state_dir, (int)slot) >= PATH_MAX)
        path[0] = '\0';
}

int32_t
csmp_vendor_slot_size(int32_t slot)
{
    return slot >= 0 && slot < SLOT_COUNT ? SLOT_BYTES : -1;
}

int32_t
csmp_vendor_slot_erase(int32_t slot)
{
    char path[PATH_MAX];
    slot_path(slot, path);
    if (unlink(path) < 0 && errno != ENOENT)
        return io_error("erase", path);
    return sync_dir(state_dir) == 0 ? 0 : io_error("sync", state_dir);
}

int32_t
csmp_vendor_slot_write(int32_t slot, uint32_t offset, const uint8_t *data, uint32_t len)
{
    static uint8_t erased[512];
    char path[PATH_MAX];
    struct stat st;
    int32_t rc = 0;

    slot_path(slot, path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return io_error("open", path);
    }
    /* The OS fills holes with zeros; erased flash reads 0xFF. */
    memset(erased, 0xff, sizeof erased);
    for (off_t at = st.st_size; at < (off_t)offset && rc == 0;) {
        size_t chunk = (size_t)((off_t)offset - at) < sizeof erased ? (size_t)((off_t)offset - at)
                                                                    : sizeof erased;
        if (pio(fd, erased, chunk, at, true) != (ssize_t)chunk)
            rc = io_error("write", path);
        at += (off_t)chunk;
    }
    if (rc == 0 && (pio(fd, (void *)(uintptr_t)data, len, offset, true) != (ssize_t)len || fsync(fd) < 0))
        rc = io_error("write", path);
    close(fd);
    return rc;
}

int32_t
csmp_vendor_slot_read(int32_t slot, uint32_t offset, uint8_t *buf, uint32_t len)
{
    char path[PATH_MAX];
    slot_path(slot, path);
    memset(buf, 0xff, len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : io_error("open", path);
    ssize_t n = pio(fd, buf, len, offset, false);
    close(fd);
    if (n < 0)
        return io_error("read", path);
    return 0;
}

int32_t
csmp_vendor_slot_activate(int32_t slot)
{
    /* What the boot loader would read at the next reset: the slot to swap in. */
    char path[PATH_MAX], text[16];
    int n = snprintf(text, sizeof text, "%d\n", (int)slot);
    if (snprintf(path, sizeof path, "%s/boot-slot", state_dir) >= (int)sizeof path)
        return CSMP_PAL_IO;
    return replace_file(state_dir, path, (const uint8_t *)text, (uint32_t)n);
}
