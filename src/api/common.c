#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "util/jsonx.h"
#include "core/auth.h"
#include "core/idem.h"
#include "domain/err.h"
#include "util/id.h"
#include "util/log.h"

struct user *api_user(struct http_req *r)
{
    if (r->caller) return r->caller;
    size_t len;
    const char *h = http_header(r, "authorization", &len);
    if (!h || len < 8 || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    struct user *u = auth_lookup(h + 7, len - 7);
    r->caller = u;
    r->caller_id = u ? u->id : 0;
    return u;
}

struct user *api_need_user(struct http_req *r)
{
    struct user *u = api_user(r);
    if (!u) api_fail(r, ERR_UNAUTHORIZED, "send Authorization: Bearer <token>");
    return u;
}

int api_is_operator(const struct user *u)
{
    return u && u->role == ROLE_OPERATOR;
}

struct merchant *api_path_merchant(struct http_req *r, struct user *u, int need_owner,
                                   const char *what)
{
    if (!u) return NULL;
    struct merchant *m = merchant_get(api_param_id(r, 0));
    if (api_is_operator(u)) {
        if (!m) api_fail(r, ERR_NOT_FOUND, "no such merchant");
        return m;
    }
    if (!user_has_merchant(u)) {
        api_fail(r, ERR_FORBIDDEN, what);
        return NULL;
    }
    if (!m || !user_is_member(u, m, 0)) {
        api_fail(r, ERR_NOT_FOUND, "no such merchant");
        return NULL;
    }
    if (need_owner && !user_is_member(u, m, 1)) {
        api_fail(r, ERR_FORBIDDEN, what);
        return NULL;
    }
    return m;
}

int api_body_merchant(struct http_req *r, struct user *u, json_t *b, struct fields *f,
                      const char *what, struct merchant **out)
{
    *out = NULL;
    if (!user_has_merchant(u)) {
        api_fail(r, ERR_FORBIDDEN, what);
        return 1;
    }
    int64_t mid = field_id(b, "merchant_id", 1, f);
    struct merchant *m = mid ? merchant_get(mid) : NULL;
    if (mid && !m) field_err(f, "merchant_id", "no such merchant");
    if (m && !user_is_member(u, m, 0)) {
        /* Another merchant's: as if it did not exist. */
        api_fail(r, ERR_NOT_FOUND, "no such merchant");
        return 1;
    }
    *out = m;
    return 0;
}

int api_fail_with(struct http_req *r, int err, const char *detail, json_t *extra)
{
    if (r->app) {
        idem_abort(r->app);
        r->app = NULL;
    }
    http_problem(r, err, detail, extra);
    return 0;
}

int api_fail(struct http_req *r, int err, const char *detail)
{
    return api_fail_with(r, err, detail, NULL);
}

void api_reply(struct http_req *r, int status, json_t *body)
{
    http_respond_json(r, status, body);
}

void api_reply_text(struct http_req *r, int status, char *body, size_t len)
{
    http_respond(r, status, "application/json; charset=utf-8", body, len);
    free(body);
}

struct pending {
    int status;
    char *body;
    size_t len;
    struct idem *idem;
    struct http_req *r;
};

static void pending_send(struct http_req *r, void *arg)
{
    struct pending *p = arg;
    http_respond(r, p->status, "application/json; charset=utf-8", p->body, p->len);
    free(p->body);
    free(p);
}

/* Writer thread: the unit is on disk. */
static void pending_committed(void *arg)
{
    struct pending *p = arg;
    if (p->idem) idem_committed(p->idem);
    http_post(p->r, pending_send, p);
}

void api_commit(struct http_req *r, struct wtx *t, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : xstrdup("");
    json_decref(body);
    api_commit_text(r, t, status, text, strlen(text));
}

void api_commit_text(struct http_req *r, struct wtx *t, int status, char *body, size_t len)
{
    struct pending *p = xcalloc(1, sizeof *p);
    p->status = status;
    p->r = r;
    p->body = body;
    p->len = len;
    if (r->app) {
        p->idem = r->app;
        idem_finish(p->idem, t, status, p->body, p->len);
        r->app = NULL;
    }
    if (wtx_empty(t)) {
        wtx_free(t);
        if (p->idem) idem_committed(p->idem);
        pending_send(r, p);
        return;
    }
    writer_submit(t, pending_committed, p);
}

json_t *api_body(struct http_req *r)
{
    if (r->body.len == 0) return json_object();
    json_error_t e;
    json_t *j = json_loadb(r->body.ptr, r->body.len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s at line %d column %d", e.text, e.line, e.column);
        http_problem(r, ERR_BAD_JSON, detail, NULL);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_problem(r, ERR_INVALID, "the body must be a JSON object",
                     jpack("{s[{ssss}]}", "errors", "field", "", "message",
                               "must be an object"));
        return NULL;
    }
    return j;
}

int64_t api_param_id(struct http_req *r, int i)
{
    if (i >= r->nparams) return 0;
    return id_parse(r->params[i].ptr, r->params[i].len);
}

int api_idem(struct http_req *r, const struct user *u)
{
    size_t klen;
    const char *key = http_header(r, "idempotency-key", &klen);
    if (!key) return 0;
    int ok = klen >= 1 && klen <= 255;
    for (size_t i = 0; ok && i < klen; i++) ok = key[i] >= 0x20 && key[i] < 0x7f;
    if (!ok) {
        api_fail_with(r, ERR_INVALID, "Idempotency-Key must be 1-255 printable ASCII characters",
                      jpack("{s[{ssss}]}", "errors", "field", "Idempotency-Key", "message",
                                "must be 1-255 printable ASCII characters"));
        return 1;
    }
    static const char *names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER"};
    unsigned char fp[32];
    idem_fingerprint(names[r->method], r->path.ptr, r->path.len, r->body.ptr, r->body.len, fp);
    struct idem *e;
    switch (idem_begin(u ? u->id : 0, key, klen, fp, now_ms(), &e)) {
    case IDEM_PROCEED: r->app = e; return 0;
    case IDEM_REPLAY: {
        char *body;
        size_t len;
        if (idem_answer(e, &body, &len) != 0) {
            api_fail(r, ERR_INTERNAL, "the stored answer could not be read");
            return 1;
        }
        http_add_header(r, "idempotent-replayed", "true");
        http_respond(r, e->status, "application/json; charset=utf-8", body, len);
        free(body);
        return 1;
    }
    case IDEM_REUSED:
        api_fail(r, ERR_IDEM_REUSED, "the key was first used with a different request");
        return 1;
    case IDEM_IN_PROGRESS:
        api_fail(r, ERR_IDEM_IN_PROGRESS, "retry once the first request has finished");
        return 1;
    }
    return 0;
}

/* ---- fields ---- */

void field_err(struct fields *f, const char *field, const char *msg)
{
    if (!f->errors) f->errors = json_array();
    json_array_append_new(f->errors, jpack("{ssss}", "field", field, "message", msg));
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

const char *field_str(json_t *o, const char *key, int required, size_t min, size_t max,
                      struct fields *f)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) field_err(f, key, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        field_err(f, key, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = utf8_len(s);
    if (strlen(s) != json_string_length(v)) {
        field_err(f, key, "must not contain NUL characters");
        return NULL;
    }
    if (n < min || n > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be %zu to %zu characters long", min, max);
        field_err(f, key, msg);
        return NULL;
    }
    return s;
}

int field_int(json_t *o, const char *key, int required, int64_t min, int64_t max, int64_t *out,
              struct fields *f)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) field_err(f, key, "is required");
        return 0;
    }
    if (!json_is_integer(v)) {
        field_err(f, key, "must be an integer");
        return 0;
    }
    int64_t x = json_integer_value(v);
    if (x < min || x > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be between %lld and %lld", (long long)min,
                 (long long)max);
        field_err(f, key, msg);
        return 0;
    }
    *out = x;
    return 1;
}

int64_t field_id(json_t *o, const char *key, int required, struct fields *f)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) field_err(f, key, "is required");
        return 0;
    }
    int64_t id = 0;
    if (json_is_string(v))
        id = id_parse(json_string_value(v), json_string_length(v));
    else if (json_is_integer(v))
        id = json_integer_value(v);
    if (id <= 0) field_err(f, key, "must be an id");
    return id > 0 ? id : 0;
}

int api_fields_fail(struct http_req *r, struct fields *f)
{
    if (!f->errors) return 0;
    api_fail_with(r, ERR_INVALID, NULL, jpack("{so}", "errors", f->errors));
    f->errors = NULL;
    return 1;
}

/* ---- lists ---- */

int api_page(struct http_req *r, struct page *pg)
{
    pg->limit = 20;
    pg->cursor = 0;
    const char *l = http_query(r, "limit"), *c = http_query(r, "cursor");
    struct fields f = {0};
    if (l) {
        int64_t v = id_parse(l, strlen(l));
        if (v < 1 || v > 100)
            field_err(&f, "limit", "must be an integer from 1 to 100");
        else
            pg->limit = (int)v;
    }
    if (c && *c) {
        pg->cursor = id_parse(c, strlen(c));
        if (!pg->cursor) field_err(&f, "cursor", "is not a cursor from a previous page");
    }
    return api_fields_fail(r, &f);
}

json_t *api_list(const struct vec *v, const struct page *pg, int (*keep)(void *obj, void *ctx),
                 json_t *(*render)(void *obj, void *ctx), void *ctx)
{
    json_t *items = json_array();
    /* Objects are id-ordered: binary-search the cursor, then walk back. */
    size_t lo = 0, hi = v->n;
    if (pg->cursor) {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (*(int64_t *)v->v[mid] < pg->cursor)
                lo = mid + 1;
            else
                hi = mid;
        }
    } else {
        lo = v->n;
    }
    int64_t next = 0, last = 0;
    size_t i = lo;
    while (i > 0) {
        void *obj = v->v[--i];
        if (keep && !keep(obj, ctx)) continue;
        if ((int)json_array_size(items) == pg->limit) {
            next = last;
            break;
        }
        json_array_append_new(items, render(obj, ctx));
        last = *(int64_t *)obj;
    }
    return jpack("{soso}", "items", items, "next_cursor", next ? json_id(next) : json_null());
}
