/*
 * state — the marketplace held in memory: users, merchants, categories,
 * products and SKUs with their stock counters, carts, checkouts, orders,
 * the ledger and idempotency records.
 *
 * Reads are served from here; storage only receives writes. The rules:
 *
 *  1. Everything in `S` is guarded by S.lock. Take it with state_lock(),
 *     read or change, and release it quickly (microseconds): never do I/O or
 *     hashing while holding it.
 *  2. A change to state is mirrored by statements appended to a struct wtx
 *     while the lock is held, and the wtx is submitted (writer_submit)
 *     before the lock is released. Commits are therefore in the order of the
 *     changes, and a request is answered only after its wtx commits.
 *  3. State may run ahead of disk by the unacknowledged writes in the
 *     writer's queue; a crash forgets exactly those, which nobody was told
 *     about. The persist_* functions write an object's whole row, so the
 *     last commit always carries the latest values.
 *  4. Stock per SKU (see domain/order_fsm.h for who moves it):
 *        available = on_hand − reserved ≥ 0    on_hand, reserved, sold ≥ 0
 *     A reservation checks available and increments reserved in one step
 *     under the lock, so two buyers can never take the same unit.
 *
 * Objects are never freed while the server runs (orders, products and users
 * are archived, not deleted), so pointers between them stay valid.
 */
#ifndef SOUK_STATE_H
#define SOUK_STATE_H
#include <pthread.h>
#include <stdint.h>
#include <jansson.h>
#include "domain/order_fsm.h"
#include "domain/pricing.h"
#include "store/store.h"
#include "store/writer.h"
#include "util/map.h"

enum role { ROLE_SHOPPER, ROLE_OPERATOR, ROLE_COURIER, ROLE__COUNT };
enum merchant_kind { MK_BRAND, MK_SME, MK_FACTORY, MK_EXPORTER, MK_RURAL, MK_CROSSBORDER,
                     MK_INDIVIDUAL, MK__COUNT };
enum merchant_status { MS_PENDING, MS_ACTIVE, MS_SUSPENDED, MS__COUNT };
enum product_status { PS_ACTIVE, PS_ARCHIVED, PS__COUNT };
enum ledger_kind { LK_SALE, LK_COMMISSION, LK_REFUND, LK_PAYOUT, LK__COUNT };

struct merchant;

struct membership {
    struct merchant *m;
    int owner; /* 1 owner, 0 staff */
};

struct cart_line {
    int64_t sku_id, qty, added_at;
};

struct user {
    int64_t id;
    char *email, *name, *pwhash; /* pwhash NULL: cannot sign in with a password */
    enum role role;
    int64_t created_at;
    struct membership *ms;
    int nms;
    struct vec cart;      /* struct cart_line *, in the order added */
    struct vec orders;    /* struct order *, id ascending */
    struct vec checkouts; /* struct checkout *, id ascending */
};

struct merchant {
    int64_t id, owner_id, created_at;
    char *name, *description;
    char country[3];
    enum merchant_kind kind;
    enum merchant_status status;
    int commission_bp;
    struct vec products; /* id ascending */
    struct vec orders;   /* id ascending */
    struct vec ledger;   /* struct ledger_entry *, id ascending */
};

struct category {
    int64_t id, parent_id, created_at;
    char *name, *path;
    struct category *parent;
    struct vec children;
};

struct sku {
    int64_t id;
    struct product *product;
    char *code;
    json_t *attrs; /* object */
    int64_t price;
    char currency[4];
    int64_t on_hand, reserved, sold, moq;
    struct price_tier *tiers;
    int ntiers;
};

struct product {
    int64_t id, category_id, created_at, updated_at;
    struct merchant *m;
    char *title, *description;
    json_t *attributes; /* object */
    enum product_status status;
    struct vec skus; /* struct sku * */
    /* The product's JSON as GET /products/{id} sends it, built on first read
     * and dropped by every persist_* that touches the product, its SKUs or
     * its merchant (all changes pass through those). */
    char *json_cache;
    size_t json_len;
};

struct order_line {
    int64_t sku_id, product_id, qty, unit_price;
    char *title;
};

struct order_event_rec {
    enum order_status status;
    int64_t at;
};

struct order {
    int64_t id, checkout_id, user_id, live_item_id;
    struct merchant *m;
    enum order_status status;
    int64_t subtotal, commission;
    int commission_bp;
    char currency[4];
    json_t *shipping;
    char *carrier, *tracking;
    int64_t created_at, expires_at, paid_at, updated_at;
    struct order_line *lines;
    int nlines;
    struct order_event_rec *hist;
    int nhist;
};

struct checkout {
    int64_t id, user_id, total, expires_at, created_at;
    char currency[4];
    json_t *shipping;
    struct vec orders; /* struct order * */
};

struct ledger_entry {
    int64_t id, merchant_id, amount, order_id, created_at;
    enum ledger_kind kind;
    char currency[4];
};

struct idem {
    int64_t id, scope, created_at;
    char *key;
    unsigned char fp[32];
    int status;
    char *body;          /* the answer while it is not yet committed; then NULL */
    int answered;        /* a 2xx answer was recorded (status is set) */
    _Atomic int durable; /* the stored answer is committed */
};

struct state {
    pthread_mutex_t lock;
    struct imap users, merchants, categories, products, skus, orders, checkouts;
    struct smap emails; /* lower-case email → user */
    struct smap tokens; /* hex(blake2b(token)) → user */
    struct smap idem;   /* "scope:key" → struct idem */
    struct vec merchant_list, product_list, order_list, category_list; /* id ascending */
    struct vec pending; /* orders in pending_payment (expiry scan) */
    int64_t payment_window_ms, live_payment_window_ms;
};

extern struct state S;

void state_init(void);
/* Load everything from the store (at start, before serving). */
int state_load(const struct store_ops *ops, struct store *st);
static inline void state_lock(void)
{
    pthread_mutex_lock(&S.lock);
}
static inline void state_unlock(void)
{
    pthread_mutex_unlock(&S.lock);
}

/* Names of enums as they appear in JSON and storage; parse returns -1. */
const char *role_name(enum role r);
int role_parse(const char *s);
const char *merchant_kind_name(enum merchant_kind k);
int merchant_kind_parse(const char *s);
const char *merchant_status_name(enum merchant_status s);
int merchant_status_parse(const char *s);
const char *product_status_name(enum product_status s);
int product_status_parse(const char *s);
const char *ledger_kind_name(enum ledger_kind k);
int ledger_kind_parse(const char *s);

/* Lookups (lock held). */
static inline struct user *user_get(int64_t id)
{
    return imap_get(&S.users, id);
}
static inline struct merchant *merchant_get(int64_t id)
{
    return imap_get(&S.merchants, id);
}
static inline struct product *product_get(int64_t id)
{
    return imap_get(&S.products, id);
}
static inline struct sku *sku_get(int64_t id)
{
    return imap_get(&S.skus, id);
}
static inline struct order *order_get(int64_t id)
{
    return imap_get(&S.orders, id);
}
static inline struct category *category_get(int64_t id)
{
    return imap_get(&S.categories, id);
}
static inline int64_t sku_available(const struct sku *k)
{
    return k->on_hand - k->reserved;
}
/* 1 when u is owner (need_owner) or staff of m. */
int user_is_member(const struct user *u, const struct merchant *m, int need_owner);
int user_has_merchant(const struct user *u);

/* Drop p's cached JSON (persist_* call it; so must any change that is not persisted). */
void product_touch(struct product *p);
/* Called (lock held) when what search sees of p changes: its title, text,
 * status, category, prices or merchant (from persist_product and
 * persist_merchant; SKU changes persist their product too). Not for stock
 * moves. NULL offline. */
extern void (*product_changed_hook)(struct product *p);

/* Persist an object's current row (lock held). */
void persist_user(struct wtx *t, const struct user *u);
void persist_merchant(struct wtx *t, const struct merchant *m);
void persist_category(struct wtx *t, const struct category *c);
void persist_product(struct wtx *t, const struct product *p);
void persist_sku(struct wtx *t, const struct sku *k);
void persist_sku_stock(struct wtx *t, const struct sku *k);
void persist_order(struct wtx *t, const struct order *o);
void persist_order_lines(struct wtx *t, const struct order *o);
void persist_checkout(struct wtx *t, const struct checkout *c);

/* The key of S.emails for an email (lower-cased) into out; returns its length. */
size_t state_email_key(const char *email, char *out, size_t cap);

/* Register new objects in the maps and lists (lock held). */
void state_add_user(struct user *u);
void state_add_merchant(struct merchant *m);
void state_add_category(struct category *c);
void state_add_product(struct product *p);
void state_add_order(struct order *o);
void state_add_checkout(struct checkout *c);
void state_add_ledger(struct ledger_entry *e);
void state_add_membership(struct user *u, struct merchant *m, int owner);

#endif
