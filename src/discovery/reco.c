/*
 * reco — live per-user histories, an item-item cosine model rebuilt in the
 * background, and the similar/feed queries. The model and its parameters are
 * described in reco.h.
 *
 * Locks, and why readers never wait for training:
 *   shard->mu   one of 64, by user id: reco_add, the feed's copy of one
 *               history, and training's snapshot (one shard at a time);
 *   model_mu    guards the r->model pointer only: held to take a reference
 *               or to swap in a new model, never while building one;
 *   train_mu    serialises reco_train;
 *   fb_mu       the fallback list.
 * A model is immutable once published; refs counts the readers plus one for
 * r->model; the last release frees it.
 */
#include "discovery/reco.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/map.h"

#define NSHARDS      64
#define FALLBACK_MAX 256
#define DAY_MS       (24.0 * 3600 * 1000)

const char *const reco_event_names[RECO_EVENT_COUNT] = {"view", "click", "cart", "purchase"};
const char *const reco_reason_names[RECO_REASON_COUNT] = {
    "bought_with",  "viewed_with", "because_you_bought", "because_you_viewed", "trending",
    "new_merchant", "popular"};

const struct reco_config reco_default_config = {
    .kind_weight = {1, 2, 4, 8},
    .decay_days = 60,
    .neighbours = 50,
    .feed_neighbours = 20,
    .user_cap = 500,
    .train_cap = 200,
    .feed_cap = 50,
    .feed_half_life_days = 30,
    .min_support = 2,
    .popular = 200,
    .train_every_ms = 0,
};

enum { ENTRY_BOUGHT = 1 };

/* One product in a user's history; w is the decayed weight as of ts. */
struct uentry {
    int64_t product;
    int64_t ts;
    float w;
    uint8_t flags;
};

struct ustate {
    struct uentry *e;
    uint32_t n, cap;
    int64_t newest; /* newest event time */
};

struct ushard {
    pthread_mutex_t mu;
    struct imap users; /* user id -> struct ustate * */
};

struct model {
    atomic_int refs;
    uint64_t version;
    size_t nitems;
    int64_t *ids;      /* dense index -> product id */
    struct imap index; /* product id -> (void *)(index + 1) */
    uint32_t *off;     /* nitems + 1: neighbours of i are [off[i], off[i+1]) */
    uint32_t *nbr;     /* neighbour's dense index */
    float *sim;        /* cosine, descending within an item */
    uint8_t *why;      /* RECO_BOUGHT_WITH or RECO_VIEWED_WITH */
    struct reco_item *popular;
    size_t npopular;
};

struct reco {
    struct reco_config cfg;
    double hl_ms;      /* decay half-life */
    double feed_hl_ms; /* feed recency half-life */
    struct ushard shards[NSHARDS];
    atomic_uint_fast64_t events, dirty;

    pthread_mutex_t model_mu;
    struct model *model;
    uint64_t version;

    pthread_mutex_t train_mu;
    double train_ms;

    pthread_mutex_t fb_mu;
    struct reco_item fallback[FALLBACK_MAX];
    size_t nfallback;

    int has_thread, stop;
    pthread_t thread;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
};

static struct ushard *shard_of(struct reco *r, int64_t user)
{
    return &r->shards[((uint64_t)user * 0x9E3779B97F4A7C15ull) >> 58];
}

/* ---- model lifetime ---- */

static void model_free(struct model *m)
{
    free(m->ids);
    imap_release(&m->index);
    free(m->off);
    free(m->nbr);
    free(m->sim);
    free(m->why);
    free(m->popular);
    free(m);
}

static struct model *model_acquire(struct reco *r)
{
    pthread_mutex_lock(&r->model_mu);
    struct model *m = r->model;
    if (m) atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&r->model_mu);
    return m;
}

static void model_release(struct model *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) model_free(m);
}

static uint32_t model_find(const struct model *m, int64_t product)
{
    if (product == 0 || product == INT64_MIN) return 0;
    return (uint32_t)(uintptr_t)imap_get(&m->index, product); /* index + 1, or 0 */
}

/* ---- lifecycle ---- */

static void *train_thread(void *arg);

struct reco *reco_new(const struct reco_config *cfg)
{
    struct reco *r = xcalloc(1, sizeof *r);
    const struct reco_config *d = &reco_default_config;
    r->cfg = cfg ? *cfg : *d;
    struct reco_config *c = &r->cfg;
    for (int k = 0; k < RECO_EVENT_COUNT; k++)
        if (!(c->kind_weight[k] > 0)) c->kind_weight[k] = d->kind_weight[k];
    if (!(c->decay_days > 0)) c->decay_days = d->decay_days;
    if (!c->neighbours) c->neighbours = d->neighbours;
    if (!c->feed_neighbours) c->feed_neighbours = d->feed_neighbours;
    if (c->feed_neighbours > c->neighbours) c->feed_neighbours = c->neighbours;
    if (!c->user_cap) c->user_cap = d->user_cap;
    if (!c->train_cap) c->train_cap = d->train_cap;
    if (c->train_cap > c->user_cap) c->train_cap = c->user_cap;
    if (!c->feed_cap) c->feed_cap = d->feed_cap;
    if (c->feed_cap > c->user_cap) c->feed_cap = c->user_cap;
    if (c->feed_cap > 255) c->feed_cap = 255; /* anchors are kept in a uint8_t */
    if (!(c->feed_half_life_days > 0)) c->feed_half_life_days = d->feed_half_life_days;
    if (!c->min_support) c->min_support = d->min_support;
    if (!c->popular) c->popular = d->popular;
    r->hl_ms = c->decay_days * DAY_MS;
    r->feed_hl_ms = c->feed_half_life_days * DAY_MS;
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_init(&r->shards[i].mu, NULL);
        imap_init(&r->shards[i].users);
    }
    pthread_mutex_init(&r->model_mu, NULL);
    pthread_mutex_init(&r->train_mu, NULL);
    pthread_mutex_init(&r->fb_mu, NULL);
    pthread_mutex_init(&r->bg_mu, NULL);
    pthread_cond_init(&r->bg_cv, NULL);
    if (c->train_every_ms > 0 && pthread_create(&r->thread, NULL, train_thread, r) == 0)
        r->has_thread = 1;
    return r;
}

void reco_free(struct reco *r)
{
    if (!r) return;
    if (r->has_thread) {
        pthread_mutex_lock(&r->bg_mu);
        r->stop = 1;
        pthread_cond_signal(&r->bg_cv);
        pthread_mutex_unlock(&r->bg_mu);
        pthread_join(r->thread, NULL);
    }
    for (int i = 0; i < NSHARDS; i++) {
        size_t pos = 0;
        void *v;
        while (imap_next(&r->shards[i].users, &pos, NULL, &v)) {
            struct ustate *u = v;
            free(u->e);
            free(u);
        }
        imap_release(&r->shards[i].users);
        pthread_mutex_destroy(&r->shards[i].mu);
    }
    model_release(r->model);
    pthread_mutex_destroy(&r->model_mu);
    pthread_mutex_destroy(&r->train_mu);
    pthread_mutex_destroy(&r->fb_mu);
    pthread_mutex_destroy(&r->bg_mu);
    pthread_cond_destroy(&r->bg_cv);
    free(r);
}

static void *train_thread(void *arg)
{
    struct reco *r = arg;
    pthread_mutex_lock(&r->bg_mu);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (r->cfg.train_every_ms % 1000) * 1000000;
        ts.tv_sec += r->cfg.train_every_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&r->bg_cv, &r->bg_mu, &ts);
        if (r->stop) break;
        pthread_mutex_unlock(&r->bg_mu);
        if (atomic_load(&r->dirty) > 0) reco_train(r);
        pthread_mutex_lock(&r->bg_mu);
    }
    pthread_mutex_unlock(&r->bg_mu);
    return NULL;
}

/* ---- events ---- */

void reco_add(struct reco *r, int64_t user, int64_t product, enum reco_event kind, float weight,
              int64_t ts_ms)
{
    if (user == 0 || user == INT64_MIN || product <= 0 || (unsigned)kind >= RECO_EVENT_COUNT)
        return;
    float kw = r->cfg.kind_weight[kind] * (weight > 0 ? weight : 1);
    struct ushard *s = shard_of(r, user);
    pthread_mutex_lock(&s->mu);
    struct ustate *u = imap_get(&s->users, user);
    if (!u) {
        u = xcalloc(1, sizeof *u);
        u->newest = INT64_MIN;
        imap_put(&s->users, user, u);
    }
    struct uentry *e = NULL;
    for (uint32_t i = 0; i < u->n; i++)
        if (u->e[i].product == product) {
            e = &u->e[i];
            break;
        }
    if (e) {
        if (ts_ms >= e->ts) {
            e->w = (float)(e->w * exp2(-(double)(ts_ms - e->ts) / r->hl_ms)) + kw;
            e->ts = ts_ms;
        } else {
            e->w += (float)(kw * exp2(-(double)(e->ts - ts_ms) / r->hl_ms));
        }
    } else {
        if (u->n >= r->cfg.user_cap) { /* full: the least recent product makes room */
            e = &u->e[0];
            for (uint32_t i = 1; i < u->n; i++)
                if (u->e[i].ts < e->ts) e = &u->e[i];
        } else {
            if (u->n == u->cap) {
                u->cap = u->cap ? u->cap * 2 : 4;
                if (u->cap > r->cfg.user_cap) u->cap = (uint32_t)r->cfg.user_cap;
                u->e = xrealloc(u->e, u->cap * sizeof *u->e);
            }
            e = &u->e[u->n++];
        }
        *e = (struct uentry){.product = product, .ts = ts_ms, .w = kw};
    }
    if (kind == RECO_PURCHASE) e->flags |= ENTRY_BOUGHT;
    if (ts_ms > u->newest) u->newest = ts_ms;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add_explicit(&r->events, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->dirty, 1, memory_order_relaxed);
}

void reco_set_fallback(struct reco *r, const struct reco_item *items, size_t n)
{
    if (n > FALLBACK_MAX) n = FALLBACK_MAX;
    pthread_mutex_lock(&r->fb_mu);
    if (n) memcpy(r->fallback, items, n * sizeof *items);
    r->nfallback = n;
    pthread_mutex_unlock(&r->fb_mu);
}

/* ---- training ---- */

static int uentry_newer(const void *a, const void *b)
{
    const struct uentry *x = a, *y = b;
    if (x->ts != y->ts) return x->ts > y->ts ? -1 : 1;
    return (x->product > y->product) - (x->product < y->product);
}

/* A bounded min-heap of (score, item): the top K seen so far. */
struct topk {
    float *s;
    uint32_t *i;
    uint8_t *why;
    size_t n, k;
};

static void topk_push(struct topk *h, float s, uint32_t i, uint8_t why)
{
    size_t c;
    if (h->n < h->k) {
        c = h->n++;
        while (c > 0) { /* sift up */
            size_t p = (c - 1) / 2;
            if (h->s[p] <= s) break;
            h->s[c] = h->s[p], h->i[c] = h->i[p], h->why[c] = h->why[p];
            c = p;
        }
    } else {
        if (s <= h->s[0]) return;
        c = 0;
        for (;;) { /* sift down from the root */
            size_t l = 2 * c + 1, m = c;
            float ms = s;
            if (l < h->n && h->s[l] < ms) m = l, ms = h->s[l];
            if (l + 1 < h->n && h->s[l + 1] < ms) m = l + 1;
            if (m == c) break;
            h->s[c] = h->s[m], h->i[c] = h->i[m], h->why[c] = h->why[m];
            c = m;
        }
    }
    h->s[c] = s, h->i[c] = i, h->why[c] = why;
}

/* Pops everything in descending order into s/i/why[0..n). */
static size_t topk_drain(struct topk *h, float *s, uint32_t *i, uint8_t *why)
{
    size_t n = h->n;
    for (size_t out = n; out-- > 0;) {
        s[out] = h->s[0], i[out] = h->i[0], why[out] = h->why[0];
        float ls = h->s[--h->n];
        uint32_t li = h->i[h->n];
        uint8_t lw = h->why[h->n];
        if (h->n == 0) break;
        size_t c = 0;
        for (;;) {
            size_t l = 2 * c + 1, m = c;
            float ms = ls;
            if (l < h->n && h->s[l] < ms) m = l, ms = h->s[l];
            if (l + 1 < h->n && h->s[l + 1] < ms) m = l + 1;
            if (m == c) break;
            h->s[c] = h->s[m], h->i[c] = h->i[m], h->why[c] = h->why[m];
            c = m;
        }
        h->s[c] = ls, h->i[c] = li, h->why[c] = lw;
    }
    return n;
}

struct growbuf {
    void *p;
    size_t n, cap, size;
};

static void *gb_push(struct growbuf *g)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1024;
        g->p = xrealloc(g->p, g->cap * g->size);
    }
    return (char *)g->p + g->size * g->n++;
}

struct pop_ent {
    double s;
    uint32_t i;
};

static int pop_desc(const void *a, const void *b)
{
    const struct pop_ent *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

size_t reco_train(struct reco *r)
{
    pthread_mutex_lock(&r->train_mu);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    atomic_store(&r->dirty, 0);
    const struct reco_config *c = &r->cfg;

    /* 1. Snapshot: each user's train_cap most recent entries. */
    struct growbuf ents = {.size = sizeof(struct uentry)}, uoff = {.size = sizeof(size_t)};
    struct uentry *tmp = xmalloc(c->user_cap * sizeof *tmp);
    int64_t tref = INT64_MIN;
    for (int si = 0; si < NSHARDS; si++) {
        struct ushard *s = &r->shards[si];
        pthread_mutex_lock(&s->mu);
        size_t pos = 0;
        void *v;
        while (imap_next(&s->users, &pos, NULL, &v)) {
            const struct ustate *u = v;
            if (u->n == 0) continue;
            size_t n = u->n;
            const struct uentry *src = u->e;
            if (n > c->train_cap) {
                memcpy(tmp, u->e, n * sizeof *tmp);
                qsort(tmp, n, sizeof *tmp, uentry_newer);
                n = c->train_cap;
                src = tmp;
            }
            *(size_t *)gb_push(&uoff) = ents.n;
            for (size_t i = 0; i < n; i++)
                *(struct uentry *)gb_push(&ents) = src[i];
            if (u->newest > tref) tref = u->newest;
        }
        pthread_mutex_unlock(&s->mu);
    }
    free(tmp);
    size_t nusers = uoff.n, nent = ents.n;
    *(size_t *)gb_push(&uoff) = nent;
    const size_t *uo = uoff.p;
    struct uentry *ue = ents.p;

    /* 2. Dense item indexes and per-entry weights. */
    struct imap index;
    imap_init(&index);
    struct growbuf ids = {.size = sizeof(int64_t)};
    uint32_t *eitem = xmalloc((nent ? nent : 1) * sizeof *eitem);
    float *ex = xmalloc((nent ? nent : 1) * sizeof *ex);
    uint8_t *eb = xmalloc(nent ? nent : 1);
    for (size_t i = 0; i < nent; i++) {
        uintptr_t ix = (uintptr_t)imap_get(&index, ue[i].product);
        if (!ix) {
            *(int64_t *)gb_push(&ids) = ue[i].product;
            ix = ids.n;
            imap_put(&index, ue[i].product, (void *)ix);
        }
        eitem[i] = (uint32_t)(ix - 1);
        double w = ue[i].w * exp2(-(double)(tref - ue[i].ts) / r->hl_ms);
        ex[i] = (float)log1p(w);
        eb[i] = ue[i].flags & ENTRY_BOUGHT;
    }
    free(ents.p);
    size_t nitems = ids.n;
    size_t ni1 = nitems ? nitems : 1;

    /* 3. Inverted lists (item -> entries) and item norms. */
    float *fu = xmalloc((nusers ? nusers : 1) * sizeof *fu);
    uint32_t *ioff = xcalloc(nitems + 1, sizeof *ioff);
    for (size_t u = 0; u < nusers; u++)
        fu[u] = (float)(1.0 / log2(2.0 + (double)(uo[u + 1] - uo[u])));
    for (size_t i = 0; i < nent; i++)
        ioff[eitem[i] + 1]++;
    for (size_t i = 0; i < nitems; i++)
        ioff[i + 1] += ioff[i];
    uint32_t *iuser = xmalloc((nent ? nent : 1) * sizeof *iuser);
    uint32_t *ient = xmalloc((nent ? nent : 1) * sizeof *ient);
    uint32_t *fill = xmalloc(ni1 * sizeof *fill);
    memcpy(fill, ioff, nitems * sizeof *fill);
    double *norm = xcalloc(ni1, sizeof *norm), *pop = xcalloc(ni1, sizeof *pop);
    for (size_t u = 0; u < nusers; u++)
        for (size_t e = uo[u]; e < uo[u + 1]; e++) {
            uint32_t it = eitem[e], at = fill[it]++;
            iuser[at] = (uint32_t)u;
            ient[at] = (uint32_t)e;
            norm[it] += (double)fu[u] * ex[e] * ex[e];
            pop[it] += ex[e];
        }
    free(fill);

    /* 4. Co-occurrence per item into dense accumulators, top K by cosine. */
    float *accb = xcalloc(ni1, sizeof *accb), *accv = xcalloc(ni1, sizeof *accv);
    uint32_t *cnt = xcalloc(ni1, sizeof *cnt), *touched = xmalloc(ni1 * sizeof *touched);
    size_t K = c->neighbours;
    struct topk h = {xmalloc(K * sizeof(float)), xmalloc(K * sizeof(uint32_t)), xmalloc(K), 0, K};
    uint32_t *off = xmalloc((nitems + 1) * sizeof *off);
    struct growbuf nbr = {.size = sizeof(uint32_t)}, sim = {.size = sizeof(float)},
                   why = {.size = 1};
    size_t with_nbrs = 0;
    for (size_t i = 0; i < nitems; i++) {
        off[i] = (uint32_t)nbr.n;
        size_t nt = 0;
        for (uint32_t p = ioff[i]; p < ioff[i + 1]; p++) {
            uint32_t u = iuser[p], e0 = ient[p];
            float xi = ex[e0] * fu[u];
            int bi = eb[e0];
            for (size_t e = uo[u]; e < uo[u + 1]; e++) {
                uint32_t j = eitem[e];
                if (j == i) continue;
                float contrib = xi * ex[e];
                if (bi && eb[e])
                    accb[j] += contrib;
                else
                    accv[j] += contrib;
                if (cnt[j]++ == 0) touched[nt++] = j;
            }
        }
        h.n = 0;
        for (size_t t = 0; t < nt; t++) {
            uint32_t j = touched[t];
            if (cnt[j] >= c->min_support && norm[i] > 0 && norm[j] > 0) {
                float s = (float)((accb[j] + accv[j]) / sqrt(norm[i] * norm[j]));
                topk_push(&h, s, j, accb[j] >= accv[j] ? RECO_BOUGHT_WITH : RECO_VIEWED_WITH);
            }
            accb[j] = accv[j] = 0;
            cnt[j] = 0;
        }
        if (h.n) with_nbrs++;
        size_t base = nbr.n;
        for (size_t q = 0; q < h.n; q++)
            gb_push(&nbr), gb_push(&sim), gb_push(&why);
        topk_drain(&h, (float *)sim.p + base, (uint32_t *)nbr.p + base, (uint8_t *)why.p + base);
    }
    off[nitems] = (uint32_t)nbr.n;
    free(h.s), free(h.i), free(h.why);
    free(accb), free(accv), free(cnt), free(touched);
    free(ioff), free(iuser), free(ient), free(norm), free(eitem), free(ex), free(eb), free(fu);
    free(uoff.p);

    /* 5. Popular list. */
    struct pop_ent *pe = xmalloc(ni1 * sizeof *pe);
    for (size_t i = 0; i < nitems; i++)
        pe[i] = (struct pop_ent){pop[i], (uint32_t)i};
    qsort(pe, nitems, sizeof *pe, pop_desc);
    size_t np = nitems < c->popular ? nitems : c->popular;

    struct model *m = xcalloc(1, sizeof *m);
    atomic_init(&m->refs, 1);
    m->nitems = nitems;
    m->ids = ids.p;
    m->index = index;
    m->off = off;
    m->nbr = nbr.p;
    m->sim = sim.p;
    m->why = why.p;
    m->popular = xmalloc((np ? np : 1) * sizeof *m->popular);
    m->npopular = np;
    for (size_t i = 0; i < np; i++)
        m->popular[i] = (struct reco_item){
            .product = m->ids[pe[i].i], .score = (float)pe[i].s, .reason = RECO_POPULAR};
    free(pe);
    free(pop);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&r->model_mu);
    struct model *old = r->model;
    m->version = ++r->version;
    r->model = m;
    r->train_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    pthread_mutex_unlock(&r->model_mu);
    model_release(old);
    pthread_mutex_unlock(&r->train_mu);
    return with_nbrs;
}

/* ---- queries ---- */

size_t reco_similar(struct reco *r, int64_t product, size_t k, struct reco_item *out)
{
    struct model *m = model_acquire(r);
    size_t n = 0;
    uint32_t ix = m ? model_find(m, product) : 0;
    if (ix) {
        for (uint32_t p = m->off[ix - 1]; p < m->off[ix] && n < k; p++)
            out[n++] = (struct reco_item){.product = m->ids[m->nbr[p]],
                                          .score = m->sim[p],
                                          .reason = m->why[p],
                                          .anchor = product};
    }
    model_release(m);
    return n;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A feed candidate in the open-addressing table; item is dense index + 1. */
struct cand {
    uint32_t item;
    float score;
    float best;     /* largest single contribution */
    uint8_t anchor; /* index into the history of that contribution */
};

static int in_out(const struct reco_item *out, size_t n, int64_t product)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].product == product) return 1;
    return 0;
}

size_t reco_feed(struct reco *r, int64_t user, size_t k, int exclude_bought, struct reco_item *out)
{
    if (k == 0) return 0;
    const struct reco_config *c = &r->cfg;

    /* 1. Copy the user's history (at most user_cap entries). */
    struct uentry stackh[512],
        *hist = c->user_cap <= 512 ? stackh : xmalloc(c->user_cap * sizeof *hist);
    size_t nh = 0;
    int64_t newest = 0;
    if (user != 0 && user != INT64_MIN) {
        struct ushard *s = shard_of(r, user);
        pthread_mutex_lock(&s->mu);
        const struct ustate *u = imap_get(&s->users, user);
        if (u) {
            nh = u->n;
            memcpy(hist, u->e, nh * sizeof *hist);
            newest = u->newest;
        }
        pthread_mutex_unlock(&s->mu);
    }
    int64_t boughtbuf[512], *bought = nh <= 512 ? boughtbuf : xmalloc(nh * sizeof *bought);
    size_t nb = 0;
    if (exclude_bought) {
        for (size_t i = 0; i < nh; i++)
            if (hist[i].flags & ENTRY_BOUGHT) bought[nb++] = hist[i].product;
        qsort(bought, nb, sizeof *bought, i64_cmp);
    }
#define IS_BOUGHT(p) (nb && bsearch(&(int64_t){(p)}, bought, nb, sizeof *bought, i64_cmp))
    if (nh > c->feed_cap) {
        qsort(hist, nh, sizeof *hist, uentry_newer);
        nh = c->feed_cap;
    }

    /* 2. Spread the history over its neighbours. */
    struct model *m = model_acquire(r);
    size_t n = 0;
    if (m && nh) {
        size_t bound = nh * c->feed_neighbours, cap = 64;
        while (cap < bound + bound / 3)
            cap *= 2;
        struct cand *tab = xcalloc(cap, sizeof *tab);
        size_t ncand = 0;
        for (size_t h = 0; h < nh; h++) {
            uint32_t ix = model_find(m, hist[h].product);
            if (!ix) continue;
            double age = (double)(newest - hist[h].ts);
            float wh =
                (float)(log1p(hist[h].w * exp2(-age / r->hl_ms)) * exp2(-age / r->feed_hl_ms));
            uint32_t end = m->off[ix];
            if (end - m->off[ix - 1] > c->feed_neighbours)
                end = m->off[ix - 1] + (uint32_t)c->feed_neighbours;
            for (uint32_t p = m->off[ix - 1]; p < end; p++) {
                uint32_t key = m->nbr[p] + 1;
                size_t slot = (key * 0x9E3779B1u) & (cap - 1);
                while (tab[slot].item && tab[slot].item != key)
                    slot = (slot + 1) & (cap - 1);
                struct cand *cd = &tab[slot];
                if (!cd->item) {
                    cd->item = key;
                    ncand++;
                }
                float contrib = wh * m->sim[p];
                cd->score += contrib;
                if (contrib > cd->best) {
                    cd->best = contrib;
                    cd->anchor = (uint8_t)h;
                }
            }
        }
        /* 3. Top k of the candidates not excluded. */
        struct topk top = {xmalloc(k * sizeof(float)), xmalloc(k * sizeof(uint32_t)), xmalloc(k), 0,
                           k};
        for (size_t i = 0; i < cap && ncand; i++) {
            if (!tab[i].item) continue;
            ncand--;
            if (IS_BOUGHT(m->ids[tab[i].item - 1])) continue;
            topk_push(&top, tab[i].score, (uint32_t)i, 0);
        }
        float *ts = xmalloc(k * sizeof *ts);
        uint32_t *ti = xmalloc(k * sizeof *ti);
        uint8_t *tw = xmalloc(k);
        n = topk_drain(&top, ts, ti, tw);
        for (size_t i = 0; i < n; i++) {
            const struct cand *cd = &tab[ti[i]];
            const struct uentry *a = &hist[cd->anchor];
            out[i] =
                (struct reco_item){.product = m->ids[cd->item - 1],
                                   .score = cd->score,
                                   .reason = (a->flags & ENTRY_BOUGHT) ? RECO_BECAUSE_YOU_BOUGHT
                                                                       : RECO_BECAUSE_YOU_VIEWED,
                                   .anchor = a->product};
        }
        free(ts), free(ti), free(tw);
        free(top.s), free(top.i), free(top.why);
        free(tab);
    }

    /* 4. Fill: the caller's fallback (trending, new merchants), then popular. */
    if (n < k) {
        pthread_mutex_lock(&r->fb_mu);
        for (size_t i = 0; i < r->nfallback && n < k; i++) {
            const struct reco_item *f = &r->fallback[i];
            if (!IS_BOUGHT(f->product) && !in_out(out, n, f->product)) out[n++] = *f;
        }
        pthread_mutex_unlock(&r->fb_mu);
    }
    if (m && n < k) {
        for (size_t i = 0; i < m->npopular && n < k; i++) {
            const struct reco_item *p = &m->popular[i];
            if (!IS_BOUGHT(p->product) && !in_out(out, n, p->product)) out[n++] = *p;
        }
    }
#undef IS_BOUGHT
    model_release(m);
    if (bought != boughtbuf) free(bought);
    if (hist != stackh) free(hist);
    return n;
}

void reco_stats(struct reco *r, struct reco_stats *out)
{
    memset(out, 0, sizeof *out);
    out->events = atomic_load(&r->events);
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_lock(&r->shards[i].mu);
        out->users += r->shards[i].users.len;
        pthread_mutex_unlock(&r->shards[i].mu);
    }
    pthread_mutex_lock(&r->model_mu);
    if (r->model) {
        out->model_version = r->model->version;
        out->model_items = r->model->nitems;
        out->model_pairs = r->model->off[r->model->nitems];
    }
    out->train_ms = r->train_ms;
    pthread_mutex_unlock(&r->model_mu);
}
