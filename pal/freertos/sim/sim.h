/*
 * Between the files of the Linux simulator: the vendor hooks of a board
 * that is a Linux process (UDP on a real socket, storage in a directory).
 */
#ifndef CSMP_SIM_H
#define CSMP_SIM_H

#include <stdbool.h>

#include "vendor_hooks.h"

/* The address the agent's socket binds to (IPv6 text, e.g. "::1"). */
bool sim_net_configure(const char *bind_addr);

/* The state directory: records/<key>.rec and slot-<n>.bin, the layout of
 * the POSIX host; created if missing. */
bool sim_storage_open(const char *dir);

/* Trusts the system clock as the RTC from the start (--trust-system-time),
 * as a board whose RTC was set at the factory; otherwise the RTC stays
 * untrusted until the agent sets it from the NMS. */
void sim_rtc_trust_system_time(void);

/* printf-style line on stderr, with the board's log format. */
void sim_log(int level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* CSMP_SIM_H */
