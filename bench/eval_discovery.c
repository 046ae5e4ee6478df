/*
 * eval_discovery — offline evaluation of souk's feed and fair re-ranking on
 * the UCI Online Retail history (bench/eval.sh builds and runs it).
 *
 * Protocol.
 *   - Products are spread over --merchants merchants (default 200) with
 *     retail_assign_merchants (Zipf 1.1 sizes, the demo loader's seed).
 *     A merchant is "small" (protected) when it holds < 0.5% of the
 *     catalogue (fair_default_rule); there are no creation dates here, so
 *     nobody is "new".
 *   - Invoices before 2011-10-01 00:00 UTC train, later ones test.
 *   - Discovery, not reordering: lists never contain a product the customer
 *     bought in training (the feed's exclude_bought; the baselines filter the
 *     same way), and the relevant set of a customer is the products bought in
 *     the test period that were NOT bought in training. Customers with
 *     training purchases and at least one such new product are evaluated.
 *   - Methods, each producing a candidate list per customer as deep as
 *     fair_depth() asks for a 20-item list (200):
 *       popularity: distinct training buyers per product;
 *       item-kNN: plain binary cosine co-occurrence over full training
 *         histories, score(j) = sum of sim(i, j) over the customer's items,
 *         filled up with popularity;
 *       souk feed: reco_add of every training order line (purchase, its own
 *         time), reco_train, disco_feed(limit 20) (the feed's candidate
 *         step in discovery/disco.h: reco_feed(k = 200, exclude_bought),
 *         the fill after the personal items scored below them).
 *     "plain" shows the top 20; "fair" shows fair_rank(candidates, 20) with
 *     fair_default_params: the server's own step (discovery/fair.h), with a
 *     ledger that starts empty and sees the lists one after another, one
 *     second apart from the split date on (customers in the loader's order;
 *     the 7-day half-life of the running totals plays no part over 30 min).
 *   - recall@20 = hits / |relevant|; NDCG@10 with binary gains and the ideal
 *     DCG of min(10, |relevant|) hits; both averaged over customers.
 *   - Exposure: every shown list gives 1/log2(1 + rank) to the merchant of
 *     the item at each rank 1..20; Gini over all merchants, and the share of
 *     the total that goes to small merchants.
 *   - Also: a sweep of each parameter of the re-ranking on the feed (the
 *     others at their defaults), and variants souk does not use.
 *   - Feed latency: reco_feed(k = 20) for every evaluated customer, 5 rounds
 *     (20 for customers with >= 200 products), one call timed at a time, wall
 *     clock and thread CPU time; also the server's path disco_feed(20) +
 *     fair_rank(20) (no HTTP, no state lock).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discovery/disco.h"
#include "discovery/fair.h"
#include "discovery/reco.h"
#include "import/retail.h"

#define SPLIT_UNIX 1317427200LL /* 2011-10-01T00:00:00Z */
#define MAXDEPTH   400          /* candidates per list, at most */
#define SHOW       20           /* shown items */
#define NDCG_AT    10
#define NMETHODS   3
#define SEED       20111209 /* as src/import/loader.c */

static const char *const method_names[NMETHODS] = {"popularity", "item-kNN (cosine)", "souk feed"};

struct ivec {
    uint32_t *v;
    size_t n, cap;
};

static void ivec_push(struct ivec *a, uint32_t x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        if (!a->v) abort();
    }
    a->v[a->n++] = x;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void ivec_sort_unique(struct ivec *a)
{
    if (a->n < 2) return;
    qsort(a->v, a->n, sizeof *a->v, u32_cmp);
    size_t o = 1;
    for (size_t i = 1; i < a->n; i++)
        if (a->v[i] != a->v[o - 1]) a->v[o++] = a->v[i];
    a->n = o;
}

static int ivec_has(const struct ivec *a, uint32_t x)
{
    return a->n && bsearch(&x, a->v, a->n, sizeof *a->v, u32_cmp) != NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Candidates per list: fair_depth(SHOW), as disco_feed asks for. */
static size_t depth;

/* One candidate list: product indexes (0-based) and scores, best first. */
struct cands {
    uint32_t p[MAXDEPTH];
    double s[MAXDEPTH];
    size_t n;
};

/* Top-depth selection over a dense score array, skipping `skip` and
 * non-positive scores. */
static void top_dense(const float *score, size_t np, const struct ivec *skip, struct cands *out)
{
    out->n = 0;
    for (size_t j = 0; j < np; j++) {
        if (!(score[j] > 0) || ivec_has(skip, (uint32_t)j)) continue;
        double s = score[j];
        size_t at = out->n;
        while (at > 0 && (out->s[at - 1] < s || (out->s[at - 1] == s && out->p[at - 1] > j)))
            at--;
        if (at >= depth) continue;
        size_t last = out->n < depth ? out->n : depth - 1;
        memmove(&out->p[at + 1], &out->p[at], (last - at) * sizeof out->p[0]);
        memmove(&out->s[at + 1], &out->s[at], (last - at) * sizeof out->s[0]);
        out->p[at] = (uint32_t)j;
        out->s[at] = s;
        if (out->n < depth) out->n++;
    }
}

/* Appends popular products (not skipped, not already in) until depth. */
static void fill_popular(struct cands *c, const uint32_t *pop, size_t np, const struct ivec *skip)
{
    for (size_t i = 0; i < np && c->n < depth; i++) {
        uint32_t j = pop[i];
        if (ivec_has(skip, j)) continue;
        int dup = 0;
        for (size_t q = 0; q < c->n && !dup; q++)
            dup = c->p[q] == j;
        if (dup) continue;
        c->p[c->n] = j;
        c->s[c->n] = 0; /* below every scored item */
        c->n++;
    }
}

struct result {
    double recall, ndcg, gini, small_share, small_in_top10, short_lists;
};

struct ctx {
    size_t np, nm, nusers;
    const uint32_t *mof;  /* merchant of product */
    const uint8_t *group; /* per merchant */
    const uint32_t *users;
    const struct ivec *train, *test; /* per customer index */
};

/* How the lists are re-ranked. */
enum rerank {
    RR_NONE,   /* the top SHOW as the method ranks them */
    RR_SERVER, /* fair_rank(): the server's step, with t's parameters */
    /* variants souk does not use: fair_ledger_owed, then changed, then
     * fair_rerank and fair_record */
    RR_OWED_FLAT,      /* discovery slots by relevance alone (every owed merchant owed 1) */
    RR_OWED_SMALL,     /* only small merchants can be owed */
    RR_AMORTISED_FAIR, /* no discovery tier; FA*IR's protected = small merchants owed */
};

/*
 * Shows one list per user (the first `depth` candidates, re-ranked as `mode`
 * says) and measures it. Merchant m is merchant id m + 1 in the candidates
 * and the ledger (ledger ids are positive). The ledger starts empty with
 * every merchant registered; list ui is shown at split + ui seconds.
 */
static struct result measure(const struct ctx *x, const struct cands *cl, enum rerank mode,
                             const struct fair_table *t, size_t dep, double *exposure,
                             double *ndcg_u)
{
    struct result r = {0};
    memset(exposure, 0, x->nm * sizeof *exposure);
    struct fair_ledger *l = fair_ledger_new(0, 0, 0);
    for (size_t m = 0; m < x->nm; m++)
        fair_ledger_set_merchant(l, (int64_t)m + 1, x->group[m]);
    struct fair_candidate in[MAXDEPTH], out[SHOW];
    for (size_t ui = 0; ui < x->nusers; ui++) {
        const struct cands *c = &cl[ui];
        const struct ivec *rel = &x->test[x->users[ui]];
        int64_t now = SPLIT_UNIX * 1000 + (int64_t)ui * 1000;
        size_t nc = c->n < dep ? c->n : dep;
        for (size_t i = 0; i < nc; i++) {
            uint32_t m = x->mof[c->p[i]];
            /* as disco_candidate: a relevance <= 0 counts as 1e-6 */
            in[i] = (struct fair_candidate){.product = c->p[i],
                                            .merchant = (int64_t)m + 1,
                                            .relevance = c->s[i] > 0 ? c->s[i] : 1e-6,
                                            .boost = 1,
                                            .group = x->group[m]};
        }
        size_t n;
        if (mode == RR_NONE) {
            n = nc < SHOW ? nc : SHOW;
            memcpy(out, in, n * sizeof *out);
        } else if (mode == RR_SERVER) {
            n = fair_rank(t, l, FAIR_FEED, in, nc, SHOW, out, now);
        } else {
            fair_ledger_owed(l, t->params.owed_share, in, nc, now);
            for (size_t i = 0; i < nc; i++) {
                if (mode == RR_OWED_FLAT && in[i].owed > 0) in[i].owed = 1;
                if (mode == RR_OWED_SMALL && !in[i].group) in[i].owed = 0;
                if (mode == RR_AMORTISED_FAIR) {
                    in[i].group = in[i].group && in[i].owed > 0 ? FAIR_SMALL : FAIR_LARGE;
                    in[i].owed = 0;
                }
            }
            int short_of = 0;
            n = fair_rerank(t, in, nc, SHOW, out, &short_of);
            r.short_lists += short_of;
            fair_record(l, FAIR_FEED, out, n, now);
        }
        double dcg = 0, idcg = 0;
        size_t hits = 0;
        for (size_t i = 0; i < n; i++) {
            size_t m = (size_t)out[i].merchant - 1;
            int hit = ivec_has(rel, (uint32_t)out[i].product);
            hits += hit;
            if (i < NDCG_AT && hit) dcg += 1 / log2(2.0 + (double)i);
            if (i < NDCG_AT && x->group[m]) r.small_in_top10 += 1;
            exposure[m] += fair_position_weight(i + 1);
        }
        for (size_t i = 0; i < NDCG_AT && i < rel->n; i++)
            idcg += 1 / log2(2.0 + (double)i);
        r.recall += (double)hits / (double)rel->n;
        r.ndcg += dcg / idcg;
        if (ndcg_u) ndcg_u[ui] = dcg / idcg;
    }
    fair_ledger_free(l);
    r.recall /= (double)x->nusers;
    r.ndcg /= (double)x->nusers;
    r.small_in_top10 /= (double)x->nusers;
    double tot = 0, small = 0;
    for (size_t m = 0; m < x->nm; m++) {
        tot += exposure[m];
        if (x->group[m]) small += exposure[m];
    }
    r.small_share = tot > 0 ? small / tot : 0;
    double *tmp = malloc(x->nm * sizeof *tmp);
    memcpy(tmp, exposure, x->nm * sizeof *tmp);
    r.gini = fair_gini(tmp, x->nm);
    free(tmp);
    return r;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const float *pop_key; /* for pop_desc */

static int pop_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (pop_key[x] != pop_key[y]) return pop_key[x] > pop_key[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct lat {
    double p50, p99, max;
    size_t n;
};

static struct lat lat_of(double *v, size_t n)
{
    struct lat l = {0, 0, 0, n};
    if (!n) return l;
    qsort(v, n, sizeof *v, dbl_cmp);
    l.p50 = v[n / 2];
    l.p99 = v[(size_t)((double)(n - 1) * 0.99)];
    l.max = v[n - 1];
    return l;
}

static const char *met(int ok)
{
    return ok ? "**met**" : "**not met**";
}

int main(int argc, char **argv)
{
    const char *path = "/work/shared/data/online-retail/online_retail.csv.gz";
    const char *outpath = NULL, *rev = "";
    unsigned nmerchants = 200;
    struct fair_params prm = fair_default_params;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--merchants") && i + 1 < argc)
            nmerchants = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            outpath = argv[++i];
        else if (!strcmp(argv[i], "--rev") && i + 1 < argc)
            rev = argv[++i];
        else if (!strcmp(argv[i], "--p") && i + 1 < argc)
            prm.p = atof(argv[++i]);
        else if (!strcmp(argv[i], "--alpha") && i + 1 < argc)
            prm.alpha = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--data csv.gz] [--merchants 200] [--p 0.5] [--alpha 0.1] "
                    "[--out RESULTS-eval.md] [--rev text]\n",
                    argv[0]);
            return 2;
        }
    }
    depth = fair_depth(&prm, SHOW);
    if (depth > MAXDEPTH) {
        fprintf(stderr, "fair_depth %zu > %d\n", depth, MAXDEPTH);
        return 2;
    }
    double t_start = now_s();
    struct retail_data d;
    if (retail_load(path, &d, NULL) != 0) {
        fprintf(stderr, "retail_load %s: %s\n", path, d.error);
        return 1;
    }
    double t_loaded = now_s();
    size_t np = d.nproducts, nc = d.ncustomers;
    uint32_t *mof = malloc(np * sizeof *mof);
    retail_assign_merchants(np, nmerchants, SEED, mof);
    size_t nm = nmerchants ? nmerchants : 1;
    uint64_t *msize = calloc(nm, sizeof *msize);
    for (size_t i = 0; i < np; i++)
        msize[mof[i]]++;
    double *sizes = malloc(nm * sizeof *sizes);
    for (size_t m = 0; m < nm; m++)
        sizes[m] = (double)msize[m];
    double size_gini = fair_gini(sizes, nm);
    free(sizes);
    uint8_t *group = calloc(nm, 1);
    size_t nsmall = 0, small_products = 0;
    for (size_t m = 0; m < nm; m++) {
        group[m] = fair_group_of(&fair_default_rule, msize[m], np, 0, 0);
        if (group[m]) nsmall++, small_products += msize[m];
    }

    /* Split, and feed the training purchases to reco. */
    struct reco *r = reco_new(NULL);
    struct ivec *train = calloc(nc, sizeof *train), *test = calloc(nc, sizeof *test);
    size_t ntrain_lines = 0, ntest_lines = 0;
    for (size_t j = 0; j < d.norders; j++) {
        const struct retail_order *o = &d.orders[j];
        int is_train = o->time < SPLIT_UNIX;
        for (uint32_t l = o->first_line; l < o->first_line + o->nlines; l++) {
            uint32_t p = d.order_lines[l].product;
            if (is_train) {
                ivec_push(&train[o->customer], p);
                reco_add(r, o->customer_id, (int64_t)p + 1, RECO_PURCHASE, 1, o->time * 1000);
                ntrain_lines++;
            } else {
                ivec_push(&test[o->customer], p);
                ntest_lines++;
            }
        }
    }
    for (size_t c = 0; c < nc; c++) {
        ivec_sort_unique(&train[c]);
        ivec_sort_unique(&test[c]);
        /* relevant = bought in test and not in training */
        size_t o = 0;
        for (size_t i = 0; i < test[c].n; i++)
            if (!ivec_has(&train[c], test[c].v[i])) test[c].v[o++] = test[c].v[i];
        test[c].n = o;
    }
    uint32_t *users = malloc(nc * sizeof *users);
    size_t nusers = 0, long_hist = 0;
    for (size_t c = 0; c < nc; c++)
        if (train[c].n && test[c].n) {
            users[nusers++] = (uint32_t)c;
            long_hist += train[c].n >= 200;
        }

    double t0 = now_s();
    reco_train(r);
    double t_train = now_s() - t0;
    struct reco_stats rst;
    reco_stats(r, &rst);

    /* Popularity: distinct training buyers. */
    float *popcnt = calloc(np, sizeof *popcnt);
    for (size_t c = 0; c < nc; c++)
        for (size_t i = 0; i < train[c].n; i++)
            popcnt[train[c].v[i]] += 1;
    uint32_t *poporder = malloc(np * sizeof *poporder);
    for (size_t i = 0; i < np; i++)
        poporder[i] = (uint32_t)i;
    pop_key = popcnt;
    qsort(poporder, np, sizeof *poporder, pop_desc);

    struct cands *cl[NMETHODS];
    for (int m = 0; m < NMETHODS; m++)
        cl[m] = calloc(nusers, sizeof *cl[m]);
    for (size_t ui = 0; ui < nusers; ui++) {
        cl[0][ui].n = 0;
        fill_popular(&cl[0][ui], poporder, np, &train[users[ui]]);
        for (size_t i = 0; i < cl[0][ui].n; i++)
            cl[0][ui].s[i] = popcnt[cl[0][ui].p[i]];
    }

    /* Item-kNN: dense binary cosine. */
    t0 = now_s();
    float *sim = calloc(np * np, sizeof *sim);
    for (size_t c = 0; c < nc; c++) {
        const struct ivec *h = &train[c];
        for (size_t a = 0; a < h->n; a++)
            for (size_t b = a + 1; b < h->n; b++) {
                sim[(size_t)h->v[a] * np + h->v[b]] += 1;
                sim[(size_t)h->v[b] * np + h->v[a]] += 1;
            }
    }
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < np; j++)
            if (sim[i * np + j] > 0) sim[i * np + j] /= sqrtf(popcnt[i] * popcnt[j]);
    float *acc = malloc(np * sizeof *acc);
    for (size_t ui = 0; ui < nusers; ui++) {
        const struct ivec *h = &train[users[ui]];
        memset(acc, 0, np * sizeof *acc);
        for (size_t a = 0; a < h->n; a++) {
            const float *row = &sim[(size_t)h->v[a] * np];
            for (size_t j = 0; j < np; j++)
                acc[j] += row[j];
        }
        top_dense(acc, np, h, &cl[1][ui]);
        fill_popular(&cl[1][ui], poporder, np, h);
    }
    free(acc);
    free(sim);
    double t_knn = now_s() - t0;

    /* souk feed: the candidates disco_feed gives for a 20-item feed. */
    struct reco_item *items = malloc(MAXDEPTH * sizeof *items);
    size_t feed_bought = 0;
    for (size_t ui = 0; ui < nusers; ui++) {
        const struct retail_customer *cu = &d.customers[users[ui]];
        size_t n = disco_feed(r, cu->id, SHOW, items, MAXDEPTH);
        struct cands *c = &cl[2][ui];
        c->n = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t p = (uint32_t)(items[i].product - 1);
            feed_bought += ivec_has(&train[users[ui]], p);
            c->p[c->n] = p;
            c->s[c->n] = items[i].score;
            c->n++;
        }
        fill_popular(c, poporder, np, &train[users[ui]]);
    }

    /* Measure. */
    struct fair_table ft;
    if (fair_table_init(&ft, &prm, SHOW) != 0) {
        fprintf(stderr, "bad --p/--alpha\n");
        return 2;
    }
    struct ctx x = {np, nm, nusers, mof, group, users, train, test};
    double *expo = malloc(nm * sizeof *expo);
    struct result res[NMETHODS][2];
    double *nd_plain = malloc(nusers * sizeof *nd_plain),
           *nd_fair = malloc(nusers * sizeof *nd_fair);
    for (int m = 0; m < NMETHODS; m++) {
        res[m][0] = measure(&x, cl[m], RR_NONE, NULL, depth, expo, m == 2 ? nd_plain : NULL);
        res[m][1] = measure(&x, cl[m], RR_SERVER, &ft, depth, expo, m == 2 ? nd_fair : NULL);
    }
    /* Each parameter on the souk feed, the others as the server has them. */
    struct knob {
        const char *name;
        double value;
        struct fair_params prm;
        size_t depth;
        struct result q;
    } sweep[32];
    size_t nsweep = 0;
    const double sweep_p[] = {0.3, 0.5, 0.7, 0.8};
    const double sweep_slots[] = {0, 0.5, 0.8};
    const double sweep_owed[] = {1, 1.25, 2, 3};
    const size_t sweep_depth[] = {60, 100, 150};
    for (size_t i = 0; i < sizeof sweep_p / sizeof *sweep_p; i++, nsweep++) {
        sweep[nsweep] = (struct knob){
            .name = "p (FA*IR, ranks 1-10)", .value = sweep_p[i], .prm = prm, .depth = depth};
        sweep[nsweep].prm.p = sweep_p[i];
    }
    for (size_t i = 0; i < sizeof sweep_slots / sizeof *sweep_slots; i++, nsweep++) {
        sweep[nsweep] = (struct knob){.name = "slots (share of ranks 11-20)",
                                      .value = sweep_slots[i],
                                      .prm = prm,
                                      .depth = depth};
        sweep[nsweep].prm.slots = sweep_slots[i];
    }
    for (size_t i = 0; i < sizeof sweep_owed / sizeof *sweep_owed; i++, nsweep++) {
        sweep[nsweep] = (struct knob){
            .name = "owed_share (x mean)", .value = sweep_owed[i], .prm = prm, .depth = depth};
        sweep[nsweep].prm.owed_share = sweep_owed[i];
    }
    for (size_t i = 0; i < sizeof sweep_depth / sizeof *sweep_depth; i++, nsweep++)
        sweep[nsweep] = (struct knob){.name = "candidates",
                                      .value = (double)sweep_depth[i],
                                      .prm = prm,
                                      .depth = sweep_depth[i]};
    for (size_t i = 0; i < nsweep; i++) {
        struct fair_table st;
        if (fair_table_init(&st, &sweep[i].prm, SHOW) != 0) abort();
        sweep[i].q = measure(&x, cl[2], RR_SERVER, &st, sweep[i].depth, expo, NULL);
        fair_table_release(&st);
    }
    /* Alternatives souk does not use, same candidates. */
    struct variant {
        const char *what;
        enum rerank mode;
        double p_top, p_rest, slots, owed_share;
        struct result q;
    } var[] = {
        {.what = "FA*IR alone over ranks 1-20, p 0.6 (souk's previous default)",
         .mode = RR_SERVER,
         .p_top = 0.6,
         .p_rest = 0.6,
         .slots = 0,
         .owed_share = 1.5},
        {.what = "FA*IR alone over ranks 1-20, p 0.8",
         .mode = RR_SERVER,
         .p_top = 0.8,
         .p_rest = 0.8,
         .slots = 0,
         .owed_share = 1.5},
        {.what = "discovery slots ordered by relevance alone (no deficit weight)",
         .mode = RR_OWED_FLAT,
         .p_top = 0.6,
         .p_rest = 0.6,
         .slots = 1,
         .owed_share = 1.5},
        {.what = "only small merchants can be owed",
         .mode = RR_OWED_SMALL,
         .p_top = 0.6,
         .p_rest = 0.6,
         .slots = 1,
         .owed_share = 1.5},
        {.what = "no discovery tier; FA*IR protects small merchants owed exposure (<= mean), "
                 "p 0.3 in the top 10, 0.8 after",
         .mode = RR_AMORTISED_FAIR,
         .p_top = 0.3,
         .p_rest = 0.8,
         .slots = 0,
         .owed_share = 1},
    };
    enum { NVAR = sizeof var / sizeof var[0] };
    for (int i = 0; i < NVAR; i++) {
        struct fair_params pa = prm, pb = prm;
        pa.p = var[i].p_top;
        pb.p = var[i].p_rest;
        pa.slots = var[i].slots;
        pa.owed_share = var[i].owed_share;
        struct fair_table a, b;
        if (fair_table_init(&a, &pa, SHOW) || fair_table_init(&b, &pb, SHOW)) abort();
        for (size_t k = NDCG_AT + 1; k <= SHOW; k++)
            if (b.m[k] > a.m[k]) a.m[k] = b.m[k];
        var[i].q = measure(&x, cl[2], var[i].mode, &a, depth, expo, NULL);
        fair_table_release(&a);
        fair_table_release(&b);
    }

    /* Feed latency: wall clock and this thread's CPU time per call (the
     * machine is shared, so a preempted call shows in wall time only).
     * Customers with >= 200 products get 20 rounds, the others 5. The
     * server's path uses a ledger of its own, as busy as the measured one. */
    enum { ROUNDS = 5, LONG_ROUNDS = 20 };
    size_t cap = nusers * ROUNDS + long_hist * LONG_ROUNDS;
    double *lat = malloc(cap * sizeof *lat), *latl = malloc(cap * sizeof *latl);
    double *cpu = malloc(cap * sizeof *cpu), *cpul = malloc(cap * sizeof *cpul);
    double *latf = malloc(cap * sizeof *latf), *cpuf = malloc(cap * sizeof *cpuf);
    size_t nl = 0, nll = 0, nlf = 0;
    struct fair_ledger *ll = fair_ledger_new(0, 0, 0);
    for (size_t m = 0; m < nm; m++)
        fair_ledger_set_merchant(ll, (int64_t)m + 1, group[m]);
    struct fair_candidate fin[MAXDEPTH], fout[SHOW];
    int64_t lnow = SPLIT_UNIX * 1000;
    for (int round = 0; round < LONG_ROUNDS; round++)
        for (size_t ui = 0; ui < nusers; ui++) {
            int is_long = train[users[ui]].n >= 200;
            if (round >= ROUNDS && !is_long) continue;
            int64_t id = d.customers[users[ui]].id;
            double c0 = cpu_s(), a = now_s();
            reco_feed(r, id, SHOW, 1, items);
            double b = now_s(), c1 = cpu_s();
            if (is_long) {
                latl[nll] = (b - a) * 1e3;
                cpul[nll++] = (c1 - c0) * 1e3;
            }
            if (round >= ROUNDS) continue;
            lat[nl] = (b - a) * 1e3;
            cpu[nl++] = (c1 - c0) * 1e3;
            c0 = cpu_s();
            a = now_s();
            size_t n = disco_feed(r, id, SHOW, items, MAXDEPTH);
            for (size_t i = 0; i < n; i++) {
                uint32_t p = (uint32_t)(items[i].product - 1);
                fin[i] = (struct fair_candidate){.product = items[i].product,
                                                 .merchant = mof[p] + 1,
                                                 .relevance = items[i].score,
                                                 .boost = 1,
                                                 .group = group[mof[p]]};
            }
            fair_rank(&ft, ll, FAIR_FEED, fin, n, SHOW, fout, lnow += 1000);
            latf[nlf] = (now_s() - a) * 1e3;
            cpuf[nlf++] = (cpu_s() - c0) * 1e3;
        }
    fair_ledger_free(ll);
    struct lat L = lat_of(lat, nl), LL = lat_of(latl, nll), LF = lat_of(latf, nlf);
    struct lat C = lat_of(cpu, nl), CL = lat_of(cpul, nll), CF = lat_of(cpuf, nlf);

    /* Report. */
    char date[64];
    time_t wall = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&wall));
    char *buf = NULL;
    size_t buflen = 0;
    FILE *o = open_memstream(&buf, &buflen);
    fprintf(o, "## Discovery evaluation\n\n");
    fprintf(o,
            "Run %s by `bench/eval.sh`%s%s. UCI Online Retail, %zu products over %u merchants "
            "(Zipf 1.1, seed %d); %zu merchants are small (< 0.5%% of the catalogue) and hold "
            "%.1f%% of the products.\n",
            date, *rev ? " at " : "", rev, np, nmerchants, SEED, nsmall,
            100.0 * (double)small_products / (double)np);
    fprintf(o,
            "Train: invoices before 2011-10-01 (%zu order lines); test: later ones (%zu). "
            "%zu customers evaluated (training purchases and at least one product bought in "
            "the test period that they had not bought before; %zu have >= 200 distinct "
            "training products). Lists exclude products bought in training; the relevant set "
            "is the new products bought in the test period.\n",
            ntrain_lines, ntest_lines, nusers, long_hist);
    fprintf(
        o,
        "Fair = the server's re-ranking step, fair_rank() with its defaults (discovery/fair.h): "
        "ranks 1-%zu under a FA*IR prefix constraint for small merchants, p = %.2f, alpha = "
        "%.2f (m(10) = %u small-merchant items); ranks %zu-20 are discovery slots (share "
        "%.2f) for the merchants the exposure ledger says are owed (running exposure < %.2f x "
        "the mean over merchants), each taking an owed merchant's best candidate by "
        "relevance x deficit, one per merchant. %zu candidates per list (fair_depth(20), what "
        "disco_feed asks the recommender for; fewer in the \"candidates\" rows of the sweep). "
        "Exposure = sum over all shown lists of 1/log2(1+rank), ranks 1-20.\n\n",
        prm.top, prm.p, prm.alpha, ft.m[prm.top < 10 ? prm.top : 10], prm.top + 1, prm.slots,
        prm.owed_share, depth);
    fprintf(o, "| method | re-ranking | recall@20 | NDCG@10 | Gini of merchant exposure | small "
               "merchants' exposure share | small-merchant items in top 10 |\n");
    fprintf(o, "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int m = 0; m < NMETHODS; m++)
        for (int f = 0; f < 2; f++) {
            const struct result *q = &res[m][f];
            fprintf(o, "| %s | %s | %.4f | %.4f | %.3f | %.1f%% | %.2f |\n", method_names[m],
                    f ? "fair" : "none", q->recall, q->ndcg, q->gini, 100 * q->small_share,
                    q->small_in_top10);
        }
    fprintf(o, "\n| method | NDCG@10 cost of fairness | recall@20 cost | Gini cut | small share "
               "|\n");
    fprintf(o, "| --- | --- | --- | --- | --- |\n");
    for (int m = 0; m < NMETHODS; m++) {
        const struct result *a = &res[m][0], *b = &res[m][1];
        fprintf(o, "| %s | %.2f%% | %.1f%% | %.1f%% | %.1f%% → %.1f%% |\n", method_names[m],
                100 * (a->ndcg - b->ndcg) / a->ndcg, 100 * (a->recall - b->recall) / a->recall,
                100 * (a->gini - b->gini) / a->gini, 100 * a->small_share, 100 * b->small_share);
    }
    const struct result *sa = &res[2][0], *sb = &res[2][1];
    double dm = 0, dv = 0; /* per-customer NDCG@10 loss: mean and its standard error */
    for (size_t i = 0; i < nusers; i++)
        dm += nd_plain[i] - nd_fair[i];
    dm /= (double)nusers;
    for (size_t i = 0; i < nusers; i++) {
        double e = nd_plain[i] - nd_fair[i] - dm;
        dv += e * e;
    }
    double dse = sqrt(dv / (double)(nusers - 1) / (double)nusers);
    double cost = (sa->ndcg - sb->ndcg) / sa->ndcg, cut = (sa->gini - sb->gini) / sa->gini;
    fprintf(o, "\n| target (souk feed) | measured | |\n| --- | --- | --- |\n");
    fprintf(o,
            "| fairness costs ≤ 2%% of NDCG@10 | %.2f%% (± %.2f%%, one standard error of the "
            "paired difference) | %s |\n",
            100 * cost, 100 * dse / sa->ndcg, met(cost <= 0.02));
    fprintf(o,
            "| fairness cuts the Gini of merchant exposure by ≥ 30%% | %.1f%% (%.3f → %.3f) | "
            "%s |\n",
            100 * cut, sa->gini, sb->gini, met(cut >= 0.30));
    fprintf(o,
            "| souk feed beats both baselines on NDCG@10 (unfair) | %.4f vs %.4f / %.4f | %s |\n",
            sa->ndcg, res[0][0].ndcg, res[1][0].ndcg,
            met(sa->ndcg > res[0][0].ndcg && sa->ndcg > res[1][0].ndcg));
    fprintf(o,
            "| feed p99 ≤ 2 ms (in-process, no HTTP) | reco_feed(20) %.3f ms, long histories "
            "%.3f ms; the server's path disco_feed + fair_rank %.3f ms | %s |\n",
            L.p99, LL.p99, LF.p99, met(L.p99 <= 2 && LL.p99 <= 2 && LF.p99 <= 2));
    fprintf(o,
            "| (not a target) what fairness costs in recall@20 | %.1f%% (%.4f → %.4f): the "
            "discovery slots show owed merchants' less relevant items in ranks 11-20 | |\n",
            100 * (sa->recall - sb->recall) / sa->recall, sa->recall, sb->recall);
    fprintf(o,
            "\nFA*IR's own anchor: +18.75 points of protected-group exposure for 0.0037 NDCG "
            "loss. Here, on the souk feed: %+.1f points of small-merchant exposure for %.4f "
            "NDCG@10 loss.\n",
            100 * (sb->small_share - sa->small_share), sa->ndcg - sb->ndcg);
    fprintf(o,
            "\nEach parameter on the souk feed, the others at their defaults (p %.1f, slots "
            "%.1f, owed_share %.2f, %zu candidates):\n\n",
            prm.p, prm.slots, prm.owed_share, depth);
    fprintf(o, "| parameter | value | recall@20 | NDCG@10 | NDCG cost | recall cost | Gini | Gini "
               "cut | small share |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    fprintf(o, "| none (no re-ranking) | | %.4f | %.4f | | | %.3f | | %.1f%% |\n", sa->recall,
            sa->ndcg, sa->gini, 100 * sa->small_share);
    fprintf(o, "| **default** | | %.4f | %.4f | %.2f%% | %.1f%% | %.3f | %.1f%% | %.1f%% |\n",
            sb->recall, sb->ndcg, 100 * cost, 100 * (sa->recall - sb->recall) / sa->recall,
            sb->gini, 100 * cut, 100 * sb->small_share);
    for (size_t i = 0; i < nsweep; i++) {
        const struct result *q = &sweep[i].q;
        fprintf(o, "| %s | %g | %.4f | %.4f | %.2f%% | %.1f%% | %.3f | %.1f%% | %.1f%% |\n",
                sweep[i].name, sweep[i].value, q->recall, q->ndcg,
                100 * (sa->ndcg - q->ndcg) / sa->ndcg, 100 * (sa->recall - q->recall) / sa->recall,
                q->gini, 100 * (sa->gini - q->gini) / sa->gini, 100 * q->small_share);
    }
    fprintf(o,
            "\nCutting the Gini by 30%% means exposure flatter than catalogue shares (the "
            "Gini of merchant catalogue sizes is %.3f). Alternatives souk does not use, same "
            "candidates (souk's default is the \"fair\" row above):\n\n",
            size_gini);
    fprintf(o, "| variant (souk feed) | NDCG@10 cost | recall@20 cost | Gini cut | small share "
               "|\n| --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < NVAR; i++)
        fprintf(o, "| %s | %.2f%% | %.1f%% | %.1f%% | %.1f%% |\n", var[i].what,
                100 * (sa->ndcg - var[i].q.ndcg) / sa->ndcg,
                100 * (sa->recall - var[i].q.recall) / sa->recall,
                100 * (sa->gini - var[i].q.gini) / sa->gini, 100 * var[i].q.small_share);
    fprintf(o, "\nFeed latency, one call at a time on this machine (shared with other work: "
               "wall-clock outliers are preemption; the CPU-time columns are the calls' own "
               "cost). History capped at the 50 most recent products.\n\n");
    fprintf(o, "| call | calls | p50 ms | p99 ms | max ms | CPU p50 ms | CPU p99 ms |\n| --- | --- "
               "| --- | --- | --- | --- | --- |\n");
    fprintf(o,
            "| reco_feed(k = 20), all %zu evaluated customers | %zu | %.4f | %.4f | %.3f | %.4f "
            "| %.4f |\n",
            nusers, L.n, L.p50, L.p99, L.max, C.p50, C.p99);
    fprintf(o,
            "| reco_feed(k = 20), the %zu with >= 200 products | %zu | %.4f | %.4f | %.3f | "
            "%.4f | %.4f |\n",
            long_hist, LL.n, LL.p50, LL.p99, LL.max, CL.p50, CL.p99);
    fprintf(o,
            "| the server's path: disco_feed(20) (reco_feed k = %zu) + fair_rank(20) | %zu | "
            "%.4f | %.4f | %.3f | %.4f | %.4f |\n",
            depth, LF.n, LF.p50, LF.p99, LF.max, CF.p50, CF.p99);
    fprintf(o,
            "\nTraining: reco_train over %llu users and %llu events took %.0f ms (%llu items, "
            "%llu neighbour pairs); the dense item-kNN baseline %.1f s; load %.1f s; total "
            "%.1f s. Feed items that were bought in training (older than the 500 "
            "products kept per user, so not excluded): %zu.\n",
            (unsigned long long)rst.users, (unsigned long long)rst.events, t_train * 1e3,
            (unsigned long long)rst.model_items, (unsigned long long)rst.model_pairs, t_knn,
            t_loaded - t_start, now_s() - t_start, feed_bought);
    fclose(o);
    fputs(buf, stdout);
    if (outpath) {
        FILE *f = fopen(outpath, "w");
        if (!f || fputs(buf, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "%s: %s\n", outpath, strerror(errno));
            return 1;
        }
    }
    free(buf);

    fair_table_release(&ft);
    reco_free(r);
    for (int m = 0; m < NMETHODS; m++)
        free(cl[m]);
    for (size_t c = 0; c < nc; c++)
        free(train[c].v), free(test[c].v);
    free(train), free(test), free(users), free(popcnt), free(poporder), free(items), free(expo);
    free(nd_plain), free(nd_fair);
    free(lat), free(latl), free(latf), free(cpu), free(cpul), free(cpuf), free(mof), free(msize),
        free(group);
    retail_release(&d);
    return 0;
}
