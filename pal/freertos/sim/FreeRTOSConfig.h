/*
 * FreeRTOS settings for the simulator: the real kernel on its POSIX port
 * (each task a pthread, the tick a timer thread), as a Linux process.
 */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#include "freertos_config_base.h"

/* The POSIX port's TickType_t is unsigned long: 64 bits on Linux x86-64. */
#define configTICK_TYPE_WIDTH_IN_BITS TICK_TYPE_WIDTH_64_BITS
/* A task's FreeRTOS stack only holds the port's thread record here; the
 * code runs on the pthread's own stack. */
#define configMINIMAL_STACK_SIZE 512
#define configCHECK_FOR_STACK_OVERFLOW 0
#define configCPU_CLOCK_HZ 1000000
#define CSMP_FREERTOS_TASK_STACK_WORDS 1024u
/* 64-bit pointers: the fast interpreter's precompiled code (a handler
 * address per opcode) and WAMR's structures are much larger than on a
 * 32-bit part, and linear memory (64 KiB) comes from the pool too. */
#define CSMP_FREERTOS_POOL_BYTES (320u * 1024u)
#define CSMP_FREERTOS_NATIVE_STACK_CHECK 0

void sim_assert_failed(const char *file, int line);
#define configASSERT(x)                               \
    do {                                              \
        if (!(x))                                     \
            sim_assert_failed(__FILE__, __LINE__);    \
    } while (0)

#endif /* FREERTOS_CONFIG_H */
