/* Unit tests for src/discovery/text.c: normalization, Chinese, English, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discovery/text.h"

struct fx {
    struct text_analyzer *a;
    struct text_tokens t;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->a = text_analyzer_new();
    assert_non_null(f->a);
    text_tokens_init(&f->t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    text_tokens_release(&f->t);
    text_analyzer_free(f->a);
    free(f);
    return 0;
}

static uint32_t run(struct fx *f, const char *s, enum text_mode mode)
{
    return text_analyze(f->a, s, s ? strlen(s) : 0, 0, mode, &f->t);
}

/* "term term ..." of the last analysis, for compact assertions. */
static const char *terms(struct fx *f)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < f->t.n && n + 80 < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "", f->t.v[i].term);
    return buf;
}

static bool has_term(struct fx *f, const char *term, int kind)
{
    for (uint32_t i = 0; i < f->t.n; i++)
        if (strcmp(f->t.v[i].term, term) == 0 && (kind == 0 || f->t.v[i].kind == kind)) return true;
    return false;
}

static void chinese_index_has_words_and_bigrams(void **state)
{
    struct fx *f = *state;
    const char *s = "北京奥运会双肩包";
    run(f, s, TEXT_MODE_INDEX);
    /* Bigrams across the whole run: the query 双肩包 needs 双肩 and 肩包, 奥运会 needs 奥运 and
     * 运会. */
    const char *bigrams[] = {"北京", "京奥", "奥运", "运会", "会双", "双肩", "肩包"};
    for (size_t i = 0; i < sizeof(bigrams) / sizeof(bigrams[0]); i++)
        assert_true(has_term(f, bigrams[i], TEXT_CJK_BIGRAM));
    /* ICU's one-character words are kept (two-character ones are the bigrams). */
    assert_true(has_term(f, "会", TEXT_CJK_WORD));
    assert_true(has_term(f, "包", TEXT_CJK_WORD));
    /* Offsets point at the original bytes: 双肩 is bytes 15..21. */
    for (uint32_t i = 0; i < f->t.n; i++)
        if (strcmp(f->t.v[i].term, "双肩") == 0) {
            assert_int_equal(f->t.v[i].start, 15);
            assert_int_equal(f->t.v[i].end, 21);
            assert_memory_equal(s + f->t.v[i].start, "双肩", 6);
        }
}

static void chinese_query_is_bigrams(void **state)
{
    struct fx *f = *state;
    run(f, "双肩包", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "双肩 肩包");
    run(f, "奥运会", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "奥运 运会");
    run(f, "包", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "包");
    assert_int_equal(f->t.v[0].kind, TEXT_CJK_WORD);
    /* Runs are split by anything that is not Han or kana. */
    run(f, "经典 款", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "经典 款");
    /* Compatibility ideographs and half-width katakana are normalized (NFKC). */
    run(f, "ｶﾀｶﾅ", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "カタ タカ カナ");
}

static void english_folded_and_stemmed(void **state)
{
    struct fx *f = *state;
    run(f, "Running SHOES for Men's Backpacks", TEXT_MODE_INDEX);
    assert_string_equal(terms(f), "run shoe for men backpack");
    assert_string_equal(f->t.v[0].surface, "running");
    assert_true(f->t.v[0].stemmed);
    /* NFKC + case folding: full-width, ligatures, sharp s, typographic apostrophe. */
    run(f, "ＡＢＣ１２３ ﬁne Straße MEN’S", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "abc123 fine strass men");
    /* Offsets of a full-width word cover its 18 original bytes. */
    assert_int_equal(f->t.v[0].start, 0);
    assert_int_equal(f->t.v[0].end, 18);
}

static void numbers_kept(void **state)
{
    struct fx *f = *state;
    run(f, "iPhone 15 Pro 256GB 2008 3.5 1,000 v2.1", TEXT_MODE_INDEX);
    assert_string_equal(terms(f), "iphon 15 pro 256gb 2008 3.5 1,000 v2.1");
    assert_int_equal(f->t.v[1].kind, TEXT_NUMBER);
    assert_int_equal(f->t.v[3].kind, TEXT_WORD);
    assert_false(f->t.v[3].stemmed); /* letters with digits are not stemmed */
}

static void mixed_scripts(void **state)
{
    struct fx *f = *state;
    run(f, "Apple iPhone15手机壳 (黑色) café", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "appl iphone15 手机 机壳 黑色 café");
    run(f, "iPhone15手机壳", TEXT_MODE_INDEX);
    assert_true(has_term(f, "iphone15", TEXT_WORD));
    assert_true(has_term(f, "手机", TEXT_CJK_BIGRAM));
    assert_true(has_term(f, "机壳", TEXT_CJK_BIGRAM));
    assert_true(has_term(f, "壳", TEXT_CJK_WORD));
}

static void emoji_and_punctuation_dropped(void **state)
{
    struct fx *f = *state;
    assert_int_equal(run(f, "😀👍🏽🎉 !!! ... --- ★☆ ©®", TEXT_MODE_QUERY), 0);
    run(f, "I ❤️ NY 🍎 pie!", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "i ny pie");
    run(f, "T-shirt, e.g. x:y a_b", TEXT_MODE_QUERY);
    assert_string_equal(terms(f), "t shirt e.g x y a_b");
}

static void empty_input(void **state)
{
    struct fx *f = *state;
    assert_int_equal(run(f, "", TEXT_MODE_QUERY), 0);
    assert_int_equal(run(f, NULL, TEXT_MODE_QUERY), 0);
    assert_int_equal(run(f, "   \t\n ", TEXT_MODE_INDEX), 0);
    assert_false(f->t.truncated);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void long_queries_are_cut_safely(void **state)
{
    struct fx *f = *state;
    /* 10 KB of mixed text, cut at 1 KB in the middle of a 3-byte character. */
    char *s = malloc(10 * 1024 + 1);
    size_t n = 0;
    while (n + 16 <= 10 * 1024) {
        memcpy(s + n, "abc 双肩包 ", 14);
        n += 14;
    }
    s[n] = 0;
    double t0 = now_ms();
    uint32_t k = text_analyze(f->a, s, n, 1000, TEXT_MODE_QUERY, &f->t);
    double dt = now_ms() - t0;
    assert_true(f->t.truncated);
    assert_true(k > 0);
    for (uint32_t i = 0; i < k; i++)
        assert_true(f->t.v[i].end <= 1000);
    assert_true(dt < 50);
    /* Uncut, 10 KB is still fast and every term is valid UTF-8 of known words. */
    k = text_analyze(f->a, s, n, 0, TEXT_MODE_QUERY, &f->t);
    assert_false(f->t.truncated);
    for (uint32_t i = 0; i < k; i++)
        assert_true(strcmp(f->t.v[i].term, "abc") == 0 || strcmp(f->t.v[i].term, "双肩") == 0 ||
                    strcmp(f->t.v[i].term, "肩包") == 0);
    /* One 10 KB word: the term is capped at TEXT_MAX_TERM bytes. */
    memset(s, 'x', 10 * 1024);
    s[10 * 1024] = 0;
    k = text_analyze(f->a, s, 10 * 1024, 0, TEXT_MODE_QUERY, &f->t);
    assert_int_equal(k, 1);
    assert_int_equal(f->t.v[0].term_len, TEXT_MAX_TERM);
    /* A 10 KB CJK run, without spaces. */
    for (n = 0; n + 3 <= 10 * 1024; n += 3)
        memcpy(s + n, "包", 3);
    s[n] = 0;
    t0 = now_ms();
    k = text_analyze(f->a, s, n, 0, TEXT_MODE_INDEX, &f->t);
    assert_true(k > 3000);
    assert_true(now_ms() - t0 < 200);
    free(s);
}

static void invalid_utf8_is_harmless(void **state)
{
    struct fx *f = *state;
    const char bad[] = "ab\xff\xfe cd \xe5\x8f \xc3 ef\xed\xa0\x80gh";
    uint32_t n = text_analyze(f->a, bad, sizeof(bad) - 1, 0, TEXT_MODE_INDEX, &f->t);
    assert_true(n >= 3);
    assert_true(has_term(f, "ab", 0));
    assert_true(has_term(f, "cd", 0));
}

/* The ASCII fast path must split exactly as ICU does (ICU runs when a non-ASCII char is present).
 */
static void ascii_fast_path_matches_icu(void **state)
{
    struct fx *f = *state;
    struct text_tokens t2;
    const char alphabet[] = "aZb1 9._',;:-x'0.";
    text_tokens_init(&t2);
    srand(7);
    for (int it = 0; it < 20000; it++) {
        char s[40], s2[48];
        int n = 1 + rand() % 24;
        for (int i = 0; i < n; i++)
            s[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        s[n] = 0;
        snprintf(s2, sizeof(s2), "%s \xc3\xa9", s); /* + " é": forces ICU */
        text_analyze(f->a, s, strlen(s), 0, TEXT_MODE_QUERY, &f->t);
        text_analyze(f->a, s2, strlen(s2), 0, TEXT_MODE_QUERY, &t2);
        assert_int_equal(t2.n, f->t.n + 1);
        for (uint32_t i = 0; i < f->t.n; i++) {
            assert_string_equal(f->t.v[i].term, t2.v[i].term);
            assert_int_equal(f->t.v[i].start, t2.v[i].start);
            assert_int_equal(f->t.v[i].end, t2.v[i].end);
        }
    }
    text_tokens_release(&t2);
}

static void highlight_mode_marks_single_chars(void **state)
{
    struct fx *f = *state;
    run(f, "双肩包", TEXT_MODE_HIGHLIGHT);
    assert_string_equal(terms(f), "双 双肩 肩 肩包 包");
}

static void stem_helper(void **state)
{
    struct fx *f = *state;
    char buf[TEXT_MAX_TERM + 1];
    assert_int_equal(text_stem(f->a, "running", 7, buf), 3);
    assert_string_equal(buf, "run");
    text_stem(f->a, "running", 7, buf); /* from the cache */
    assert_string_equal(buf, "run");
    assert_int_equal(text_utf8_count("双肩包ab", strlen("双肩包ab")), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(chinese_index_has_words_and_bigrams, setup, teardown),
        cmocka_unit_test_setup_teardown(chinese_query_is_bigrams, setup, teardown),
        cmocka_unit_test_setup_teardown(english_folded_and_stemmed, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(mixed_scripts, setup, teardown),
        cmocka_unit_test_setup_teardown(emoji_and_punctuation_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_input, setup, teardown),
        cmocka_unit_test_setup_teardown(long_queries_are_cut_safely, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_utf8_is_harmless, setup, teardown),
        cmocka_unit_test_setup_teardown(ascii_fast_path_matches_icu, setup, teardown),
        cmocka_unit_test_setup_teardown(highlight_mode_marks_single_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(stem_helper, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
