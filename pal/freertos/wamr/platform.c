/*
 * WAMR's platform functions (platform_api_vmcore.h) on FreeRTOS.
 *
 * Memory: WAMR is built with BH_MALLOC=wasm_runtime_malloc, so everything
 * it allocates, linear memory included (os_mmap below), comes from the one
 * pool given to wasm_runtime_full_init. os_malloc is never reached then; it
 * fails loudly instead of quietly using a heap we promised not to have.
 *
 * Output: WAMR's own messages (os_printf) are collected into lines and go
 * to the board's console as source "wamr".
 */
#include "platform_api_vmcore.h"
#include "wasm_export.h"

#include "internal.h"

static uint8_t *stack_boundary;

int
bh_platform_init(void)
{
    return 0;
}

void
bh_platform_destroy(void)
{
}

void *
os_malloc(unsigned size)
{
    (void)size;
    return NULL;
}

void *
os_realloc(void *ptr, unsigned size)
{
    (void)ptr;
    (void)size;
    return NULL;
}

void
os_free(void *ptr)
{
    (void)ptr;
}

int
os_dumps_proc_mem_info(char *out, unsigned int size)
{
    (void)out;
    (void)size;
    return -1;
}

/* ---- output --------------------------------------------------------------- */

/* WAMR prints some messages in pieces; only the agent task runs WAMR, so
 * one static line buffer is enough. */
static char line[160];
static size_t line_len;

static void
flush_line(void)
{
    csmp_vendor_log(CSMP_LOG_INFO, "wamr", line, (uint32_t)line_len);
    line_len = 0;
}

int
os_vprintf(const char *format, va_list ap)
{
    char text[160];
    int n = vsnprintf(text, sizeof text, format, ap);
    if (n < 0)
        return n;
    for (int i = 0; i < n && i < (int)sizeof text - 1; i++) {
        if (text[i] == '\n')
            flush_line();
        else if (line_len < sizeof line)
            line[line_len++] = text[i];
    }
    return n;
}

int
os_printf(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = os_vprintf(format, ap);
    va_end(ap);
    return n;
}

/* ---- time and threads -------------------------------------------------------- */

uint64
os_time_get_boot_us(void)
{
    TimeOut_t t;
    vTaskSetTimeOutState(&t);
    uint64 ticks = (uint64)t.xTimeOnEntering;
#if configTICK_TYPE_WIDTH_IN_BITS == TICK_TYPE_WIDTH_32_BITS
    ticks |= (uint64)(uint32_t)t.xOverflowCount << 32;
#endif
    return ticks * 1000000u / configTICK_RATE_HZ;
}

uint64
os_time_thread_cputime_us(void)
{
    return os_time_get_boot_us();
}

korp_tid
os_self_thread(void)
{
    return xTaskGetCurrentTaskHandle();
}

void
csmp_wamr_set_stack_boundary(uint8_t *lowest)
{
    stack_boundary = lowest;
}

uint8 *
os_thread_get_stack_boundary(void)
{
    return stack_boundary;
}

void
os_thread_jit_write_protect_np(bool enabled)
{
    (void)enabled;
}

/* ---- mutexes ------------------------------------------------------------------ */

int
os_mutex_init(korp_mutex *mutex)
{
    mutex->handle = xSemaphoreCreateMutexStatic(&mutex->storage);
    return mutex->handle ? BHT_OK : BHT_ERROR;
}

int
os_mutex_destroy(korp_mutex *mutex)
{
    vSemaphoreDelete(mutex->handle);
    return BHT_OK;
}

int
os_mutex_lock(korp_mutex *mutex)
{
    return xSemaphoreTake(mutex->handle, portMAX_DELAY) == pdPASS ? BHT_OK : BHT_ERROR;
}

int
os_mutex_unlock(korp_mutex *mutex)
{
    return xSemaphoreGive(mutex->handle) == pdPASS ? BHT_OK : BHT_ERROR;
}

/* ---- memory ------------------------------------------------------------------- */

void *
os_mmap(void *hint, size_t size, int prot, int flags, os_file_handle file)
{
    (void)hint;
    (void)prot;
    (void)flags;
    (void)file;
    if ((uint64)size >= UINT32_MAX)
        return NULL;
    /* Linear memory and other "mappings" come from the pool, zeroed as a
     * fresh mapping would be. */
    void *p = wasm_runtime_malloc((unsigned)size);
    if (p)
        memset(p, 0, size);
    return p;
}

void
os_munmap(void *addr, size_t size)
{
    (void)size;
    if (addr)
        wasm_runtime_free(addr);
}

void *
os_mremap(void *old_addr, size_t old_size, size_t new_size)
{
    return os_mremap_slow(old_addr, old_size, new_size);
}

int
os_mprotect(void *addr, size_t size, int prot)
{
    (void)addr;
    (void)size;
    (void)prot;
    return 0;
}

void
os_dcache_flush(void)
{
}

void
os_icache_flush(void *start, size_t len)
{
    (void)start;
    (void)len;
}

/* ---- condition variables --------------------------------------------------------- */

/* Only WAMR's runtime_timer.c (timer contexts for its app framework) asks
 * for them; it is linked for bh_get_tick_ms and never creates a context
 * here. With threads off nothing could wait, so creating one fails. */
int
os_cond_init(korp_cond *cond)
{
    (void)cond;
    return BHT_ERROR;
}

int
os_cond_destroy(korp_cond *cond)
{
    (void)cond;
    return BHT_OK;
}

int
os_cond_reltimedwait(korp_cond *cond, korp_mutex *mutex, uint64 useconds)
{
    (void)cond;
    (void)mutex;
    (void)useconds;
    return BHT_ERROR;
}

int
os_cond_signal(korp_cond *cond)
{
    (void)cond;
    return BHT_ERROR;
}
