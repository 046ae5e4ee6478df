#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/market.h"
#include "core/programs.h"
#include "discovery/disco.h"
#include "discovery/search.h"
#include "util/log.h"

static struct {
    struct search_index *search;
    struct reco *reco;
    struct trending *trend;
    struct fair_table table;
    struct fair_ledger *ledger;
    pthread_t tid;
    volatile int stop;
    int running;
} D;

static const char *event_names[DE__COUNT] = {"view", "click", "cart", "purchase", "search"};

int disco_event_parse(const char *s)
{
    for (int i = 0; s && i < DE__COUNT; i++)
        if (strcmp(s, event_names[i]) == 0) return i;
    return -1;
}

const char *disco_event_name(int e)
{
    return e >= 0 && e < DE__COUNT ? event_names[e] : "unknown";
}

struct reco *disco_reco(void)
{
    return D.reco;
}
struct search_index *disco_search(void)
{
    return D.search;
}

/* ---- the search index: products as search sees them ---- */

struct docbuf {
    char *attrs;
    size_t len, cap;
    int64_t anc[SEARCH_MAX_PATH];
};

static void attrs_add(struct docbuf *b, const char *k, json_t *v)
{
    char tmp[512];
    int n;
    if (json_is_string(v))
        n = snprintf(tmp, sizeof tmp, "%s: %s; ", k, json_string_value(v));
    else if (json_is_integer(v))
        n = snprintf(tmp, sizeof tmp, "%s: %lld; ", k, (long long)json_integer_value(v));
    else
        return;
    if (n <= 0) return;
    if ((size_t)n >= sizeof tmp) n = sizeof tmp - 1;
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->attrs = xrealloc(b->attrs, b->cap);
    }
    memcpy(b->attrs + b->len, tmp, (size_t)n);
    b->len += (size_t)n;
    b->attrs[b->len] = 0;
}

/* Fill doc from p (lock held); strings point into p and b. */
static void product_doc(const struct product *p, struct search_doc *doc, struct docbuf *b)
{
    memset(doc, 0, sizeof *doc);
    b->len = 0;
    if (b->attrs) b->attrs[0] = 0;
    const char *k;
    json_t *v;
    json_object_foreach(p->attributes, k, v) attrs_add(b, k, v);
    int64_t price = INT64_MAX;
    const char *cur = "";
    for (size_t i = 0; i < p->skus.n; i++) {
        const struct sku *s = p->skus.v[i];
        json_object_foreach(s->attrs, k, v) attrs_add(b, k, v);
        if (s->price < price) {
            price = s->price;
            cur = s->currency;
        }
    }
    /* Ancestors only: the index adds the product's own category itself. */
    uint32_t na = 0;
    const struct category *own = category_get(p->category_id);
    for (const struct category *c = own ? own->parent : NULL; c && na < SEARCH_MAX_PATH;
         c = c->parent)
        b->anc[na++] = c->id;
    for (uint32_t i = 0; i < na / 2; i++) { /* root first, as search.h wants */
        int64_t x = b->anc[i];
        b->anc[i] = b->anc[na - 1 - i];
        b->anc[na - 1 - i] = x;
    }
    doc->id = p->id;
    doc->title = p->title;
    doc->attributes = b->attrs ? b->attrs : "";
    doc->description = p->description;
    doc->category_id = p->category_id;
    doc->category_ancestors = b->anc;
    doc->n_category_ancestors = na;
    doc->merchant_id = p->m->id;
    doc->merchant_kind = (uint8_t)p->m->kind;
    doc->price = price == INT64_MAX ? 0 : price;
    snprintf(doc->currency, sizeof doc->currency, "%s", cur);
    doc->created_at = p->created_at;
    doc->active = market_product_public(p);
}

static void on_product_changed(struct product *p)
{
    static __thread struct docbuf b;
    struct search_doc doc;
    product_doc(p, &doc, &b);
    search_index_upsert(D.search, &doc);
}

struct load_ctx {
    size_t i;
    struct docbuf b;
};

static bool load_next(void *arg, struct search_doc *doc)
{
    struct load_ctx *c = arg;
    if (c->i >= S.product_list.n) return false;
    product_doc(S.product_list.v[c->i++], doc, &c->b);
    return true;
}
struct trending *disco_trending(void)
{
    return D.trend;
}
struct fair_ledger *disco_ledger(void)
{
    return D.ledger;
}

void disco_record(int64_t user, enum disco_event kind, int64_t product, const char *query,
                  int64_t now)
{
    static const enum reco_event map[DE__COUNT] = {RECO_VIEW, RECO_CLICK, RECO_CART, RECO_PURCHASE,
                                                   RECO_VIEW};
    if (kind == DE_SEARCH) {
        if (query && *query) trending_add_query(D.trend, query, strlen(query), now);
        return;
    }
    if (!product) return;
    reco_add(D.reco, user, product, map[kind], 1.0f, now);
    trending_add_product(D.trend, product, 1, now);
}

/* market's hook: a paid order is a purchase of each of its products. */
static void on_paid(const struct order *o, int64_t now)
{
    for (int i = 0; i < o->nlines; i++) {
        reco_add(D.reco, o->user_id, o->lines[i].product_id, RECO_PURCHASE, 1.0f, o->created_at);
        trending_add_product(D.trend, o->lines[i].product_id, 1, now);
    }
}

void disco_candidate(struct fair_candidate *c, const struct product *p, double rel, int64_t now)
{
    const struct merchant *m = p->m;
    c->product = p->id;
    c->merchant = m->id;
    c->relevance = rel;
    c->boost = programs_boost_pm(m->id, now) / 1000.0;
    c->group =
        fair_group_of(&fair_default_rule, m->products.n, S.product_list.n, m->created_at, now);
}

size_t disco_rank(enum fair_kind kind, struct fair_candidate *cands, size_t n, size_t k,
                  struct fair_candidate *out, int64_t now)
{
    return fair_rank(&D.table, D.ledger, kind, cands, n, k, out, now);
}

void disco_account(enum fair_kind kind, const struct fair_candidate *shown, size_t n, int64_t now)
{
    fair_record(D.ledger, kind, shown, n, now); /* registers merchants it has not seen */
}

size_t disco_feed(struct reco *r, int64_t user, size_t limit, struct reco_item *out, size_t cap)
{
    size_t want = fair_depth(&fair_default_params, limit);
    size_t n = reco_feed(r, user, want < cap ? want : cap, 1, out);
    /* Personal items come first, best first; the fill after them
     * (trending, new merchants, popular) carries scores of other scales.
     * Keep the fill's order but score it below every personal item: the
     * re-ranker orders by score. */
    size_t np = 0;
    float low = 1;
    while (np < n && (out[np].reason == RECO_BECAUSE_YOU_BOUGHT ||
                      out[np].reason == RECO_BECAUSE_YOU_VIEWED)) {
        if (out[np].score > 0 && out[np].score < low) low = out[np].score;
        np++;
    }
    for (size_t i = np; i < n; i++)
        out[i].score = low / 2 / (float)(1 + i - np);
    return n;
}

/* Cold start: what is trending now, then the newest products of merchants
 * that joined in the last 30 days. Lock held. */
static void refresh_fallback(int64_t now)
{
    struct trending_item top[20];
    size_t nt = trending_top(D.trend, TRENDING_PRODUCT, now, 20, top);
    struct reco_item fb[60];
    size_t n = 0;
    for (size_t i = 0; i < nt && n < 20; i++) {
        const struct product *p = product_get(top[i].product);
        if (!p || !market_product_public(p)) continue;
        fb[n++] = (struct reco_item){p->id, (float)top[i].score, RECO_TRENDING, 0};
    }
    /* The newest 5,000 products at most: this runs under the state lock. */
    size_t floor = S.product_list.n > 5000 ? S.product_list.n - 5000 : 0;
    for (size_t i = S.product_list.n; i > floor && n < 60; i--) {
        const struct product *p = S.product_list.v[i - 1];
        if (!market_product_public(p) || now - p->m->created_at > 30LL * 86400 * 1000) continue;
        fb[n++] = (struct reco_item){p->id, 0.5f, RECO_NEW_MERCHANT, 0};
    }
    reco_set_fallback(D.reco, fb, n);
}

static void *disco_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "souk-disco");
    int64_t last_train = 0, last_fb = 0;
    while (!D.stop) {
        usleep(200 * 1000);
        int64_t now = now_ms();
        if (now - last_fb >= 10000) {
            state_lock();
            refresh_fallback(now);
            state_unlock();
            last_fb = now;
        }
        /* Retrain every 30 s (a few hundred ms on the whole retail history):
         * a purchase shapes "similar" and the feed within a minute. */
        if (now - last_train >= 30000) {
            reco_train(D.reco);
            last_train = now_ms();
        }
    }
    return NULL;
}

static int row_event(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    char kind[16] = {0};
    if (c[3].type == SV_TEXT) memcpy(kind, c[3].s, c[3].len < 15 ? c[3].len : 15);
    int k = disco_event_parse(kind);
    if (k < 0) return 0;
    int64_t user = c[1].type == SV_INT ? c[1].i : (c[2].type == SV_INT ? c[2].i : 0);
    char q[256] = {0};
    if (c[5].type == SV_TEXT) memcpy(q, c[5].s, c[5].len < 255 ? c[5].len : 255);
    disco_record(user, (enum disco_event)k, c[4].type == SV_INT ? c[4].i : 0, q, c[6].i);
    return 0;
}

int disco_load(const struct store_ops *ops, struct store *st)
{
    D.reco = reco_new(NULL);
    D.trend = trending_new(NULL);
    fair_table_init(&D.table, &fair_default_params, 100);
    D.ledger = fair_ledger_new(3600 * 1000, 24 * 90, 0);
    market_paid_hook = on_paid;
    return ops->scan(st, SQ_EVENTS, row_event, NULL);
}

void disco_start(void)
{
    int64_t now = now_ms();
    state_lock();
    /* The index is rebuilt from the catalog at every start (~1 s per 100k
     * products here); afterwards every catalog change is upserted. */
    struct load_ctx lc = {0};
    D.search = search_index_new(NULL);
    search_index_load(D.search, load_next, &lc, 2);
    free(lc.b.attrs);
    product_changed_hook = on_product_changed;
    /* The history: every paid order is a purchase at its own time. */
    size_t n = 0;
    for (size_t i = 0; i < S.order_list.n; i++) {
        const struct order *o = S.order_list.v[i];
        if (o->status != OS_PAID && o->status != OS_SHIPPED && o->status != OS_DELIVERED &&
            o->status != OS_COMPLETED)
            continue;
        for (int l = 0; l < o->nlines; l++)
            reco_add(D.reco, o->user_id, o->lines[l].product_id, RECO_PURCHASE, 1.0f,
                     o->created_at);
        n++;
    }
    for (size_t i = 0; i < S.merchant_list.n; i++) {
        const struct merchant *m = S.merchant_list.v[i];
        fair_ledger_set_merchant(
            D.ledger, m->id,
            fair_group_of(&fair_default_rule, m->products.n, S.product_list.n, m->created_at, now));
    }
    state_unlock();
    log_info("discovery: %zu past orders fed to the recommender", n);
    D.stop = 0;
    D.running = 1;
    pthread_create(&D.tid, NULL, disco_main, NULL);
}

void disco_stop(void)
{
    if (!D.running) return;
    D.stop = 1;
    pthread_join(D.tid, NULL);
    D.running = 0;
    state_lock();
    product_changed_hook = NULL;
    state_unlock();
    search_index_free(D.search);
    D.search = NULL;
}
