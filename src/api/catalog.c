/* catalog.c — categories, products, SKUs and stock. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "api/handlers.h"
#include "core/market.h"
#include "domain/err.h"
#include "domain/money.h"
#include "util/id.h"
#include "util/log.h"

void h_category_create(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    if (!api_is_operator(u)) {
        api_fail(r, ERR_FORBIDDEN, "only operators edit the category tree");
        goto out;
    }
    struct fields f = {0};
    const char *name = field_str(b, "name", 1, 1, 100, &f);
    int64_t parent = field_id(b, "parent_id", 0, &f);
    if (parent && !category_get(parent)) field_err(&f, "parent_id", "no such category");
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    struct category *c = market_category_create(t, name, parent, now_ms());
    api_commit(r, t, 201, render_category(c));
out:
    state_unlock();
    json_decref(b);
}

void h_category_list(struct http_req *r)
{
    state_lock();
    api_reply(r, 200, render_category_tree());
    state_unlock();
}

/* Who may see a product: shoppers see public ones; its merchant's staff and
 * operators see all of it. */
static int product_visible(const struct product *p, const struct user *u)
{
    return market_product_public(p) || api_is_operator(u) || user_is_member(u, p->m, 0);
}

#define MAX_SKUS 100
#define MAX_TIERS 20

/* price_tiers: absent or null → 0 tiers; else at most MAX_TIERS sorted
 * {min_qty ≥ 2, price ≥ 0} into tiers. Returns the count; errors in f. */
static int parse_tiers(json_t *tj, struct price_tier *tiers, struct fields *f)
{
    int n = 0;
    if (!tj || json_is_null(tj)) return 0;
    if (!json_is_array(tj) || json_array_size(tj) > MAX_TIERS) {
        field_err(f, "price_tiers", "must be an array of at most 20 {min_qty, price}");
        return 0;
    }
    for (size_t k = 0; k < json_array_size(tj); k++) {
        json_t *t = json_array_get(tj, k);
        struct fields tf = {0};
        if (!json_is_object(t) || !field_int(t, "min_qty", 1, 2, 1000000000, &tiers[k].min_qty, &tf) ||
            !field_int(t, "price", 1, 0, MONEY_MAX, &tiers[k].price, &tf)) {
            json_decref(tf.errors);
            field_err(f, "price_tiers", "each tier needs min_qty ≥ 2 and a price ≥ 0 (integers)");
            return 0;
        }
        n++;
    }
    int bad;
    if (pricing_check_tiers(tiers, n, &bad)) {
        field_err(f, "price_tiers", "min_qty must strictly increase");
        return 0;
    }
    return n;
}

/* Parse and check one SKU object; errors are named skus[i].field. */
static void parse_sku(json_t *o, int i, struct sku_input *in, struct price_tier *tiers,
                      struct fields *f)
{
    char field[64];
    struct fields sub = {0};
    if (!json_is_object(o)) {
        snprintf(field, sizeof field, "skus[%d]", i);
        field_err(f, field, "must be an object");
        return;
    }
    in->code = field_str(o, "code", 1, 1, 64, &sub);
    in->currency = field_str(o, "currency", 1, 3, 3, &sub);
    if (in->currency && !money_currency_ok(in->currency))
        field_err(&sub, "currency", "is not a currency souk accepts (ISO 4217, e.g. CNY)");
    field_int(o, "price", 1, 0, MONEY_MAX, &in->price, &sub);
    field_int(o, "stock", 1, 0, 1000000000, &in->stock, &sub);
    in->moq = 1;
    field_int(o, "moq", 0, 1, 1000000, &in->moq, &sub);
    json_t *attrs = json_object_get(o, "attrs");
    if (attrs && !json_is_null(attrs) && !json_is_object(attrs))
        field_err(&sub, "attrs", "must be an object");
    in->attrs = json_is_object(attrs) ? attrs : NULL;
    in->tiers = tiers;
    in->ntiers = parse_tiers(json_object_get(o, "price_tiers"), tiers, &sub);
    for (size_t k = 0; sub.errors && k < json_array_size(sub.errors); k++) {
        json_t *e = json_array_get(sub.errors, k);
        snprintf(field, sizeof field, "skus[%d].%s", i,
                 json_string_value(json_object_get(e, "field")));
        field_err(f, field, json_string_value(json_object_get(e, "message")));
    }
    json_decref(sub.errors);
}

void h_product_create(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    static __thread struct sku_input ins[MAX_SKUS];
    static __thread struct price_tier tiers[MAX_SKUS][MAX_TIERS];
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct fields f = {0};
    struct merchant *m;
    if (api_body_merchant(r, u, b, &f, "only merchant staff list products", &m)) goto out;
    int64_t cid = field_id(b, "category_id", 1, &f);
    if (cid && !category_get(cid)) field_err(&f, "category_id", "no such category");
    const char *title = field_str(b, "title", 1, 1, 200, &f);
    const char *desc = field_str(b, "description", 0, 0, 20000, &f);
    json_t *attrs = json_object_get(b, "attributes");
    if (attrs && !json_is_null(attrs) && !json_is_object(attrs))
        field_err(&f, "attributes", "must be an object");
    json_t *skus = json_object_get(b, "skus");
    int n = 0;
    if (!json_is_array(skus) || json_array_size(skus) < 1 || json_array_size(skus) > MAX_SKUS) {
        field_err(&f, "skus", "must be an array of 1 to 100 SKUs");
    } else {
        n = (int)json_array_size(skus);
        for (int i = 0; i < n; i++) {
            memset(&ins[i], 0, sizeof ins[i]);
            parse_sku(json_array_get(skus, (size_t)i), i, &ins[i], tiers[i], &f);
            for (int k = 0; k < i && ins[i].code; k++)
                if (ins[k].code && strcmp(ins[k].code, ins[i].code) == 0) {
                    char field[32];
                    snprintf(field, sizeof field, "skus[%d].code", i);
                    field_err(&f, field, "is used by another SKU of this product");
                    break;
                }
        }
    }
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    struct product *p = market_product_create(t, m, cid, title, desc,
                                              json_is_object(attrs) ? attrs : NULL, ins, n,
                                              now_ms());
    api_commit(r, t, 201, render_product(p));
out:
    state_unlock();
    json_decref(b);
}

void h_product_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_user(r);
    struct product *p = product_get(api_param_id(r, 0));
    if (!p || !product_visible(p, u)) {
        api_fail(r, ERR_NOT_FOUND, "no such product");
    } else {
        /* The hottest read: serve the cached bytes (see struct product). */
        if (!p->json_cache) {
            json_t *j = render_product(p);
            p->json_cache = json_dumps(j, JSON_COMPACT);
            p->json_len = strlen(p->json_cache);
            json_decref(j);
        }
        http_respond(r, 200, "application/json; charset=utf-8", p->json_cache, p->json_len);
    }
    state_unlock();
}

struct pfilter {
    int64_t merchant_id, category_id;
    const struct user *u;
};

static int product_keep(void *obj, void *ctx)
{
    struct product *p = obj;
    struct pfilter *f = ctx;
    if (f->merchant_id && p->m->id != f->merchant_id) return 0;
    if (f->category_id && !market_category_within(p->category_id, f->category_id)) return 0;
    if (market_product_public(p)) return 1;
    return api_is_operator(f->u) || user_is_member(f->u, p->m, 0);
}

static json_t *product_item(void *obj, void *ctx)
{
    (void)ctx;
    return render_product(obj);
}

void h_product_list(struct http_req *r)
{
    struct page pg;
    if (api_page(r, &pg)) return;
    struct pfilter pf = {0};
    struct fields f = {0};
    const char *m = http_query(r, "merchant_id"), *c = http_query(r, "category_id");
    if (m && !(pf.merchant_id = id_parse(m, strlen(m)))) field_err(&f, "merchant_id", "must be an id");
    if (c && !(pf.category_id = id_parse(c, strlen(c)))) field_err(&f, "category_id", "must be an id");
    if (api_fields_fail(r, &f)) return;
    state_lock();
    pf.u = api_user(r);
    const struct vec *v = &S.product_list;
    struct merchant *mm = pf.merchant_id ? merchant_get(pf.merchant_id) : NULL;
    if (mm) v = &mm->products;
    api_reply(r, 200, api_list(v, &pg, product_keep, product_item, &pf));
    state_unlock();
}

/* Staff of p's merchant (API.md: merchant staff); answers 401/403/404
 * otherwise. Operators moderate through PATCH (ops_ok), not stock. */
static int can_edit(struct http_req *r, struct user *u, const struct product *p, const char *what,
                    int ops_ok)
{
    if (!u) return 0;
    if (ops_ok && api_is_operator(u)) return p ? 1 : (api_fail(r, ERR_NOT_FOUND, what), 0);
    if (!user_has_merchant(u)) return api_fail(r, ERR_FORBIDDEN, "only merchant staff edit the catalog");
    if (!p || !user_is_member(u, p->m, 0)) return api_fail(r, ERR_NOT_FOUND, what);
    return 1;
}

void h_product_patch(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    struct product *p = product_get(api_param_id(r, 0));
    if (!can_edit(r, u, p, "no such product", 1)) goto out;
    struct fields f = {0};
    const char *title = field_str(b, "title", 0, 1, 200, &f);
    const char *desc = field_str(b, "description", 0, 0, 20000, &f);
    const char *status = field_str(b, "status", 0, 1, 20, &f);
    int st = status ? product_status_parse(status) : -1;
    if (status && st < 0) field_err(&f, "status", "must be active or archived");
    int64_t cid = field_id(b, "category_id", 0, &f);
    if (cid && !category_get(cid)) field_err(&f, "category_id", "no such category");
    json_t *attrs = json_object_get(b, "attributes");
    if (attrs && !json_is_object(attrs)) field_err(&f, "attributes", "must be an object");
    if (api_fields_fail(r, &f)) goto out;
    if (title) {
        free(p->title);
        p->title = xstrdup(title);
    }
    if (desc) {
        free(p->description);
        p->description = xstrdup(desc);
    }
    if (st >= 0) p->status = (enum product_status)st;
    if (cid) p->category_id = cid;
    if (attrs) {
        json_decref(p->attributes);
        p->attributes = json_incref(attrs);
    }
    p->updated_at = now_ms();
    struct wtx *t = wtx_new();
    persist_product(t, p);
    api_commit(r, t, 200, render_product(p));
out:
    state_unlock();
    json_decref(b);
}

void h_sku_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_user(r);
    struct sku *k = sku_get(api_param_id(r, 0));
    if (!k || !product_visible(k->product, u))
        api_fail(r, ERR_NOT_FOUND, "no such SKU");
    else
        api_reply(r, 200, render_sku(k));
    state_unlock();
}

void h_sku_stock(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    struct sku *k = sku_get(api_param_id(r, 0));
    if (!can_edit(r, u, k ? k->product : NULL, "no such SKU", 0)) goto out;
    struct fields f = {0};
    int64_t on_hand = 0;
    field_int(b, "on_hand", 1, 0, 1000000000, &on_hand, &f);
    if (api_fields_fail(r, &f)) goto out;
    struct wtx *t = wtx_new();
    int e = market_stock_set(t, k, on_hand);
    if (e) {
        wtx_free(t);
        api_fail(r, e, "on_hand cannot go below the units reserved by pending orders");
        goto out;
    }
    api_commit(r, t, 200, render_sku(k));
out:
    state_unlock();
    json_decref(b);
}

/* PATCH /skus/{id} {price?, price_tiers?, moq?, attrs?}: a merchant reprices.
 * Pending orders keep the unit price they were created with; carts price at
 * checkout, so they follow the change. */
void h_sku_patch(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    struct price_tier tiers[MAX_TIERS];
    state_lock();
    struct user *u = api_need_user(r);
    struct sku *k = sku_get(api_param_id(r, 0));
    if (!can_edit(r, u, k ? k->product : NULL, "no such SKU", 0)) goto out;
    struct fields f = {0};
    int64_t price = k->price, moq = k->moq;
    field_int(b, "price", 0, 0, MONEY_MAX, &price, &f);
    field_int(b, "moq", 0, 1, 1000000, &moq, &f);
    json_t *tj = json_object_get(b, "price_tiers");
    int ntiers = parse_tiers(tj, tiers, &f);
    json_t *attrs = json_object_get(b, "attrs");
    if (attrs && !json_is_object(attrs)) field_err(&f, "attrs", "must be an object");
    if (api_fields_fail(r, &f)) goto out;
    k->price = price;
    k->moq = moq;
    if (tj) {
        free(k->tiers);
        k->tiers = ntiers ? xcalloc((size_t)ntiers, sizeof *k->tiers) : NULL;
        if (ntiers) memcpy(k->tiers, tiers, (size_t)ntiers * sizeof *tiers);
        k->ntiers = ntiers;
    }
    if (attrs) {
        json_decref(k->attrs);
        k->attrs = json_incref(attrs);
    }
    k->product->updated_at = now_ms();
    struct wtx *t = wtx_new();
    persist_sku(t, k);
    persist_product(t, k->product);
    api_commit(r, t, 200, render_sku(k));
out:
    state_unlock();
    json_decref(b);
}
