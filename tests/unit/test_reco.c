/*
 * Tests for src/discovery/reco: the co-occurrence model on a tiny fixed
 * history (neighbours, cosine values, reasons), the feed (reasons and
 * anchors, excluding bought products, recency, live history, cold start with
 * the caller's fallback, then popular), and readers running while the model
 * is retrained and swapped.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "discovery/reco.h"

#define DAY (24LL * 3600 * 1000)
#define T0  (1700000000LL * 1000)

enum { A = 101, B, C, D, E, F, G };

/*
 * u1, u2 bought A and B; u3 bought A and C; u4 bought C and D;
 * u5, u6 viewed E and F; u11, u12 bought G (and nothing else).
 * Every event at T0, so the decay plays no part.
 */
static void tiny_history(struct reco *r)
{
    reco_add(r, 1, A, RECO_PURCHASE, 1, T0);
    reco_add(r, 1, B, RECO_PURCHASE, 1, T0);
    reco_add(r, 2, A, RECO_PURCHASE, 1, T0);
    reco_add(r, 2, B, RECO_PURCHASE, 1, T0);
    reco_add(r, 3, A, RECO_PURCHASE, 1, T0);
    reco_add(r, 3, C, RECO_PURCHASE, 1, T0);
    reco_add(r, 4, C, RECO_PURCHASE, 1, T0);
    reco_add(r, 4, D, RECO_PURCHASE, 1, T0);
    reco_add(r, 5, E, RECO_VIEW, 1, T0);
    reco_add(r, 5, F, RECO_VIEW, 1, T0);
    reco_add(r, 6, E, RECO_VIEW, 1, T0);
    reco_add(r, 6, F, RECO_VIEW, 1, T0);
    reco_add(r, 11, G, RECO_PURCHASE, 1, T0);
    reco_add(r, 12, G, RECO_PURCHASE, 1, T0);
}

static void test_similar_min_support(void **state)
{
    (void)state;
    struct reco *r = reco_new(NULL); /* min_support 2 */
    tiny_history(r);
    struct reco_item out[8];
    assert_int_equal(reco_similar(r, A, 8, out), 0); /* no model yet */
    assert_int_equal(reco_train(r), 4);              /* A, B, E, F have neighbours */
    assert_int_equal(reco_similar(r, A, 8, out), 1); /* A-C: one user only */
    assert_int_equal(out[0].product, B);
    assert_int_equal(out[0].reason, RECO_BOUGHT_WITH);
    assert_int_equal(out[0].anchor, A);
    /* every user has 2 products so all weights are equal: the cosine is
     * co(A,B) / sqrt(n(A) n(B)) = 2 / sqrt(3 * 2) */
    assert_true(fabsf(out[0].score - (float)(2 / sqrt(6))) < 1e-5);
    assert_int_equal(reco_similar(r, B, 8, out), 1);
    assert_int_equal(out[0].product, A);
    assert_int_equal(reco_similar(r, E, 8, out), 1);
    assert_int_equal(out[0].product, F);
    assert_int_equal(out[0].reason, RECO_VIEWED_WITH);
    assert_true(fabsf(out[0].score - 1.0f) < 1e-5);
    assert_int_equal(reco_similar(r, C, 8, out), 0);
    assert_int_equal(reco_similar(r, G, 8, out), 0);
    assert_int_equal(reco_similar(r, 999, 8, out), 0);
    assert_int_equal(reco_similar(r, A, 0, out), 0);
    struct reco_stats st;
    reco_stats(r, &st);
    assert_int_equal(st.events, 14);
    assert_int_equal(st.users, 8);
    assert_int_equal(st.model_version, 1);
    assert_int_equal(st.model_items, 7);
    assert_int_equal(st.model_pairs, 4);
    reco_free(r);
}

static void test_similar_support_one(void **state)
{
    (void)state;
    struct reco *r = reco_new(&(struct reco_config){.min_support = 1});
    tiny_history(r);
    reco_train(r);
    struct reco_item out[8];
    /* A: B (2 users, 2/sqrt(6)) before C (1 user, 1/sqrt(6)) */
    assert_int_equal(reco_similar(r, A, 8, out), 2);
    assert_int_equal(out[0].product, B);
    assert_int_equal(out[1].product, C);
    assert_true(fabsf(out[1].score - (float)(1 / sqrt(6))) < 1e-5);
    /* C: D (1/sqrt(2*1)) before A (1/sqrt(2*3)) */
    assert_int_equal(reco_similar(r, C, 8, out), 2);
    assert_int_equal(out[0].product, D);
    assert_int_equal(out[1].product, A);
    assert_int_equal(reco_similar(r, C, 1, out), 1);
    /* mixed pair: bought by one, viewed by the other -> viewed_with */
    reco_add(r, 7, D, RECO_VIEW, 1, T0);
    reco_add(r, 7, G, RECO_VIEW, 1, T0);
    reco_add(r, 8, D, RECO_PURCHASE, 1, T0);
    reco_add(r, 8, G, RECO_VIEW, 1, T0);
    reco_train(r);
    assert_int_equal(reco_similar(r, G, 8, out), 1);
    assert_int_equal(out[0].product, D);
    assert_int_equal(out[0].reason, RECO_VIEWED_WITH);
    reco_free(r);
}

static int find(const struct reco_item *it, size_t n, int64_t p)
{
    for (size_t i = 0; i < n; i++)
        if (it[i].product == p) return (int)i;
    return -1;
}

static void test_feed_reasons_and_exclusion(void **state)
{
    (void)state;
    struct reco *r = reco_new(NULL);
    tiny_history(r);
    reco_add(r, 20, A, RECO_PURCHASE, 1, T0 + DAY); /* a shopper who bought A */
    reco_train(r);
    struct reco_item out[10];
    size_t n = reco_feed(r, 20, 10, 1, out);
    assert_true(n >= 2);
    assert_int_equal(out[0].product, B);
    assert_int_equal(out[0].reason, RECO_BECAUSE_YOU_BOUGHT);
    assert_int_equal(out[0].anchor, A);
    assert_int_equal(find(out, n, A), -1); /* bought: excluded */
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(out[i].reason, RECO_POPULAR); /* the rest is popular fill */
        assert_int_equal(out[i].anchor, 0);
    }
    assert_int_equal(n, 6); /* 7 products in the model, minus A */
    /* exclude_bought = 0: a bought product may come back */
    reco_add(r, 21, A, RECO_PURCHASE, 1, T0);
    reco_add(r, 21, B, RECO_PURCHASE, 1, T0);
    n = reco_feed(r, 21, 2, 0, out);
    assert_int_equal(n, 2);
    assert_true(find(out, n, A) >= 0 && find(out, n, B) >= 0);
    assert_int_equal(out[find(out, n, A)].anchor, B);
    n = reco_feed(r, 21, 10, 1, out);
    assert_int_equal(find(out, n, A), -1);
    assert_int_equal(find(out, n, B), -1);
    reco_free(r);
}

static void test_feed_live_history_and_viewed(void **state)
{
    (void)state;
    struct reco *r = reco_new(NULL);
    tiny_history(r);
    reco_train(r);
    struct reco_item out[4];
    /* no retraining: the view is in the user's history at once */
    reco_add(r, -42, E, RECO_VIEW, 1, T0 + DAY); /* an anonymous session */
    size_t n = reco_feed(r, -42, 4, 1, out);
    assert_true(n >= 1);
    assert_int_equal(out[0].product, F);
    assert_int_equal(out[0].reason, RECO_BECAUSE_YOU_VIEWED);
    assert_int_equal(out[0].anchor, E);
    /* viewed, not bought: E itself may be shown by exclude_bought */
    reco_add(r, -42, F, RECO_VIEW, 1, T0 + DAY);
    n = reco_feed(r, -42, 4, 1, out);
    assert_true(find(out, n, E) >= 0);
    reco_free(r);
}

static void test_feed_recency(void **state)
{
    (void)state;
    struct reco *r = reco_new(NULL);
    tiny_history(r);
    reco_train(r);
    struct reco_item out[4];
    /* bought A 300 days ago, viewed E today: E's neighbour comes first
     * although a purchase weighs 8 views */
    reco_add(r, 30, A, RECO_PURCHASE, 1, T0);
    reco_add(r, 30, E, RECO_VIEW, 1, T0 + 300 * DAY);
    size_t n = reco_feed(r, 30, 4, 1, out);
    assert_true(n >= 2);
    assert_int_equal(out[0].product, F);
    assert_int_equal(out[1].product, B);
    assert_int_equal(out[1].reason, RECO_BECAUSE_YOU_BOUGHT);
    /* the same two on the same day: the purchase wins */
    reco_add(r, 31, A, RECO_PURCHASE, 1, T0);
    reco_add(r, 31, E, RECO_VIEW, 1, T0);
    n = reco_feed(r, 31, 4, 1, out);
    assert_int_equal(out[0].product, B);
    assert_int_equal(out[1].product, F);
    reco_free(r);
}

static void test_cold_start(void **state)
{
    (void)state;
    struct reco *r = reco_new(NULL);
    struct reco_item out[10];
    assert_int_equal(reco_feed(r, 77, 10, 1, out), 0); /* nothing at all */
    struct reco_item fb[3] = {{.product = 900, .reason = RECO_TRENDING},
                              {.product = 901, .reason = RECO_NEW_MERCHANT},
                              {.product = A, .reason = RECO_TRENDING}};
    reco_set_fallback(r, fb, 3);
    assert_int_equal(reco_feed(r, 77, 10, 1, out), 3);
    tiny_history(r);
    reco_train(r);
    size_t n = reco_feed(r, 77, 10, 1, out);
    assert_int_equal(n, 9); /* 3 fallback + 7 popular, A only once */
    assert_int_equal(out[0].product, 900);
    assert_int_equal(out[0].reason, RECO_TRENDING);
    assert_int_equal(out[1].reason, RECO_NEW_MERCHANT);
    assert_int_equal(out[2].product, A);
    for (size_t i = 3; i < n; i++)
        assert_int_equal(out[i].reason, RECO_POPULAR);
    assert_int_equal(find(out + 3, n - 3, A), -1);
    /* the popular list is by summed weight: A (3 buyers) first after fallback */
    reco_set_fallback(r, NULL, 0);
    n = reco_feed(r, 77, 10, 1, out);
    assert_int_equal(out[0].product, A);
    /* a user who bought a fallback product does not get it back */
    reco_set_fallback(r, fb, 3);
    reco_add(r, 78, 900, RECO_PURCHASE, 1, T0);
    n = reco_feed(r, 78, 10, 1, out);
    assert_int_equal(find(out, n, 900), -1);
    assert_int_equal(out[0].product, 901);
    /* invalid ids are ignored */
    reco_add(r, 0, A, RECO_VIEW, 1, T0);
    reco_add(r, 5, 0, RECO_VIEW, 1, T0);
    reco_add(r, 5, A, (enum reco_event)9, 1, T0);
    assert_true(reco_feed(r, 0, 10, 1, out) > 0); /* id 0: a cold start */
    assert_string_equal(reco_reason_names[RECO_BECAUSE_YOU_BOUGHT], "because_you_bought");
    assert_string_equal(reco_event_names[RECO_PURCHASE], "purchase");
    reco_free(r);
}

static void test_feed_neighbours(void **state)
{
    (void)state;
    /* A has two neighbours (B, C); the feed uses only the best one */
    struct reco *r = reco_new(&(struct reco_config){.min_support = 1, .feed_neighbours = 1});
    tiny_history(r);
    reco_add(r, 50, A, RECO_PURCHASE, 1, T0);
    reco_train(r);
    struct reco_item out[8];
    assert_int_equal(reco_similar(r, A, 8, out), 2);
    size_t n = reco_feed(r, 50, 8, 1, out);
    assert_int_equal(out[0].product, B);
    assert_int_equal(out[0].reason, RECO_BECAUSE_YOU_BOUGHT);
    for (size_t i = 1; i < n; i++) assert_int_equal(out[i].reason, RECO_POPULAR);
    reco_free(r);
}

static void test_user_cap(void **state)
{
    (void)state;
    struct reco *r = reco_new(&(struct reco_config){.user_cap = 8, .feed_cap = 4});
    tiny_history(r);
    /* user 40 bought A first, then viewed 10 other products: A dropped out
     * of its 8 most recent, so exclude_bought no longer knows it */
    reco_add(r, 40, A, RECO_PURCHASE, 1, T0);
    for (int i = 0; i < 10; i++)
        reco_add(r, 40, 500 + i, RECO_VIEW, 1, T0 + (i + 1) * DAY);
    reco_train(r);
    struct reco_item out[20];
    size_t n = reco_feed(r, 40, 20, 1, out);
    assert_true(find(out, n, A) >= 0);
    reco_free(r);
}

struct churn {
    struct reco *r;
    atomic_int stop;
    long feeds;
};

static void *reader(void *arg)
{
    struct churn *c = arg;
    struct reco_item out[20];
    while (!atomic_load(&c->stop)) {
        for (int64_t u = 1; u <= 50; u++) {
            size_t n = reco_feed(c->r, u, 20, 1, out);
            for (size_t i = 0; i < n; i++)
                assert_true(out[i].product > 0);
            reco_similar(c->r, 100 + u, 10, out);
            c->feeds++;
        }
    }
    return NULL;
}

static void test_readers_during_training(void **state)
{
    (void)state;
    struct reco *r = reco_new(NULL);
    struct churn c = {.r = r};
    pthread_t th;
    pthread_create(&th, NULL, reader, &c);
    uint64_t x = 1;
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < 2000; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            reco_add(r, (int64_t)(x >> 58) + 1, 100 + (int64_t)((x >> 20) % 300), RECO_PURCHASE, 1,
                     T0 + round * DAY);
        }
        reco_train(r);
    }
    atomic_store(&c.stop, 1);
    pthread_join(th, NULL);
    assert_true(c.feeds > 0);
    struct reco_stats st;
    reco_stats(r, &st);
    assert_int_equal(st.model_version, 30);
    assert_int_equal(st.events, 60000);
    reco_free(r);
}

static void test_background_training(void **state)
{
    (void)state;
    struct reco *r = reco_new(&(struct reco_config){.train_every_ms = 10});
    tiny_history(r);
    struct reco_item out[4];
    size_t n = 0;
    for (int i = 0; i < 200 && n == 0; i++) { /* up to 2 s */
        usleep(10000);
        n = reco_similar(r, A, 4, out);
    }
    assert_int_equal(n, 1);
    assert_int_equal(out[0].product, B);
    struct reco_stats st;
    usleep(50000);
    reco_stats(r, &st);
    assert_int_equal(st.model_version, 1); /* no new events: no retraining */
    reco_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_similar_min_support),
        cmocka_unit_test(test_similar_support_one),
        cmocka_unit_test(test_feed_reasons_and_exclusion),
        cmocka_unit_test(test_feed_live_history_and_viewed),
        cmocka_unit_test(test_feed_recency),
        cmocka_unit_test(test_cold_start),
        cmocka_unit_test(test_feed_neighbours),
        cmocka_unit_test(test_user_cap),
        cmocka_unit_test(test_readers_during_training),
        cmocka_unit_test(test_background_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
