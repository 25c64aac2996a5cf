/*
 * SHA-256 and ECDSA P-256 verification from mbedTLS (2.28 or 3.x), for both
 * PALs: the POSIX host links Debian's libmbedcrypto (malloc), the FreeRTOS
 * PAL our subset over a static buffer (pal/freertos/mbedtls_config.h,
 * crypto.c there sets the buffer up). The platform's crypto.c keeps
 * csmp_pal_random; a board with a hash or PKA accelerator replaces this file.
 */
#include <stdbool.h>
#include <stddef.h>

#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/sha256.h"
#include "mbedtls/version.h"

#include "pal_common.h"

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

static mbedtls_sha256_context sha;
static bool sha_running;

/* The P-256 group stays loaded: mbedTLS caches its comb table for the base
 * point G in it (MBEDTLS_ECP_FIXED_POINT_OPTIM), which a freshly loaded group
 * recomputes on every verify. */
static mbedtls_ecp_group p256;
static bool p256_loaded;

void
crypto_reset(void)
{
    if (sha_running)
        mbedtls_sha256_free(&sha);
    sha_running = false;
}

void
crypto_shutdown(void)
{
    crypto_reset();
    if (p256_loaded)
        mbedtls_ecp_group_free(&p256);
    p256_loaded = false;
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
        pal_log(PAL_LOG_WARN, "sha256_update without sha256_start: starting one");
        csmp_pal_sha256_start();
    }
    sha256_update(&sha, data, (size_t)len);
}

void
csmp_pal_sha256_finish(uint8_t out[32])
{
    if (!sha_running) {
        pal_log(PAL_LOG_WARN, "sha256_finish without sha256_start: digest of nothing");
        csmp_pal_sha256_start();
    }
    sha256_finish(&sha, out);
    crypto_reset();
}

int32_t
csmp_pal_ecdsa_p256_verify(const uint8_t pub_key[65], const uint8_t digest[32],
                           const uint8_t r[32], const uint8_t s[32])
{
    mbedtls_ecp_group *grp = &p256;
    mbedtls_ecp_point q;
    mbedtls_mpi mr, ms;
    int32_t result;
    int rc;

    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&mr);
    mbedtls_mpi_init(&ms);
    if (!p256_loaded) {
        mbedtls_ecp_group_init(&p256);
        if (mbedtls_ecp_group_load(&p256, MBEDTLS_ECP_DP_SECP256R1) != 0) {
            mbedtls_ecp_group_free(&p256);
            pal_log(PAL_LOG_WARN, "ecdsa_p256_verify: mbedTLS cannot load P-256");
            result = CSMP_PAL_FAILED;
            goto out;
        }
        p256_loaded = true;
    }

    /* Only the uncompressed form (0x04 | X | Y) is part of the contract. */
    if (pub_key[0] != 0x04 || mbedtls_ecp_point_read_binary(grp, &q, pub_key, 65) != 0
        || mbedtls_ecp_check_pubkey(grp, &q) != 0) {
        result = CSMP_PAL_FAILED; /* malformed key, as the Node host says */
        goto out;
    }
    if (mbedtls_mpi_read_binary(&mr, r, 32) != 0 || mbedtls_mpi_read_binary(&ms, s, 32) != 0) {
        result = CSMP_PAL_FAILED;
        goto out;
    }
    /* r or s outside 1..n-1 also comes back as VERIFY_FAILED: invalid, not an error. */
    rc = mbedtls_ecdsa_verify(grp, digest, 32, &q, &mr, &ms);
    if (rc == 0)
        result = 1;
    else if (rc == MBEDTLS_ERR_ECP_VERIFY_FAILED)
        result = 0;
    else {
        /* On a static mbedTLS heap most likely MPI_ALLOC_FAILED: too small. */
        pal_log(PAL_LOG_WARN, "ecdsa_p256_verify: mbedTLS error -0x%04x", (unsigned)-rc);
        result = CSMP_PAL_FAILED;
    }
out:
    mbedtls_mpi_free(&ms);
    mbedtls_mpi_free(&mr);
    mbedtls_ecp_point_free(&q);
    return result;
}
