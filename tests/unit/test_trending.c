/*
 * Tests for src/discovery/trending: a burst surfaces within a minute while
 * steady keys stay out, one event is never trending, the baseline learns a
 * key's usual rate, queries are normalised, late and very old events, the
 * key bound with eviction of cold keys, and concurrent adds.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discovery/trending.h"

#define MIN_MS (60LL * 1000)
#define T0     (1700000000LL * 1000) /* an arbitrary minute-aligned start */

/* 20 steady products (ids 1..20), 2 events a minute each, for `minutes`. */
static int64_t run_steady(struct trending *t, int64_t start, int minutes)
{
    int64_t now = start;
    for (int m = 0; m < minutes; m++) {
        for (int64_t p = 1; p <= 20; p++) {
            trending_add_product(t, p, 1, now + 1000 * p);
            trending_add_product(t, p, 1, now + 30000 + 1000 * p);
        }
        now += MIN_MS;
    }
    return now;
}

static void test_burst_within_a_minute(void **state)
{
    (void)state;
    struct trending *t = trending_new(NULL);
    struct trending_item out[10];
    int64_t now = run_steady(t, T0, 180);
    /* steady for three hours: nothing trends */
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, now, 10, out), 0);
    /* a burst on product 99: 40 views in 30 seconds */
    for (int i = 0; i < 40; i++)
        trending_add_product(t, 99, 1, now + 750 * i);
    int64_t seen = now + 30000; /* 30 s after the burst began */
    size_t n = trending_top(t, TRENDING_PRODUCT, seen, 10, out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].product, 99);
    assert_int_equal(out[0].last_hour, 40);
    assert_true(out[0].score >= 3);
    /* even the very first seconds: 10 events, already visible */
    struct trending *t2 = trending_new(NULL);
    run_steady(t2, T0, 120);
    for (int i = 0; i < 12; i++)
        trending_add_product(t2, 77, 1, T0 + 120 * MIN_MS + 100 * i);
    n = trending_top(t2, TRENDING_PRODUCT, T0 + 120 * MIN_MS + 2000, 10, out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].product, 77);
    trending_free(t2);
    /* two hours after the burst it has left the hour window: gone */
    now = run_steady(t, now + MIN_MS, 120);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, now, 10, out), 0);
    trending_free(t);
}

static void test_steady_key_bursting(void **state)
{
    (void)state;
    struct trending *t = trending_new(NULL);
    struct trending_item out[4];
    int64_t now = run_steady(t, T0, 24 * 60); /* a day of 120 events/hour each */
    /* a 5% rise on product 3 is not a trend */
    for (int i = 0; i < 6; i++)
        trending_add_product(t, 3, 1, now + i);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, now + 1000, 4, out), 0);
    /* a hot moment: 600 extra events within a minute */
    trending_add_product(t, 3, 600, now + 2000);
    size_t n = trending_top(t, TRENDING_PRODUCT, now + 3000, 4, out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].product, 3);
    /* the usual rate it is compared with is what it had: ~120 an hour */
    assert_true(out[0].usual_hour > 100 && out[0].usual_hour < 125);
    trending_free(t);
}

static void test_min_count(void **state)
{
    (void)state;
    struct trending *t = trending_new(NULL);
    struct trending_item out[4];
    /* a never-seen product with one event, then nine: below min_count 10 */
    trending_add_product(t, 5, 1, T0);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0, 4, out), 0);
    for (int i = 0; i < 8; i++)
        trending_add_product(t, 5, 1, T0 + i);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 10, 4, out), 0);
    trending_add_product(t, 5, 1, T0 + 20);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 30, 4, out), 1);
    /* ids <= 0 and n = 0 are ignored */
    trending_add_product(t, 0, 5, T0);
    trending_add_product(t, -4, 5, T0);
    trending_add_product(t, 6, 0, T0);
    assert_int_equal(trending_size(t, TRENDING_PRODUCT), 1);
    trending_free(t);
}

static void test_ordering_and_k(void **state)
{
    (void)state;
    struct trending *t = trending_new(NULL);
    struct trending_item out[3];
    for (int64_t p = 1; p <= 5; p++)
        trending_add_product(t, p, (uint32_t)(10 * p), T0);
    size_t n = trending_top(t, TRENDING_PRODUCT, T0 + MIN_MS, 3, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].product, 5);
    assert_int_equal(out[1].product, 4);
    assert_int_equal(out[2].product, 3);
    assert_true(out[0].score > out[1].score && out[1].score > out[2].score);
    trending_free(t);
}

static void test_queries(void **state)
{
    (void)state;
    char buf[TRENDING_QUERY_MAX + 1];
    assert_int_equal(trending_normalize("  Red \t  DRESS\n", 15, buf), 9);
    assert_string_equal(buf, "red dress");
    assert_int_equal(trending_normalize("   ", 3, buf), 0);
    /* a cut never splits a UTF-8 character: 40 x "双" (3 bytes) -> 32 of them */
    char big[121];
    for (int i = 0; i < 40; i++)
        memcpy(big + 3 * i, "\xe5\x8f\x8c", 3);
    assert_int_equal(trending_normalize(big, 120, buf), 96);
    char big2[122] = "a";
    memcpy(big2 + 1, big, 120);
    assert_int_equal(trending_normalize(big2, 121, buf), 94); /* 1 + 31 * 3 */

    struct trending *t = trending_new(NULL);
    struct trending_item out[4];
    for (int i = 0; i < 6; i++)
        trending_add_query(t, "Red  Dress", 10, T0 + i);
    for (int i = 0; i < 6; i++)
        trending_add_query(t, " red dress ", 11, T0 + 10 + i);
    trending_add_query(t, "", 0, T0);
    trending_add_query(t, " ", 1, T0);
    assert_int_equal(trending_size(t, TRENDING_QUERY), 1);
    assert_int_equal(trending_top(t, TRENDING_QUERY, T0 + 100, 4, out), 1);
    assert_string_equal(out[0].query, "red dress");
    assert_int_equal(out[0].last_hour, 12);
    assert_int_equal(out[0].product, 0);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 100, 4, out), 0);
    trending_free(t);
}

static void test_late_and_old_events(void **state)
{
    (void)state;
    struct trending *t = trending_new(NULL);
    struct trending_item out[2];
    trending_add_product(t, 8, 5, T0 + 30 * MIN_MS);
    trending_add_product(t, 8, 5, T0 + 10 * MIN_MS); /* late, inside the window: counts */
    trending_add_product(t, 8, 5, T0 - 40 * MIN_MS); /* older than the window: dropped */
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 31 * MIN_MS, 2, out), 1);
    assert_int_equal(out[0].last_hour, 10);
    /* a clock going backwards is "now = the newest event" */
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0, 2, out), 1);
    /* the late minute leaves the window on time, into the baseline */
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 71 * MIN_MS, 2, out), 0);
    trending_add_product(t, 8, 25, T0 + 71 * MIN_MS);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 71 * MIN_MS, 2, out), 1);
    assert_int_equal(out[0].last_hour, 30);
    /* minutes 10 and 11 were folded (5 events); under an hour of history the
     * rest counts as zero: usual = 60 * 5 / 60 */
    assert_true(out[0].usual_hour > 4.99 && out[0].usual_hour < 5.01);
    trending_free(t);
}

static void test_bounded_keys(void **state)
{
    (void)state;
    struct trending *t = trending_new(&(struct trending_config){.max_keys = 256});
    struct trending_item out[2];
    trending_add_product(t, 424242, 50, T0); /* hot */
    for (int64_t p = 1; p <= 5000; p++)
        trending_add_product(t, p, 1, T0 + p);
    assert_true(trending_size(t, TRENDING_PRODUCT) <= 256);
    assert_int_equal(trending_top(t, TRENDING_PRODUCT, T0 + 6000, 2, out), 1);
    assert_int_equal(out[0].product, 424242);
    trending_free(t);
}

struct adder {
    struct trending *t;
    int n;
};

static void *add_many(void *arg)
{
    struct adder *a = arg;
    for (int i = 0; i < a->n; i++) {
        trending_add_product(a->t, 1 + i % 4, 1, T0 + i);
        trending_add_query(a->t, "lamp", 4, T0 + i);
    }
    return NULL;
}

static void test_concurrent_adds(void **state)
{
    (void)state;
    struct trending *t = trending_new(NULL);
    struct adder a = {t, 20000};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, add_many, &a);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    struct trending_item out[8];
    size_t n = trending_top(t, TRENDING_PRODUCT, T0 + 30000, 8, out);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i].last_hour, 10000);
    assert_int_equal(trending_top(t, TRENDING_QUERY, T0 + 30000, 8, out), 1);
    assert_int_equal(out[0].last_hour, 40000);
    trending_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_within_a_minute),
        cmocka_unit_test(test_steady_key_bursting),
        cmocka_unit_test(test_min_count),
        cmocka_unit_test(test_ordering_and_k),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_late_and_old_events),
        cmocka_unit_test(test_bounded_keys),
        cmocka_unit_test(test_concurrent_adds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
