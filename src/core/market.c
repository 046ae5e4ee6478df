#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/market.h"
#include "core/programs.h"
#include "domain/err.h"
#include "domain/money.h"
#include "util/id.h"
#include "util/log.h"

void (*market_live_order_hook)(struct wtx *, struct order *, enum order_status,
                               enum order_status);
void (*market_paid_hook)(const struct order *o, int64_t now);

/* ---- users, merchants, categories ---- */

struct user *market_user_create(struct wtx *t, const char *email, const char *name,
                                enum role role, const char *pwhash, int64_t now)
{
    struct user *u = xcalloc(1, sizeof *u);
    u->id = id_next();
    u->email = xstrdup(email);
    u->name = xstrdup(name);
    u->role = role;
    u->pwhash = pwhash ? xstrdup(pwhash) : NULL;
    u->created_at = now;
    state_add_user(u);
    persist_user(t, u);
    return u;
}

struct user *market_user_by_email(const char *email)
{
    char low[320];
    size_t n = state_email_key(email, low, sizeof low);
    return smap_get(&S.emails, low, n);
}

struct merchant *market_merchant_create(struct wtx *t, struct user *owner, const char *name,
                                        enum merchant_kind kind, const char *country,
                                        const char *description, int64_t now)
{
    struct merchant *m = xcalloc(1, sizeof *m);
    m->id = id_next();
    m->owner_id = owner->id;
    m->name = xstrdup(name);
    m->kind = kind;
    snprintf(m->country, sizeof m->country, "%s", country);
    m->description = description ? xstrdup(description) : NULL;
    m->status = MS_PENDING;
    m->commission_bp = 500;
    m->created_at = now;
    state_add_merchant(m);
    persist_merchant(t, m);
    market_staff_add(t, m, owner, 1, now);
    return m;
}

void market_merchant_set_status(struct wtx *t, struct merchant *m, enum merchant_status st)
{
    if (m->status == st) return;
    m->status = st;
    persist_merchant(t, m);
}

void market_staff_add(struct wtx *t, struct merchant *m, struct user *u, int owner, int64_t now)
{
    state_add_membership(u, m, owner);
    wtx_stmt(t, ST_STAFF_PUT);
    wtx_int(t, m->id);
    wtx_int(t, u->id);
    wtx_text(t, user_is_member(u, m, 1) ? "owner" : "staff");
    wtx_int(t, now);
}

struct category *market_category_create(struct wtx *t, const char *name, int64_t parent_id,
                                        int64_t now)
{
    struct category *c = xcalloc(1, sizeof *c);
    c->id = id_next();
    c->name = xstrdup(name);
    c->parent_id = parent_id;
    c->created_at = now;
    state_add_category(c);
    persist_category(t, c);
    return c;
}

int market_category_within(int64_t c, int64_t cat_id)
{
    for (struct category *cat = category_get(c); cat; cat = cat->parent)
        if (cat->id == cat_id) return 1;
    return 0;
}

/* ---- catalog ---- */

struct product *market_product_create(struct wtx *t, struct merchant *m, int64_t category_id,
                                      const char *title, const char *description,
                                      json_t *attributes, const struct sku_input *skus, int nskus,
                                      int64_t now)
{
    struct product *p = xcalloc(1, sizeof *p);
    p->id = id_next();
    p->m = m;
    p->category_id = category_id;
    p->title = xstrdup(title);
    p->description = description ? xstrdup(description) : NULL;
    p->attributes = attributes ? json_incref(attributes) : json_object();
    p->status = PS_ACTIVE;
    p->created_at = p->updated_at = now;
    for (int i = 0; i < nskus; i++) {
        const struct sku_input *in = &skus[i];
        struct sku *k = xcalloc(1, sizeof *k);
        k->id = id_next();
        k->product = p;
        k->code = xstrdup(in->code);
        k->attrs = in->attrs ? json_incref(in->attrs) : json_object();
        k->price = in->price;
        snprintf(k->currency, sizeof k->currency, "%s", in->currency);
        k->on_hand = in->stock;
        k->moq = in->moq > 0 ? in->moq : 1;
        if (in->ntiers) {
            k->tiers = xcalloc((size_t)in->ntiers, sizeof *k->tiers);
            memcpy(k->tiers, in->tiers, (size_t)in->ntiers * sizeof *k->tiers);
            k->ntiers = in->ntiers;
        }
        vec_push(&p->skus, k);
    }
    state_add_product(p);
    persist_product(t, p);
    for (size_t i = 0; i < p->skus.n; i++) persist_sku(t, p->skus.v[i]);
    return p;
}

int market_stock_set(struct wtx *t, struct sku *k, int64_t on_hand)
{
    if (on_hand < k->reserved) return ERR_STOCK_RESERVED;
    k->on_hand = on_hand;
    persist_sku_stock(t, k);
    return ERR_OK;
}

int64_t market_unit_price(const struct sku *k, int64_t qty)
{
    return pricing_unit_price(k->price, k->tiers, k->ntiers, qty);
}

int market_product_public(const struct product *p)
{
    return p->status == PS_ACTIVE && p->m->status == MS_ACTIVE;
}

/* ---- cart ---- */

struct cart_line *market_cart_line(struct user *u, int64_t sku_id)
{
    for (size_t i = 0; i < u->cart.n; i++) {
        struct cart_line *l = u->cart.v[i];
        if (l->sku_id == sku_id) return l;
    }
    return NULL;
}

static void cart_persist(struct wtx *t, struct user *u, struct cart_line *l)
{
    wtx_stmt(t, ST_CART_PUT);
    wtx_int(t, u->id);
    wtx_int(t, l->sku_id);
    wtx_int(t, l->qty);
    wtx_int(t, l->added_at);
}

static void cart_remove(struct wtx *t, struct user *u, struct cart_line *l)
{
    wtx_stmt(t, ST_CART_DEL);
    wtx_int(t, u->id);
    wtx_int(t, l->sku_id);
    vec_remove(&u->cart, l);
    free(l);
}

static int cart_check(const struct sku *k, int64_t qty)
{
    if (!market_product_public(k->product)) return ERR_MERCHANT_INACTIVE;
    int e = pricing_check_moq(k->moq, qty);
    if (e) return e;
    if (qty > sku_available(k)) return ERR_INSUFFICIENT_STOCK;
    return ERR_OK;
}

#define CART_MAX_LINES 200

int market_cart_add(struct wtx *t, struct user *u, struct sku *k, int64_t qty, int64_t now)
{
    struct cart_line *l = market_cart_line(u, k->id);
    int64_t total = (l ? l->qty : 0) + qty;
    if (total > MARKET_QTY_MAX) return ERR_INVALID;
    int e = cart_check(k, total);
    if (e) return e;
    if (!l) {
        if (u->cart.n >= CART_MAX_LINES) return ERR_INVALID;
        l = xcalloc(1, sizeof *l);
        l->sku_id = k->id;
        l->added_at = now;
        vec_push(&u->cart, l);
    }
    l->qty = total;
    cart_persist(t, u, l);
    return ERR_OK;
}

int market_cart_set(struct wtx *t, struct user *u, struct sku *k, int64_t qty, int64_t now)
{
    (void)now;
    struct cart_line *l = market_cart_line(u, k->id);
    if (!l) return ERR_NOT_FOUND;
    if (qty == 0) {
        cart_remove(t, u, l);
        return ERR_OK;
    }
    int e = cart_check(k, qty);
    if (e) return e;
    l->qty = qty;
    cart_persist(t, u, l);
    return ERR_OK;
}

/* ---- orders ---- */

static void order_push_history(struct order *o, enum order_status st, int64_t at)
{
    o->hist = xrealloc(o->hist, (size_t)(o->nhist + 1) * sizeof *o->hist);
    o->hist[o->nhist++] = (struct order_event_rec){st, at};
}

static void ledger_book(struct wtx *t, struct order *o, enum ledger_kind kind, int64_t amount,
                        int64_t now)
{
    struct ledger_entry *e = xcalloc(1, sizeof *e);
    e->id = id_next();
    e->merchant_id = o->m->id;
    e->kind = kind;
    e->amount = amount;
    memcpy(e->currency, o->currency, 4);
    e->order_id = o->id;
    e->created_at = now;
    state_add_ledger(e);
    wtx_stmt(t, ST_LEDGER_PUT);
    wtx_int(t, e->id);
    wtx_int(t, e->merchant_id);
    wtx_text(t, ledger_kind_name(kind));
    wtx_int(t, amount);
    wtx_text(t, e->currency);
    wtx_int(t, e->order_id);
    wtx_int(t, now);
}

int market_order_apply(struct wtx *t, struct order *o, enum order_event ev, int64_t now)
{
    int next = order_fsm_next(o->status, ev);
    if (next < 0) return ERR_INVALID_TRANSITION;
    enum order_status from = o->status;
    /* Stock effects, as drawn in domain/order_fsm.h. Live orders take their
     * units from the live item's allotment, which the live hook moves. */
    if (!o->live_item_id) {
        for (int i = 0; i < o->nlines; i++) {
            struct sku *k = sku_get(o->lines[i].sku_id);
            if (!k) continue;
            int64_t q = o->lines[i].qty;
            switch (ev) {
            case OE_PAY:
                k->reserved -= q;
                k->on_hand -= q;
                k->sold += q;
                break;
            case OE_CANCEL:
                if (from == OS_PAID) {
                    k->on_hand += q;
                    k->sold -= q;
                } else {
                    k->reserved -= q;
                }
                break;
            case OE_EXPIRE: k->reserved -= q; break;
            default: continue;
            }
            persist_sku_stock(t, k);
        }
    }
    if (ev == OE_PAY) {
        o->paid_at = now;
        ledger_book(t, o, LK_SALE, o->subtotal, now);
        ledger_book(t, o, LK_COMMISSION, -o->commission, now);
    } else if (ev == OE_CANCEL && from == OS_PAID) {
        ledger_book(t, o, LK_REFUND, -o->subtotal, now);
        ledger_book(t, o, LK_COMMISSION, o->commission, now);
    }
    o->status = (enum order_status)next;
    o->updated_at = now;
    order_push_history(o, o->status, now);
    if (from == OS_PENDING_PAYMENT) vec_remove(&S.pending, o);
    if (o->live_item_id && market_live_order_hook) market_live_order_hook(t, o, from, o->status);
    if (ev == OE_PAY && market_paid_hook) market_paid_hook(o, now);
    persist_order(t, o);
    return ERR_OK;
}

int market_pay(struct wtx *t, struct order **orders, int n, const char *card, int64_t now)
{
    int pending = 0;
    for (int i = 0; i < n; i++) pending += orders[i]->status == OS_PENDING_PAYMENT;
    if (!pending) return ERR_INVALID_TRANSITION;
    /* The sandbox processor: this test card is always declined. */
    if (card && strcmp(card, "4000000000000002") == 0) return ERR_PAYMENT_DECLINED;
    for (int i = 0; i < n; i++)
        if (orders[i]->status == OS_PENDING_PAYMENT) market_order_apply(t, orders[i], OE_PAY, now);
    return ERR_OK;
}

int market_expire_due(struct wtx *t, int64_t now)
{
    int n = 0;
    for (size_t i = 0; i < S.pending.n;) {
        struct order *o = S.pending.v[i];
        if (o->expires_at && o->expires_at <= now) {
            market_order_apply(t, o, OE_EXPIRE, now); /* removes it from S.pending */
            n++;
        } else {
            i++;
        }
    }
    return n;
}

const char *market_checkout_status(const struct checkout *c)
{
    int pending = 0, paid = 0, expired = 0;
    for (size_t i = 0; i < c->orders.n; i++) {
        const struct order *o = c->orders.v[i];
        if (o->status == OS_PENDING_PAYMENT) pending++;
        else if (o->status == OS_EXPIRED) expired++;
        else if (o->status != OS_CANCELLED) paid++;
    }
    if (pending) return "pending_payment";
    if (paid) return "paid";
    if (expired) return "expired";
    return "cancelled";
}

/* ---- checkout ---- */

int market_checkout(struct wtx *t, struct user *u, json_t *shipping, int64_t now,
                    struct checkout **out, json_t **bad)
{
    if (u->cart.n == 0) return ERR_CART_EMPTY;
    const char *cur = NULL;
    json_t *short_skus = NULL;
    int err = ERR_OK;
    int64_t total = 0;
    for (size_t i = 0; i < u->cart.n; i++) {
        struct cart_line *l = u->cart.v[i];
        struct sku *k = sku_get(l->sku_id);
        if (!market_product_public(k->product)) {
            err = err ? err : ERR_MERCHANT_INACTIVE;
            continue;
        }
        if (cur && strcmp(cur, k->currency) != 0) err = ERR_MIXED_CURRENCY;
        cur = k->currency;
        if (!err && pricing_check_moq(k->moq, l->qty)) err = ERR_BELOW_MOQ;
        /* Every total below is a sum of these lines: checking the grand total
         * here means no order subtotal can overflow later. */
        int64_t lt;
        if (!err && (pricing_line_total(market_unit_price(k, l->qty), l->qty, &lt) ||
                     money_add(total, lt, &total)))
            err = ERR_INVALID;
        if (l->qty > sku_available(k)) {
            if (!short_skus) short_skus = json_array();
            char b[24];
            json_array_append_new(short_skus, json_string(id_fmt(k->id, b)));
        }
    }
    if (err == ERR_MIXED_CURRENCY || err == ERR_BELOW_MOQ || err == ERR_INVALID) {
        json_decref(short_skus);
        return err;
    }
    if (short_skus) {
        *bad = short_skus;
        return ERR_INSUFFICIENT_STOCK;
    }
    if (err) return err;

    /* All lines can be had: reserve them and split by merchant. */
    struct checkout *c = xcalloc(1, sizeof *c);
    c->id = id_next();
    c->user_id = u->id;
    snprintf(c->currency, sizeof c->currency, "%s", cur);
    c->shipping = json_incref(shipping);
    c->created_at = now;
    c->expires_at = now + S.payment_window_ms;
    state_add_checkout(c);
    for (size_t i = 0; i < u->cart.n; i++) {
        struct cart_line *l = u->cart.v[i];
        struct sku *k = sku_get(l->sku_id);
        struct merchant *m = k->product->m;
        struct order *o = NULL;
        for (size_t j = 0; j < c->orders.n && !o; j++)
            if (((struct order *)c->orders.v[j])->m == m) o = c->orders.v[j];
        if (!o) {
            o = xcalloc(1, sizeof *o);
            o->id = id_next();
            o->checkout_id = c->id;
            o->user_id = u->id;
            o->m = m;
            o->status = OS_PENDING_PAYMENT;
            memcpy(o->currency, c->currency, 4);
            o->commission_bp = programs_commission_bp(m, now);
            o->shipping = json_incref(shipping);
            o->created_at = o->updated_at = now;
            o->expires_at = c->expires_at;
            order_push_history(o, OS_PENDING_PAYMENT, now);
            vec_push(&c->orders, o);
        }
        o->lines = xrealloc(o->lines, (size_t)(o->nlines + 1) * sizeof *o->lines);
        struct order_line *ol = &o->lines[o->nlines++];
        ol->sku_id = k->id;
        ol->product_id = k->product->id;
        ol->title = xstrdup(k->product->title);
        ol->qty = l->qty;
        ol->unit_price = market_unit_price(k, l->qty);
        int64_t lt = 0;
        pricing_line_total(ol->unit_price, ol->qty, &lt);
        money_add(o->subtotal, lt, &o->subtotal);
        k->reserved += l->qty;
        persist_sku_stock(t, k);
    }
    for (size_t j = 0; j < c->orders.n; j++) {
        struct order *o = c->orders.v[j];
        o->commission = money_commission(o->subtotal, o->commission_bp);
        money_add(c->total, o->subtotal, &c->total);
        state_add_order(o);
        persist_order(t, o);
        persist_order_lines(t, o);
    }
    persist_checkout(t, c);
    while (u->cart.n) cart_remove(t, u, u->cart.v[u->cart.n - 1]);
    *out = c;
    return ERR_OK;
}

struct order *market_order_import(struct wtx *t, struct user *u, struct merchant *m,
                                  const struct order_line *lines, int nlines,
                                  const char *currency, enum order_status status, int64_t at)
{
    struct order *o = xcalloc(1, sizeof *o);
    o->id = id_next();
    o->user_id = u->id;
    o->m = m;
    o->status = status;
    snprintf(o->currency, sizeof o->currency, "%s", currency);
    o->commission_bp = m->commission_bp;
    o->created_at = o->updated_at = at;
    o->lines = xcalloc((size_t)nlines, sizeof *o->lines);
    o->nlines = nlines;
    for (int i = 0; i < nlines; i++) {
        o->lines[i] = lines[i];
        o->lines[i].title = xstrdup(lines[i].title);
        int64_t lt = 0;
        pricing_line_total(lines[i].unit_price, lines[i].qty, &lt);
        money_add(o->subtotal, lt, &o->subtotal);
    }
    o->commission = money_commission(o->subtotal, o->commission_bp);
    order_push_history(o, OS_PENDING_PAYMENT, at);
    if (status != OS_PENDING_PAYMENT) {
        o->paid_at = at;
        order_push_history(o, OS_PAID, at);
        if (status != OS_PAID) order_push_history(o, status, at);
    }
    state_add_order(o);
    if (o->paid_at) {
        ledger_book(t, o, LK_SALE, o->subtotal, at);
        ledger_book(t, o, LK_COMMISSION, -o->commission, at);
    }
    persist_order(t, o);
    persist_order_lines(t, o);
    return o;
}

void market_ledger_balance(const struct merchant *m, int64_t *pending, int64_t *available)
{
    *pending = *available = 0;
    for (size_t i = 0; i < m->ledger.n; i++) {
        const struct ledger_entry *e = m->ledger.v[i];
        const struct order *o = e->order_id ? order_get(e->order_id) : NULL;
        if (!o || o->status == OS_COMPLETED || e->kind == LK_PAYOUT)
            *available += e->amount;
        else
            *pending += e->amount;
    }
}
