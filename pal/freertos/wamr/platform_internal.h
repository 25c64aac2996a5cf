/*
 * WAMR's platform types for FreeRTOS (our own port: WAMR 2.4.3 has no
 * maintained FreeRTOS platform; its core/shared/platform/common/freertos/
 * pieces are used by no build script). WAMR includes this file from
 * platform_api_vmcore.h; the functions live in platform.c.
 *
 * Only what a single-threaded fast interpreter needs: no threads, no
 * files, no sockets (WASI, pthreads and the thread manager are off), so the
 * extension types are placeholders that make platform_api_extension.h
 * compile.
 */
#ifndef CSMP_WAMR_PLATFORM_INTERNAL_H
#define CSMP_WAMR_PLATFORM_INTERNAL_H

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "FreeRTOS.h"
#include "semphr.h"
#include "task.h"

#ifndef BH_PLATFORM_CSMP_FREERTOS
#define BH_PLATFORM_CSMP_FREERTOS
#endif

/* WAMR's defaults for platforms without threads of their own. */
#define BH_APPLET_PRESERVED_STACK_SIZE (2 * BH_KB)
#define BH_THREAD_DEFAULT_PRIORITY 0

typedef TaskHandle_t korp_tid;
typedef TaskHandle_t korp_thread;

/* A mutex whose memory is the struct itself: no heap, even in the kernel. */
typedef struct korp_mutex {
    SemaphoreHandle_t handle;
    StaticSemaphore_t storage;
} korp_mutex;

/* Declared by WAMR's headers, unused with threads off. */
typedef struct korp_cond {
    int unused;
} korp_cond;
typedef struct korp_rwlock {
    int unused;
} korp_rwlock;
typedef unsigned int korp_sem;
struct os_thread_wait_node;
typedef struct os_thread_wait_node *os_thread_wait_list;

typedef int os_file_handle;
typedef void *os_dir_stream;
typedef int os_raw_file_handle;
typedef int os_poll_file_handle;
typedef unsigned int os_nfds_t;
typedef int os_timespec;

static inline os_file_handle
os_get_invalid_handle(void)
{
    return -1;
}

/* No MMU: WAMR only uses this to round sizes. */
static inline int
os_getpagesize(void)
{
    return 4096;
}

#endif /* CSMP_WAMR_PLATFORM_INTERNAL_H */
