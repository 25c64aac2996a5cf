/*
 * csmp-agent-freertos: the FreeRTOS PAL on the real FreeRTOS kernel (its
 * POSIX port), as a Linux process: the agent under WAMR in one FreeRTOS
 * task, UDP on a real socket, storage in a directory. What runs here is the
 * code a board runs, only the vendor hooks (this directory) differ.
 *
 *   csmp-agent-freertos --config FILE [--module FILE] [--bind ADDR]
 *                       [--interface NAME] [--port N] [--state DIR]
 *                       [--event-file FILE] [--trust-system-time]
 *
 * --interface NAME: where link-local destinations go (UDP and pings), as the
 * POSIX host's option; without it the kernel picks one, or refuses.
 *
 * --event-file FILE: on SIGUSR2 the lines of FILE are taken and handed to
 * the agent, `CODE [RELATED_TLV]` as a host event, `key=value` as a
 * configuration update: the POSIX host's option, on another signal
 * (events.c says why).
 *
 * --trust-system-time starts with the system clock as a trusted RTC (a board
 * whose RTC was set at the factory), as the POSIX host's option of that
 * name: signed NMS messages carry a validity window the agent can only
 * check with trusted time.
 *
 * The module is mapped read-only, as flash would be: if WAMR ever wrote
 * into it the process would fault, so a run is also that proof.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "FreeRTOS.h"
#include "task.h"

#include "csmp_freertos.h"
#include "sim.h"

#define AGENT_PRIORITY (tskIDLE_PRIORITY + 2)

static void
usage(void)
{
    fprintf(stderr, "usage: csmp-agent-freertos --config FILE [--module FILE] [--bind ADDR] "
                    "[--interface NAME] [--port N] [--state DIR] [--event-file FILE] "
                    "[--trust-system-time]\n");
    exit(1);
}

/* Maps path read-only; NULL (with the reason logged) on failure. */
static const uint8_t *
map_file(const char *path, uint32_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > 16 * 1024 * 1024) {
        fprintf(stderr, "cannot read %s: %s\n", path, fd < 0 ? strerror(errno) : "empty or too large");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "cannot map %s: %s\n", path, strerror(errno));
        return NULL;
    }
    *size = (uint32_t)st.st_size;
    return p;
}

int
main(int argc, char **argv)
{
    const char *module = "build/agent.wasm", *config = NULL, *bind = "::1", *state = ".agent-state-freertos";
    const char *events = NULL, *ifname = NULL;
    long port = 61628;
    csmp_freertos_settings_t s;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trust-system-time") == 0) {
            sim_rtc_trust_system_time();
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(argv[i], "--module") == 0)
            module = v;
        else if (strcmp(argv[i], "--config") == 0)
            config = v;
        else if (strcmp(argv[i], "--bind") == 0)
            bind = v;
        else if (strcmp(argv[i], "--interface") == 0)
            ifname = v;
        else if (strcmp(argv[i], "--state") == 0)
            state = v;
        else if (strcmp(argv[i], "--event-file") == 0)
            events = v;
        else if (strcmp(argv[i], "--port") == 0) {
            char *end;
            port = strtol(v, &end, 10);
            if (*end || port < 0 || port > 65535)
                usage();
        } else
            usage();
        i++;
    }
    if (!config)
        usage();

    /* Start-up: the only allocations (the kernel's POSIX port adds its
     * thread records when tasks are created, also before they run). */
    memset(&s, 0, sizeof s);
    if (!(s.wasm = map_file(module, &s.wasm_size))
        || !(s.config = (const char *)map_file(config, &s.config_len)))
        return 2;
    if (!sim_net_configure(bind, ifname) || !sim_storage_open(state))
        return 4;
    s.udp_port = (uint16_t)port;
    s.priority = AGENT_PRIORITY;
    sim_log(CSMP_LOG_INFO, "sim", "FreeRTOS %s (POSIX port), agent module %s (%u bytes, read-only)",
            tskKERNEL_VERSION_NUMBER, module, (unsigned)s.wasm_size);
    if (!csmp_freertos_start(&s) || !sim_events_start(events) || !sim_ping_start())
        return 4;
    vTaskStartScheduler();
    return 0; /* only if the scheduler could not start */
}
