/*
 * Tests for src/discovery/fair: the FA*IR prefix table against a direct
 * binomial computation, the re-ranker's guarantees (prefix constraint at
 * every prefix, relevance order kept inside each group, bounded boost), the
 * discovery tier (owed merchants get the slots after the top 10, one per
 * merchant, relevance x deficit; the top 10 is what FA*IR alone shows), the
 * Gini coefficient on known inputs, the exposure ledger's accounting and
 * running totals, and amortisation over many lists.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discovery/fair.h"

#define HOUR_MS (3600LL * 1000)

static const struct fair_params half = {.p = 0.5, .alpha = 0.1, .max_boost = 1.5};

/* FA*IR alone over the whole list (no discovery tier). */
#define FAIR_ONLY(p_) ((struct fair_params){.p = (p_), .alpha = 0.1, .max_boost = 1.5})
/* A candidate without an owed deficit. */
#define CAND(prod, merch, rel, b, grp)                                                             \
    ((struct fair_candidate){                                                                      \
        .product = (prod), .merchant = (merch), .relevance = (rel), .boost = (b), .group = (grp)})

/* P(Binomial(k, p) <= x), summed directly (fine for k <= 60). */
static double binom_cdf(int x, int k, double p)
{
    double s = 0;
    for (int i = 0; i <= x; i++) {
        double c = 1;
        for (int j = 1; j <= i; j++)
            c = c * (k - i + j) / j;
        s += c * pow(p, i) * pow(1 - p, k - i);
    }
    return s;
}

static void test_table_matches_binomial(void **state)
{
    (void)state;
    const double ps[] = {0.1, 0.3, 0.5, 0.7};
    const double alphas[] = {0.01, 0.1, 0.2};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++) {
            struct fair_params prm = {.p = ps[a], .alpha = alphas[b], .max_boost = 1.5};
            struct fair_table t;
            assert_int_equal(fair_table_init(&t, &prm, 60), 0);
            assert_int_equal(t.m[0], 0);
            for (int k = 1; k <= 60; k++) {
                int want = 0;
                while (binom_cdf(want, k, prm.p) <= prm.alpha)
                    want++;
                if (t.m[k] != want)
                    fail_msg("p=%g alpha=%g k=%d: m=%d want %d", prm.p, prm.alpha, k, t.m[k], want);
                assert_true(t.m[k] - t.m[k - 1] <= 1);
            }
            fair_table_release(&t);
        }
    /* the FA*IR paper's example values: p = 0.5, alpha = 0.1 */
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &half, 20), 0);
    assert_int_equal(t.m[1], 0);
    assert_int_equal(t.m[3], 0);
    assert_int_equal(t.m[4], 1);
    assert_int_equal(t.m[10], 3);
    assert_int_equal(t.m[20], 7);
    fair_table_release(&t);
    /* p = 0 never constrains; bad parameters are refused */
    struct fair_params zero = FAIR_ONLY(0), bad = FAIR_ONLY(1.0), badb = FAIR_ONLY(0.5);
    badb.max_boost = 0.9;
    assert_int_equal(fair_table_init(&t, &zero, 100), 0);
    assert_int_equal(t.m[100], 0);
    fair_table_release(&t);
    assert_int_equal(fair_table_init(&t, &bad, 10), -1);
    assert_int_equal(fair_table_init(&t, &badb, 10), -1);
}

static uint64_t rng = 88172645463325252ull;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Random lists: every prefix meets m, and each group's items come out in
 * relevance order and are that group's best ones. */
static void test_rerank_prefix_and_order(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &FAIR_ONLY(0.6), 100), 0);
    struct fair_candidate in[100], out[100];
    for (int round = 0; round < 500; round++) {
        size_t n = 20 + (size_t)(rnd() * 80), k = 1 + (size_t)(rnd() * (double)n);
        double pshare = 0.2 + 0.6 * rnd();
        size_t np = 0;
        for (size_t i = 0; i < n; i++) {
            in[i] = (struct fair_candidate){.product = (int64_t)i + 1,
                                            .merchant = (int64_t)(rnd() * 30) + 1,
                                            .relevance = rnd(),
                                            .boost = 1,
                                            .group = rnd() < pshare ? FAIR_SMALL : FAIR_LARGE};
            np += in[i].group != 0;
        }
        int short_of = -1;
        size_t got = fair_rerank(&t, in, n, k, out, &short_of);
        assert_int_equal(got, k);
        size_t have = 0, seen_p = 0, seen_u = 0;
        double last_p = INFINITY, last_u = INFINITY;
        for (size_t pos = 1; pos <= k; pos++) {
            const struct fair_candidate *c = &out[pos - 1];
            if (c->group) {
                have++;
                assert_true(c->relevance <= last_p);
                last_p = c->relevance;
                seen_p++;
            } else {
                assert_true(c->relevance <= last_u);
                last_u = c->relevance;
                seen_u++;
            }
            if (!short_of && have < t.m[pos])
                fail_msg("round %d prefix %zu: %zu protected < m=%u", round, pos, have, t.m[pos]);
        }
        /* short_of only when protected candidates ran out */
        if (short_of) assert_true(np < t.m[k] || np == have);
        if (np >= t.m[k]) assert_int_equal(short_of, 0);
        /* each group's shown items are its best: nothing better left behind */
        for (size_t i = 0; i < n; i++) {
            int shown = 0;
            for (size_t j = 0; j < k; j++)
                shown |= out[j].product == in[i].product;
            if (shown) continue;
            if (in[i].group && seen_p) assert_true(in[i].relevance <= last_p);
            if (!in[i].group && seen_u) assert_true(in[i].relevance <= last_u);
        }
    }
    fair_table_release(&t);
}

static void test_rerank_unconstrained_is_relevance_order(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &FAIR_ONLY(0), 10), 0);
    struct fair_candidate in[5] = {CAND(1, 1, 0.2, 1, 0), CAND(2, 2, 0.9, 1, 1),
                                   CAND(3, 3, 0.5, 1, 0), CAND(4, 4, 0.5, 1, 1),
                                   CAND(5, 5, 0.1, 1, 0)};
    struct fair_candidate out[5];
    assert_int_equal(fair_rerank(&t, in, 5, 5, out, NULL), 5);
    const int64_t want[5] = {2, 3, 4, 1, 5}; /* tie 3/4 keeps input order */
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i].product, want[i]);
    /* k larger than n, and k = 0 */
    assert_int_equal(fair_rerank(&t, in, 5, 50, out, NULL), 5);
    assert_int_equal(fair_rerank(&t, in, 5, 0, out, NULL), 0);
    fair_table_release(&t);
}

static void test_rerank_promotes_protected(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &half, 20), 0);
    /* 10 large items all more relevant than 10 small ones */
    struct fair_candidate in[20], out[10];
    for (int i = 0; i < 20; i++)
        in[i] = (struct fair_candidate){.product = i + 1,
                                        .merchant = i < 10 ? 1 : 100 + i,
                                        .relevance = 100 - i,
                                        .boost = 1,
                                        .group = i < 10 ? FAIR_LARGE : FAIR_SMALL};
    int short_of = 1;
    assert_int_equal(fair_rerank(&t, in, 20, 10, out, &short_of), 10);
    assert_int_equal(short_of, 0);
    /* m = 0,0,0,1,1,1,2,2,3,3 for k = 1..10: protected at positions 4, 7, 9 */
    for (int pos = 1; pos <= 10; pos++) {
        int prot = pos == 4 || pos == 7 || pos == 9;
        if ((out[pos - 1].group != 0) != prot) fail_msg("position %d", pos);
    }
    assert_int_equal(out[3].product, 11); /* the best small one first */
    assert_int_equal(out[6].product, 12);
    /* no protected candidates at all: filled from the others, flagged */
    assert_int_equal(fair_rerank(&t, in, 10, 10, out, &short_of), 10);
    assert_int_equal(short_of, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i].product, i + 1);
    fair_table_release(&t);
}

static void test_rerank_bounded_boost(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &FAIR_ONLY(0), 10), 0);
    struct fair_candidate out[2];
    /* boost 10 counts as 1.5: 1.0 * 1.5 < 1.6 */
    struct fair_candidate a[2] = {CAND(1, 1, 1.6, 1, 0), CAND(2, 2, 1.0, 10, 0)};
    fair_rerank(&t, a, 2, 2, out, NULL);
    assert_int_equal(out[0].product, 1);
    /* 1.0 * 1.5 > 1.4: the enrolled merchant's item goes first */
    struct fair_candidate b[2] = {CAND(1, 1, 1.4, 1, 0), CAND(2, 2, 1.0, 10, 0)};
    fair_rerank(&t, b, 2, 2, out, NULL);
    assert_int_equal(out[0].product, 2);
    /* boost below 1 is no boost */
    struct fair_candidate c[2] = {CAND(1, 1, 1.0, 1, 0), CAND(2, 2, 0.9, 0.1, 0)};
    fair_rerank(&t, c, 2, 2, out, NULL);
    assert_int_equal(out[0].product, 1);
    assert_true(out[1].relevance == 0.9); /* candidates are copied unchanged */
    fair_table_release(&t);
}

/* The server's two tiers (FA*IR on ranks 1-10, discovery slots after),
 * with a lower p so tier 1 leaves room to see tier 2 work. */
static struct fair_params tiers;
static void tiers_init(void)
{
    tiers = fair_default_params;
    tiers.p = 0.5;
}

static int in_list(const struct fair_candidate *out, size_t n, int64_t product)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].product == product) return 1;
    return 0;
}

/* 20 relevant items of merchant 1 (large, not owed) and, less relevant,
 * items of owed merchants 100..: ranks 11-20 go to the owed ones, best
 * relevance x deficit first, one per merchant. */
static void test_discovery_slots_go_to_owed(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &tiers, 100), 0);
    struct fair_candidate in[40], out[20];
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        in[n++] = CAND(i + 1, 1, 100 - i, 1, FAIR_LARGE);
    /* owed merchants 100..111, relevance 1..12 below everyone above; the
     * deficit flips the order of the two best: 111 (12 x 0.1) < 110 (11 x 1) */
    for (int i = 0; i < 12; i++) {
        in[n] = CAND(1000 + i, 100 + i, 1 + i, 1, FAIR_LARGE);
        in[n++].owed = i == 11 ? 0.1f : 1.0f;
    }
    /* a second, more relevant item of owed merchant 110: one per merchant */
    in[n] = CAND(2000, 110, 50, 1, FAIR_LARGE);
    in[n++].owed = 1;
    int short_of = -1;
    assert_int_equal(fair_rerank(&t, in, n, 20, out, &short_of), 20);
    /* nobody protected: tier 1 is the relevance order */
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i].product, i + 1);
    assert_int_equal(out[10].product, 2000); /* 50 x 1, merchant 110 */
    /* then 109, 108, ... by relevance x deficit; 110 not again; 111 (1.2) after 101 (2) */
    const int64_t want[9] = {1009, 1008, 1007, 1006, 1005, 1004, 1003, 1002, 1001};
    for (int i = 0; i < 9; i++)
        assert_int_equal(out[11 + i].product, want[i]);
    assert_false(in_list(out, 20, 1010)); /* merchant 110 already shown */
    /* a list of 10 has no discovery tier: the owed items stay out */
    assert_int_equal(fair_rerank(&t, in, n, 10, out, NULL), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i].product, i + 1);
    /* slots 0.5: every other rank of 11-20 (prefix floor(j / 2)) */
    struct fair_params half_slots = tiers;
    half_slots.slots = 0.5;
    struct fair_table h;
    assert_int_equal(fair_table_init(&h, &half_slots, 100), 0);
    fair_rerank(&h, in, n, 20, out, NULL);
    for (int pos = 11; pos <= 20; pos++) {
        int owed = out[pos - 1].owed > 0;
        if (owed != ((pos - 10) % 2 == 0)) fail_msg("slots 0.5, rank %d", pos);
    }
    /* slots 0 is FA*IR alone */
    struct fair_params none = tiers;
    none.slots = 0;
    struct fair_table z;
    assert_int_equal(fair_table_init(&z, &none, 100), 0);
    fair_rerank(&z, in, n, 20, out, NULL);
    for (int i = 0; i < 20; i++)
        assert_int_equal(out[i].product, i + 1);
    fair_table_release(&z);
    fair_table_release(&h);
    fair_table_release(&t);
}

/* Random lists with owed merchants: the first 10 ranks are exactly what
 * FA*IR alone shows, every prefix of the top 10 meets m, and ranks 11..k
 * hold one item of each of the best owed merchants until they run out. */
static void test_top_tier_unchanged_by_discovery(void **state)
{
    (void)state;
    struct fair_table t, f;
    assert_int_equal(fair_table_init(&t, &tiers, 100), 0);
    assert_int_equal(fair_table_init(&f, &half, 100), 0);
    struct fair_candidate in[100], out[100], ref[100];
    for (int round = 0; round < 500; round++) {
        size_t n = 20 + (size_t)(rnd() * 80), k = 1 + (size_t)(rnd() * 40);
        if (k > n) k = n;
        for (size_t i = 0; i < n; i++) {
            in[i] = CAND((int64_t)i + 1, (int64_t)(rnd() * 40) + 1, rnd(), 1,
                         rnd() < 0.3 ? FAIR_SMALL : FAIR_LARGE);
            in[i].owed = in[i].merchant % 3 == 0 ? (float)(0.1 + 0.9 * rnd()) : 0;
        }
        assert_int_equal(fair_rerank(&t, in, n, k, out, NULL), k);
        size_t top = k < 10 ? k : 10;
        assert_int_equal(fair_rerank(&f, in, n, top, ref, NULL), top);
        for (size_t pos = 1; pos <= top; pos++) {
            assert_int_equal(out[pos - 1].product, ref[pos - 1].product);
        }
        /* owed merchants with a candidate, not in the top 10: each shows
         * once in ranks 11..k while slots last */
        size_t owed_m = 0, shown_m = 0;
        for (int64_t m = 3; m <= 40; m += 3) {
            int cand = 0, intop = 0, later = 0;
            for (size_t i = 0; i < n; i++)
                cand |= in[i].merchant == m;
            for (size_t i = 0; i < k; i++) {
                if (out[i].merchant != m) continue;
                if (i < 10)
                    intop = 1;
                else
                    later++;
            }
            if (!cand || intop) continue;
            owed_m++;
            shown_m += later > 0;
            assert_true(later <= 1 || k - top > owed_m); /* no repeats while others wait */
        }
        size_t slots = k - top;
        assert_true(shown_m == (owed_m < slots ? owed_m : slots));
    }
    fair_table_release(&f);
    fair_table_release(&t);
}

/* More than 512 candidates: the heap path gives the same answer. */
static void test_rerank_large_input(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &tiers, 100), 0);
    enum { N = 700 };
    struct fair_candidate *in = calloc(N, sizeof *in), out[20];
    for (int i = 0; i < N; i++) {
        in[i] = CAND(i + 1, i < 100 ? 1 : i, N - i, 1, FAIR_LARGE);
        in[i].owed = i >= 600 ? 1 : 0; /* the least relevant 100, one per merchant */
    }
    assert_int_equal(fair_rerank(&t, in, N, 20, out, NULL), 20);
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i].product, i + 1);
    for (int i = 10; i < 20; i++)
        assert_int_equal(out[i].product, 601 + i - 10);
    free(in);
    fair_table_release(&t);
}

/* The program boost is capped in the discovery tier too, and does not make
 * a merchant owed. */
static void test_discovery_bounded_boost(void **state)
{
    (void)state;
    struct fair_table t;
    struct fair_params p = tiers;
    p.top = 0; /* every rank a discovery slot */
    assert_int_equal(fair_table_init(&t, &p, 10), 0);
    struct fair_candidate in[3] = {CAND(1, 1, 1.6, 1, 0), CAND(2, 2, 1.0, 10, 0),
                                   CAND(3, 3, 100, 1.5, 0)};
    in[0].owed = in[1].owed = 1;
    struct fair_candidate out[3];
    fair_rerank(&t, in, 3, 3, out, NULL);
    assert_int_equal(out[0].product, 1); /* 1.6 > 1.0 x min(10, 1.5) */
    assert_int_equal(out[1].product, 2);
    assert_int_equal(out[2].product, 3); /* not owed: after the owed ones */
    in[0].relevance = 1.4;
    fair_rerank(&t, in, 3, 3, out, NULL);
    assert_int_equal(out[0].product, 2); /* 1.5 > 1.4 */
    fair_table_release(&t);
}

static void test_ledger_running_and_owed(void **state)
{
    (void)state;
    const int64_t day = 24 * HOUR_MS;
    struct fair_ledger *l = fair_ledger_new(HOUR_MS, 48, day);
    for (int64_t m = 1; m <= 4; m++)
        fair_ledger_set_merchant(l, m, FAIR_SMALL);
    int64_t t0 = 500000 * HOUR_MS;
    struct fair_candidate c[5] = {CAND(1, 1, 1, 1, 0), CAND(2, 2, 1, 1, 0), CAND(3, 3, 1, 1, 0),
                                  CAND(4, 4, 1, 1, 0), CAND(5, 9, 1, 1, 0)};
    /* nothing recorded yet: nobody is owed */
    fair_ledger_owed(l, 1.5, c, 5, t0);
    for (int i = 0; i < 5; i++)
        assert_true(c[i].owed == 0);
    double mean = -1;
    assert_true(fair_ledger_running(l, 1, t0, &mean) == 0);
    assert_true(mean == 0);

    /* merchant 1 at rank 1 twice, merchant 2 at rank 2 once */
    struct fair_candidate a[2] = {CAND(1, 1, 1, 1, 0), CAND(2, 2, 1, 1, 0)};
    fair_record(l, FAIR_FEED, a, 1, t0);
    fair_record(l, FAIR_FEED, a, 2, t0);
    double w2 = 1 / log2(3);
    assert_true(fabs(fair_ledger_running(l, 1, t0, &mean) - 2) < 1e-12);
    assert_true(fabs(fair_ledger_running(l, 2, t0, NULL) - w2) < 1e-12);
    assert_true(fabs(mean - (2 + w2) / 4) < 1e-12); /* 4 registered merchants */
    /* one half-life later everything has halved, the mean too */
    assert_true(fabs(fair_ledger_running(l, 1, t0 + day, &mean) - 1) < 1e-9);
    assert_true(fabs(mean - (2 + w2) / 8) < 1e-9);

    /* owed: T = 1.5 x mean; 1 (2 > T) is not, 2 is partly, 3, 4 and the
     * unknown 9 fully */
    double thr = 1.5 * (2 + w2) / 4;
    fair_ledger_owed(l, 1.5, c, 5, t0);
    assert_true(c[0].owed == 0);
    assert_true(fabs(c[1].owed - (1 - w2 / thr)) < 1e-6);
    assert_true(c[2].owed == 1 && c[3].owed == 1 && c[4].owed == 1);

    /* a late list (older clock) is added as decayed to the newest time */
    fair_record(l, FAIR_FEED, &c[2], 1, t0 - day);
    assert_true(fabs(fair_ledger_running(l, 3, t0, NULL) - 0.5) < 1e-9);
    /* recording registers merchant 9: 5 merchants in the mean */
    fair_record(l, FAIR_SEARCH, &c[4], 1, t0);
    fair_ledger_running(l, 1, t0, &mean);
    assert_true(fabs(mean - (2 + w2 + 0.5 + 1) / 5) < 1e-9);
    fair_ledger_free(l);
}

/* fair_rank over many lists with the same candidates: the discovery slots
 * rotate over the owed merchants instead of serving the same few, so every
 * merchant with a candidate is shown, and exposure evens out. */
static void test_rank_amortises(void **state)
{
    (void)state;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &fair_default_params, 100), 0);
    struct fair_ledger *l = fair_ledger_new(HOUR_MS, 48, 0);
    enum { NM = 60 };
    for (int64_t m = 1; m <= NM; m++)
        fair_ledger_set_merchant(l, m, m <= 3 ? FAIR_LARGE : FAIR_SMALL);
    struct fair_candidate in[200], out[20];
    int64_t t0 = 500000 * HOUR_MS;
    for (int list = 0; list < 200; list++) {
        size_t n = 0;
        /* the 3 large merchants hold the 60 most relevant items */
        for (int i = 0; i < 60; i++)
            in[n++] = CAND(i + 1, 1 + i % 3, 1000 - i, 1, FAIR_LARGE);
        for (int64_t m = 4; m <= NM; m++)
            for (int j = 0; j < 2; j++)
                in[n++] = CAND(m * 100 + j, m, 1 + 1.0 / (double)(m + j), 1, FAIR_SMALL);
        assert_int_equal(fair_rank(&t, l, FAIR_FEED, in, n, 20, out, t0 + list * 1000), 20);
        for (size_t i = 0; i < 20; i++)
            for (size_t j = i + 1; j < 20; j++)
                assert_true(out[i].product != out[j].product);
    }
    struct fair_report rep;
    assert_int_equal(fair_report(l, t0, t0 + HOUR_MS, &rep), 0);
    assert_int_equal(rep.nmerchants, NM);
    assert_int_equal(rep.impressions[FAIR_FEED], 200 * 20);
    for (size_t i = 0; i < rep.nmerchants; i++)
        if (rep.merchants[i].total_impressions == 0)
            fail_msg("merchant %lld never shown", (long long)rep.merchants[i].merchant);
    double gini = rep.gini;
    fair_report_release(&rep);
    /* the same lists through FA*IR alone leave most small merchants unseen */
    struct fair_table f;
    assert_int_equal(fair_table_init(&f, &half, 100), 0);
    struct fair_ledger *l2 = fair_ledger_new(HOUR_MS, 48, 0);
    for (int64_t m = 1; m <= NM; m++)
        fair_ledger_set_merchant(l2, m, m <= 3 ? FAIR_LARGE : FAIR_SMALL);
    for (int list = 0; list < 200; list++)
        fair_rank(&f, l2, FAIR_FEED, in, 60 + 2 * (NM - 3), 20, out, t0 + list * 1000);
    assert_int_equal(fair_report(l2, t0, t0 + HOUR_MS, &rep), 0);
    assert_true(gini < rep.gini - 0.2);
    fair_report_release(&rep);
    fair_ledger_free(l2);
    fair_table_release(&f);
    fair_ledger_free(l);
    fair_table_release(&t);
}

static void test_depth(void **state)
{
    (void)state;
    assert_int_equal(fair_depth(&fair_default_params, 20), 200);
    assert_int_equal(fair_depth(&fair_default_params, 100), 300);
    assert_int_equal(fair_depth(NULL, 5), 15);
    struct fair_params bad = tiers;
    bad.slots = 1.5;
    struct fair_table t;
    assert_int_equal(fair_table_init(&t, &bad, 10), -1);
    bad.slots = 1;
    bad.owed_share = -1;
    assert_int_equal(fair_table_init(&t, &bad, 10), -1);
}

static void test_gini(void **state)
{
    (void)state;
    double eq[5] = {3, 3, 3, 3, 3};
    assert_true(fabs(fair_gini(eq, 5)) < 1e-12);
    for (size_t n = 1; n <= 50; n++) {
        double x[50] = {0};
        x[n / 2] = 7.5;
        assert_true(fabs(fair_gini(x, n) - (double)(n - 1) / (double)n) < 1e-12);
    }
    double q[4] = {4, 1, 3, 2}; /* mean absolute difference / (2 mean) = 0.25 */
    assert_true(fabs(fair_gini(q, 4) - 0.25) < 1e-12);
    double z[3] = {0, 0, 0};
    assert_true(fair_gini(z, 3) == 0);
    assert_true(fair_gini(NULL, 0) == 0);
}

static void test_group_of(void **state)
{
    (void)state;
    int64_t now = 1000LL * 24 * HOUR_MS;
    assert_int_equal(fair_group_of(NULL, 4, 1000, 0, now), FAIR_SMALL);
    assert_int_equal(fair_group_of(NULL, 5, 1000, 0, now), FAIR_LARGE);
    assert_int_equal(fair_group_of(NULL, 50, 1000, now - 29 * 24 * HOUR_MS, now), FAIR_NEW);
    assert_int_equal(fair_group_of(NULL, 1, 1000, now - 2 * HOUR_MS, now), FAIR_SMALL | FAIR_NEW);
    assert_int_equal(fair_group_of(NULL, 50, 1000, now - 31 * 24 * HOUR_MS, now), FAIR_LARGE);
}

static const struct fair_merchant_exposure *find(const struct fair_report *r, int64_t m)
{
    for (size_t i = 0; i < r->nmerchants; i++)
        if (r->merchants[i].merchant == m) return &r->merchants[i];
    return NULL;
}

static void test_ledger_accounting(void **state)
{
    (void)state;
    struct fair_ledger *l = fair_ledger_new(HOUR_MS, 48, 0);
    fair_ledger_set_merchant(l, 1, FAIR_LARGE);
    fair_ledger_set_merchant(l, 2, FAIR_SMALL);
    fair_ledger_set_merchant(l, 3, FAIR_NEW); /* never shown */
    int64_t t0 = 500000 * HOUR_MS;
    struct fair_candidate r1[3] = {CAND(10, 1, 1, 1, 0), CAND(20, 2, 1, 1, 1),
                                   CAND(11, 1, 1, 1, 0)};
    fair_record(l, FAIR_FEED, r1, 3, t0 + 5);
    struct fair_candidate r2[1] = {CAND(20, 2, 1, 1, 1)};
    fair_record(l, FAIR_SEARCH, r2, 1, t0 + 2 * HOUR_MS + 7);

    struct fair_report rep;
    assert_int_equal(fair_report(l, t0, t0 + 3 * HOUR_MS, &rep), 0);
    assert_int_equal(rep.nmerchants, 3);
    const struct fair_merchant_exposure *m1 = find(&rep, 1), *m2 = find(&rep, 2),
                                        *m3 = find(&rep, 3);
    assert_non_null(m1);
    assert_non_null(m2);
    assert_non_null(m3);
    /* ranks 1 and 3: 1 + 1/log2(4) = 1.5; rank 2: 1/log2(3) */
    assert_true(fabs(m1->exposure[FAIR_FEED] - 1.5) < 1e-12);
    assert_int_equal(m1->impressions[FAIR_FEED], 2);
    assert_true(fabs(m2->exposure[FAIR_FEED] - 1 / log2(3)) < 1e-12);
    assert_true(fabs(m2->exposure[FAIR_SEARCH] - 1) < 1e-12);
    assert_int_equal(m2->total_impressions, 2);
    assert_int_equal(m3->total_impressions, 0);
    assert_int_equal(rep.impressions[FAIR_FEED], 3);
    assert_int_equal(rep.impressions[FAIR_SEARCH], 1);
    assert_int_equal(rep.impressions[FAIR_SIMILAR], 0);
    assert_ptr_equal(&rep.merchants[0], m2); /* sorted by exposure: 1.63 > 1.5 > 0 */
    double tot = 1.5 + 1 / log2(3) + 1;
    assert_true(fabs(rep.protected_share - (1 / log2(3) + 1) / tot) < 1e-12);
    double x[3] = {1.5, 1 / log2(3) + 1, 0};
    assert_true(fabs(rep.gini - fair_gini(x, 3)) < 1e-12);
    fair_report_release(&rep);

    /* from/to select buckets: only the search list is in [t0+1h, t0+3h) */
    assert_int_equal(fair_report(l, t0 + HOUR_MS + 1, t0 + 3 * HOUR_MS, &rep), 0);
    assert_int_equal(rep.from_ms, t0 + HOUR_MS);
    assert_int_equal(rep.impressions[FAIR_FEED], 0);
    assert_int_equal(rep.impressions[FAIR_SEARCH], 1);
    /* one of three merchants holds everything */
    assert_true(fabs(rep.gini - 2.0 / 3.0) < 1e-12);
    assert_true(fabs(rep.gini_by_kind[FAIR_SEARCH] - 2.0 / 3.0) < 1e-12);
    fair_report_release(&rep);
    /* empty range */
    assert_int_equal(fair_report(l, t0 + 10 * HOUR_MS, t0, &rep), 0);
    assert_int_equal(rep.impressions[FAIR_FEED] + rep.impressions[FAIR_SEARCH], 0);
    assert_true(rep.gini == 0);
    fair_report_release(&rep);

    /* the ring keeps 48 buckets: 50 hours later the first ones are gone, and
     * a list recorded with an old time is dropped */
    fair_record(l, FAIR_SIMILAR, r2, 1, t0 + 50 * HOUR_MS);
    fair_record(l, FAIR_SIMILAR, r2, 1, t0 + 2 * HOUR_MS);
    assert_int_equal(fair_report(l, t0, t0 + 60 * HOUR_MS, &rep), 0);
    assert_int_equal(rep.impressions[FAIR_FEED], 0);
    assert_int_equal(rep.impressions[FAIR_SEARCH], 0);
    assert_int_equal(rep.impressions[FAIR_SIMILAR], 1);
    fair_report_release(&rep);
    fair_ledger_free(l);
}

int main(void)
{
    tiers_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_binomial),
        cmocka_unit_test(test_rerank_prefix_and_order),
        cmocka_unit_test(test_rerank_unconstrained_is_relevance_order),
        cmocka_unit_test(test_rerank_promotes_protected),
        cmocka_unit_test(test_rerank_bounded_boost),
        cmocka_unit_test(test_discovery_slots_go_to_owed),
        cmocka_unit_test(test_top_tier_unchanged_by_discovery),
        cmocka_unit_test(test_rerank_large_input),
        cmocka_unit_test(test_discovery_bounded_boost),
        cmocka_unit_test(test_ledger_running_and_owed),
        cmocka_unit_test(test_rank_amortises),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_gini),
        cmocka_unit_test(test_group_of),
        cmocka_unit_test(test_ledger_accounting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
