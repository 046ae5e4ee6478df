#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/market.h"
#include "core/state.h"
#include "import/loader.h"
#include "util/log.h"

void loader_title_case(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int start = 1;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < cap; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z' && !start) c = (unsigned char)(c + 32);
        if (c >= 'a' && c <= 'z' && start) c = (unsigned char)(c - 32);
        out[n++] = (char)c;
        start = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'' || c >= 0x80);
    }
    out[n] = 0;
}

/* Keyword rules for a category tree the file does not have. First match wins. */
static const struct {
    const char *parent, *name, *words[12];
} rules[] = {
    {"Seasonal", "Christmas", {"CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", NULL}},
    {"Seasonal", "Easter", {"EASTER", "EGG ", "BUNNY", NULL}},
    {"Home", "Candles & Lights", {"CANDLE", "T-LIGHT", "LIGHT", "LANTERN", "LAMP", NULL}},
    {"Home", "Kitchen & Dining", {"MUG", "CUP", "PLATE", "BOWL", "JUG", "TEA", "CAKE", "BAKING",
                                  "LUNCH", "NAPKIN", "KITCHEN", NULL}},
    {"Home", "Decor", {"FRAME", "CLOCK", "SIGN", "HEART", "MIRROR", "VASE", "CUSHION", "WREATH",
                       "DOORMAT", NULL}},
    {"Home", "Storage", {"BOX", "TIN", "JAR", "BASKET", "DRAWER", "HOOK", NULL}},
    {"Fashion", "Bags", {"BAG", "PURSE", "TOTE", NULL}},
    {"Fashion", "Jewellery & Accessories", {"NECKLACE", "BRACELET", "EARRING", "HAIR", "RING",
                                           "UMBRELLA", NULL}},
    {"Stationery & Gifts", "Cards & Wrap", {"CARD", "WRAP", "RIBBON", "TAG", "ENVELOPE", NULL}},
    {"Stationery & Gifts", "Stationery", {"PEN", "PENCIL", "NOTEBOOK", "STICKER", "ERASER",
                                         "BOOK", NULL}},
    {"Kids", "Toys & Games", {"TOY", "GAME", "DOLL", "PUZZLE", "SPACEBOY", "DOLLY", "CHILDREN",
                              "KIDS", NULL}},
    {"Garden & Outdoor", "Garden", {"GARDEN", "PLANT", "BIRD", "WATERING", "FLOWER", NULL}},
    {"Stationery & Gifts", "Party", {"PARTY", "BUNTING", "BALLOON", "CAKE CASES", NULL}},
};
#define NRULES (sizeof rules / sizeof rules[0])

static int rule_for(const char *title)
{
    for (size_t i = 0; i < NRULES; i++)
        for (int w = 0; rules[i].words[w]; w++)
            if (strstr(title, rules[i].words[w])) return (int)i;
    return -1;
}

static struct category *category_find_or_make(struct wtx *t, const char *name, int64_t parent)
{
    for (size_t i = 0; i < S.category_list.n; i++) {
        struct category *c = S.category_list.v[i];
        if (c->parent_id == parent && strcmp(c->name, name) == 0) return c;
    }
    return market_category_create(t, name, parent, now_ms());
}

static const enum merchant_kind kinds[] = {MK_BRAND, MK_SME,    MK_FACTORY,     MK_EXPORTER,
                                           MK_RURAL, MK_CROSSBORDER, MK_INDIVIDUAL, MK_SME};

static int cmp_sold(const void *a, const void *b, void *ctx)
{
    const struct retail_data *d = ctx;
    int64_t x = d->products[*(const uint32_t *)a].qty_sold,
            y = d->products[*(const uint32_t *)b].qty_sold;
    return x < y ? 1 : x > y ? -1 : (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

int loader_run(const struct retail_data *d, const struct loader_opts *o, struct loader_result *res)
{
    memset(res, 0, sizeof *res);
    const char *tag = o->email_tag ? o->email_tag : "retail.souk.test";
    char email[160], name[300];
    snprintf(email, sizeof email, "merchant-1@%s", tag);
    state_lock();
    int exists = market_user_by_email(email) != NULL;
    state_unlock();
    if (exists) {
        log_err("import: this data directory already holds an import (%s exists)", email);
        return -1;
    }
    int64_t now = now_ms();
    unsigned nm = o->nmerchants ? o->nmerchants : 1;
    const char *cur = o->currency ? o->currency : "GBP";
    int64_t fx = o->fx_x100 > 0 ? o->fx_x100 : 100;

    /* Which products: all, or the best sellers. */
    uint32_t *pick = xmalloc(d->nproducts * sizeof *pick);
    for (size_t i = 0; i < d->nproducts; i++) pick[i] = (uint32_t)i;
    size_t np = d->nproducts;
    if (o->max_products && o->max_products < np) {
        qsort_r(pick, np, sizeof *pick, cmp_sold, (void *)d);
        np = o->max_products;
    }
    uint32_t *mof = xmalloc((np ? np : 1) * sizeof *mof);
    retail_assign_merchants(np, nm, 20111209, mof);

    /* A merchant joined when its first product first sold: the history then
     * reads as it happened (no imported merchant looks "new" today). */
    int64_t *since = xcalloc(nm, sizeof *since);
    for (size_t i = 0; i < np; i++) {
        int64_t fs = d->products[pick[i]].first_seen * 1000;
        if (!since[mof[i]] || fs < since[mof[i]]) since[mof[i]] = fs;
    }
    struct wtx *t = wtx_new();
    state_lock();
    struct merchant **ms = xcalloc(nm, sizeof *ms);
    for (unsigned i = 0; i < nm; i++) {
        snprintf(email, sizeof email, "merchant-%u@%s", i + 1, tag);
        struct user *owner = market_user_create(t, email, "Merchant owner", ROLE_SHOPPER, NULL, now);
        if (nm == 1)
            snprintf(name, sizeof name, "Online Retail Ltd");
        else
            snprintf(name, sizeof name, "Retail Merchant %u", i + 1);
        enum merchant_kind k = nm == 1 ? MK_EXPORTER : kinds[i % (sizeof kinds / sizeof kinds[0])];
        ms[i] = market_merchant_create(t, owner, name, k, "GB",
                                       "Giftware wholesaler from the UCI Online Retail data set",
                                       since[i] ? since[i] : now);
        if (o->activate) market_merchant_set_status(t, ms[i], MS_ACTIVE);
    }
    res->merchants = nm;

    struct category *other_root = category_find_or_make(t, "Gifts", 0);
    struct category *other = category_find_or_make(t, "Everything else", other_root->id);
    struct category *rule_cat[NRULES];
    for (size_t i = 0; i < NRULES; i++) {
        struct category *parent = category_find_or_make(t, rules[i].parent, 0);
        rule_cat[i] = category_find_or_make(t, rules[i].name, parent->id);
    }
    res->categories = S.category_list.n;
    state_unlock();
    writer_submit(t, NULL, NULL);

    /* Products: one SKU each, the code as the SKU code, GBP pence. */
    struct sku **sku_of = xcalloc(d->nproducts, sizeof *sku_of);
    for (size_t i = 0; i < np;) {
        t = wtx_new();
        state_lock();
        for (size_t end = i + 500; i < np && i < end; i++) {
            const struct retail_product *rp = &d->products[pick[i]];
            char title[256];
            loader_title_case(rp->title[0] ? rp->title : rp->code, title, sizeof title);
            int rule = rule_for(rp->title);
            struct category *c = rule >= 0 ? rule_cat[rule] : other;
            int64_t stock = rp->qty_sold / 20 + 50;
            int64_t price = rp->price * fx / 100;
            struct sku_input in = {.code = rp->code, .price = price, .currency = cur,
                                   .stock = stock, .moq = 1};
            /* Wholesale buyers in this file buy by the dozen: a tier at 12. */
            struct price_tier tier = {12, price - price / 10};
            if (price >= 20) {
                in.tiers = &tier;
                in.ntiers = 1;
            }
            json_t *attrs = json_pack("{ss}", "stock_code", rp->code);
            struct product *p = market_product_create(t, ms[mof[i]], c->id, title, NULL, attrs, &in,
                                                      1, rp->first_seen * 1000);
            json_decref(attrs);
            sku_of[pick[i]] = p->skus.v[0];
            res->products++;
        }
        state_unlock();
        writer_submit(t, NULL, NULL);
    }

    /* Shoppers, created lazily when they first buy a kept product. */
    struct user **cust = xcalloc(d->ncustomers, sizeof *cust);
    size_t no = o->max_orders && o->max_orders < d->norders ? o->max_orders : d->norders;
    struct order_line *lines = xmalloc(1024 * sizeof *lines);
    size_t lines_cap = 1024;
    for (size_t oi = 0; oi < no;) {
        t = wtx_new();
        state_lock();
        for (size_t end = oi + 200; oi < no && oi < end; oi++) {
            const struct retail_order *ro = &d->orders[oi];
            if (ro->nlines > lines_cap) {
                lines_cap = ro->nlines;
                lines = xrealloc(lines, lines_cap * sizeof *lines);
            }
            /* Split the invoice by merchant, in line order. */
            for (unsigned m = 0; m < nm; m++) {
                int n = 0;
                for (uint32_t li = 0; li < ro->nlines; li++) {
                    const struct retail_line *rl = &d->order_lines[ro->first_line + li];
                    struct sku *k = sku_of[rl->product];
                    if (!k || k->product->m != ms[m]) continue;
                    lines[n++] = (struct order_line){k->id, k->product->id, rl->qty,
                                                     rl->price * fx / 100, k->product->title};
                }
                if (!n) continue;
                if (!cust[ro->customer]) {
                    snprintf(email, sizeof email, "customer-%lld@%s", (long long)ro->customer_id, tag);
                    snprintf(name, sizeof name, "Customer %lld (%s)", (long long)ro->customer_id,
                             d->countries[ro->country]);
                    cust[ro->customer] = market_user_create(
                        t, email, name, ROLE_SHOPPER, NULL,
                        d->customers[ro->customer].first_seen * 1000);
                    res->shoppers++;
                }
                struct order *ord = market_order_import(t, cust[ro->customer], ms[m], lines, n,
                                                        cur, OS_COMPLETED, ro->time * 1000);
                res->orders++;
                res->order_lines += (size_t)n;
                res->gmv += ord->subtotal;
                for (int k = 0; k < n; k++) {
                    struct sku *sk = sku_get(lines[k].sku_id);
                    sk->sold += lines[k].qty;
                }
            }
        }
        state_unlock();
        writer_submit(t, NULL, NULL);
    }
    /* The historical sales show in each SKU's sold counter. */
    t = wtx_new();
    state_lock();
    for (size_t i = 0; i < np; i++)
        if (sku_of[pick[i]] && sku_of[pick[i]]->sold) persist_sku_stock(t, sku_of[pick[i]]);
    state_unlock();
    writer_submit_wait(t);
    free(lines);
    free(cust);
    free(sku_of);
    free(ms);
    free(since);
    free(mof);
    free(pick);
    return 0;
}
