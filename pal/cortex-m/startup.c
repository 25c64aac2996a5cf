/*
 * Reset and exception vectors of the Cortex-M4F firmware. The kernel's
 * ARM_CM4F port supplies the SVC, PendSV and SysTick handlers; everything
 * else that fires is a bug, reported on the UART.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[], __main_stack_top[];

void vPortSVCHandler(void);
void xPortPendSVHandler(void);
void xPortSysTickHandler(void);
int main(void);
void reset_handler(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void
reset_handler(void)
{
    memcpy(__data_start, __data_load, (size_t)((uint8_t *)__data_end - (uint8_t *)__data_start));
    memset(__bss_start, 0, (size_t)((uint8_t *)__bss_end - (uint8_t *)__bss_start));
    /* Full access to the FPU (CP10, CP11) before any float instruction:
     * the hard-float ABI and the kernel's lazy FPU stacking need it. */
    CPACR |= 0xFu << 20;
    __asm volatile("dsb\n isb" ::: "memory");
    main();
    for (;;)
        ;
}

static void
fault_handler(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    board_panic("unexpected exception", (int)(ipsr & 0x1ff));
}

/* Cortex-M4 core exceptions; external interrupts are never enabled here. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__main_stack_top,
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    vPortSVCHandler,
    fault_handler, /* DebugMonitor */
    0,
    xPortPendSVHandler,
    xPortSysTickHandler,
};
