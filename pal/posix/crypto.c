/*
 * Randomness for the agent: the kernel's CSPRNG. SHA-256 and ECDSA P-256
 * verification are mbedTLS's, shared with the FreeRTOS PAL
 * (pal/common/crypto_mbedtls.c, here over Debian's libmbedcrypto).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "host.h"

void
csmp_pal_random(uint8_t *buf, int32_t len)
{
    size_t done = 0;
    while (done < (size_t)len) {
        ssize_t n = getrandom(buf + done, (size_t)len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* Predictable tokens and jitter would be worse than stopping. */
            host_log(LOG_ERROR, "pal", "getrandom failed: %s", strerror(errno));
            exit(EXIT_HOST);
        }
        done += (size_t)n;
    }
}
