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

/* printf-style line on stderr, with the board's log format. */
void sim_log(int level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* CSMP_SIM_H */
