/*
 * boot.json, the boot loader's record shared by the hosts that keep firmware
 * slots as files (the POSIX host, the FreeRTOS simulator and the Node host's
 * host/file-storage.ts), so one state directory works under all three:
 *
 *     {"next":null,"map":[0,1,2]}
 *
 * map[N] is the partition file (slot-P.bin) that holds slot N; next is the
 * slot activated to boot next (null: none). The loader swaps by rewriting
 * the map, one atomic file replacement.
 */
#ifndef CSMP_BOOT_MAP_H
#define CSMP_BOOT_MAP_H

#include <stdbool.h>
#include <stddef.h>

/* Longest text boot_map_format writes for up to 8 slots, NUL included. */
#define BOOT_MAP_TEXT_MAX 64

/* Reads text into next (0 when null or absent) and map[0..slots-1] (the
 * identity when absent); false when it does not describe `slots` slots:
 * next out of 1..slots-1, a partition out of range or used twice. */
bool boot_map_parse(const char *text, int slots, int *next, int map[]);

/* Writes the record for next and map[0..slots-1] into out (cap bytes, at
 * least BOOT_MAP_TEXT_MAX); returns its length without the NUL. */
int boot_map_format(char *out, size_t cap, int slots, int next, const int map[]);

#endif
