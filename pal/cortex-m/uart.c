/*
 * Console on the board's UART0, an Arm CMSDK APB UART: a data register and a
 * "transmit buffer full" bit are all it takes to print. QEMU shows it with
 * -serial stdio.
 */
#include "board.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define STATE_TX_FULL 1u
#define CTRL_TX_ENABLE 1u

void
uart_write(const char *text, size_t len)
{
    if (!(UART_CTRL & CTRL_TX_ENABLE)) {
        UART_BAUDDIV = 16; /* the smallest divider the hardware accepts */
        UART_CTRL = CTRL_TX_ENABLE;
    }
    for (size_t i = 0; i < len; i++) {
        while (UART_STATE & STATE_TX_FULL)
            ;
        UART_DATA = (uint8_t)text[i];
    }
}
