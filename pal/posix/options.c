/*
 * Command line of csmp-agent, and the device configuration text built from
 * it. The keys and their meaning are in docs/device-config.md; the agent
 * validates every value, the host checks only what it must (the EUI-64 it
 * derives defaults from, and that no value smuggles in a second line).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define DEFAULT_PORT 61628
#define DEFAULT_SLOT_SIZE (512u * 1024u)

static void
usage(FILE *out)
{
    fprintf(out,
        "usage: csmp-agent [options]\n"
        "Runs the OpenCSMP agent (agent.wasm) under WAMR on a UDP/IPv6 socket.\n"
        "\n"
        "  --module PATH         agent module (default build/agent.wasm)\n"
        "  --config FILE         device configuration (docs/device-config.md)\n"
        "  --eui64 HEX           16 hex digits; needed unless --config sets eui64\n"
        "  --nms URL             NMS base URL, coap://[addr]:port\n"
        "  --bind ADDR           local IPv6 address (default ::, needed for multicast)\n"
        "  --port N              local CoAP port (default %d; 0 = any free port)\n"
        "  --interface NAME      interface for link-local and multicast traffic\n"
        "  --state DIR           durable records and firmware slots (default .agent-state)\n"
        "  --slot-sizes N,N,...  firmware slot capacities in bytes (default 3 x %u)\n"
        "  --trust-system-time   report the system clock as trusted wall time\n"
        "  --pool-kib N          WAMR memory pool in KiB (default 256)\n"
        "  --stack N             interpreter stack in bytes (default 8192)\n"
        "  --max-pages N         linear memory cap in 64 KiB pages (default 1)\n"
        "  --log-level LEVEL     error, warn, info (default) or debug\n"
        "  --replay FILE         no socket: deliver the datagrams in FILE (format in\n"
        "                        pal/posix/replay.c), log the figures and exit\n"
        "  --event-file FILE     on SIGUSR1, hand the agent the lines of FILE and delete\n"
        "                        it: \"CODE [RELATED_TLV]\" raises a host event,\n"
        "                        \"key=value\" updates the configuration\n"
        "                        (pal/posix/events.c)\n"
        "  --power-cut-at N[:torn]\n"
        "                        tests: the power fails at the agent's Nth durable write\n"
        "                        (record write/erase, slot write/erase/activate, the\n"
        "                        boot loader's swap; N >= 1):\n"
        "                        it is skipped, or with :torn half written, and the\n"
        "                        process exits %d at once (pal/posix/power_cut.c)\n"
        "  --journal-writes      log every durable write, numbered (\"power-cut: durable\n"
        "                        write N: ...\", info level)\n"
        "  --help                this text\n"
        "\n"
        "Exit codes: 0 stopped by SIGINT/SIGTERM, 1 usage, 2 bad module, 3 bad\n"
        "configuration or init failure, 4 host resource failure, 5 crash loop,\n"
        "%d power cut (--power-cut-at).\n",
        DEFAULT_PORT, DEFAULT_SLOT_SIZE, EXIT_POWER_CUT, EXIT_POWER_CUT);
}

static bool
parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max || text[0] == '-')
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool
parse_slot_sizes(const char *text, options_t *o)
{
    char copy[256], *save = NULL;
    int n = 0;

    snprintf(copy, sizeof copy, "%s", text);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == SLOTS_MAX || !parse_u32(t, 1, INT32_MAX, &o->slot_sizes[n]))
            return false;
        n++;
    }
    o->slot_count = n;
    return n > 0;
}

/* N or N:torn, N >= 1. */
static bool
parse_power_cut(const char *text, options_t *o)
{
    char number[16];
    const char *colon = strchr(text, ':');
    size_t n = colon ? (size_t)(colon - text) : strlen(text);

    if (n >= sizeof number || (colon && strcmp(colon, ":torn") != 0))
        return false;
    memcpy(number, text, n);
    number[n] = '\0';
    o->power_cut_torn = colon != NULL;
    return parse_u32(number, 1, UINT32_MAX, &o->power_cut_at);
}

static int
parse_level(const char *text)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0)
            return i;
    return -1;
}

static bool
is_eui64(const char *text)
{
    if (strlen(text) != 16)
        return false;
    for (int i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)text[i]))
            return false;
    return true;
}

bool
options_parse(int argc, char **argv, options_t *o)
{
    enum { O_MODULE = 256, O_CONFIG, O_EUI64, O_NMS, O_BIND, O_PORT, O_IF, O_STATE,
           O_SLOTS, O_TRUST, O_POOL, O_STACK, O_PAGES, O_LEVEL, O_REPLAY, O_EVENTS, O_CUT, O_JOURNAL,
           O_HELP };
    static const struct option longopts[] = {
        { "module", required_argument, NULL, O_MODULE },
        { "config", required_argument, NULL, O_CONFIG },
        { "eui64", required_argument, NULL, O_EUI64 },
        { "nms", required_argument, NULL, O_NMS },
        { "bind", required_argument, NULL, O_BIND },
        { "port", required_argument, NULL, O_PORT },
        { "interface", required_argument, NULL, O_IF },
        { "state", required_argument, NULL, O_STATE },
        { "slot-sizes", required_argument, NULL, O_SLOTS },
        { "trust-system-time", no_argument, NULL, O_TRUST },
        { "pool-kib", required_argument, NULL, O_POOL },
        { "stack", required_argument, NULL, O_STACK },
        { "max-pages", required_argument, NULL, O_PAGES },
        { "log-level", required_argument, NULL, O_LEVEL },
        { "replay", required_argument, NULL, O_REPLAY },
        { "event-file", required_argument, NULL, O_EVENTS },
        { "power-cut-at", required_argument, NULL, O_CUT },
        { "journal-writes", no_argument, NULL, O_JOURNAL },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    uint32_t v = 0;
    int c;

    memset(o, 0, sizeof *o);
    o->module_path = "build/agent.wasm";
    o->bind_addr = "::";
    o->port = DEFAULT_PORT;
    o->state_dir = ".agent-state";
    o->slot_count = 3;
    for (int i = 0; i < 3; i++)
        o->slot_sizes[i] = DEFAULT_SLOT_SIZE;
    o->pool_bytes = 256 * 1024;
    o->stack_bytes = 8192;
    o->max_pages = 1;
    o->log_level = LOG_INFO;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
            case O_MODULE: o->module_path = optarg; break;
            case O_CONFIG: o->config_path = optarg; break;
            case O_EUI64:
                if (!is_eui64(optarg))
                    bad = "--eui64 needs 16 hex digits";
                o->eui64 = optarg;
                break;
            case O_NMS:
                if (strncmp(optarg, "coap://[", 8) != 0 || !strchr(optarg, ']'))
                    bad = "--nms needs a URL like coap://[2001:db8::1]:61629";
                o->nms_url = optarg;
                break;
            case O_BIND: o->bind_addr = optarg; break;
            case O_PORT:
                if (!parse_u32(optarg, 0, 65535, &v))
                    bad = "--port needs 0..65535";
                o->port = (uint16_t)v;
                break;
            case O_IF: o->ifname = optarg; break;
            case O_STATE: o->state_dir = optarg; break;
            case O_SLOTS:
                if (!parse_slot_sizes(optarg, o))
                    bad = "--slot-sizes needs 1..8 positive byte counts, comma separated";
                break;
            case O_TRUST: o->trust_system_time = true; break;
            case O_POOL:
                if (!parse_u32(optarg, 64, 64 * 1024, &v))
                    bad = "--pool-kib needs 64..65536";
                o->pool_bytes = v * 1024;
                break;
            case O_STACK:
                if (!parse_u32(optarg, 1024, 1024 * 1024, &o->stack_bytes))
                    bad = "--stack needs 1024..1048576 bytes";
                break;
            case O_PAGES:
                if (!parse_u32(optarg, 1, 65536, &o->max_pages))
                    bad = "--max-pages needs 1..65536";
                break;
            case O_LEVEL:
                o->log_level = parse_level(optarg);
                if (o->log_level < 0)
                    bad = "--log-level needs error, warn, info or debug";
                break;
            case O_REPLAY: o->replay_path = optarg; break;
            case O_EVENTS: o->event_path = optarg; break;
            case O_CUT:
                if (!parse_power_cut(optarg, o))
                    bad = "--power-cut-at needs N or N:torn, N >= 1";
                break;
            case O_JOURNAL: o->journal_writes = true; break;
            case O_HELP: usage(stdout); exit(0);
            default:
                fprintf(stderr, "csmp-agent: unknown or incomplete option %s\n",
                        argv[optind - 1]);
                usage(stderr);
                return false;
        }
        if (bad) {
            fprintf(stderr, "csmp-agent: %s (got \"%s\")\n", bad, optarg);
            return false;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "csmp-agent: unexpected argument \"%s\"\n", argv[optind]);
        return false;
    }
    if (!o->config_path && !o->eui64) {
        fprintf(stderr, "csmp-agent: need --eui64 (or --config with an eui64 line)\n");
        return false;
    }
    return true;
}

/* ---- configuration text ------------------------------------------------------ */

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text_t;

static void
append(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
append(text_t *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->failed = true;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

static bool
read_file(const char *path, text_t *t)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (!f) {
        host_log(LOG_ERROR, "host", "cannot read configuration %s: %s", path, strerror(errno));
        return false;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (memchr(chunk, '\0', n)) {
            host_log(LOG_ERROR, "host", "configuration %s is not text (contains NUL)", path);
            fclose(f);
            return false;
        }
        append(t, "%.*s", (int)n, chunk);
    }
    fclose(f);
    if (t->len && t->buf[t->len - 1] != '\n')
        append(t, "\n");
    return true;
}

/* Defaults that describe this process honestly, like the Node host's. */
static void
append_defaults(text_t *t, const options_t *o, const char *eui)
{
    bool loopback = strcmp(o->bind_addr, "::1") == 0;
    bool wildcard = strcmp(o->bind_addr, "::") == 0;

    append(t, "hw.descr=OpenCSMP agent, WAMR POSIX host\n");
    append(t, "hw.name=opencsmp-wamr\n");
    append(t, "hw.mfg=OpenCSMP\nhw.model=OpenCSMP-WAMR\n");
    append(t, "hw.serial=%s\nhw.class=3\n", eui);
    /* IANAifType 24 softwareLoopback, 6 ethernetCsmacd; without --interface
     * the host cannot name the interface peers reach it through. */
    if (loopback)
        append(t, "if.1.name=lo\nif.1.descr=loopback (OpenCSMP WAMR host)\nif.1.type=24\n"
                  "if.1.mtu=65536\n");
    else if (o->ifname)
        append(t, "if.1.name=%s\nif.1.descr=CoAP interface (OpenCSMP WAMR host)\n"
                  "if.1.type=6\n", o->ifname);
    /* A wildcard bind has no one address that peers use. */
    if (!wildcard)
        append(t, "ip.1.addr=%s\nip.1.pfxlen=%d\n", o->bind_addr, loopback ? 128 : 64);
}

char *
options_config_text(const options_t *o, size_t *len)
{
    text_t t = { .buf = malloc(1024), .len = 0, .cap = 1024, .failed = false };
    char eui[17] = "";

    if (!t.buf)
        return NULL;
    t.buf[0] = '\0';
    if (o->eui64) {
        for (int i = 0; i < 16; i++)
            eui[i] = (char)toupper((unsigned char)o->eui64[i]);
    }
    if (o->config_path) {
        if (!read_file(o->config_path, &t))
            goto fail;
    } else {
        append(&t, "# device configuration written by csmp-agent (OpenCSMP WAMR host)\n");
        append_defaults(&t, o, eui);
    }
    /* Flags come last: later lines override earlier ones. */
    if (o->eui64)
        append(&t, "eui64=%s\n", eui);
    if (o->nms_url) {
        if (strpbrk(o->nms_url, "\r\n")) {
            host_log(LOG_ERROR, "host", "--nms must be one line");
            goto fail;
        }
        append(&t, "nms.url=%s\n", o->nms_url);
    }
    if (t.failed)
        goto fail;
    *len = t.len;
    return t.buf;
fail:
    free(t.buf);
    return NULL;
}
