/*
 * fair — FA*IR prefix-constrained re-ranking and the exposure ledger. The
 * design and parameters are explained in fair.h.
 */
#include "discovery/fair.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/map.h"

const char *const fair_kind_names[FAIR_KIND_COUNT] = {"search", "feed", "similar"};

/* p 0.6 / alpha 0.1: the largest p of the sweep in bench/RESULTS-eval.md
 * whose NDCG@10 cost on the feed stays well under the 2% budget (0.7 is at
 * the edge of it). */
const struct fair_params fair_default_params = {.p = 0.6, .alpha = 0.1, .max_boost = 1.5};

const struct fair_group_rule fair_default_rule = {.small_share = 0.005,
                                                  .new_ms = 30LL * 24 * 3600 * 1000};

#define FAIR_TABLE_MAX 1024

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

size_t fair_rerank(const struct fair_table *t, const struct fair_candidate *in, size_t n, size_t k,
                   struct fair_candidate *out, int *short_of)
{
    if (short_of) *short_of = 0;
    if (k > n) k = n;
    if (k == 0) return 0;
    struct ranked stackbuf[512], *r = n <= 512 ? stackbuf : xmalloc(n * sizeof *r);
    size_t np = 0, nu = n; /* protected fill r[0..np) upwards, others r[nu..n) downwards */
    for (size_t i = 0; i < n; i++) {
        double b = in[i].boost;
        if (!(b > 1)) b = 1;
        if (b > t->params.max_boost) b = t->params.max_boost;
        struct ranked e = {in[i].relevance * b, (uint32_t)i};
        if (in[i].group)
            r[np++] = e;
        else
            r[--nu] = e;
    }
    qsort(r, np, sizeof *r, ranked_cmp);
    qsort(r + nu, n - nu, sizeof *r, ranked_cmp);
    size_t pi = 0, ui = nu, taken_p = 0;
    for (size_t pos = 1; pos <= k; pos++) {
        size_t need = t->m ? t->m[pos <= t->n ? pos : t->n] : 0;
        int take_p;
        if (pi >= np)
            take_p = 0;
        else if (ui >= n || taken_p < need)
            take_p = 1;
        else
            take_p = ranked_cmp(&r[pi], &r[ui]) < 0;
        if (pi >= np && taken_p < need && short_of) *short_of = 1;
        if (take_p) {
            out[pos - 1] = in[r[pi++].idx];
            taken_p++;
        } else {
            out[pos - 1] = in[r[ui++].idx];
        }
    }
    if (r != stackbuf) free(r);
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

struct fair_ledger {
    pthread_mutex_t mu;
    int64_t bucket_ms;
    size_t nbuckets;
    struct bucket *buckets;
    struct imap groups; /* merchant -> (void *)(uintptr_t)(group + 1) */
    int64_t newest;     /* newest slot recorded; slots <= newest - nbuckets are gone */
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

struct fair_ledger *fair_ledger_new(int64_t bucket_ms, size_t nbuckets)
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
    imap_init(&l->groups);
    l->newest = INT64_MIN;
    return l;
}

void fair_ledger_free(struct fair_ledger *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->nbuckets; i++)
        bucket_clear(&l->buckets[i]);
    free(l->buckets);
    imap_release(&l->groups);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void fair_ledger_set_merchant(struct fair_ledger *l, int64_t merchant, uint8_t group)
{
    pthread_mutex_lock(&l->mu);
    imap_put(&l->groups, merchant, (void *)(uintptr_t)(group + 1u));
    pthread_mutex_unlock(&l->mu);
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
    struct bucket *b =
        &l->buckets[(size_t)(slot % (int64_t)l->nbuckets + (int64_t)l->nbuckets) % l->nbuckets];
    if (l->newest != INT64_MIN && slot <= l->newest - (int64_t)l->nbuckets) {
        pthread_mutex_unlock(&l->mu); /* older than what the ring keeps */
        return;
    }
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
    while (imap_next(&l->groups, &pos, &key, &v))
        report_slot(out, &idx, &cap, key)->group = (uint8_t)((uintptr_t)v - 1);
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
    /* groups of merchants seen only in buckets */
    for (size_t i = 0; i < out->nmerchants; i++) {
        uintptr_t g = (uintptr_t)imap_get(&l->groups, out->merchants[i].merchant);
        if (g) out->merchants[i].group = (uint8_t)(g - 1);
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
