/*
 * Runs agent.wasm under WAMR: the host side of assembly/index.ts.
 *
 * Data goes in through agent-owned static buffers whose addresses the agent
 * exports (agent_config_buf, agent_rx_buf, agent_addr_buf): WAMR's
 * host-managed heap must stay 0 for an AssemblyScript module, whose allocator
 * already owns the memory WAMR would put that heap in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wasm_export.h"

#include "agent.h"
#include "natives.h"

static wasm_module_t module;
static wasm_module_inst_t inst;
static wasm_exec_env_t exec_env;
static char error_text[512];

/* The exports of assembly/index.ts with their wasm types (i = i32). */
enum {
    EX_CONFIG_BUF,
    EX_CONFIG_CAP,
    EX_INIT,
    EX_RX_BUF,
    EX_RX_CAP,
    EX_ADDR_BUF,
    EX_DATAGRAM,
    EX_TIMER,
    EX_EVENT,
    EX_CONFIG_TAIL,
    EX_CONFIG_UPDATE,
    EX_PING_DONE,
    EX_COUNT
};

/* Optional exports (host events, configuration updates, ping results) may be missing, as
 * in a probe module that tests only the PAL: calling one then fails with
 * CSMP_AGENT_ERROR instead of refusing the module. */
static const struct {
    const char *name;
    const char *params;
    const char *results;
    bool optional;
} export_types[EX_COUNT] = {
    [EX_CONFIG_BUF] = { "agent_config_buf", "", "i", false },
    [EX_CONFIG_CAP] = { "agent_config_cap", "", "i", false },
    [EX_INIT] = { "agent_init", "i", "i", false },
    [EX_RX_BUF] = { "agent_rx_buf", "", "i", false },
    [EX_RX_CAP] = { "agent_rx_cap", "", "i", false },
    [EX_ADDR_BUF] = { "agent_addr_buf", "", "i", false },
    [EX_DATAGRAM] = { "agent_datagram", "iii", "", false },
    [EX_TIMER] = { "agent_timer", "i", "", false },
    [EX_EVENT] = { "agent_event", "ii", "i", true },
    [EX_CONFIG_TAIL] = { "agent_config_tail", "", "i", true },
    [EX_CONFIG_UPDATE] = { "agent_config_update", "i", "i", true },
    [EX_PING_DONE] = { "agent_ping_done", "iiiiii", "", true },
};

static wasm_function_inst_t exports[EX_COUNT];

/* Agent buffers (offsets into linear memory), read once per instance. */
static uint32_t config_buf, config_cap, rx_buf, rx_cap, addr_buf;

#define ADDR_BUF_LEN 32

static void
set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
}

const char *
csmp_agent_error(void)
{
    return error_text;
}

/* ---- runtime -------------------------------------------------------------- */

bool
csmp_agent_runtime_init(void *pool, uint32_t pool_size)
{
    RuntimeInitArgs args;
    memset(&args, 0, sizeof args);
    args.mem_alloc_type = Alloc_With_Pool;
    args.mem_alloc_option.pool.heap_buf = pool;
    args.mem_alloc_option.pool.heap_size = pool_size;
    if (!wasm_runtime_full_init(&args)) {
        set_error("WAMR runtime init failed (pool of %u bytes)", pool_size);
        return false;
    }
    /* Our own checks report link problems clearly; WAMR's warnings would
     * only repeat them on stdout. */
    wasm_runtime_set_log_level(WASM_LOG_LEVEL_ERROR);
    if (!csmp_wamr_register_natives()) {
        set_error("registering the pal natives failed");
        wasm_runtime_destroy();
        return false;
    }
    return true;
}

void
csmp_agent_runtime_destroy(void)
{
    wasm_runtime_destroy();
}

bool
csmp_agent_pool_usage(uint32_t *total, uint32_t *free_now, uint32_t *highmark)
{
    mem_alloc_info_t info;
    if (!wasm_runtime_get_mem_alloc_info(&info))
        return false;
    *total = info.total_size;
    *free_now = info.total_free_size;
    *highmark = info.highmark_size;
    return true;
}

/* ---- load and link ---------------------------------------------------------- */

static const char *
kind_name(wasm_import_export_kind_t kind)
{
    switch (kind) {
        case WASM_IMPORT_EXPORT_KIND_FUNC:
            return "function";
        case WASM_IMPORT_EXPORT_KIND_TABLE:
            return "table";
        case WASM_IMPORT_EXPORT_KIND_MEMORY:
            return "memory";
        case WASM_IMPORT_EXPORT_KIND_GLOBAL:
            return "global";
        default:
            return "item";
    }
}

static const char *
valkind_name(wasm_valkind_t k)
{
    switch (k) {
        case WASM_I32:
            return "i32";
        case WASM_I64:
            return "i64";
        case WASM_F32:
            return "f32";
        case WASM_F64:
            return "f64";
        default:
            return "?";
    }
}

/* "(i32, i64) -> i32" for a function type, into out. */
static void
format_func_type(wasm_func_type_t type, char *out, size_t cap)
{
    size_t n = 0;
    uint32_t params = wasm_func_type_get_param_count(type);
    uint32_t results = wasm_func_type_get_result_count(type);
    n += (size_t)snprintf(out + n, cap - n, "(");
    for (uint32_t i = 0; i < params && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "",
                              valkind_name(wasm_func_type_get_param_valkind(type, i)));
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, ") -> ");
    if (results == 0 && n < cap)
        snprintf(out + n, cap - n, "()");
    else if (n < cap)
        snprintf(out + n, cap - n, "%s",
                 valkind_name(wasm_func_type_get_result_valkind(type, 0)));
}

/* Why one import is not linked, appended to error_text. WAMR would only
 * warn and let the module run until the first call of a missing import. */
static void
describe_unlinked(const wasm_import_t *imp)
{
    size_t n = strlen(error_text);
    char type[96] = "";
    const char *have = NULL;

    if (imp->kind != WASM_IMPORT_EXPORT_KIND_FUNC) {
        snprintf(error_text + n, sizeof error_text - n,
                 "\n  %s.%s: a %s import; this host provides only \"pal\" functions",
                 imp->module_name, imp->name, kind_name(imp->kind));
        return;
    }
    format_func_type(imp->u.func_type, type, sizeof type);
    if (strcmp(imp->module_name, "pal") == 0)
        have = csmp_wamr_native_signature(imp->name);
    if (have)
        snprintf(error_text + n, sizeof error_text - n,
                 "\n  pal.%s %s: type differs from this host's \"%s\"",
                 imp->name, type, have);
    else
        snprintf(error_text + n, sizeof error_text - n,
                 "\n  %s.%s %s: not provided by this host", imp->module_name,
                 imp->name, type);
}

bool
csmp_agent_load(uint8_t *wasm, uint32_t size)
{
    char err[128];
    LoadArgs args;
    int32_t count, bad = 0;

    memset(&args, 0, sizeof args);
    args.name = "agent";
    /* The loader copies names and data segments into the pool instead of
     * NUL-terminating names in place: it never writes into the buffer (which
     * may then sit in flash), and the fast interpreter does not read it after
     * loading, so a host may free it (wasm_runtime_is_underlying_binary_freeable). */
    args.wasm_binary_freeable = true;
    module = wasm_runtime_load_ex(wasm, size, &args, err, sizeof err);
    if (!module) {
        set_error("not a loadable wasm module: %s", err);
        return false;
    }

    set_error("unlinked imports (the module does not match this host's pal):");
    count = wasm_runtime_get_import_count(module);
    for (int32_t i = 0; i < count; i++) {
        wasm_import_t imp;
        wasm_runtime_get_import_type(module, i, &imp);
        if (imp.kind == WASM_IMPORT_EXPORT_KIND_FUNC && imp.linked)
            continue;
        describe_unlinked(&imp);
        bad++;
    }
    if (bad) {
        wasm_runtime_unload(module);
        module = NULL;
        return false;
    }
    error_text[0] = '\0';
    return true;
}

void
csmp_agent_unload(void)
{
    if (module)
        wasm_runtime_unload(module);
    module = NULL;
}

/* ---- instances -------------------------------------------------------------- */

static bool
types_match(wasm_function_inst_t f, const char *params, const char *results)
{
    wasm_valkind_t kinds[8];
    uint32_t np = wasm_func_get_param_count(f, inst);
    uint32_t nr = wasm_func_get_result_count(f, inst);
    if (np != strlen(params) || nr != strlen(results) || np > 8 || nr > 8)
        return false;
    wasm_func_get_param_types(f, inst, kinds);
    for (uint32_t i = 0; i < np; i++)
        if (kinds[i] != WASM_I32)
            return false;
    wasm_func_get_result_types(f, inst, kinds);
    for (uint32_t i = 0; i < nr; i++)
        if (kinds[i] != WASM_I32)
            return false;
    return true;
}

/* Calls an export; on an exception keeps WAMR's text and clears it. */
static csmp_agent_result_t
call(int which, uint32_t argc, uint32_t argv[])
{
    if (!exec_env) {
        set_error("no agent instance");
        return CSMP_AGENT_ERROR;
    }
    if (!exports[which]) {
        set_error("the module exports no function %s", export_types[which].name);
        return CSMP_AGENT_ERROR;
    }
    if (wasm_runtime_call_wasm(exec_env, exports[which], argc, argv))
        return CSMP_AGENT_OK;
    const char *exc = wasm_runtime_get_exception(inst);
    set_error("%s: %s", export_types[which].name, exc ? exc : "failed");
    wasm_runtime_clear_exception(inst);
    return CSMP_AGENT_STOPPED;
}

/* Reads a getter export (no arguments, one i32 result). */
static bool
get_u32(int which, uint32_t *out)
{
    uint32_t argv[1] = { 0 };
    if (call(which, 0, argv) != CSMP_AGENT_OK)
        return false;
    *out = argv[0];
    return true;
}

static bool
check_buffer(const char *what, uint32_t offset, uint32_t size)
{
    if (wasm_runtime_validate_app_addr(inst, offset, size))
        return true;
    wasm_runtime_clear_exception(inst);
    set_error("%s (%u bytes at %u) lies outside the agent's memory", what, size,
              offset);
    return false;
}

static bool
read_buffers(void)
{
    if (!get_u32(EX_CONFIG_BUF, &config_buf) || !get_u32(EX_CONFIG_CAP, &config_cap)
        || !get_u32(EX_RX_BUF, &rx_buf) || !get_u32(EX_RX_CAP, &rx_cap)
        || !get_u32(EX_ADDR_BUF, &addr_buf))
        return false;
    return check_buffer("agent_config_buf", config_buf, config_cap)
           && check_buffer("agent_rx_buf", rx_buf, rx_cap)
           && check_buffer("agent_addr_buf", addr_buf, ADDR_BUF_LEN);
}

bool
csmp_agent_instantiate(const csmp_agent_settings_t *settings)
{
    char err[128];
    InstantiationArgs args;

    if (!module) {
        set_error("no module loaded");
        return false;
    }
    memset(&args, 0, sizeof args);
    args.default_stack_size = settings->stack_size;
    args.host_managed_heap_size = 0;
    args.max_memory_pages = settings->max_memory_pages;
    inst = wasm_runtime_instantiate_ex(module, &args, err, sizeof err);
    if (!inst) {
        set_error("instantiation failed: %s", err);
        return false;
    }

    /* WAMR only warns when the module starts above the cap; refuse it. */
    wasm_memory_inst_t mem = wasm_runtime_get_default_memory(inst);
    if (!mem) {
        set_error("the module has no linear memory");
        goto fail;
    }
    if (settings->max_memory_pages
        && wasm_memory_get_cur_page_count(mem) > settings->max_memory_pages) {
        set_error("the module starts with %llu pages of memory, over the cap of %u",
                  (unsigned long long)wasm_memory_get_cur_page_count(mem),
                  settings->max_memory_pages);
        goto fail;
    }

    for (int i = 0; i < EX_COUNT; i++) {
        exports[i] = wasm_runtime_lookup_function(inst, export_types[i].name);
        if (!exports[i] && export_types[i].optional)
            continue;
        if (!exports[i]) {
            set_error("the module exports no function %s", export_types[i].name);
            goto fail;
        }
        if (!types_match(exports[i], export_types[i].params,
                         export_types[i].results)) {
            set_error("export %s has the wrong type (want %zu i32 params, %zu i32 results)",
                      export_types[i].name, strlen(export_types[i].params),
                      strlen(export_types[i].results));
            goto fail;
        }
    }

    exec_env = wasm_runtime_create_exec_env(inst, settings->stack_size);
    if (!exec_env) {
        set_error("cannot create an execution environment (stack %u bytes)",
                  settings->stack_size);
        goto fail;
    }
    if (!read_buffers())
        goto fail;
    return true;

fail:
    csmp_agent_deinstantiate();
    return false;
}

void
csmp_agent_deinstantiate(void)
{
    if (exec_env)
        wasm_runtime_destroy_exec_env(exec_env);
    if (inst)
        wasm_runtime_deinstantiate(inst);
    exec_env = NULL;
    inst = NULL;
    memset(exports, 0, sizeof exports);
}

/* ---- entry points ---------------------------------------------------------------- */

csmp_agent_result_t
csmp_agent_start(const char *config, uint32_t len, int32_t *init_rc)
{
    uint32_t argv[1];

    if (!inst) {
        set_error("no agent instance");
        return CSMP_AGENT_ERROR;
    }
    if (len > config_cap) {
        set_error("the configuration is %u bytes; the agent takes at most %u", len,
                  config_cap);
        return CSMP_AGENT_ERROR;
    }
    memcpy(wasm_runtime_addr_app_to_native(inst, config_buf), config, len);
    argv[0] = len;
    csmp_agent_result_t r = call(EX_INIT, 1, argv);
    if (r == CSMP_AGENT_OK)
        *init_rc = (int32_t)argv[0];
    return r;
}

uint8_t *
csmp_agent_rx_buffer(uint32_t *cap)
{
    if (!inst)
        return NULL;
    *cap = rx_cap;
    /* Fetched per call: a native address dies if memory ever moves. */
    return wasm_runtime_addr_app_to_native(inst, rx_buf);
}

csmp_agent_result_t
csmp_agent_datagram(uint32_t len, const uint8_t src[16], uint16_t src_port,
                    const uint8_t dst[16], uint16_t dst_port)
{
    uint32_t argv[3] = { len, src_port, dst_port };
    uint8_t *addrs;

    if (!inst) {
        set_error("no agent instance");
        return CSMP_AGENT_ERROR;
    }
    if (len > rx_cap) {
        set_error("datagram of %u bytes exceeds the rx buffer (%u)", len, rx_cap);
        return CSMP_AGENT_ERROR;
    }
    addrs = wasm_runtime_addr_app_to_native(inst, addr_buf);
    memcpy(addrs, src, 16);
    memcpy(addrs + 16, dst, 16);
    return call(EX_DATAGRAM, 3, argv);
}

csmp_agent_result_t
csmp_agent_timer(int32_t id)
{
    uint32_t argv[1] = { (uint32_t)id };
    return call(EX_TIMER, 1, argv);
}

csmp_agent_result_t
csmp_agent_event(int32_t code, int32_t related_tlv, int32_t *result)
{
    uint32_t argv[2] = { (uint32_t)code, (uint32_t)related_tlv };
    csmp_agent_result_t r = call(EX_EVENT, 2, argv);
    if (r == CSMP_AGENT_OK)
        *result = (int32_t)argv[0];
    return r;
}

csmp_agent_result_t
csmp_agent_ping_done(int32_t sent, int32_t received, int32_t min_ms, int32_t mean_ms,
                     int32_t max_ms, int32_t stdev_ms)
{
    uint32_t argv[6] = { (uint32_t)sent, (uint32_t)received, (uint32_t)min_ms,
                         (uint32_t)mean_ms, (uint32_t)max_ms, (uint32_t)stdev_ms };
    return call(EX_PING_DONE, 6, argv);
}

csmp_agent_result_t
csmp_agent_config_update(const char *lines, uint32_t len, int32_t *result)
{
    uint32_t argv[1] = { 0 };
    uint32_t tail;

    if (!inst) {
        set_error("no agent instance");
        return CSMP_AGENT_ERROR;
    }
    /* The tail moves with every update: ask each time. */
    csmp_agent_result_t r = call(EX_CONFIG_TAIL, 0, argv);
    if (r != CSMP_AGENT_OK)
        return r;
    tail = argv[0];
    /* The room is agent_config_cap() minus what the text already uses. */
    if (tail < config_buf || tail > config_buf + config_cap) {
        set_error("agent_config_tail (%u) lies outside the configuration buffer", tail);
        return CSMP_AGENT_ERROR;
    }
    if (len > config_buf + config_cap - tail) {
        /* What the agent itself answers for a full buffer: restart with the whole text. */
        *result = -3;
        return CSMP_AGENT_OK;
    }
    memcpy(wasm_runtime_addr_app_to_native(inst, tail), lines, len);
    argv[0] = len;
    r = call(EX_CONFIG_UPDATE, 1, argv);
    if (r == CSMP_AGENT_OK)
        *result = (int32_t)argv[0];
    return r;
}
