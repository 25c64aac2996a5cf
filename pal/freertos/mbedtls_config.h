/*
 * mbedTLS configuration for the FreeRTOS PAL (MBEDTLS_CONFIG_FILE): exactly
 * SHA-256 and ECDSA verification over P-256, nothing else, and no system
 * heap: bignums come from mbedtls_memory_buffer_alloc over a static array
 * (crypto.c). Written for mbedTLS 2.28, the version the sources crate ships.
 */
#ifndef CSMP_MBEDTLS_CONFIG_H
#define CSMP_MBEDTLS_CONFIG_H

/* Platform: calloc/free are set at run time to the static buffer allocator. */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/* No libc defaults: until crypto_init hands mbedTLS its buffer, calloc
 * fails instead of reaching libc's malloc (which is then never linked). */
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
/* The buffer allocator "exits" when it finds its heap corrupted. */
void csmp_mbedtls_heap_corrupt(int status);
#define MBEDTLS_PLATFORM_EXIT_MACRO csmp_mbedtls_heap_corrupt
/* No time, no file system, no entropy source of mbedTLS's own: the TRNG is
 * the board's, and verification needs no randomness. */
#define MBEDTLS_NO_PLATFORM_ENTROPY

/* Bignum with the Cortex-M (UMAAL) and x86-64 multiply helpers. */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_BIGNUM_C

/* P-256 only, with its fast reduction and a small window (verification is
 * rare: signed NMS messages, firmware; RAM is not). The group stays loaded
 * between verifies (pal/common/crypto_mbedtls.c), so the comb table for G
 * is computed once and kept in it. Measured for the Cortex-M4 build (QEMU
 * mps2-an386, 2 verifies at a time): the table keeps 340 bytes in 9 blocks
 * of this heap for good (about 0.6 KiB with the allocator's headers), a
 * verify's peak grows from 1.6 KiB in 36 blocks to 2.2 KiB in 43 (the
 * smallest heap that works, from 3 to 3.75 KiB: the 8 KiB default keeps
 * half free), and a verify runs 16 % fewer instructions. */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_MAX_BITS 256
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1
#define MBEDTLS_MPI_MAX_SIZE 64
/* Verification works on public data only, so the side-channel blinding
 * that would need a DRBG inside ECP is not wanted. */
#define MBEDTLS_ECP_NO_INTERNAL_RNG

/* ECDSA needs the ASN.1 helpers for its (unused here) DER entry points. */
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C

/* SHA-256, the rolled-up (smaller) variant. */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER

#include "mbedtls/check_config.h"

#endif /* CSMP_MBEDTLS_CONFIG_H */
