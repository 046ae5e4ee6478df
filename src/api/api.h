/*
 * api — what every handler file shares: who is calling, reading the body,
 * checking fields, idempotency, paging, rendering objects as JSON, and the
 * one way to answer after a write is durable (api_commit).
 *
 * The shape of a handler that writes:
 *
 *     json_t *body = api_body(r);          // outside the lock; NULL = answered
 *     state_lock();
 *     struct user *u = api_need_user(r);   // NULL = answered 401
 *     ... check rights and fields, api_fail*() on refusal ...
 *     struct wtx *t = wtx_new();
 *     ... market_*(t, ...) ...
 *     api_commit(r, t, 201, render(obj));  // answered once t is on disk
 *     state_unlock();
 *
 * api_fail* and api_commit also settle the request's idempotency record.
 */
#ifndef SOUK_API_H
#define SOUK_API_H
#include <jansson.h>
#include "http/http.h"
#include "core/state.h"

struct fields;

/* ---- caller ---- */
struct user *api_user(struct http_req *r);      /* NULL: anonymous (lock held) */
struct user *api_need_user(struct http_req *r); /* NULL: answered 401 */
int api_is_operator(const struct user *u);
/* The merchant in the path (param 0) that u may read: operators any, its
 * staff (its owner when need_owner) their own. Answers 401/403/404 and
 * returns NULL otherwise; `what` names the thing in a 403. Lock held. */
struct merchant *api_path_merchant(struct http_req *r, struct user *u, int need_owner,
                                   const char *what);
/* The merchant named by body member merchant_id, for a create by its staff:
 * a user with no merchant → 403 (`what`), another merchant's → 404; both
 * answered, returning 1. An unknown id is a field error in f (*out NULL). */
int api_body_merchant(struct http_req *r, struct user *u, json_t *b, struct fields *f,
                      const char *what, struct merchant **out);

/* ---- answers ---- */
/* Refuse: problem+json for err; settles idempotency. Always returns 0. */
int api_fail(struct http_req *r, int err, const char *detail);
/* Refuse with extra members in the problem (taken). */
int api_fail_with(struct http_req *r, int err, const char *detail, json_t *extra);
/* Answer a read (no write). Takes body. */
void api_reply(struct http_req *r, int status, json_t *body);
/* The same with JSON text (taken, malloc'd). */
void api_reply_text(struct http_req *r, int status, char *body, size_t len);
/* Submit t and answer status/body once it is durable (takes both). An empty
 * t answers at once. Lock held. */
void api_commit(struct http_req *r, struct wtx *t, int status, json_t *body);
/* The same with a body already encoded as JSON text (taken, malloc'd). */
void api_commit_text(struct http_req *r, struct wtx *t, int status, char *body, size_t len);

/* ---- input ---- */
/* The body as a JSON object (an empty body is {}); NULL = answered 400/422. */
json_t *api_body(struct http_req *r);
/* Path parameter i as an id; 0 when it is not one. */
int64_t api_param_id(struct http_req *r, int i);
/* Idempotency-Key handling for a creating POST. 1 = answered (replay or
 * refusal), 0 = go on. Lock held; call after authentication. */
int api_idem(struct http_req *r, const struct user *u);

struct fields {
    json_t *errors; /* array, NULL while no error */
};
void field_err(struct fields *f, const char *field, const char *msg);
/* A string member: NULL when absent (error if required) or wrong. Length in
 * characters (code points) within [min, max]. */
const char *field_str(json_t *o, const char *key, int required, size_t min, size_t max,
                      struct fields *f);
/* An integer member within [min, max]; returns 1 when present and valid. */
int field_int(json_t *o, const char *key, int required, int64_t min, int64_t max, int64_t *out,
              struct fields *f);
/* An id given as a string (or integer); 0 when absent or wrong. */
int64_t field_id(json_t *o, const char *key, int required, struct fields *f);
/* Answer 422 with f's errors when there are any: returns 1 if answered. */
int api_fields_fail(struct http_req *r, struct fields *f);

/* ---- lists ---- */
struct page {
    int limit;
    int64_t cursor; /* items with id < cursor; 0 = from the newest */
};
/* Parse ?limit= and ?cursor=; 1 = answered 422. */
int api_page(struct http_req *r, struct page *pg);
/* Newest-first page over a vec of objects whose first member is int64 id,
 * sorted by id ascending. keep() filters (NULL keeps all); render() makes
 * each item. Returns {items, next_cursor}. */
json_t *api_list(const struct vec *v, const struct page *pg, int (*keep)(void *obj, void *ctx),
                 json_t *(*render)(void *obj, void *ctx), void *ctx);

/* ---- rendering (lock held) ---- */
json_t *json_id(int64_t id); /* id as a string, or null for 0 */
json_t *json_time(int64_t ms);
json_t *render_user(const struct user *u, int with_merchants);
json_t *render_merchant(const struct merchant *m);
json_t *render_category(const struct category *c);
json_t *render_category_tree(void);
json_t *render_sku(const struct sku *k);
json_t *render_product(const struct product *p);
json_t *render_order(const struct order *o);
struct jw;
/* render_order as text, appended to w (the hot live buy answer). */
void render_order_text(const struct order *o, struct jw *w);
/* As JSON text (malloc'd): they are only ever sent whole, on hot paths. */
char *render_checkout_text(const struct checkout *c, size_t *len);
char *render_cart_text(const struct user *u, size_t *len);
json_t *render_ledger_entry(const struct ledger_entry *e);

#endif
