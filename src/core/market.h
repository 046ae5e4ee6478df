/*
 * market — the operations of the marketplace core on in-memory state.
 *
 * Every function here runs with the state lock held, takes already
 * validated input (the API layer, the importer and the demo all call it),
 * changes state and appends the matching rows to the given unit of work.
 * Functions that can refuse return an enum err (domain/err.h) and change
 * nothing when they refuse: checks come first, changes after.
 */
#ifndef SOUK_MARKET_H
#define SOUK_MARKET_H
#include "core/state.h"

struct user *market_user_create(struct wtx *t, const char *email, const char *name,
                                enum role role, const char *pwhash, int64_t now);
/* The user with this email (case-insensitive), or NULL. */
struct user *market_user_by_email(const char *email);

struct merchant *market_merchant_create(struct wtx *t, struct user *owner, const char *name,
                                        enum merchant_kind kind, const char *country,
                                        const char *description, int64_t now);
void market_merchant_set_status(struct wtx *t, struct merchant *m, enum merchant_status st);
void market_staff_add(struct wtx *t, struct merchant *m, struct user *u, int owner, int64_t now);

struct category *market_category_create(struct wtx *t, const char *name, int64_t parent_id,
                                        int64_t now);
/* 1 when category c is cat_id or one of its descendants. */
int market_category_within(int64_t c, int64_t cat_id);

struct sku_input {
    const char *code;
    json_t *attrs; /* borrowed; NULL = {} */
    int64_t price, stock, moq;
    const char *currency;
    struct price_tier *tiers; /* copied */
    int ntiers;
};

struct product *market_product_create(struct wtx *t, struct merchant *m, int64_t category_id,
                                      const char *title, const char *description,
                                      json_t *attributes, const struct sku_input *skus, int nskus,
                                      int64_t now);
/* ERR_STOCK_RESERVED when on_hand < reserved. */
int market_stock_set(struct wtx *t, struct sku *k, int64_t on_hand);

/* Unit price of a line of qty units of k (tiers applied). */
int64_t market_unit_price(const struct sku *k, int64_t qty);
/* 1 when shoppers may see/buy p (active product of an active merchant). */
int market_product_public(const struct product *p);

/* Most units of one SKU in a cart line or order line. */
#define MARKET_QTY_MAX 100000

/* Cart. add: qty added to the line; set: qty replaces (0 removes).
 * ERR_INVALID when the line would exceed MARKET_QTY_MAX. */
int market_cart_add(struct wtx *t, struct user *u, struct sku *k, int64_t qty, int64_t now);
int market_cart_set(struct wtx *t, struct user *u, struct sku *k, int64_t qty, int64_t now);
struct cart_line *market_cart_line(struct user *u, int64_t sku_id);

/* Checkout: reserve every cart line or none; one order per merchant.
 * ERR_INVALID when the total would overflow int64 minor units.
 * ERR_INSUFFICIENT_STOCK sets *bad to an array of the short SKU ids. */
int market_checkout(struct wtx *t, struct user *u, json_t *shipping, int64_t now,
                    struct checkout **out, json_t **bad);
/* Pay the pending orders given (all or none). card may be NULL. */
int market_pay(struct wtx *t, struct order **orders, int n, const char *card, int64_t now);
/* Apply an event to an order with its stock and ledger effects. */
int market_order_apply(struct wtx *t, struct order *o, enum order_event ev, int64_t now);
/* Expire pending orders whose time is up; returns how many. */
int market_expire_due(struct wtx *t, int64_t now);
/* Status of a checkout, derived from its orders. */
const char *market_checkout_status(const struct checkout *c);

/* Hook for live rooms: called when a live order changes status, so the
 * live item's counters follow (core/live.c). */
extern void (*market_live_order_hook)(struct wtx *t, struct order *o, enum order_status from,
                                      enum order_status to);

/* Hook for discovery: called when an order is paid (lock held). */
extern void (*market_paid_hook)(const struct order *o, int64_t now);

/* Create a historical order (import): lines given, status and times set,
 * no stock moved; books the ledger if the order was paid. */
struct order *market_order_import(struct wtx *t, struct user *u, struct merchant *m,
                                  const struct order_line *lines, int nlines,
                                  const char *currency, enum order_status status, int64_t at);

/* Ledger balance of m: pending (orders not completed) and available. */
void market_ledger_balance(const struct merchant *m, int64_t *pending, int64_t *available);

#endif
