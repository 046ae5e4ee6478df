/* render.c — objects as the JSON of API.md. Lock held throughout. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "core/market.h"
#include "util/id.h"
#include "util/jsonx.h"
#include "util/jw.h"
#include "util/log.h"

#define SET(o, k, v) json_object_set_new((o), (k), (v))
#define STR(s) ((s) ? json_string(s) : json_null())
#define INT(i) json_integer((json_int_t)(i))

json_t *json_id(int64_t id)
{
    char b[24];
    return id ? json_string(id_fmt(id, b)) : json_null();
}

json_t *json_time(int64_t ms)
{
    char b[32];
    return ms ? json_string(time_fmt(ms, b)) : json_null();
}

static json_t *merchant_brief(const struct merchant *m)
{
    json_t *j = json_object();
    SET(j, "id", json_id(m->id));
    SET(j, "name", STR(m->name));
    SET(j, "kind", STR(merchant_kind_name(m->kind)));
    SET(j, "country", STR(m->country));
    SET(j, "status", STR(merchant_status_name(m->status)));
    return j;
}

json_t *render_user(const struct user *u, int with_merchants)
{
    json_t *j = json_object();
    SET(j, "id", json_id(u->id));
    SET(j, "email", STR(u->email));
    SET(j, "name", STR(u->name));
    SET(j, "role", STR(role_name(u->role)));
    SET(j, "created_at", json_time(u->created_at));
    if (with_merchants) {
        json_t *ms = json_array();
        for (int i = 0; i < u->nms; i++) {
            json_t *b = merchant_brief(u->ms[i].m);
            SET(b, "role", STR(u->ms[i].owner ? "owner" : "staff"));
            json_array_append_new(ms, b);
        }
        SET(j, "merchants", ms);
    }
    return j;
}

json_t *render_merchant(const struct merchant *m)
{
    json_t *j = merchant_brief(m);
    SET(j, "description", STR(m->description));
    SET(j, "commission_bp", INT(m->commission_bp));
    SET(j, "owner_id", json_id(m->owner_id));
    SET(j, "created_at", json_time(m->created_at));
    return j;
}

json_t *render_category(const struct category *c)
{
    json_t *j = json_object();
    SET(j, "id", json_id(c->id));
    SET(j, "name", STR(c->name));
    SET(j, "parent_id", json_id(c->parent_id));
    SET(j, "path", STR(c->path));
    SET(j, "created_at", json_time(c->created_at));
    return j;
}

static json_t *category_node(const struct category *c)
{
    json_t *kids = json_array();
    for (size_t i = 0; i < c->children.n; i++)
        json_array_append_new(kids, category_node(c->children.v[i]));
    json_t *j = render_category(c);
    SET(j, "children", kids);
    return j;
}

json_t *render_category_tree(void)
{
    json_t *roots = json_array();
    for (size_t i = 0; i < S.category_list.n; i++) {
        const struct category *c = S.category_list.v[i];
        if (!c->parent) json_array_append_new(roots, category_node(c));
    }
    return roots;
}

json_t *render_sku(const struct sku *k)
{
    json_t *j = json_object();
    SET(j, "id", json_id(k->id));
    SET(j, "product_id", json_id(k->product->id));
    SET(j, "code", STR(k->code));
    SET(j, "attrs", k->attrs ? json_incref(k->attrs) : json_object());
    SET(j, "price", INT(k->price));
    SET(j, "currency", STR(k->currency));
    SET(j, "on_hand", INT(k->on_hand));
    SET(j, "reserved", INT(k->reserved));
    SET(j, "available", INT(sku_available(k)));
    SET(j, "sold", INT(k->sold));
    SET(j, "moq", INT(k->moq));
    json_t *tiers = json_array();
    for (int i = 0; i < k->ntiers; i++) {
        json_t *t = json_object();
        SET(t, "min_qty", INT(k->tiers[i].min_qty));
        SET(t, "price", INT(k->tiers[i].price));
        json_array_append_new(tiers, t);
    }
    SET(j, "price_tiers", tiers);
    return j;
}

json_t *render_product(const struct product *p)
{
    json_t *j = json_object();
    const struct category *c = category_get(p->category_id);
    SET(j, "id", json_id(p->id));
    SET(j, "merchant_id", json_id(p->m->id));
    SET(j, "category_id", json_id(p->category_id));
    SET(j, "category_path", c ? json_string(c->path) : json_null());
    SET(j, "title", STR(p->title));
    SET(j, "description", STR(p->description));
    SET(j, "attributes", p->attributes ? json_incref(p->attributes) : json_object());
    SET(j, "status", STR(product_status_name(p->status)));
    SET(j, "merchant", merchant_brief(p->m));
    SET(j, "created_at", json_time(p->created_at));
    SET(j, "updated_at", json_time(p->updated_at));
    json_t *skus = json_array();
    for (size_t i = 0; i < p->skus.n; i++) json_array_append_new(skus, render_sku(p->skus.v[i]));
    SET(j, "skus", skus);
    return j;
}

json_t *render_order(const struct order *o)
{
    json_t *j = json_object();
    SET(j, "id", json_id(o->id));
    SET(j, "checkout_id", json_id(o->checkout_id));
    SET(j, "merchant_id", json_id(o->m->id));
    SET(j, "merchant_name", STR(o->m->name));
    SET(j, "user_id", json_id(o->user_id));
    SET(j, "status", STR(order_status_name(o->status)));
    json_t *lines = json_array();
    for (int i = 0; i < o->nlines; i++) {
        const struct order_line *l = &o->lines[i];
        json_t *lj = json_object();
        SET(lj, "sku_id", json_id(l->sku_id));
        SET(lj, "product_id", json_id(l->product_id));
        SET(lj, "title", STR(l->title));
        SET(lj, "qty", INT(l->qty));
        SET(lj, "unit_price", INT(l->unit_price));
        SET(lj, "line_total", INT(l->unit_price * l->qty));
        json_array_append_new(lines, lj);
    }
    SET(j, "lines", lines);
    SET(j, "subtotal", INT(o->subtotal));
    SET(j, "currency", STR(o->currency));
    SET(j, "commission_bp", INT(o->commission_bp));
    SET(j, "commission", INT(o->commission));
    SET(j, "shipping_address", o->shipping ? json_incref(o->shipping) : json_null());
    SET(j, "carrier", STR(o->carrier));
    SET(j, "tracking", STR(o->tracking));
    SET(j, "live_item_id", json_id(o->live_item_id));
    SET(j, "created_at", json_time(o->created_at));
    SET(j, "expires_at", json_time(o->expires_at));
    SET(j, "paid_at", json_time(o->paid_at));
    SET(j, "updated_at", json_time(o->updated_at));
    json_t *hist = json_array();
    for (int i = 0; i < o->nhist; i++) {
        json_t *h = json_object();
        SET(h, "status", STR(order_status_name(o->hist[i].status)));
        SET(h, "at", json_time(o->hist[i].at));
        json_array_append_new(hist, h);
    }
    SET(j, "history", hist);
    return j;
}

/* The same object as render_order, written as text for the live buy answer
 * (souk's hottest write). tests/unit/test_render.c holds the two equal. */
void render_order_text(const struct order *o, struct jw *w)
{
    jw_obj(w);
    jw_key(w, "id"), jw_id(w, o->id);
    jw_key(w, "checkout_id"), jw_id(w, o->checkout_id);
    jw_key(w, "merchant_id"), jw_id(w, o->m->id);
    jw_key(w, "merchant_name"), jw_str(w, o->m->name);
    jw_key(w, "user_id"), jw_id(w, o->user_id);
    jw_key(w, "status"), jw_str(w, order_status_name(o->status));
    jw_key(w, "lines");
    jw_arr(w);
    for (int i = 0; i < o->nlines; i++) {
        const struct order_line *l = &o->lines[i];
        jw_obj(w);
        jw_key(w, "sku_id"), jw_id(w, l->sku_id);
        jw_key(w, "product_id"), jw_id(w, l->product_id);
        jw_key(w, "title"), jw_str(w, l->title);
        jw_key(w, "qty"), jw_int(w, l->qty);
        jw_key(w, "unit_price"), jw_int(w, l->unit_price);
        jw_key(w, "line_total"), jw_int(w, l->unit_price * l->qty);
        jw_end(w);
    }
    jw_aend(w);
    jw_key(w, "subtotal"), jw_int(w, o->subtotal);
    jw_key(w, "currency"), jw_str(w, o->currency);
    jw_key(w, "commission_bp"), jw_int(w, o->commission_bp);
    jw_key(w, "commission"), jw_int(w, o->commission);
    jw_key(w, "shipping_address");
    if (o->shipping) {
        char *sh = json_dumps(o->shipping, JSON_COMPACT);
        jw_raw(w, sh);
        free(sh);
    } else {
        jw_null(w);
    }
    jw_key(w, "carrier"), jw_str(w, o->carrier);
    jw_key(w, "tracking"), jw_str(w, o->tracking);
    jw_key(w, "live_item_id"), jw_id(w, o->live_item_id);
    jw_key(w, "created_at"), jw_time(w, o->created_at);
    jw_key(w, "expires_at"), jw_time(w, o->expires_at);
    jw_key(w, "paid_at"), jw_time(w, o->paid_at);
    jw_key(w, "updated_at"), jw_time(w, o->updated_at);
    jw_key(w, "history");
    jw_arr(w);
    for (int i = 0; i < o->nhist; i++) {
        jw_obj(w);
        jw_key(w, "status"), jw_str(w, order_status_name(o->hist[i].status));
        jw_key(w, "at"), jw_time(w, o->hist[i].at);
        jw_end(w);
    }
    jw_aend(w);
    jw_end(w);
}

/* Checkouts and carts are only ever sent whole, on hot paths (every cart
 * change, checkout and payment), so they are written as text directly. */
char *render_checkout_text(const struct checkout *c, size_t *len)
{
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "id"), jw_id(&w, c->id);
    jw_key(&w, "status"), jw_str(&w, market_checkout_status(c));
    jw_key(&w, "orders");
    jw_arr(&w);
    for (size_t i = 0; i < c->orders.n; i++) render_order_text(c->orders.v[i], &w);
    jw_aend(&w);
    jw_key(&w, "total"), jw_int(&w, c->total);
    jw_key(&w, "currency"), jw_str(&w, c->currency);
    jw_key(&w, "shipping_address");
    if (c->shipping) {
        char *sh = json_dumps(c->shipping, JSON_COMPACT);
        jw_raw(&w, sh);
        free(sh);
    } else {
        jw_null(&w);
    }
    jw_key(&w, "expires_at"), jw_time(&w, c->expires_at);
    jw_key(&w, "created_at"), jw_time(&w, c->created_at);
    jw_end(&w);
    return jw_detach(&w, len);
}

char *render_cart_text(const struct user *u, size_t *len)
{
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    int64_t qty = 0, subtotal = 0;
    const char *cur = NULL;
    int mixed = 0;
    for (size_t i = 0; i < u->cart.n; i++) {
        const struct cart_line *l = u->cart.v[i];
        const struct sku *k = sku_get(l->sku_id);
        int64_t unit = market_unit_price(k, l->qty);
        jw_obj(&w);
        jw_key(&w, "sku_id"), jw_id(&w, k->id);
        jw_key(&w, "product_id"), jw_id(&w, k->product->id);
        jw_key(&w, "merchant_id"), jw_id(&w, k->product->m->id);
        jw_key(&w, "merchant_name"), jw_str(&w, k->product->m->name);
        jw_key(&w, "title"), jw_str(&w, k->product->title);
        jw_key(&w, "code"), jw_str(&w, k->code);
        jw_key(&w, "qty"), jw_int(&w, l->qty);
        jw_key(&w, "unit_price"), jw_int(&w, unit);
        jw_key(&w, "line_total"), jw_int(&w, unit * l->qty);
        jw_key(&w, "currency"), jw_str(&w, k->currency);
        jw_key(&w, "available"), jw_int(&w, sku_available(k));
        jw_key(&w, "moq"), jw_int(&w, k->moq);
        jw_end(&w);
        qty += l->qty;
        subtotal += unit * l->qty;
        if (cur && strcmp(cur, k->currency) != 0) mixed = 1;
        cur = k->currency;
    }
    jw_aend(&w);
    jw_key(&w, "totals");
    jw_obj(&w);
    jw_key(&w, "qty"), jw_int(&w, qty);
    jw_key(&w, "subtotal");
    if (mixed)
        jw_null(&w);
    else
        jw_int(&w, subtotal);
    jw_key(&w, "currency"), jw_str(&w, mixed ? NULL : cur);
    jw_end(&w);
    jw_end(&w);
    return jw_detach(&w, len);
}

json_t *render_ledger_entry(const struct ledger_entry *e)
{
    json_t *j = json_object();
    SET(j, "id", json_id(e->id));
    SET(j, "kind", STR(ledger_kind_name(e->kind)));
    SET(j, "amount", INT(e->amount));
    SET(j, "currency", STR(e->currency));
    SET(j, "order_id", json_id(e->order_id));
    SET(j, "created_at", json_time(e->created_at));
    return j;
}
