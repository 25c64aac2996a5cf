/*
 * Crypto for the agent: the board's TRNG, and SHA-256 plus ECDSA P-256
 * verification from mbedTLS (2.28 or 3.x) built with our own configuration
 * (mbedtls_config.h). mbedTLS allocates its bignums through its
 * buffer allocator from one static array, never from a system heap; a board
 * with a hash or PKA accelerator replaces this file.
 */
#include <string.h>

#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/sha256.h"
#include "mbedtls/version.h"

#include "FreeRTOS.h"
#include "task.h"

#include "internal.h"

/* 2.x names its SHA-256 calls *_ret; 3.x dropped the suffix. */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define sha256_update(c, d, n) mbedtls_sha256_update_ret((c), (d), (n))
#define sha256_finish(c, o) mbedtls_sha256_finish_ret((c), (o))
#else
#define sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define sha256_update(c, d, n) mbedtls_sha256_update((c), (d), (n))
#define sha256_finish(c, o) mbedtls_sha256_finish((c), (o))
#endif

static unsigned char mbedtls_heap[CSMP_FREERTOS_MBEDTLS_HEAP_BYTES] __attribute__((aligned(8)));
static mbedtls_sha256_context sha;
static bool sha_running;

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
crypto_reset(void)
{
    if (sha_running)
        mbedtls_sha256_free(&sha);
    sha_running = false;
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

void
csmp_pal_sha256_start(void)
{
    crypto_reset();
    mbedtls_sha256_init(&sha);
    sha256_starts(&sha);
    sha_running = true;
}

void
csmp_pal_sha256_update(const uint8_t *data, int32_t len)
{
    if (!sha_running) {
        pal_log(CSMP_LOG_WARN, "sha256_update without sha256_start: starting one");
        csmp_pal_sha256_start();
    }
    sha256_update(&sha, data, (size_t)len);
}

void
csmp_pal_sha256_finish(uint8_t out[32])
{
    if (!sha_running) {
        pal_log(CSMP_LOG_WARN, "sha256_finish without sha256_start: digest of nothing");
        csmp_pal_sha256_start();
    }
    sha256_finish(&sha, out);
    crypto_reset();
}

int32_t
csmp_pal_ecdsa_p256_verify(const uint8_t pub_key[65], const uint8_t digest[32],
                           const uint8_t r[32], const uint8_t s[32])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi mr, ms;
    int32_t result;
    int rc;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&mr);
    mbedtls_mpi_init(&ms);

    /* The contract takes the uncompressed form only: 0x04 | X | Y. */
    if (pub_key[0] != 0x04 || mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0
        || mbedtls_ecp_point_read_binary(&grp, &q, pub_key, 65) != 0
        || mbedtls_ecp_check_pubkey(&grp, &q) != 0 || mbedtls_mpi_read_binary(&mr, r, 32) != 0
        || mbedtls_mpi_read_binary(&ms, s, 32) != 0) {
        result = CSMP_PAL_FAILED;
        goto out;
    }
    /* r or s outside 1..n-1 also comes back as VERIFY_FAILED: invalid. */
    rc = mbedtls_ecdsa_verify(&grp, digest, 32, &q, &mr, &ms);
    if (rc == 0)
        result = 1;
    else if (rc == MBEDTLS_ERR_ECP_VERIFY_FAILED)
        result = 0;
    else {
        /* Most likely MPI_ALLOC_FAILED: the static heap is too small. */
        pal_log(CSMP_LOG_WARN, "ecdsa_p256_verify: mbedTLS error -0x%04x", (unsigned)-rc);
        result = CSMP_PAL_FAILED;
    }
out:
    mbedtls_mpi_free(&ms);
    mbedtls_mpi_free(&mr);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return result;
}
