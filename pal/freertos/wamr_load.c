/*
 * The module stays in flash: WAMR must not write into it.
 *
 * Loaded as is, WAMR's loader reuses the module buffer for names (it shifts
 * each one back a byte to NUL-terminate it in place), which faults on, or
 * silently fails to change, flash. With LoadArgs.wasm_binary_freeable it
 * copies names and data segments into its pool instead and never writes to
 * the buffer. pal/wamr/agent.c (shared with the POSIX host, which keeps the
 * module in RAM) does not set that flag, so the FreeRTOS build compiles it
 * with -Dwasm_runtime_load_ex=csmp_freertos_load_ex (see freertos.cmake):
 * its one call of wasm_runtime_load_ex lands here, and we add the flag.
 */
#include "wasm_export.h"

wasm_module_t csmp_freertos_load_ex(uint8_t *buf, uint32_t size, const LoadArgs *args,
                                    char *error_buf, uint32_t error_buf_size);

wasm_module_t
csmp_freertos_load_ex(uint8_t *buf, uint32_t size, const LoadArgs *args, char *error_buf,
                      uint32_t error_buf_size)
{
    LoadArgs flash_safe = *args;
    flash_safe.wasm_binary_freeable = true;
    return wasm_runtime_load_ex(buf, size, &flash_safe, error_buf, error_buf_size);
}
