/*
 * The simulator's NV store: records as files in the state directory, in the
 * POSIX host's layout (records/<key>.rec), so a state directory can move
 * between the hosts; and the file helpers the flash slots (slots.c) share.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

static char state_dir[PATH_MAX - 64];

const char *
sim_state_dir(void)
{
    return state_dir;
}

int32_t
sim_io_error(const char *what, const char *path)
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
    return sim_slots_open();
}

/* ---- file helpers (sim.h) ------------------------------------------------------- */

ssize_t
sim_pio(int fd, void *buf, size_t len, off_t at, bool writing)
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

int
sim_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int32_t
sim_replace_file(const char *dir, const char *path, const uint8_t *data, uint32_t len)
{
    char tmp[PATH_MAX + 4];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sim_io_error("create", tmp);
    if (sim_pio(fd, (void *)(uintptr_t)data, len, 0, true) != (ssize_t)len || fsync(fd) < 0) {
        close(fd);
        unlink(tmp);
        return sim_io_error("write", tmp);
    }
    close(fd);
    if (rename(tmp, path) < 0 || sim_sync_dir(dir) < 0)
        return sim_io_error("rename", path);
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
        return errno == ENOENT ? CSMP_PAL_FAILED : sim_io_error("open", path);
    if (fstat(fd, &st) < 0 || st.st_size > INT32_MAX) {
        close(fd);
        return sim_io_error("stat", path);
    }
    uint32_t want = (uint32_t)st.st_size < cap ? (uint32_t)st.st_size : cap;
    ssize_t n = sim_pio(fd, buf, want, 0, false);
    close(fd);
    if (n != (ssize_t)want)
        return sim_io_error("read", path);
    return (int32_t)st.st_size;
}

int32_t
csmp_vendor_record_write(const char *key, const uint8_t *data, uint32_t len)
{
    char path[PATH_MAX], dir[PATH_MAX];
    record_path(key, path, dir);
    return sim_replace_file(dir, path, data, len);
}

int32_t
csmp_vendor_record_erase(const char *key)
{
    char path[PATH_MAX], dir[PATH_MAX];
    record_path(key, path, dir);
    if (unlink(path) < 0 && errno != ENOENT)
        return sim_io_error("unlink", path);
    return sim_sync_dir(dir) == 0 ? 0 : sim_io_error("sync", dir);
}
