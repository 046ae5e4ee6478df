#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "util/map.h"

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("souk: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("souk: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("souk: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* ---- imap ---- */

#define TOMB INT64_MIN /* deleted slot; 0 marks an empty one */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

void imap_init(struct imap *m)
{
    memset(m, 0, sizeof *m);
}

void imap_release(struct imap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static void imap_grow(struct imap *m)
{
    struct imap old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    if (old.len * 4 < old.cap) m->cap = old.cap; /* only tombstones: rehash in place size */
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
    m->len = m->tombs = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] && old.keys[i] != TOMB) imap_put(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

void *imap_get(const struct imap *m, int64_t key)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1, i = mix64((uint64_t)key) & mask;
    for (;;) {
        if (m->keys[i] == key) return m->vals[i];
        if (!m->keys[i]) return NULL;
        i = (i + 1) & mask;
    }
}

void *imap_put(struct imap *m, int64_t key, void *val)
{
    if ((m->len + m->tombs + 1) * 4 >= m->cap * 3) imap_grow(m);
    size_t mask = m->cap - 1, i = mix64((uint64_t)key) & mask;
    size_t tomb = (size_t)-1;
    for (;;) {
        if (m->keys[i] == key) {
            void *prev = m->vals[i];
            m->vals[i] = val;
            return prev;
        }
        if (m->keys[i] == TOMB && tomb == (size_t)-1) tomb = i;
        if (!m->keys[i]) break;
        i = (i + 1) & mask;
    }
    if (tomb != (size_t)-1) {
        i = tomb;
        m->tombs--;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return NULL;
}

void *imap_del(struct imap *m, int64_t key)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1, i = mix64((uint64_t)key) & mask;
    for (;;) {
        if (m->keys[i] == key) {
            void *prev = m->vals[i];
            m->keys[i] = TOMB;
            m->vals[i] = NULL;
            m->len--;
            m->tombs++;
            return prev;
        }
        if (!m->keys[i]) return NULL;
        i = (i + 1) & mask;
    }
}

int imap_next(const struct imap *m, size_t *pos, int64_t *key, void **val)
{
    for (; *pos < m->cap; (*pos)++) {
        if (m->keys[*pos] && m->keys[*pos] != TOMB) {
            if (key) *key = m->keys[*pos];
            if (val) *val = m->vals[*pos];
            (*pos)++;
            return 1;
        }
    }
    return 0;
}

/* ---- smap ---- */

static char smap_tomb[1];

void smap_init(struct smap *m)
{
    memset(m, 0, sizeof *m);
}

void smap_release(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] && m->keys[i] != smap_tomb) free(m->keys[i]);
    free(m->keys);
    free(m->hashes);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static void smap_insert_owned(struct smap *m, char *key, uint64_t h, void *val);

static void smap_grow(struct smap *m)
{
    struct smap old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    if (old.len * 4 < old.cap) m->cap = old.cap;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->hashes = xcalloc(m->cap, sizeof *m->hashes);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
    m->len = m->tombs = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] && old.keys[i] != smap_tomb)
            smap_insert_owned(m, old.keys[i], old.hashes[i], old.vals[i]);
    free(old.keys);
    free(old.hashes);
    free(old.vals);
}

static void smap_insert_owned(struct smap *m, char *key, uint64_t h, void *val)
{
    size_t mask = m->cap - 1, i = h & mask;
    while (m->keys[i] && m->keys[i] != smap_tomb) i = (i + 1) & mask;
    if (m->keys[i] == smap_tomb) m->tombs--;
    m->keys[i] = key;
    m->hashes[i] = h;
    m->vals[i] = val;
    m->len++;
}

static long smap_find(const struct smap *m, const char *key, size_t len, uint64_t h)
{
    if (!m->cap) return -1;
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        if (!m->keys[i]) return -1;
        if (m->keys[i] != smap_tomb && m->hashes[i] == h && strlen(m->keys[i]) == len &&
            memcmp(m->keys[i], key, len) == 0)
            return (long)i;
        i = (i + 1) & mask;
    }
}

void *smap_get(const struct smap *m, const char *key, size_t len)
{
    long i = smap_find(m, key, len, XXH3_64bits(key, len));
    return i < 0 ? NULL : m->vals[i];
}

void *smap_put(struct smap *m, const char *key, size_t len, void *val)
{
    uint64_t h = XXH3_64bits(key, len);
    long i = smap_find(m, key, len, h);
    if (i >= 0) {
        void *prev = m->vals[i];
        m->vals[i] = val;
        return prev;
    }
    if ((m->len + m->tombs + 1) * 4 >= m->cap * 3) smap_grow(m);
    smap_insert_owned(m, xstrndup(key, len), h, val);
    return NULL;
}

void *smap_del(struct smap *m, const char *key, size_t len)
{
    long i = smap_find(m, key, len, XXH3_64bits(key, len));
    if (i < 0) return NULL;
    void *prev = m->vals[i];
    free(m->keys[i]);
    m->keys[i] = smap_tomb;
    m->vals[i] = NULL;
    m->len--;
    m->tombs++;
    return prev;
}

int smap_next(const struct smap *m, size_t *pos, const char **key, void **val)
{
    for (; *pos < m->cap; (*pos)++) {
        if (m->keys[*pos] && m->keys[*pos] != smap_tomb) {
            if (key) *key = m->keys[*pos];
            if (val) *val = m->vals[*pos];
            (*pos)++;
            return 1;
        }
    }
    return 0;
}

/* ---- vec ---- */

void vec_push(struct vec *a, void *p)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = p;
}

void vec_release(struct vec *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

void vec_remove(struct vec *a, void *p)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i] == p) {
            memmove(a->v + i, a->v + i + 1, (a->n - i - 1) * sizeof *a->v);
            a->n--;
            return;
        }
    }
}
