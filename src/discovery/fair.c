/*
 * fair — two-tier fair re-ranking (FA*IR on the first screen, discovery
 * slots for owed merchants after it) and the exposure ledger. The design
 * and parameters are explained in fair.h.
 */
#include "discovery/fair.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/map.h"

const char *const fair_kind_names[FAIR_KIND_COUNT] = {"search", "feed", "similar"};

/* Chosen on the Online Retail replay (bench/eval_discovery.c; its sweep of
 * each parameter is in bench/RESULTS.md). p 0.6 / alpha 0.1: the largest p
 * whose NDCG@10 cost stays well under the 2% budget (0.7 costs 2.2%).
 * top 10: the first screen, where NDCG@10 is measured. slots 1 and
 * owed_share 1.5 trade recall@20 for Gini: slots 0.8 or owed_share 3 cut
 * the Gini by less than 30%; owed_share 1 cuts 44% for 20% of recall@20,
 * 1.5 cuts 37% for 15%, 2 cuts 33% for 12%; 1.5 keeps a margin over the
 * 30% target. depth 200: the cut grows with the candidates up to ~150 and
 * is flat from there (300-500 gave the same in exploration). */
const struct fair_params fair_default_params = {.p = 0.6,
                                                .alpha = 0.1,
                                                .max_boost = 1.5,
                                                .top = 10,
                                                .slots = 1,
                                                .owed_share = 1.5,
                                                .depth = 200};

const struct fair_group_rule fair_default_rule = {.small_share = 0.005,
                                                  .new_ms = 30LL * 24 * 3600 * 1000};

#define FAIR_TABLE_MAX 1024
#define WEEK_MS        (7LL * 24 * 3600 * 1000)

size_t fair_depth(const struct fair_params *params, size_t k)
{
    size_t d = params ? params->depth : 0;
    return d > 3 * k ? d : 3 * k;
}

uint8_t fair_group_of(const struct fair_group_rule *rule, uint64_t products, uint64_t catalog,
                      int64_t created_ms, int64_t now_ms)
{
    if (!rule) rule = &fair_default_rule;
    uint8_t g = FAIR_LARGE;
    if ((double)products < rule->small_share * (double)catalog) g |= FAIR_SMALL;
    if (created_ms > 0 && now_ms - created_ms < rule->new_ms) g |= FAIR_NEW;
    return g;
}

/*
 * m[k] = min { x : P(Binomial(k, p) <= x) > alpha }. The pmf is walked in log
 * space from x = 0 so (1-p)^k may underflow without harm: the terms that
 * underflow are far below alpha. m[k] is m[k-1] or m[k-1] + 1, so each k
 * only extends the previous walk.
 */
int fair_table_init(struct fair_table *t, const struct fair_params *params, size_t n)
{
    memset(t, 0, sizeof *t);
    if (!params || !(params->p >= 0 && params->p < 1) ||
        !(params->alpha > 0 && params->alpha < 1) || !(params->max_boost >= 1) ||
        !(params->slots >= 0 && params->slots <= 1) || !(params->owed_share >= 0) ||
        n > FAIR_TABLE_MAX) {
        errno = EINVAL;
        return -1;
    }
    t->params = *params;
    t->n = n;
    t->m = xcalloc(n + 1, sizeof *t->m);
    if (params->p == 0) return 0;
    double lp = log(params->p), lq = log1p(-params->p);
    for (size_t k = 1; k <= n; k++) {
        double logpmf = (double)k * lq, cdf = 0;
        size_t x = 0;
        for (;;) {
            cdf += exp(logpmf);
            if (cdf > params->alpha || x == k) break;
            logpmf += log((double)(k - x) / (double)(x + 1)) + lp - lq;
            x++;
        }
        t->m[k] = (uint16_t)x;
    }
    return 0;
}

void fair_table_release(struct fair_table *t)
{
    free(t->m);
    memset(t, 0, sizeof *t);
}

double fair_position_weight(size_t rank)
{
    return 1.0 / log2(1.0 + (double)rank);
}

struct ranked {
    double score;
    uint32_t idx;
};

static int ranked_cmp(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* stable: input order */
}

/* Is merchant m among out[0..n)? Lists are short (k <= 100). */
static int shown(const struct fair_candidate *out, size_t n, int64_t m)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].merchant == m) return 1;
    return 0;
}

size_t fair_rerank(const struct fair_table *t, const struct fair_candidate *in, size_t n, size_t k,
                   struct fair_candidate *out, int *short_of)
{
    if (short_of) *short_of = 0;
    if (k > n) k = n;
    if (k == 0) return 0;
    const struct fair_params *prm = &t->params;
    int tier2 = prm->slots > 0 && k > prm->top;
    /* r[0..np): protected, r[nu..n): the others, r[n..n+no): owed (tier 2) */
    struct ranked stackbuf[1024], *r = n <= 512 ? stackbuf : xmalloc(2 * n * sizeof *r);
    uint8_t stacktaken[512], *taken = n <= 512 ? stacktaken : xmalloc(n);
    memset(taken, 0, n);
    size_t np = 0, nu = n, no = 0;
    for (size_t i = 0; i < n; i++) {
        double b = in[i].boost;
        if (!(b > 1)) b = 1;
        if (b > prm->max_boost) b = prm->max_boost;
        struct ranked e = {in[i].relevance * b, (uint32_t)i};
        if (in[i].group)
            r[np++] = e;
        else
            r[--nu] = e;
        if (tier2 && in[i].owed > 0) r[n + no++] = (struct ranked){e.score * in[i].owed, e.idx};
    }
    qsort(r, np, sizeof *r, ranked_cmp);
    qsort(r + nu, n - nu, sizeof *r, ranked_cmp);
    qsort(r + n, no, sizeof *r, ranked_cmp);
    size_t pi = 0, ui = nu, oi = n, taken_p = 0, taken_o = 0;
    for (size_t pos = 1; pos <= k; pos++) {
        size_t pick = SIZE_MAX;
        int discovery = tier2 && pos > prm->top;
        if (discovery && (double)taken_o < floor((double)(pos - prm->top) * prm->slots + 1e-9)) {
            /* skipped entries never come back: taken and shown only grow */
            while (oi < n + no && pick == SIZE_MAX) {
                uint32_t i = r[oi++].idx;
                if (!taken[i] && !shown(out, pos - 1, in[i].merchant)) pick = i;
            }
        }
        if (pick == SIZE_MAX) {
            while (pi < np && taken[r[pi].idx])
                pi++;
            while (ui < n && taken[r[ui].idx])
                ui++;
            size_t need = t->m ? t->m[pos <= t->n ? pos : t->n] : 0;
            int take_p;
            if (pi >= np)
                take_p = 0;
            else if (ui >= n || taken_p < need)
                take_p = 1;
            else
                take_p = ranked_cmp(&r[pi], &r[ui]) < 0;
            if (pi >= np && taken_p < need && short_of) *short_of = 1;
            pick = take_p ? r[pi++].idx : r[ui++].idx;
        }
        taken[pick] = 1;
        out[pos - 1] = in[pick];
        if (in[pick].group) taken_p++;
        if (discovery && in[pick].owed > 0) taken_o++;
    }
    if (r != stackbuf) free(r);
    if (taken != stacktaken) free(taken);
    return k;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending, i 1-based. */
double fair_gini(double *x, size_t n)
{
    if (n == 0) return 0;
    qsort(x, n, sizeof *x, dbl_cmp);
    double sum = 0, acc = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        acc += (2.0 * (double)(i + 1) - (double)n - 1.0) * x[i];
    }
    if (sum <= 0) return 0;
    return acc / ((double)n * sum);
}

/* ---- ledger ---- */

struct bucket {
    int64_t slot;      /* start / bucket_ms; INT64_MIN when unused */
    struct imap stats; /* merchant -> struct fair_merchant_exposure * */
};

/* A registered merchant: its group and its running (decayed) exposure,
 * value `run` as of time `at`. */
struct mstate {
    uint8_t group;
    double run;
    int64_t at;
};

struct fair_ledger {
    pthread_mutex_t mu;
    int64_t bucket_ms;
    size_t nbuckets;
    struct bucket *buckets;
    struct imap merchants; /* merchant -> struct mstate * */
    int64_t newest;        /* newest slot recorded; slots <= newest - nbuckets are gone */
    double half_life_ms;
    double run_total; /* the sum of every merchant's run, as of run_at */
    int64_t run_at;
};

static void bucket_clear(struct bucket *b)
{
    size_t pos = 0;
    void *v;
    while (imap_next(&b->stats, &pos, NULL, &v))
        free(v);
    imap_release(&b->stats);
    imap_init(&b->stats);
    b->slot = INT64_MIN;
}

struct fair_ledger *fair_ledger_new(int64_t bucket_ms, size_t nbuckets, int64_t half_life_ms)
{
    struct fair_ledger *l = xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    l->bucket_ms = bucket_ms > 0 ? bucket_ms : 3600 * 1000;
    l->nbuckets = nbuckets ? nbuckets : (size_t)(90LL * 24 * 3600 * 1000 / l->bucket_ms);
    if (l->nbuckets == 0) l->nbuckets = 1;
    l->buckets = xcalloc(l->nbuckets, sizeof *l->buckets);
    for (size_t i = 0; i < l->nbuckets; i++) {
        imap_init(&l->buckets[i].stats);
        l->buckets[i].slot = INT64_MIN;
    }
    imap_init(&l->merchants);
    l->newest = INT64_MIN;
    l->half_life_ms = (double)(half_life_ms > 0 ? half_life_ms : WEEK_MS);
    return l;
}

void fair_ledger_free(struct fair_ledger *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->nbuckets; i++)
        bucket_clear(&l->buckets[i]);
    free(l->buckets);
    size_t pos = 0;
    void *v;
    while (imap_next(&l->merchants, &pos, NULL, &v))
        free(v);
    imap_release(&l->merchants);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Lock held. */
static struct mstate *mstate_of(struct fair_ledger *l, int64_t merchant, uint8_t group)
{
    struct mstate *s = imap_get(&l->merchants, merchant);
    if (!s) {
        s = xcalloc(1, sizeof *s);
        imap_put(&l->merchants, merchant, s);
    }
    s->group = group;
    return s;
}

void fair_ledger_set_merchant(struct fair_ledger *l, int64_t merchant, uint8_t group)
{
    pthread_mutex_lock(&l->mu);
    mstate_of(l, merchant, group);
    pthread_mutex_unlock(&l->mu);
}

/* v (as of `at`) decayed to now; never grows when now < at. */
static double decayed(const struct fair_ledger *l, double v, int64_t at, int64_t now)
{
    return now > at ? v * exp2(-(double)(now - at) / l->half_life_ms) : v;
}

/* Adds w at time now to a running value (v as of *at). A late event (now <
 * *at, another thread's clock) is added as decayed to *at. */
static void run_add(const struct fair_ledger *l, double *v, int64_t *at, double w, int64_t now)
{
    if (now >= *at) {
        *v = decayed(l, *v, *at, now) + w;
        *at = now;
    } else {
        *v += decayed(l, w, now, *at);
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void fair_record(struct fair_ledger *l, enum fair_kind kind, const struct fair_candidate *ranking,
                 size_t n, int64_t now_ms)
{
    if ((unsigned)kind >= FAIR_KIND_COUNT || n == 0) return;
    int64_t slot = floor_div(now_ms, l->bucket_ms);
    pthread_mutex_lock(&l->mu);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        struct mstate *s = mstate_of(l, ranking[i].merchant, ranking[i].group);
        double w = fair_position_weight(i + 1);
        run_add(l, &s->run, &s->at, w, now_ms);
        sum += w;
    }
    run_add(l, &l->run_total, &l->run_at, sum, now_ms);
    if (l->newest != INT64_MIN && slot <= l->newest - (int64_t)l->nbuckets) {
        pthread_mutex_unlock(&l->mu); /* older than what the ring keeps */
        return;
    }
    struct bucket *b =
        &l->buckets[(size_t)(slot % (int64_t)l->nbuckets + (int64_t)l->nbuckets) % l->nbuckets];
    if (slot > l->newest) l->newest = slot;
    if (b->slot != slot) {
        bucket_clear(b);
        b->slot = slot;
    }
    for (size_t i = 0; i < n; i++) {
        struct fair_merchant_exposure *e = imap_get(&b->stats, ranking[i].merchant);
        if (!e) {
            e = xcalloc(1, sizeof *e);
            e->merchant = ranking[i].merchant;
            imap_put(&b->stats, e->merchant, e);
        }
        double w = fair_position_weight(i + 1);
        e->impressions[kind]++;
        e->exposure[kind] += w;
    }
    pthread_mutex_unlock(&l->mu);
}

/* Lock held: the running exposure of s (NULL: 0) and the owed threshold. */
static double running_of(const struct fair_ledger *l, const struct mstate *s, int64_t now)
{
    return s ? decayed(l, s->run, s->at, now) : 0;
}

static double mean_of(const struct fair_ledger *l, int64_t now)
{
    size_t nm = l->merchants.len;
    return nm ? decayed(l, l->run_total, l->run_at, now) / (double)nm : 0;
}

void fair_ledger_owed(struct fair_ledger *l, double owed_share, struct fair_candidate *c, size_t n,
                      int64_t now_ms)
{
    pthread_mutex_lock(&l->mu);
    double thr = owed_share * mean_of(l, now_ms);
    for (size_t i = 0; i < n; i++) {
        double e = running_of(l, imap_get(&l->merchants, c[i].merchant), now_ms);
        c[i].owed = thr > 0 && e < thr ? (float)(1 - e / thr) : 0;
    }
    pthread_mutex_unlock(&l->mu);
}

double fair_ledger_running(struct fair_ledger *l, int64_t merchant, int64_t now_ms, double *mean)
{
    pthread_mutex_lock(&l->mu);
    double e = running_of(l, imap_get(&l->merchants, merchant), now_ms);
    if (mean) *mean = mean_of(l, now_ms);
    pthread_mutex_unlock(&l->mu);
    return e;
}

size_t fair_rank(const struct fair_table *t, struct fair_ledger *l, enum fair_kind kind,
                 struct fair_candidate *in, size_t n, size_t k, struct fair_candidate *out,
                 int64_t now_ms)
{
    if (t->params.slots > 0 && k > t->params.top)
        fair_ledger_owed(l, t->params.owed_share, in, n, now_ms);
    else
        for (size_t i = 0; i < n; i++)
            in[i].owed = 0;
    size_t got = fair_rerank(t, in, n, k, out, NULL);
    fair_record(l, kind, out, got, now_ms);
    return got;
}

/* The report row of merchant m, added (zeroed) on first sight. */
static struct fair_merchant_exposure *report_slot(struct fair_report *out, struct imap *idx,
                                                  size_t *cap, int64_t m)
{
    uintptr_t i = (uintptr_t)imap_get(idx, m);
    if (!i) {
        if (out->nmerchants == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            out->merchants = xrealloc(out->merchants, *cap * sizeof *out->merchants);
        }
        memset(&out->merchants[out->nmerchants], 0, sizeof *out->merchants);
        out->merchants[out->nmerchants].merchant = m;
        i = ++out->nmerchants;
        imap_put(idx, m, (void *)i);
    }
    return &out->merchants[i - 1];
}

static int exposure_desc(const void *a, const void *b)
{
    const struct fair_merchant_exposure *x = a, *y = b;
    if (x->total_exposure != y->total_exposure)
        return x->total_exposure > y->total_exposure ? -1 : 1;
    return (x->merchant > y->merchant) - (x->merchant < y->merchant);
}

int fair_report(struct fair_ledger *l, int64_t from_ms, int64_t to_ms, struct fair_report *out)
{
    memset(out, 0, sizeof *out);
    int64_t from_slot = floor_div(from_ms, l->bucket_ms);
    out->from_ms = from_slot * l->bucket_ms;
    out->to_ms = to_ms > out->from_ms ? to_ms : out->from_ms;
    struct imap idx; /* merchant -> (void *)(index + 1) into out->merchants */
    imap_init(&idx);
    size_t cap = 0;

    pthread_mutex_lock(&l->mu);
    size_t pos = 0;
    int64_t key;
    void *v;
    while (imap_next(&l->merchants, &pos, &key, &v))
        report_slot(out, &idx, &cap, key)->group = ((const struct mstate *)v)->group;
    for (size_t bi = 0; bi < l->nbuckets; bi++) {
        struct bucket *b = &l->buckets[bi];
        if (b->slot == INT64_MIN || b->slot <= l->newest - (int64_t)l->nbuckets ||
            b->slot < from_slot || b->slot * l->bucket_ms >= to_ms)
            continue;
        pos = 0;
        while (imap_next(&b->stats, &pos, &key, &v)) {
            const struct fair_merchant_exposure *e = v;
            struct fair_merchant_exposure *o = report_slot(out, &idx, &cap, key);
            for (int k = 0; k < FAIR_KIND_COUNT; k++) {
                o->impressions[k] += e->impressions[k];
                o->exposure[k] += e->exposure[k];
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
    imap_release(&idx);

    size_t n = out->nmerchants;
    double *x = xmalloc((n ? n : 1) * sizeof *x);
    double total = 0, prot = 0;
    for (size_t i = 0; i < n; i++) {
        struct fair_merchant_exposure *m = &out->merchants[i];
        for (int k = 0; k < FAIR_KIND_COUNT; k++) {
            m->total_impressions += m->impressions[k];
            m->total_exposure += m->exposure[k];
            out->impressions[k] += m->impressions[k];
            out->exposure[k] += m->exposure[k];
        }
        total += m->total_exposure;
        if (m->group) prot += m->total_exposure;
    }
    for (int k = 0; k < FAIR_KIND_COUNT; k++) {
        for (size_t i = 0; i < n; i++)
            x[i] = out->merchants[i].exposure[k];
        out->gini_by_kind[k] = fair_gini(x, n);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = out->merchants[i].total_exposure;
    out->gini = fair_gini(x, n);
    out->protected_share = total > 0 ? prot / total : 0;
    free(x);
    if (n) qsort(out->merchants, n, sizeof *out->merchants, exposure_desc);
    return 0;
}

void fair_report_release(struct fair_report *r)
{
    free(r->merchants);
    memset(r, 0, sizeof *r);
}
