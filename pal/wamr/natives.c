/*
 * The "pal" native symbol table: one WAMR native per import of
 * assembly/pal.ts, each a thin wrapper that checks what WAMR cannot and
 * calls the platform's csmp_pal_* function (include/csmp_pal.h).
 *
 * Signature letters (wasm_export.h): i = i32, I = i64, and a "*~" pair is a
 * pointer followed by its length, which WAMR bounds-checks against the
 * agent's linear memory and converts to a native pointer before we run.
 * Fixed-size buffers (addresses, digests, keys) arrive as plain i32 offsets
 * and are checked here with wasm_runtime_validate_app_addr, which raises an
 * out-of-bounds exception on failure, exactly as WAMR does for "*~": the
 * agent handed over a wild pointer, so its call must not continue.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wasm_export.h"

#include "csmp_pal.h"
#include "natives.h"

/* The native pointer for [offset, offset+size) of the agent's memory, or NULL
 * (with an exception raised) when that range is not inside it. */
static void *
fixed_buffer(wasm_exec_env_t env, uint32_t offset, uint32_t size)
{
    wasm_module_inst_t inst = wasm_runtime_get_module_inst(env);
    if (!wasm_runtime_validate_app_addr(inst, offset, size))
        return NULL;
    return wasm_runtime_addr_app_to_native(inst, offset);
}

/* Stops the agent's current call once the native returns: WAMR checks for a
 * pending exception after every native call and unwinds. */
static void
unwind(wasm_exec_env_t env, const char *why)
{
    wasm_runtime_set_exception(wasm_runtime_get_module_inst(env), why);
}

/* ---- log ---------------------------------------------------------------- */

static void
n_log(wasm_exec_env_t env, int32_t level, uint8_t *text, uint32_t len)
{
    (void)env;
    csmp_pal_log(level, text, (int32_t)len);
}

static void
n_fatal(wasm_exec_env_t env, uint8_t *msg, uint32_t len, int32_t line,
        int32_t column)
{
    csmp_pal_fatal(msg, (int32_t)len, line, column);
    /* The agent would run `unreachable` next; a clearly named exception
     * tells the host this was a recorded fatal, not a stray trap. */
    unwind(env, CSMP_WAMR_EXC_FATAL);
}

/* ---- network -------------------------------------------------------------- */

static int32_t
n_udp_send(wasm_exec_env_t env, uint32_t addr, int32_t port, uint8_t *data,
           uint32_t len)
{
    const uint8_t *a = fixed_buffer(env, addr, 16);
    if (!a)
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_pal_udp_send(a, port, data, (int32_t)len);
}

static int32_t
n_udp_multicast(wasm_exec_env_t env, uint32_t addr, int32_t join)
{
    const uint8_t *a = fixed_buffer(env, addr, 16);
    if (!a)
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_pal_udp_multicast(a, join);
}

/* ---- time ------------------------------------------------------------------ */

static void
n_timer_arm(wasm_exec_env_t env, int32_t id, int32_t ms)
{
    (void)env;
    /* ms is a u32 in the contract; wasm has no unsigned type. */
    csmp_pal_timer_arm(id, (uint32_t)ms);
}

static void
n_timer_cancel(wasm_exec_env_t env, int32_t id)
{
    (void)env;
    csmp_pal_timer_cancel(id);
}

static int64_t
n_clock_ms(wasm_exec_env_t env)
{
    (void)env;
    return csmp_pal_clock_ms();
}

static int64_t
n_wall_time(wasm_exec_env_t env)
{
    (void)env;
    return csmp_pal_wall_time();
}

static int32_t
n_wall_time_set(wasm_exec_env_t env, int64_t posix)
{
    (void)env;
    return csmp_pal_wall_time_set(posix);
}

/* ---- randomness ------------------------------------------------------------ */

static void
n_random(wasm_exec_env_t env, uint8_t *buf, uint32_t len)
{
    (void)env;
    csmp_pal_random(buf, (int32_t)len);
}

/* ---- durable storage ---------------------------------------------------------- */

static int32_t
n_store_read(wasm_exec_env_t env, uint8_t *key, uint32_t key_len, uint8_t *buf,
             uint32_t cap)
{
    (void)env;
    return csmp_pal_store_read(key, (int32_t)key_len, buf, (int32_t)cap);
}

static int32_t
n_store_write(wasm_exec_env_t env, uint8_t *key, uint32_t key_len,
              uint8_t *data, uint32_t len)
{
    (void)env;
    return csmp_pal_store_write(key, (int32_t)key_len, data, (int32_t)len);
}

static int32_t
n_store_erase(wasm_exec_env_t env, uint8_t *key, uint32_t key_len)
{
    (void)env;
    return csmp_pal_store_erase(key, (int32_t)key_len);
}

/* ---- firmware slots ------------------------------------------------------------- */

static int32_t
n_slot_size(wasm_exec_env_t env, int32_t slot)
{
    (void)env;
    return csmp_pal_slot_size(slot);
}

static int32_t
n_slot_erase(wasm_exec_env_t env, int32_t slot)
{
    (void)env;
    return csmp_pal_slot_erase(slot);
}

static int32_t
n_slot_write(wasm_exec_env_t env, int32_t slot, int32_t offset, uint8_t *data,
             uint32_t len)
{
    (void)env;
    return csmp_pal_slot_write(slot, offset, data, (int32_t)len);
}

static int32_t
n_slot_read(wasm_exec_env_t env, int32_t slot, int32_t offset, uint8_t *buf,
            uint32_t len)
{
    (void)env;
    return csmp_pal_slot_read(slot, offset, buf, (int32_t)len);
}

static int32_t
n_slot_activate(wasm_exec_env_t env, int32_t slot)
{
    (void)env;
    return csmp_pal_slot_activate(slot);
}

static void
n_reboot(wasm_exec_env_t env, int32_t reason)
{
    csmp_pal_reboot(reason);
    /* Still here: the platform restarts the agent in process. The agent must
     * not run on as if nothing happened, so end its call now. */
    unwind(env, CSMP_WAMR_EXC_REBOOT);
}

/* ---- crypto ------------------------------------------------------------------------ */

static void
n_sha256_start(wasm_exec_env_t env)
{
    (void)env;
    csmp_pal_sha256_start();
}

static void
n_sha256_update(wasm_exec_env_t env, uint8_t *data, uint32_t len)
{
    (void)env;
    csmp_pal_sha256_update(data, (int32_t)len);
}

static void
n_sha256_finish(wasm_exec_env_t env, uint32_t out)
{
    uint8_t *o = fixed_buffer(env, out, 32);
    if (o)
        csmp_pal_sha256_finish(o);
}

static int32_t
n_ecdsa_p256_verify(wasm_exec_env_t env, uint32_t pub_key, uint32_t digest,
                    uint32_t r, uint32_t s)
{
    const uint8_t *k = fixed_buffer(env, pub_key, 65);
    const uint8_t *d = k ? fixed_buffer(env, digest, 32) : NULL;
    const uint8_t *rr = d ? fixed_buffer(env, r, 32) : NULL;
    const uint8_t *ss = rr ? fixed_buffer(env, s, 32) : NULL;
    if (!ss)
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_pal_ecdsa_p256_verify(k, d, rr, ss);
}

/* ---- platform-handled TLVs and network tests ----------------------------------------- */

static int32_t
n_ping(wasm_exec_env_t env, uint32_t dest, int32_t count, int32_t interval_ms)
{
    const uint8_t *d = fixed_buffer(env, dest, 16);
    if (!d)
        return CSMP_PAL_BAD_ARGUMENT;
    return csmp_pal_ping(d, count, interval_ms);
}

static int32_t
n_host_tlv(wasm_exec_env_t env, int32_t type, int32_t pen, int32_t subtype,
           const uint8_t *value, uint32_t len)
{
    (void)env;
    return csmp_pal_host_tlv(type, pen, subtype, value, (int32_t)len);
}

/* ---- the table ------------------------------------------------------------------------ */

/* WAMR keeps a pointer to this array (and sorts it in place), so it is static
 * and writable. Names are exactly the import names of assembly/pal.ts. */
static NativeSymbol pal_symbols[] = {
    { "log", (void *)n_log, "(i*~)", NULL },
    { "fatal", (void *)n_fatal, "(*~ii)", NULL },
    { "udp_send", (void *)n_udp_send, "(ii*~)i", NULL },
    { "udp_multicast", (void *)n_udp_multicast, "(ii)i", NULL },
    { "timer_arm", (void *)n_timer_arm, "(ii)", NULL },
    { "timer_cancel", (void *)n_timer_cancel, "(i)", NULL },
    { "clock_ms", (void *)n_clock_ms, "()I", NULL },
    { "wall_time", (void *)n_wall_time, "()I", NULL },
    { "wall_time_set", (void *)n_wall_time_set, "(I)i", NULL },
    { "random", (void *)n_random, "(*~)", NULL },
    { "store_read", (void *)n_store_read, "(*~*~)i", NULL },
    { "store_write", (void *)n_store_write, "(*~*~)i", NULL },
    { "store_erase", (void *)n_store_erase, "(*~)i", NULL },
    { "slot_size", (void *)n_slot_size, "(i)i", NULL },
    { "slot_erase", (void *)n_slot_erase, "(i)i", NULL },
    { "slot_write", (void *)n_slot_write, "(ii*~)i", NULL },
    { "slot_read", (void *)n_slot_read, "(ii*~)i", NULL },
    { "slot_activate", (void *)n_slot_activate, "(i)i", NULL },
    { "reboot", (void *)n_reboot, "(i)", NULL },
    { "sha256_start", (void *)n_sha256_start, "()", NULL },
    { "sha256_update", (void *)n_sha256_update, "(*~)", NULL },
    { "sha256_finish", (void *)n_sha256_finish, "(i)", NULL },
    { "ecdsa_p256_verify", (void *)n_ecdsa_p256_verify, "(iiii)i", NULL },
    { "ping", (void *)n_ping, "(iii)i", NULL },
    { "host_tlv", (void *)n_host_tlv, "(iii*~)i", NULL },
};

#define PAL_SYMBOL_COUNT (sizeof(pal_symbols) / sizeof(pal_symbols[0]))

bool
csmp_wamr_register_natives(void)
{
    return wasm_runtime_register_natives("pal", pal_symbols,
                                         (uint32_t)PAL_SYMBOL_COUNT);
}

const char *
csmp_wamr_native_signature(const char *name)
{
    for (size_t i = 0; i < PAL_SYMBOL_COUNT; i++) {
        if (strcmp(pal_symbols[i].symbol, name) == 0)
            return pal_symbols[i].signature;
    }
    return NULL;
}
