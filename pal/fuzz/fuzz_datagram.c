/*
 * fuzz_datagram: a libFuzzer target for the C side. Every input is one
 * datagram handed to build/agent.wasm through the same path csmp-agent uses
 * (pal/wamr/agent.c: the agent's rx buffer, then agent_datagram), under WAMR
 * with the real POSIX PAL (pal/posix/ minus main.c): records and slots in a
 * temporary state directory, the socket replaced by net.c's own offline mode
 * (--replay's: sends are checked like real ones, counted and dropped).
 *
 * Input layout: byte 0 chooses how the datagram arrives, the rest is the UDP
 * payload (1..agent_rx_cap() bytes; the host never delivers an empty one and
 * drops larger ones, and so does this target).
 *   bits 0-1  destination: 0 the agent's unicast address, 1 mcast.1 (joined),
 *             2 ff02::1 (all nodes), 3 mcast.2 (joined)
 *   bit  2    source port: 0 the NMS's CoAP port 61628, 1 port 62590 (where
 *             the captured NMS sends its GETs from)
 *   bit  3    afterwards, fire every armed timer (earliest first, at most 16,
 *             as one round of the event loop would once they are due)
 *   bit  4    source address: 0 the NMS (2018::2), 1 another peer (2018::99)
 *   bits 5-7  ignored
 *
 * The agent lives on across inputs, as on a device: a message can build on
 * the state the ones before left (a transfer, a registration, a group). Every
 * CSMP_FUZZ_EPISODE inputs (default 2000) it starts over with an empty state
 * directory, so that a failure can be reproduced from its episode's inputs.
 * After every call this target checks, and aborts (a crash for libFuzzer)
 * when one does not hold:
 *   - the call ended normally: no trap, no pal.fatal, no host error
 *     (pal.reboot is allowed: the agent restarts over its state as
 *     csmp-agent would, and must come up again);
 *   - linear memory is still 1 page (the cap given to WAMR is 2, so growth
 *     shows as itself rather than as the agent's out-of-memory fatal);
 *   - WAMR's pool use did not change during the call.
 * On a failure the inputs of the episode so far are written to
 * csmp-fuzz-history-<pid>/ (under $CSMP_FUZZ_HISTORY_DIR, default the
 * current directory); running fuzz_datagram on that directory's files in
 * name order replays them (the command is printed).
 *
 * Guidance: libFuzzer sees only native code (WAMR's interpreter, the PAL),
 * not the agent's paths through its wasm. So the agent's log lines (as
 * templates: digits masked, text quoted from the datagram capped) and the
 * CoAP type/code of what it sends are also fed to libFuzzer as extra
 * coverage counters, observed by wrapping csmp_pal_log and csmp_pal_udp_send
 * at link time (--wrap; both still run unchanged).
 *
 * Environment: CSMP_FUZZ_MODULE (default build/agent.wasm of this tree),
 * CSMP_FUZZ_STATE_PARENT (where the state directory is made; default
 * /dev/shm, else $TMPDIR or /tmp), CSMP_FUZZ_EPISODE, CSMP_FUZZ_HISTORY_DIR,
 * CSMP_FUZZ_LOG_LEVEL (error, warn, info, debug; default error).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasm_export.h"

#include "agent.h"
#include "host.h"
#include "natives.h"
#include "options.h"

#ifndef CSMP_FUZZ_DEFAULT_MODULE
#define CSMP_FUZZ_DEFAULT_MODULE "build/agent.wasm"
#endif

#define AGENT_PORT 61628
#define NMS_PORT 61628
#define OTHER_PORT 62590
#define DEFAULT_EPISODE 2000
/* Linear memory the agent runs in, and the cap WAMR gets (see above). */
#define EXPECTED_PAGES 1
#define PAGE_CAP "2"

/* The fixed device: the host's own description from options.c, then the
 * lines below. The addresses are the FND captures' (2018::188 the device,
 * 2018::2 the NMS), so the seed corpus made from them fits. No nms.key:
 * unsigned NMS messages are accepted, which opens the most of the agent. */
static const char *const device_args[] = {
    "fuzz_datagram", "--eui64", "00173BAB0C0FFEE1", "--nms", "coap://[2018::2]:61628",
    "--bind", "2018::188", "--port", "61628", "--max-pages", PAGE_CAP,
};
static const char extra_config[] =
    "mcast.1=ff03::1\n"
    "mcast.2=ff05::1\n"
    "fw.hwid=opencsmp-fuzz\n";

static const uint8_t addr_agent[16] = { 0x20, 0x18, [14] = 0x01, [15] = 0x88 };
static const uint8_t addr_nms[16] = { 0x20, 0x18, [15] = 0x02 };
static const uint8_t addr_peer[16] = { 0x20, 0x18, [15] = 0x99 };
static const uint8_t addr_mcast1[16] = { 0xff, 0x03, [15] = 0x01 };
static const uint8_t addr_mcast2[16] = { 0xff, 0x05, [15] = 0x01 };
static const uint8_t addr_all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };

static options_t opts;
static char state_dir[PATH_MAX];
static char *config_text;
static size_t config_len;
static uint8_t *module_bytes;
static uint8_t *pool;
static csmp_agent_settings_t settings;

/* The current instance, seen through the --wrap of wasm_runtime_instantiate_ex. */
static wasm_module_inst_t current_inst;

static unsigned long episode_limit = DEFAULT_EPISODE;
static unsigned long episode_inputs; /* inputs the current episode received */
static unsigned long episodes, reboots, total_inputs;
static bool booted;

/* The current episode's inputs, in one block allocated once (no malloc per
 * input: libFuzzer re-runs an input that allocates more than it frees). */
static uint8_t *history;
static size_t history_used, history_cap;
static unsigned long history_count;

/* ---- failures --------------------------------------------------------------- */

static void
write_history(void)
{
    const char *parent = getenv("CSMP_FUZZ_HISTORY_DIR");
    char dir[PATH_MAX], path[PATH_MAX + 16];
    size_t at = 0;

    if (history_count < 2)
        return; /* libFuzzer's crash file alone reproduces it */
    snprintf(dir, sizeof dir, "%s/csmp-fuzz-history-%ld", parent && *parent ? parent : ".",
             (long)getpid());
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "csmp-fuzz: cannot create %s: %s\n", dir, strerror(errno));
        return;
    }
    for (unsigned long i = 0; i < history_count; i++) {
        uint32_t len;
        memcpy(&len, history + at, sizeof len);
        snprintf(path, sizeof path, "%s/%06lu", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(history + at + sizeof len, 1, len, f) != len) {
            fprintf(stderr, "csmp-fuzz: cannot write %s\n", path);
            if (f)
                fclose(f);
            return;
        }
        fclose(f);
        at += sizeof len + len;
    }
    fprintf(stderr,
            "csmp-fuzz: the %lu inputs of this episode (the failing one last) are in %s/;\n"
            "csmp-fuzz: reproduce with: fuzz_datagram %s/*\n",
            history_count, dir, dir);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "csmp-fuzz: FAILURE after input %lu of episode %lu (%lu reboots so far): ",
            episode_inputs, episodes, reboots);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    write_history();
    abort();
}

/* ---- observing the agent ------------------------------------------------------ */

/* Extra coverage for libFuzzer: one saturating counter per feature bucket.
 * Not instrumented by ASan (no redzones inside the section libFuzzer reads). */
#define FEATURES 4096
__attribute__((used, section("__libfuzzer_extra_counters"), no_sanitize("address")))
static uint8_t features[FEATURES];

static void
feature(uint32_t hash)
{
    uint8_t *c = &features[hash % FEATURES];
    if (*c < 255)
        (*c)++;
}

wasm_module_inst_t __real_wasm_runtime_instantiate_ex(const wasm_module_t module,
                                                      const InstantiationArgs *args,
                                                      char *error_buf, uint32_t error_buf_size);
wasm_module_inst_t __wrap_wasm_runtime_instantiate_ex(const wasm_module_t module,
                                                      const InstantiationArgs *args,
                                                      char *error_buf, uint32_t error_buf_size);
void __real_csmp_pal_log(int32_t level, const uint8_t *text, int32_t len);
void __wrap_csmp_pal_log(int32_t level, const uint8_t *text, int32_t len);
int32_t __real_csmp_pal_udp_send(const uint8_t addr[16], int32_t port, const uint8_t *data,
                                 int32_t len);
int32_t __wrap_csmp_pal_udp_send(const uint8_t addr[16], int32_t port, const uint8_t *data,
                                 int32_t len);

wasm_module_inst_t
__wrap_wasm_runtime_instantiate_ex(const wasm_module_t module, const InstantiationArgs *args,
                                   char *error_buf, uint32_t error_buf_size)
{
    current_inst = __real_wasm_runtime_instantiate_ex(module, args, error_buf, error_buf_size);
    return current_inst;
}

/* Characters of the agent's fixed log texts (digits apart). */
static bool
template_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ' || c == '.' || c == ','
           || c == ':' || c == '(' || c == ')' || c == '-' || c == '/' || c == '_';
}

/* FNV-1a over text[*at..] up to the end, a ": " (when stop_at_colon), the
 * first character no fixed text has, or 64 characters in all; a run of
 * digits counts as one '#' (the same decision with other numbers is the
 * same feature). *at ends after the ": " if that is where it stopped. */
static uint32_t
template_hash(const uint8_t *text, int32_t len, int32_t *at, bool stop_at_colon)
{
    uint32_t h = 2166136261u;
    bool in_digits = false;
    int32_t i = *at;
    for (; i < len && i < 64; i++) {
        uint8_t c = text[i];
        bool digit = c >= '0' && c <= '9';
        if (stop_at_colon && c == ':' && i + 1 < len && text[i + 1] == ' ') {
            *at = i + 2;
            return h;
        }
        if (!digit && !template_char(c))
            break;
        if (digit && in_digits)
            continue;
        in_digits = digit;
        h = (h ^ (digit ? '#' : c)) * 16777619u;
    }
    *at = len;
    return h;
}

/* A line is "subject: detail" or just a subject. Details are fixed reasons
 * ("request answered 4.04: no such resource") or quote the datagram
 * ("unsupported query: ..."), which would make every new datagram look like
 * a new path: each subject keeps the first DETAILS different details it
 * shows; later ones count as the bare subject. */
#define SUBJECTS 512
#define DETAILS 16
typedef struct subject_entry {
    bool used;
    uint32_t subject;
    uint32_t count;
    uint32_t details[DETAILS];
} subject_entry_t;
static subject_entry_t seen[SUBJECTS];

/* The subject's entry (linear probing), or NULL when the table is full. */
static subject_entry_t *
subject_entry(uint32_t subject)
{
    for (uint32_t n = 0, slot = subject % SUBJECTS; n < SUBJECTS; n++, slot = (slot + 1) % SUBJECTS) {
        if (!seen[slot].used) {
            seen[slot].used = true;
            seen[slot].subject = subject;
        }
        if (seen[slot].subject == subject)
            return &seen[slot];
    }
    return NULL;
}

void
__wrap_csmp_pal_log(int32_t level, const uint8_t *text, int32_t len)
{
    int32_t at = 0;
    uint32_t subject = template_hash(text, len, &at, true) ^ (uint32_t)level;
    uint32_t f = subject;

    if (at < len) {
        uint32_t detail = template_hash(text, len, &at, false), i = 0;
        subject_entry_t *e = subject_entry(subject);
        while (e && i < e->count && e->details[i] != detail)
            i++;
        if (e && i == e->count && i < DETAILS)
            e->details[e->count++] = detail;
        if (e && i < DETAILS)
            f = (subject ^ detail) * 16777619u;
    }
    feature(f);
    __real_csmp_pal_log(level, text, len);
}

/* What the agent answers or sends: CoAP type and code, and to whom. */
int32_t
__wrap_csmp_pal_udp_send(const uint8_t addr[16], int32_t port, const uint8_t *data, int32_t len)
{
    if (len >= 2) {
        uint32_t to_nms = memcmp(addr, addr_nms, 16) == 0 && port == NMS_PORT;
        feature(0x5e4d0000u | to_nms << 12 | (uint32_t)(data[0] & 0x30) << 4 | data[1]);
    }
    return __real_csmp_pal_udp_send(addr, port, data, len);
}

static uint32_t
pool_in_use(void)
{
    uint32_t total = 0, free_now = 0, high = 0;
    if (!csmp_agent_pool_usage(&total, &free_now, &high))
        fail("WAMR pool usage unavailable");
    return total - free_now;
}

/* ---- agent lifecycle ------------------------------------------------------------ */

/* Instantiates and initialises the agent over the current state, as
 * csmp-agent's boot() does. */
static void
boot(void)
{
    int32_t init_rc = 0;
    csmp_agent_result_t r;

    slots_apply_pending_boot();
    if (!csmp_agent_instantiate(&settings))
        fail("instantiating the agent: %s", csmp_agent_error());
    r = csmp_agent_start(config_text, (uint32_t)config_len, &init_rc);
    if (r != CSMP_AGENT_OK)
        fail("agent_init: %s", r == CSMP_AGENT_STOPPED && reset_pending() == RESET_FATAL
                                   ? reset_fatal_reason() : csmp_agent_error());
    if (init_rc != 0)
        fail("agent_init returned %d (the agent's log says why; CSMP_FUZZ_LOG_LEVEL=info)",
             (int)init_rc);
}

/* What dies with an instance, as csmp-agent's restart() clears it. */
static void
stop_instance(void)
{
    csmp_agent_deinstantiate();
    current_inst = NULL;
    timers_cancel_all();
    net_leave_all_groups();
    crypto_reset();
    reset_clear();
}

/* Removes what the agent stored: records/, slot files, boot.json. */
static void
empty_state_dir(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth < 4) {
            empty_state_dir(path, depth + 1);
            rmdir(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
}

/* A new episode: a fresh instance over an empty state directory. */
static void
new_episode(void)
{
    if (booted)
        stop_instance();
    empty_state_dir(state_dir, 0);
    if (!store_open(state_dir) || !slots_open(state_dir, opts.slot_sizes, opts.slot_count))
        fail("cannot set up the state directory %s", state_dir);
    wall_clock_init(false);
    boot();
    booted = true;
    episodes++;
    episode_inputs = 0;
    history_used = 0;
    history_count = 0;
}

static void
remove_state_dir(void)
{
    if (!state_dir[0])
        return;
    empty_state_dir(state_dir, 0);
    rmdir(state_dir);
}

/* The outcome of one agent call (what = "agent_datagram", "agent_timer 3"). */
static void
check_call(csmp_agent_result_t r, uint32_t pool_before, const char *what)
{
    bool reboot = reset_pending() == RESET_REBOOT
                  && strstr(csmp_agent_error(), CSMP_WAMR_EXC_REBOOT) != NULL;

    if (r == CSMP_AGENT_ERROR)
        fail("%s: the host could not make the call: %s", what, csmp_agent_error());
    if (r == CSMP_AGENT_STOPPED && reset_pending() == RESET_FATAL)
        fail("%s: agent fatal: %s", what, reset_fatal_reason());
    if (r == CSMP_AGENT_STOPPED && !reboot)
        fail("%s: WAMR exception (trap): %s", what, csmp_agent_error());
    if (r == CSMP_AGENT_OK && reset_pending() != RESET_NONE)
        fail("%s: returned normally with a %s pending", what,
             reset_pending() == RESET_FATAL ? "fatal" : "reboot");

    wasm_memory_inst_t mem = current_inst ? wasm_runtime_get_default_memory(current_inst) : NULL;
    if (!mem)
        fail("%s: no agent instance or memory after the call", what);
    uint64_t pages = wasm_memory_get_cur_page_count(mem);
    if (pages != EXPECTED_PAGES)
        fail("%s: linear memory is %llu pages, not %d", what, (unsigned long long)pages,
             EXPECTED_PAGES);
    uint32_t pool_after = pool_in_use();
    if (pool_after != pool_before)
        fail("%s: WAMR pool use changed during the call: %u -> %u bytes", what, pool_before,
             pool_after);

    if (reboot) {
        /* The agent asked for it (RebootRequest, firmware load): a device
         * restarts over the same storage, and so does csmp-agent. */
        reboots++;
        stop_instance();
        boot();
    }
}

static void
deliver_datagram(const uint8_t *payload, uint32_t len, uint8_t how)
{
    static const uint8_t *const destinations[4] = { addr_agent, addr_mcast1, addr_all_nodes,
                                                    addr_mcast2 };
    uint32_t cap = 0;
    uint8_t *rx = csmp_agent_rx_buffer(&cap);

    if (!rx)
        fail("no rx buffer: no agent instance");
    memcpy(rx, payload, len);
    uint32_t before = pool_in_use();
    csmp_agent_result_t r = csmp_agent_datagram(len, how & 16 ? addr_peer : addr_nms,
                                                how & 4 ? OTHER_PORT : NMS_PORT,
                                                destinations[how & 3], AGENT_PORT);
    check_call(r, before, "agent_datagram");
}

static void
deliver_timers(void)
{
    char what[32];
    int id;
    /* As if the clock had reached every deadline; bounded like one round of
     * csmp-agent's loop, so a timer re-armed at once cannot spin forever. */
    for (int n = 0; n < CSMP_PAL_TIMER_COUNT && (id = timers_take_expired(INT64_MAX)) >= 0; n++) {
        uint32_t before = pool_in_use();
        snprintf(what, sizeof what, "agent_timer %d", id);
        check_call(csmp_agent_timer(id), before, what);
    }
}

/* ---- set-up, once per process ------------------------------------------------------- */

static uint8_t *
read_file(const char *path, uint32_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 16 * 1024 * 1024
        && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL
        && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *size = (uint32_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void
setup_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
setup_failed(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "csmp-fuzz: set-up failed: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    remove_state_dir();
    exit(1);
}

/* A crash, a timeout or a signal ends the process without atexit (libFuzzer
 * uses _Exit): state directories of processes gone are removed here. */
static void
remove_stale_state_dirs(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    char path[PATH_MAX];
    long pid;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (sscanf(e->d_name, "csmp-fuzz-state-%ld-", &pid) != 1 || pid <= 0
            || (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            || snprintf(path, sizeof path, "%s/%s", parent, e->d_name) >= (int)sizeof path)
            continue;
        empty_state_dir(path, 0);
        rmdir(path);
    }
    closedir(d);
}

static void
make_state_dir(void)
{
    const char *parent = getenv("CSMP_FUZZ_STATE_PARENT");
    struct stat st;

    if (!parent || !*parent)
        parent = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                     ? "/dev/shm"
                     : getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    remove_stale_state_dirs(parent);
    if (snprintf(state_dir, sizeof state_dir, "%s/csmp-fuzz-state-%ld-XXXXXX", parent,
                 (long)getpid())
            >= (int)sizeof state_dir
        || !mkdtemp(state_dir)) {
        state_dir[0] = '\0';
        setup_failed("cannot create a state directory under %s", parent);
    }
}

static void
at_exit(void)
{
    fprintf(stderr, "csmp-fuzz: %lu inputs in %lu episode(s), %lu agent reboot(s), all passed\n",
            total_inputs, episodes, reboots);
    if (booted)
        stop_instance();
    csmp_agent_unload();
    csmp_agent_runtime_destroy();
    net_close();
    crypto_shutdown();
    remove_state_dir();
    free(config_text);
    free(module_bytes);
    free(pool);
    free(history);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *module_path = getenv("CSMP_FUZZ_MODULE");
    const char *level = getenv("CSMP_FUZZ_LOG_LEVEL");
    const char *episode = getenv("CSMP_FUZZ_EPISODE");
    enum { FIXED = sizeof device_args / sizeof device_args[0] };
    char *args[FIXED + 4];
    uint32_t wasm_size = 0, rx_cap = 0;
    int n = 0;
    (void)argc;
    (void)argv;

    setvbuf(stderr, NULL, _IOLBF, 0);
    if (!module_path || !*module_path)
        module_path = CSMP_FUZZ_DEFAULT_MODULE;
    if (episode && *episode) {
        char *end;
        episode_limit = strtoul(episode, &end, 10);
        if (*end || episode_limit < 1 || episode_limit > 1000000)
            setup_failed("CSMP_FUZZ_EPISODE must be 1..1000000, not \"%s\"", episode);
    }

    make_state_dir();
    for (int i = 0; i < FIXED; i++)
        args[n++] = (char *)device_args[i];
    args[n++] = "--state";
    args[n++] = state_dir;
    args[n++] = "--log-level";
    args[n++] = (char *)(level && *level ? level : "error");
    if (!options_parse(n, args, &opts))
        setup_failed("bad options (CSMP_FUZZ_LOG_LEVEL?)");
    log_set_threshold(opts.log_level);

    char *text = options_config_text(&opts, &config_len);
    if (!text || !(config_text = malloc(config_len + sizeof extra_config)))
        setup_failed("no configuration text");
    memcpy(config_text, text, config_len);
    memcpy(config_text + config_len, extra_config, sizeof extra_config);
    config_len += sizeof extra_config - 1;
    free(text);

    if (!(module_bytes = read_file(module_path, &wasm_size)))
        setup_failed("cannot read the agent module %s (build it: node scripts/build.mjs; or set CSMP_FUZZ_MODULE)",
                     module_path);
    pool = aligned_alloc(16, opts.pool_bytes);
    if (!pool || !csmp_agent_runtime_init(pool, opts.pool_bytes))
        setup_failed("WAMR runtime: %s", pool ? csmp_agent_error() : "out of memory");
    if (!csmp_agent_load(module_bytes, wasm_size))
        setup_failed("%s: %s", module_path, csmp_agent_error());
    if (!net_open_offline(opts.bind_addr, opts.port))
        setup_failed("offline network");
    settings.stack_size = opts.stack_bytes;
    settings.max_memory_pages = opts.max_pages;
    atexit(at_exit);

    new_episode();
    if (!csmp_agent_rx_buffer(&rx_cap) || rx_cap == 0)
        setup_failed("the agent has no rx buffer");
    history_cap = (size_t)episode_limit * (sizeof(uint32_t) + rx_cap + 1);
    if (!(history = malloc(history_cap)))
        setup_failed("no memory for the history of %lu inputs", episode_limit);
    fprintf(stderr, "csmp-fuzz: %s (%u bytes) in WAMR with the POSIX PAL; state in %s; "
                    "datagrams up to %u bytes (inputs up to %u); episodes of %lu inputs\n",
            module_path, wasm_size, state_dir, rx_cap, rx_cap + 1, episode_limit);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t cap = 0;

    if (size == 0)
        return 0;
    if (!csmp_agent_rx_buffer(&cap))
        fail("no agent instance between inputs");
    /* Larger than the agent's buffer: csmp-agent drops it unseen (run with
     * -max_len=<cap + 1> so libFuzzer does not make such inputs). */
    if (size - 1 > cap)
        return 0;
    if (episode_inputs == episode_limit)
        new_episode();
    episode_inputs++;
    total_inputs++;
    uint32_t len = (uint32_t)size;
    if (history_used + sizeof len + size > history_cap)
        fail("history block overrun (%zu + %zu bytes of %zu)", history_used, sizeof len + size,
             history_cap);
    memcpy(history + history_used, &len, sizeof len);
    memcpy(history + history_used + sizeof len, data, size);
    history_used += sizeof len + size;
    history_count++;

    if (size > 1)
        deliver_datagram(data + 1, (uint32_t)(size - 1), data[0]);
    if (data[0] & 8)
        deliver_timers();
    return 0;
}
