/* live.c — live rooms, items, the flash-sale buy, pin and the SSE feed. */
#include <string.h>
#include "api/api.h"
#include "api/handlers.h"
#include "core/live.h"
#include "core/market.h"
#include "domain/err.h"
#include "domain/money.h"
#include "util/id.h"
#include "util/jsonx.h"
#include "util/jw.h"
#include "util/log.h"

#define SET(o, k, v) json_object_set_new((o), (k), (v))

static json_t *render_item(const struct live_item *it)
{
    json_t *j = json_object();
    SET(j, "id", json_id(it->id));
    SET(j, "room_id", json_id(it->room_id));
    SET(j, "sku_id", json_id(it->sku->id));
    SET(j, "product_id", json_id(it->sku->product->id));
    SET(j, "title", json_string(it->sku->product->title));
    SET(j, "live_price", json_integer(it->live_price));
    SET(j, "list_price", json_integer(it->sku->price));
    SET(j, "currency", json_string(it->currency));
    SET(j, "quantity", json_integer(it->quantity));
    SET(j, "remaining", json_integer(it->remaining));
    SET(j, "held", json_integer(it->held));
    SET(j, "sold", json_integer(it->sold));
    SET(j, "per_user_limit", json_integer(it->per_user_limit));
    SET(j, "starts_at", json_time(it->starts_at));
    return j;
}

static json_t *render_room(const struct live_room *r)
{
    json_t *j = json_object();
    SET(j, "id", json_id(r->id));
    SET(j, "merchant_id", json_id(r->m->id));
    SET(j, "merchant_name", json_string(r->m->name));
    SET(j, "title", json_string(r->title));
    SET(j, "status", json_string(room_status_name(r->status)));
    SET(j, "scheduled_at", json_time(r->scheduled_at));
    SET(j, "started_at", json_time(r->started_at));
    SET(j, "ended_at", json_time(r->ended_at));
    SET(j, "pinned_item_id", json_id(r->pinned_item_id));
    SET(j, "viewers", json_integer(r->viewers));
    SET(j, "created_at", json_time(r->created_at));
    json_t *items = json_array();
    for (size_t i = 0; i < r->items.n; i++) json_array_append_new(items, render_item(r->items.v[i]));
    SET(j, "items", items);
    return j;
}

/* Rooms of active merchants are public; others only to staff/operators. */
static int room_visible(const struct live_room *r, const struct user *u)
{
    return r->m->status == MS_ACTIVE || api_is_operator(u) || user_is_member(u, r->m, 0);
}

/* A room the caller runs (merchant staff); answers 401/403/404 otherwise. */
static struct live_room *own_room(struct http_req *r, struct user *u)
{
    if (!u) return NULL;
    if (!user_has_merchant(u)) {
        api_fail(r, ERR_FORBIDDEN, "only merchant staff run live rooms");
        return NULL;
    }
    struct live_room *room = live_room_get(api_param_id(r, 0));
    if (!room || !user_is_member(u, room->m, 0)) {
        api_fail(r, ERR_NOT_FOUND, "no such live room");
        return NULL;
    }
    return room;
}

static int time_field(json_t *b, const char *key, int64_t *out, struct fields *f)
{
    json_t *v = json_object_get(b, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || time_parse(json_string_value(v), out) != 0) {
        field_err(f, key, "must be an RFC 3339 time such as 2026-11-22T20:00:00Z");
        return 0;
    }
    return 1;
}

void h_live_room_create(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    if (!u) goto out;
    struct fields f = {0};
    struct merchant *m;
    if (api_body_merchant(r, u, b, &f, "only merchant staff run live rooms", &m)) goto out;
    const char *title = field_str(b, "title", 1, 1, 200, &f);
    int64_t sched = 0;
    time_field(b, "scheduled_at", &sched, &f);
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    struct live_room *room = live_room_create(t, m, title, sched, now_ms());
    api_commit(r, t, 201, render_room(room));
out:
    state_unlock();
    json_decref(b);
}

void h_live_room_get(struct http_req *r)
{
    state_lock();
    struct user *u = api_user(r);
    struct live_room *room = live_room_get(api_param_id(r, 0));
    if (!room || !room_visible(room, u))
        api_fail(r, ERR_NOT_FOUND, "no such live room");
    else
        api_reply(r, 200, render_room(room));
    state_unlock();
}

void h_live_room_list(struct http_req *r)
{
    struct page pg;
    if (api_page(r, &pg)) return;
    const char *st = http_query(r, "status"), *m = http_query(r, "merchant_id");
    int status = -1;
    int64_t mid = 0;
    struct fields f = {0};
    if (st) {
        for (int i = 0; i < 3; i++)
            if (strcmp(st, room_status_name(i)) == 0) status = i;
        if (status < 0) field_err(&f, "status", "must be scheduled, live or ended");
    }
    if (m && !(mid = id_parse(m, strlen(m)))) field_err(&f, "merchant_id", "must be an id");
    if (api_fields_fail(r, &f)) return;
    static __thread struct live_room *rooms[4096];
    size_t n = live_rooms_snapshot(rooms, 4096);
    state_lock();
    struct user *u = api_user(r);
    json_t *items = json_array();
    int64_t next = 0;
    for (size_t i = 0; i < n; i++) {
        struct live_room *room = rooms[i];
        if (pg.cursor && room->id >= pg.cursor) continue;
        if ((status >= 0 && room->status != status) || (mid && room->m->id != mid) ||
            !room_visible(room, u))
            continue;
        if ((int)json_array_size(items) == pg.limit) {
            next = rooms[i - 1]->id;
            break;
        }
        json_array_append_new(items, render_room(room));
    }
    if (next) {
        json_t *last = json_array_get(items, json_array_size(items) - 1);
        next = id_parse(json_string_value(json_object_get(last, "id")),
                        strlen(json_string_value(json_object_get(last, "id"))));
    }
    api_reply(r, 200, jpack("{soso}", "items", items, "next_cursor", next ? json_id(next) : json_null()));
    state_unlock();
}

static void room_move(struct http_req *r, int start)
{
    state_lock();
    struct user *u = api_need_user(r);
    struct live_room *room = own_room(r, u);
    if (!room) goto out;
    struct wtx *t = wtx_new();
    int e = start ? live_room_start(t, room, now_ms()) : live_room_end(t, room, now_ms());
    if (e) {
        wtx_free(t);
        api_fail(r, e, NULL);
        goto out;
    }
    api_commit(r, t, 200, render_room(room));
out:
    state_unlock();
}

void h_live_room_start(struct http_req *r)
{
    room_move(r, 1);
}

void h_live_room_end(struct http_req *r)
{
    room_move(r, 0);
}

void h_live_item_add(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    struct live_room *room = own_room(r, u);
    if (!room) goto out;
    struct fields f = {0};
    int64_t sku_id = field_id(b, "sku_id", 1, &f), price = 0, qty = 0, limit = 0, starts = 0;
    struct sku *k = sku_id ? sku_get(sku_id) : NULL;
    if (sku_id && (!k || k->product->m != room->m))
        field_err(&f, "sku_id", "no such SKU of this room's merchant");
    field_int(b, "live_price", 1, 0, MONEY_MAX, &price, &f);
    field_int(b, "quantity", 1, 1, 10000000, &qty, &f);
    field_int(b, "per_user_limit", 1, 1, 1000, &limit, &f);
    time_field(b, "starts_at", &starts, &f);
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto out;
    struct wtx *t = wtx_new();
    struct live_item *it;
    int e = live_item_add(t, room, k, price, qty, limit, starts, now_ms(), &it);
    if (e) {
        wtx_free(t);
        api_fail_with(r, e, e == ERR_INSUFFICIENT_STOCK ? "the SKU has fewer available units" : NULL,
                      e == ERR_INSUFFICIENT_STOCK
                          ? jpack("{s[o]sI}", "skus", json_id(k->id), "available",
                                  (json_int_t)sku_available(k))
                          : NULL);
        goto out;
    }
    api_commit(r, t, 201, render_item(it));
out:
    state_unlock();
    json_decref(b);
}

void h_live_pin(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    state_lock();
    struct user *u = api_need_user(r);
    struct live_room *room = own_room(r, u);
    if (!room) goto out;
    struct fields f = {0};
    int64_t item_id = field_id(b, "item_id", 1, &f);
    struct live_item *it = item_id ? live_item_get(room, item_id) : NULL;
    if (item_id && !it) field_err(&f, "item_id", "no such item in this room");
    if (api_fields_fail(r, &f)) goto out;
    struct wtx *t = wtx_new();
    live_room_pin(t, room, it);
    api_commit(r, t, 200, render_room(room));
out:
    state_unlock();
    json_decref(b);
}

/* The flash-sale buy. Admission takes no global lock (core/live.h); the
 * state lock is held only to register the order. */
void h_live_buy(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    struct user *u = api_need_user(r);
    if (!u) goto done;
    struct live_room *room = live_room_get(api_param_id(r, 0));
    struct live_item *it = room ? live_item_get(room, api_param_id(r, 1)) : NULL;
    if (!it || room->m->status != MS_ACTIVE) {
        api_fail(r, ERR_NOT_FOUND, "no such live item");
        goto done;
    }
    struct fields f = {0};
    int64_t qty = 0;
    field_int(b, "qty", 1, 1, 1000, &qty, &f);
    if (api_fields_fail(r, &f) || api_idem(r, u)) goto done;
    int64_t now = now_ms();
    int e = live_admit(it, u, qty, now);
    if (e) {
        api_fail(r, e, NULL);
        goto done;
    }
    state_lock();
    struct wtx *t = wtx_new();
    struct order *o = live_order_create(t, it, u, qty, NULL, now);
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "order");
    render_order_text(o, &w);
    jw_end(&w);
    size_t len;
    char *text = jw_detach(&w, &len);
    api_commit_text(r, t, 201, text, len);
    state_unlock();
    live_note_order(it, u, qty);
done:
    json_decref(b);
}

void h_live_events(struct http_req *r)
{
    state_lock();
    struct user *u = api_user(r);
    struct live_room *room = live_room_get(api_param_id(r, 0));
    if (!room || !room_visible(room, u)) {
        api_fail(r, ERR_NOT_FOUND, "no such live room");
        state_unlock();
        return;
    }
    json_t *snap = render_room(room);
    state_unlock();
    live_feed_subscribe(room, r, snap);
}
