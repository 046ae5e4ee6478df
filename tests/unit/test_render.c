/* test_render — the text renderer of orders (the live buy answer) must give
 * exactly the JSON of render_order, for every kind of order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "api/api.h"
#include "core/market.h"
#include "util/jw.h"
#include "util/log.h"

static void assert_same(const struct order *o)
{
    json_t *tree = render_order(o);
    struct jw w;
    jw_init(&w);
    render_order_text(o, &w);
    size_t len;
    char *text = jw_detach(&w, &len);
    json_error_t err;
    json_t *parsed = json_loadb(text, len, 0, &err);
    if (!parsed) fail_msg("render_order_text is not JSON (%s): %s", err.text, text);
    if (!json_equal(tree, parsed)) {
        char *a = json_dumps(tree, JSON_SORT_KEYS), *b = json_dumps(parsed, JSON_SORT_KEYS);
        fail_msg("render_order and render_order_text differ:\n%s\n%s", a, b);
    }
    json_decref(tree);
    json_decref(parsed);
    free(text);
}

static struct user *shopper;
static struct merchant *merchant;
static struct product *product;

/* One state for every test: re-initialising would orphan the previous
 * test's objects (state has no teardown; the server never frees them). */
static void setup_state(void)
{
    static int done;
    if (done) return;
    done = 1;
    state_init();
    struct wtx *t = wtx_new();
    shopper = market_user_create(t, "s@x.io", "Wang \"Xiao\" Ming 王小明", ROLE_SHOPPER, NULL, 1000);
    struct user *owner = market_user_create(t, "o@x.io", "Owner", ROLE_SHOPPER, NULL, 1000);
    merchant = market_merchant_create(t, owner, "Shop \\ \"A\"\n", MK_FACTORY, "CN", NULL, 1000);
    market_merchant_set_status(t, merchant, MS_ACTIVE);
    struct category *c = market_category_create(t, "Tea 茶", 0, 1000);
    struct sku_input in = {.code = "T1", .price = 1999, .currency = "CNY", .stock = 100, .moq = 1};
    product = market_product_create(t, merchant, c->id, "安吉白茶 \"best\"\t\x01 tea", NULL, NULL,
                                    &in, 1, 1000);
    wtx_free(t);
}

static void test_pending_checkout_order(void **state)
{
    (void)state;
    setup_state();
    struct wtx *t = wtx_new();
    struct sku *k = product->skus.v[0];
    assert_int_equal(market_cart_add(t, shopper, k, 3, 2000), 0);
    json_t *ship = json_pack("{ssssssssss}", "name", "王 \"Li\"", "phone", "1", "line1", "x\ny",
                             "city", "杭州", "country", "CN");
    struct checkout *c = NULL;
    json_t *bad = NULL;
    assert_int_equal(market_checkout(t, shopper, ship, 1700000000123, &c, &bad), 0);
    assert_same(c->orders.v[0]);
    /* paid, then shipped with a carrier: more history, paid_at, carrier */
    struct order *o = c->orders.v[0];
    assert_int_equal(market_pay(t, &o, 1, NULL, 1700000001000), 0);
    o->carrier = strdup("SF \"Express\"");
    o->tracking = strdup("SF123");
    assert_int_equal(market_order_apply(t, o, OE_SHIP, 1700000002000), 0);
    assert_same(o);
    json_decref(ship);
    wtx_free(t);
}

static void test_imported_order(void **state)
{
    (void)state;
    setup_state();
    struct wtx *t = wtx_new();
    struct sku *k = product->skus.v[0];
    struct order_line lines[2] = {{k->id, product->id, 2, 1999, "line one"},
                                  {k->id, product->id, 12, 1799, "line \"two\" 二"}};
    struct order *o =
        market_order_import(t, shopper, merchant, lines, 2, "GBP", OS_COMPLETED, 1291191960000);
    assert_same(o);
    wtx_free(t);
}

static void test_writer_escapes_and_numbers(void **state)
{
    (void)state;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "a"), jw_int(&w, INT64_MIN);
    jw_key(&w, "b"), jw_int(&w, 0);
    jw_key(&w, "c"), jw_str(&w, "\x1f\"\\/");
    jw_key(&w, "d"), jw_arr(&w), jw_aend(&w);
    jw_key(&w, "e"), jw_obj(&w), jw_end(&w);
    jw_key(&w, "f"), jw_id(&w, 0);
    jw_key(&w, "g"), jw_time(&w, 0);
    jw_end(&w);
    char *s = jw_detach(&w, NULL);
    assert_string_equal(s, "{\"a\":-9223372036854775808,\"b\":0,\"c\":\"\\u001f\\\"\\\\/\","
                           "\"d\":[],\"e\":{},\"f\":null,\"g\":null}");
    free(s);
}

int main(void)
{
    log_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_checkout_order),
        cmocka_unit_test(test_imported_order),
        cmocka_unit_test(test_writer_escapes_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
