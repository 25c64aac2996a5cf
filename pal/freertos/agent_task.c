/*
 * The one agent task: starts WAMR over its static pool, loads agent.wasm
 * (from flash, never written), then turns each inbox event into one call
 * of the agent, run to completion. Other tasks reach the agent only through
 * the inbox (csmp_freertos_host_event, csmp_freertos_config_update,
 * csmp_freertos_ping_done, the IP stack's receive callback, the timer
 * daemon): WAMR is never entered from any task but this one.
 *
 * A fatal, a reboot the board did not carry out, or a trap ends the agent's
 * call; the task then starts a fresh instance over the same storage, as a
 * watchdog reset would (the module stays loaded, only the instance is new).
 * Six such stops within a minute mean the agent cannot run: the task logs it
 * and stops, leaving the rest of the firmware alone.
 */
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "wasm_export.h"

#include "agent.h"
#include "csmp_freertos.h"
#include "internal.h"

static csmp_freertos_settings_t settings;
static csmp_agent_settings_t instance_settings;

static StaticTask_t task_tcb;
static StackType_t task_stack[CSMP_FREERTOS_TASK_STACK_WORDS];
static TaskHandle_t task;

/* WAMR's only heap. 16-byte alignment: WAMR's allocator wants 8, linear
 * memory is happier with more. */
static uint8_t pool[CSMP_FREERTOS_POOL_BYTES] __attribute__((aligned(16)));

static restart_window_t restarts;

/* Stops the agent for good: nothing a restart could fix. */
static void
halt(const char *what, const char *why)
{
    pal_log(CSMP_LOG_ERROR, "agent not running: %s: %s", what, why);
    csmp_agent_deinstantiate();
    timers_cancel_all();
    for (;;)
        vTaskSuspend(NULL);
}

static void
log_resources(void)
{
    uint32_t total, free_now, high;
    if (csmp_agent_pool_usage(&total, &free_now, &high))
        pal_log(CSMP_LOG_INFO, "WAMR pool: %u of %u bytes in use (high mark %u)",
                (unsigned)(total - free_now), (unsigned)total, (unsigned)high);
#if INCLUDE_uxTaskGetStackHighWaterMark && CSMP_FREERTOS_NATIVE_STACK_CHECK
    pal_log(CSMP_LOG_INFO, "agent task stack: %u of %u bytes never used",
            (unsigned)(uxTaskGetStackHighWaterMark(NULL) * sizeof(StackType_t)),
            (unsigned)sizeof task_stack);
#endif
}

static void
log_loaded(void)
{
    uint32_t total = 0, free_now = 0, high = 0;
    (void)csmp_agent_pool_usage(&total, &free_now, &high);
    pal_log(CSMP_LOG_INFO, "loaded agent.wasm (%u bytes); WAMR pool %u of %u bytes in use",
            (unsigned)settings.wasm_size, (unsigned)(total - free_now), (unsigned)total);
}

static void
boot(void)
{
    int32_t init_rc = 0;
    csmp_agent_result_t r;

    ping_new_instance(); /* before the agent can ask for a test */
    if (!csmp_agent_instantiate(&instance_settings))
        halt("instantiate", csmp_agent_error());
    r = csmp_agent_start(settings.config, settings.config_len, &init_rc);
    if (r != CSMP_AGENT_OK)
        halt("agent init", csmp_agent_error());
    if (init_rc != 0)
        halt("agent init", "the agent rejected its configuration (its log says why)");
    pal_log(CSMP_LOG_INFO, "agent started");
    log_resources();
}

/* A crash loop would spin forever; count stops within the window. */
static void
count_restart(void)
{
    if (!restart_window_note(&restarts, csmp_pal_clock_ms()))
        halt("restart", "the agent stopped 6 times within 60 s");
}

static void
restart(void)
{
    switch (reset_pending()) {
        case RESET_REBOOT:
            pal_log(CSMP_LOG_INFO, "restarting the agent (%s)", reset_reason());
            break;
        case RESET_FATAL:
            pal_log(CSMP_LOG_WARN, "agent fatal (%s); restarting it", reset_reason());
            break;
        default:
            pal_log(CSMP_LOG_WARN, "agent trapped (%s); restarting it", csmp_agent_error());
            break;
    }
    count_restart();
    agent_instance_end();
    boot();
}

static void
after_call(csmp_agent_result_t r)
{
    if (r == CSMP_AGENT_OK && reset_pending() == RESET_NONE)
        return;
    if (r == CSMP_AGENT_ERROR) {
        pal_log(CSMP_LOG_WARN, "%s", csmp_agent_error());
        return;
    }
    restart();
}

static void
deliver_datagram(uint8_t slot)
{
    inbox_datagram_t d;
    uint32_t cap = 0;
    uint8_t *rx = csmp_agent_rx_buffer(&cap);

    inbox_datagram(slot, &d);
    if (!rx || d.len > cap) {
        inbox_release(slot);
        pal_log(CSMP_LOG_WARN, "datagram of %u bytes dropped (agent buffer %u)",
                (unsigned)d.len, (unsigned)cap);
        return;
    }
    memcpy(rx, d.data, d.len);
    inbox_release(slot); /* copied: the IP stack may reuse the slot now */
    after_call(csmp_agent_datagram(d.len, d.src, d.src_port, d.dst, net_port()));
}

/* Host events and configuration updates are rare and come from outside the
 * agent, so each outcome is logged: a board's console then shows what the
 * agent was told and whether it took it. */
static void
deliver_host_event(int32_t code, int32_t tlv)
{
    int32_t rc = 0;
    csmp_agent_result_t r = csmp_agent_event(code, tlv, &rc);
    if (r == CSMP_AGENT_OK)
        pal_log(rc < 0 ? CSMP_LOG_WARN : CSMP_LOG_INFO, "host event %d%s", (int)code,
                rc < 0 ? ": unknown to the agent" : " raised");
    after_call(r);
}

/* Bytes of text before its first '\n' (the whole text when there is none). */
static uint32_t
first_line(const char *text, uint32_t len)
{
    const char *nl = memchr(text, '\n', len);
    return nl ? (uint32_t)(nl - text) : len;
}

static void
deliver_config_update(uint8_t slot)
{
    uint32_t len, shown;
    const char *text = inbox_config(slot, &len);
    const char *more;
    int32_t rc = 0;
    csmp_agent_result_t r = csmp_agent_config_update(text, len, &rc);

    /* The log names the update by its first line. */
    shown = first_line(text, len);
    more = shown + 1 < len ? " (and more lines)" : "";
    if (r == CSMP_AGENT_OK && rc == -3)
        pal_log(CSMP_LOG_WARN,
                "configuration update %.*s%s: the agent's configuration buffer is full; restart the device with a configuration holding it",
                (int)shown, text, more);
    else if (r == CSMP_AGENT_OK)
        pal_log(rc < 0 ? CSMP_LOG_WARN : CSMP_LOG_INFO, "configuration update %.*s%s %s",
                (int)shown, text, more, rc < 0 ? "refused (the agent's log says why)" : "applied");
    inbox_config_release(slot); /* the agent copied the text */
    after_call(r);              /* logs an error, or restarts a stopped agent */
}

/* The ping test is over: its result, if this instance asked for it. */
static void
deliver_ping(void)
{
    ping_result_t p;
    if (ping_take(&p))
        after_call(csmp_agent_ping_done(p.sent, p.received, p.min_ms, p.mean_ms, p.max_ms,
                                        p.stdev_ms));
}

static void
agent_task(void *arg)
{
    uint32_t major = 0, minor = 0, patch = 0;
    inbox_event_t ev;
    int id;

    (void)arg;
    csmp_wamr_set_stack_boundary(CSMP_FREERTOS_NATIVE_STACK_CHECK ? (uint8_t *)task_stack : NULL);
    if (!csmp_agent_runtime_init(pool, sizeof pool))
        halt("WAMR", csmp_agent_error());
    wasm_runtime_get_version(&major, &minor, &patch);
    pal_log(CSMP_LOG_INFO, "WAMR %u.%u.%u fast interpreter, pool %u KiB, stack %u bytes",
            (unsigned)major, (unsigned)minor, (unsigned)patch, (unsigned)(sizeof pool / 1024),
            (unsigned)CSMP_FREERTOS_WASM_STACK_BYTES);
    /* The loader only reads the module (agent.c loads it with
     * wasm_binary_freeable), so the const can go. */
    if (!csmp_agent_load((uint8_t *)(uintptr_t)settings.wasm, settings.wasm_size))
        halt("agent.wasm", csmp_agent_error());
    log_loaded();
    if (!net_open(settings.udp_port))
        halt("network", "no UDP port");
    pal_log(CSMP_LOG_INFO, "agent UDP port %u", (unsigned)net_port());

    boot();
    for (;;) {
        /* Timers armed with 0 ms first, bounded so one re-armed with 0 ms
         * cannot starve the inbox. */
        for (int n = 0; n < CSMP_PAL_TIMER_COUNT && (id = timers_take_due_now()) >= 0; n++)
            after_call(csmp_agent_timer(id));
        if (!inbox_wait(&ev, timers_due_now_pending() ? 0 : portMAX_DELAY))
            continue;
        switch (ev.kind) {
            case INBOX_DATAGRAM:
                deliver_datagram(ev.index);
                break;
            case INBOX_TIMER:
                if ((id = timers_on_expiry(ev.index)) >= 0)
                    after_call(csmp_agent_timer(id));
                break;
            case INBOX_HOST:
                deliver_host_event(ev.code, ev.tlv);
                break;
            case INBOX_CONFIG:
                deliver_config_update(ev.index);
                break;
            case INBOX_PING:
                deliver_ping();
                break;
            default:
                break;
        }
    }
}

bool
csmp_freertos_start(const csmp_freertos_settings_t *s)
{
    if (task || !s || !s->wasm || !s->config)
        return false;
    settings = *s;
    instance_settings.stack_size = CSMP_FREERTOS_WASM_STACK_BYTES;
    instance_settings.max_memory_pages = CSMP_FREERTOS_MAX_PAGES;
    inbox_init();
    timers_init();
    crypto_init();
    task = xTaskCreateStatic(agent_task, "csmp-agent", CSMP_FREERTOS_TASK_STACK_WORDS, NULL,
                             s->priority, task_stack, &task_tcb);
    return task != NULL;
}

bool
csmp_freertos_host_event(int32_t code, int32_t related_tlv)
{
    if (!task) {
        pal_log(CSMP_LOG_WARN, "host event %d dropped: the agent is not started", (int)code);
        return false;
    }
    if (!inbox_post_host(code, related_tlv)) {
        pal_log(CSMP_LOG_WARN, "host event %d dropped: %u host events are waiting already",
                (int)code, (unsigned)CSMP_FREERTOS_HOST_EVENTS);
        return false;
    }
    return true;
}

bool
csmp_freertos_config_update(const char *lines, uint32_t len)
{
    /* With the '\n' the inbox adds to a text that lacks one. */
    uint32_t need = len + (len > 0 && lines && lines[len - 1] != '\n');

    if (!task || !lines || len == 0) {
        pal_log(CSMP_LOG_WARN, "configuration update dropped: %s",
                !task ? "the agent is not started" : "no text");
        return false;
    }
    if (need > CSMP_FREERTOS_CONFIG_UPDATE_MAX) {
        pal_log(CSMP_LOG_WARN,
                "configuration update of %u bytes dropped: longer than CSMP_FREERTOS_CONFIG_UPDATE_MAX (%u)",
                (unsigned)need, (unsigned)CSMP_FREERTOS_CONFIG_UPDATE_MAX);
        return false;
    }
    if (!inbox_post_config(lines, len)) {
        pal_log(CSMP_LOG_WARN,
                "configuration update dropped: %u updates are waiting already (CSMP_FREERTOS_CONFIG_UPDATES)",
                (unsigned)CSMP_FREERTOS_CONFIG_UPDATES);
        return false;
    }
    return true;
}
