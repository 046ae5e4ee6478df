/* discovery.c — behaviour events, the personal feed, similar items,
 * trending and the exposure report. Every ranked list goes through
 * disco_rank (fair re-ranking + exposure accounting). */
#include <string.h>
#include <xxhash.h>
#include "api/api.h"
#include "api/handlers.h"
#include "core/market.h"
#include "discovery/disco.h"
#include "discovery/search.h"
#include "domain/err.h"
#include "util/id.h"
#include "util/jsonx.h"
#include "util/log.h"

#define SET(o, k, v) json_object_set_new((o), (k), (v))
#define MAX_LIST     100

/* Anonymous sessions are keyed by a client-chosen session string, mapped to
 * a negative id so they never meet a user id. */
static int64_t session_key(const char *s)
{
    return -(int64_t)(XXH3_64bits(s, strlen(s)) >> 2) - 1;
}

void h_event_create(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_user(r);
    struct fields f = {0};
    const char *kind = field_str(b, "kind", 1, 1, 20, &f);
    int k = kind ? disco_event_parse(kind) : 0;
    if (kind && k < 0) field_err(&f, "kind", "must be view, click, cart, purchase or search");
    int64_t pid = field_id(b, "product_id", 0, &f);
    const struct product *p = pid ? product_get(pid) : NULL;
    if (pid && (!p || !market_product_public(p))) field_err(&f, "product_id", "no such product");
    const char *q = field_str(b, "query", 0, 1, 200, &f);
    const char *session = field_str(b, "session", 0, 8, 64, &f);
    if (k >= 0 && kind && k != DE_SEARCH && !pid)
        field_err(&f, "product_id", "is required for this kind");
    if (k == DE_SEARCH && !q) field_err(&f, "query", "is required for a search event");
    if (!u && !session) field_err(&f, "session", "anonymous events need a session id (8-64 chars)");
    if (api_fields_fail(r, &f)) goto out;
    int64_t who = u ? u->id : session_key(session), now = now_ms();
    /* A purchase claimed by a client is only a signal; orders are the truth. */
    disco_record(who, (enum disco_event)k, pid, q, now);
    struct wtx *t = wtx_new();
    wtx_stmt(t, ST_EVENT_PUT);
    wtx_int(t, id_next());
    wtx_int_or_null(t, u ? u->id : 0);
    if (u)
        wtx_null(t);
    else
        wtx_int(t, who);
    wtx_text(t, kind);
    wtx_int_or_null(t, pid);
    wtx_text(t, q);
    wtx_int(t, now);
    api_commit(r, t, 202, jpack("{sb}", "accepted", 1));
out:
    state_unlock();
    json_decref(b);
}

static const char *reason_kind(int r)
{
    static const char *names[] = {
        "bought_with",  "viewed_with", "because_you_bought", "because_you_viewed", "trending",
        "new_merchant", "popular"};
    return r >= 0 && r < RECO_REASON_COUNT ? names[r] : "popular";
}

/* The reason's words (anchor: the product it points back to). Lock held. */
static void reason_text(int reason, int64_t anchor, char *text, size_t size)
{
    static const char *const words[RECO_REASON_COUNT] = {
        [RECO_BOUGHT_WITH] = "often bought together",
        [RECO_VIEWED_WITH] = "shoppers who viewed this also viewed",
        [RECO_BECAUSE_YOU_BOUGHT] = "because you bought",
        [RECO_BECAUSE_YOU_VIEWED] = "because you looked at",
        [RECO_TRENDING] = "trending",
        [RECO_NEW_MERCHANT] = "new merchant",
        [RECO_POPULAR] = "popular"};
    const char *w = reason >= 0 && reason < RECO_REASON_COUNT ? words[reason] : "popular";
    if (reason == RECO_BECAUSE_YOU_BOUGHT || reason == RECO_BECAUSE_YOU_VIEWED) {
        const struct product *a = anchor ? product_get(anchor) : NULL;
        snprintf(text, size, "%s %s", w, a ? a->title : "something similar");
    } else {
        snprintf(text, size, "%s", w);
    }
}

/* A listed product and why, copied out of state so that the answer is built
 * and sent after the state lock is released. Under the lock a list costs
 * only these copies: building and sending ~20 JSON objects there, with two
 * loop threads, held the lock most of the time and (glibc mutexes are not
 * fair) left one thread waiting up to ~180 ms (similar/feed p99 ~25 ms at 16
 * connections, against ~4 ms with one thread). Strings are offsets into the
 * thread's arena (it may move while it grows). */
struct listed {
    int64_t product, merchant, category, price, anchor;
    enum merchant_kind mkind;
    int reason; /* a RECO_* value, or -1: none */
    size_t title, currency, mname, why;
};

static __thread char *arena;
static __thread size_t arena_len, arena_cap;

static size_t arena_put(const char *str)
{
    size_t n = strlen(str) + 1;
    if (arena_len + n > arena_cap) {
        arena_cap = (arena_len + n) * 2 + 4096;
        arena = xrealloc(arena, arena_cap);
    }
    memcpy(arena + arena_len, str, n);
    arena_len += n;
    return arena_len - n;
}

/* Copies what a list shows of p. Lock held. */
static void listed_take(struct listed *l, const struct product *p, int reason, int64_t anchor)
{
    const struct sku *k = p->skus.n ? p->skus.v[0] : NULL;
    l->product = p->id;
    l->merchant = p->m->id;
    l->category = p->category_id;
    l->price = k ? k->price : 0;
    l->mkind = p->m->kind;
    l->reason = reason;
    l->anchor = anchor;
    l->title = arena_put(p->title);
    l->currency = arena_put(k ? k->currency : "");
    l->mname = arena_put(p->m->name);
    if (reason >= 0) {
        char text[300];
        reason_text(reason, anchor, text, sizeof text);
        l->why = arena_put(text);
    }
}

/* A product as lists show it; no lock needed. */
static json_t *listed_json(const struct listed *l, double score)
{
    json_t *j = json_object();
    SET(j, "product_id", json_id(l->product));
    SET(j, "title", json_string(arena + l->title));
    SET(j, "price", json_integer(l->price));
    SET(j, "currency", json_string(arena + l->currency));
    SET(j, "merchant_id", json_id(l->merchant));
    SET(j, "merchant_name", json_string(arena + l->mname));
    SET(j, "merchant_kind", json_string(merchant_kind_name(l->mkind)));
    SET(j, "category_id", json_id(l->category));
    SET(j, "score", json_real(score));
    if (l->reason >= 0) {
        json_t *w = json_object();
        SET(w, "kind", json_string(reason_kind(l->reason)));
        SET(w, "text", json_string(arena + l->why));
        SET(w, "anchor_product_id", json_id(l->anchor));
        SET(j, "reason", w);
    }
    return j;
}

static int list_limit(struct http_req *r, int *limit)
{
    *limit = 20;
    const char *l = http_query(r, "limit");
    if (!l) return 0;
    int64_t v = id_parse(l, strlen(l));
    if (v < 1 || v > MAX_LIST) {
        struct fields f = {0};
        field_err(&f, "limit", "must be an integer from 1 to 100");
        return api_fields_fail(r, &f);
    }
    *limit = (int)v;
    return 0;
}

/* Rank reco items fairly and answer {items: [...]}. Takes the state lock
 * twice, briefly: to read the candidates, then to copy the ranked ones. The
 * ranking (its ledger has a lock of its own) and the reply run outside it. */
static void reply_ranked(struct http_req *r, enum fair_kind kind, const struct reco_item *ri,
                         size_t n, int limit, int64_t exclude)
{
    static __thread struct fair_candidate cands[4 * MAX_LIST], out[MAX_LIST];
    static __thread struct reco_item why[4 * MAX_LIST];
    static __thread struct listed shown[MAX_LIST];
    int64_t now = now_ms();
    size_t nc = 0;
    state_lock();
    for (size_t i = 0; i < n && nc < 4 * MAX_LIST; i++) {
        const struct product *p = product_get(ri[i].product);
        if (!p || !market_product_public(p) || p->id == exclude) continue;
        disco_candidate(&cands[nc], p, ri[i].score > 0 ? ri[i].score : 1e-6, now);
        why[nc++] = ri[i];
    }
    state_unlock();
    size_t got = disco_rank(kind, cands, nc, (size_t)limit, out, now);
    size_t ns = 0;
    double score[MAX_LIST];
    arena_len = 0;
    state_lock();
    for (size_t i = 0; i < got; i++) {
        const struct product *p = product_get(out[i].product);
        if (!p || !market_product_public(p)) continue; /* gone since it was ranked */
        int reason = -1;
        int64_t anchor = 0;
        for (size_t w = 0; w < nc; w++)
            if (why[w].product == out[i].product) {
                reason = why[w].reason;
                anchor = why[w].anchor;
                break;
            }
        score[ns] = out[i].relevance;
        listed_take(&shown[ns++], p, reason, anchor);
    }
    state_unlock();
    json_t *items = json_array();
    for (size_t i = 0; i < ns; i++)
        json_array_append_new(items, listed_json(&shown[i], score[i]));
    api_reply(r, 200, jpack("{so}", "items", items));
}

void h_feed(struct http_req *r)
{
    int limit;
    if (list_limit(r, &limit)) return;
    static __thread struct reco_item ri[4 * MAX_LIST];
    state_lock();
    struct user *u = api_user(r);
    const char *session = http_query(r, "session");
    int64_t who = u ? u->id : (session && *session ? session_key(session) : 0);
    state_unlock();
    /* The recommender locks for itself: its ~0.1 ms stays out of the state
     * lock, which every other request needs. */
    size_t n = disco_feed(disco_reco(), who, (size_t)limit, ri, 4 * MAX_LIST);
    reply_ranked(r, FAIR_FEED, ri, n, limit, 0);
}

void h_similar(struct http_req *r)
{
    int limit;
    if (list_limit(r, &limit)) return;
    static __thread struct reco_item ri[4 * MAX_LIST];
    state_lock();
    struct user *u = api_user(r);
    struct product *p = product_get(api_param_id(r, 0));
    int visible =
        p && (market_product_public(p) || api_is_operator(u) || user_is_member(u, p->m, 0));
    int64_t pid = visible ? p->id : 0;
    state_unlock();
    if (!visible) {
        api_fail(r, ERR_NOT_FOUND, "no such product");
        return;
    }
    /* As in h_feed: the recommender's part runs outside the state lock. */
    size_t n = reco_similar(disco_reco(), pid,
                            (size_t)(limit * 3 < 4 * MAX_LIST ? limit * 3 : 4 * MAX_LIST), ri);
    reply_ranked(r, FAIR_SIMILAR, ri, n, limit, pid);
}

void h_trending(struct http_req *r)
{
    int limit;
    if (list_limit(r, &limit)) return;
    static __thread struct trending_item top[MAX_LIST * 2];
    int64_t now = now_ms();
    size_t np = trending_top(disco_trending(), TRENDING_PRODUCT, now, (size_t)limit * 2, top);
    static __thread struct listed shown[MAX_LIST];
    size_t at[MAX_LIST], ns = 0;
    arena_len = 0;
    state_lock();
    for (size_t i = 0; i < np && (int)ns < limit; i++) {
        const struct product *p = product_get(top[i].product);
        if (!p || !market_product_public(p)) continue;
        at[ns] = i;
        listed_take(&shown[ns++], p, RECO_TRENDING, 0);
    }
    state_unlock();
    json_t *products = json_array();
    for (size_t i = 0; i < ns; i++) {
        const struct trending_item *t = &top[at[i]];
        json_t *j = listed_json(&shown[i], t->score);
        SET(j, "last_hour", json_integer(t->last_hour));
        SET(j, "usual_hour", json_real(t->usual_hour));
        json_array_append_new(products, j);
    }
    size_t nq = trending_top(disco_trending(), TRENDING_QUERY, now, (size_t)limit, top);
    json_t *queries = json_array();
    for (size_t i = 0; i < nq; i++)
        json_array_append_new(queries, jpack("{sssfsisf}", "query", top[i].query, "score",
                                             top[i].score, "last_hour", (int)top[i].last_hour,
                                             "usual_hour", top[i].usual_hour));
    api_reply(r, 200, jpack("{soso}", "products", products, "queries", queries));
}

void h_admin_exposure(struct http_req *r)
{
    struct fields f = {0};
    const char *from_s = http_query(r, "from"), *to_s = http_query(r, "to");
    int64_t to = now_ms() + 1, from = to - 24LL * 3600 * 1000;
    if (from_s && time_parse(from_s, &from)) field_err(&f, "from", "must be an RFC 3339 time");
    if (to_s && time_parse(to_s, &to)) field_err(&f, "to", "must be an RFC 3339 time");
    if (!f.errors && to <= from) field_err(&f, "to", "must be after from");
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    if (!api_is_operator(u)) {
        api_fail(r, ERR_FORBIDDEN, "only operators read the exposure report");
        goto out;
    }
    if (api_fields_fail(r, &f)) goto out;
    struct fair_report rep;
    if (fair_report(disco_ledger(), from, to, &rep) != 0) {
        api_fail(r, ERR_INTERNAL, "the exposure report failed");
        goto out;
    }
    static const char *lists[FAIR_KIND_COUNT] = {"search", "feed", "similar"};
    json_t *by_list = json_object();
    for (int k = 0; k < FAIR_KIND_COUNT; k++)
        SET(by_list, lists[k],
            jpack("{sIsfsf}", "impressions", (json_int_t)rep.impressions[k], "exposure",
                  rep.exposure[k], "gini", rep.gini_by_kind[k]));
    double kind_exp[MK__COUNT] = {0};
    uint64_t kind_imp[MK__COUNT] = {0};
    json_t *merchants = json_array();
    double small = 0, total = 0;
    for (size_t i = 0; i < rep.nmerchants; i++) {
        const struct fair_merchant_exposure *e = &rep.merchants[i];
        const struct merchant *m = merchant_get(e->merchant);
        if (m) {
            kind_exp[m->kind] += e->total_exposure;
            kind_imp[m->kind] += e->total_impressions;
        }
        total += e->total_exposure;
        if (e->group) small += e->total_exposure;
        if (json_array_size(merchants) < 200) {
            json_t *j = json_object();
            SET(j, "merchant_id", json_id(e->merchant));
            SET(j, "name", m ? json_string(m->name) : json_null());
            SET(j, "kind", m ? json_string(merchant_kind_name(m->kind)) : json_null());
            SET(j, "small_or_new", json_boolean(e->group != 0));
            SET(j, "impressions", json_integer((json_int_t)e->total_impressions));
            SET(j, "exposure", json_real(e->total_exposure));
            json_array_append_new(merchants, j);
        }
    }
    json_t *by_kind = json_object();
    for (int k = 0; k < MK__COUNT; k++)
        SET(by_kind, merchant_kind_name(k),
            jpack("{sIsf}", "impressions", (json_int_t)kind_imp[k], "exposure", kind_exp[k]));
    json_t *j = json_object();
    SET(j, "from", json_time(rep.from_ms));
    SET(j, "to", json_time(rep.to_ms));
    SET(j, "gini", json_real(rep.gini));
    SET(j, "small_merchant_share", json_real(total > 0 ? small / total : 0));
    SET(j, "by_list", by_list);
    SET(j, "by_kind", by_kind);
    SET(j, "merchants", merchants);
    fair_report_release(&rep);
    api_reply(r, 200, j);
out:
    state_unlock();
}

/* Price facet buckets (minor units): a shopper's sense of cheap to dear. */
static const int64_t price_bounds[] = {1000, 5000, 10000, 50000, 100000, 500000};

void h_search(struct http_req *r)
{
    struct search_query q;
    memset(&q, 0, sizeof q);
    struct fields f = {0};
    q.q = http_query(r, "q");
    const char *v;
    if ((v = http_query(r, "category_id")) && !(q.category_id = id_parse(v, strlen(v))))
        field_err(&f, "category_id", "must be an id");
    if ((v = http_query(r, "merchant_kind"))) {
        /* one kind, or several separated by commas */
        char buf[256];
        snprintf(buf, sizeof buf, "%s", v);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            int k = merchant_kind_parse(tok);
            if (k < 0) {
                field_err(&f, "merchant_kind", "is not a merchant kind");
                break;
            }
            q.merchant_kinds |= 1u << k;
        }
        if (!q.merchant_kinds && !f.errors)
            field_err(&f, "merchant_kind", "is not a merchant kind");
    }
    static const char *bounds[2] = {"price_min", "price_max"};
    for (int i = 0; i < 2; i++) {
        if (!(v = http_query(r, bounds[i]))) continue;
        char *end;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || x < 0 || x > 1000000000000LL) {
            field_err(&f, bounds[i], "must be an integer amount in minor units, 0 or more");
            continue;
        }
        if (i == 0)
            q.has_price_min = 1, q.price_min = x;
        else
            q.has_price_max = 1, q.price_max = x;
    }
    if (q.has_price_min && q.has_price_max && q.price_min > q.price_max)
        field_err(&f, "price_max", "must not be below price_min");
    if ((v = http_query(r, "sort"))) {
        int so = search_sort_parse(v);
        if (so < 0)
            field_err(&f, "sort", "must be relevance, price_asc, price_desc or newest");
        else
            q.sort = (enum search_sort)so;
    }
    q.limit = 20;
    if ((v = http_query(r, "limit"))) {
        int64_t l = id_parse(v, strlen(v));
        if (l < 1 || l > 100)
            field_err(&f, "limit", "must be an integer from 1 to 100");
        else
            q.limit = (uint32_t)l;
    }
    if ((v = http_query(r, "cursor")) && *v) {
        if (strlen(v) >= SEARCH_CURSOR_MAX)
            field_err(&f, "cursor", "is not a cursor from a previous page");
        else
            q.cursor = v;
    }
    if ((v = http_query(r, "currency"))) q.currency = v;
    q.price_bounds = price_bounds;
    q.n_price_bounds = sizeof price_bounds / sizeof price_bounds[0];
    if (api_fields_fail(r, &f)) return;

    struct search_result res;
    int rc = search_index_query(disco_search(), &q, &res);
    if (rc != SEARCH_OK) {
        search_result_release(&res);
        field_err(&f, "cursor", "is not a cursor from a previous page");
        api_fields_fail(r, &f);
        return;
    }
    int64_t now = now_ms();
    /* Relevance pages go through the fair re-ranking step; the page's set of
     * hits (and so the cursor) stays the same, only its order changes. A
     * price or date sort is the shopper's own order and is kept. */
    static __thread struct fair_candidate cands[SEARCH_MAX_LIMIT], out[SEARCH_MAX_LIMIT];
    /* Per candidate: its hit, and its merchant's name (arena) and kind. As
     * in reply_ranked, only these copies are made under the state lock. */
    static __thread size_t hit_of[SEARCH_MAX_LIMIT], mname[SEARCH_MAX_LIMIT];
    static __thread enum merchant_kind mkind[SEARCH_MAX_LIMIT];
    static __thread size_t cat_name[SEARCH_MAX_LIMIT]; /* facets: the default 50 asked */
    size_t n = res.n_hits;
    arena_len = 0;
    state_lock();
    int relevance = q.sort == SEARCH_SORT_RELEVANCE && q.q && *q.q;
    size_t nc = 0;
    for (size_t i = 0; i < n && nc < SEARCH_MAX_LIMIT; i++) {
        const struct product *p = product_get(res.hits[i].id);
        if (!p) continue;
        hit_of[nc] = i;
        mname[nc] = arena_put(p->m->name);
        mkind[nc] = p->m->kind;
        disco_candidate(&cands[nc++], p, res.hits[i].score > 0 ? res.hits[i].score : 1e-6, now);
    }
    uint32_t ncat = res.n_categories < SEARCH_MAX_LIMIT ? res.n_categories : SEARCH_MAX_LIMIT;
    for (uint32_t i = 0; i < ncat; i++) {
        const struct category *c = category_get(res.categories[i].value);
        cat_name[i] = c ? arena_put(c->name) : SIZE_MAX;
    }
    state_unlock();
    size_t got = nc;
    if (relevance)
        got = disco_rank(FAIR_SEARCH, cands, nc, nc, out, now);
    else
        memcpy(out, cands, nc * sizeof *cands), disco_account(FAIR_SEARCH, out, nc, now);
    json_t *items = json_array();
    for (size_t i = 0; i < got; i++) {
        size_t c = 0;
        while (c < nc && cands[c].product != out[i].product)
            c++;
        if (c == nc) continue; /* not a candidate: cannot happen */
        const struct search_hit *h = &res.hits[hit_of[c]];
        json_t *j = json_object();
        SET(j, "product_id", json_id(h->id));
        SET(j, "title", json_string(h->title));
        SET(j, "price", json_integer(h->price));
        SET(j, "currency", json_string(h->currency));
        SET(j, "merchant_id", json_id(h->merchant_id));
        SET(j, "merchant_name", json_string(arena + mname[c]));
        SET(j, "merchant_kind", json_string(merchant_kind_name(mkind[c])));
        SET(j, "category_id", json_id(h->category_id));
        SET(j, "score", json_real(h->score));
        SET(j, "highlight", h->highlight ? json_string(h->highlight) : json_string(h->title));
        json_array_append_new(items, j);
    }
    json_t *cats = json_array();
    for (uint32_t i = 0; i < ncat; i++)
        json_array_append_new(
            cats, jpack("{sososI}", "id", json_id(res.categories[i].value), "name",
                        cat_name[i] != SIZE_MAX ? json_string(arena + cat_name[i]) : json_null(),
                        "count", (json_int_t)res.categories[i].count));
    json_t *kinds = json_array();
    for (uint32_t i = 0; i < res.n_kinds; i++)
        json_array_append_new(kinds,
                              jpack("{sssI}", "kind", merchant_kind_name((int)res.kinds[i].value),
                                    "count", (json_int_t)res.kinds[i].count));
    json_t *prices = json_array();
    for (uint32_t i = 0; i < res.n_prices; i++) {
        json_t *b = json_object();
        SET(b, "min",
            res.prices[i].min == INT64_MIN ? json_null() : json_integer(res.prices[i].min));
        SET(b, "max",
            res.prices[i].max == INT64_MAX ? json_null() : json_integer(res.prices[i].max));
        SET(b, "count", json_integer(res.prices[i].count));
        json_array_append_new(prices, b);
    }
    json_t *ans = json_object();
    SET(ans, "items", items);
    SET(ans, "facets",
        jpack("{sososo}", "category", cats, "merchant_kind", kinds, "price", prices));
    SET(ans, "total", json_integer((json_int_t)res.total));
    SET(ans, "total_exact", json_boolean(res.total_exact));
    SET(ans, "next_cursor", res.next_cursor[0] ? json_string(res.next_cursor) : json_null());
    search_result_release(&res);
    /* Searches feed trending queries (first pages only: paging is not interest). */
    if (q.q && *q.q && !q.cursor) disco_record(0, DE_SEARCH, 0, q.q, now);
    api_reply(r, 200, ans);
}
