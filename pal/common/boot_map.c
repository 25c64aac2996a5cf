/*
 * boot.json parsing and writing (boot_map.h). The parser reads only the flat
 * two-field object the hosts write, not JSON at large: it finds each key by
 * its quoted name and reads numbers with strtol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_map.h"

#define SLOTS_LIMIT 8

static const char *
skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Where the value after "name": starts, or NULL. */
static const char *
field(const char *text, const char *name)
{
    char quoted[16];
    snprintf(quoted, sizeof quoted, "\"%s\"", name);
    const char *p = strstr(text, quoted);
    if (!p)
        return NULL;
    p = skip_space(p + strlen(quoted));
    return *p == ':' ? skip_space(p + 1) : NULL;
}

bool
boot_map_parse(const char *text, int slots, int *next, int map[])
{
    bool taken[SLOTS_LIMIT] = { false };
    const char *p = field(text, "next");
    char *end;

    if (slots < 1 || slots > SLOTS_LIMIT)
        return false;
    *next = 0;
    if (p && strncmp(p, "null", 4) != 0) {
        long slot = strtol(p, &end, 10);
        if (end == p || slot < 1 || slot >= slots)
            return false;
        *next = (int)slot;
    }
    for (int i = 0; i < slots; i++)
        map[i] = i;
    p = field(text, "map");
    if (!p)
        return true;
    if (*p++ != '[')
        return false;
    for (int i = 0; i < slots; i++) {
        p = skip_space(p);
        long part = strtol(p, &end, 10);
        if (end == p || part < 0 || part >= slots || taken[part])
            return false;
        taken[part] = true;
        map[i] = (int)part;
        p = skip_space(end);
        if (*p != (i + 1 < slots ? ',' : ']'))
            return false;
        p++;
    }
    return true;
}

int
boot_map_format(char *out, size_t cap, int slots, int next, const int map[])
{
    int n = next ? snprintf(out, cap, "{\"next\":%d,\"map\":[", next)
                 : snprintf(out, cap, "{\"next\":null,\"map\":[");
    for (int i = 0; i < slots && n < (int)cap; i++)
        n += snprintf(out + n, cap - (size_t)n, "%s%d", i ? "," : "", map[i]);
    if (n < (int)cap)
        n += snprintf(out + n, cap - (size_t)n, "]}\n");
    return n;
}
