/* orders.c — cart, checkout, payment and the order lifecycle. */
#include <string.h>
#include "api/api.h"
#include "util/jsonx.h"
#include "api/handlers.h"
#include "core/market.h"
#include "domain/err.h"
#include "util/id.h"
#include "util/log.h"

#define QTY_MAX MARKET_QTY_MAX

/* ---- cart ---- */

void h_cart_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    size_t len;
    if (u) {
        char *text = render_cart_text(u, &len);
        api_reply_text(r, 200, text, len);
    }
    state_unlock();
}

static void cart_change(struct http_req *r, int add)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct fields f = {0};
    int64_t sku_id = add ? field_id(b, "sku_id", 1, &f) : api_param_id(r, 0);
    int64_t qty = 0;
    field_int(b, "qty", 1, add ? 1 : 0, QTY_MAX, &qty, &f);
    struct sku *k = sku_id ? sku_get(sku_id) : NULL;
    if (add && sku_id && (!k || !market_product_public(k->product)))
        field_err(&f, "sku_id", "no such SKU for sale");
    if (!add && !k) {
        api_fail(r, ERR_NOT_FOUND, "that SKU is not in the cart");
        goto out;
    }
    if (api_fields_fail(r, &f)) goto out;
    struct wtx *t = wtx_new();
    int e = add ? market_cart_add(t, u, k, qty, now_ms()) : market_cart_set(t, u, k, qty, now_ms());
    if (e) {
        wtx_free(t);
        json_t *extra = NULL;
        if (e == ERR_INSUFFICIENT_STOCK)
            extra = jpack("{s[o]sI}", "skus", json_id(k->id), "available",
                              (json_int_t)sku_available(k));
        if (e == ERR_BELOW_MOQ) extra = jpack("{sI}", "moq", (json_int_t)k->moq);
        api_fail_with(r, e,
                      e == ERR_NOT_FOUND ? "that SKU is not in the cart"
                      : e == ERR_INVALID ? "a cart line holds at most 100000 units"
                                         : NULL,
                      extra);
        goto out;
    }
    size_t len;
    char *text = render_cart_text(u, &len);
    api_commit_text(r, t, 200, text, len);
out:
    state_unlock();
    json_decref(b);
}

void h_cart_add(struct http_req *r)
{
    cart_change(r, 1);
}

void h_cart_patch(struct http_req *r)
{
    cart_change(r, 0);
}

void h_cart_delete(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct sku *k = sku_get(api_param_id(r, 0));
    struct wtx *t = wtx_new();
    if (!k || market_cart_set(t, u, k, 0, now_ms()) != ERR_OK) {
        wtx_free(t);
        api_fail(r, ERR_NOT_FOUND, "that SKU is not in the cart");
        goto out;
    }
    size_t len;
    char *text = render_cart_text(u, &len);
    api_commit_text(r, t, 200, text, len);
out:
    state_unlock();
}

/* ---- checkout ---- */

static json_t *check_address(json_t *b, struct fields *f)
{
    json_t *a = json_object_get(b, "shipping_address");
    if (!a || !json_is_object(a)) {
        field_err(f, "shipping_address", "is required: {name, phone, line1, city, country}");
        return NULL;
    }
    static const struct {
        const char *k;
        int req;
        size_t max;
    } parts[] = {{"name", 1, 100},  {"phone", 1, 40},       {"line1", 1, 200},
                 {"line2", 0, 200}, {"city", 1, 100},       {"region", 0, 100},
                 {"postal_code", 0, 20}, {"country", 1, 2}};
    struct fields sub = {0};
    json_t *clean = json_object();
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *v = field_str(a, parts[i].k, parts[i].req, parts[i].req ? 1 : 0, parts[i].max, &sub);
        if (v) json_object_set_new(clean, parts[i].k, json_string(v));
    }
    const char *c = json_string_value(json_object_get(clean, "country"));
    if (c && !(strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'))
        field_err(&sub, "country", "must be an ISO 3166 alpha-2 code such as CN");
    for (size_t k = 0; sub.errors && k < json_array_size(sub.errors); k++) {
        json_t *e = json_array_get(sub.errors, k);
        char field[64];
        snprintf(field, sizeof field, "shipping_address.%s",
                 json_string_value(json_object_get(e, "field")));
        field_err(f, field, json_string_value(json_object_get(e, "message")));
    }
    if (sub.errors) {
        json_decref(sub.errors);
        json_decref(clean);
        return NULL;
    }
    return clean;
}

void h_checkout(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    json_t *addr = NULL;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct fields f = {0};
    addr = check_address(b, &f);
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    struct checkout *c = NULL;
    json_t *bad = NULL;
    int e = market_checkout(t, u, addr, now_ms(), &c, &bad);
    if (e) {
        wtx_free(t);
        api_fail_with(r, e,
                      e == ERR_INSUFFICIENT_STOCK ? "some SKUs do not have enough stock"
                      : e == ERR_INVALID          ? "the checkout total is too large"
                                                  : NULL,
                      bad ? jpack("{so}", "skus", bad) : NULL);
        goto out;
    }
    size_t len;
    char *text = render_checkout_text(c, &len);
    api_commit_text(r, t, 201, text, len);
out:
    state_unlock();
    json_decref(addr);
    json_decref(b);
}

/* The caller's own checkout; 404 for anyone else's. */
static struct checkout *own_checkout(struct http_req *r, struct user *u)
{
    struct checkout *c = imap_get(&S.checkouts, api_param_id(r, 0));
    if (!c || c->user_id != u->id) {
        api_fail(r, ERR_NOT_FOUND, "no such checkout");
        return NULL;
    }
    return c;
}

void h_checkout_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    struct checkout *c = u ? own_checkout(r, u) : NULL;
    size_t len;
    if (c) {
        char *text = render_checkout_text(c, &len);
        api_reply_text(r, 200, text, len);
    }
    state_unlock();
}

/* Body {method: "sandbox", card?}: 1 when acceptable, else answered. */
static int check_payment(struct http_req *r, json_t *b, const char **card)
{
    struct fields f = {0};
    const char *method = field_str(b, "method", 1, 1, 20, &f);
    if (method && strcmp(method, "sandbox") != 0) field_err(&f, "method", "must be \"sandbox\"");
    *card = field_str(b, "card", 0, 12, 19, &f);
    for (const char *p = *card; p && *p; p++)
        if (*p < '0' || *p > '9') {
            field_err(&f, "card", "must be digits");
            break;
        }
    return !api_fields_fail(r, &f);
}

void h_checkout_pay(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    struct checkout *c = u ? own_checkout(r, u) : NULL;
    const char *card;
    if (!c || !check_payment(r, b, &card) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    int e = market_pay(t, (struct order **)c->orders.v, (int)c->orders.n, card, now_ms());
    if (e) {
        wtx_free(t);
        api_fail(r, e, e == ERR_INVALID_TRANSITION ? "nothing in this checkout awaits payment" : NULL);
        goto out;
    }
    size_t len;
    char *text = render_checkout_text(c, &len);
    api_commit_text(r, t, 200, text, len);
out:
    state_unlock();
    json_decref(b);
}

/* ---- orders ---- */

/* Who sees an order: its shopper, its merchant's staff, operators, and
 * couriers (they deliver). */
static int order_visible(const struct order *o, const struct user *u)
{
    return o->user_id == u->id || api_is_operator(u) || u->role == ROLE_COURIER ||
           user_is_member(u, o->m, 0);
}

static struct order *find_order(struct http_req *r, struct user *u)
{
    struct order *o = order_get(api_param_id(r, 0));
    if (!o || !order_visible(o, u)) {
        api_fail(r, ERR_NOT_FOUND, "no such order");
        return NULL;
    }
    return o;
}

void h_order_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    struct order *o = u ? find_order(r, u) : NULL;
    if (o) api_reply(r, 200, render_order(o));
    state_unlock();
}

struct ofilter {
    int status;
    int64_t merchant_id;
    const struct user *u;
};

static int order_keep(void *obj, void *ctx)
{
    struct order *o = obj;
    struct ofilter *f = ctx;
    return (f->status < 0 || (int)o->status == f->status) &&
           (!f->merchant_id || o->m->id == f->merchant_id) && order_visible(o, f->u);
}

static json_t *order_item(void *obj, void *ctx)
{
    (void)ctx;
    return render_order(obj);
}

void h_order_list(struct http_req *r)
{
    struct page pg;
    if (api_page(r, &pg)) return;
    struct ofilter of = {-1, 0, NULL};
    struct fields f = {0};
    const char *st = http_query(r, "status"), *m = http_query(r, "merchant_id");
    if (st && (of.status = order_status_parse(st)) < 0) field_err(&f, "status", "is not an order status");
    if (m && !(of.merchant_id = id_parse(m, strlen(m)))) field_err(&f, "merchant_id", "must be an id");
    if (api_fields_fail(r, &f)) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    of.u = u;
    /* Pick the smallest list that holds everything this caller may see. */
    const struct vec *v = &u->orders;
    struct merchant *mm = of.merchant_id ? merchant_get(of.merchant_id) : NULL;
    if (mm && (api_is_operator(u) || u->role == ROLE_COURIER || user_is_member(u, mm, 0)))
        v = &mm->orders;
    else if (api_is_operator(u) || u->role == ROLE_COURIER || user_has_merchant(u))
        v = &S.order_list;
    api_reply(r, 200, api_list(v, &pg, order_keep, order_item, &of));
out:
    state_unlock();
}

enum actor { ACT_SHOPPER = 1, ACT_MERCHANT = 2, ACT_COURIER = 4, ACT_OPERATOR = 8 };

/* An order move by someone allowed to make it. A caller whose role can
 * never make this move gets 403; an order the caller cannot see, 404; a
 * visible order the caller has no part in for this move, 403. */
static void order_move(struct http_req *r, enum order_event ev, int allowed)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    int could = ((allowed & ACT_SHOPPER) != 0) || ((allowed & ACT_MERCHANT) && user_has_merchant(u)) ||
                ((allowed & ACT_COURIER) && u->role == ROLE_COURIER) ||
                ((allowed & ACT_OPERATOR) && api_is_operator(u));
    if (!could) {
        api_fail(r, ERR_FORBIDDEN, "your role cannot make this move on orders");
        goto out;
    }
    struct order *o = order_get(api_param_id(r, 0));
    if (!o || !order_visible(o, u)) {
        api_fail(r, ERR_NOT_FOUND, "no such order");
        goto out;
    }
    int as = 0;
    if (o->user_id == u->id) as |= ACT_SHOPPER;
    if (user_is_member(u, o->m, 0)) as |= ACT_MERCHANT;
    if (u->role == ROLE_COURIER) as |= ACT_COURIER;
    if (api_is_operator(u)) as |= ACT_OPERATOR;
    if (!(as & allowed)) {
        api_fail(r, ERR_FORBIDDEN, "you cannot make this move on the order");
        goto out;
    }
    struct fields f = {0};
    const char *carrier = NULL, *tracking = NULL;
    if (ev == OE_SHIP) {
        carrier = field_str(b, "carrier", 0, 1, 60, &f);
        tracking = field_str(b, "tracking", 0, 1, 100, &f);
    }
    if (api_fields_fail(r, &f)) goto out;
    struct wtx *t = wtx_new();
    if (ev == OE_SHIP && order_fsm_next(o->status, ev) >= 0) {
        free(o->carrier);
        free(o->tracking);
        o->carrier = carrier ? xstrdup(carrier) : NULL;
        o->tracking = tracking ? xstrdup(tracking) : NULL;
    }
    int e = market_order_apply(t, o, ev, now_ms());
    if (e) {
        wtx_free(t);
        char detail[96];
        snprintf(detail, sizeof detail, "the order is %s", order_status_name(o->status));
        api_fail(r, e, detail);
        goto out;
    }
    api_commit(r, t, 200, render_order(o));
out:
    state_unlock();
    json_decref(b);
}

void h_order_cancel(struct http_req *r)
{
    order_move(r, OE_CANCEL, ACT_SHOPPER | ACT_MERCHANT | ACT_OPERATOR);
}

void h_order_ship(struct http_req *r)
{
    order_move(r, OE_SHIP, ACT_MERCHANT);
}

void h_order_deliver(struct http_req *r)
{
    order_move(r, OE_DELIVER, ACT_MERCHANT | ACT_COURIER | ACT_OPERATOR);
}

void h_order_complete(struct http_req *r)
{
    order_move(r, OE_COMPLETE, ACT_SHOPPER);
}

void h_order_pay(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct order *o = order_get(api_param_id(r, 0));
    if (!o || !order_visible(o, u)) {
        api_fail(r, ERR_NOT_FOUND, "no such order");
        goto out;
    }
    if (o->user_id != u->id) {
        api_fail(r, ERR_FORBIDDEN, "only the shopper pays an order");
        goto out;
    }
    const char *card;
    if (!check_payment(r, b, &card) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    int e = market_pay(t, &o, 1, card, now_ms());
    if (e) {
        wtx_free(t);
        api_fail(r, e, NULL);
        goto out;
    }
    api_commit(r, t, 200, render_order(o));
out:
    state_unlock();
    json_decref(b);
}
