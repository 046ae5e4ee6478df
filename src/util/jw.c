#include <stdlib.h>
#include <string.h>
#include "util/jw.h"
#include "util/log.h"
#include "util/map.h"

void jw_init(struct jw *w)
{
    memset(w, 0, sizeof *w);
    w->first = 1;
}

void jw_release(struct jw *w)
{
    free(w->buf);
    jw_init(w);
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        /* Start at 4 KB: a checkout answer is ~2.5 KB, and growing from
         * nothing showed up as realloc + memmove in the checkout profile. */
        w->cap = (w->len + n + 1) * 2 < 4096 ? 4096 : (w->len + n + 1) * 2;
        w->buf = xrealloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

char *jw_detach(struct jw *w, size_t *len)
{
    if (!w->buf) put(w, "", 0);
    char *b = w->buf;
    if (len) *len = w->len;
    jw_init(w);
    return b;
}

/* Before a value or a key: a comma unless it is the first. */
static void sep(struct jw *w)
{
    if (!w->first) put(w, ",", 1);
    w->first = 0;
}

void jw_obj(struct jw *w)
{
    sep(w);
    put(w, "{", 1);
    w->first = 1;
}

void jw_end(struct jw *w)
{
    put(w, "}", 1);
    w->first = 0;
}

void jw_arr(struct jw *w)
{
    sep(w);
    put(w, "[", 1);
    w->first = 1;
}

void jw_aend(struct jw *w)
{
    put(w, "]", 1);
    w->first = 0;
}

static void put_escaped(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
        put(w, run, (size_t)((const char *)p - run));
        char e[7] = {'\\', 0};
        size_t n = 2;
        switch (*p) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        default:
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[*p >> 4];
            e[5] = hex[*p & 15];
            n = 6;
        }
        put(w, e, n);
        run = (const char *)p + 1;
    }
    put(w, run, strlen(run));
    put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *k)
{
    sep(w);
    put_escaped(w, k);
    put(w, ":", 1);
    w->first = 1; /* the value follows without a comma */
}

void jw_str(struct jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    sep(w);
    put_escaped(w, s);
}

void jw_int(struct jw *w, int64_t v)
{
    char b[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        b[sizeof b - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) b[sizeof b - 1 - n++] = '-';
    sep(w);
    put(w, b + sizeof b - n, (size_t)n);
}

void jw_raw(struct jw *w, const char *json)
{
    sep(w);
    put(w, json, strlen(json));
}

void jw_null(struct jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void jw_id(struct jw *w, int64_t id)
{
    if (!id) {
        jw_null(w);
        return;
    }
    char b[24];
    int n = 0;
    uint64_t u = (uint64_t)id;
    do {
        b[sizeof b - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    sep(w);
    put(w, "\"", 1);
    put(w, b + sizeof b - n, (size_t)n);
    put(w, "\"", 1);
}

void jw_time(struct jw *w, int64_t ms)
{
    if (!ms) {
        jw_null(w);
        return;
    }
    char b[32];
    time_fmt(ms, b);
    sep(w);
    put(w, "\"", 1);
    put(w, b, strlen(b));
    put(w, "\"", 1);
}
