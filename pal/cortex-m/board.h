/*
 * The QEMU mps2-an386 board, as far as the firmware needs it.
 */
#ifndef CSMP_BOARD_H
#define CSMP_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* UART0 console (polled): writes len bytes. */
void uart_write(const char *text, size_t len);

/* Reports what went wrong on the console and stops the CPU. */
void board_panic(const char *what, int code) __attribute__((noreturn));

/* Prepares the emulated flash (erased) before the agent starts. */
void board_storage_init(void);

/* The agent module (agent.wasm) kept in flash: generated at build time. */
extern const uint8_t csmp_agent_wasm[];
extern const uint32_t csmp_agent_wasm_size;

#endif /* CSMP_BOARD_H */
