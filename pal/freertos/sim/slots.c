/*
 * The simulator's flash slots and its boot loader, in the layout of the
 * POSIX and Node hosts (pal/posix/slots.c, host/file-storage.ts), so a state
 * directory can move between the three:
 *
 *   slot-P.bin   partition P; slot N lives in partition map[N]
 *   boot.json    {"next":null,"map":[0,1,2]}   (next: the slot activated)
 *
 * Erased flash reads 0xFF: a partition file that is missing or shorter than
 * the slot reads as erased past its end, and an erase deletes it. Without
 * boot.json the map is the identity and nothing is pending.
 *
 * The boot loader swaps slot `next` into slot 0 by rewriting the map: one
 * atomic file replacement, so a power cut leaves the swap whole or not at
 * all. It runs where a board's runs, at a reset: at the process start
 * (power-on) and in the reboot hook (system.c), before the PAL starts the
 * agent again. A fatal or a trap restarts the agent in place, without a
 * reset, so a pending swap waits for the next one.
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
#include "sim.h"

#define SLOT_COUNT 3
#define SLOT_BYTES (512 * 1024)

static int boot_map[SLOT_COUNT]; /* slot -> partition */
static int boot_next;            /* 0: nothing pending (slot 0 is never "next") */

/* ---- boot.json ------------------------------------------------------------------ */

static void
boot_path(char *path)
{
    snprintf(path, PATH_MAX, "%s/boot.json", sim_state_dir());
}

static int32_t
save_boot(int next, const int map[SLOT_COUNT])
{
    char path[PATH_MAX], text[BOOT_MAP_TEXT_MAX];
    int n = boot_map_format(text, sizeof text, SLOT_COUNT, next, map);
    boot_path(path);
    int32_t rc = sim_replace_file(sim_state_dir(), path, (const uint8_t *)text, (uint32_t)n);
    if (rc == 0) {
        boot_next = next;
        memcpy(boot_map, map, sizeof boot_map);
    }
    return rc;
}

bool
sim_slots_open(void)
{
    char path[PATH_MAX], text[256];
    ssize_t n = 0;

    boot_path(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        sim_io_error("open", path);
        return false;
    }
    if (fd >= 0) {
        n = sim_pio(fd, text, sizeof text - 1, 0, false);
        close(fd);
        if (n < 0) {
            sim_io_error("read", path);
            return false;
        }
    }
    text[n] = '\0';
    if (!boot_map_parse(text, SLOT_COUNT, &boot_next, boot_map)) {
        sim_log(CSMP_LOG_ERROR, "slots", "%s: does not match the simulator's %d slots: %s", path,
                SLOT_COUNT, text);
        return false;
    }
    sim_boot_loader();
    return true;
}

void
sim_boot_loader(void)
{
    int map[SLOT_COUNT], next = boot_next;

    if (!next)
        return;
    memcpy(map, boot_map, sizeof map);
    map[0] = boot_map[next];
    map[next] = boot_map[0];
    if (save_boot(0, map) < 0) {
        sim_log(CSMP_LOG_WARN, "slots", "boot loader: slot %d not swapped in; slot 0 runs again",
                next);
        return;
    }
    sim_log(CSMP_LOG_INFO, "slots",
            "boot loader: slot %d is now the running image (swapped into slot 0; the previous image is kept in slot %d)",
            next, next);
}

/* ---- the slot hooks ------------------------------------------------------------------ */

static void
slot_path(int32_t slot, char *path)
{
    if (snprintf(path, PATH_MAX, "%s/slot-%d.bin", sim_state_dir(), boot_map[slot]) >= PATH_MAX)
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
        return sim_io_error("erase", path);
    return sim_sync_dir(sim_state_dir()) == 0 ? 0 : sim_io_error("sync", sim_state_dir());
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
        return sim_io_error("open", path);
    }
    /* The OS fills holes with zeros; erased flash reads 0xFF. */
    memset(erased, 0xff, sizeof erased);
    for (off_t at = st.st_size; at < (off_t)offset && rc == 0;) {
        size_t chunk = (size_t)((off_t)offset - at) < sizeof erased ? (size_t)((off_t)offset - at)
                                                                    : sizeof erased;
        if (sim_pio(fd, erased, chunk, at, true) != (ssize_t)chunk)
            rc = sim_io_error("write", path);
        at += (off_t)chunk;
    }
    if (rc == 0
        && (sim_pio(fd, (void *)(uintptr_t)data, len, offset, true) != (ssize_t)len || fsync(fd) < 0))
        rc = sim_io_error("write", path);
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
        return errno == ENOENT ? 0 : sim_io_error("open", path);
    ssize_t n = sim_pio(fd, buf, len, offset, false);
    close(fd);
    if (n < 0)
        return sim_io_error("read", path);
    return 0;
}

int32_t
csmp_vendor_slot_activate(int32_t slot)
{
    /* What the boot loader reads at the next reset; 0 cancels. */
    return save_boot(slot, boot_map);
}
