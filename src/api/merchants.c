/* merchants.c — merchants, their staff, approval, commission and ledger. */
#include <string.h>
#include "api/api.h"
#include "util/jsonx.h"
#include "api/handlers.h"
#include "core/market.h"
#include "domain/err.h"
#include "util/log.h"

static int country_ok(const char *c)
{
    return c && strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

void h_merchant_create(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct fields f = {0};
    const char *name = field_str(b, "name", 1, 1, 120, &f);
    const char *kind = field_str(b, "kind", 1, 1, 20, &f);
    const char *country = field_str(b, "country", 1, 2, 2, &f);
    const char *desc = field_str(b, "description", 0, 0, 5000, &f);
    int k = kind ? merchant_kind_parse(kind) : 0;
    if (kind && k < 0)
        field_err(&f, "kind",
                  "must be one of brand, sme, factory, exporter, rural, crossborder, individual");
    if (country && !country_ok(country))
        field_err(&f, "country", "must be an ISO 3166 alpha-2 code such as CN");
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    struct merchant *m =
        market_merchant_create(t, u, name, (enum merchant_kind)k, country, desc, now_ms());
    api_commit(r, t, 201, render_merchant(m));
out:
    state_unlock();
    json_decref(b);
}

/* Merchants are public once active; pending/suspended ones only to their
 * staff and operators. */
static int merchant_visible(const struct merchant *m, const struct user *u)
{
    return m->status == MS_ACTIVE || api_is_operator(u) || user_is_member(u, m, 0);
}

void h_merchant_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_user(r);
    struct merchant *m = merchant_get(api_param_id(r, 0));
    if (!m || !merchant_visible(m, u))
        api_fail(r, ERR_NOT_FOUND, "no such merchant");
    else
        api_reply(r, 200, render_merchant(m));
    state_unlock();
}

struct mfilter {
    int kind, status;
    const struct user *u;
};

static int merchant_keep(void *obj, void *ctx)
{
    struct merchant *m = obj;
    struct mfilter *f = ctx;
    return (f->kind < 0 || (int)m->kind == f->kind) &&
           (f->status < 0 || (int)m->status == f->status) && merchant_visible(m, f->u);
}

static json_t *merchant_item(void *obj, void *ctx)
{
    (void)ctx;
    return render_merchant(obj);
}

void h_merchant_list(struct http_req *r)
{
    struct page pg;
    if (api_page(r, &pg)) return;
    const char *kind = http_query(r, "kind"), *status = http_query(r, "status");
    struct mfilter mf = {kind ? merchant_kind_parse(kind) : -1,
                         status ? merchant_status_parse(status) : -1, NULL};
    struct fields f = {0};
    if (kind && mf.kind < 0) field_err(&f, "kind", "is not a merchant kind");
    if (status && mf.status < 0) field_err(&f, "status", "is not a merchant status");
    if (api_fields_fail(r, &f)) return;
    state_lock();
    mf.u = api_user(r);
    api_reply(r, 200, api_list(&S.merchant_list, &pg, merchant_keep, merchant_item, &mf));
    state_unlock();
}

static void set_status(struct http_req *r, enum merchant_status st)
{
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    if (!api_is_operator(u)) {
        api_fail(r, ERR_FORBIDDEN, "only operators approve or suspend merchants");
        goto out;
    }
    struct merchant *m = merchant_get(api_param_id(r, 0));
    if (!m) {
        api_fail(r, ERR_NOT_FOUND, "no such merchant");
        goto out;
    }
    struct wtx *t = wtx_new();
    market_merchant_set_status(t, m, st);
    api_commit(r, t, 200, render_merchant(m));
out:
    state_unlock();
}

void h_merchant_approve(struct http_req *r)
{
    set_status(r, MS_ACTIVE);
}

void h_merchant_suspend(struct http_req *r)
{
    set_status(r, MS_SUSPENDED);
}

void h_merchant_commission(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    if (!api_is_operator(u)) {
        api_fail(r, ERR_FORBIDDEN, "only operators set commission");
        goto out;
    }
    struct merchant *m = merchant_get(api_param_id(r, 0));
    if (!m) {
        api_fail(r, ERR_NOT_FOUND, "no such merchant");
        goto out;
    }
    struct fields f = {0};
    int64_t bp = 0;
    field_int(b, "commission_bp", 1, 0, 10000, &bp, &f);
    if (api_fields_fail(r, &f)) goto out;
    struct wtx *t = wtx_new();
    if (m->commission_bp != (int)bp) {
        m->commission_bp = (int)bp;
        persist_merchant(t, m);
    }
    api_commit(r, t, 200, render_merchant(m));
out:
    state_unlock();
    json_decref(b);
}

void h_merchant_staff_add(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct merchant *m = merchant_get(api_param_id(r, 0));
    if (!api_is_operator(u) && !user_has_merchant(u)) {
        api_fail(r, ERR_FORBIDDEN, "only a merchant's owner adds staff");
        goto out;
    }
    if (!m || (!api_is_operator(u) && !user_is_member(u, m, 0))) {
        api_fail(r, ERR_NOT_FOUND, "no such merchant");
        goto out;
    }
    if (!api_is_operator(u) && !user_is_member(u, m, 1)) {
        api_fail(r, ERR_FORBIDDEN, "only the owner adds staff");
        goto out;
    }
    struct fields f = {0};
    const char *email = field_str(b, "email", 1, 3, 254, &f);
    struct user *staff = email ? market_user_by_email(email) : NULL;
    if (email && !staff) field_err(&f, "email", "no user has this email");
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    if (!user_is_member(staff, m, 0)) market_staff_add(t, m, staff, 0, now_ms());
    api_commit(r, t, 201,
               jpack("{sososs}", "merchant_id", json_id(m->id), "user_id", json_id(staff->id),
                         "role", user_is_member(staff, m, 1) ? "owner" : "staff"));
out:
    state_unlock();
    json_decref(b);
}

static json_t *ledger_item(void *obj, void *ctx)
{
    (void)ctx;
    return render_ledger_entry(obj);
}

void h_merchant_ledger(struct http_req *r)
{
    struct page pg;
    if (api_page(r, &pg)) return;
    state_lock();
    struct user *u = api_need_user(r);
    struct merchant *m = api_path_merchant(r, u, 1, "only the merchant's owner reads its ledger");
    if (!m) goto out;
    int64_t pending, available;
    market_ledger_balance(m, &pending, &available);
    json_t *list = api_list(&m->ledger, &pg, NULL, ledger_item, NULL);
    const char *cur = m->ledger.n ? ((struct ledger_entry *)m->ledger.v[0])->currency : "CNY";
    json_object_set_new(list, "balance",
                        jpack("{sssIsI}", "currency", cur, "pending", (json_int_t)pending,
                                  "available", (json_int_t)available));
    api_reply(r, 200, list);
out:
    state_unlock();
}
