/* Unit tests for src/discovery/search.c: ranking, facets, filters, typos, updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "discovery/search.h"
#include "discovery/search_int.h" /* the typo search is checked directly */

/* Categories: 1 Bags > 11 Backpacks, 12 Handbags; 2 Shoes > 21 Running. */
static const int64_t under_bags[] = {1}, under_shoes[] = {2};

struct item {
    int64_t id;
    const char *title, *attrs, *desc;
    int64_t cat;
    int kind;
    int64_t price;
    const char *cur;
};

/*
 * The fixed catalog. For "backpack" the expected order is by field and
 * length: short title (101) > medium title (107) > long title (102) >
 * attributes only (103) > description only (104). For "running shoes",
 * both words in the title (105) beat both in the description (108).
 */
static const struct item catalog[] = {
    {101, "Leather Backpack", "material: leather", "A classic bag for work.", 11, 0, 29900, "CNY"},
    {102, "Canvas Travel Backpack with Laptop Sleeve and Many Pockets", "material: canvas",
     "Fits a 15 inch laptop.", 11, 1, 15900, "CNY"},
    {103, "Travel Tote", "style: backpack convertible", "A tote bag.", 12, 2, 8900, "CNY"},
    {104, "Weekend Duffel", "", "Roomy duffel, lighter than a backpack.", 12, 0, 45900, "CNY"},
    {105, "Trail Running Shoes", "color: black", "Grippy shoes for running on trails.", 21, 3,
     59900, "USD"},
    {106, "北京奥运会双肩包 2008 经典款", "颜色: 黑色", "纪念版双肩背包", 11, 4, 19900, "CNY"},
    {107, "Kids School Backpack <Blue> & \"Fun\"", "", "", 11, 6, 4900, "CNY"},
    {108, "Casual Sneakers", "", "Not for running, but comfy shoes.", 21, 5, 39900, "USD"},
};
#define NCAT (sizeof(catalog) / sizeof(catalog[0]))

static struct search_doc doc_of(const struct item *it)
{
    struct search_doc d = {0};
    d.id = it->id;
    d.title = it->title;
    d.attributes = it->attrs;
    d.description = it->desc;
    d.category_id = it->cat;
    d.category_ancestors = it->cat >= 20 ? under_shoes : under_bags;
    d.n_category_ancestors = 1;
    d.merchant_id = 1000 + it->id % 3;
    d.merchant_kind = (uint8_t)it->kind;
    d.price = it->price;
    memcpy(d.currency, it->cur, 4);
    d.created_at = it->id; /* 107 is the newest */
    d.active = true;
    return d;
}

static struct search_index *fresh_catalog(void)
{
    struct search_options o = {.manual_refresh = true};
    struct search_index *idx = search_index_new(&o);
    assert_non_null(idx);
    for (size_t i = 0; i < NCAT; i++) {
        struct search_doc d = doc_of(&catalog[i]);
        assert_int_equal(search_index_upsert(idx, &d), SEARCH_OK);
    }
    search_index_refresh(idx);
    return idx;
}

static int setup(void **state)
{
    *state = fresh_catalog();
    return 0;
}

static int teardown(void **state)
{
    search_index_free(*state);
    return 0;
}

/* Runs q and returns the hit ids as "101 107 ..." (and the result in *out if given). */
static const char *ids(struct search_index *idx, const struct search_query *q,
                       struct search_result *out)
{
    static char buf[1024];
    struct search_result r;
    size_t n = 0;
    assert_int_equal(search_index_query(idx, q, &r), SEARCH_OK);
    buf[0] = 0;
    for (uint32_t i = 0; i < r.n_hits; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lld", i ? " " : "",
                              (long long)r.hits[i].id);
    if (out)
        *out = r;
    else
        search_result_release(&r);
    return buf;
}

static const char *ids_q(struct search_index *idx, const char *text)
{
    struct search_query q = {.q = text};
    return ids(idx, &q, NULL);
}

static uint32_t facet(const struct search_facet *f, uint32_t n, int64_t value)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].value == value) return f[i].count;
    return 0;
}

/* ---- ranking ---------------------------------------------------------------- */

static void ranking_title_over_attributes_over_description(void **state)
{
    struct search_index *idx = *state;
    assert_string_equal(ids_q(idx, "backpack "), "101 107 102 103 104");
    /* Stems: the plural finds the same, in the same order. */
    assert_string_equal(ids_q(idx, "Backpacks "), "101 107 102 103 104");
    /* Two words: both in the title first. */
    assert_string_equal(ids_q(idx, "running shoes "), "105 108");
    assert_string_equal(ids_q(idx, "bag "), "103 101"); /* the shorter description */
    /* Every word must match. */
    assert_string_equal(ids_q(idx, "leather duffel "), "");
}

static void scores_and_hit_fields(void **state)
{
    struct search_index *idx = *state;
    struct search_query q = {.q = "backpack "};
    struct search_result r;
    ids(idx, &q, &r);
    assert_int_equal(r.total, 5);
    assert_true(r.total_exact && r.facets_exact && r.ranking_exact);
    for (uint32_t i = 1; i < r.n_hits; i++)
        assert_true(r.hits[i - 1].score > r.hits[i].score);
    assert_string_equal(r.hits[0].title, "Leather Backpack");
    assert_string_equal(r.hits[0].highlight, "Leather <em>Backpack</em>");
    assert_int_equal(r.hits[0].price, 29900);
    assert_string_equal(r.hits[0].currency, "CNY");
    assert_int_equal(r.hits[0].category_id, 11);
    assert_int_equal(r.hits[0].merchant_id, 1000 + 101 % 3);
    assert_int_equal(r.hits[0].merchant_kind, SEARCH_KIND_BRAND);
    assert_string_equal(r.next_cursor, "");
    search_result_release(&r);
}

static void chinese(void **state)
{
    struct search_index *idx = *state;
    struct search_query q = {.q = "双肩包"};
    struct search_result r;
    assert_string_equal(ids(idx, &q, &r), "106");
    assert_string_equal(r.hits[0].highlight, "北京奥运会<em>双肩包</em> 2008 经典款");
    search_result_release(&r);
    q.q = "奥运会";
    assert_string_equal(ids(idx, &q, &r), "106");
    assert_string_equal(r.hits[0].highlight, "北京<em>奥运会</em>双肩包 2008 经典款");
    search_result_release(&r);
    /* A word split differently by ICU still matches through its bigrams. */
    assert_string_equal(ids_q(idx, "经典款"), "106");
    assert_string_equal(ids_q(idx, "黑色"), "106");
    /* Mixed query: a Chinese word and a number. */
    assert_string_equal(ids_q(idx, "双肩包 2008 "), "106");
    assert_string_equal(ids_q(idx, "双肩包 2009 "), "");
    /* One character as you type: completes to the words starting with it. */
    assert_string_equal(ids_q(idx, "双"), "106");
    assert_string_equal(ids_q(idx, "鞋"), "");
}

static void highlight_escapes_html(void **state)
{
    struct search_index *idx = *state;
    struct search_query q = {.q = "kids blue "};
    struct search_result r;
    assert_string_equal(ids(idx, &q, &r), "107");
    assert_string_equal(
        r.hits[0].highlight,
        "<em>Kids</em> School Backpack &lt;<em>Blue</em>&gt; &amp; &quot;Fun&quot;");
    search_result_release(&r);
}

/* ---- typos and prefixes --------------------------------------------------------- */

static void typo_tolerance(void **state)
{
    struct search_index *idx = *state;
    /* 5-8 characters: one edit (delete, insert, substitute, swap). */
    assert_string_equal(ids_q(idx, "backpak "), "101 107 102 103 104");
    assert_string_equal(ids_q(idx, "bakcpack "), "101 107 102 103 104");
    assert_string_equal(ids_q(idx, "leathr "), "101");
    assert_string_equal(ids_q(idx, "lethar "), ""); /* two edits in 6 characters */
    /* 9 or more: two edits. */
    assert_string_equal(ids_q(idx, "convertible "), "103");
    assert_string_equal(ids_q(idx, "cnvertibel "), "103");
    assert_string_equal(ids_q(idx, "cnvrtibel "), ""); /* three */
    /* Under 5 characters: none; numbers never. */
    assert_string_equal(ids_q(idx, "tote "), "103");
    assert_string_equal(ids_q(idx, "tota "), "");
    assert_string_equal(ids_q(idx, "2009 "), "");
    /* A typo match ranks below an exact one. */
    struct search_query q = {.q = "lether "};
    struct search_result r, e;
    ids(idx, &q, &r);
    q.q = "leather ";
    ids(idx, &q, &e);
    assert_int_equal(r.n_hits, 1);
    assert_true(r.hits[0].score < e.hits[0].score);
    assert_string_equal(r.hits[0].highlight, "<em>Leather</em> Backpack");
    search_result_release(&r);
    search_result_release(&e);
    /* SEARCH_NO_TYPO turns it off. */
    q = (struct search_query){.q = "backpak ", .flags = SEARCH_NO_TYPO};
    assert_string_equal(ids(idx, &q, NULL), "");
}

static void prefix_search_as_you_type(void **state)
{
    struct search_index *idx = *state;
    assert_string_equal(ids_q(idx, "back"), "101 107 102 103 104");
    assert_string_equal(ids_q(idx, "canvas back"), "102");
    assert_string_equal(ids_q(idx, "lapt"), "102");
    /* A trailing space means the word is complete. */
    assert_string_equal(ids_q(idx, "back "), "");
    /* Only the last word is a prefix. */
    assert_string_equal(ids_q(idx, "trav backpack"), "");
    /* Prefix and typo together (5+ characters typed). */
    assert_string_equal(ids_q(idx, "backpk"), "101 107 102 103 104");
    struct search_query q = {.q = "back", .flags = SEARCH_NO_PREFIX};
    assert_string_equal(ids(idx, &q, NULL), "");
}

static void odd_queries(void **state)
{
    struct search_index *idx = *state;
    struct search_result r;
    struct search_query q = {.q = "😀🎉 !!!"};
    ids(idx, &q, &r);
    assert_int_equal(r.total, 0); /* text without words matches nothing */
    search_result_release(&r);
    /* 10 KB: cut at SEARCH_MAX_QUERY bytes, answered quickly. */
    char *big = malloc(10 * 1024 + 1);
    for (int i = 0; i < 10 * 1024; i++)
        big[i] = "backpack "[i % 9];
    big[10 * 1024] = 0;
    q.q = big;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ids(idx, &q, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.total, 5);
    assert_true((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6 < 100);
    search_result_release(&r);
    free(big);
    /* Bad arguments. */
    q = (struct search_query){.q = "bag", .cursor = "nonsense"};
    assert_int_equal(search_index_query(idx, &q, &r), SEARCH_EINVAL);
    search_result_release(&r);
    q = (struct search_query){.q = "bag", .sort = (enum search_sort)9};
    assert_int_equal(search_index_query(idx, &q, &r), SEARCH_EINVAL);
    int64_t bad_bounds[] = {100, 50};
    q = (struct search_query){.price_bounds = bad_bounds, .n_price_bounds = 2};
    assert_int_equal(search_index_query(idx, &q, &r), SEARCH_EINVAL);
    assert_int_equal(search_merchant_kind_parse("crossborder"), SEARCH_KIND_CROSSBORDER);
    assert_int_equal(search_merchant_kind_parse("nope"), -1);
    assert_string_equal(search_merchant_kind_name(SEARCH_KIND_RURAL), "rural");
    assert_int_equal(search_sort_parse("price_desc"), SEARCH_SORT_PRICE_DESC);
    assert_int_equal(search_sort_parse("cheapest"), -1);
}

/* ---- facets and filters ------------------------------------------------------------ */

static void facets(void **state)
{
    struct search_index *idx = *state;
    struct search_query q = {.q = "backpack "};
    struct search_result r;
    ids(idx, &q, &r);
    /* Categories count each product for its category and every ancestor. */
    assert_int_equal(facet(r.categories, r.n_categories, 1), 5);
    assert_int_equal(facet(r.categories, r.n_categories, 11), 3);
    assert_int_equal(facet(r.categories, r.n_categories, 12), 2);
    assert_int_equal(facet(r.categories, r.n_categories, 2), 0);
    assert_int_equal(r.categories[0].value, 1); /* largest first */
    assert_int_equal(facet(r.kinds, r.n_kinds, SEARCH_KIND_BRAND), 2);
    assert_int_equal(facet(r.kinds, r.n_kinds, SEARCH_KIND_SME), 1);
    assert_int_equal(facet(r.kinds, r.n_kinds, SEARCH_KIND_FACTORY), 1);
    assert_int_equal(facet(r.kinds, r.n_kinds, SEARCH_KIND_INDIVIDUAL), 1);
    assert_int_equal(r.n_kinds, 4);
    /* Default buckets 0, 1000, 5000, 10000, 50000, 100000, 500000. */
    assert_int_equal(r.n_prices, 8);
    assert_int_equal(r.prices[2].min, 1000);
    assert_int_equal(r.prices[2].count, 1); /* 4900 */
    assert_int_equal(r.prices[3].count, 1); /* 8900 */
    assert_int_equal(r.prices[4].count, 3); /* 15900 29900 45900 */
    assert_int_equal(r.prices[7].max, INT64_MAX);
    search_result_release(&r);
    /* Custom buckets. */
    int64_t bounds[] = {10000, 40000};
    q.price_bounds = bounds;
    q.n_price_bounds = 2;
    ids(idx, &q, &r);
    assert_int_equal(r.n_prices, 3);
    assert_int_equal(r.prices[0].count, 2);
    assert_int_equal(r.prices[1].count, 2);
    assert_int_equal(r.prices[2].count, 1);
    search_result_release(&r);
    /* max_categories */
    q = (struct search_query){.q = "backpack ", .max_categories = 1};
    ids(idx, &q, &r);
    assert_int_equal(r.n_categories, 1);
    search_result_release(&r);
}

static void filters(void **state)
{
    struct search_index *idx = *state;
    struct search_query q = {.category_id = 1};
    struct search_result r;
    /* Empty q lists by date; a category includes its sub-categories. */
    assert_string_equal(ids(idx, &q, &r), "107 106 104 103 102 101");
    assert_int_equal(r.total, 6);
    assert_int_equal(facet(r.categories, r.n_categories, 11), 4);
    search_result_release(&r);
    q.category_id = 11;
    assert_string_equal(ids(idx, &q, NULL), "107 106 102 101");
    q.category_id = 999;
    assert_string_equal(ids(idx, &q, NULL), "");
    q = (struct search_query){.q = "backpack ", .category_id = 12};
    assert_string_equal(ids(idx, &q, NULL), "103 104");
    q = (struct search_query){.merchant_kinds = 1u << SEARCH_KIND_BRAND};
    assert_string_equal(ids(idx, &q, NULL), "104 101");
    q.merchant_kinds |= 1u << SEARCH_KIND_RURAL;
    assert_string_equal(ids(idx, &q, NULL), "106 104 101");
    q = (struct search_query){
        .has_price_min = true, .price_min = 10000, .has_price_max = true, .price_max = 29900};
    assert_string_equal(ids(idx, &q, &r), "106 102 101");
    assert_int_equal(r.prices[4].count, 3); /* facets follow the filters */
    search_result_release(&r);
    q = (struct search_query){.currency = "USD"};
    assert_string_equal(ids(idx, &q, NULL), "108 105");
    q = (struct search_query){.q = "running ", .currency = "CNY"};
    assert_string_equal(ids(idx, &q, NULL), "");
}

static void sorting_and_cursor_pages(void **state)
{
    struct search_index *idx = *state;
    struct search_query q = {.sort = SEARCH_SORT_PRICE_ASC};
    assert_string_equal(ids(idx, &q, NULL), "107 103 102 106 101 108 104 105");
    q.sort = SEARCH_SORT_PRICE_DESC;
    assert_string_equal(ids(idx, &q, NULL), "105 104 108 101 106 102 103 107");
    q.sort = SEARCH_SORT_NEWEST;
    assert_string_equal(ids(idx, &q, NULL), "108 107 106 105 104 103 102 101");
    q = (struct search_query){.q = "backpack ", .sort = SEARCH_SORT_PRICE_ASC};
    assert_string_equal(ids(idx, &q, NULL), "107 103 102 101 104");

    /* Pages of 3 by price, then of 2 by relevance: every item once, in order. */
    const char *want[][3] = {{"107 103 102", "106 101 108", "104 105"},
                             {"101 107", "102 103", "104"}};
    for (int k = 0; k < 2; k++) {
        char cursor[SEARCH_CURSOR_MAX] = "";
        for (int page = 0; page < 3; page++) {
            struct search_result r;
            q = (struct search_query){.q = k ? "backpack " : NULL,
                                      .sort = k ? SEARCH_SORT_RELEVANCE : SEARCH_SORT_PRICE_ASC,
                                      .limit = k ? 2 : 3,
                                      .cursor = cursor};
            assert_string_equal(ids(idx, &q, &r), want[k][page]);
            assert_int_equal(r.total, k ? 5 : 8);
            assert_int_equal(r.next_cursor[0] != 0, page < 2);
            snprintf(cursor, sizeof(cursor), "%s", r.next_cursor);
            search_result_release(&r);
        }
    }
    /* A cursor of another sort order is refused; offset skips. */
    struct search_result r;
    q = (struct search_query){.sort = SEARCH_SORT_PRICE_ASC, .limit = 2};
    ids(idx, &q, &r);
    struct search_query q2 = {.sort = SEARCH_SORT_NEWEST, .cursor = r.next_cursor};
    struct search_result r2;
    assert_int_equal(search_index_query(idx, &q2, &r2), SEARCH_EINVAL);
    search_result_release(&r2);
    search_result_release(&r);
    q = (struct search_query){.sort = SEARCH_SORT_PRICE_ASC, .limit = 2, .offset = 2};
    assert_string_equal(ids(idx, &q, NULL), "102 106");
}

/* ---- updates -------------------------------------------------------------------------- */

static void updates_and_removals(void **state)
{
    struct search_index *idx = *state;
    struct search_doc d = doc_of(&catalog[3]); /* 104: backpack only in the description */
    d.title = "Weekend Backpack Duffel";
    search_index_upsert(idx, &d);
    /* Not visible before a refresh (readers keep their snapshot)... */
    assert_string_equal(ids_q(idx, "backpack "), "101 107 102 103 104");
    search_index_refresh(idx);
    /* ...then in place: now in the title and the description, it comes first. */
    assert_string_equal(ids_q(idx, "backpack "), "104 101 107 102 103");
    assert_string_equal(ids_q(idx, "weekend duffel "), "104");
    search_index_remove(idx, 101);
    d = doc_of(&catalog[6]);
    d.active = false; /* inactive products are not searchable */
    search_index_upsert(idx, &d);
    search_index_remove(idx, 424242); /* unknown: fine */
    search_index_refresh(idx);
    assert_string_equal(ids_q(idx, "backpack "), "104 102 103");
    struct search_query q = {.category_id = 11};
    assert_string_equal(ids(idx, &q, NULL), "106 102");
    /* Merging the changes into the base changes nothing visible. */
    search_index_compact(idx);
    assert_string_equal(ids_q(idx, "backpack "), "104 102 103");
    assert_string_equal(ids(idx, &q, NULL), "106 102");
    struct search_stats st;
    search_index_stats(idx, &st);
    assert_int_equal(st.docs, 6);
    assert_int_equal(st.delta_docs, 0);
    assert_int_equal(st.base_dead, 0);
    /* And back. */
    d = doc_of(&catalog[0]);
    search_index_upsert(idx, &d);
    search_index_refresh(idx);
    assert_string_equal(ids_q(idx, "backpack "), "104 101 102 103");
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void visible_within_a_second(void **state)
{
    (void)state;
    struct search_index *idx = search_index_new(NULL); /* its own refresh thread */
    struct search_doc d = doc_of(&catalog[0]);
    d.title = "Zyzzyva Lamp";
    double t0 = now_s();
    search_index_upsert(idx, &d);
    for (;;) {
        struct search_result r;
        struct search_query q = {.q = "zyzzyva "};
        search_index_query(idx, &q, &r);
        uint64_t n = r.total;
        search_result_release(&r);
        if (n) break;
        assert_true(now_s() - t0 < 1.0);
        usleep(5000);
    }
    search_index_free(idx);
}

/* ---- bulk load, concurrency, bounded work ------------------------------------------------- */

struct gen {
    int i, n;
    char title[128], desc[128];
    int64_t anc[1];
};

static const char *const fillers[] = {"red", "green", "blue", "small", "large"};

/*
 * Document i: "alpha" everywhere, "beta" in every third, "gamma" in every
 * 50th; titles of 1-5 words so that scores differ.
 */
static bool gen_next(void *ctx, struct search_doc *d)
{
    struct gen *g = ctx;
    if (g->i >= g->n) return false;
    int i = g->i++;
    size_t n = (size_t)snprintf(g->title, sizeof(g->title), "alpha%s%s", i % 3 ? "" : " beta",
                                i % 50 ? "" : " gamma");
    for (int k = 0; k < i % 5; k++)
        n += (size_t)snprintf(g->title + n, sizeof(g->title) - n, " %s", fillers[(i + k) % 5]);
    snprintf(g->desc, sizeof(g->desc), "%s item number %d", i % 4 ? "plain" : "alpha", i);
    g->anc[0] = 1 + i % 4;
    *d = (struct search_doc){.id = i + 1,
                             .title = g->title,
                             .description = g->desc,
                             .category_id = 10 + i % 20,
                             .category_ancestors = g->anc,
                             .n_category_ancestors = 1,
                             .merchant_id = 1 + i % 97,
                             .merchant_kind = (uint8_t)(i % 7),
                             .price = 100 + (i * 7919) % 100000,
                             .created_at = i,
                             .active = true};
    memcpy(d->currency, "CNY", 4);
    return true;
}

static void compare_hits(struct search_index *idx, struct search_query q)
{
    struct search_result a, b;
    q.flags &= ~(unsigned)SEARCH_EXACT;
    assert_int_equal(search_index_query(idx, &q, &a), SEARCH_OK);
    q.flags |= SEARCH_EXACT;
    assert_int_equal(search_index_query(idx, &q, &b), SEARCH_OK);
    assert_true(a.ranking_exact);
    assert_true(b.total_exact && b.facets_exact && b.ranking_exact);
    assert_int_equal(a.n_hits, b.n_hits);
    for (uint32_t i = 0; i < a.n_hits; i++) {
        assert_int_equal(a.hits[i].id, b.hits[i].id);
        assert_true(a.hits[i].score == b.hits[i].score);
    }
    assert_true(strcmp(a.next_cursor, b.next_cursor) == 0);
    search_result_release(&a);
    search_result_release(&b);
}

static void bounded_work_on_a_large_catalog(void **state)
{
    (void)state;
    /* No merges: removed documents stay in the base, marked dead. */
    struct search_options o = {.manual_refresh = true, .merge_docs = 1u << 30};
    struct search_index *idx = search_index_new(&o);
    struct gen g = {.n = 60000};
    assert_int_equal(search_index_load(idx, gen_next, &g, 2), SEARCH_OK);
    struct search_result r, e;

    /* 60,000 matches: total and facets are estimates, within a few percent. */
    struct search_query q = {.q = "alpha "};
    ids(idx, &q, &r);
    assert_false(r.total_exact);
    assert_true(r.total > 57000 && r.total < 63000);
    assert_true(r.ranking_exact); /* one word: the impact tier gives the exact best */
    q.flags = SEARCH_EXACT;
    ids(idx, &q, &e);
    assert_int_equal(e.total, 60000);
    for (int64_t c = 1; c <= 4; c++) {
        double a = facet(r.categories, r.n_categories, c),
               x = facet(e.categories, e.n_categories, c);
        assert_true(x == 15000 && a > 0.9 * x && a < 1.1 * x);
    }
    search_result_release(&r);
    search_result_release(&e);

    /* 20,000: exact total and ranking, facets from a sample. */
    q = (struct search_query){.q = "beta "};
    ids(idx, &q, &r);
    assert_true(r.total_exact && r.ranking_exact);
    assert_false(r.facets_exact);
    assert_int_equal(r.total, 20000);
    search_result_release(&r);
    /* 1,200: all exact. */
    q = (struct search_query){.q = "gamma "};
    ids(idx, &q, &r);
    assert_true(r.total_exact && r.facets_exact && r.ranking_exact);
    assert_int_equal(r.total, 1200);
    search_result_release(&r);

    /* The exact hits of the bounded paths equal those of SEARCH_EXACT. */
    compare_hits(idx, (struct search_query){.q = "alpha "});
    compare_hits(idx, (struct search_query){.q = "alpha ", .offset = 37, .limit = 50});
    compare_hits(idx, (struct search_query){.q = "alpha ", .category_id = 2});
    compare_hits(idx, (struct search_query){.q = "alpha ", .sort = SEARCH_SORT_PRICE_ASC});
    compare_hits(idx, (struct search_query){.q = "alpha ", .sort = SEARCH_SORT_PRICE_DESC});
    compare_hits(idx, (struct search_query){.q = "alpha beta ", .sort = SEARCH_SORT_NEWEST});
    compare_hits(idx, (struct search_query){.sort = SEARCH_SORT_PRICE_ASC, .category_id = 3});
    compare_hits(idx, (struct search_query){.q = "beta "});
    /* Browsing everything: exact counts from the segment's own totals. */
    q = (struct search_query){.limit = 5};
    ids(idx, &q, &r);
    assert_true(r.total_exact && r.facets_exact);
    assert_int_equal(r.total, 60000);
    assert_string_equal(ids(idx, &q, NULL), "60000 59999 59998 59997 59996");
    search_result_release(&r);
    /* Pages by cursor through a sampled query visit distinct hits in order. */
    char cursor[SEARCH_CURSOR_MAX] = "";
    double last = 1e30;
    int64_t seen = 0;
    for (int page = 0; page < 5; page++) {
        q = (struct search_query){.q = "alpha ", .limit = 100, .cursor = cursor};
        ids(idx, &q, &r);
        assert_int_equal(r.n_hits, 100);
        for (uint32_t i = 0; i < r.n_hits; i++) {
            assert_true(r.hits[i].score <= last);
            last = r.hits[i].score;
        }
        seen += r.n_hits;
        snprintf(cursor, sizeof(cursor), "%s", r.next_cursor);
        search_result_release(&r);
    }
    assert_int_equal(seen, 500);

    /* The 10,000 newest removed: browsing skips them however many they are. */
    for (int64_t id = 50001; id <= 60000; id++)
        search_index_remove(idx, id);
    search_index_refresh(idx);
    q = (struct search_query){.limit = 3};
    assert_string_equal(ids(idx, &q, &r), "50000 49999 49998");
    assert_int_equal(r.total, 50000);
    assert_true(r.total_exact);
    search_result_release(&r);
    q = (struct search_query){.q = "alpha ", .sort = SEARCH_SORT_NEWEST, .limit = 3};
    assert_string_equal(ids(idx, &q, &r), "50000 49999 49998");
    search_result_release(&r);
    search_index_free(idx);
}

struct race {
    struct search_index *idx;
    atomic_int stop;
    atomic_long queries;
};

static void *reader(void *arg)
{
    struct race *x = arg;
    const char *qs[] = {"backpack ", "", "双肩包", "back", "leathr "};
    for (long n = 0; !atomic_load(&x->stop); n++) {
        struct search_query q = {.q = qs[n % 5], .limit = 50};
        struct search_result r;
        assert_int_equal(search_index_query(x->idx, &q, &r), SEARCH_OK);
        /* Never the same product twice, never more than exist. */
        assert_true(r.total <= 200 + NCAT);
        for (uint32_t i = 0; i < r.n_hits; i++)
            for (uint32_t j = 0; j < i; j++)
                assert_true(r.hits[i].id != r.hits[j].id);
        search_result_release(&r);
        atomic_fetch_add(&x->queries, 1);
    }
    return NULL;
}

static void readers_while_writing_and_merging(void **state)
{
    (void)state;
    /* A short refresh and a tiny merge threshold: many snapshots and merges. */
    struct search_options o = {.refresh_ms = 2, .merge_docs = 40};
    struct search_index *idx = search_index_new(&o);
    struct race x = {.idx = idx};
    atomic_init(&x.stop, 0);
    atomic_init(&x.queries, 0);
    pthread_t th[2];
    for (size_t i = 0; i < NCAT; i++) {
        struct search_doc d = doc_of(&catalog[i]);
        search_index_upsert(idx, &d);
    }
    for (int t = 0; t < 2; t++)
        pthread_create(&th[t], NULL, reader, &x);
    char title[64];
    for (int k = 0; k < 3000; k++) {
        struct search_doc d = doc_of(&catalog[k % NCAT]);
        d.id = 1000 + k % 200;
        snprintf(title, sizeof(title), "Backpack model %d", k);
        d.title = title;
        if (k % 10 == 9)
            search_index_remove(idx, d.id);
        else
            search_index_upsert(idx, &d);
        if (k % 100 == 0) usleep(1000);
    }
    usleep(20000);
    atomic_store(&x.stop, 1);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    search_index_refresh(idx);
    search_index_compact(idx);
    /* Ids 1000..1199: the last write of id 1000+j was k = 2800+j, a removal when j % 10 == 9. */
    struct search_query q = {.q = "model "};
    struct search_result r;
    ids(idx, &q, &r);
    assert_int_equal(r.total, 180);
    search_result_release(&r);
    struct search_stats st;
    search_index_stats(idx, &st);
    assert_int_equal(st.docs, NCAT + 180);
    assert_true(st.merges > 0);
    assert_true(atomic_load(&x.queries) > 0);
    search_index_free(idx);
}

/* ---- typo search against brute force ----------------------------------------------- */

/* Optimal string alignment distance (what the trie search computes). */
static int osa(const char *a, int n, const char *b, int m)
{
    int d[32][32];
    for (int i = 0; i <= n; i++)
        d[i][0] = i;
    for (int j = 0; j <= m; j++)
        d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int c = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
            v = d[i - 1][j - 1] + c < v ? d[i - 1][j - 1] + c : v;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

struct seen {
    char *hit; /* per surface */
};

static void mark(void *ud, const struct search_seg *s, uint32_t lo, uint32_t hi, int dist)
{
    struct seen *x = ud;
    (void)s;
    (void)dist;
    for (uint32_t i = lo; i < hi; i++)
        x->hit[i] = 1;
}

static void typo_search_matches_brute_force(void **state)
{
    (void)state;
    struct text_analyzer *a = text_analyzer_new();
    struct search_segb *b = search_segb_new(a);
    char words[2000][16];
    srand(11);
    for (int i = 0; i < 2000; i++) {
        int n = 3 + rand() % 10;
        for (int k = 0; k < n; k++)
            words[i][k] = "abcde"[rand() % 5]; /* a small alphabet: many near neighbours */
        words[i][n] = 0;
        struct search_doc d = {.id = i + 1, .title = words[i], .active = true};
        memcpy(d.currency, "CNY", 4);
        search_segb_add(b, &d);
    }
    struct search_seg *s = search_segb_finish(b, true);
    char *hit = calloc(s->nsurf, 1);
    for (int it = 0; it < 300; it++) {
        char q[16];
        snprintf(q, sizeof(q), "%s", words[rand() % 2000]);
        int n = (int)strlen(q);
        if (n > 3) q[rand() % n] = "abcdex"[rand() % 6]; /* a typo, sometimes */
        uint32_t cp[16];
        for (int k = 0; k < n; k++)
            cp[k] = (unsigned char)q[k];
        int maxd = n >= 9 ? 2 : 1;
        for (int prefix = 0; prefix < 2; prefix++) {
            struct seen x = {hit};
            memset(hit, 0, s->nsurf);
            search_seg_fuzzy(s, cp, n, maxd, prefix, 1u << 30, mark, &x);
            for (uint32_t i = 0; i < s->nsurf; i++) {
                size_t len;
                const char *w = search_seg_surface(s, i, &len);
                int best = osa(w, (int)len, q, n);
                for (size_t p = 0; prefix && p <= len; p++) {
                    int d = osa(w, (int)p, q, n);
                    best = d < best ? d : best;
                }
                if ((best <= maxd) != (hit[i] != 0))
                    fail_msg("q=%s prefix=%d surface=%s osa=%d found=%d", q, prefix, w, best,
                             hit[i]);
            }
        }
    }
    free(hit);
    search_seg_unref(s);
    search_segb_free(b);
    text_analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ranking_title_over_attributes_over_description, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(scores_and_hit_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(chinese, setup, teardown),
        cmocka_unit_test_setup_teardown(highlight_escapes_html, setup, teardown),
        cmocka_unit_test_setup_teardown(typo_tolerance, setup, teardown),
        cmocka_unit_test_setup_teardown(prefix_search_as_you_type, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(facets, setup, teardown),
        cmocka_unit_test_setup_teardown(filters, setup, teardown),
        cmocka_unit_test_setup_teardown(sorting_and_cursor_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(updates_and_removals, setup, teardown),
        cmocka_unit_test(visible_within_a_second),
        cmocka_unit_test(bounded_work_on_a_large_catalog),
        cmocka_unit_test(readers_while_writing_and_merging),
        cmocka_unit_test(typo_search_matches_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
