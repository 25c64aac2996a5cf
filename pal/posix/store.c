/*
 * Durable records: <state>/records/<key>.rec, one file per record, replaced
 * atomically (files.c). The layout is the Node host's FileStorage
 * (host/file-storage.ts), so one state directory works under both hosts.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

/* A flash NV sector: larger than any CSMP state (the Node host's cap too). */
#define RECORD_CAP (64 * 1024)

/* Leaves room in a PATH_MAX buffer for "/<32-char key>.rec.tmp". */
#define DIR_MAX (PATH_MAX - 64)
static char record_dir[DIR_MAX];

bool
store_open(const char *state_dir)
{
    int rc;

    if (snprintf(record_dir, sizeof record_dir, "%s/records", state_dir)
        >= (int)sizeof record_dir) {
        host_log(LOG_ERROR, "store", "state directory path too long");
        return false;
    }
    rc = files_make_dir(record_dir);
    if (rc < 0) {
        host_log(LOG_ERROR, "store", "cannot create %s: %s", record_dir, strerror(-rc));
        return false;
    }
    files_remove_stale(record_dir);
    return true;
}

/* Keys become file names: record_key_valid lets no '/' or NUL through. */
static bool
key_path(const uint8_t *key, int32_t len, char *path, size_t cap)
{
    if (!record_key_valid(key, len)) {
        host_log(LOG_WARN, "store", RECORD_KEY_BAD, CSMP_PAL_KEY_MAX);
        return false;
    }
    snprintf(path, cap, "%s/%.*s.rec", record_dir, (int)len, (const char *)key);
    return true;
}

int32_t
csmp_pal_store_read(const uint8_t *key, int32_t key_len, uint8_t *buf, int32_t cap)
{
    char path[PATH_MAX];
    struct stat st;
    int fd;
    size_t want, got = 0;

    if (!key_path(key, key_len, path, sizeof path))
        return CSMP_PAL_BAD_ARGUMENT;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return CSMP_PAL_FAILED; /* no such record */
        host_log(LOG_WARN, "store", "read %s: %s", path, strerror(errno));
        return CSMP_PAL_IO;
    }
    if (fstat(fd, &st) < 0 || st.st_size > INT32_MAX) {
        close(fd);
        return CSMP_PAL_IO;
    }
    want = (size_t)st.st_size < (size_t)cap ? (size_t)st.st_size : (size_t)cap;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            host_log(LOG_WARN, "store", "read %s: %s", path,
                     n < 0 ? strerror(errno) : "file shrank");
            close(fd);
            return CSMP_PAL_IO;
        }
        got += (size_t)n;
    }
    close(fd);
    return (int32_t)st.st_size;
}

int32_t
csmp_pal_store_write(const uint8_t *key, int32_t key_len, const uint8_t *data,
                     int32_t len)
{
    char path[PATH_MAX];
    power_cut_t power;
    int rc;

    if (!key_path(key, key_len, path, sizeof path))
        return CSMP_PAL_BAD_ARGUMENT;
    if (len > RECORD_CAP) {
        host_log(LOG_WARN, "store", "record %.*s: %d bytes exceeds %d", (int)key_len,
                 (const char *)key, (int)len, RECORD_CAP);
        return CSMP_PAL_OUT_OF_RANGE;
    }
    /* Counted once the arguments passed: a refused write touches no flash. */
    power = power_cut_count("record-write %.*s %d bytes", (int)key_len, (const char *)key,
                            (int)len);
    if (power == POWER_CUT_TORN) {
        files_write_torn(path, data, (size_t)len / 2);
        power_cut_now((long)len / 2);
    }
    if (power == POWER_CUT_SKIP)
        power_cut_now(-1);
    rc = files_write_atomic(path, data, (size_t)len);
    if (rc < 0) {
        host_log(LOG_WARN, "store", "write %s: %s", path, strerror(-rc));
        return CSMP_PAL_IO;
    }
    return 0;
}

int32_t
csmp_pal_store_erase(const uint8_t *key, int32_t key_len)
{
    char path[PATH_MAX];

    if (!key_path(key, key_len, path, sizeof path))
        return CSMP_PAL_BAD_ARGUMENT;
    /* Counted even when there is no such record, as the Node host does. */
    if (power_cut_count("record-erase %.*s", (int)key_len, (const char *)key) != POWER_ON)
        power_cut_now(-1);
    if (unlink(path) < 0) {
        if (errno == ENOENT)
            return 0;
        host_log(LOG_WARN, "store", "erase %s: %s", path, strerror(errno));
        return CSMP_PAL_IO;
    }
    return files_sync_dir(record_dir) == 0 ? 0 : CSMP_PAL_IO;
}
