/*
 * File replacement that survives a power cut at any byte, the way a flash
 * NV layer does it: the new content goes to a temporary file which is
 * fsynced, then renamed over the old one (atomic on POSIX file systems), then
 * the directory is fsynced so the rename itself is durable. A crash leaves
 * at most a stale temporary, which files_remove_stale() deletes on start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

#define TEMP_SUFFIX ".tmp"

int
files_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int
files_pwrite_all(int fd, const uint8_t *data, size_t len, off_t at)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, data, len, at);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

int
files_write_atomic(const char *path, const uint8_t *data, size_t len)
{
    char temp[PATH_MAX], dir[PATH_MAX];
    int fd, rc;

    if (snprintf(temp, sizeof temp, "%s%s", path, TEMP_SUFFIX) >= (int)sizeof temp)
        return -ENAMETOOLONG;
    fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    rc = files_pwrite_all(fd, data, len, 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(temp, path) < 0)
        rc = -errno;
    if (rc != 0) {
        unlink(temp);
        return rc;
    }
    snprintf(dir, sizeof dir, "%s", path);
    return files_sync_dir(dirname(dir));
}

void
files_write_torn(const char *path, const uint8_t *data, size_t keep)
{
    char temp[PATH_MAX];
    int fd;

    /* The same steps as files_write_atomic up to its write, which stops
     * short; errors are ignored, as the power is going anyway. */
    if (snprintf(temp, sizeof temp, "%s%s", path, TEMP_SUFFIX) >= (int)sizeof temp)
        return;
    fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)files_pwrite_all(fd, data, keep, 0);
    close(fd);
}

void
files_remove_stale(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];
    size_t suffix = strlen(TEMP_SUFFIX);

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > suffix && strcmp(e->d_name + n - suffix, TEMP_SUFFIX) == 0
            && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path) {
            host_log(LOG_INFO, "store", "removing %s (a write interrupted by a crash)", path);
            unlink(path);
        }
    }
    closedir(d);
}

int
files_make_dir(const char *dir)
{
    char parent[PATH_MAX];

    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    snprintf(parent, sizeof parent, "%s", dir);
    if (mkdir(dirname(parent), 0755) < 0 && errno != EEXIST)
        return -errno;
    return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}
