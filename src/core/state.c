#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/state.h"
#include "util/jsonx.h"
#include "util/id.h"
#include "util/log.h"

struct state S;

static const char *role_names[] = {"shopper", "operator", "courier"};
static const char *kind_names[] = {"brand",  "sme",         "factory",   "exporter",
                                   "rural",  "crossborder", "individual"};
static const char *mstatus_names[] = {"pending", "active", "suspended"};
static const char *pstatus_names[] = {"active", "archived"};
static const char *lk_names[] = {"sale", "commission", "refund", "payout"};

static int parse_in(const char *s, const char **names, int n)
{
    if (!s) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

const char *role_name(enum role r) { return role_names[r]; }
int role_parse(const char *s) { return parse_in(s, role_names, ROLE__COUNT); }
const char *merchant_kind_name(enum merchant_kind k) { return kind_names[k]; }
int merchant_kind_parse(const char *s) { return parse_in(s, kind_names, MK__COUNT); }
const char *merchant_status_name(enum merchant_status s) { return mstatus_names[s]; }
int merchant_status_parse(const char *s) { return parse_in(s, mstatus_names, MS__COUNT); }
const char *product_status_name(enum product_status s) { return pstatus_names[s]; }
int product_status_parse(const char *s) { return parse_in(s, pstatus_names, PS__COUNT); }
const char *ledger_kind_name(enum ledger_kind k) { return lk_names[k]; }
int ledger_kind_parse(const char *s) { return parse_in(s, lk_names, LK__COUNT); }

void state_init(void)
{
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.lock, NULL);
    S.payment_window_ms = 900 * 1000;
    S.live_payment_window_ms = 300 * 1000;
}

int user_is_member(const struct user *u, const struct merchant *m, int need_owner)
{
    if (!u || !m) return 0;
    for (int i = 0; i < u->nms; i++)
        if (u->ms[i].m == m) return need_owner ? u->ms[i].owner : 1;
    return 0;
}

int user_has_merchant(const struct user *u)
{
    return u && u->nms > 0;
}

void (*product_changed_hook)(struct product *p);

void product_touch(struct product *p)
{
    free(p->json_cache);
    p->json_cache = NULL;
    p->json_len = 0;
}

/* ---- persistence: whole rows ---- */

static void put_json(struct wtx *t, const json_t *j)
{
    if (!j) {
        wtx_null(t);
        return;
    }
    char *s = json_dumps(j, JSON_COMPACT);
    wtx_text(t, s);
    free(s);
}

void persist_user(struct wtx *t, const struct user *u)
{
    wtx_stmt(t, ST_USER_PUT);
    wtx_int(t, u->id);
    wtx_text(t, u->email);
    wtx_text(t, u->name);
    wtx_text(t, role_name(u->role));
    wtx_text(t, u->pwhash);
    wtx_int(t, u->created_at);
}

void persist_merchant(struct wtx *t, const struct merchant *m)
{
    for (size_t i = 0; i < m->products.n; i++) {
        product_touch(m->products.v[i]);
        if (product_changed_hook) product_changed_hook(m->products.v[i]);
    }
    wtx_stmt(t, ST_MERCHANT_PUT);
    wtx_int(t, m->id);
    wtx_int(t, m->owner_id);
    wtx_text(t, m->name);
    wtx_text(t, merchant_kind_name(m->kind));
    wtx_text(t, m->country);
    wtx_text(t, m->description);
    wtx_text(t, merchant_status_name(m->status));
    wtx_int(t, m->commission_bp);
    wtx_int(t, m->created_at);
}

void persist_category(struct wtx *t, const struct category *c)
{
    wtx_stmt(t, ST_CATEGORY_PUT);
    wtx_int(t, c->id);
    wtx_text(t, c->name);
    wtx_int_or_null(t, c->parent_id);
    wtx_int(t, c->created_at);
}

void persist_product(struct wtx *t, const struct product *p)
{
    product_touch((struct product *)p);
    if (product_changed_hook) product_changed_hook((struct product *)p);
    wtx_stmt(t, ST_PRODUCT_PUT);
    wtx_int(t, p->id);
    wtx_int(t, p->m->id);
    wtx_int(t, p->category_id);
    wtx_text(t, p->title);
    wtx_text(t, p->description);
    put_json(t, p->attributes);
    wtx_text(t, product_status_name(p->status));
    wtx_int(t, p->created_at);
    wtx_int(t, p->updated_at);
}

static json_t *tiers_json(const struct sku *k)
{
    if (!k->ntiers) return NULL;
    json_t *a = json_array();
    for (int i = 0; i < k->ntiers; i++)
        json_array_append_new(a, jpack("{sIsI}", "min_qty", (json_int_t)k->tiers[i].min_qty,
                                           "price", (json_int_t)k->tiers[i].price));
    return a;
}

void persist_sku(struct wtx *t, const struct sku *k)
{
    /* No search upsert here: every caller also persists the product, which
     * upserts once (a product with n SKUs was indexed n + 1 times). */
    product_touch(k->product);
    wtx_stmt(t, ST_SKU_PUT);
    wtx_int(t, k->id);
    wtx_int(t, k->product->id);
    wtx_text(t, k->code);
    put_json(t, k->attrs);
    wtx_int(t, k->price);
    wtx_text(t, k->currency);
    wtx_int(t, k->on_hand);
    wtx_int(t, k->reserved);
    wtx_int(t, k->sold);
    json_t *tj = tiers_json(k);
    put_json(t, tj);
    json_decref(tj);
    wtx_int(t, k->moq);
}

void persist_sku_stock(struct wtx *t, const struct sku *k)
{
    product_touch(k->product);
    wtx_stmt(t, ST_SKU_STOCK);
    wtx_int(t, k->on_hand);
    wtx_int(t, k->reserved);
    wtx_int(t, k->sold);
    wtx_int(t, k->id);
}

void persist_order(struct wtx *t, const struct order *o)
{
    wtx_stmt(t, ST_ORDER_PUT);
    wtx_int(t, o->id);
    wtx_int_or_null(t, o->checkout_id);
    wtx_int(t, o->m->id);
    wtx_int(t, o->user_id);
    wtx_text(t, order_status_name(o->status));
    wtx_int(t, o->subtotal);
    wtx_text(t, o->currency);
    wtx_int(t, o->commission_bp);
    wtx_int(t, o->commission);
    put_json(t, o->shipping);
    wtx_text(t, o->carrier);
    wtx_text(t, o->tracking);
    wtx_int(t, o->created_at);
    wtx_int_or_null(t, o->expires_at);
    wtx_int_or_null(t, o->paid_at);
    wtx_int(t, o->updated_at);
    /* history as [[status, at], ...]: compact, and an order has few moves */
    char buf[1024];
    size_t n = 0;
    buf[n++] = '[';
    for (int i = 0; i < o->nhist && n < sizeof buf - 48; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s[%d,%lld]", i ? "," : "",
                              (int)o->hist[i].status, (long long)o->hist[i].at);
    buf[n++] = ']';
    wtx_textn(t, buf, n);
    wtx_int_or_null(t, o->live_item_id);
}

void persist_order_lines(struct wtx *t, const struct order *o)
{
    for (int i = 0; i < o->nlines; i++) {
        const struct order_line *l = &o->lines[i];
        wtx_stmt(t, ST_ORDER_LINE_PUT);
        wtx_int(t, o->id);
        wtx_int(t, i);
        wtx_int(t, l->sku_id);
        wtx_int(t, l->product_id);
        wtx_text(t, l->title);
        wtx_int(t, l->qty);
        wtx_int(t, l->unit_price);
    }
}

void persist_checkout(struct wtx *t, const struct checkout *c)
{
    wtx_stmt(t, ST_CHECKOUT_PUT);
    wtx_int(t, c->id);
    wtx_int(t, c->user_id);
    wtx_int(t, c->total);
    wtx_text(t, c->currency);
    put_json(t, c->shipping);
    wtx_int_or_null(t, c->expires_at);
    wtx_int(t, c->created_at);
}

/* ---- registration in maps and lists ---- */

size_t state_email_key(const char *email, char *out, size_t cap)
{
    size_t i = 0;
    for (; email[i] && i + 1 < cap; i++)
        out[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
    out[i] = 0;
    return i;
}

void state_add_user(struct user *u)
{
    char low[320];
    size_t n = state_email_key(u->email, low, sizeof low);
    imap_put(&S.users, u->id, u);
    smap_put(&S.emails, low, n, u);
}

void state_add_merchant(struct merchant *m)
{
    imap_put(&S.merchants, m->id, m);
    vec_push(&S.merchant_list, m);
}

void state_add_category(struct category *c)
{
    imap_put(&S.categories, c->id, c);
    vec_push(&S.category_list, c);
    c->parent = c->parent_id ? category_get(c->parent_id) : NULL;
    if (c->parent) vec_push(&c->parent->children, c);
    size_t plen = strlen(c->name) + (c->parent ? strlen(c->parent->path) + 3 : 0) + 1;
    c->path = xmalloc(plen);
    if (c->parent)
        snprintf(c->path, plen, "%s / %s", c->parent->path, c->name);
    else
        snprintf(c->path, plen, "%s", c->name);
}

void state_add_product(struct product *p)
{
    imap_put(&S.products, p->id, p);
    vec_push(&S.product_list, p);
    vec_push(&p->m->products, p);
    for (size_t i = 0; i < p->skus.n; i++) {
        struct sku *k = p->skus.v[i];
        imap_put(&S.skus, k->id, k);
    }
}

void state_add_order(struct order *o)
{
    imap_put(&S.orders, o->id, o);
    vec_push(&S.order_list, o);
    vec_push(&o->m->orders, o);
    struct user *u = user_get(o->user_id);
    if (u) vec_push(&u->orders, o);
    if (o->status == OS_PENDING_PAYMENT) vec_push(&S.pending, o);
}

void state_add_checkout(struct checkout *c)
{
    imap_put(&S.checkouts, c->id, c);
    struct user *u = user_get(c->user_id);
    if (u) vec_push(&u->checkouts, c);
}

void state_add_ledger(struct ledger_entry *e)
{
    struct merchant *m = merchant_get(e->merchant_id);
    if (m) vec_push(&m->ledger, e);
}

void state_add_membership(struct user *u, struct merchant *m, int owner)
{
    for (int i = 0; i < u->nms; i++)
        if (u->ms[i].m == m) {
            u->ms[i].owner |= owner;
            return;
        }
    u->ms = xrealloc(u->ms, (size_t)(u->nms + 1) * sizeof *u->ms);
    u->ms[u->nms++] = (struct membership){m, owner};
}
