/*
 * Tests for src/discovery/fair: the FA*IR prefix table against a direct
 * binomial computation, the re-ranker's guarantees (prefix constraint at
 * every prefix, relevance order kept inside each group, bounded boost), the
 * Gini coefficient on known inputs and the exposure ledger's accounting.
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
            struct fair_params prm = {ps[a], alphas[b], 1.5};
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
    struct fair_params zero = {0, 0.1, 1.5}, bad = {1.0, 0.1, 1.5}, badb = {0.5, 0.1, 0.9};
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
    assert_int_equal(fair_table_init(&t, &(struct fair_params){0.6, 0.1, 1.5}, 100), 0);
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
    assert_int_equal(fair_table_init(&t, &(struct fair_params){0, 0.1, 1.5}, 10), 0);
    struct fair_candidate in[5] = {{1, 1, 0.2, 1, 0},
                                   {2, 2, 0.9, 1, 1},
                                   {3, 3, 0.5, 1, 0},
                                   {4, 4, 0.5, 1, 1},
                                   {5, 5, 0.1, 1, 0}};
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
    assert_int_equal(fair_table_init(&t, &(struct fair_params){0, 0.1, 1.5}, 10), 0);
    struct fair_candidate out[2];
    /* boost 10 counts as 1.5: 1.0 * 1.5 < 1.6 */
    struct fair_candidate a[2] = {{1, 1, 1.6, 1, 0}, {2, 2, 1.0, 10, 0}};
    fair_rerank(&t, a, 2, 2, out, NULL);
    assert_int_equal(out[0].product, 1);
    /* 1.0 * 1.5 > 1.4: the enrolled merchant's item goes first */
    struct fair_candidate b[2] = {{1, 1, 1.4, 1, 0}, {2, 2, 1.0, 10, 0}};
    fair_rerank(&t, b, 2, 2, out, NULL);
    assert_int_equal(out[0].product, 2);
    /* boost below 1 is no boost */
    struct fair_candidate c[2] = {{1, 1, 1.0, 1, 0}, {2, 2, 0.9, 0.1, 0}};
    fair_rerank(&t, c, 2, 2, out, NULL);
    assert_int_equal(out[0].product, 1);
    assert_true(out[1].relevance == 0.9); /* candidates are copied unchanged */
    fair_table_release(&t);
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
    struct fair_ledger *l = fair_ledger_new(HOUR_MS, 48);
    fair_ledger_set_merchant(l, 1, FAIR_LARGE);
    fair_ledger_set_merchant(l, 2, FAIR_SMALL);
    fair_ledger_set_merchant(l, 3, FAIR_NEW); /* never shown */
    int64_t t0 = 500000 * HOUR_MS;
    struct fair_candidate r1[3] = {{10, 1, 1, 1, 0}, {20, 2, 1, 1, 1}, {11, 1, 1, 1, 0}};
    fair_record(l, FAIR_FEED, r1, 3, t0 + 5);
    struct fair_candidate r2[1] = {{20, 2, 1, 1, 1}};
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_binomial),
        cmocka_unit_test(test_rerank_prefix_and_order),
        cmocka_unit_test(test_rerank_unconstrained_is_relevance_order),
        cmocka_unit_test(test_rerank_promotes_protected),
        cmocka_unit_test(test_rerank_bounded_boost),
        cmocka_unit_test(test_gini),
        cmocka_unit_test(test_group_of),
        cmocka_unit_test(test_ledger_accounting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
