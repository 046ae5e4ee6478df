/*
 * demo.c — `souk demo`: a believable marketplace on 127.0.0.1:8080.
 *
 * First run seeds DIR (default ./demo-data): an operator, a shopper,
 * merchants of every kind with their own logins, the category tree, a few
 * hundred best-selling products of the real Online Retail catalog (priced
 * in CNY), past orders from its invoices, and a handful of Chinese-language
 * products from a rural co-op. Later runs serve what is there.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "core/auth.h"
#include "core/market.h"
#include "core/state.h"
#include "import/loader.h"
#include "import/retail.h"
#include "util/log.h"

static const struct {
    const char *name, *country, *description;
    enum merchant_kind kind;
} demo_merchants[] = {
    {"Harbour & Oak", "GB", "A British homeware brand.", MK_BRAND},
    {"Little Lantern Studio", "CN", "A small shop of lights and candles from Hangzhou.", MK_SME},
    {"Ningbo Homeware Factory", "CN", "Factory-direct kitchenware; wholesale tiers, MOQ 6.", MK_FACTORY},
    {"Yiwu Export Co.", "CN", "An exporter bringing its catalog to domestic shoppers.", MK_EXPORTER},
    {"Wuchang Farm Co-op", "CN", "A rural co-operative selling rice, fruit and tea.", MK_RURAL},
    {"Seoul Select Global", "KR", "Cross-border goods shipped from Korea.", MK_CROSSBORDER},
    {"Mia's Handmade", "CN", "One person, handmade gifts.", MK_INDIVIDUAL},
};
#define NDEMO (sizeof demo_merchants / sizeof demo_merchants[0])

static const struct {
    const char *title, *desc, *code;
    int64_t price, stock;
} rural_products[] = {
    {"五常大米 稻花香 5kg", "黑龙江五常产区当季新米，真空包装。", "RICE-5KG", 8900, 500},
    {"赣南脐橙 10斤装", "江西赣南果园直发，现摘现发。", "ORANGE-10", 5990, 300},
    {"安吉白茶 2024 明前 250g", "浙江安吉明前白茶，罐装。", "TEA-AJ-250", 26800, 120},
    {"北京奥运会双肩包 2008 经典款", "2008 北京奥运会纪念双肩包，经典款。", "BAG-2008", 19900, 80},
    {"云南普洱茶饼 357g", "云南勐海古树普洱生茶饼。", "PUER-357", 15800, 60},
    {"新疆若羌灰枣 1kg", "新疆若羌红枣，自然晾晒。", "DATE-1KG", 3990, 400},
};

static int seed(const char *dir)
{
    struct store *st;
    if (cli_open(dir, &st) != 0) return -1;
    state_lock();
    int seeded = market_user_by_email("op@souk.demo") != NULL;
    state_unlock();
    if (seeded) {
        cli_close(st);
        return 0;
    }
    fprintf(stderr, "demo: seeding %s (first run)\n", dir);
    char op_hash[AUTH_HASH_MAX], shop_hash[AUTH_HASH_MAX], m_hash[AUTH_HASH_MAX];
    if (auth_hash_password("demo-operator", 13, op_hash) || auth_hash_password("demo-shopper", 12, shop_hash) ||
        auth_hash_password("demo-merchant", 13, m_hash)) {
        cli_close(st);
        return -1;
    }
    int64_t now = now_ms();
    struct wtx *t = wtx_new();
    state_lock();
    market_user_create(t, "op@souk.demo", "Olivia Operator", ROLE_OPERATOR, op_hash, now);
    market_user_create(t, "shopper@souk.demo", "Li Wei", ROLE_SHOPPER, shop_hash, now);
    market_user_create(t, "courier@souk.demo", "Zhang Courier", ROLE_COURIER, m_hash, now);
    state_unlock();
    writer_submit_wait(t);

    /* The real catalog: the 320 best sellers over the demo merchants. */
    char path[4096];
    snprintf(path, sizeof path, "%s/../shared/data/online-retail/online_retail.csv.gz", cli_project_dir());
    struct retail_data d;
    if (retail_load(path, &d, NULL) == 0) {
        struct loader_opts o = {.nmerchants = NDEMO, .max_products = 320, .max_orders = 3000,
                                .activate = 1, .email_tag = "souk.demo", .currency = "CNY",
                                .fx_x100 = 900};
        struct loader_result res;
        loader_run(&d, &o, &res);
        fprintf(stderr, "demo: %zu products, %zu shoppers, %zu past orders from Online Retail\n",
                res.products, res.shoppers, res.orders);
        retail_release(&d);
    } else {
        /* Without the data set the demo still has merchants (and the co-op's goods). */
        t = wtx_new();
        state_lock();
        for (size_t i = 0; i < NDEMO; i++) {
            char email[64];
            snprintf(email, sizeof email, "merchant-%zu@souk.demo", i + 1);
            struct user *o = market_user_create(t, email, "Merchant owner", ROLE_SHOPPER, NULL, now);
            struct merchant *m = market_merchant_create(t, o, "x", MK_SME, "CN", NULL, now);
            market_merchant_set_status(t, m, MS_ACTIVE);
        }
        state_unlock();
        writer_submit_wait(t);
    }

    /* Give the loader's merchants their demo identities and logins. */
    t = wtx_new();
    state_lock();
    for (size_t i = 0; i < NDEMO && i < S.merchant_list.n; i++) {
        struct merchant *m = S.merchant_list.v[i];
        free(m->name);
        free(m->description);
        m->name = xstrdup(demo_merchants[i].name);
        m->description = xstrdup(demo_merchants[i].description);
        m->kind = demo_merchants[i].kind;
        memcpy(m->country, demo_merchants[i].country, 3);
        persist_merchant(t, m);
        struct user *owner = user_get(m->owner_id);
        free(owner->pwhash);
        owner->pwhash = xstrdup(m_hash);
        free(owner->name);
        owner->name = xstrdup(demo_merchants[i].name);
        persist_user(t, owner);
        if (m->kind == MK_FACTORY)
            for (size_t p = 0; p < m->products.n; p++) {
                struct product *pr = m->products.v[p];
                struct sku *k = pr->skus.v[0];
                k->moq = 6;
                persist_sku(t, k);
            }
        if (m->kind == MK_RURAL) {
            struct category *food = NULL;
            for (size_t c = 0; c < S.category_list.n && !food; c++)
                if (strcmp(((struct category *)S.category_list.v[c])->name, "Food & Tea") == 0)
                    food = S.category_list.v[c];
            if (!food) food = market_category_create(t, "Food & Tea", 0, now);
            for (size_t p = 0; p < sizeof rural_products / sizeof rural_products[0]; p++) {
                struct sku_input in = {.code = rural_products[p].code,
                                       .price = rural_products[p].price,
                                       .currency = "CNY",
                                       .stock = rural_products[p].stock,
                                       .moq = 1};
                market_product_create(t, m, food->id, rural_products[p].title,
                                      rural_products[p].desc, NULL, &in, 1, now);
            }
        }
    }
    state_unlock();
    writer_submit_wait(t);
    cli_close(st);
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    struct serve_opts o = {.data = "demo-data",
                           .listen = "127.0.0.1:8080",
                           .payment_window_s = 900,
                           .live_payment_window_s = 300,
                           .threads = cli_default_threads()};
    static const struct option longs[] = {{"data", required_argument, 0, 'd'},
                                          {"listen", required_argument, 0, 'l'},
                                          {"quiet", no_argument, 0, 'q'},
                                          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'd': o.data = optarg; break;
        case 'l': o.listen = optarg; break;
        case 'q': o.quiet = 1; break;
        default: return 2;
        }
    }
    log_quiet = 1;
    if (seed(o.data) != 0) return 1;
    log_quiet = 0;
    struct store *st;
    cli_serving = 1;
    if (cli_open(o.data, &st) != 0) return 1;
    fprintf(stderr,
            "\nsouk demo marketplace: http://%s/\n"
            "  operator   op@souk.demo / demo-operator\n"
            "  shopper    shopper@souk.demo / demo-shopper\n"
            "  merchant   merchant-1@souk.demo / demo-merchant (Harbour & Oak, brand;"
            " merchant-2..7 are the other kinds)\n"
            "  courier    courier@souk.demo / demo-merchant\n"
            "  data in    %s (delete it to start over)\n\n",
            o.listen, o.data);
    return cli_serve(&o, st);
}
