#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "core/live.h"
#include "core/market.h"
#include "core/programs.h"
#include "domain/err.h"
#include "domain/money.h"
#include "util/id.h"
#include "util/log.h"

/* Rooms and items are looked up without the state lock (the buy path), so
 * the registry has its own rwlock. Writers hold the state lock too. */
static struct {
    pthread_rwlock_t lock;
    struct imap rooms, items;
    struct vec list; /* rooms, id ascending */
} L = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static const char *room_names[] = {"scheduled", "live", "ended"};

const char *room_status_name(int s)
{
    return s >= 0 && s <= 2 ? room_names[s] : "unknown";
}

int64_t live_item_remaining(const struct live_item *it)
{
    return it->remaining;
}

/* ---- the feed's private part ---- */

#define FRAMES 64

struct frame {
    _Atomic int refs;
    size_t len;
    char data[];
};

struct pending_order {
    int64_t item_id, qty;
    char buyer[40];
};

struct live_feed {
    /* lock: what buyers and hosts note for the next frame (orders, ctrl).
     * ring_lock: the built frames. Apart, so the niced fan-out thread never
     * holds a lock a buyer waits for (it would, preempted, for milliseconds). */
    pthread_mutex_t lock, ring_lock;
    struct frame *ring[FRAMES];
    uint64_t next_seq; /* frames [next_seq - FRAMES, next_seq) may be in ring */
    char *ctrl;        /* status / pinned events waiting for the next frame */
    size_t ctrl_len, ctrl_cap;
    struct pending_order orders[32];
    int norders;
    int64_t orders_extra[64], orders_extra_qty[64]; /* per item slot: beyond the first */
    uint64_t built_version;
    int64_t built_at;
    int last_viewers;
    int64_t viewers_at;
    struct vec seen; /* per item: int64_t[2] last sent remaining, sold */
};

static void frame_unref(struct frame *f)
{
    if (f && atomic_fetch_sub(&f->refs, 1) == 1) free(f);
}

static void feed_append(struct live_feed *f, const char *s, size_t n)
{
    if (f->ctrl_len + n > f->ctrl_cap) {
        f->ctrl_cap = (f->ctrl_len + n) * 2 + 256;
        f->ctrl = xrealloc(f->ctrl, f->ctrl_cap);
    }
    memcpy(f->ctrl + f->ctrl_len, s, n);
    f->ctrl_len += n;
}

static void feed_event(struct live_room *r, const char *event, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    char head[64];
    int n = snprintf(head, sizeof head, "event: %s\ndata: ", event);
    pthread_mutex_lock(&r->feed->lock);
    feed_append(r->feed, head, (size_t)n);
    feed_append(r->feed, d, strlen(d));
    feed_append(r->feed, "\n\n", 2);
    pthread_mutex_unlock(&r->feed->lock);
    free(d);
    r->version++;
}

/* ---- persistence ---- */

static void persist_room(struct wtx *t, const struct live_room *r)
{
    wtx_stmt(t, ST_ROOM_PUT);
    wtx_int(t, r->id);
    wtx_int(t, r->m->id);
    wtx_text(t, r->title);
    wtx_text(t, room_status_name(r->status));
    wtx_int_or_null(t, r->scheduled_at);
    wtx_int_or_null(t, r->started_at);
    wtx_int_or_null(t, r->ended_at);
    wtx_int_or_null(t, r->pinned_item_id);
    wtx_int(t, r->created_at);
}

static void persist_item(struct wtx *t, const struct live_item *it)
{
    wtx_stmt(t, ST_LIVE_ITEM_PUT);
    wtx_int(t, it->id);
    wtx_int(t, it->room_id);
    wtx_int(t, it->sku->id);
    wtx_int(t, it->live_price);
    wtx_text(t, it->currency);
    wtx_int(t, it->quantity);
    wtx_int(t, it->per_user_limit);
    wtx_int_or_null(t, it->starts_at);
    wtx_text(t, "active");
    wtx_int(t, it->created_at);
}

/* ---- registry ---- */

static struct live_room *room_new(void)
{
    struct live_room *r = xcalloc(1, sizeof *r);
    r->feed = xcalloc(1, sizeof *r->feed);
    pthread_mutex_init(&r->feed->lock, NULL);
    pthread_mutex_init(&r->feed->ring_lock, NULL);
    return r;
}

static void room_register(struct live_room *r)
{
    pthread_rwlock_wrlock(&L.lock);
    imap_put(&L.rooms, r->id, r);
    vec_push(&L.list, r);
    pthread_rwlock_unlock(&L.lock);
}

static void item_register(struct live_room *r, struct live_item *it)
{
    pthread_rwlock_wrlock(&L.lock);
    imap_put(&L.items, it->id, it);
    vec_push(&r->items, it);
    pthread_rwlock_unlock(&L.lock);
}

struct live_room *live_room_get(int64_t id)
{
    pthread_rwlock_rdlock(&L.lock);
    struct live_room *r = imap_get(&L.rooms, id);
    pthread_rwlock_unlock(&L.lock);
    return r;
}

struct live_item *live_item_get(struct live_room *r, int64_t item_id)
{
    pthread_rwlock_rdlock(&L.lock);
    struct live_item *it = imap_get(&L.items, item_id);
    pthread_rwlock_unlock(&L.lock);
    return it && it->room == r ? it : NULL;
}

size_t live_rooms_snapshot(struct live_room **out, size_t max)
{
    pthread_rwlock_rdlock(&L.lock);
    size_t n = 0;
    for (size_t i = L.list.n; i > 0 && n < max; i--)
        out[n++] = L.list.v[i - 1];
    pthread_rwlock_unlock(&L.lock);
    return n;
}

/* ---- operations (state lock held) ---- */

struct live_room *live_room_create(struct wtx *t, struct merchant *m, const char *title,
                                   int64_t scheduled_at, int64_t now)
{
    struct live_room *r = room_new();
    r->id = id_next();
    r->m = m;
    r->title = xstrdup(title);
    r->status = RS_SCHEDULED;
    r->scheduled_at = scheduled_at;
    r->created_at = now;
    room_register(r);
    persist_room(t, r);
    return r;
}

int live_room_start(struct wtx *t, struct live_room *r, int64_t now)
{
    if (r->status == RS_LIVE) return ERR_OK;
    if (r->status != RS_SCHEDULED) return ERR_ROOM_ENDED;
    r->status = RS_LIVE;
    r->started_at = now;
    persist_room(t, r);
    feed_event(r, "status", json_pack("{ss}", "status", "live"));
    return ERR_OK;
}

int live_room_end(struct wtx *t, struct live_room *r, int64_t now)
{
    if (r->status == RS_ENDED) return ERR_OK;
    r->status = RS_ENDED;
    r->ended_at = now;
    /* Unsold units go back to the SKU. Buyers are admitted only while the
     * room is live, and admission re-checks the status after taking units,
     * so after this exchange nobody can take a unit from remaining. */
    for (size_t i = 0; i < r->items.n; i++) {
        struct live_item *it = r->items.v[i];
        int64_t back = atomic_exchange(&it->remaining, 0);
        it->quantity -= back;
        it->sku->reserved -= back;
        persist_sku_stock(t, it->sku);
        persist_item(t, it);
    }
    persist_room(t, r);
    feed_event(r, "status", json_pack("{ss}", "status", "ended"));
    return ERR_OK;
}

int live_room_pin(struct wtx *t, struct live_room *r, struct live_item *it)
{
    r->pinned_item_id = it->id;
    persist_room(t, r);
    char b[24];
    feed_event(r, "pinned", json_pack("{ss}", "item_id", id_fmt(it->id, b)));
    return ERR_OK;
}

int live_item_add(struct wtx *t, struct live_room *r, struct sku *k, int64_t live_price,
                  int64_t quantity, int64_t per_user_limit, int64_t starts_at, int64_t now,
                  struct live_item **out)
{
    if (r->status == RS_ENDED) return ERR_ROOM_ENDED;
    if (quantity > sku_available(k)) return ERR_INSUFFICIENT_STOCK;
    struct live_item *it = xcalloc(1, sizeof *it);
    it->id = id_next();
    it->room_id = r->id;
    it->room = r;
    it->sku = k;
    it->live_price = live_price;
    memcpy(it->currency, k->currency, 4);
    it->quantity = it->remaining = quantity;
    it->per_user_limit = per_user_limit;
    it->starts_at = starts_at;
    it->created_at = now;
    pthread_mutex_init(&it->ulock, NULL);
    k->reserved += quantity;
    persist_sku_stock(t, k);
    item_register(r, it);
    persist_item(t, it);
    r->version++;
    *out = it;
    return ERR_OK;
}

/* ---- admission: no state lock ---- */

static int64_t per_user_add(struct live_item *it, int64_t uid, int64_t delta, int64_t limit)
{
    pthread_mutex_lock(&it->ulock);
    int64_t have = (int64_t)(intptr_t)imap_get(&it->per_user, uid);
    if (limit && have + delta > limit) {
        pthread_mutex_unlock(&it->ulock);
        return -1;
    }
    have += delta;
    if (have > 0)
        imap_put(&it->per_user, uid, (void *)(intptr_t)have);
    else
        imap_del(&it->per_user, uid);
    pthread_mutex_unlock(&it->ulock);
    return have;
}

int live_admit(struct live_item *it, const struct user *u, int64_t qty, int64_t now)
{
    struct live_room *r = it->room;
    if (r->status != RS_LIVE) return r->status == RS_ENDED ? ERR_ROOM_ENDED : ERR_ROOM_NOT_LIVE;
    if (it->starts_at && now < it->starts_at) return ERR_SALE_NOT_STARTED;
    /* The sold-out answer needs no lock at all: most buys in a flash sale
     * end here once the units are gone. */
    if (it->remaining < qty) return r->status == RS_LIVE ? ERR_SOLD_OUT : ERR_ROOM_ENDED;
    if (per_user_add(it, u->id, qty, it->per_user_limit) < 0) return ERR_PER_USER_LIMIT;
    int64_t have = it->remaining;
    do {
        if (have < qty) {
            per_user_add(it, u->id, -qty, 0);
            /* The end empties remaining: tell a buyer who raced it the truth. */
            return r->status == RS_LIVE ? ERR_SOLD_OUT : ERR_ROOM_ENDED;
        }
    } while (!atomic_compare_exchange_weak(&it->remaining, &have, have - qty));
    it->held += qty;
    /* The room may have ended between the status check and the CAS: the
     * end moved `remaining` to the SKU with an exchange, so if it is over
     * now, give the units back the way an expiry after the end would. */
    if (r->status != RS_LIVE) {
        live_admit_undo(it, u, qty);
        return ERR_ROOM_ENDED;
    }
    r->version++;
    return ERR_OK;
}

void live_admit_undo(struct live_item *it, const struct user *u, int64_t qty)
{
    it->held -= qty;
    per_user_add(it, u->id, -qty, 0);
    if (it->room->status == RS_LIVE) {
        it->remaining += qty;
    } else {
        /* After the end the units belong to the SKU again. */
        state_lock();
        it->quantity -= qty;
        it->sku->reserved -= qty;
        struct wtx *t = wtx_new();
        persist_sku_stock(t, it->sku);
        persist_item(t, it);
        writer_submit(t, NULL, NULL);
        state_unlock();
    }
    it->room->version++;
}

struct order *live_order_create(struct wtx *t, struct live_item *it, struct user *u, int64_t qty,
                                json_t *shipping, int64_t now)
{
    struct order_line line = {it->sku->id, it->sku->product->id, qty, it->live_price,
                              it->sku->product->title};
    struct order *o = xcalloc(1, sizeof *o);
    o->id = id_next();
    o->user_id = u->id;
    o->m = it->room->m;
    o->status = OS_PENDING_PAYMENT;
    memcpy(o->currency, it->currency, 4);
    o->commission_bp = programs_commission_bp(o->m, now);
    o->shipping = shipping ? json_incref(shipping) : NULL;
    o->created_at = o->updated_at = now;
    o->expires_at = now + S.live_payment_window_ms;
    o->live_item_id = it->id;
    o->lines = xcalloc(1, sizeof *o->lines);
    o->nlines = 1;
    o->lines[0] = line;
    o->lines[0].title = xstrdup(line.title);
    money_mul(it->live_price, qty, &o->subtotal);
    o->commission = money_commission(o->subtotal, o->commission_bp);
    o->hist = xcalloc(1, sizeof *o->hist);
    o->hist[0] = (struct order_event_rec){OS_PENDING_PAYMENT, now};
    o->nhist = 1;
    state_add_order(o);
    persist_order(t, o);
    persist_order_lines(t, o);
    return o;
}

/* "Li Wei" → "Li**", "王小明" → "王**": the first two letters (one CJK
 * character), the rest hidden. */
static void mask_name(const char *name, char *out, size_t cap)
{
    size_t n = 0, cps = 0;
    const unsigned char *p = (const unsigned char *)(name ? name : "");
    int limit = *p >= 0x80 ? 1 : 2;
    while (*p && cps < (size_t)limit && n + 4 < cap) {
        do
            out[n++] = (char)*p++;
        while ((*p & 0xC0) == 0x80 && n + 4 < cap);
        cps++;
    }
    out[n++] = '*';
    out[n++] = '*';
    out[n] = 0;
}

void live_note_order(struct live_item *it, const struct user *u, int64_t qty)
{
    struct live_feed *f = it->room->feed;
    pthread_mutex_lock(&f->lock);
    int slot = -1;
    for (int i = 0; i < f->norders; i++)
        if (f->orders[i].item_id == it->id) slot = i;
    if (slot < 0 && f->norders < 32) {
        slot = f->norders++;
        f->orders[slot].item_id = it->id;
        f->orders[slot].qty = qty;
        mask_name(u->name, f->orders[slot].buyer, sizeof f->orders[slot].buyer);
        f->orders_extra[slot] = f->orders_extra_qty[slot] = 0;
    } else if (slot >= 0) {
        f->orders_extra[slot]++;
        f->orders_extra_qty[slot] += qty;
    }
    pthread_mutex_unlock(&f->lock);
    /* After the note: a frame built between the buy's bump and this note
     * would otherwise leave it waiting for the room's next change. */
    it->room->version++;
}

/* ---- the order hook: a live order changed status (state lock held) ---- */

static void live_hook(struct wtx *t, struct order *o, enum order_status from, enum order_status to)
{
    pthread_rwlock_rdlock(&L.lock);
    struct live_item *it = imap_get(&L.items, o->live_item_id);
    pthread_rwlock_unlock(&L.lock);
    if (!it) return;
    int64_t q = o->lines[0].qty;
    struct sku *k = it->sku;
    if (from == OS_PENDING_PAYMENT && to == OS_PAID) {
        it->held -= q;
        it->sold += q;
        k->reserved -= q;
        k->on_hand -= q;
        k->sold += q;
        persist_sku_stock(t, k);
    } else if (from == OS_PENDING_PAYMENT) { /* expired or cancelled */
        it->held -= q;
        per_user_add(it, o->user_id, -q, 0);
        if (it->room->status == RS_LIVE || it->room->status == RS_SCHEDULED) {
            it->remaining += q;
        } else {
            it->quantity -= q;
            k->reserved -= q;
            persist_sku_stock(t, k);
            persist_item(t, it);
        }
    } else if (from == OS_PAID && to == OS_REFUNDED) {
        it->sold -= q;
        it->quantity -= q;
        per_user_add(it, o->user_id, -q, 0);
        k->on_hand += q;
        k->sold -= q;
        persist_sku_stock(t, k);
        persist_item(t, it);
    }
    it->room->version++;
}

void live_init(void)
{
    market_live_order_hook = live_hook;
}

/* ---- load ---- */

static int row_room(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct merchant *m = merchant_get(c[1].i);
    if (!m) return 0;
    struct live_room *r = room_new();
    r->id = c[0].i;
    r->m = m;
    r->title = xstrndup(c[2].s ? c[2].s : "", c[2].len);
    r->status = c[3].len == 4 ? RS_LIVE : c[3].len == 5 ? RS_ENDED : RS_SCHEDULED;
    r->scheduled_at = c[4].type == SV_INT ? c[4].i : 0;
    r->started_at = c[5].type == SV_INT ? c[5].i : 0;
    r->ended_at = c[6].type == SV_INT ? c[6].i : 0;
    r->pinned_item_id = c[7].type == SV_INT ? c[7].i : 0;
    r->created_at = c[8].i;
    room_register(r);
    id_bump(r->id);
    return 0;
}

static int row_item(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct live_room *r = imap_get(&L.rooms, c[1].i);
    struct sku *k = sku_get(c[2].i);
    if (!r || !k) return 0;
    struct live_item *it = xcalloc(1, sizeof *it);
    it->id = c[0].i;
    it->room_id = r->id;
    it->room = r;
    it->sku = k;
    it->live_price = c[3].i;
    memcpy(it->currency, k->currency, 4);
    it->quantity = c[5].i;
    it->per_user_limit = c[6].i;
    it->starts_at = c[7].type == SV_INT ? c[7].i : 0;
    it->created_at = c[9].i;
    pthread_mutex_init(&it->ulock, NULL);
    item_register(r, it);
    id_bump(it->id);
    return 0;
}

int live_load(const struct store_ops *ops, struct store *st)
{
    if (ops->scan(st, SQ_ROOMS, row_room, NULL) || ops->scan(st, SQ_LIVE_ITEMS, row_item, NULL))
        return -1;
    /* held, sold and per-shopper counts come from the durable orders. */
    for (size_t i = 0; i < S.order_list.n; i++) {
        struct order *o = S.order_list.v[i];
        if (!o->live_item_id || !o->nlines) continue;
        struct live_item *it = imap_get(&L.items, o->live_item_id);
        if (!it) continue;
        int64_t q = o->lines[0].qty;
        switch (o->status) {
        case OS_PENDING_PAYMENT:
            it->held += q;
            break;
        case OS_PAID:
        case OS_SHIPPED:
        case OS_DELIVERED:
        case OS_COMPLETED:
            it->sold += q;
            break;
        default:
            continue;
        }
        per_user_add(it, o->user_id, q, 0);
    }
    for (size_t i = 0; i < L.list.n; i++) {
        struct live_room *r = L.list.v[i];
        for (size_t k = 0; k < r->items.n; k++) {
            struct live_item *it = r->items.v[k];
            it->remaining = it->quantity - it->held - it->sold;
            if (it->remaining < 0) {
                log_err("live: item %lld: quantity %lld < held %lld + sold %lld", (long long)it->id,
                        (long long)it->quantity, (long long)it->held, (long long)it->sold);
                it->remaining = 0;
            }
        }
    }
    return 0;
}

void live_repair(void)
{
    /* Units admitted just before a room ended whose orders never committed
     * (a crash) load as `remaining` of an ended room: they belong to the SKU. */
    struct wtx *t = wtx_new();
    state_lock();
    for (size_t i = 0; i < L.list.n; i++) {
        struct live_room *r = L.list.v[i];
        if (r->status != RS_ENDED) continue;
        for (size_t k = 0; k < r->items.n; k++) {
            struct live_item *it = r->items.v[k];
            int64_t back = it->remaining;
            if (!back) continue;
            it->remaining = 0;
            it->quantity -= back;
            it->sku->reserved -= back;
            persist_sku_stock(t, it->sku);
            persist_item(t, it);
            log_info("live: item %lld: %lld units of an ended room back to the SKU",
                     (long long)it->id, (long long)back);
        }
    }
    if (wtx_empty(t))
        wtx_free(t);
    else
        writer_submit(t, NULL, NULL);
    state_unlock();
}

/* ---- the feed ---- */

static pthread_t feed_tid;
static volatile int feed_stop;

static void build_frame(struct live_room *r, int64_t now)
{
    struct live_feed *f = r->feed;
    uint64_t v = r->version;
    int viewers = r->viewers;
    int viewers_due = viewers != f->last_viewers && now - f->viewers_at >= 1000;
    if (v == f->built_version && !viewers_due) return;
    char *buf = NULL;
    size_t len = 0, cap = 0;
#define ADD(s, n)                                                                                  \
    do {                                                                                           \
        if (len + (n) > cap) {                                                                     \
            cap = (len + (n)) * 2 + 512;                                                           \
            buf = xrealloc(buf, cap);                                                              \
        }                                                                                          \
        memcpy(buf + len, (s), (n));                                                               \
        len += (n);                                                                                \
    } while (0)
    char line[512];
    pthread_mutex_lock(&f->lock);
    f->built_version = v;
    if (f->ctrl_len) {
        ADD(f->ctrl, f->ctrl_len);
        f->ctrl_len = 0;
    }
    struct pending_order ords[32];
    int64_t extra[32], extra_qty[32];
    int nords = f->norders;
    memcpy(ords, f->orders, sizeof ords);
    memcpy(extra, f->orders_extra, sizeof extra);
    memcpy(extra_qty, f->orders_extra_qty, sizeof extra_qty);
    f->norders = 0;
    pthread_mutex_unlock(&f->lock);

    pthread_rwlock_rdlock(&L.lock);
    while (f->seen.n < r->items.n)
        vec_push(&f->seen, xcalloc(2, sizeof(int64_t)));
    for (size_t i = 0; i < r->items.n; i++) {
        struct live_item *it = r->items.v[i];
        int64_t *seen = f->seen.v[i], rem = it->remaining, sold = it->sold;
        if (seen[0] == rem && seen[1] == sold) continue;
        seen[0] = rem;
        seen[1] = sold;
        int n =
            snprintf(line, sizeof line,
                     "event: stock\ndata: {\"item_id\":\"%lld\",\"remaining\":%lld,\"sold\":%lld,"
                     "\"held\":%lld}\n\n",
                     (long long)it->id, (long long)rem, (long long)sold, (long long)it->held);
        ADD(line, (size_t)n);
    }
    pthread_rwlock_unlock(&L.lock);
    for (int i = 0; i < nords; i++) {
        char text[160];
        if (extra[i])
            snprintf(text, sizeof text, "%s and %lld others bought", ords[i].buyer,
                     (long long)extra[i]);
        else
            snprintf(text, sizeof text, "%s bought", ords[i].buyer);
        json_t *j = json_pack("{sssssIsIss}", "item_id", "", "buyer", ords[i].buyer, "qty",
                              (json_int_t)(ords[i].qty + extra_qty[i]), "others",
                              (json_int_t)extra[i], "text", text);
        char idb[24];
        json_object_set_new(j, "item_id", json_string(id_fmt(ords[i].item_id, idb)));
        char *d = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        int n = snprintf(line, sizeof line, "event: order\ndata: %s\n\n", d);
        free(d);
        ADD(line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
    }
    if (viewers_due) {
        f->last_viewers = viewers;
        f->viewers_at = now;
        int n = snprintf(line, sizeof line, "event: viewers\ndata: {\"count\":%d}\n\n", viewers);
        ADD(line, (size_t)n);
    }
#undef ADD
    if (!len) {
        free(buf);
        return;
    }
    struct frame *fr = xmalloc(sizeof *fr + len);
    fr->refs = 1;
    fr->len = len;
    memcpy(fr->data, buf, len);
    free(buf);
    pthread_mutex_lock(&f->ring_lock);
    struct frame *old = f->ring[f->next_seq % FRAMES];
    f->ring[f->next_seq % FRAMES] = fr;
    __atomic_store_n(&f->next_seq, f->next_seq + 1, __ATOMIC_RELEASE); /* read racily by ticks */
    pthread_mutex_unlock(&f->ring_lock);
    frame_unref(old);
}

/* The frame interval of a room with this audience (feed_main says why). */
#define FEED_WRITES_PER_S 10000
static int64_t feed_every_ms(int viewers)
{
    int64_t every = (int64_t)viewers * 1000 / FEED_WRITES_PER_S;
    return every < 100 ? 100 : every > 1000 ? 1000 : every;
}

static void *feed_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "souk-livefeed");
    struct live_room *rooms[4096];
    while (!feed_stop) {
        usleep(100 * 1000);
        size_t n = live_rooms_snapshot(rooms, 4096);
        int64_t now = now_ms();
        for (size_t i = 0; i < n; i++) {
            struct live_room *r = rooms[i];
            if (r->viewers > 0) {
                /* Each frame is one write per viewer. With 10,000 viewers a
                 * frame every 100 ms, written from the loop threads, cut the
                 * buy path from ~37k to 9k orders/s (p99 307 ms); from the
                 * fan-out thread it would still cost ~0.8 of a core. So a
                 * room's feed spends a fixed budget, FEED_WRITES_PER_S: 10
                 * frames a second up to 1,000 viewers, fewer above, at least
                 * one a second (10,000 viewers). Stock stays coalesced (the
                 * latest counters), orders batched. */
                if (now - r->feed->built_at < feed_every_ms(r->viewers)) continue;
                r->feed->built_at = now;
                build_frame(r, now);
                continue;
            }
            /* Nobody watches: what happened is in the next viewer's snapshot,
             * so pending notes are dropped rather than replayed to them. */
            pthread_mutex_lock(&r->feed->lock);
            r->feed->norders = 0;
            r->feed->ctrl_len = 0;
            r->feed->built_version = r->version;
            pthread_mutex_unlock(&r->feed->lock);
        }
    }
    return NULL;
}

/* One viewer: owned by the loop thread its request lives on until the
 * handoff, then by the fan-out thread (fd >= 0) until it is closed. */
struct sub {
    struct live_room *room;
    struct http_req *q;
    uint64_t next_seq;
    int64_t ping_at, check_at, wrote_at;
    /* fan-out thread only */
    int fd, chunked, dead, want_out, reading;
    char *out; /* bytes the socket has not taken yet, at most VIEWER_BUFFER */
    size_t out_len, out_cap;
};

/* This loop thread's viewers, visited round-robin from `cursor` (an array,
 * so a tick can resume where the last one stopped; removal swaps in the last). */
static __thread struct vec subs;
static __thread size_t cursor;
static __thread char *tick_buf; /* frames being copied to one viewer */
static __thread size_t tick_cap;

#define VIEWER_BUFFER (64 * 1024) /* past this a viewer is too slow: dropped */

/* ---- the fan-out thread ----
 *
 * Why a thread of its own: a frame is one write per viewer, and each write to
 * a TCP socket runs the kernel's whole send path (on loopback the receiver's
 * too), ~10 us. Done on the loop threads, 10,000 viewers took 15-25% of the
 * thread that admits buyers and stalled buys behind fan-out ticks. Here the
 * loop threads only send the snapshot; then the socket is handed over
 * (http_stream_handoff) and this thread writes every later frame.
 *
 * Buyers come first: the thread runs at a lower CPU priority (nice
 * FANOUT_NICE), so when buyers keep both cores busy it runs less often; a
 * viewer it reaches late gets every frame it missed in one write (frames are
 * concatenated, one chunk per visit), so fewer writes, not lost events. And
 * it paces itself: a frame reaches a room's viewers over one frame interval,
 * a slice every FANOUT_PASS_MS, so its CPU use (and the viewers' reads) is
 * spread evenly rather than in bursts that show up in the buyers' p99
 * (measured with 10,000 viewers: p99 28 ms unpaced at nice 0, 21 ms at nice
 * 10, 18 ms paced; without viewers 14 ms).
 * A viewer more than FRAMES frames behind, or with VIEWER_BUFFER bytes the
 * socket would not take, is dropped (EventSource reconnects and gets a
 * fresh snapshot); nothing is buffered without bound.
 *
 * Viewers are grouped by room so a room with nothing new costs one atomic
 * load per pass. A closed viewer is noticed through epoll (its socket turns
 * readable at EOF), never by polling.
 */
#define FANOUT_NICE      10
#define FANOUT_PASS_MS   10
#define FANOUT_MIN_SLICE 64 /* writes per room and pass, at least */
#define VIEWER_SNDBUF    (32 * 1024)

struct fan_room {
    struct live_room *room;
    struct vec subs; /* struct sub * */
    uint64_t seen_seq;
    int lagging;   /* the last pass stopped before seeing every viewer */
    size_t cursor; /* where the next pass starts */
    int64_t ping_check_at;
};

static pthread_t fan_tid;
static int fan_ep = -1;
static pthread_mutex_t fan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vec fan_new;   /* handed over, not yet adopted (fan_lock) */
static struct vec fan_rooms; /* struct fan_room *, fan-out thread only */

/* On the viewer's loop thread, after the fan-out thread let it go. */
static void fan_closed(struct http_req *q, void *arg)
{
    struct sub *s = arg;
    http_stream_close(q);
    s->room->viewers--;
    s->room->version++;
    free(s->out);
    free(s);
}

/* On the loop thread: the snapshot is out and the socket is ours. */
static void fan_ready(struct http_req *q, int fd, int chunked, void *arg)
{
    struct sub *s = arg;
    if (fd < 0) {
        http_post(q, fan_closed, s);
        return;
    }
    s->fd = fd;
    s->chunked = chunked;
    pthread_mutex_lock(&fan_lock);
    vec_push(&fan_new, s);
    pthread_mutex_unlock(&fan_lock);
}

/* Viewers marked dead since the last reap: most passes have none, and a
 * sweep over 10,000 viewers every 10 ms for nothing cost ~5% of a core in
 * cache misses (measured with an idle audience). */
static size_t fan_ndead;

/* A send or recv that failed only for now: try again later. */
static int transient(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

static void fan_kill(struct sub *s)
{
    if (!s->dead) fan_ndead++;
    s->dead = 1;
}

static void fan_watch(struct sub *s, int op)
{
    struct epoll_event ev = {.events = (s->reading ? EPOLLIN : 0) | EPOLLRDHUP |
                                       (s->want_out ? EPOLLOUT : 0),
                             .data.ptr = s};
    if (epoll_ctl(fan_ep, op, s->fd, &ev) != 0) fan_kill(s);
}

/* Writes what the socket takes now and keeps the rest (bounded). */
static void fan_send(struct sub *s, const char *data, size_t len)
{
    if (s->dead) return;
    size_t done = 0;
    if (!s->out_len) {
        ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && !transient(errno)) {
            fan_kill(s);
            return;
        }
        done = n > 0 ? (size_t)n : 0;
        if (done == len) return;
    }
    if (s->out_len + (len - done) > VIEWER_BUFFER) {
        fan_kill(s); /* too slow: dropped, never buffered without bound */
        return;
    }
    if (s->out_len + (len - done) > s->out_cap) {
        s->out_cap = VIEWER_BUFFER;
        s->out = xrealloc(s->out, s->out_cap);
    }
    memcpy(s->out + s->out_len, data + done, len - done);
    s->out_len += len - done;
    if (!s->want_out) {
        s->want_out = 1;
        fan_watch(s, EPOLL_CTL_MOD);
    }
}

static void fan_flush(struct sub *s)
{
    if (s->dead || !s->out_len) return;
    ssize_t n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
        if (!transient(errno)) fan_kill(s);
        return;
    }
    memmove(s->out, s->out + n, s->out_len - (size_t)n);
    s->out_len -= (size_t)n;
    if (!s->out_len) {
        s->want_out = 0;
        fan_watch(s, EPOLL_CTL_MOD);
    }
}

/* Readable: EOF (the viewer left) or bytes a viewer should not send. */
static void fan_readable(struct sub *s)
{
    char c;
    ssize_t n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && !transient(errno))) {
        fan_kill(s);
    } else if (n > 0) {
        s->reading = 0; /* level-triggered: stop hearing about them; RDHUP still comes */
        fan_watch(s, EPOLL_CTL_MOD);
    }
}

/* Frames [from, to) of a room as one write into *buf (grown as needed): one
 * HTTP/1.1 chunk when chunked (the fan-out thread), bare otherwise (a loop's
 * tick, whose h2o frames them). Returns the length, 0 when the frames have
 * left the ring. */
static size_t feed_frames(struct live_feed *f, uint64_t from, uint64_t to, int chunked, char **buf,
                          size_t *cap)
{
    struct frame *take[FRAMES];
    size_t ntake = 0, len = 0;
    pthread_mutex_lock(&f->ring_lock);
    if (to > f->next_seq || (f->next_seq > FRAMES && from < f->next_seq - FRAMES)) {
        pthread_mutex_unlock(&f->ring_lock);
        return 0;
    }
    for (uint64_t q = from; q < to; q++) {
        struct frame *fr = f->ring[q % FRAMES];
        fr->refs++;
        take[ntake++] = fr;
        len += fr->len;
    }
    pthread_mutex_unlock(&f->ring_lock);
    if (len + 32 > *cap) {
        *cap = (len + 32) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    size_t at = chunked ? (size_t)sprintf(*buf, "%zx\r\n", len) : 0;
    for (size_t i = 0; i < ntake; i++) {
        memcpy(*buf + at, take[i]->data, take[i]->len);
        at += take[i]->len;
        frame_unref(take[i]);
    }
    if (chunked) {
        memcpy(*buf + at, "\r\n", 2);
        at += 2;
    }
    return at;
}

static void fan_adopt(void)
{
    pthread_mutex_lock(&fan_lock);
    struct vec add = fan_new;
    fan_new = (struct vec){0};
    pthread_mutex_unlock(&fan_lock);
    int64_t now = now_ms();
    for (size_t i = 0; i < add.n; i++) {
        struct sub *s = add.v[i];
        struct fan_room *fr = NULL;
        for (size_t j = 0; j < fan_rooms.n && !fr; j++) {
            struct fan_room *c = fan_rooms.v[j];
            if (c->room == s->room) fr = c;
        }
        if (!fr) {
            fr = xcalloc(1, sizeof *fr);
            fr->room = s->room;
            vec_push(&fan_rooms, fr);
        }
        s->reading = 1;
        s->wrote_at = now;
        /* The kernel's buffer is bounded too: autotuning would let a stalled
         * viewer hold megabytes (10,000 of them, gigabytes). A viewer takes
         * at most a few KB a second; 32 KB (the kernel doubles it) plus
         * VIEWER_BUFFER is all a slow one can hold before it is dropped. */
        setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &(int){VIEWER_SNDBUF}, sizeof(int));
        fan_watch(s, EPOLL_CTL_ADD);
        vec_push(&fr->subs, s);
        fr->seen_seq = 0; /* the newcomer may be behind: look at the room next pass */
    }
    free(add.v);
}

/* Lets the dead go: the socket is shut down before the loop thread closes
 * the request, so nothing h2o writes can follow a half-written chunk. */
static void fan_reap(struct fan_room *fr)
{
    for (size_t i = 0; i < fr->subs.n;) {
        struct sub *s = fr->subs.v[i];
        if (!s->dead) {
            i++;
            continue;
        }
        fr->subs.v[i] = fr->subs.v[--fr->subs.n];
        epoll_ctl(fan_ep, EPOLL_CTL_DEL, s->fd, NULL);
        shutdown(s->fd, SHUT_RDWR); /* lent by h2o: it closes the descriptor */
        s->fd = -1;
        http_post(s->q, fan_closed, s);
    }
}

static void fan_pass(char **buf, size_t *cap)
{
    int64_t now = now_ms();
    for (size_t j = 0; j < fan_rooms.n;) {
        struct fan_room *fr = fan_rooms.v[j];
        struct live_feed *f = fr->room->feed;
        uint64_t seq = __atomic_load_n(&f->next_seq, __ATOMIC_ACQUIRE);
        if (seq != fr->seen_seq || fr->lagging) {
            /* Paced: a frame reaches the room's viewers over one frame
             * interval, a slice per pass, not in one burst of 10,000
             * writes that would take a core from buyers for ~80 ms. Most
             * viewers stand at the same frame: one chunk serves them all. */
            size_t n = fr->subs.n, visits = 0, wrote = 0;
            size_t budget = n * FANOUT_PASS_MS / (size_t)feed_every_ms(fr->room->viewers) + 1;
            if (budget < FANOUT_MIN_SLICE) budget = FANOUT_MIN_SLICE;
            uint64_t from = UINT64_MAX;
            int chunked = -1;
            size_t len = 0;
            for (; visits < n && wrote < budget; visits++) {
                if (fr->cursor >= n) fr->cursor = 0;
                struct sub *s = fr->subs.v[fr->cursor++];
                if (s->dead || s->next_seq >= seq) continue;
                if (s->next_seq != from || s->chunked != chunked) {
                    from = s->next_seq;
                    chunked = s->chunked;
                    len = feed_frames(f, from, seq, chunked, buf, cap);
                }
                if (!len) {
                    fan_kill(s); /* fell behind the ring: a reconnect gets a snapshot */
                    continue;
                }
                fan_send(s, *buf, len);
                s->next_seq = seq;
                s->wrote_at = now;
                wrote++;
            }
            fr->lagging = visits < n; /* not all seen: some may still be behind */
            fr->seen_seq = seq;
        }
        if (now >= fr->ping_check_at) {
            fr->ping_check_at = now + 1000;
            for (size_t i = 0; i < fr->subs.n; i++) {
                struct sub *s = fr->subs.v[i];
                if (s->dead || now - s->wrote_at < 15000) continue;
                s->wrote_at = now;
                fan_send(s, s->chunked ? "8\r\n: ping\n\n\r\n" : ": ping\n\n", s->chunked ? 15 : 8);
            }
        }
        if (fan_ndead) fan_reap(fr);
        if (fr->subs.n) {
            j++;
            continue;
        }
        /* Its last viewer left: rooms once watched do not pile up here. */
        free(fr->subs.v);
        free(fr);
        fan_rooms.v[j] = fan_rooms.v[--fan_rooms.n];
    }
    fan_ndead = 0;
}

static void *fan_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "souk-fanout");
    /* Per-thread on Linux: only this thread yields to buyers. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), FANOUT_NICE);
    struct epoll_event evs[256];
    char *buf = NULL;
    size_t cap = 0;
    while (!feed_stop) {
        int n = epoll_wait(fan_ep, evs, 256, FANOUT_PASS_MS);
        for (int i = 0; i < n; i++) {
            struct sub *s = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) fan_readable(s);
            if (evs[i].events & EPOLLOUT) fan_flush(s);
        }
        fan_adopt();
        fan_pass(&buf, &cap);
    }
    free(buf);
    return NULL;
}

/* At shutdown, after the loops stopped: memory freed (the descriptors are h2o's). */
static void fan_release(void)
{
    fan_adopt();
    for (size_t j = 0; j < fan_rooms.n; j++) {
        struct fan_room *fr = fan_rooms.v[j];
        for (size_t i = 0; i < fr->subs.n; i++) {
            struct sub *s = fr->subs.v[i];
            free(s->out);
            free(s);
        }
        free(fr->subs.v);
        free(fr);
    }
    free(fan_rooms.v);
    fan_rooms = (struct vec){0};
    close(fan_ep);
    fan_ep = -1;
}

void live_feed_subscribe(struct live_room *r, struct http_req *q, json_t *snapshot)
{
    struct sub *s = xcalloc(1, sizeof *s);
    s->room = r;
    s->q = q;
    pthread_mutex_lock(&r->feed->ring_lock);
    s->next_seq = r->feed->next_seq;
    pthread_mutex_unlock(&r->feed->ring_lock);
    s->ping_at = now_ms() + 15000;
    http_stream_begin(q, 200, "text/event-stream", VIEWER_BUFFER);
    char *d = json_dumps(snapshot, JSON_COMPACT);
    json_decref(snapshot);
    http_stream_write(q, "retry: 2000\nevent: snapshot\ndata: ", 34);
    http_stream_write(q, d, strlen(d));
    http_stream_write(q, "\n\n", 2);
    free(d);
    r->viewers++;
    r->version++;
    /* HTTP/1 viewers go to the fan-out thread once the snapshot is out; the
     * rest (HTTP/2) stay on this loop thread's ticks. */
    if (http_stream_handoff(q, fan_ready, s) == 0) return;
    vec_push(&subs, s);
}

void live_feed_start(void)
{
    feed_stop = 0;
    fan_ep = epoll_create1(EPOLL_CLOEXEC);
    if (fan_ep < 0) {
        log_msg("error", "epoll_create1: %s", strerror(errno));
        abort(); /* out of descriptors at start: nothing to serve viewers with */
    }
    pthread_create(&feed_tid, NULL, feed_main, NULL);
    pthread_create(&fan_tid, NULL, fan_main, NULL);
}

void live_feed_stop(void)
{
    feed_stop = 1;
    pthread_join(feed_tid, NULL);
    pthread_join(fan_tid, NULL);
    fan_release();
}

/* Work per tick and loop thread (viewers that could not be handed over). Ticks come every 10 ms; a
 * tick visits at most VISITS_PER_TICK viewers (round-robin) and writes to at most WRITES_PER_TICK
 * of them, so 10,000 viewers each get their frames within ~100 ms while no tick holds the buyers on
 * the same thread for more than a few milliseconds. Writing one frame to all 10,000 in one tick
 * held buys up to 150 ms (p99); walking all of them every tick cost ~10% of the thread. */
#define VISITS_PER_TICK 1000
#define WRITES_PER_TICK 400

void live_feed_tick(int loop)
{
    (void)loop;
    int64_t now = now_ms();
    int budget = WRITES_PER_TICK;
    for (size_t visits = 0; subs.n && visits < VISITS_PER_TICK && visits < subs.n; visits++) {
        if (cursor >= subs.n) cursor = 0;
        struct sub *s = subs.v[cursor];
        struct live_feed *f = s->room->feed;
        int dead = http_gone(s->q);
        /* Notice a closed viewer within a second or two. While frames flow,
         * the write after a close fails and says so; only a viewer nothing
         * was written to lately needs the socket peeked (a syscall each). */
        if (!dead && budget > 0 && now >= s->check_at) {
            s->check_at = now + 1000;
            if (now - s->wrote_at > 1000) {
                dead = !http_stream_alive(s->q);
                budget--;
            }
        }
        /* A racy look first: most viewers have nothing new on most visits. */
        uint64_t to = __atomic_load_n(&f->next_seq, __ATOMIC_ACQUIRE);
        if (!dead && budget > 0 && to > s->next_seq) {
            budget--;
            /* Not framed: h2o frames what http_stream_write is given. */
            size_t len = feed_frames(f, s->next_seq, to, 0, &tick_buf, &tick_cap);
            if (!len || http_stream_write(s->q, tick_buf, len) != 0)
                dead = 1; /* or fell behind the ring: a reconnect gets a snapshot */
            s->next_seq = to;
            s->wrote_at = now;
        }
        if (!dead && budget > 0 && now >= s->ping_at) {
            s->ping_at = now + 15000;
            budget--;
            if (http_stream_write(s->q, ": ping\n\n", 8) != 0) dead = 1;
        }
        if (dead) {
            subs.v[cursor] = subs.v[--subs.n]; /* the last one is visited next */
            http_stream_close(s->q);
            s->room->viewers--;
            s->room->version++;
            free(s);
            continue;
        }
        cursor++;
    }
    if (!subs.n && tick_buf) { /* nobody left on this loop: no buffer kept */
        free(tick_buf);
        tick_buf = NULL;
        tick_cap = 0;
    }
}
