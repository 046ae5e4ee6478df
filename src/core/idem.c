#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "core/idem.h"
#include "util/id.h"

/* The records have their own lock, so the live buy path can check a key
 * without the state lock. Nothing else is locked while it is held. */
static pthread_mutex_t idem_lock = PTHREAD_MUTEX_INITIALIZER;

/* "scope:key" with scope as 16 hex digits (the map's keys are C strings;
 * this runs on every keyed write, so no snprintf). */
static size_t map_key(char *buf, size_t cap, int64_t scope, const char *key, size_t klen)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = (uint64_t)scope;
    for (int i = 15; i >= 0; i--, v >>= 4) buf[i] = hex[v & 15];
    size_t n = 16;
    buf[n++] = ':';
    if (klen > cap - n - 1) klen = cap - n - 1;
    memcpy(buf + n, key, klen);
    return n + klen;
}

static void idem_free(struct idem *e)
{
    free(e->key);
    free(e->body);
    free(e);
}

enum idem_result idem_begin(int64_t scope, const char *key, size_t klen,
                            const unsigned char fp[32], int64_t now, struct idem **out)
{
    char mk[320];
    size_t mlen = map_key(mk, sizeof mk, scope, key, klen);
    pthread_mutex_lock(&idem_lock);
    enum idem_result res = IDEM_PROCEED;
    struct idem *e = smap_get(&S.idem, mk, mlen);
    if (e && e->answered && now - e->created_at > IDEM_TTL_MS) {
        smap_del(&S.idem, mk, mlen);
        idem_free(e);
        e = NULL;
    }
    if (e) {
        *out = e;
        if (memcmp(e->fp, fp, 32) != 0)
            res = IDEM_REUSED;
        else if (!e->answered || !e->durable)
            res = IDEM_IN_PROGRESS;
        else
            res = IDEM_REPLAY;
    } else {
        e = xcalloc(1, sizeof *e);
        e->scope = scope;
        e->key = xstrndup(key, klen);
        memcpy(e->fp, fp, 32);
        e->created_at = now;
        smap_put(&S.idem, mk, mlen, e);
        *out = e;
    }
    pthread_mutex_unlock(&idem_lock);
    return res;
}

void idem_finish(struct idem *e, struct wtx *t, int status, const char *body, size_t len)
{
    e->id = id_next();
    e->status = status;
    char *copy = xstrndup(body, len);
    pthread_mutex_lock(&idem_lock);
    e->body = copy;
    e->answered = 1;
    pthread_mutex_unlock(&idem_lock);
    wtx_stmt(t, ST_IDEM_PUT);
    wtx_int(t, e->id);
    wtx_int(t, e->scope);
    wtx_text(t, e->key);
    wtx_blob(t, e->fp, 32);
    wtx_int(t, status);
    wtx_textn(t, body, len);
    wtx_int(t, e->created_at);
}

void idem_committed(struct idem *e)
{
    pthread_mutex_lock(&idem_lock);
    char *body = e->body;
    e->body = NULL;
    e->durable = 1;
    pthread_mutex_unlock(&idem_lock);
    free(body);
}

int idem_answer(struct idem *e, char **body, size_t *len)
{
    pthread_mutex_lock(&idem_lock);
    if (e->body) {
        *len = strlen(e->body);
        *body = xstrndup(e->body, *len);
        pthread_mutex_unlock(&idem_lock);
        return 0;
    }
    int64_t id = e->id;
    pthread_mutex_unlock(&idem_lock);
    if (!store_ops_current) return -1;
    return store_ops_current->idem_body(store_current, id, body, len);
}

void idem_abort(struct idem *e)
{
    char mk[320];
    size_t mlen = map_key(mk, sizeof mk, e->scope, e->key, strlen(e->key));
    pthread_mutex_lock(&idem_lock);
    if (smap_get(&S.idem, mk, mlen) == e) smap_del(&S.idem, mk, mlen);
    pthread_mutex_unlock(&idem_lock);
    idem_free(e);
}

void idem_restore(int64_t id, int64_t scope, const char *key, size_t klen,
                  const unsigned char fp[32], int status, const char *body, size_t blen,
                  int64_t created_at)
{
    struct idem *e = xcalloc(1, sizeof *e);
    e->id = id;
    e->scope = scope;
    e->key = xstrndup(key, klen);
    memcpy(e->fp, fp, 32);
    e->status = status;
    (void)body;
    (void)blen; /* the body stays in the store; idem_answer reads it */
    e->answered = 1;
    e->created_at = created_at;
    e->durable = 1;
    char mk[320];
    size_t mlen = map_key(mk, sizeof mk, scope, key, klen);
    struct idem *old = smap_put(&S.idem, mk, mlen, e);
    if (old) idem_free(old);
}

void idem_expire(struct wtx *t, int64_t now)
{
    struct vec old = {0};
    size_t pos = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&idem_lock);
    while (smap_next(&S.idem, &pos, &k, &v)) {
        struct idem *e = v;
        if (e->answered && e->durable && now - e->created_at > IDEM_TTL_MS) vec_push(&old, e);
    }
    pthread_mutex_unlock(&idem_lock);
    for (size_t i = 0; i < old.n; i++) idem_abort(old.v[i]);
    if (old.n) {
        wtx_stmt(t, ST_IDEM_PURGE);
        wtx_int(t, id_at(now - IDEM_TTL_MS));
    }
    vec_release(&old);
}

void idem_fingerprint(const char *method, const char *path, size_t plen, const char *body,
                      size_t blen, unsigned char out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)method, strlen(method) + 1);
    crypto_generichash_update(&st, (const unsigned char *)path, plen);
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&st, (const unsigned char *)body, blen);
    crypto_generichash_final(&st, out, 32);
}
