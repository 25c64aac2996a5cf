/*
 * The agent task's one queue. Datagrams, timer expiries, host events,
 * configuration updates and the end of a ping test arrive from other tasks
 * and wait here, in order, until the agent task turns each into one call of
 * the agent.
 *
 * The queue is sized so a post can never find it full: at most RX_SLOTS
 * datagrams (a datagram needs a free rx slot before it is queued), one
 * expiry per timer (a bit per timer says one is queued), HOST_EVENTS host
 * events (counted), CONFIG_UPDATES configuration updates (each needs a
 * free text slot, like a datagram) and one ping result (ping.c refuses a new
 * test until the agent task has taken the last one's) can wait at once. So
 * no producer ever blocks and no expiry is ever lost.
 *
 * Payloads (datagrams, configuration text) are copied into static slots
 * by the posting task and only their index travels in the queue, so a queue
 * item stays small and nothing is allocated.
 */
#include <string.h>

#include "FreeRTOS.h"
#include "queue.h"
#include "task.h"

#include "internal.h"

/* Slot indices travel as uint8_t. */
#if CSMP_FREERTOS_RX_SLOTS < 1 || CSMP_FREERTOS_RX_SLOTS > 255
#error "CSMP_FREERTOS_RX_SLOTS must be 1..255"
#endif
#if CSMP_FREERTOS_CONFIG_UPDATES < 1 || CSMP_FREERTOS_CONFIG_UPDATES > 255
#error "CSMP_FREERTOS_CONFIG_UPDATES must be 1..255"
#endif

#define INBOX_LENGTH                                                                   \
    (CSMP_FREERTOS_RX_SLOTS + CSMP_PAL_TIMER_COUNT + CSMP_FREERTOS_HOST_EVENTS        \
     + CSMP_FREERTOS_CONFIG_UPDATES + 1 /* ping result */)

static StaticQueue_t inbox_buf;
static uint8_t inbox_storage[INBOX_LENGTH * sizeof(inbox_event_t)];
static QueueHandle_t inbox;

/* Free rx slots, as a queue of indices: taking one and giving it back are
 * then safe from any task without a lock of our own. */
static StaticQueue_t free_buf;
static uint8_t free_storage[CSMP_FREERTOS_RX_SLOTS];
static QueueHandle_t free_slots;

typedef struct rx_slot {
    uint32_t len;
    uint16_t src_port;
    uint8_t src[16];
    uint8_t dst[16];
    uint8_t data[CSMP_FREERTOS_RX_MAX];
} rx_slot_t;
static rx_slot_t slots[CSMP_FREERTOS_RX_SLOTS];

/* Configuration texts waiting for the agent, and their free indices. */
static StaticQueue_t free_text_buf;
static uint8_t free_text_storage[CSMP_FREERTOS_CONFIG_UPDATES];
static QueueHandle_t free_texts;

typedef struct text_slot {
    uint32_t len;
    char text[CSMP_FREERTOS_CONFIG_UPDATE_MAX];
} text_slot_t;
static text_slot_t texts[CSMP_FREERTOS_CONFIG_UPDATES];

/* Guarded by a critical section: the timer daemon and host tasks post. */
static uint32_t timers_queued;
static uint32_t hosts_queued;
static uint32_t dropped;

void
inbox_init(void)
{
    inbox = xQueueCreateStatic(INBOX_LENGTH, sizeof(inbox_event_t), inbox_storage, &inbox_buf);
    free_slots = xQueueCreateStatic(CSMP_FREERTOS_RX_SLOTS, 1, free_storage, &free_buf);
    free_texts = xQueueCreateStatic(CSMP_FREERTOS_CONFIG_UPDATES, 1, free_text_storage,
                                    &free_text_buf);
    configASSERT(inbox && free_slots && free_texts);
    for (uint8_t i = 0; i < CSMP_FREERTOS_RX_SLOTS; i++)
        (void)xQueueSend(free_slots, &i, 0);
    for (uint8_t i = 0; i < CSMP_FREERTOS_CONFIG_UPDATES; i++)
        (void)xQueueSend(free_texts, &i, 0);
}

bool
inbox_post_datagram(const uint8_t *data, uint32_t len, const uint8_t src[16],
                    uint16_t src_port, const uint8_t dst[16])
{
    inbox_event_t ev = { .kind = INBOX_DATAGRAM };
    uint32_t lost;

    if (len > CSMP_FREERTOS_RX_MAX || xQueueReceive(free_slots, &ev.index, 0) != pdPASS) {
        taskENTER_CRITICAL();
        lost = ++dropped;
        taskEXIT_CRITICAL();
        /* Rate-limited: a flood must not turn into a flood of log lines. */
        if ((lost & (lost - 1)) == 0)
            pal_log(CSMP_LOG_WARN, "datagram of %u bytes dropped (%s; %u so far)", (unsigned)len,
                    len > CSMP_FREERTOS_RX_MAX ? "too large" : "receive slots full",
                    (unsigned)lost);
        return false;
    }
    rx_slot_t *s = &slots[ev.index];
    memcpy(s->data, data, len);
    s->len = len;
    memcpy(s->src, src, 16);
    memcpy(s->dst, dst, 16);
    s->src_port = src_port;
    (void)xQueueSend(inbox, &ev, 0); /* room guaranteed, see above */
    return true;
}

void
inbox_post_timer(int id)
{
    inbox_event_t ev = { .kind = INBOX_TIMER, .index = (uint8_t)id };
    uint32_t bit = 1u << id;
    bool queue_it;

    taskENTER_CRITICAL();
    queue_it = (timers_queued & bit) == 0;
    timers_queued |= bit;
    taskEXIT_CRITICAL();
    if (queue_it)
        (void)xQueueSend(inbox, &ev, 0);
}

bool
inbox_post_host(int32_t code, int32_t tlv)
{
    inbox_event_t ev = { .kind = INBOX_HOST, .code = code, .tlv = tlv };
    bool room;

    taskENTER_CRITICAL();
    room = hosts_queued < CSMP_FREERTOS_HOST_EVENTS;
    if (room)
        hosts_queued++;
    taskEXIT_CRITICAL();
    if (room)
        (void)xQueueSend(inbox, &ev, 0);
    return room;
}

bool
inbox_post_config(const char *text, uint32_t len)
{
    inbox_event_t ev = { .kind = INBOX_CONFIG };
    bool newline = len > 0 && text[len - 1] != '\n';

    if (len == 0 || len + newline > CSMP_FREERTOS_CONFIG_UPDATE_MAX
        || xQueueReceive(free_texts, &ev.index, 0) != pdPASS)
        return false;
    /* The slot is this task's alone until it is queued. */
    text_slot_t *t = &texts[ev.index];
    memcpy(t->text, text, len);
    if (newline)
        t->text[len++] = '\n';
    t->len = len;
    (void)xQueueSend(inbox, &ev, 0); /* room guaranteed, see above */
    return true;
}

void
inbox_post_ping(void)
{
    inbox_event_t ev = { .kind = INBOX_PING };
    (void)xQueueSend(inbox, &ev, 0); /* room kept, see above */
}

bool
inbox_wait(inbox_event_t *ev, TickType_t ticks)
{
    if (xQueueReceive(inbox, ev, ticks) != pdPASS)
        return false;
    /* From here on a new event of the same kind may be queued again. */
    taskENTER_CRITICAL();
    if (ev->kind == INBOX_TIMER)
        timers_queued &= ~(1u << ev->index);
    else if (ev->kind == INBOX_HOST)
        hosts_queued--;
    taskEXIT_CRITICAL();
    return true;
}

void
inbox_datagram(uint8_t index, inbox_datagram_t *out)
{
    const rx_slot_t *s = &slots[index];
    out->data = s->data;
    out->len = s->len;
    memcpy(out->src, s->src, 16);
    memcpy(out->dst, s->dst, 16);
    out->src_port = s->src_port;
}

void
inbox_release(uint8_t index)
{
    (void)xQueueSend(free_slots, &index, 0);
}

const char *
inbox_config(uint8_t index, uint32_t *len)
{
    *len = texts[index].len;
    return texts[index].text;
}

void
inbox_config_release(uint8_t index)
{
    (void)xQueueSend(free_texts, &index, 0);
}
