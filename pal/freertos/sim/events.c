/*
 * The simulator's host events and configuration updates: the POSIX host's
 * --event-file (same format, same take-by-rename: pal/common/event_file.c),
 * taken on SIGUSR2, and handed to the PAL the way a board's own tasks do it,
 * through csmp_freertos_host_event() and csmp_freertos_config_update().
 *
 *     echo 3 >> events && kill -USR2 <pid>                          # tamper
 *     echo ip.2.addr=2001:db8::7 >> events && kill -USR2 <pid>
 *
 * Why SIGUSR2 and not the POSIX host's SIGUSR1: the kernel's POSIX port
 * owns SIGALRM (its tick) and SIGUSR1 (it wakes the scheduler's thread when
 * the scheduler ends). Why a flag and a task: only the running task's thread
 * has signals unblocked, so the handler interrupts whatever task holds the
 * (simulated) CPU, anywhere, even inside the kernel; it may neither call
 * FreeRTOS nor touch files. It sets a flag; the "events" task looks at it
 * every POLL_MS and takes the file in task context.
 *
 * The task runs below the agent task, so it only runs while the agent task
 * waits on its inbox, which is then empty: each line it posts wakes the
 * agent task, which preempts it and delivers the line before it reads the
 * next one, so a file longer than the inbox never overflows it. (Should the
 * agent be halted for good, the PAL refuses what no longer fits, logged.)
 */
#include <signal.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "csmp_freertos.h"
#include "event_file.h"
#include "sim.h"

#define POLL_MS 20
#define EVENTS_TASK_PRIORITY (tskIDLE_PRIORITY + 1)

static const char *event_path;
static volatile sig_atomic_t signalled;

static StaticTask_t events_tcb;
static StackType_t events_stack[configMINIMAL_STACK_SIZE];

static void
on_signal(int sig)
{
    (void)sig;
    signalled = 1;
}

/* The PAL logs what it refuses (inbox full, text too long): nothing to add. */
static void
post_event(int32_t code, int32_t related_tlv)
{
    (void)csmp_freertos_host_event(code, related_tlv);
}

static void
post_config(const char *line, uint32_t len)
{
    (void)csmp_freertos_config_update(line, len);
}

static void
log_line(int level, const char *text)
{
    sim_log(level, "events", "%s", text);
}

static void
events_task(void *arg)
{
    static const event_file_sink_t sink = { .event = post_event, .config = post_config,
                                            .log = log_line };
    (void)arg;
    for (;;) {
        vTaskDelay(pdMS_TO_TICKS(POLL_MS));
        if (!signalled)
            continue;
        signalled = 0; /* before taking: a signal from now on means a new take */
        if (!event_path)
            sim_log(CSMP_LOG_WARN, "events", "SIGUSR2 ignored: no --event-file");
        else if (event_file_take(event_path, &sink) == EVENT_FILE_MISSING)
            sim_log(CSMP_LOG_INFO, "events", "SIGUSR2 but no events in %s", event_path);
    }
}

bool
sim_events_start(const char *path)
{
    struct sigaction sa;

    event_path = path;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* Nothing else may run inside the handler (the tick could switch tasks
     * there), and a system call it interrupts carries on. */
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGUSR2, &sa, NULL) < 0) {
        sim_log(CSMP_LOG_ERROR, "events", "cannot handle SIGUSR2");
        return false;
    }
    return xTaskCreateStatic(events_task, "events", configMINIMAL_STACK_SIZE, NULL,
                             EVENTS_TASK_PRIORITY, events_stack, &events_tcb)
        != NULL;
}
