/*
 * search.c — the index (snapshots, writer, merges, bulk load) and queries.
 *
 * Snapshot life cycle:
 *
 *   upsert/remove ──▶ writer map (id → latest doc or "removed", with a
 *                     sequence number) + dead bit on the base's copy
 *   publish ──────▶  new delta segment from the whole map, copy of the dead
 *                     bitmap, new snapshot swapped in under snap_mu
 *   merge ────────▶  background thread: base + delta of snapshot S (minus
 *                     dead) → new base; map entries with seq <= S.seq are
 *                     dropped (they are in the new base), dead bits are
 *                     recomputed for the newer ones; publish
 *
 * A reader holds a reference on one snapshot for the whole query; the last
 * reference frees it. Segments are shared between snapshots by reference.
 */
#include "discovery/search.h"
#include "discovery/search_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <xxhash.h>

#define MAX_ALTS        32    /* alternatives kept per query term */
#define MAX_ALTS_SEEN   96    /* alternatives collected before trimming */
#define FUZZY_BUDGET    20000 /* trie nodes per term and segment */
#define LOAD_CHUNK_DOCS 65536
#define LOAD_BATCH      256

#define WALK_BUDGET    8192 /* documents a sort-order walk may check */
#define MATCH_BATCH    128
#define PREFETCH_AHEAD 12
#define WINDOW         (1u << SEARCH_SAMPLE_SHIFT) /* sampling blocks are windows */

static const float W_PREFIX = 0.8f;
static const float W_TYPO[3] = {1.0f, 0.5f, 0.3f};
static const float W_PREFIX_TYPO[3] = {0.8f, 0.4f, 0.25f};

static const char *const kind_names[] = {"brand", "sme",         "factory",   "exporter",
                                         "rural", "crossborder", "individual"};

int search_merchant_kind_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (strcmp(name, kind_names[i]) == 0) return (int)i;
    return -1;
}

const char *search_merchant_kind_name(int kind)
{
    if (kind < 0 || (size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0])) return NULL;
    return kind_names[kind];
}

int search_sort_parse(const char *name)
{
    static const char *const names[] = {"relevance", "price_asc", "price_desc", "newest"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

/* ---- snapshots ------------------------------------------------------------ */

struct snap {
    atomic_int refs;
    struct search_seg *base, *delta; /* either may be NULL */
    uint64_t *dead;                  /* bitmap over base documents, NULL when none */
    uint64_t ndead;
    uint64_t ndocs; /* searchable documents */
    uint64_t seq;   /* every write with seq <= this is in the snapshot */
};

static void snap_unref(struct snap *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    search_seg_unref(s->base);
    search_seg_unref(s->delta);
    free(s->dead);
    free(s);
}

/* ---- writer map: id → latest version ------------------------------------- */

struct wentry {
    int64_t id;
    uint64_t seq;           /* 0: empty slot */
    struct search_doc *doc; /* NULL: removed (or inactive) */
};

struct wmap {
    struct wentry *e;
    size_t cap, n; /* cap is a power of two */
};

static size_t wmap_slot(const struct wmap *m, int64_t id)
{
    return (size_t)XXH3_64bits(&id, sizeof(id)) & (m->cap - 1);
}

static void wmap_put_raw(struct wmap *m, const struct wentry *w)
{
    size_t h = wmap_slot(m, w->id);
    while (m->e[h].seq)
        h = (h + 1) & (m->cap - 1);
    m->e[h] = *w;
    m->n++;
}

static void wmap_resize(struct wmap *m, size_t cap)
{
    struct wmap o = *m;
    m->cap = cap;
    m->n = 0;
    m->e = search_xcalloc(cap, sizeof(*m->e));
    for (size_t i = 0; i < o.cap; i++)
        if (o.e[i].seq) wmap_put_raw(m, &o.e[i]);
    free(o.e);
}

static struct wentry *wmap_get(struct wmap *m, int64_t id, bool create)
{
    if (create && (m->n + 1) * 2 > m->cap) wmap_resize(m, m->cap ? m->cap * 2 : 64);
    if (!m->cap) return NULL;
    size_t h = wmap_slot(m, id);
    while (m->e[h].seq) {
        if (m->e[h].id == id) return &m->e[h];
        h = (h + 1) & (m->cap - 1);
    }
    if (!create) return NULL;
    m->e[h].id = id;
    m->n++;
    return &m->e[h];
}

/* One allocation holding the document and copies of its strings. */
static struct search_doc *doc_copy(const struct search_doc *d)
{
    const char *s[3] = {d->title ? d->title : "", d->attributes ? d->attributes : "",
                        d->description ? d->description : ""};
    size_t l[3], na = d->n_category_ancestors;
    if (na > SEARCH_MAX_PATH - 1) na = SEARCH_MAX_PATH - 1;
    for (int i = 0; i < 3; i++)
        l[i] = strlen(s[i]);
    size_t sz = sizeof(struct search_doc) + na * sizeof(int64_t) + l[0] + l[1] + l[2] + 3;
    struct search_doc *c = search_xmalloc(sz);
    *c = *d;
    int64_t *anc = (int64_t *)(c + 1);
    memcpy(anc, d->category_ancestors + (d->n_category_ancestors - na), na * sizeof(int64_t));
    c->category_ancestors = anc;
    c->n_category_ancestors = (uint32_t)na;
    char *p = (char *)(anc + na);
    const char **dst[3] = {&c->title, &c->attributes, &c->description};
    for (int i = 0; i < 3; i++) {
        memcpy(p, s[i], l[i] + 1);
        *dst[i] = p;
        p += l[i] + 1;
    }
    c->currency[3] = 0;
    return c;
}

/* ---- query workers (per-thread scratch, pooled) --------------------------- */

struct alt {
    const char *term;
    uint32_t len;
    float w;     /* match weight: 1 exact, less for prefix and typo matches */
    float idfw;  /* idf * (k1 + 1) * w */
    uint64_t df; /* over all segments */
    uint32_t tid[2];
};

struct clause {
    const char *qterm; /* the query's own term */
    uint32_t qlen;
    struct alt *alts;
    uint32_t na;
    uint64_t df;
    bool prefix, typo;
};

struct pcur {
    const struct search_posting *p, *end, *p0;
    float idfw;
    uint32_t term;                    /* in the segment; SEARCH_NONE for the category */
    const struct search_dense *dense; /* bitmap of the term, or NULL */
};

/* With a bitmap: d's posting of the term, or NULL. */
static inline const struct search_posting *dense_get(const struct pcur *c, uint32_t d)
{
    uint64_t w = c->dense->bits[d >> 6], bit = 1ull << (d & 63);
    if (!(w & bit)) return NULL;
    return c->p0 + c->dense->rank[d >> 6] + __builtin_popcountll(w & (bit - 1));
}

/* The cursors of one query term's alternatives. */
struct ucur {
    struct pcur *c;
    uint32_t n;
};

struct hitref {
    double k;
    int64_t id;
    uint32_t doc;
    uint8_t seg;
    float score;
};

struct worker {
    struct worker *next;
    struct text_analyzer *a;
    struct text_tokens qt, ht;
    struct alt *alts;                    /* SEARCH_MAX_TERMS * MAX_ALTS_SEEN */
    struct pcur *pc;                     /* (SEARCH_MAX_TERMS + 1) * MAX_ALTS */
    struct hitref *heap, *heap1, *heap2; /* result; per segment: pass, exact walk */
    size_t heap_cap;
    uint32_t *pathcnt, *catcnt;
    size_t pathcnt_cap, catcnt_cap;
    uint64_t *pathbits;
    size_t pathbits_cap;
    float wscore[WINDOW]; /* scores of one window of documents */
};

struct search_index {
    struct search_options opt;
    pthread_mutex_t snap_mu; /* guards cur; held only to swap or take a reference */
    struct snap *cur;

    /* Lock order: pub_mu, then wmu, then snap_mu. */
    pthread_mutex_t pub_mu; /* one publisher (refresh, merge install, load) at a time; wb */
    pthread_mutex_t wmu;    /* guards everything below; never held while building */
    pthread_cond_t wcv;     /* merge finished, or stop */
    struct wmap map;
    bool pinned; /* a publish is reading the map's documents: defer frees */
    struct search_doc **grave;
    size_t ngrave, grave_cap;
    uint64_t seq;
    bool dirty, stop, loading;
    struct search_seg *base;
    uint64_t *dead;
    size_t dead_words;
    uint64_t ndead;
    int merge_state; /* 0 idle, 1 running, 2 finished (to join) */
    pthread_t merge_thr;
    struct snap *merge_snap;
    struct text_analyzer *wa;
    struct search_segb *wb;
    bool has_thr;
    pthread_t thr;
    uint64_t merges, publishes;

    pthread_mutex_t pool_mu;
    struct worker *pool;
};

static struct snap *snap_get(struct search_index *idx)
{
    pthread_mutex_lock(&idx->snap_mu);
    struct snap *s = idx->cur;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&idx->snap_mu);
    return s;
}

static struct worker *worker_get(struct search_index *idx)
{
    pthread_mutex_lock(&idx->pool_mu);
    struct worker *w = idx->pool;
    if (w) idx->pool = w->next;
    pthread_mutex_unlock(&idx->pool_mu);
    if (w) return w;
    w = search_xcalloc(1, sizeof(*w));
    w->a = text_analyzer_new();
    if (!w->a) abort(); /* search_index_new already opened one: cannot fail now */
    text_tokens_init(&w->qt);
    text_tokens_init(&w->ht);
    w->alts = search_xmalloc(sizeof(struct alt) * SEARCH_MAX_TERMS * MAX_ALTS_SEEN);
    w->pc = search_xmalloc(sizeof(struct pcur) * (SEARCH_MAX_TERMS + 1) * MAX_ALTS);
    return w;
}

static void worker_put(struct search_index *idx, struct worker *w)
{
    pthread_mutex_lock(&idx->pool_mu);
    w->next = idx->pool;
    idx->pool = w;
    pthread_mutex_unlock(&idx->pool_mu);
}

static void worker_free(struct worker *w)
{
    text_analyzer_free(w->a);
    text_tokens_release(&w->qt);
    text_tokens_release(&w->ht);
    free(w->alts);
    free(w->pc);
    free(w->heap);
    free(w->heap1);
    free(w->heap2);
    free(w->pathcnt);
    free(w->catcnt);
    free(w->pathbits);
    free(w);
}

/* ---- publishing and merging ------------------------------------------------ */

static void *merge_main(void *arg);

static uint32_t merge_threshold(const struct search_index *idx)
{
    if (idx->opt.merge_docs) return idx->opt.merge_docs;
    uint32_t t = idx->base ? idx->base->ndocs / 50 : 0;
    return t > 2048 ? t : 2048;
}

/* Frees a replaced document, or keeps it until the running publish is done. */
static void doc_drop_locked(struct search_index *idx, struct search_doc *d)
{
    if (!d) return;
    if (!idx->pinned) {
        free(d);
        return;
    }
    SEARCH_GROW(idx->grave, idx->grave_cap, idx->ngrave + 1);
    idx->grave[idx->ngrave++] = d;
}

/*
 * Builds a snapshot of everything written so far and swaps it in. Caller
 * holds pub_mu, not wmu: the delta is built from the writer map without
 * wmu, so writers (HTTP handlers) never wait for it; documents they replace
 * meanwhile are freed afterwards (pinned).
 */
static void publish(struct search_index *idx)
{
    struct snap *s = search_xcalloc(1, sizeof(*s));
    struct search_doc **docs;
    size_t n = 0;
    atomic_init(&s->refs, 1);

    pthread_mutex_lock(&idx->wmu);
    docs = search_xmalloc((idx->map.n + 1) * sizeof(*docs));
    for (size_t i = 0; i < idx->map.cap; i++)
        if (idx->map.e[i].seq && idx->map.e[i].doc) docs[n++] = idx->map.e[i].doc;
    if (idx->base) {
        search_seg_ref(idx->base);
        s->base = idx->base;
    }
    if (idx->ndead) {
        s->dead = search_xmalloc(idx->dead_words * sizeof(uint64_t));
        memcpy(s->dead, idx->dead, idx->dead_words * sizeof(uint64_t));
    }
    s->ndead = idx->ndead;
    s->seq = idx->seq;
    idx->dirty = false;
    idx->pinned = true;
    pthread_mutex_unlock(&idx->wmu);

    for (size_t i = 0; i < n; i++)
        search_segb_add(idx->wb, docs[i]);
    if (search_segb_ndocs(idx->wb) > 0) s->delta = search_segb_finish(idx->wb, true);
    free(docs);
    s->ndocs = (s->base ? s->base->ndocs - s->ndead : 0) + (s->delta ? s->delta->ndocs : 0);

    pthread_mutex_lock(&idx->wmu);
    idx->pinned = false;
    for (size_t i = 0; i < idx->ngrave; i++)
        free(idx->grave[i]);
    idx->ngrave = 0;
    pthread_mutex_lock(&idx->snap_mu);
    struct snap *old = idx->cur;
    idx->cur = s;
    pthread_mutex_unlock(&idx->snap_mu);
    idx->publishes++;
    /* Merge when the delta (or the dead part of the base) has grown. */
    uint64_t pending = (s->delta ? s->delta->ndocs : 0) + s->ndead;
    if (idx->merge_state == 0 && !idx->loading && pending >= merge_threshold(idx)) {
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
        idx->merge_snap = s;
        idx->merge_state = 1;
        if (pthread_create(&idx->merge_thr, NULL, merge_main, idx) != 0) {
            idx->merge_state = 0; /* try again at the next publish */
            idx->merge_snap = NULL;
            snap_unref(s);
        }
    }
    pthread_mutex_unlock(&idx->wmu);
    snap_unref(old);
}

/* Joins a finished merge thread (wmu held). */
static void reap_merge_locked(struct search_index *idx)
{
    if (idx->merge_state == 2) {
        pthread_join(idx->merge_thr, NULL);
        idx->merge_state = 0;
    }
}

/*
 * Makes seg the base (pub_mu and wmu held). Map entries with seq <= upto
 * are dropped (the base holds them); the newer ones shadow their id in it.
 */
static void install_base_locked(struct search_index *idx, struct search_seg *seg, uint64_t upto)
{
    struct wmap m = {0};
    search_seg_unref(idx->base);
    idx->base = seg;
    free(idx->dead);
    idx->dead_words = ((size_t)seg->ndocs + 63) / 64;
    idx->dead = search_xcalloc(idx->dead_words + 1, sizeof(uint64_t));
    idx->ndead = 0;
    for (size_t i = 0; i < idx->map.cap; i++) {
        struct wentry *e = &idx->map.e[i];
        if (!e->seq) continue;
        if (e->seq <= upto) {
            free(e->doc); /* not pinned: pub_mu is held */
            continue;
        }
        if (!m.cap || (m.n + 1) * 2 > m.cap) wmap_resize(&m, m.cap ? m.cap * 2 : 64);
        wmap_put_raw(&m, e);
        uint32_t d = search_seg_find_id(seg, e->id);
        if (d != SEARCH_NONE && !search_bit(idx->dead, d)) {
            idx->dead[d >> 6] |= 1ull << (d & 63);
            idx->ndead++;
        }
    }
    free(idx->map.e);
    idx->map = m;
    idx->dirty = true;
}

/* Runs without locks: the inputs are an immutable snapshot. */
static struct search_seg *merge_snapshot(const struct snap *s)
{
    struct search_seg *in[2];
    const uint64_t *dead[2];
    unsigned n = 0;
    if (s->base) in[n] = s->base, dead[n] = s->dead, n++;
    if (s->delta) in[n] = s->delta, dead[n] = NULL, n++;
    return search_seg_merge(in, dead, n, true);
}

/* Installs a merged base and publishes it (merge_state is 1: no new merge starts). */
static void install_merged(struct search_index *idx, struct search_seg *merged,
                           const struct snap *s)
{
    pthread_mutex_lock(&idx->pub_mu);
    pthread_mutex_lock(&idx->wmu);
    install_base_locked(idx, merged, s->seq);
    idx->merges++;
    pthread_mutex_unlock(&idx->wmu);
    publish(idx);
    pthread_mutex_unlock(&idx->pub_mu);
}

static void *merge_main(void *arg)
{
    struct search_index *idx = arg;
    struct snap *s = idx->merge_snap; /* set before the thread started */
    install_merged(idx, merge_snapshot(s), s);
    pthread_mutex_lock(&idx->wmu);
    idx->merge_snap = NULL;
    idx->merge_state = 2;
    pthread_cond_broadcast(&idx->wcv);
    pthread_mutex_unlock(&idx->wmu);
    snap_unref(s);
    return NULL;
}

static void wait_merge_locked(struct search_index *idx)
{
    while (idx->merge_state == 1)
        pthread_cond_wait(&idx->wcv, &idx->wmu);
    reap_merge_locked(idx);
}

/* Publishes if something was written (no locks held). */
static void refresh_if_dirty(struct search_index *idx)
{
    pthread_mutex_lock(&idx->pub_mu);
    pthread_mutex_lock(&idx->wmu);
    reap_merge_locked(idx);
    bool go = idx->dirty && !idx->loading;
    pthread_mutex_unlock(&idx->wmu);
    if (go) publish(idx);
    pthread_mutex_unlock(&idx->pub_mu);
}

static void *refresher_main(void *arg)
{
    struct search_index *idx = arg;
    pthread_mutex_lock(&idx->wmu);
    while (!idx->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)idx->opt.refresh_ms * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&idx->wcv, &idx->wmu, &ts);
        if (idx->stop) break;
        bool go = idx->dirty;
        pthread_mutex_unlock(&idx->wmu);
        if (go) refresh_if_dirty(idx);
        pthread_mutex_lock(&idx->wmu);
    }
    pthread_mutex_unlock(&idx->wmu);
    return NULL;
}

struct search_index *search_index_new(const struct search_options *opt)
{
    struct search_index *idx = search_xcalloc(1, sizeof(*idx));
    if (opt) idx->opt = *opt;
    if (!idx->opt.refresh_ms) idx->opt.refresh_ms = 100;
    idx->wa = text_analyzer_new();
    if (!idx->wa) {
        free(idx);
        return NULL;
    }
    idx->wb = search_segb_new(idx->wa);
    pthread_mutex_init(&idx->snap_mu, NULL);
    pthread_mutex_init(&idx->pub_mu, NULL);
    pthread_mutex_init(&idx->wmu, NULL);
    pthread_mutex_init(&idx->pool_mu, NULL);
    pthread_cond_init(&idx->wcv, NULL);
    pthread_mutex_lock(&idx->pub_mu);
    publish(idx); /* an empty snapshot, so readers always have one */
    pthread_mutex_unlock(&idx->pub_mu);
    if (!idx->opt.manual_refresh && pthread_create(&idx->thr, NULL, refresher_main, idx) == 0)
        idx->has_thr = true;
    return idx;
}

void search_index_free(struct search_index *idx)
{
    if (!idx) return;
    pthread_mutex_lock(&idx->wmu);
    idx->stop = true;
    pthread_cond_broadcast(&idx->wcv);
    pthread_mutex_unlock(&idx->wmu);
    if (idx->has_thr) pthread_join(idx->thr, NULL);
    pthread_mutex_lock(&idx->wmu);
    wait_merge_locked(idx);
    pthread_mutex_unlock(&idx->wmu);
    snap_unref(idx->cur);
    search_seg_unref(idx->base);
    for (size_t i = 0; i < idx->map.cap; i++)
        if (idx->map.e[i].seq) free(idx->map.e[i].doc);
    free(idx->map.e);
    free(idx->grave);
    free(idx->dead);
    search_segb_free(idx->wb);
    text_analyzer_free(idx->wa);
    while (idx->pool) {
        struct worker *w = idx->pool;
        idx->pool = w->next;
        worker_free(w);
    }
    pthread_mutex_destroy(&idx->snap_mu);
    pthread_mutex_destroy(&idx->pub_mu);
    pthread_mutex_destroy(&idx->wmu);
    pthread_mutex_destroy(&idx->pool_mu);
    pthread_cond_destroy(&idx->wcv);
    free(idx);
}

static int write_doc(struct search_index *idx, int64_t id, struct search_doc *copy)
{
    pthread_mutex_lock(&idx->wmu);
    struct wentry *e = wmap_get(&idx->map, id, true);
    doc_drop_locked(idx, e->doc);
    e->doc = copy;
    e->seq = ++idx->seq;
    if (idx->base) {
        uint32_t d = search_seg_find_id(idx->base, id);
        if (d != SEARCH_NONE && !search_bit(idx->dead, d)) {
            idx->dead[d >> 6] |= 1ull << (d & 63);
            idx->ndead++;
        }
    }
    idx->dirty = true;
    pthread_mutex_unlock(&idx->wmu);
    return SEARCH_OK;
}

int search_index_upsert(struct search_index *idx, const struct search_doc *doc)
{
    if (!doc) return SEARCH_EINVAL;
    if (doc->merchant_kind >= SEARCH_KINDS) return SEARCH_EINVAL;
    if (!doc->active) return write_doc(idx, doc->id, NULL);
    return write_doc(idx, doc->id, doc_copy(doc));
}

int search_index_remove(struct search_index *idx, int64_t id)
{
    return write_doc(idx, id, NULL);
}

int search_index_refresh(struct search_index *idx)
{
    refresh_if_dirty(idx);
    return SEARCH_OK;
}

int search_index_compact(struct search_index *idx)
{
    pthread_mutex_lock(&idx->wmu);
    wait_merge_locked(idx);
    if (idx->loading) {
        pthread_mutex_unlock(&idx->wmu);
        return SEARCH_EBUSY;
    }
    pthread_mutex_unlock(&idx->wmu);
    pthread_mutex_lock(&idx->pub_mu);
    publish(idx); /* may start a merge of exactly this state */
    pthread_mutex_unlock(&idx->pub_mu);
    pthread_mutex_lock(&idx->wmu);
    wait_merge_locked(idx);
    if (idx->map.n == 0 && idx->ndead == 0) {
        pthread_mutex_unlock(&idx->wmu);
        return SEARCH_OK;
    }
    /* Merge what is left here (the threshold was not reached). */
    idx->merge_state = 1;
    pthread_mutex_unlock(&idx->wmu);
    pthread_mutex_lock(&idx->snap_mu);
    struct snap *s = idx->cur;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&idx->snap_mu);
    install_merged(idx, merge_snapshot(s), s);
    pthread_mutex_lock(&idx->wmu);
    idx->merge_state = 0;
    pthread_cond_broadcast(&idx->wcv);
    pthread_mutex_unlock(&idx->wmu);
    snap_unref(s);
    return SEARCH_OK;
}

void search_index_stats(struct search_index *idx, struct search_stats *st)
{
    struct snap *s = snap_get(idx);
    memset(st, 0, sizeof(*st));
    st->docs = s->ndocs;
    st->base_docs = s->base ? s->base->ndocs : 0;
    st->delta_docs = s->delta ? s->delta->ndocs : 0;
    st->base_dead = s->ndead;
    st->terms = s->base ? s->base->nterms : 0;
    st->postings = s->base ? s->base->post_off[s->base->nterms] : 0;
    st->bytes = (s->base ? s->base->bytes : 0) + (s->delta ? s->delta->bytes : 0);
    snap_unref(s);
    pthread_mutex_lock(&idx->wmu);
    st->merges = idx->merges;
    st->publishes = idx->publishes;
    pthread_mutex_unlock(&idx->wmu);
}

/* ---- bulk load ------------------------------------------------------------ */

struct loader {
    struct search_index *idx;
    pthread_mutex_t mu;
    search_doc_next_fn next;
    void *ctx;
    bool done;
    struct search_seg **chunks;
    size_t nchunks, chunks_cap;
};

static void loader_chunk(struct loader *l, struct search_segb *b)
{
    struct search_seg *s = search_segb_finish(b, false);
    pthread_mutex_lock(&l->mu);
    SEARCH_GROW(l->chunks, l->chunks_cap, l->nchunks + 1);
    l->chunks[l->nchunks++] = s;
    pthread_mutex_unlock(&l->mu);
}

static void *loader_main(void *arg)
{
    struct loader *l = arg;
    struct text_analyzer *a = text_analyzer_new();
    struct search_segb *b = search_segb_new(a);
    struct search_doc *batch[LOAD_BATCH];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&l->mu);
        while (!l->done && n < LOAD_BATCH) {
            struct search_doc d;
            memset(&d, 0, sizeof(d));
            if (!l->next(l->ctx, &d)) {
                l->done = true;
                break;
            }
            if (d.active && d.merchant_kind < SEARCH_KINDS) batch[n++] = doc_copy(&d);
        }
        pthread_mutex_unlock(&l->mu);
        for (size_t i = 0; i < n; i++) {
            search_segb_add(b, batch[i]);
            free(batch[i]);
        }
        if (search_segb_ndocs(b) >= LOAD_CHUNK_DOCS || (n == 0 && search_segb_ndocs(b) > 0))
            loader_chunk(l, b);
        if (n == 0) break;
    }
    search_segb_free(b);
    text_analyzer_free(a);
    return NULL;
}

int search_index_load(struct search_index *idx, search_doc_next_fn next, void *ctx,
                      unsigned nthreads)
{
    struct loader l = {.idx = idx, .next = next, .ctx = ctx};
    pthread_t th[16];
    unsigned nt = nthreads ? nthreads : 2;
    if (nt > 16) nt = 16;
    pthread_mutex_lock(&idx->wmu);
    if (idx->loading) {
        pthread_mutex_unlock(&idx->wmu);
        return SEARCH_EBUSY;
    }
    idx->loading = true;
    wait_merge_locked(idx);
    pthread_mutex_unlock(&idx->wmu);

    pthread_mutex_init(&l.mu, NULL);
    unsigned started = 0;
    for (unsigned i = 0; i < nt; i++)
        if (pthread_create(&th[i], NULL, loader_main, &l) == 0)
            started++;
        else
            break;
    if (started == 0) loader_main(&l);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&l.mu);

    const uint64_t **dead = search_xcalloc(l.nchunks + 1, sizeof(uint64_t *));
    struct search_seg *base = search_seg_merge(l.chunks, dead, (unsigned)l.nchunks, true);
    free(dead);
    for (size_t i = 0; i < l.nchunks; i++)
        search_seg_unref(l.chunks[i]);
    free(l.chunks);

    pthread_mutex_lock(&idx->pub_mu);
    pthread_mutex_lock(&idx->wmu);
    install_base_locked(idx, base, 0); /* writes made meanwhile win */
    idx->loading = false;
    pthread_mutex_unlock(&idx->wmu);
    publish(idx);
    pthread_mutex_unlock(&idx->pub_mu);
    return SEARCH_OK;
}

/* ---- result memory ---------------------------------------------------------- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

static void *arena_alloc(struct search_result *r, size_t n)
{
    struct arena_block *b = r->mem;
    n = (n + 15) & ~(size_t)15;
    if (!b || b->used + n > b->cap) {
        size_t cap = n > 16384 ? n : 16384;
        struct arena_block *nb = search_xmalloc(sizeof(*nb) + cap);
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        r->mem = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void search_result_release(struct search_result *r)
{
    struct arena_block *b = r->mem;
    while (b) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    memset(r, 0, sizeof(*r));
}

/* ---- query preparation ------------------------------------------------------- */

struct catacc {
    int64_t id;
    double n;
};

struct qctx {
    struct search_index *idx;
    struct worker *w;
    struct snap *snap;
    struct search_seg *segs[2];
    unsigned nseg;
    const struct search_query *q;
    struct clause cl[SEARCH_MAX_TERMS];
    unsigned ncl;
    struct alt *next_alt;
    struct clause *cur; /* the clause being prepared */
    /* filters */
    bool has_filter;
    uint32_t kinds;
    int64_t pmin, pmax;
    /* sort, page, cursor */
    enum search_sort sort;
    bool has_cursor, facets, exact;
    double ck;
    int64_t cid;
    uint32_t k; /* offset + limit */
    uint32_t nheap;
    const int64_t *bounds;
    uint32_t nbounds;
    bool default_bounds;
    /* answers, scaled up from samples */
    double total, after;
    double kindcnt[SEARCH_KINDS];
    double pricecnt[SEARCH_MAX_PRICE_BOUNDS + 1];
    struct catacc *cats;
    uint32_t ncats, capcats, base_cats;
    bool total_exact, facets_exact, ranking_exact;
};

static void add_alt(struct qctx *c, const char *term, size_t len, float w)
{
    struct clause *cl = c->cur;
    for (uint32_t i = 0; i < cl->na; i++)
        if (cl->alts[i].len == len && memcmp(cl->alts[i].term, term, len) == 0) {
            if (w > cl->alts[i].w) cl->alts[i].w = w;
            return;
        }
    if (cl->na >= MAX_ALTS_SEEN) return;
    struct alt *a = &cl->alts[cl->na++];
    memset(a, 0, sizeof(*a));
    a->term = term;
    a->len = (uint32_t)len;
    a->w = w;
    a->tid[0] = a->tid[1] = SEARCH_NONE;
}

static void add_range(struct qctx *c, const struct search_seg *s, uint32_t lo, uint32_t hi, float w,
                      uint32_t max)
{
    uint32_t t[SEARCH_PREFIX_EXPANSIONS];
    if (max > SEARCH_PREFIX_EXPANSIONS) max = SEARCH_PREFIX_EXPANSIONS;
    uint32_t n = search_seg_top_terms(s, lo, hi, t, max);
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *x = search_seg_term(s, t[i], &len);
        add_alt(c, x, len, w);
    }
}

static void fuzzy_emit(void *ud, const struct search_seg *s, uint32_t lo, uint32_t hi, int dist)
{
    struct qctx *c = ud;
    if (dist < 0 || dist > 2) return;
    if (c->cur->prefix) {
        add_range(c, s, lo, hi, W_PREFIX_TYPO[dist], 8);
    } else {
        size_t len;
        const char *x = search_seg_term(s, s->surf_term[lo], &len);
        add_alt(c, x, len, W_TYPO[dist]);
    }
}

/* Looks alternatives [from, na) up in every segment; returns their documents. */
static uint64_t resolve(struct qctx *c, struct clause *cl, uint32_t from)
{
    uint64_t df = 0;
    for (uint32_t j = from; j < cl->na; j++) {
        struct alt *a = &cl->alts[j];
        a->df = 0;
        for (unsigned s = 0; s < 2; s++) {
            a->tid[s] =
                s < c->nseg ? search_seg_find_term(c->segs[s], a->term, a->len) : SEARCH_NONE;
            if (a->tid[s] != SEARCH_NONE) a->df += search_seg_df(c->segs[s], a->tid[s]);
        }
        df += a->df;
    }
    return df;
}

static int cmp_alt(const void *x, const void *y)
{
    const struct alt *a = x, *b = y;
    if (a->w != b->w) return a->w < b->w ? 1 : -1;
    return (a->df < b->df) - (a->df > b->df);
}

static int cmp_clause(const void *x, const void *y)
{
    const struct clause *a = x, *b = y;
    return (a->df > b->df) - (a->df < b->df);
}

/* Code points of a folded word when all are below U+0800 (else 0). */
static int low_codepoints(const char *s, size_t len, uint32_t *cp, int max)
{
    int n = 0;
    for (size_t b = 0; b < len;) {
        unsigned char x = (unsigned char)s[b];
        if (n == max) return 0;
        if (x < 0x80)
            cp[n++] = x, b += 1;
        else if (x >= 0xC0 && x < 0xE0 && b + 1 < len)
            cp[n++] = ((x & 31u) << 6) | ((unsigned char)s[b + 1] & 63u), b += 2;
        else
            return 0;
    }
    return n;
}

/* Turns q into clauses; returns false when some term matches nothing. */
static bool prepare(struct qctx *c, const char *q)
{
    struct worker *w = c->w;
    size_t len = strlen(q);
    uint32_t n = text_analyze(w->a, q, len, SEARCH_MAX_QUERY, TEXT_MODE_QUERY, &w->qt);
    bool trailing_space = len > 0 && (q[len - 1] == ' ' || q[len - 1] == '\t');
    bool prefix_last = !(c->q->flags & SEARCH_NO_PREFIX) && !trailing_space && !w->qt.truncated;
    /* Like df, N counts documents replaced or removed since the base was built
     * (Lucene's maxDoc), so the two stay consistent. */
    double N = 1;
    for (unsigned s = 0; s < c->nseg; s++)
        N += c->segs[s]->ndocs;

    c->next_alt = w->alts;
    for (uint32_t i = 0; i < n && c->ncl < SEARCH_MAX_TERMS; i++) {
        const struct text_token *t = &w->qt.v[i];
        bool last = i + 1 == n, dup = false;
        for (unsigned j = 0; j < c->ncl; j++)
            dup |=
                c->cl[j].qlen == t->term_len && memcmp(c->cl[j].qterm, t->term, t->term_len) == 0;
        if (dup && !(last && prefix_last)) continue;
        struct clause *cl = &c->cl[c->ncl++];
        memset(cl, 0, sizeof(*cl));
        cl->alts = c->next_alt;
        c->next_alt += MAX_ALTS_SEEN;
        c->cur = cl;
        cl->qterm = t->term;
        cl->qlen = t->term_len;
        size_t cps = text_utf8_count(t->surface, t->surface_len);
        cl->prefix = (last && prefix_last) || (t->kind == TEXT_CJK_WORD && cps == 1);
        add_alt(c, t->term, t->term_len, 1.0f);
        if (cl->prefix)
            for (unsigned s = 0; s < c->nseg; s++) {
                uint32_t lo, hi;
                search_seg_prefix(c->segs[s], t->surface, t->surface_len, &lo, &hi);
                add_range(c, c->segs[s], lo, hi, W_PREFIX, SEARCH_PREFIX_EXPANSIONS);
            }
        uint64_t df = resolve(c, cl, 0);
        uint32_t cp[64];
        int ncp;
        if (!(c->q->flags & SEARCH_NO_TYPO) && t->kind == TEXT_WORD && cps >= 5 &&
            df < SEARCH_TYPO_BELOW && (ncp = low_codepoints(t->surface, t->surface_len, cp, 64))) {
            uint32_t had = cl->na;
            cl->typo = true;
            for (unsigned s = 0; s < c->nseg; s++)
                search_seg_fuzzy(c->segs[s], cp, ncp, cps >= 9 ? 2 : 1, cl->prefix, FUZZY_BUDGET,
                                 fuzzy_emit, c);
            resolve(c, cl, had);
        }
        /* Keep the best alternatives that exist. */
        uint32_t keep = 0;
        for (uint32_t j = 0; j < cl->na; j++)
            if (cl->alts[j].df) cl->alts[keep++] = cl->alts[j];
        cl->na = keep;
        qsort(cl->alts, cl->na, sizeof(struct alt), cmp_alt);
        if (cl->na > MAX_ALTS) cl->na = MAX_ALTS;
        if (cl->na == 0) return false;
        for (uint32_t j = 0; j < cl->na; j++) {
            struct alt *a = &cl->alts[j];
            double d = (double)a->df < N ? (double)a->df : N;
            double idf = log(1.0 + (N - d + 0.5) / (d + 0.5));
            a->idfw = (float)(idf * (SEARCH_K1 + 1.0) * a->w / 65535.0);
            cl->df += a->df;
        }
    }
    qsort(c->cl, c->ncl, sizeof(c->cl[0]), cmp_clause);
    return true;
}

/* ---- evaluation ------------------------------------------------------------ */

static inline const struct search_posting *gallop(const struct search_posting *p,
                                                  const struct search_posting *end, uint32_t target)
{
    if (p >= end || p->doc >= target) return p;
    size_t step = 1;
    const struct search_posting *lo = p;
    while (lo + step < end && lo[step].doc < target) {
        lo += step;
        step <<= 1;
    }
    const struct search_posting *hi = lo + step < end ? lo + step : end;
    lo++;
    while (lo < hi) {
        const struct search_posting *mid = lo + (hi - lo) / 2;
        if (mid->doc < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static inline float bm25(const struct search_seg *s, const struct search_posting *p, float idfw)
{
    (void)s;
    return idfw * (float)p->part; /* monotonic in part: the order of the impact tiers */
}

/* Does any cursor's full list hold d? Sets *score to the best score. */
static bool uc_contains(const struct ucur *u, uint32_t nall, const struct search_seg *s, uint32_t d,
                        float *score)
{
    bool found = false;
    *score = 0;
    for (uint32_t i = 0; i < nall; i++) {
        const struct pcur *c = &u->c[i];
        if (c->dense) {
            const struct search_posting *q = dense_get(c, d);
            if (q) {
                float x = bm25(s, q, c->idfw);
                *score = x > *score ? x : *score;
                found = true;
            }
            continue;
        }
        const struct search_posting *lo = c->p0, *hi = c->end;
        while (lo < hi) {
            const struct search_posting *mid = lo + (hi - lo) / 2;
            if (mid->doc < d)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < c->end && lo->doc == d) {
            float x = bm25(s, lo, c->idfw);
            *score = x > *score ? x : *score;
            found = true;
        }
    }
    return found;
}

static inline bool better(enum search_sort sort, double k1, int64_t id1, double k2, int64_t id2)
{
    if (k1 != k2) return k1 > k2;
    return sort == SEARCH_SORT_NEWEST ? id1 > id2 : id1 < id2;
}

/* A top-k heap whose root is the worst hit kept. */
struct topk {
    struct hitref *v;
    uint32_t n, k;
    enum search_sort sort;
};

static inline bool hb(enum search_sort sort, const struct hitref *a, const struct hitref *b)
{
    return better(sort, a->k, a->id, b->k, b->id);
}

/* Would a hit with key k (any id) possibly enter? */
static inline bool topk_may(const struct topk *t, double k)
{
    return t->n < t->k || k >= t->v[0].k;
}

static void topk_push(struct topk *t, const struct hitref *h)
{
    struct hitref *v = t->v;
    if (t->k == 0) return;
    if (t->n < t->k) {
        uint32_t i = t->n++;
        while (i > 0) {
            uint32_t p = (i - 1) / 2;
            if (!hb(t->sort, &v[p], h)) break;
            v[i] = v[p];
            i = p;
        }
        v[i] = *h;
        return;
    }
    if (!hb(t->sort, h, &v[0])) return;
    uint32_t i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        const struct hitref *mv = h;
        if (l < t->n && hb(t->sort, mv, &v[l])) m = l, mv = &v[l];
        if (r < t->n && hb(t->sort, mv, &v[r])) m = r;
        if (m == i) break;
        v[i] = v[m];
        i = m;
    }
    v[i] = *h;
}

/* One segment's evaluation. */
struct segrun {
    struct qctx *c;
    const struct search_seg *s;
    unsigned si;
    const uint64_t *dead;
    int cur_idx;
    const uint64_t *pathbits;
    struct ucur u[SEARCH_MAX_TERMS + 1];
    bool scoring[SEARCH_MAX_TERMS + 1];
    uint32_t nall[SEARCH_MAX_TERMS + 1]; /* cursors in u[i] before any ran out */
    unsigned nu;
    uint32_t stride;  /* 1: every document; else blocks b with b % stride == 0 */
    uint32_t fstride; /* the same for facet counting; a multiple of stride */
    uint64_t count, after;
    uint32_t *pathcnt;
    uint32_t kindcnt[SEARCH_KINDS];
    uint32_t pricecnt[SEARCH_MAX_PRICE_BOUNDS + 1];
    struct topk top; /* the pass's best hits */
    struct {
        uint32_t doc;
        float score;
        const struct search_posting *late[2]; /* postings scored in flush (prefetched) */
        float late_w[2];
        bool counted; /* in count and after already */
    } batch[MATCH_BATCH];
    uint32_t nb;
};

static inline bool sampled(const struct segrun *r, uint32_t d)
{
    return ((d >> SEARCH_SAMPLE_SHIFT) & (r->stride - 1)) == 0;
}

static inline bool fsampled(const struct segrun *r, uint32_t d)
{
    return ((d >> SEARCH_SAMPLE_SHIFT) & (r->fstride - 1)) == 0;
}

/* First document of the next sampled block after d's. */
static inline uint32_t next_sampled(const struct segrun *r, uint32_t d)
{
    uint64_t b = ((uint64_t)(d >> SEARCH_SAMPLE_SHIFT) + r->stride) & ~(uint64_t)(r->stride - 1);
    uint64_t x = b << SEARCH_SAMPLE_SHIFT;
    return x >= SEARCH_NONE ? SEARCH_NONE - 1 : (uint32_t)x;
}

static inline bool pass_filter(const struct segrun *r, uint32_t d)
{
    const struct qctx *c = r->c;
    const struct search_dochot *h = &r->s->hot[d];
    if (c->kinds && !((c->kinds >> h->kind) & 1)) return false;
    int64_t price = r->s->price[d];
    if (price < c->pmin || price > c->pmax) return false;
    if (r->cur_idx >= 0 && h->cur != r->cur_idx) return false;
    if (r->pathbits && !search_bit(r->pathbits, h->path)) return false;
    return true;
}

static inline double sort_key(const struct qctx *c, const struct search_seg *s, uint32_t d,
                              float score)
{
    switch (c->sort) {
    case SEARCH_SORT_PRICE_ASC:
        return -(double)s->price[d];
    case SEARCH_SORT_PRICE_DESC:
        return (double)s->price[d];
    case SEARCH_SORT_NEWEST:
        return (double)s->created[d];
    default:
        return score;
    }
}

static inline uint32_t price_bucket(const struct qctx *c, const struct search_seg *s, uint32_t d)
{
    if (c->default_bounds) return s->hot[d].pbucket;
    uint32_t lo = 0, hi = c->nbounds;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (c->bounds[mid] <= s->price[d])
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Is a hit with this key after the cursor (or is there no cursor)? */
static inline bool after_cursor(const struct qctx *c, double k, int64_t id)
{
    return !c->has_cursor || better(c->sort, c->ck, c->cid, k, id);
}

/* Counts a match into total and facets; true if it may enter the top hits. */
static inline bool count(struct segrun *r, uint32_t d, float score)
{
    struct qctx *c = r->c;
    const struct search_seg *s = r->s;
    r->count++;
    if (c->facets && fsampled(r, d)) {
        const struct search_dochot *h = &s->hot[d];
        r->pathcnt[h->path]++;
        r->kindcnt[h->kind]++;
        r->pricecnt[price_bucket(c, s, d)]++;
    }
    if (c->has_cursor) return true; /* the cursor test needs the id */
    r->after++;
    return topk_may(&r->top, sort_key(c, s, d, score));
}

static inline void rank(struct segrun *r, uint32_t d, float score)
{
    struct qctx *c = r->c;
    const struct search_seg *s = r->s;
    double k = sort_key(c, s, d, score);
    if (c->has_cursor) {
        if (!after_cursor(c, k, s->id[d])) return;
        r->after++;
    }
    if (!topk_may(&r->top, k)) return;
    struct hitref h = {.k = k, .id = s->id[d], .doc = d, .seg = (uint8_t)r->si, .score = score};
    topk_push(&r->top, &h);
}

/*
 * Matches are found first and handled in batches: handling reads the
 * document's facet data, and a batch lets those reads be prefetched.
 */
static void flush(struct segrun *r)
{
    const struct search_seg *s = r->s;
    struct qctx *c = r->c;
    bool filter = c->has_filter;
    uint32_t nc = 0;
    for (uint32_t i = 0; i < r->nb; i++) {
        uint32_t d = r->batch[i].doc;
        /* A short distance: the core drops prefetches beyond its few line-fill buffers. */
        if (i + PREFETCH_AHEAD < r->nb) {
            uint32_t e = r->batch[i + PREFETCH_AHEAD].doc;
            if (filter || (c->facets && fsampled(r, e))) __builtin_prefetch(&s->hot[e]);
        }
        for (int k = 0; k < 2; k++)
            if (r->batch[i].late[k])
                r->batch[i].score += r->batch[i].late_w[k] * (float)r->batch[i].late[k]->part;
        if (r->batch[i].counted) {
            r->batch[nc++] = r->batch[i]; /* counted when found, may rank */
            continue;
        }
        if (filter && !pass_filter(r, d)) continue;
        if (count(r, d, r->batch[i].score))
            r->batch[nc++] = r->batch[i]; /* may enter the top hits: needs its id */
    }
    for (uint32_t i = 0; i < nc; i++) {
        if (i + 8 < nc) __builtin_prefetch(&s->id[r->batch[i + 8].doc]);
        rank(r, r->batch[i].doc, r->batch[i].score);
    }
    r->nb = 0;
}

/*
 * Queues a match; up to two postings of its score can be left to read in
 * flush (late), which lets their cache misses overlap.
 */
static inline void found_late(struct segrun *r, uint32_t d, float score,
                              const struct search_posting *const *late, const float *w,
                              unsigned nlate, bool counted)
{
    /* What flush will read, a batch later. */
    if (r->nb < PREFETCH_AHEAD && (r->c->has_filter || (r->c->facets && fsampled(r, d))))
        __builtin_prefetch(&r->s->hot[d]); /* the first of a batch; flush does the rest */
    if (r->c->sort == SEARCH_SORT_NEWEST)
        __builtin_prefetch(&r->s->created[d]);
    else if (r->c->sort != SEARCH_SORT_RELEVANCE || r->c->q->has_price_min ||
             r->c->q->has_price_max)
        __builtin_prefetch(&r->s->price[d]);
    uint32_t at = r->nb++;
    r->batch[at].doc = d;
    r->batch[at].score = score;
    r->batch[at].counted = counted;
    for (unsigned k = 0; k < 2; k++) {
        r->batch[at].late[k] = k < nlate ? late[k] : NULL;
        if (k < nlate) {
            r->batch[at].late_w[k] = w[k];
            __builtin_prefetch(late[k]);
        }
    }
    if (r->nb == MATCH_BATCH) flush(r);
}

static inline void found(struct segrun *r, uint32_t d, float score)
{
    const struct qctx *c = r->c;
    if (c->sort == SEARCH_SORT_RELEVANCE && !c->has_filter && !c->has_cursor &&
        !(c->facets && fsampled(r, d))) {
        /* Nothing to read about d: count it here, queue it only if it may rank. */
        r->count++;
        r->after++;
        if (!topk_may(&r->top, score)) return;
        found_late(r, d, score, NULL, NULL, 0, true);
        return;
    }
    found_late(r, d, score, NULL, NULL, 0, false);
}

/*
 * Is d in one of a term's alternatives? Moves their cursors to d or beyond;
 * returns d if found (with the best score in *score), else the smallest
 * document after d they hold (SEARCH_NONE: none).
 */
static inline uint32_t uc_probe(struct ucur *u, uint32_t nall, const struct search_seg *s,
                                uint32_t d, float *score)
{
    uint32_t next = SEARCH_NONE;
    float best = 0;
    for (uint32_t i = 0; i < nall; i++) {
        struct pcur *c = &u->c[i];
        if (c->dense) {
            const struct search_posting *q = dense_get(c, d);
            if (q) {
                float v = bm25(s, q, c->idfw);
                best = v > best ? v : best;
                next = d;
            } else if (d + 1 < next) {
                next = d + 1; /* a bitmap does not say where the next one is */
            }
            continue;
        }
        if (c->p == c->end) continue;
        c->p = gallop(c->p, c->end, d);
        if (c->p == c->end) continue;
        uint32_t x = c->p->doc;
        if (x == d) {
            float v = bm25(s, c->p, c->idfw);
            best = v > best ? v : best;
        }
        next = x < next ? x : next;
    }
    *score = best;
    return next;
}

/*
 * A proposed document: do the other terms have it? Queues it as a match if
 * so. Returns the next document worth proposing (SEARCH_NONE: no more).
 */
static inline uint32_t confirm(struct segrun *r, uint32_t d, float score)
{
    float x;
    for (unsigned i = 1; i < r->nu; i++) {
        uint32_t next = uc_probe(&r->u[i], r->nall[i], r->s, d, &x);
        if (next != d) return next;
        if (r->scoring[i]) score += x;
    }
    if (!search_bit(r->dead, d)) found(r, d, score);
    return d + 1;
}

/* Counts (and ranks) the matches in the sampled blocks (all when stride is 1). */
static void run_pass(struct segrun *r)
{
    const struct search_seg *s = r->s;
    if (r->nu == 0) {
        for (uint32_t d = 0; d < s->ndocs; d++) {
            if (r->stride > 1 && !sampled(r, d)) {
                d = next_sampled(r, d) - 1;
                continue;
            }
            if (!search_bit(r->dead, d)) found(r, d, 0);
        }
        flush(r);
        return;
    }
    if (r->nu == 1 && r->u[0].n == 1) {
        /* One term, one alternative: straight down the postings. */
        const struct pcur *pc = &r->u[0].c[0];
        const struct search_posting *p = pc->p, *end = pc->end;
        float idfw = r->scoring[0] ? pc->idfw : 0;
        while (p < end) {
            uint32_t d = p->doc;
            if (r->stride > 1 && !sampled(r, d)) {
                p = gallop(p, end, next_sampled(r, d));
                continue;
            }
            if (!search_bit(r->dead, d)) found(r, d, bm25(s, p, idfw));
            p++;
        }
        flush(r);
        return;
    }
    bool single = true;
    for (unsigned i = 0; i < r->nu; i++)
        single &= r->nall[i] == 1;
    if (single) {
        /* Every term has one alternative: a plain intersection (the common case, kept tight). */
        const struct search_posting *p[SEARCH_MAX_TERMS + 1], *e[SEARCH_MAX_TERMS + 1];
        const struct pcur *dn[SEARCH_MAX_TERMS + 1];
        float w[SEARCH_MAX_TERMS + 1];
        unsigned n = r->nu;
        for (unsigned i = 0; i < n; i++) {
            dn[i] = i > 0 && r->u[i].c[0].dense ? &r->u[i].c[0] : NULL;
            p[i] = r->u[i].c[0].p;
            e[i] = r->u[i].c[0].end;
            w[i] = r->scoring[i] ? r->u[i].c[0].idfw : 0;
        }
        while (p[0] < e[0]) {
            uint32_t d = p[0]->doc, i;
            if (r->stride > 1 && !sampled(r, d)) {
                p[0] = gallop(p[0], e[0], next_sampled(r, d));
                continue;
            }
            for (i = 1; i < n; i++) {
                if (dn[i]) {
                    const struct search_posting *q = dense_get(dn[i], d);
                    if (!q) break;
                    p[i] = q;
                    continue;
                }
                p[i] = gallop(p[i], e[i], d);
                if (p[i] == e[i]) goto done;
                if (p[i]->doc != d) break;
            }
            if (i < n) {
                p[0] = dn[i] ? p[0] + 1 : gallop(p[0], e[0], p[i]->doc);
                continue;
            }
            if (!search_bit(r->dead, d)) {
                /* Postings found through a bitmap are far away: read them later. */
                const struct search_posting *late[2];
                float lw[2], score = 0;
                unsigned nlate = 0;
                for (i = 0; i < n; i++) {
                    if (dn[i] && nlate < 2 && w[i] != 0) {
                        late[nlate] = p[i];
                        lw[nlate++] = w[i];
                    } else {
                        score += w[i] * (float)p[i]->part;
                    }
                }
                found_late(r, d, score, late, lw, nlate, false);
            }
            p[0]++;
        }
    done:
        flush(r);
        return;
    }
    /*
     * The smallest term proposes documents, the others confirm (or, for a
     * single-alternative proposer, say where to skip to). A proposer with
     * several alternatives (prefix completions, typo variants) is merged a
     * window of 4096 documents at a time through a small bitmap, cheaper
     * than a heap of cursors.
     */
    struct pcur *c0 = r->u[0].c;
    uint32_t n0 = r->nall[0];
    bool s0 = r->scoring[0];
    if (n0 == 1) {
        const struct search_posting *p = c0->p, *end = c0->end;
        while (p < end) {
            uint32_t d = p->doc;
            if (r->stride > 1 && !sampled(r, d)) {
                p = gallop(p, end, next_sampled(r, d));
                continue;
            }
            uint32_t next = confirm(r, d, s0 ? bm25(s, p, c0->idfw) : 0);
            if (next == SEARCH_NONE) break;
            p = next == d + 1 ? p + 1 : gallop(p + 1, end, next);
        }
        flush(r);
        return;
    }
    uint64_t bits[WINDOW / 64];
    float *score = r->c->w->wscore;
    for (uint32_t w0 = 0; w0 < s->ndocs; w0 += WINDOW) {
        uint32_t w1 = w0 + WINDOW;
        if (r->stride > 1 && !sampled(r, w0)) continue;
        memset(bits, 0, sizeof(bits));
        bool any = false;
        for (uint32_t a = 0; a < n0; a++) {
            struct pcur *c = &c0[a];
            c->p = gallop(c->p, c->end, w0);
            for (; c->p < c->end && c->p->doc < w1; c->p++) {
                uint32_t x = c->p->doc - w0;
                float v = s0 ? bm25(s, c->p, c->idfw) : 0;
                if (!(bits[x >> 6] >> (x & 63) & 1)) {
                    bits[x >> 6] |= 1ull << (x & 63);
                    score[x] = v;
                    any = true;
                } else if (v > score[x]) {
                    score[x] = v;
                }
            }
        }
        if (!any) continue;
        uint32_t skip = 0; /* documents before this are known not to match */
        for (uint32_t k = 0; k < WINDOW / 64; k++)
            for (uint64_t x = bits[k]; x; x &= x - 1) {
                uint32_t d = w0 + k * 64 + (uint32_t)__builtin_ctzll(x);
                if (d < skip) continue;
                uint32_t next = confirm(r, d, score[d - w0]);
                if (next == SEARCH_NONE) goto out;
                skip = next;
            }
    }
out:
    flush(r);
}

/*
 * Exact best hits of a one-term relevance query from the term's impact tier:
 * entries come in result order, so the first k that pass are the answer.
 * Returns false when the tier ran out before k passed.
 */
static bool tier_walk(struct segrun *r, const struct search_tier *t, float idfw, struct topk *out)
{
    const struct search_seg *s = r->s;
    const struct search_posting *p = s->tier_post + t->off;
    bool filter = r->c->has_filter;
    for (uint32_t i = 0; i < t->len; i++) {
        uint32_t d = p[i].doc;
        if (search_bit(r->dead, d) || (filter && !pass_filter(r, d))) continue;
        float score = bm25(s, &p[i], idfw);
        if (out->n == out->k && score < out->v[0].k)
            return true; /* full, and nothing later can enter (ties are let through) */
        if (!after_cursor(r->c, score, s->id[d])) continue;
        struct hitref h = {
            .k = score, .id = s->id[d], .doc = d, .seg = (uint8_t)r->si, .score = score};
        topk_push(out, &h);
    }
    /* Ran out. The postings after the tier are worse than its last entry
     * (lower part, or the same and a larger id), so a full heap is the answer. */
    return out->n == out->k;
}

/*
 * Exact best hits for price or date order: walk the documents in that order
 * and keep the matching ones. Returns false when budget documents were
 * checked before the page was full.
 */
static bool order_walk(struct segrun *r, struct topk *out, uint32_t budget)
{
    struct qctx *c = r->c;
    const struct search_seg *s = r->s;
    uint32_t n = s->ndocs;
    bool desc = c->sort == SEARCH_SORT_PRICE_DESC;
    const uint32_t *perm = c->sort == SEARCH_SORT_NEWEST ? s->by_new : s->by_price;
#define AT(i) perm[desc ? n - 1 - (i) : (i)]
    uint32_t start = 0;
    if (c->has_cursor) {
        /* First position whose key is not better than the cursor's. */
        uint32_t lo = 0, hi = n;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (sort_key(c, s, AT(mid), 0) > c->ck)
                lo = mid + 1;
            else
                hi = mid;
        }
        start = lo;
    }
    /* Budget: documents whose terms are looked up; skipping dead or filtered
     * ones is cheaper, but is capped too (4 times the budget). */
    uint64_t checks = 0, skipped = 0;
    for (uint32_t i = start; i < n; i++) {
        uint32_t d = AT(i);
        double k = sort_key(c, s, d, 0);
        if (out->n == out->k && k < out->v[0].k) return true;
        if (search_bit(r->dead, d) || (c->has_filter && !pass_filter(r, d))) {
            if (++skipped > 4 * (uint64_t)budget) return false;
            continue;
        }
        if (++checks > budget) return false;
        float score = 0, x;
        unsigned j;
        for (j = 0; j < r->nu; j++) {
            if (!uc_contains(&r->u[j], r->nall[j], s, d, &x)) break;
            if (r->scoring[j]) score += x;
        }
        if (j < r->nu || !after_cursor(c, k, s->id[d])) continue;
        struct hitref h = {.k = k, .id = s->id[d], .doc = d, .seg = (uint8_t)r->si, .score = score};
        topk_push(out, &h);
    }
#undef AT
    return true;
}

static void add_cat(struct qctx *c, int64_t id, double n, bool first)
{
    /* The first segment's categories come first, sorted; the delta's are looked up. */
    uint32_t lo = 0, hi = c->base_cats;
    if (first) goto append;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (c->cats[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->base_cats && c->cats[lo].id == id) {
        c->cats[lo].n += n;
        return;
    }
    for (uint32_t i = c->base_cats; i < c->ncats; i++)
        if (c->cats[i].id == id) {
            c->cats[i].n += n;
            return;
        }
append:
    if (c->ncats == c->capcats) {
        c->capcats = c->capcats ? c->capcats * 2 : 256;
        c->cats = search_xrealloc(c->cats, c->capcats * sizeof(*c->cats));
    }
    c->cats[c->ncats].id = id;
    c->cats[c->ncats++].n = n;
}

/* Adds a segment's counts, scaled by the sampling factors, to the answer. */
static void fold_counts(struct segrun *r, double scale, double fscale)
{
    struct qctx *c = r->c;
    const struct search_seg *s = r->s;
    c->total += r->count * scale;
    c->after += r->after * scale;
    if (!c->facets) return;
    for (int k = 0; k < SEARCH_KINDS; k++)
        c->kindcnt[k] += r->kindcnt[k] * fscale;
    for (uint32_t b = 0; b <= c->nbounds; b++)
        c->pricecnt[b] += r->pricecnt[b] * fscale;
    struct worker *w = c->w;
    SEARCH_GROW(w->catcnt, w->catcnt_cap, (size_t)s->ncats + 1);
    memset(w->catcnt, 0, ((size_t)s->ncats + 1) * sizeof(uint32_t));
    for (uint32_t p = 0; p < s->npaths; p++)
        if (r->pathcnt[p])
            for (uint32_t j = s->path_off[p]; j < s->path_off[p + 1]; j++)
                w->catcnt[s->path_cat[j]] += r->pathcnt[p];
    bool first = c->ncats == 0;
    for (uint32_t i = 0; i < s->ncats; i++)
        if (w->catcnt[i] && s->cat_ids[i] != 0) /* 0: no category */
            add_cat(c, s->cat_ids[i], w->catcnt[i] * fscale, first);
    if (first) c->base_cats = c->ncats;
}

static void merge_top(struct qctx *c, const struct topk *t)
{
    struct topk main = {c->w->heap, c->nheap, c->k, c->sort};
    for (uint32_t i = 0; i < t->n; i++)
        topk_push(&main, &t->v[i]);
    c->nheap = main.n;
}

/* Documents in a segment over documents in its sampled blocks. */
static double sample_scale(const struct search_seg *s, uint32_t stride)
{
    uint64_t in = 0, blocks = ((uint64_t)s->ndocs + WINDOW - 1) / WINDOW;
    if (stride <= 1) return 1;
    for (uint64_t b = 0; b < blocks; b += stride) {
        uint64_t lo = b * WINDOW, hi = (b + 1) * WINDOW;
        in += (hi < s->ndocs ? hi : s->ndocs) - lo;
    }
    return (double)s->ndocs / (double)in;
}

static void eval_segment(struct qctx *c, unsigned si)
{
    struct worker *w = c->w;
    struct segrun r;
    const struct search_seg *s = c->segs[si];
    memset(&r, 0, sizeof(r));
    r.c = c;
    r.s = s;
    r.si = si;
    r.dead = si == 0 && c->snap->base == s ? c->snap->dead : NULL;
    r.stride = r.fstride = 1;
    r.top = (struct topk){w->heap1, 0, c->k, c->sort};
    if (s->ndocs == 0) return;

    /* Filters that exclude the whole segment, and the category's documents. */
    r.cur_idx = -1;
    if (c->q->currency) {
        for (uint32_t i = 0; i < s->ncur; i++)
            if (strncmp(s->curs[i], c->q->currency, 3) == 0) r.cur_idx = (int)i;
        if (r.cur_idx < 0) return;
    }
    uint32_t cat = SEARCH_NONE;
    if (c->q->category_id) {
        cat = search_seg_find_cat(s, c->q->category_id);
        if (cat == SEARCH_NONE) return;
        size_t words = ((size_t)s->npaths + 63) / 64 + 1;
        SEARCH_GROW(w->pathbits, w->pathbits_cap, words);
        memset(w->pathbits, 0, words * sizeof(uint64_t));
        for (uint32_t p = 0; p < s->npaths; p++)
            for (uint32_t j = s->path_off[p]; j < s->path_off[p + 1]; j++)
                if (s->path_cat[j] == cat) w->pathbits[p >> 6] |= 1ull << (p & 63);
        r.pathbits = w->pathbits;
    }

    /* Cursors: one union per query term, plus the category as a term that does not score. */
    struct pcur *pc = w->pc;
    uint64_t size[SEARCH_MAX_TERMS + 1];
    for (unsigned i = 0; i <= c->ncl; i++) {
        struct ucur *u = &r.u[r.nu];
        u->c = pc;
        u->n = 0;
        size[r.nu] = 0;
        if (i < c->ncl) {
            const struct clause *cl = &c->cl[i];
            for (uint32_t j = 0; j < cl->na; j++) {
                uint32_t t = cl->alts[j].tid[si];
                if (t == SEARCH_NONE) continue;
                pc[u->n].p0 = pc[u->n].p = s->post + s->post_off[t];
                pc[u->n].end = s->post + s->post_off[t + 1];
                pc[u->n].idfw = cl->alts[j].idfw;
                pc[u->n].term = t;
                pc[u->n].dense = search_seg_dense(s, t);
                size[r.nu] += s->post_off[t + 1] - s->post_off[t];
                u->n++;
            }
            if (u->n == 0) return; /* a term this segment does not have: nothing matches here */
            r.scoring[r.nu] = true;
        } else if (cat != SEARCH_NONE) {
            pc[0].p0 = pc[0].p = s->cat_post + s->cat_off[cat];
            pc[0].end = s->cat_post + s->cat_off[cat + 1];
            pc[0].idfw = 0;
            pc[0].term = SEARCH_NONE;
            pc[0].dense = NULL;
            size[r.nu] = s->cat_off[cat + 1] - s->cat_off[cat];
            u->n = 1;
        } else {
            break;
        }
        r.nall[r.nu] = u->n;
        pc += u->n;
        r.nu++;
    }
    /* Smallest first: it drives the leapfrog. */
    for (unsigned i = 1; i < r.nu; i++)
        for (unsigned j = i; j > 0 && size[j] < size[j - 1]; j--) {
            struct ucur tu = r.u[j];
            r.u[j] = r.u[j - 1], r.u[j - 1] = tu;
            uint64_t ts = size[j];
            size[j] = size[j - 1], size[j - 1] = ts;
            bool tb = r.scoring[j];
            r.scoring[j] = r.scoring[j - 1], r.scoring[j - 1] = tb;
            uint32_t tn = r.nall[j];
            r.nall[j] = r.nall[j - 1], r.nall[j - 1] = tn;
        }
    uint64_t D = r.nu ? size[0] : s->ndocs;
    if (c->facets) {
        SEARCH_GROW(w->pathcnt, w->pathcnt_cap, (size_t)s->npaths + 1);
        memset(w->pathcnt, 0, ((size_t)s->npaths + 1) * sizeof(uint32_t));
        r.pathcnt = w->pathcnt;
    }

    bool ranked = true;
    struct topk exact = {w->heap2, 0, c->k, c->sort};
    if (r.nu == 0 && !c->has_filter && c->default_bounds) {
        /* Browsing everything: counts kept by the segment, minus the dead. */
        r.count = r.after = s->ndocs;
        if (c->facets) {
            memcpy(r.pathcnt, s->all_pathcnt, (size_t)s->npaths * sizeof(uint32_t));
            memcpy(r.kindcnt, s->all_kind, sizeof(r.kindcnt));
            memcpy(r.pricecnt, s->all_pbucket, sizeof(s->all_pbucket));
        }
        for (size_t i = 0; r.dead && i < ((size_t)s->ndocs + 63) / 64; i++)
            for (uint64_t x = r.dead[i]; x; x &= x - 1) {
                uint32_t d = (uint32_t)(i * 64 + __builtin_ctzll(x));
                const struct search_dochot *h = &s->hot[d];
                r.count--, r.after--;
                if (c->facets) r.pathcnt[h->path]--, r.kindcnt[h->kind]--, r.pricecnt[h->pbucket]--;
            }
        /* One more than the page, to know whether there is a next one. */
        exact.k = c->k + 1;
        /* No budget: every live document matches, so this reads at most k plus
         * the dead ones. */
        if (!order_walk(&r, &exact, UINT32_MAX))
            abort(); /* no filter, no terms: every document checked matches */
        if (c->has_cursor) r.after = exact.n;
        merge_top(c, &exact);
        fold_counts(&r, 1, 1);
        return;
    }
    double scale = 1, fscale = 1;
    if (!c->exact) {
        /* Too many to rank in full: a sample the size of the facet budget is
         * enough for the estimates (and the exact hits come from elsewhere). */
        r.fstride = 1;
        while ((uint64_t)r.fstride * SEARCH_FACET_BUDGET < D)
            r.fstride *= 2;
        r.stride = D > SEARCH_RANK_BUDGET ? r.fstride : 1;
        scale = sample_scale(s, r.stride);
        fscale = sample_scale(s, r.fstride);
        if (r.stride > 1) c->total_exact = false;
        if (r.fstride > 1 && c->facets) c->facets_exact = false;
    }
    run_pass(&r);
    if (r.stride > 1) {
        /* The pass ranked a sample only: find the exact best another way. */
        bool ok = false;
        if (c->sort != SEARCH_SORT_RELEVANCE) {
            ok = order_walk(&r, &exact, WALK_BUDGET);
        } else {
            unsigned scoring = 0, at = 0;
            for (unsigned i = 0; i < r.nu; i++)
                if (r.scoring[i]) scoring++, at = i;
            if (scoring == 1 && r.nall[at] == 1) {
                const struct pcur *p = &r.u[at].c[0];
                const struct search_tier *t = search_seg_tier(s, p->term);
                if (t) ok = tier_walk(&r, t, p->idfw, &exact);
            }
        }
        if (ok) {
            merge_top(c, &exact);
        } else {
            merge_top(c, &r.top);
            ranked = false;
        }
    } else {
        merge_top(c, &r.top);
    }
    if (!ranked) c->ranking_exact = false;
    fold_counts(&r, scale, fscale);
}

static int cmp_hit(const void *x, const void *y, void *ctx)
{
    const struct qctx *c = ctx;
    const struct hitref *a = x, *b = y;
    return hb(c->sort, a, b) ? -1 : hb(c->sort, b, a) ? 1 : 0;
}

static int cmp_facet(const void *x, const void *y)
{
    const struct search_facet *a = x, *b = y;
    if (a->count != b->count) return a->count < b->count ? 1 : -1;
    return (a->value > b->value) - (a->value < b->value);
}

/* ---- cursors ------------------------------------------------------------------ */

static void cursor_encode(char *out, enum search_sort sort, double k, int64_t id)
{
    uint64_t bits;
    memcpy(&bits, &k, sizeof(bits));
    snprintf(out, SEARCH_CURSOR_MAX, "%c%016" PRIx64 ".%" PRId64, "rpdn"[sort], bits, id);
}

static bool cursor_decode(const char *s, enum search_sort sort, double *k, int64_t *id)
{
    uint64_t bits;
    char *end;
    if (strlen(s) < 19 || strlen(s) >= SEARCH_CURSOR_MAX || s[0] != "rpdn"[sort] || s[17] != '.')
        return false;
    for (int i = 1; i < 17; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    errno = 0;
    bits = strtoull(s + 1, &end, 16);
    if (end != s + 17) return false;
    if (!((s[18] >= '0' && s[18] <= '9') || s[18] == '-')) return false;
    long long v = strtoll(s + 18, &end, 10);
    if (errno || *end) return false;
    memcpy(k, &bits, sizeof(*k));
    if (isnan(*k)) return false;
    *id = v;
    return true;
}

/* ---- highlight ----------------------------------------------------------------- */

struct span {
    uint32_t start, end;
};

static int cmp_span(const void *x, const void *y)
{
    const struct span *a = x, *b = y;
    return (a->start > b->start) - (a->start < b->start);
}

static bool term_matches(const struct qctx *c, const char *t, size_t len)
{
    for (unsigned i = 0; i < c->ncl; i++)
        for (uint32_t j = 0; j < c->cl[i].na; j++)
            if (c->cl[i].alts[j].len == len && memcmp(c->cl[i].alts[j].term, t, len) == 0)
                return true;
    return false;
}

static size_t escape_into(char *o, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r;
        switch (s[i]) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = "&gt;";
            break;
        case '"':
            r = "&quot;";
            break;
        case '\'':
            r = "&#39;";
            break;
        default:
            o[k++] = s[i];
            continue;
        }
        size_t rl = strlen(r);
        memcpy(o + k, r, rl);
        k += rl;
    }
    return k;
}

static char *highlight(struct qctx *c, struct search_result *res, const char *title)
{
    struct worker *w = c->w;
    size_t len = strlen(title);
    uint32_t n = c->ncl ? text_analyze(w->a, title, len, 0, TEXT_MODE_HIGHLIGHT, &w->ht) : 0;
    struct span sp[256];
    uint32_t ns = 0;
    for (uint32_t i = 0; i < n && ns < 256; i++) {
        const struct text_token *t = &w->ht.v[i];
        if (term_matches(c, t->term, t->term_len))
            sp[ns].start = t->start, sp[ns].end = t->end, ns++;
    }
    if (ns > 1) qsort(sp, ns, sizeof(sp[0]), cmp_span);
    /* Worst case every byte becomes "&quot;" (6), plus the tags. */
    char *o = arena_alloc(res, len * 6 + (size_t)ns * 9 + 1);
    size_t k = 0, at = 0;
    for (uint32_t i = 0; i < ns;) {
        uint32_t s0 = sp[i].start, e0 = sp[i].end;
        for (i++; i < ns && sp[i].start <= e0; i++)
            e0 = sp[i].end > e0 ? sp[i].end : e0; /* overlapping or touching: one span */
        if (s0 < at) s0 = (uint32_t)at;
        k += escape_into(o + k, title + at, s0 - at);
        memcpy(o + k, "<em>", 4), k += 4;
        k += escape_into(o + k, title + s0, e0 - s0);
        memcpy(o + k, "</em>", 5), k += 5;
        at = e0;
    }
    k += escape_into(o + k, title + at, len - at);
    o[k] = 0;
    return o;
}

/* ---- query -------------------------------------------------------------------- */

/* The n largest categories, largest first, into res. */
static void top_categories(struct qctx *c, struct search_result *res, uint32_t n)
{
    struct search_facet *h = arena_alloc(res, (n ? n : 1) * sizeof(*h));
    uint32_t m = 0;
    for (uint32_t i = 0; i < c->ncats; i++) {
        struct search_facet f = {c->cats[i].id, (uint32_t)(c->cats[i].n + 0.5)};
        if (f.count == 0 || n == 0) continue;
        /* h is a heap whose root is the smallest kept (cmp_facet order). */
        if (m < n) {
            uint32_t j = m++;
            while (j > 0 && cmp_facet(&h[(j - 1) / 2], &f) < 0) {
                h[j] = h[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            h[j] = f;
        } else if (cmp_facet(&f, &h[0]) < 0) {
            uint32_t j = 0;
            for (;;) {
                uint32_t l = 2 * j + 1, r = l + 1, x = j;
                const struct search_facet *xv = &f;
                if (l < m && cmp_facet(xv, &h[l]) < 0) x = l, xv = &h[l];
                if (r < m && cmp_facet(xv, &h[r]) < 0) x = r;
                if (x == j) break;
                h[j] = h[x];
                j = x;
            }
            h[j] = f;
        }
    }
    if (m > 1) qsort(h, m, sizeof(*h), cmp_facet);
    res->categories = h;
    res->n_categories = m;
}

int search_index_query(struct search_index *idx, const struct search_query *q,
                       struct search_result *res)
{
    struct qctx c;
    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    c.q = q;
    c.sort = q->sort;
    if ((unsigned)c.sort > SEARCH_SORT_NEWEST) return SEARCH_EINVAL;
    uint32_t limit = q->limit ? q->limit : 20;
    if (limit > SEARCH_MAX_LIMIT) limit = SEARCH_MAX_LIMIT;
    uint32_t offset = q->offset > SEARCH_MAX_OFFSET ? SEARCH_MAX_OFFSET : q->offset;
    c.default_bounds = !q->price_bounds;
    c.bounds = q->price_bounds ? q->price_bounds : search_default_bounds;
    c.nbounds = q->price_bounds ? q->n_price_bounds : SEARCH_DEFAULT_BOUNDS;
    if (c.nbounds > SEARCH_MAX_PRICE_BOUNDS) return SEARCH_EINVAL;
    for (uint32_t i = 1; i < c.nbounds; i++)
        if (c.bounds[i] <= c.bounds[i - 1]) return SEARCH_EINVAL;
    const char *text = q->q ? q->q : "";
    bool blank = true;
    for (const char *p = text; *p && blank; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') blank = false;
    if (blank && c.sort == SEARCH_SORT_RELEVANCE) c.sort = SEARCH_SORT_NEWEST;
    if (q->cursor && *q->cursor) {
        if (!cursor_decode(q->cursor, c.sort, &c.ck, &c.cid)) return SEARCH_EINVAL;
        c.has_cursor = true;
    }
    if (q->merchant_kinds >> SEARCH_KINDS) return SEARCH_EINVAL;
    c.kinds = q->merchant_kinds;
    c.pmin = q->has_price_min ? q->price_min : INT64_MIN;
    c.pmax = q->has_price_max ? q->price_max : INT64_MAX;
    c.has_filter = c.kinds || q->has_price_min || q->has_price_max || q->currency || q->category_id;
    c.facets = !(q->flags & SEARCH_NO_FACETS);
    c.exact = q->flags & SEARCH_EXACT;
    c.k = offset + limit;
    c.total_exact = c.facets_exact = c.ranking_exact = true;

    c.idx = idx;
    c.w = worker_get(idx);
    c.snap = snap_get(idx);
    if (c.snap->base) c.segs[c.nseg++] = c.snap->base;
    if (c.snap->delta) c.segs[c.nseg++] = c.snap->delta;
    SEARCH_GROW(c.w->heap, c.w->heap_cap, c.k + 1);
    c.w->heap1 = search_xrealloc(c.w->heap1, c.w->heap_cap * sizeof(struct hitref));
    c.w->heap2 = search_xrealloc(c.w->heap2, c.w->heap_cap * sizeof(struct hitref));

    bool any = blank || prepare(&c, text);
    if (!blank && c.ncl == 0)
        any = false; /* text without words (emoji, punctuation): matches nothing */
    if (any)
        for (unsigned s = 0; s < c.nseg; s++)
            eval_segment(&c, s);

    /* The page. */
    if (c.nheap > 1) qsort_r(c.w->heap, c.nheap, sizeof(struct hitref), cmp_hit, &c);
    res->total = (uint64_t)(c.total + 0.5);
    res->total_exact = c.total_exact;
    res->facets_exact = c.facets_exact;
    res->ranking_exact = c.ranking_exact;
    uint32_t nh = c.nheap > offset ? c.nheap - offset : 0;
    res->hits = arena_alloc(res, (nh ? nh : 1) * sizeof(struct search_hit));
    for (uint32_t i = 0; i < nh; i++) { /* 20 random reads each: overlap them */
        const struct hitref *h = &c.w->heap[offset + i];
        const struct search_seg *s = c.segs[h->seg];
        __builtin_prefetch(&s->merchant[h->doc]);
        __builtin_prefetch(&s->created[h->doc]);
        __builtin_prefetch(&s->title_off[h->doc]);
        __builtin_prefetch(&s->hot[h->doc]);
        __builtin_prefetch(&s->price[h->doc]);
    }
    for (uint32_t i = 0; i < nh; i++) {
        const struct hitref *h = &c.w->heap[offset + i];
        const struct search_seg *s = c.segs[h->seg];
        struct search_hit *o = &res->hits[i];
        const char *title = s->titles + s->title_off[h->doc];
        size_t tl = s->title_off[h->doc + 1] - s->title_off[h->doc] - 1;
        char *t = arena_alloc(res, tl + 1);
        memcpy(t, title, tl + 1);
        uint32_t path = s->hot[h->doc].path;
        o->id = h->id;
        o->score = h->score;
        o->title = t;
        o->highlight = (q->flags & SEARCH_NO_HIGHLIGHT) ? NULL : highlight(&c, res, t);
        o->category_id = s->path_ids[s->path_off[path + 1] - 1];
        o->merchant_id = s->merchant[h->doc];
        o->merchant_kind = s->hot[h->doc].kind;
        o->price = s->price[h->doc];
        memcpy(o->currency, s->curs[s->hot[h->doc].cur], 4);
        o->currency[3] = 0;
        o->created_at = s->created[h->doc];
    }
    res->n_hits = nh;
    if (c.after > (double)offset + limit + 0.5 && nh > 0) {
        const struct hitref *h = &c.w->heap[offset + nh - 1];
        cursor_encode(res->next_cursor, c.sort, h->k, h->id);
    }

    if (c.facets) {
        top_categories(&c, res, q->max_categories ? q->max_categories : SEARCH_FACET_CATEGORIES);
        for (int k = 0; k < SEARCH_KINDS; k++) {
            uint32_t n = (uint32_t)(c.kindcnt[k] + 0.5);
            if (n) {
                res->kinds[res->n_kinds].value = k;
                res->kinds[res->n_kinds++].count = n;
            }
        }
        if (res->n_kinds > 1) qsort(res->kinds, res->n_kinds, sizeof(res->kinds[0]), cmp_facet);
        for (uint32_t b = 0; b <= c.nbounds; b++) {
            res->prices[b].min = b == 0 ? INT64_MIN : c.bounds[b - 1];
            res->prices[b].max = b == c.nbounds ? INT64_MAX : c.bounds[b];
            res->prices[b].count = (uint32_t)(c.pricecnt[b] + 0.5);
        }
        res->n_prices = c.nbounds + 1;
    }
    free(c.cats);
    snap_unref(c.snap);
    worker_put(idx, c.w);
    return SEARCH_OK;
}
