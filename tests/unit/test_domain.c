/*
 * Tests for src/domain: money (integer minor units), pricing (wholesale tiers
 * and moq), order_fsm (the order state machine) and err (the error table).
 *
 * Pure functions, no state: every expected value here is written out or
 * computed by an independent reference in this file, never by calling the
 * function under test a second time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/err.h"
#include "domain/money.h"
#include "domain/order_fsm.h"
#include "domain/pricing.h"

/* ---- money_commission ---- */

/* The header's formula for amount ≥ 0, in exact integer arithmetic. */
static int64_t ref_commission(int64_t amount, int bp)
{
    int64_t a = amount < 0 ? -amount : amount;
    int64_t c = (a * bp + 5000) / 10000;
    return amount < 0 ? -c : c;
}

static void test_commission_exact_and_half(void **state)
{
    (void)state;
    assert_int_equal(money_commission(9000, 500), 450);   /* exact: 5% of 90.00 */
    assert_int_equal(money_commission(1, 5000), 1);       /* 0.5 rounds up */
    assert_int_equal(money_commission(10, 500), 1);       /* 0.5 rounds up */
    assert_int_equal(money_commission(30, 500), 2);       /* 1.5 rounds up */
    assert_int_equal(money_commission(9, 500), 0);        /* 0.45 rounds down */
    assert_int_equal(money_commission(3, 1666), 0);       /* 0.4998 rounds down */
    assert_int_equal(money_commission(3, 1667), 1);       /* 0.5001 rounds up */
    assert_int_equal(money_commission(19999, 500), 1000); /* 999.95 rounds up */
    assert_int_equal(money_commission(19989, 500), 999);  /* 999.45 rounds down */
    assert_int_equal(money_commission(0, 500), 0);
    assert_int_equal(money_commission(12345, 0), 0);
    assert_int_equal(money_commission(12345, 10000), 12345); /* 100% */
}

static void test_commission_negative_symmetric(void **state)
{
    (void)state;
    assert_int_equal(money_commission(-9000, 500), -450);
    assert_int_equal(money_commission(-1, 5000), -1); /* half away from zero */
    assert_int_equal(money_commission(-10, 500), -1);
    assert_int_equal(money_commission(-9, 500), 0);
    assert_int_equal(money_commission(-3, 1666), 0);
    assert_int_equal(money_commission(-3, 1667), -1);
    static const int bps[] = {0, 1, 7, 250, 333, 500, 1666, 1667, 4999, 5000, 5001, 9999, 10000};
    for (size_t b = 0; b < sizeof bps / sizeof bps[0]; b++)
        for (int64_t a = 0; a <= 20000; a++) {
            int64_t pos = money_commission(a, bps[b]);
            if (pos != ref_commission(a, bps[b]))
                fail_msg("commission(%lld, %d) = %lld, want %lld", (long long)a, bps[b],
                         (long long)pos, (long long)ref_commission(a, bps[b]));
            if (money_commission(-a, bps[b]) != -pos)
                fail_msg("commission(-%lld, %d) is not -commission(%lld)", (long long)a, bps[b],
                         (long long)a);
        }
}

static void test_commission_large(void **state)
{
    (void)state;
    /* amount × bp overflows 64 bits here; the result does not. */
    int64_t big = MONEY_MAX * 1000000; /* 10^18 */
    assert_int_equal(money_commission(big, 500), big / 20);
    assert_int_equal(money_commission(-big, 500), -(big / 20));
    assert_int_equal(money_commission(big, 10000), big);
    assert_int_equal(money_commission(INT64_MAX, 10000), INT64_MAX);
}

/* ---- money_mul / money_add ---- */

static void test_money_mul(void **state)
{
    (void)state;
    int64_t out = 0;
    assert_int_equal(money_mul(1999, 3, &out), 0);
    assert_int_equal(out, 5997);
    assert_int_equal(money_mul(0, INT64_MAX, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(money_mul(INT64_MAX, 0, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(money_mul(INT64_MAX, 1, &out), 0);
    assert_int_equal(out, INT64_MAX);
    assert_int_equal(money_mul(INT64_MAX / 2, 2, &out), 0);
    assert_int_equal(out, INT64_MAX - 1);
    assert_int_equal(money_mul(MONEY_MAX, 100000, &out), 0);
    assert_int_equal(out, 100000000000000000LL);

    out = 77; /* untouched on failure */
    assert_int_equal(money_mul(INT64_MAX / 2 + 1, 2, &out), -1);
    assert_int_equal(money_mul(2, INT64_MAX / 2 + 1, &out), -1);
    assert_int_equal(money_mul(INT64_MAX, INT64_MAX, &out), -1);
    assert_int_equal(money_mul(MONEY_MAX, 10000000, &out), -1);        /* 10^19 */
    assert_int_equal(money_mul(4294967296LL, 4294967296LL, &out), -1); /* 2^64 */
    assert_int_equal(money_mul(-1, 5, &out), -1);
    assert_int_equal(money_mul(5, -1, &out), -1);
    assert_int_equal(money_mul(INT64_MIN, -1, &out), -1);
    assert_int_equal(out, 77);
}

static void test_money_add(void **state)
{
    (void)state;
    int64_t out = 0;
    assert_int_equal(money_add(1999, 1, &out), 0);
    assert_int_equal(out, 2000);
    assert_int_equal(money_add(-5, 3, &out), 0);
    assert_int_equal(out, -2);
    assert_int_equal(money_add(INT64_MAX, 0, &out), 0);
    assert_int_equal(out, INT64_MAX);
    assert_int_equal(money_add(INT64_MAX - 1, 1, &out), 0);
    assert_int_equal(out, INT64_MAX);
    assert_int_equal(money_add(INT64_MIN, INT64_MAX, &out), 0);
    assert_int_equal(out, -1);
    assert_int_equal(money_add(INT64_MIN + 1, -1, &out), 0);
    assert_int_equal(out, INT64_MIN);

    out = 77;
    assert_int_equal(money_add(INT64_MAX, 1, &out), -1);
    assert_int_equal(money_add(1, INT64_MAX, &out), -1);
    assert_int_equal(money_add(INT64_MAX, INT64_MAX, &out), -1);
    assert_int_equal(money_add(INT64_MIN, -1, &out), -1);
    assert_int_equal(money_add(-1, INT64_MIN, &out), -1);
    assert_int_equal(out, 77);
}

/* ---- money_parse ---- */

static int64_t parse_ok(const char *s, int exp)
{
    int64_t v = -999;
    int rc = money_parse(s, strlen(s), exp, &v);
    if (rc != 0) fail_msg("money_parse(\"%s\", %d) refused", s, exp);
    return v;
}

static void test_money_parse(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("0.85", 2), 85);
    assert_int_equal(parse_ok("38970.0", 2), 3897000);
    assert_int_equal(parse_ok("12.50", 2), 1250);
    assert_int_equal(parse_ok("12", 2), 1200);
    assert_int_equal(parse_ok("12.", 2), 1200);
    assert_int_equal(parse_ok(".5", 2), 50);
    assert_int_equal(parse_ok("0", 2), 0);
    assert_int_equal(parse_ok("007.10", 2), 710);
    assert_int_equal(parse_ok("+1.5", 2), 150);
    assert_int_equal(parse_ok("-1.5", 2), -150);
    /* rounding half up past the currency's decimals */
    assert_int_equal(parse_ok("1.005", 2), 101);
    assert_int_equal(parse_ok("1.004", 2), 100);
    assert_int_equal(parse_ok("1.0049999", 2), 100);
    assert_int_equal(parse_ok("1.995", 2), 200);
    assert_int_equal(parse_ok("9.999", 2), 1000);
    assert_int_equal(parse_ok("0.005", 2), 1);
    assert_int_equal(parse_ok("-1.005", 2), -101); /* half away from zero */
    /* zero-decimal currencies */
    assert_int_equal(parse_ok("1999", 0), 1999);
    assert_int_equal(parse_ok("12.5", 0), 13);
    assert_int_equal(parse_ok("12.4", 0), 12);
    assert_int_equal(parse_ok("12.0", 0), 12);
    /* three decimals */
    assert_int_equal(parse_ok("1.5", 3), 1500);
    assert_int_equal(parse_ok("1.2345", 3), 1235);
    /* MONEY_MAX itself parses */
    assert_int_equal(parse_ok("10000000000.00", 2), MONEY_MAX);

    /* len bounds the string: what follows is not read */
    int64_t v = 0;
    assert_int_equal(money_parse("12.50xyz", 5, 2, &v), 0);
    assert_int_equal(v, 1250);
}

/* Marked BUG: fails until src/domain/money.c is fixed (reported, not fixed here). */
static void test_money_parse_exp_overflow(void **state)
{
    (void)state;
    /* Regression (formerly a bug in src/domain/money.c:74, money_parse): the overflow guard only bounds
     * the whole part to ~10^14, then whole × 10^exp is computed unchecked, so
     * with exp ≥ 5 a 15-digit amount overflows int64 (signed overflow, UB)
     * instead of returning -1. exp is only 0 or 2 today (money_exponent). */
    int64_t ov = 0;
    if (money_parse("100000000000000", 15, 6, &ov) == 0)
        fail_msg("BUG money_parse(\"100000000000000\", exp 6) = %lld: 10^20 does not fit "
                 "int64, want -1",
                 (long long)ov);
}

static void test_money_parse_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {"-",
                                "",
                                "+",
                                ".",
                                "1.2.3",
                                "abc",
                                "1a",
                                "a1",
                                " 1",
                                "1 ",
                                "1,5",
                                "1e3",
                                "0x10",
                                "--1",
                                "+-1",
                                "1..",
                                "1.-",
                                "1.5.",
                                "12_0",
                                "99999999999999999999",
                                "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 4242;
        if (money_parse(bad[i], strlen(bad[i]), 2, &v) != -1)
            fail_msg("money_parse(\"%s\") accepted (%lld)", bad[i], (long long)v);
        assert_int_equal(v, 4242); /* out untouched */
    }
    /* a NUL inside the given length is not a digit */
    int64_t v = 0;
    assert_int_equal(money_parse("1\0002", 3, 2, &v), -1);
}

static void test_currency(void **state)
{
    (void)state;
    static const char *ok[] = {"USD", "EUR", "CNY", "GBP", "JPY", "KRW", "VND", "IDR", "HKD"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!money_currency_ok(ok[i])) fail_msg("%s refused", ok[i]);
    static const char *no[] = {"", "US", "USDX", "XXX", "usd", "Usd", "ABC", "US$", "€"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (money_currency_ok(no[i])) fail_msg("\"%s\" accepted", no[i]);
    assert_false(money_currency_ok(NULL));

    assert_int_equal(money_exponent("JPY"), 0);
    assert_int_equal(money_exponent("KRW"), 0);
    assert_int_equal(money_exponent("VND"), 0);
    assert_int_equal(money_exponent("IDR"), 0);
    assert_int_equal(money_exponent("USD"), 2);
    assert_int_equal(money_exponent("EUR"), 2);
    assert_int_equal(money_exponent("CNY"), 2);
    assert_int_equal(money_exponent("GBP"), 2);
    assert_int_equal(money_exponent(NULL), 2);
}

/* ---- pricing ---- */

static const struct price_tier tiers3[] = {{10, 90}, {100, 80}, {1000, 70}};

static void test_pricing_unit_price(void **state)
{
    (void)state;
    static const struct {
        int64_t qty, want;
    } cases[] = {{0, 100},  {1, 100},  {9, 100},   {10, 90},   {11, 90},        {99, 90},
                 {100, 80}, {999, 80}, {1000, 70}, {1001, 70}, {1000000000, 70}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = pricing_unit_price(100, tiers3, 3, cases[i].qty);
        if (got != cases[i].want)
            fail_msg("qty %lld: price %lld, want %lld", (long long)cases[i].qty, (long long)got,
                     (long long)cases[i].want);
    }
    /* no tiers: always the base price */
    assert_int_equal(pricing_unit_price(100, NULL, 0, 1), 100);
    assert_int_equal(pricing_unit_price(100, NULL, 0, 1000000), 100);
    /* one tier */
    const struct price_tier one[] = {{2, 0}};
    assert_int_equal(pricing_unit_price(5, one, 1, 1), 5);
    assert_int_equal(pricing_unit_price(5, one, 1, 2), 0);
}

static void test_pricing_moq(void **state)
{
    (void)state;
    assert_int_equal(pricing_check_moq(1, 1), ERR_OK);
    assert_int_equal(pricing_check_moq(1, 0), ERR_BELOW_MOQ);
    assert_int_equal(pricing_check_moq(10, 9), ERR_BELOW_MOQ);
    assert_int_equal(pricing_check_moq(10, 10), ERR_OK);
    assert_int_equal(pricing_check_moq(10, 11), ERR_OK);
    assert_int_equal(pricing_check_moq(10, -1), ERR_BELOW_MOQ);
}

static void expect_bad_tiers(const struct price_tier *t, int n, int want_bad)
{
    int bad = -7;
    assert_int_equal(pricing_check_tiers(t, n, &bad), ERR_INVALID);
    assert_int_equal(bad, want_bad);
    assert_int_equal(pricing_check_tiers(t, n, NULL), ERR_INVALID); /* bad is optional */
}

static void test_pricing_check_tiers(void **state)
{
    (void)state;
    int bad = -7;
    assert_int_equal(pricing_check_tiers(tiers3, 3, &bad), ERR_OK);
    assert_int_equal(bad, -7);
    assert_int_equal(pricing_check_tiers(NULL, 0, &bad), ERR_OK);
    const struct price_tier free_tier[] = {{2, 0}, {3, MONEY_MAX}};
    assert_int_equal(pricing_check_tiers(free_tier, 2, &bad), ERR_OK);

    const struct price_tier unsorted[] = {{10, 90}, {5, 95}};
    expect_bad_tiers(unsorted, 2, 1);
    const struct price_tier dup[] = {{10, 90}, {100, 80}, {100, 70}};
    expect_bad_tiers(dup, 3, 2);
    const struct price_tier min1[] = {{1, 90}};
    expect_bad_tiers(min1, 1, 0);
    const struct price_tier min0[] = {{0, 90}};
    expect_bad_tiers(min0, 1, 0);
    const struct price_tier minneg[] = {{-5, 90}};
    expect_bad_tiers(minneg, 1, 0);
    const struct price_tier negprice[] = {{2, 90}, {5, 80}, {9, -1}};
    expect_bad_tiers(negprice, 3, 2);
    const struct price_tier huge[] = {{2, MONEY_MAX + 1}};
    expect_bad_tiers(huge, 1, 0);
    /* the first bad one is reported */
    const struct price_tier two_bad[] = {{5, 1}, {1, 1}, {0, -1}};
    expect_bad_tiers(two_bad, 3, 1);
}

static void test_pricing_line_total(void **state)
{
    (void)state;
    int64_t out = 0;
    assert_int_equal(pricing_line_total(1999, 3, &out), ERR_OK);
    assert_int_equal(out, 5997);
    assert_int_equal(pricing_line_total(0, 1000000, &out), ERR_OK);
    assert_int_equal(out, 0);
    /* the API's largest line: MONEY_MAX × QTY_MAX (100000) */
    assert_int_equal(pricing_line_total(MONEY_MAX, 100000, &out), ERR_OK);
    assert_int_equal(out, 100000000000000000LL);
    out = 5;
    assert_int_equal(pricing_line_total(MONEY_MAX, 10000000, &out), ERR_INVALID);
    assert_int_equal(pricing_line_total(INT64_MAX, 2, &out), ERR_INVALID);
    assert_int_equal(pricing_line_total(100, -1, &out), ERR_INVALID);
    assert_int_equal(out, 5);
}

/* ---- order_fsm ---- */

static void test_fsm_table(void **state)
{
    (void)state;
    /* Written out from the diagram in order_fsm.h, independently of the code. */
    int want[OS__COUNT][OE__COUNT];
    for (int s = 0; s < OS__COUNT; s++)
        for (int e = 0; e < OE__COUNT; e++)
            want[s][e] = -1;
    want[OS_PENDING_PAYMENT][OE_PAY] = OS_PAID;
    want[OS_PENDING_PAYMENT][OE_CANCEL] = OS_CANCELLED;
    want[OS_PENDING_PAYMENT][OE_EXPIRE] = OS_EXPIRED;
    want[OS_PAID][OE_SHIP] = OS_SHIPPED;
    want[OS_PAID][OE_CANCEL] = OS_REFUNDED;
    want[OS_SHIPPED][OE_DELIVER] = OS_DELIVERED;
    want[OS_DELIVERED][OE_COMPLETE] = OS_COMPLETED;

    int allowed = 0;
    for (int s = 0; s < OS__COUNT; s++)
        for (int e = 0; e < OE__COUNT; e++) {
            int got = order_fsm_next((enum order_status)s, (enum order_event)e);
            if (got != want[s][e])
                fail_msg("next(%s, event %d) = %d, want %d", order_status_name(s), e, got,
                         want[s][e]);
            allowed += got >= 0;
        }
    assert_int_equal(allowed, 7);
    assert_int_equal(OS__COUNT * OE__COUNT, 48);
}

static void test_fsm_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(order_fsm_next(OS__COUNT, OE_PAY), -1);
    assert_int_equal(order_fsm_next(OS_PENDING_PAYMENT, OE__COUNT), -1);
    assert_int_equal(order_fsm_next((enum order_status) - 1, OE_PAY), -1);
    assert_int_equal(order_fsm_next(OS_PENDING_PAYMENT, (enum order_event) - 1), -1);
    assert_int_equal(order_fsm_next((enum order_status)1000, (enum order_event)1000), -1);
}

static void test_fsm_names(void **state)
{
    (void)state;
    static const char *names[OS__COUNT] = {"pending_payment", "paid",      "shipped", "delivered",
                                           "completed",       "cancelled", "expired", "refunded"};
    for (int s = 0; s < OS__COUNT; s++) {
        assert_string_equal(order_status_name((enum order_status)s), names[s]);
        assert_int_equal(order_status_parse(names[s]), s);
    }
    assert_string_equal(order_status_name(OS__COUNT), "unknown");
    assert_int_equal(order_status_parse("unknown"), -1);
    assert_int_equal(order_status_parse(""), -1);
    assert_int_equal(order_status_parse("PAID"), -1);
    assert_int_equal(order_status_parse("paid "), -1);
    assert_int_equal(order_status_parse("pending"), -1);
    assert_int_equal(order_status_parse("canceled"), -1);
}

static void test_fsm_terminal(void **state)
{
    (void)state;
    for (int s = 0; s < OS__COUNT; s++) {
        int want = s == OS_COMPLETED || s == OS_CANCELLED || s == OS_EXPIRED || s == OS_REFUNDED;
        assert_int_equal(!!order_status_terminal((enum order_status)s), want);
        /* terminal ⇔ no move leaves the state */
        int moves = 0;
        for (int e = 0; e < OE__COUNT; e++)
            moves += order_fsm_next((enum order_status)s, (enum order_event)e) >= 0;
        if ((moves == 0) != want)
            fail_msg("%s: terminal=%d but %d moves", order_status_name((enum order_status)s), want,
                     moves);
    }
    /* every state is reachable from pending_payment */
    int seen[OS__COUNT] = {[OS_PENDING_PAYMENT] = 1};
    for (int round = 0; round < OS__COUNT; round++)
        for (int s = 0; s < OS__COUNT; s++)
            if (seen[s])
                for (int e = 0; e < OE__COUNT; e++) {
                    int n = order_fsm_next((enum order_status)s, (enum order_event)e);
                    if (n >= 0) seen[n] = 1;
                }
    for (int s = 0; s < OS__COUNT; s++)
        if (!seen[s]) fail_msg("%s unreachable", order_status_name(s));
}

/* ---- err ---- */

static void test_err_table(void **state)
{
    (void)state;
    for (int e = 0; e < ERR__COUNT; e++) {
        const struct err_info *i = err_info(e);
        assert_non_null(i);
        assert_non_null(i->code);
        assert_non_null(i->title);
        assert_true(strlen(i->code) > 0);
        assert_true(strlen(i->title) > 0);
        for (const char *c = i->code; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || *c == '_'))
                fail_msg("code \"%s\" is not snake_case", i->code);
        if (e == ERR_OK) {
            assert_int_equal(i->status, 200);
        } else if (i->status < 400 || i->status > 599) {
            fail_msg("error %d (%s) has status %d", e, i->code, i->status);
        }
        /* An unknown value must not silently map onto this row. */
        if (e != ERR_INTERNAL && i == err_info(ERR_INTERNAL))
            fail_msg("error %d has no row of its own", e);
        for (int f = 0; f < e; f++)
            if (strcmp(err_info(f)->code, i->code) == 0)
                fail_msg("errors %d and %d share code %s", f, e, i->code);
    }
    const struct err_info *internal = err_info(ERR_INTERNAL);
    assert_int_equal(internal->status, 500);
    assert_ptr_equal(err_info(-1), internal);
    assert_ptr_equal(err_info(ERR__COUNT), internal);
    assert_ptr_equal(err_info(100000), internal);
}

static void test_err_contract(void **state)
{
    (void)state;
    /* The pairs documented in /work/shared/API.md. */
    static const struct {
        int e, status;
        const char *code;
    } doc[] = {
        {ERR_BAD_JSON, 400, "bad_json"},
        {ERR_BAD_CREDENTIALS, 401, "bad_credentials"},
        {ERR_PAYMENT_DECLINED, 402, "payment_declined"},
        {ERR_EMAIL_TAKEN, 409, "email_taken"},
        {ERR_INSUFFICIENT_STOCK, 409, "insufficient_stock"},
        {ERR_INVALID_TRANSITION, 409, "invalid_transition"},
        {ERR_PER_USER_LIMIT, 409, "per_user_limit"},
        {ERR_ROOM_NOT_LIVE, 409, "room_not_live"},
        {ERR_SALE_NOT_STARTED, 409, "sale_not_started"},
        {ERR_SOLD_OUT, 409, "sold_out"},
        {ERR_STOCK_RESERVED, 409, "stock_reserved"},
        {ERR_BELOW_MOQ, 422, "below_moq"},
        {ERR_CART_EMPTY, 422, "cart_empty"},
        {ERR_IDEM_REUSED, 422, "idempotency_key_reused"},
        {ERR_INVALID, 422, "invalid"},
        {ERR_MIXED_CURRENCY, 422, "mixed_currency"},
        {ERR_UNAUTHORIZED, 401, "unauthorized"},
        {ERR_FORBIDDEN, 403, "forbidden"},
        {ERR_NOT_FOUND, 404, "not_found"},
    };
    for (size_t k = 0; k < sizeof doc / sizeof doc[0]; k++) {
        const struct err_info *i = err_info(doc[k].e);
        assert_string_equal(i->code, doc[k].code);
        assert_int_equal(i->status, doc[k].status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commission_exact_and_half),
        cmocka_unit_test(test_commission_negative_symmetric),
        cmocka_unit_test(test_commission_large),
        cmocka_unit_test(test_money_mul),
        cmocka_unit_test(test_money_add),
        cmocka_unit_test(test_money_parse),
        cmocka_unit_test(test_money_parse_rejects),
        cmocka_unit_test(test_money_parse_exp_overflow),
        cmocka_unit_test(test_currency),
        cmocka_unit_test(test_pricing_unit_price),
        cmocka_unit_test(test_pricing_moq),
        cmocka_unit_test(test_pricing_check_tiers),
        cmocka_unit_test(test_pricing_line_total),
        cmocka_unit_test(test_fsm_table),
        cmocka_unit_test(test_fsm_out_of_range),
        cmocka_unit_test(test_fsm_names),
        cmocka_unit_test(test_fsm_terminal),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_err_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
