/*
 * The kernel settings the FreeRTOS PAL relies on, included by each build's
 * FreeRTOSConfig.h (sim/, pal/cortex-m/), which adds its port's own. A
 * board merging these into its FreeRTOSConfig.h keeps the ones marked
 * "needed".
 */
#ifndef CSMP_FREERTOS_CONFIG_BASE_H
#define CSMP_FREERTOS_CONFIG_BASE_H

/* Needed: every kernel object is static, and nothing may allocate after
 * start-up, so the kernel gets no heap at all (no heap_N.c is linked). The
 * kernel also provides the idle and timer tasks' memory itself. */
#define configSUPPORT_STATIC_ALLOCATION 1
#define configSUPPORT_DYNAMIC_ALLOCATION 0
#define configKERNEL_PROVIDED_STATIC_MEMORY 1

/* Needed: the agent's timers are software timers; the daemon's command queue
 * holds an arm and a cancel for each of the 16, plus slack. The daemon runs
 * above the agent task so commands never wait behind the interpreter. */
#define configUSE_TIMERS 1
#define configTIMER_TASK_PRIORITY (configMAX_PRIORITIES - 1)
#define configTIMER_QUEUE_LENGTH 36
#define configTIMER_TASK_STACK_DEPTH (configMINIMAL_STACK_SIZE * 2)

/* Needed: WAMR's runtime lock (wamr/platform.c) is a FreeRTOS mutex. */
#define configUSE_MUTEXES 1

/* Needed: clock.c's 64-bit clock reads the tick with vTaskSetTimeOutState;
 * 1 kHz makes a tick a millisecond. */
#define configTICK_RATE_HZ 1000
#define configUSE_PREEMPTION 1
#define configMAX_PRIORITIES 5
#define configMAX_TASK_NAME_LEN 12
#define configSTACK_DEPTH_TYPE uint32_t
#define configQUEUE_REGISTRY_SIZE 0
#define configUSE_IDLE_HOOK 0
#define configUSE_TICK_HOOK 0
#define configUSE_MALLOC_FAILED_HOOK 0
#define configUSE_TRACE_FACILITY 0
#define configUSE_CO_ROUTINES 0
#define configENABLE_BACKWARD_COMPATIBILITY 0

#define INCLUDE_vTaskSuspend 1
#define INCLUDE_vTaskDelay 1
#define INCLUDE_xTaskGetCurrentTaskHandle 1
#define INCLUDE_uxTaskGetStackHighWaterMark 1

#endif /* CSMP_FREERTOS_CONFIG_BASE_H */
