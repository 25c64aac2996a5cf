/*
 * csmp-agent: the OpenCSMP agent (agent.wasm) under WAMR's fast interpreter
 * on Linux. Loads and checks the module, hands it its configuration, then
 * runs the event loop: datagrams, timer expiries, the end of a ping test
 * (ping.c) and what the platform signals (SIGUSR1 with --event-file: host
 * events and configuration lines, events.c) become calls of the agent's
 * entry points, one at a time, each run to completion. --replay FILE
 * instead feeds datagrams from a file and exits (replay.c; the bench uses
 * it).
 *
 * A fatal, a reboot or a trap ends the agent's call; the host then starts a
 * fresh instance over the same state directory, as a device's watchdog or
 * reset would (the module stays loaded; only the instance is new).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasm_export.h"

#include "agent.h"
#include "host.h"
#include "options.h"

/* Fairness: at most this many datagrams, then timers get their turn. */
#define DATAGRAM_BURST 16

static options_t opts;
/* Freed at exit, so LeakSanitizer (test/wamr-sanitizers.test.ts) sees a
 * clean process: the module bytes and WAMR's pool. */
static uint8_t *module_bytes;
static uint8_t *pool;
static char *config_text;
static size_t config_len;
static csmp_agent_settings_t settings;

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t events_signalled; /* SIGUSR1: read --event-file */
static sigset_t run_mask;   /* signals unblocked: inside ppoll and agent calls */
static sigset_t quiet_mask; /* SIGINT/SIGTERM/SIGUSR1 blocked: everywhere else */

static restart_window_t restarts;

/* ---- signals ---------------------------------------------------------------- */

static void
on_signal(int sig)
{
    /* A second signal while the agent is stuck in a call: leave now. */
    if (stop_signal)
        _exit(128 + sig);
    stop_signal = sig;
}

static void
on_events_signal(int sig)
{
    (void)sig;
    events_signalled = 1;
}

static void
setup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_events_signal;
    sigaction(SIGUSR1, &sa, NULL);
    /* A peer's ICMP error must not kill us through a write on a socket. */
    signal(SIGPIPE, SIG_IGN);

    /* Blocked except where the loop can notice them without a race: a
     * signal arriving between the stop check and ppoll waits for ppoll. */
    sigprocmask(SIG_BLOCK, NULL, &run_mask);
    sigdelset(&run_mask, SIGINT);
    sigdelset(&run_mask, SIGTERM);
    sigdelset(&run_mask, SIGUSR1);
    quiet_mask = run_mask;
    sigaddset(&quiet_mask, SIGINT);
    sigaddset(&quiet_mask, SIGTERM);
    sigaddset(&quiet_mask, SIGUSR1);
    sigprocmask(SIG_SETMASK, &quiet_mask, NULL);
}

/* ---- module file ------------------------------------------------------------ */

static uint8_t *
read_module(const char *path, uint32_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f) {
        host_log(LOG_ERROR, "host", "cannot read agent module %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 16 * 1024 * 1024
        || fseek(f, 0, SEEK_SET) != 0) {
        host_log(LOG_ERROR, "host", "agent module %s: not a regular file of sane size", path);
        fclose(f);
        return NULL;
    }
    /* WAMR only reads it (pal/wamr/agent.c loads with wasm_binary_freeable);
     * kept until exit all the same, which costs 30 KB and works with any
     * interpreter mode. */
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        host_log(LOG_ERROR, "host", "cannot read agent module %s", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = (uint32_t)n;
    return buf;
}

/* ---- agent lifecycle ------------------------------------------------------------ */

static void
shutdown_and_exit(int code)
{
    ping_cancel();
    csmp_agent_deinstantiate();
    csmp_agent_unload();
    csmp_agent_runtime_destroy();
    net_close();
    crypto_shutdown();
    free(config_text);
    free(module_bytes);
    free(pool);
    exit(code);
}

static void
log_pool(void)
{
    uint32_t total, free_now, high;
    if (csmp_agent_pool_usage(&total, &free_now, &high))
        host_log(LOG_INFO, "host", "WAMR pool: %u of %u bytes in use (high mark %u)",
                 total - free_now, total, high);
}

/* Instantiates and initialises the agent; exits on what a restart cannot fix. */
static void
boot(void)
{
    int32_t init_rc = 0;
    csmp_agent_result_t r;

    slots_apply_pending_boot();
    if (!csmp_agent_instantiate(&settings)) {
        host_log(LOG_ERROR, "host", "%s: %s", opts.module_path, csmp_agent_error());
        shutdown_and_exit(EXIT_MODULE);
    }
    sigprocmask(SIG_SETMASK, &run_mask, NULL);
    r = csmp_agent_start(config_text, (uint32_t)config_len, &init_rc);
    sigprocmask(SIG_SETMASK, &quiet_mask, NULL);
    if (r != CSMP_AGENT_OK) {
        host_log(LOG_ERROR, "host", "agent init failed: %s", csmp_agent_error());
        shutdown_and_exit(EXIT_CONFIG);
    }
    if (init_rc != 0) {
        host_log(LOG_ERROR, "host",
                 "the agent rejected its configuration (agent_init returned %d; its log says why)",
                 (int)init_rc);
        shutdown_and_exit(EXIT_CONFIG);
    }
    host_log(LOG_INFO, "host", "agent started");
    log_pool();
}

/* A crash loop would spin forever; a device would give up the same way
 * (boot loader fallback), so exit and let a supervisor decide. */
static void
count_restart(void)
{
    if (!restart_window_note(&restarts, clock_now_ms())) {
        host_log(LOG_ERROR, "host", "the agent stopped %d times within %d s; giving up",
                 RESTART_LIMIT + 1, RESTART_WINDOW_MS / 1000);
        shutdown_and_exit(EXIT_CRASH_LOOP);
    }
}

static void
restart(void)
{
    switch (reset_pending()) {
        case RESET_REBOOT:
            host_log(LOG_INFO, "host", "rebooting the agent (reason %d)",
                     (int)reset_reboot_reason());
            break;
        case RESET_FATAL:
            host_log(LOG_WARN, "host", "agent fatal (%s); restarting it",
                     reset_fatal_reason());
            break;
        default:
            host_log(LOG_WARN, "host", "agent trapped (%s); restarting it as after a watchdog reset",
                     csmp_agent_error());
            break;
    }
    count_restart();
    /* The new instance never asked for it: no agent_ping_done for it. */
    ping_cancel();
    agent_instance_end();
    boot();
}

/* Runs one agent call with the stop signals deliverable (a stuck agent can
 * still be interrupted by a second signal), then handles its outcome. */
static void
after_call(csmp_agent_result_t r)
{
    sigprocmask(SIG_SETMASK, &quiet_mask, NULL);
    if (r == CSMP_AGENT_OK && reset_pending() == RESET_NONE)
        return;
    if (r == CSMP_AGENT_ERROR) {
        host_log(LOG_WARN, "host", "%s", csmp_agent_error());
        return;
    }
    restart();
}

static void
deliver_timers(void)
{
    int64_t now = clock_now_ms();
    int id;
    /* Bounded, so a timer re-armed with 0 ms cannot starve the socket. */
    for (int n = 0; n < CSMP_PAL_TIMER_COUNT && !stop_signal
                    && (id = timers_take_expired(now)) >= 0;
         n++) {
        sigprocmask(SIG_SETMASK, &run_mask, NULL);
        after_call(csmp_agent_timer(id));
    }
}

/* Sends the ping test's due echoes; hands the agent the result once it is over. */
static void
deliver_ping(void)
{
    icmp6_echo_result_t p;
    if (stop_signal || !ping_run(&p))
        return;
    sigprocmask(SIG_SETMASK, &run_mask, NULL);
    after_call(csmp_agent_ping_done(p.sent, p.received, p.min_ms, p.mean_ms, p.max_ms, p.stdev_ms));
}

static void
deliver_datagrams(void)
{
    uint8_t src[16], dst[16];
    uint16_t src_port;

    for (int n = 0; n < DATAGRAM_BURST && !stop_signal; n++) {
        uint32_t cap;
        uint8_t *rx = csmp_agent_rx_buffer(&cap);
        if (!rx)
            return;
        /* Straight into the agent's buffer: no copy on the hot path. */
        int len = net_receive(rx, cap, src, &src_port, dst);
        if (len == -2)
            continue; /* oversized, dropped */
        if (len <= 0)
            return;
        if (opts.log_level >= LOG_DEBUG) {
            char text[64];
            host_log(LOG_DEBUG, "net", "%d bytes from [%s]:%u", len,
                     net_format(src, text, sizeof text), src_port);
        }
        sigprocmask(SIG_SETMASK, &run_mask, NULL);
        after_call(csmp_agent_datagram((uint32_t)len, src, src_port, dst, net_port()));
    }
}

/* Peak resident set of this process in KiB: VmHWM from /proc (getrusage's
 * ru_maxrss would also count the parent's memory copied at fork, before our
 * exec: a Node parent of 180 MB shows up as a 180 MB host); -1 if unknown. */
static long
peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* --replay: every record of the file, in order, then the figures the bench
 * reads: the measured records' time inside the agent, WAMR's pool high mark
 * and the process's peak RSS. Timers are not delivered. */
static void
replay_datagrams(void)
{
    replay_record_t r;
    uint32_t delivered = 0, measured = 0, total = 0, free_now = 0, high = 0;
    uint64_t measured_ns = 0;

    while (!stop_signal && replay_next(&r)) {
        uint32_t cap;
        uint8_t *rx = csmp_agent_rx_buffer(&cap);
        struct timespec t0, t1;
        if (!rx || r.len > cap) {
            host_log(LOG_ERROR, "replay", "record %u: %u bytes do not fit the agent's buffer",
                     delivered + 1, r.len);
            shutdown_and_exit(EXIT_USAGE);
        }
        memcpy(rx, r.payload, r.len);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        sigprocmask(SIG_SETMASK, &run_mask, NULL);
        after_call(csmp_agent_datagram(r.len, r.src, r.src_port, net_address(), net_port()));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (r.measured) {
            measured++;
            measured_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u
                           + (uint64_t)(t1.tv_nsec - t0.tv_nsec);
        }
        delivered++;
    }
    csmp_agent_pool_usage(&total, &free_now, &high);
    host_log(LOG_INFO, "replay",
             "%u datagrams, %u measured in %llu ns, %u sent; WAMR pool high mark %u of %u bytes; peak RSS %ld KiB",
             delivered, measured, (unsigned long long)measured_ns, net_offline_sent(), high, total,
             peak_rss_kib());
    replay_close();
}

static void
deliver_host_event(int32_t code, int32_t related_tlv)
{
    int32_t rc = 0;
    if (stop_signal)
        return;
    sigprocmask(SIG_SETMASK, &run_mask, NULL);
    csmp_agent_result_t r = csmp_agent_event(code, related_tlv, &rc);
    after_call(r);
    if (r == CSMP_AGENT_OK)
        host_log(rc < 0 ? LOG_WARN : LOG_INFO, "events", "host event %d%s", (int)code,
                 rc < 0 ? ": unknown to the agent" : " raised");
}

static void
deliver_config_line(const char *line, uint32_t len)
{
    int32_t rc = 0;
    if (stop_signal)
        return;
    sigprocmask(SIG_SETMASK, &run_mask, NULL);
    csmp_agent_result_t r = csmp_agent_config_update(line, len, &rc);
    after_call(r);
    if (r != CSMP_AGENT_OK)
        return;
    if (rc == -3)
        host_log(LOG_WARN, "events",
                 "configuration update %.*s: the agent's configuration buffer is full; restart csmp-agent with a --config holding it",
                 (int)len - 1, line);
    else
        host_log(rc < 0 ? LOG_WARN : LOG_INFO, "events", "configuration update %.*s %s", (int)len - 1,
                 line, rc < 0 ? "refused (the agent's log says why)" : "applied");
}

static void
take_host_events(void)
{
    events_signalled = 0;
    if (!opts.event_path) {
        host_log(LOG_WARN, "events", "SIGUSR1 ignored: no --event-file");
        return;
    }
    events_take(opts.event_path, deliver_host_event, deliver_config_line);
}

static void
event_loop(void)
{
    while (!stop_signal) {
        if (events_signalled)
            take_host_events();
        deliver_timers();
        deliver_ping();
        if (stop_signal)
            break;

        struct timespec wait, *timeout = NULL;
        int64_t next = timers_next_deadline(), ping_next = ping_next_deadline();
        if (ping_next >= 0 && (next < 0 || ping_next < next))
            next = ping_next;
        if (next >= 0) {
            int64_t ms = next - clock_now_ms();
            if (ms < 0)
                ms = 0;
            wait.tv_sec = (time_t)(ms / 1000);
            wait.tv_nsec = (long)(ms % 1000) * 1000000L;
            timeout = &wait;
        }
        /* A negative fd (no ping test running) is skipped by ppoll. */
        struct pollfd pfd[2] = { { .fd = net_fd(), .events = POLLIN },
                                 { .fd = ping_fd(), .events = POLLIN } };
        int n = ppoll(pfd, 2, timeout, &run_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            host_log(LOG_ERROR, "host", "ppoll: %s", strerror(errno));
            shutdown_and_exit(EXIT_HOST);
        }
        /* Echo replies first: their RTT ends when they are read. POLLERR
         * too: reading takes a queued ICMPv6 error off the socket. */
        if (n > 0 && pfd[1].revents)
            ping_receive();
        if (n > 0 && (pfd[0].revents & POLLIN))
            deliver_datagrams();
    }
}

int
main(int argc, char **argv)
{
    uint32_t wasm_size, major = 0, minor = 0, patch = 0;

    /* One write per log line, even with several writers on one terminal. */
    setvbuf(stderr, NULL, _IOLBF, 0);
    if (!options_parse(argc, argv, &opts))
        return EXIT_USAGE;
    log_set_threshold(opts.log_level);
    /* Before the state is opened: every durable write the agent makes counts. */
    power_cut_configure(opts.power_cut_at, opts.power_cut_torn, opts.journal_writes);

    if (!(module_bytes = read_module(opts.module_path, &wasm_size)))
        return EXIT_MODULE;
    if (!(config_text = options_config_text(&opts, &config_len)))
        return EXIT_USAGE;
    if (!store_open(opts.state_dir) || !slots_open(opts.state_dir, opts.slot_sizes, opts.slot_count))
        return EXIT_HOST;
    wall_clock_init(opts.trust_system_time);

    /* Every WAMR allocation comes from this one block, sized up front, as on
     * a microcontroller (linear memory itself is mapped separately here). */
    pool = aligned_alloc(16, opts.pool_bytes);
    if (!pool || !csmp_agent_runtime_init(pool, opts.pool_bytes)) {
        host_log(LOG_ERROR, "host", "%s", pool ? csmp_agent_error() : "out of memory");
        return EXIT_HOST;
    }
    wasm_runtime_get_version(&major, &minor, &patch);
    host_log(LOG_INFO, "host", "WAMR %u.%u.%u fast interpreter, pool %u KiB, stack %u bytes, memory cap %u pages",
             major, minor, patch, opts.pool_bytes / 1024, opts.stack_bytes, opts.max_pages);

    if (!csmp_agent_load(module_bytes, wasm_size)) {
        host_log(LOG_ERROR, "host", "%s: %s", opts.module_path, csmp_agent_error());
        shutdown_and_exit(EXIT_MODULE);
    }
    host_log(LOG_INFO, "host", "loaded %s (%u bytes)", opts.module_path, wasm_size);

    if (opts.replay_path ? !replay_open(opts.replay_path)
                         || !net_open_offline(opts.bind_addr, opts.port)
                         : !net_open(opts.bind_addr, opts.port, opts.ifname))
        shutdown_and_exit(opts.replay_path ? EXIT_USAGE : EXIT_HOST);
    setup_signals();

    settings.stack_size = opts.stack_bytes;
    settings.max_memory_pages = opts.max_pages;
    boot();
    if (opts.replay_path) {
        replay_datagrams();
        shutdown_and_exit(0);
    }
    event_loop();

    host_log(LOG_INFO, "host", "stopping (%s)", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    shutdown_and_exit(0);
    return 0;
}
