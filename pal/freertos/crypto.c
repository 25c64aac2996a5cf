/*
 * Crypto for the agent on FreeRTOS: the board's TRNG, and the static heap
 * mbedTLS (our configuration, mbedtls_config.h) allocates its bignums from,
 * never from a system heap. SHA-256 and ECDSA P-256 verification are shared
 * with the POSIX PAL (pal/common/crypto_mbedtls.c); a board with a hash or
 * PKA accelerator replaces that file.
 */
#include <string.h>

#include "mbedtls/memory_buffer_alloc.h"

#include "FreeRTOS.h"
#include "task.h"

#include "internal.h"

static unsigned char mbedtls_heap[CSMP_FREERTOS_MBEDTLS_HEAP_BYTES] __attribute__((aligned(8)));

/* mbedTLS found its heap corrupted: memory is no longer trustworthy. */
void
csmp_mbedtls_heap_corrupt(int status)
{
    pal_log(CSMP_LOG_ERROR, "mbedTLS heap corrupted (%d)", status);
    configASSERT(0);
    for (;;)
        vTaskSuspend(NULL);
}

void
crypto_init(void)
{
    mbedtls_memory_buffer_alloc_init(mbedtls_heap, sizeof mbedtls_heap);
}

void
csmp_pal_random(uint8_t *buf, int32_t len)
{
    if (csmp_vendor_trng(buf, (uint32_t)len) == 0)
        return;
    /* Predictable tokens and jitter would be worse than stopping: treat it
     * as a fatal, so the agent task restarts the agent after this call (and
     * gives up if the TRNG stays broken). */
    memset(buf, 0, (size_t)len);
    pal_log(CSMP_LOG_ERROR, "the TRNG failed");
    csmp_pal_fatal((const uint8_t *)"TRNG failed", 11, 0, 0);
}
