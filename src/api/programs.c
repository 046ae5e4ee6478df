/* programs.c — merchant programs: POST/GET /programs, POST /programs/{id}/enroll. */
#include <string.h>
#include "api/api.h"
#include "api/handlers.h"
#include "core/programs.h"
#include "domain/err.h"
#include "util/jsonx.h"
#include "util/log.h"

#define SET(o, k, v) json_object_set_new((o), (k), (v))

static json_t *render_program(const struct program *p, int64_t now)
{
    json_t *j = json_object();
    SET(j, "id", json_id(p->id));
    SET(j, "name", json_string(p->name));
    SET(j, "commission_bp", json_integer(p->commission_bp));
    SET(j, "boost", json_real(p->boost_pm / 1000.0));
    json_t *kinds = json_array();
    for (int k = 0; k < MK__COUNT; k++)
        if (p->eligible_kinds & (1u << k)) json_array_append_new(kinds, json_string(merchant_kind_name(k)));
    SET(j, "eligible_kinds", kinds);
    SET(j, "starts_at", json_time(p->starts_at));
    SET(j, "ends_at", json_time(p->ends_at));
    SET(j, "active", json_boolean(program_active(p, now)));
    json_t *ms = json_array();
    size_t pos = 0;
    int64_t mid;
    while (imap_next(&p->enrolled, &pos, &mid, NULL)) json_array_append_new(ms, json_id(mid));
    SET(j, "merchant_ids", ms);
    SET(j, "created_at", json_time(p->created_at));
    return j;
}

static int need_operator(struct http_req *r, struct user *u)
{
    if (!u) return 0;
    if (!api_is_operator(u)) return api_fail(r, ERR_FORBIDDEN, "only operators run programs");
    return 1;
}

static int time_member(json_t *b, const char *key, int64_t *out, struct fields *f)
{
    json_t *v = json_object_get(b, key);
    if (!v || json_is_null(v)) {
        field_err(f, key, "is required");
        return 0;
    }
    if (!json_is_string(v) || time_parse(json_string_value(v), out) != 0) {
        field_err(f, key, "must be an RFC 3339 time such as 2026-11-22T00:00:00Z");
        return 0;
    }
    return 1;
}

void h_program_create(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!need_operator(r, u)) goto out;
    struct fields f = {0};
    const char *name = field_str(b, "name", 1, 1, 120, &f);
    int64_t bp = 0, starts = 0, ends = 0;
    field_int(b, "commission_bp", 1, 0, 10000, &bp, &f);
    /* boost: a number from 1.0 to 1.5 (a bounded tilt, never a purchase of rank) */
    json_t *bj = json_object_get(b, "boost");
    int boost_pm = 1000;
    if (bj && !json_is_null(bj)) {
        double v = json_is_number(bj) ? json_number_value(bj) : -1;
        if (v < 1.0 || v > PROGRAM_BOOST_MAX_PM / 1000.0)
            field_err(&f, "boost", "must be a number from 1.0 to 1.5");
        else
            boost_pm = (int)(v * 1000 + 0.5);
    }
    unsigned kinds = 0;
    json_t *kj = json_object_get(b, "eligible_kinds");
    if (!json_is_array(kj) || json_array_size(kj) == 0) {
        field_err(&f, "eligible_kinds", "must be a non-empty array of merchant kinds");
    } else {
        for (size_t i = 0; i < json_array_size(kj); i++) {
            int k = merchant_kind_parse(json_string_value(json_array_get(kj, i)));
            if (k < 0) {
                field_err(&f, "eligible_kinds", "holds something that is not a merchant kind");
                break;
            }
            kinds |= 1u << k;
        }
    }
    int have_s = time_member(b, "starts_at", &starts, &f);
    int have_e = time_member(b, "ends_at", &ends, &f);
    if (have_s && have_e && ends <= starts) field_err(&f, "ends_at", "must be after starts_at");
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    int64_t now = now_ms();
    struct program *p = program_create(t, name, (int)bp, boost_pm, kinds, starts, ends, now);
    api_commit(r, t, 201, render_program(p, now));
out:
    state_unlock();
    json_decref(b);
}

void h_program_list(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    if (u) {
        const struct vec *v = programs_all();
        json_t *items = json_array();
        int64_t now = now_ms();
        for (size_t i = v->n; i > 0; i--) json_array_append_new(items, render_program(v->v[i - 1], now));
        api_reply(r, 200, jpack("{soso}", "items", items, "next_cursor", json_null()));
    }
    state_unlock();
}

void h_program_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    struct program *p = u ? program_get(api_param_id(r, 0)) : NULL;
    if (u && !p) api_fail(r, ERR_NOT_FOUND, "no such program");
    if (p) api_reply(r, 200, render_program(p, now_ms()));
    state_unlock();
}

void h_program_enroll(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!need_operator(r, u)) goto out;
    struct program *p = program_get(api_param_id(r, 0));
    if (!p) {
        api_fail(r, ERR_NOT_FOUND, "no such program");
        goto out;
    }
    struct fields f = {0};
    int64_t mid = field_id(b, "merchant_id", 1, &f);
    struct merchant *m = mid ? merchant_get(mid) : NULL;
    if (mid && !m) field_err(&f, "merchant_id", "no such merchant");
    if (m && !(p->eligible_kinds & (1u << m->kind)))
        field_err(&f, "merchant_id", "the merchant's kind is not eligible for this program");
    if (api_fields_fail(r, &f)) goto out;
    struct wtx *t = wtx_new();
    program_enroll(t, p, m, now_ms());
    api_commit(r, t, 200, render_program(p, now_ms()));
out:
    state_unlock();
    json_decref(b);
}
