#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store/writer.h"
#include "util/log.h"
#include "util/map.h"

/* Encoding of a unit: a byte stream of tagged records.
 *   'S' u16 stmt        starts a statement
 *   'I' i64             integer value
 *   'T' u32 len bytes   text value
 *   'B' u32 len bytes   blob value
 *   'N'                 null value                                        */
struct wtx {
    unsigned char *buf;
    size_t len, cap;
    int nstmts;
    writer_done_fn done;
    void *arg;
    struct wtx *next;
};

static const struct store_ops *ops;
static struct store *store;
static pthread_t writer_tid, ckpt_tid;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct wtx *qhead, **qtail = &qhead;
static int qstop, running;
static _Atomic uint64_t s_batches, s_units, s_stmts, s_max, s_queued, s_commit_us, s_fsync_us;

#define MAX_BATCH 20000

struct wtx *wtx_new(void)
{
    return xcalloc(1, sizeof(struct wtx));
}

void wtx_free(struct wtx *t)
{
    if (!t) return;
    free(t->buf);
    free(t);
}

int wtx_empty(const struct wtx *t)
{
    return t->nstmts == 0;
}

static void put(struct wtx *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        while (nc < t->len + n) nc *= 2;
        t->buf = xrealloc(t->buf, nc);
        t->cap = nc;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

void wtx_stmt(struct wtx *t, enum store_stmt st)
{
    unsigned char tag = 'S';
    uint16_t id = (uint16_t)st;
    put(t, &tag, 1);
    put(t, &id, 2);
    t->nstmts++;
}

void wtx_int(struct wtx *t, int64_t v)
{
    unsigned char tag = 'I';
    put(t, &tag, 1);
    put(t, &v, 8);
}

void wtx_int_or_null(struct wtx *t, int64_t v)
{
    if (v)
        wtx_int(t, v);
    else
        wtx_null(t);
}

static void put_bytes(struct wtx *t, unsigned char tag, const void *p, size_t len)
{
    uint32_t n = (uint32_t)len;
    put(t, &tag, 1);
    put(t, &n, 4);
    put(t, p, len);
}

void wtx_textn(struct wtx *t, const char *s, size_t len)
{
    if (!s)
        wtx_null(t);
    else
        put_bytes(t, 'T', s, len);
}

void wtx_text(struct wtx *t, const char *s)
{
    wtx_textn(t, s, s ? strlen(s) : 0);
}

void wtx_blob(struct wtx *t, const void *p, size_t len)
{
    put_bytes(t, 'B', p, len);
}

void wtx_null(struct wtx *t)
{
    unsigned char tag = 'N';
    put(t, &tag, 1);
}

/* Run every statement of t inside the open transaction. */
static int apply(struct wtx *t)
{
    struct sval args[32];
    size_t i = 0;
    int nargs = 0, cur = -1;
    while (i <= t->len) {
        unsigned char tag = i < t->len ? t->buf[i] : 'S';
        if (tag == 'S') {
            if (cur >= 0) {
                if (ops->exec(store, (enum store_stmt)cur, args, nargs) != 0) return -1;
                s_stmts++;
            }
            if (i == t->len) break;
            uint16_t id;
            memcpy(&id, t->buf + i + 1, 2);
            cur = id;
            nargs = 0;
            i += 3;
            continue;
        }
        struct sval *v = &args[nargs < 31 ? nargs++ : 31];
        memset(v, 0, sizeof *v);
        if (tag == 'I') {
            v->type = SV_INT;
            memcpy(&v->i, t->buf + i + 1, 8);
            i += 9;
        } else if (tag == 'N') {
            v->type = SV_NULL;
            i += 1;
        } else {
            uint32_t n;
            memcpy(&n, t->buf + i + 1, 4);
            v->type = tag == 'T' ? SV_TEXT : SV_BLOB;
            v->s = (const char *)t->buf + i + 5;
            v->len = n;
            i += 5 + n;
        }
    }
    return 0;
}

static void *writer_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "souk-writer");
    for (;;) {
        pthread_mutex_lock(&qlock);
        while (!qhead && !qstop) pthread_cond_wait(&qcond, &qlock);
        if (!qhead && qstop) {
            pthread_mutex_unlock(&qlock);
            break;
        }
        /* Take up to MAX_BATCH units: one transaction, one fsync. */
        struct wtx *batch = qhead, *last = qhead;
        uint64_t n = 1;
        while (last->next && n < MAX_BATCH) {
            last = last->next;
            n++;
        }
        qhead = last->next;
        if (!qhead) qtail = &qhead;
        last->next = NULL;
        s_queued -= n;
        pthread_mutex_unlock(&qlock);

        int64_t t0 = mono_us();
        int rc = ops->begin(store);
        for (struct wtx *t = batch; t && rc == 0; t = t->next) rc = apply(t);
        int64_t t1 = mono_us();
        if (rc == 0) rc = ops->commit(store);
        s_fsync_us += (uint64_t)(mono_us() - t1);
        if (rc != 0) {
            /* Memory is ahead of disk now; see writer.h. */
            log_err("writer: commit failed; aborting so a restart reloads durable state");
            abort();
        }
        s_commit_us += (uint64_t)(mono_us() - t0);
        s_batches++;
        s_units += n;
        if (n > s_max) s_max = n;
        while (batch) {
            struct wtx *next = batch->next;
            if (batch->done) batch->done(batch->arg);
            wtx_free(batch);
            batch = next;
        }
    }
    return NULL;
}

static void *ckpt_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "souk-ckpt");
    while (!qstop) {
        usleep(100000); /* the engine decides whether there is enough to copy */
        ops->checkpoint(store);
    }
    return NULL;
}

int writer_start(const struct store_ops *o, struct store *s)
{
    ops = o;
    store = s;
    qstop = 0;
    running = 1;
    pthread_create(&writer_tid, NULL, writer_main, NULL);
    pthread_create(&ckpt_tid, NULL, ckpt_main, NULL);
    return 0;
}

void writer_submit(struct wtx *t, writer_done_fn done, void *arg)
{
    t->done = done;
    t->arg = arg;
    t->next = NULL;
    pthread_mutex_lock(&qlock);
    *qtail = t;
    qtail = &t->next;
    s_queued++;
    pthread_cond_signal(&qcond);
    pthread_mutex_unlock(&qlock);
}

struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
};

static void wake(void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->m);
    w->done = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

void writer_submit_wait(struct wtx *t)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    writer_submit(t, wake, &w);
    pthread_mutex_lock(&w.m);
    while (!w.done) pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
}

void writer_stop(void)
{
    if (!running) return;
    pthread_mutex_lock(&qlock);
    qstop = 1;
    pthread_cond_signal(&qcond);
    pthread_mutex_unlock(&qlock);
    pthread_join(writer_tid, NULL);
    pthread_join(ckpt_tid, NULL);
    running = 0;
}

void writer_stats_get(struct writer_stats *o)
{
    o->batches = s_batches;
    o->units = s_units;
    o->statements = s_stmts;
    o->max_batch = s_max;
    o->queued = s_queued;
    o->commit_us_total = s_commit_us;
    o->fsync_us_total = s_fsync_us;
}
