/*
 * Between the files of the Linux simulator: the vendor hooks of a board
 * that is a Linux process (UDP on a real socket, storage in a directory),
 * and the simulator's own ways in (event file, boot loader).
 */
#ifndef CSMP_SIM_H
#define CSMP_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vendor_hooks.h"

/* ---- net.c ------------------------------------------------------------------------ */

/* The address the agent's socket binds to (IPv6 text, e.g. "::1") and the
 * interface (NULL: none) link-local and interface- or link-local multicast
 * destinations go out on, as the POSIX host's --bind and --interface. */
bool sim_net_configure(const char *bind_addr, const char *ifname);
/* The scope id for a destination: the interface for those, else 0. */
uint32_t sim_net_scope_for(const uint8_t addr[16]);

/* ---- ping.c: csmp_vendor_ping, ICMPv6 echoes in a "ping" task ---------------------- */

/* Creates the ping task; before the scheduler starts. */
bool sim_ping_start(void);

/* ---- storage.c: records, and the file helpers slots.c shares ----------------------- */

/* The state directory: records/<key>.rec, slot-<n>.bin and boot.json, the
 * layout of the POSIX host; created if missing. Runs the boot loader, as a
 * power-on does. */
bool sim_storage_open(const char *dir);

const char *sim_state_dir(void);
/* Logs "what path: strerror(errno)" and returns CSMP_PAL_IO. */
int32_t sim_io_error(const char *what, const char *path);
/* pread/pwrite of all len bytes at `at`, retrying after the tick signal
 * interrupts; the bytes done (fewer at the end of a file), -1 on error. */
ssize_t sim_pio(int fd, void *buf, size_t len, off_t at, bool writing);
int sim_sync_dir(const char *path);
/* Replaces path in dir atomically: temp file, fsync, rename, directory fsync. */
int32_t sim_replace_file(const char *dir, const char *path, const uint8_t *data, uint32_t len);

/* ---- slots.c: flash slots and the boot loader -------------------------------------- */

/* Reads boot.json and runs the boot loader; false (logged) when boot.json
 * does not describe this simulator's slots. */
bool sim_slots_open(void);

/* The boot loader at a (simulated) reset: swaps the slot activated since the
 * last reset into slot 0. */
void sim_boot_loader(void);

/* ---- events.c ---------------------------------------------------------------------- */

/* Takes host events and configuration lines from path (NULL: none) on
 * SIGUSR2, as the POSIX host's --event-file does on SIGUSR1. Before the
 * scheduler starts. */
bool sim_events_start(const char *path);

/* ---- system.c ---------------------------------------------------------------------- */

/* Trusts the system clock as the RTC from the start (--trust-system-time),
 * as a board whose RTC was set at the factory; otherwise the RTC stays
 * untrusted until the agent sets it from the NMS. */
void sim_rtc_trust_system_time(void);

/* printf-style line on stderr, with the board's log format. */
void sim_log(int level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* CSMP_SIM_H */
