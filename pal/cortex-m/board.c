/*
 * Vendor hooks (pal/freertos/vendor_hooks.h) for QEMU's mps2-an386: a board
 * without an IP stack, NV memory, RTC or TRNG, so each hook says what a real
 * board puts there. Enough to boot the agent and show it running.
 */
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "board.h"
#include "vendor_hooks.h"

/* ---- console ---------------------------------------------------------------------- */

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void
csmp_vendor_log(int level, const char *source, const char *text, uint32_t len)
{
    char head[48];
    TickType_t now = xTaskGetTickCount();
    if (level < CSMP_LOG_ERROR || level > CSMP_LOG_DEBUG)
        level = CSMP_LOG_DEBUG;
    int n = snprintf(head, sizeof head, "%6u.%03u %s %s: ", (unsigned)(now / 1000),
                     (unsigned)(now % 1000), level_names[level], source);
    /* One line at a time; a real board would hand it to a console task. */
    taskENTER_CRITICAL();
    uart_write(head, n > 0 ? (size_t)n : 0);
    uart_write(text, len);
    uart_write("\r\n", 2);
    taskEXIT_CRITICAL();
}

void
board_panic(const char *what, int code)
{
    char line[80];
    int n = snprintf(line, sizeof line, "PANIC: %s (%d)\r\n", what, code);
    __asm volatile("cpsid i" ::: "memory");
    uart_write(line, n > 0 ? (size_t)n : 0);
    for (;;)
        ;
}

void
board_assert_failed(const char *file, int line)
{
    char text[96];
    snprintf(text, sizeof text, "FreeRTOS assertion at %s", file);
    board_panic(text, line);
}

void vApplicationStackOverflowHook(TaskHandle_t task, char *name);
void
vApplicationStackOverflowHook(TaskHandle_t task, char *name)
{
    (void)task;
    board_panic(name, -1);
}

/* ---- network: none on this board ---------------------------------------------- */

/* A real board binds a UDP socket of its IP stack (Wi-SUN, 6LoWPAN) here and
 * calls on_rx from the stack's task for each datagram. */
int32_t
csmp_vendor_udp_open(uint16_t port, csmp_vendor_udp_rx_fn on_rx)
{
    (void)on_rx;
    return port ? port : 61628;
}

int32_t
csmp_vendor_udp_send(const uint8_t dst[16], uint16_t dst_port, const uint8_t *data, uint32_t len)
{
    (void)dst;
    (void)dst_port;
    (void)data;
    (void)len;
    return CSMP_PAL_FAILED; /* no route */
}

int32_t
csmp_vendor_udp_multicast(const uint8_t group[16], bool join)
{
    (void)group;
    (void)join;
    return CSMP_PAL_UNSUPPORTED;
}

/* ---- records: a small table in RAM (lost at reset) ------------------------------ */

#define RECORDS 16
#define RECORD_MAX 512

static struct {
    char key[CSMP_PAL_KEY_MAX + 1];
    uint32_t len;
    uint8_t data[RECORD_MAX];
} records[RECORDS];

static int
record_find(const char *key)
{
    for (int i = 0; i < RECORDS; i++)
        if (records[i].key[0] && strcmp(records[i].key, key) == 0)
            return i;
    return -1;
}

int32_t
csmp_vendor_record_read(const char *key, uint8_t *buf, uint32_t cap)
{
    int i = record_find(key);
    if (i < 0)
        return CSMP_PAL_FAILED;
    memcpy(buf, records[i].data, records[i].len < cap ? records[i].len : cap);
    return (int32_t)records[i].len;
}

int32_t
csmp_vendor_record_write(const char *key, const uint8_t *data, uint32_t len)
{
    int i = record_find(key);
    if (len > RECORD_MAX)
        return CSMP_PAL_OUT_OF_RANGE;
    for (int j = 0; i < 0 && j < RECORDS; j++)
        if (!records[j].key[0])
            i = j;
    if (i < 0)
        return CSMP_PAL_IO; /* table full */
    strcpy(records[i].key, key);
    memcpy(records[i].data, data, len);
    records[i].len = len;
    return 0;
}

int32_t
csmp_vendor_record_erase(const char *key)
{
    int i = record_find(key);
    if (i >= 0)
        records[i].key[0] = '\0';
    return 0;
}

/* ---- slots: slot 0 is the running image; 1 and 2 in emulated flash -------------- */

#define SLOT_BYTES (256u * 1024u)

static uint8_t slot_flash[2][SLOT_BYTES] __attribute__((section(".emulated_flash")));

void
board_storage_init(void)
{
    memset(slot_flash, 0xff, sizeof slot_flash);
}

int32_t
csmp_vendor_slot_size(int32_t slot)
{
    return slot >= 0 && slot <= 2 ? (int32_t)SLOT_BYTES : -1;
}

int32_t
csmp_vendor_slot_erase(int32_t slot)
{
    memset(slot_flash[slot - 1], 0xff, SLOT_BYTES);
    return 0;
}

int32_t
csmp_vendor_slot_write(int32_t slot, uint32_t offset, const uint8_t *data, uint32_t len)
{
    /* NOR flash semantics: programming only clears bits. */
    for (uint32_t i = 0; i < len; i++)
        slot_flash[slot - 1][offset + i] &= data[i];
    return 0;
}

int32_t
csmp_vendor_slot_read(int32_t slot, uint32_t offset, uint8_t *buf, uint32_t len)
{
    if (slot == 0) {
        /* The running image: here, the agent module it carries. */
        for (uint32_t i = 0; i < len; i++)
            buf[i] = offset + i < csmp_agent_wasm_size ? csmp_agent_wasm[offset + i] : 0xff;
        return 0;
    }
    memcpy(buf, &slot_flash[slot - 1][offset], len);
    return 0;
}

int32_t
csmp_vendor_slot_activate(int32_t slot)
{
    (void)slot;
    return CSMP_PAL_UNSUPPORTED; /* no boot loader on this board */
}

/* ---- RTC: none; kept as an offset from the tick once the agent sets it ------------ */

static bool rtc_valid;
static int64_t rtc_offset;

int64_t
csmp_vendor_rtc_get(void)
{
    return rtc_valid ? rtc_offset + (int64_t)(xTaskGetTickCount() / configTICK_RATE_HZ) : -1;
}

int32_t
csmp_vendor_rtc_set(int64_t posix_seconds)
{
    rtc_offset = posix_seconds - (int64_t)(xTaskGetTickCount() / configTICK_RATE_HZ);
    rtc_valid = true;
    return 0;
}

/* ---- TRNG: none ------------------------------------------------------------------- */

/* NOT RANDOM. The emulated board has no TRNG, so this is xorshift32 over
 * the SysTick counter: good for jitter in a demo, useless for security. A
 * real board reads its TRNG peripheral here. */
int32_t
csmp_vendor_trng(uint8_t *buf, uint32_t len)
{
    static uint32_t x;
    x ^= *(volatile uint32_t *)0xE000E018u ^ 0x9e3779b9u; /* SYST_CVR */
    for (uint32_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    return 0;
}

/* ---- reset ------------------------------------------------------------------------- */

void
csmp_vendor_reboot(int32_t reason)
{
    (void)reason;
    /* SCB AIRCR: VECTKEY | SYSRESETREQ. QEMU restarts the image. */
    *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u;
    for (;;)
        ;
}
