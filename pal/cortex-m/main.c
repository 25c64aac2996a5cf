/*
 * The OpenCSMP agent firmware for a Cortex-M4F, booted on QEMU's
 * mps2-an386: FreeRTOS, WAMR's fast interpreter, the FreeRTOS PAL, and
 * agent.wasm kept in flash as a const array (agent_wasm.c, generated).
 */
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "board.h"
#include "csmp_freertos.h"

/* The device configuration, in flash too (docs/device-config.md). */
static const char device_config[] = "eui64=00173BAB01020304\n"
                                    "nms.url=coap://[2001:db8::1]:61629\n"
                                    "hw.name=OpenCSMP on QEMU mps2-an386\n";

int
main(void)
{
    static const char banner[] = "\r\nOpenCSMP firmware: FreeRTOS " tskKERNEL_VERSION_NUMBER
                                 " (ARM_CM4F), QEMU mps2-an386\r\n";
    csmp_freertos_settings_t s = {
        .wasm = csmp_agent_wasm,
        .wasm_size = csmp_agent_wasm_size,
        .config = device_config,
        .config_len = sizeof device_config - 1,
        .udp_port = 61628,
        .priority = tskIDLE_PRIORITY + 2,
    };

    uart_write(banner, sizeof banner - 1);
    board_storage_init();
    if (!csmp_freertos_start(&s))
        board_panic("csmp_freertos_start", 0);
    vTaskStartScheduler();
    board_panic("scheduler returned", 0);
}
