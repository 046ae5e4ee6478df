/*
 * load.c — rebuild state from the store at start. Tables are read parents
 * first (users, merchants, categories, products, SKUs, then checkouts,
 * orders and their lines, ledger, carts, idempotency records), so every
 * pointer between objects can be set as rows arrive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/state.h"
#include "core/idem.h"
#include "util/id.h"
#include "util/log.h"

static char *col_str(const struct sval *c)
{
    if (c->type == SV_NULL) return NULL;
    if (c->type == SV_INT) {
        char buf[24];
        snprintf(buf, sizeof buf, "%lld", (long long)c->i);
        return xstrdup(buf);
    }
    return xstrndup(c->s, c->len);
}

static json_t *col_json(const struct sval *c)
{
    if (c->type != SV_TEXT) return NULL;
    return json_loadb(c->s, c->len, 0, NULL);
}

static void col_cur(const struct sval *c, char out[4])
{
    memset(out, 0, 4);
    if (c->type == SV_TEXT) memcpy(out, c->s, c->len < 3 ? c->len : 3);
}

static int row_user(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct user *u = xcalloc(1, sizeof *u);
    u->id = c[0].i;
    u->email = col_str(&c[1]);
    u->name = col_str(&c[2]);
    char *role = col_str(&c[3]);
    int r = role_parse(role);
    free(role);
    u->role = r < 0 ? ROLE_SHOPPER : (enum role)r;
    u->pwhash = col_str(&c[4]);
    u->created_at = c[5].i;
    state_add_user(u);
    id_bump(u->id);
    return 0;
}

static int row_token(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct user *u = user_get(c[1].i);
    if (!u || c[0].type != SV_BLOB) return 0;
    char hex[65];
    for (size_t i = 0; i < c[0].len && i < 32; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)c[0].s[i]);
    hex[64] = 0;
    smap_put(&S.tokens, hex, 64, u);
    return 0;
}

static int row_merchant(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct merchant *m = xcalloc(1, sizeof *m);
    m->id = c[0].i;
    m->owner_id = c[1].i;
    m->name = col_str(&c[2]);
    char *s = col_str(&c[3]);
    int k = merchant_kind_parse(s);
    free(s);
    m->kind = k < 0 ? MK_SME : (enum merchant_kind)k;
    if (c[4].type == SV_TEXT) memcpy(m->country, c[4].s, c[4].len < 2 ? c[4].len : 2);
    m->description = col_str(&c[5]);
    s = col_str(&c[6]);
    k = merchant_status_parse(s);
    free(s);
    m->status = k < 0 ? MS_PENDING : (enum merchant_status)k;
    m->commission_bp = (int)c[7].i;
    m->created_at = c[8].i;
    state_add_merchant(m);
    id_bump(m->id);
    return 0;
}

static int row_staff(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct merchant *m = merchant_get(c[0].i);
    struct user *u = user_get(c[1].i);
    if (m && u) state_add_membership(u, m, c[2].type == SV_TEXT && c[2].len == 5);
    return 0;
}

static int row_category(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct category *cat = xcalloc(1, sizeof *cat);
    cat->id = c[0].i;
    cat->name = col_str(&c[1]);
    cat->parent_id = c[2].type == SV_INT ? c[2].i : 0;
    cat->created_at = c[3].i;
    state_add_category(cat);
    id_bump(cat->id);
    return 0;
}

static int row_product(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct merchant *m = merchant_get(c[1].i);
    if (!m) return 0;
    struct product *p = xcalloc(1, sizeof *p);
    p->id = c[0].i;
    p->m = m;
    p->category_id = c[2].i;
    p->title = col_str(&c[3]);
    p->description = col_str(&c[4]);
    p->attributes = col_json(&c[5]);
    if (!p->attributes) p->attributes = json_object();
    char *s = col_str(&c[6]);
    int st = product_status_parse(s);
    free(s);
    p->status = st < 0 ? PS_ACTIVE : (enum product_status)st;
    p->created_at = c[7].i;
    p->updated_at = c[8].i;
    state_add_product(p);
    id_bump(p->id);
    return 0;
}

static int row_sku(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct product *p = product_get(c[1].i);
    if (!p) return 0;
    struct sku *k = xcalloc(1, sizeof *k);
    k->id = c[0].i;
    k->product = p;
    k->code = col_str(&c[2]);
    k->attrs = col_json(&c[3]);
    if (!k->attrs) k->attrs = json_object();
    k->price = c[4].i;
    col_cur(&c[5], k->currency);
    k->on_hand = c[6].i;
    k->reserved = c[7].i;
    k->sold = c[8].i;
    json_t *tiers = col_json(&c[9]);
    if (json_is_array(tiers) && json_array_size(tiers)) {
        k->ntiers = (int)json_array_size(tiers);
        k->tiers = xcalloc((size_t)k->ntiers, sizeof *k->tiers);
        for (int i = 0; i < k->ntiers; i++) {
            json_t *t = json_array_get(tiers, (size_t)i);
            k->tiers[i].min_qty = json_integer_value(json_object_get(t, "min_qty"));
            k->tiers[i].price = json_integer_value(json_object_get(t, "price"));
        }
    }
    json_decref(tiers);
    k->moq = c[10].i;
    vec_push(&p->skus, k);
    imap_put(&S.skus, k->id, k);
    id_bump(k->id);
    return 0;
}

static int row_cart(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct user *u = user_get(c[0].i);
    if (!u || !sku_get(c[1].i)) return 0;
    struct cart_line *l = xcalloc(1, sizeof *l);
    l->sku_id = c[1].i;
    l->qty = c[2].i;
    l->added_at = c[3].i;
    vec_push(&u->cart, l);
    return 0;
}

static int row_checkout(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct checkout *co = xcalloc(1, sizeof *co);
    co->id = c[0].i;
    co->user_id = c[1].i;
    co->total = c[2].i;
    col_cur(&c[3], co->currency);
    co->shipping = col_json(&c[4]);
    co->expires_at = c[5].type == SV_INT ? c[5].i : 0;
    co->created_at = c[6].i;
    state_add_checkout(co);
    id_bump(co->id);
    return 0;
}

static int row_order(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct merchant *m = merchant_get(c[2].i);
    if (!m) return 0;
    struct order *o = xcalloc(1, sizeof *o);
    o->id = c[0].i;
    o->checkout_id = c[1].type == SV_INT ? c[1].i : 0;
    o->m = m;
    o->user_id = c[3].i;
    char *s = col_str(&c[4]);
    int st = order_status_parse(s ? s : "");
    free(s);
    o->status = st < 0 ? OS_PENDING_PAYMENT : (enum order_status)st;
    o->subtotal = c[5].i;
    col_cur(&c[6], o->currency);
    o->commission_bp = (int)c[7].i;
    o->commission = c[8].i;
    o->shipping = col_json(&c[9]);
    o->carrier = col_str(&c[10]);
    o->tracking = col_str(&c[11]);
    o->created_at = c[12].i;
    o->expires_at = c[13].type == SV_INT ? c[13].i : 0;
    o->paid_at = c[14].type == SV_INT ? c[14].i : 0;
    o->updated_at = c[15].i;
    json_t *h = col_json(&c[16]);
    if (json_is_array(h)) {
        o->nhist = (int)json_array_size(h);
        o->hist = xcalloc((size_t)o->nhist + 1, sizeof *o->hist);
        for (int i = 0; i < o->nhist; i++) {
            json_t *e = json_array_get(h, (size_t)i);
            o->hist[i].status = (enum order_status)json_integer_value(json_array_get(e, 0));
            o->hist[i].at = json_integer_value(json_array_get(e, 1));
        }
    }
    json_decref(h);
    o->live_item_id = c[17].type == SV_INT ? c[17].i : 0;
    state_add_order(o);
    struct checkout *co = o->checkout_id ? imap_get(&S.checkouts, o->checkout_id) : NULL;
    if (co) vec_push(&co->orders, o);
    id_bump(o->id);
    return 0;
}

static int row_line(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct order *o = order_get(c[0].i);
    if (!o) return 0;
    o->lines = xrealloc(o->lines, (size_t)(o->nlines + 1) * sizeof *o->lines);
    struct order_line *l = &o->lines[o->nlines++];
    l->sku_id = c[2].i;
    l->product_id = c[3].i;
    l->title = col_str(&c[4]);
    l->qty = c[5].i;
    l->unit_price = c[6].i;
    return 0;
}

static int row_ledger(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct ledger_entry *e = xcalloc(1, sizeof *e);
    e->id = c[0].i;
    e->merchant_id = c[1].i;
    char *s = col_str(&c[2]);
    int k = ledger_kind_parse(s);
    free(s);
    e->kind = k < 0 ? LK_SALE : (enum ledger_kind)k;
    e->amount = c[3].i;
    col_cur(&c[4], e->currency);
    e->order_id = c[5].type == SV_INT ? c[5].i : 0;
    e->created_at = c[6].i;
    state_add_ledger(e);
    id_bump(e->id);
    return 0;
}

static int row_idem(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    if (c[3].type != SV_BLOB || c[3].len != 32) return 0;
    idem_restore(c[0].i, c[1].i, c[2].s, c[2].len, (const unsigned char *)c[3].s, (int)c[4].i,
                 c[5].s, c[5].len, c[6].i);
    id_bump(c[0].i);
    return 0;
}

int state_load(const struct store_ops *ops, struct store *st)
{
    static const struct {
        enum store_query q;
        store_row_fn fn;
    } steps[] = {
        {SQ_USERS, row_user},         {SQ_TOKENS, row_token},       {SQ_MERCHANTS, row_merchant},
        {SQ_STAFF, row_staff},        {SQ_CATEGORIES, row_category}, {SQ_PRODUCTS, row_product},
        {SQ_SKUS, row_sku},           {SQ_CART, row_cart},          {SQ_CHECKOUTS, row_checkout},
        {SQ_ORDERS, row_order},       {SQ_ORDER_LINES, row_line},   {SQ_LEDGER, row_ledger},
        {SQ_IDEM, row_idem},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (ops->scan(st, steps[i].q, steps[i].fn, NULL) != 0) return -1;
    log_info("state: %zu users, %zu merchants, %zu products, %zu orders loaded", S.users.len,
             S.merchants.len, S.products.len, S.orders.len);
    return 0;
}
