/*
 * FreeRTOS settings for the Cortex-M4F firmware (ARM_CM4F port) on QEMU's
 * mps2-an386 board: 25 MHz core clock, SysTick as the tick.
 */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#include "freertos_config_base.h"

#define configCPU_CLOCK_HZ 25000000u
#define configTICK_TYPE_WIDTH_IN_BITS TICK_TYPE_WIDTH_32_BITS
#define configMINIMAL_STACK_SIZE 160
#define configCHECK_FOR_STACK_OVERFLOW 2

/* Interrupt priorities as the port wants them in the NVIC's top bits:
 * the kernel at the lowest, and ISRs at 5 or below may call FromISR APIs.
 * Written for 3 implemented bits; valid for QEMU's 8 as well. */
#define configKERNEL_INTERRUPT_PRIORITY 255
#define configMAX_SYSCALL_INTERRUPT_PRIORITY (5 << 5)

/* The agent task: the fast interpreter's main loop and the deepest native
 * (an ECDSA verify in mbedTLS) run here. The boot log prints the high-water
 * mark. 16 KiB. */
#define CSMP_FREERTOS_TASK_STACK_WORDS 4096u

void board_assert_failed(const char *file, int line);
#define configASSERT(x)                               \
    do {                                              \
        if (!(x))                                     \
            board_assert_failed(__FILE__, __LINE__);  \
    } while (0)

#endif /* FREERTOS_CONFIG_H */
