/*
 * live — live rooms and flash sales: souk's hottest path.
 *
 * A room belongs to a merchant and moves scheduled → live → ended
 * (scheduled → ended is allowed too). Its items each set aside `quantity`
 * units of one SKU (the SKU's `reserved` grows by quantity when the item is
 * added) and sell them at a live price, at most `per_user_limit` units per
 * shopper, from `starts_at` on.
 *
 * Item counters and the invariant (held at every instant, across restarts):
 *
 *     remaining + held + sold = quantity,   all four ≥ 0
 *
 *   remaining  units a buyer can still get          (atomic, admission CAS)
 *   held       units in pending_payment live orders
 *   sold       units in paid (or later) live orders
 *
 *   buy       remaining −= q, held += q     one CAS on remaining: two buyers
 *                                          can never take the same unit
 *   pay       held −= q, sold += q           SKU: reserved −= q, on_hand −= q
 *   expire /  held −= q, remaining += q     (room ended: quantity −= q and
 *   cancel                                   SKU reserved −= q instead)
 *   refund    sold −= q, quantity −= q       SKU: on_hand += q (back to stock)
 *   room end  quantity −= remaining,         SKU: reserved −= remaining
 *             remaining = 0
 *
 * So the SKU's reservation for an item is always quantity − sold.
 *
 * Admission (live_buy) takes no global lock: the room/item lookup is under a
 * read lock, "not live", "not started" and "sold out" are answered from
 * memory, the per-shopper count is checked under the item's own mutex, and
 * units are taken with a CAS. Only the creation of the order takes the state
 * lock, for a few microseconds, to register it and append its rows to the
 * unit of work; the answer waits for the group commit like every write.
 *
 * Durable state: rooms and items (with quantity) are rows; held, sold and
 * the per-shopper counts are derived from the live orders at load, and
 * remaining = quantity − held − sold. A crash therefore loses only what was
 * never acknowledged, and no unit is counted twice.
 *
 * Feed: every change bumps the room's version; a feed thread turns changes
 * into Server-Sent Event frames every 100 ms (stock coalesced to at most 10
 * a second per item, orders batched with masked buyers, viewers at most once
 * a second; rooms with thousands of viewers get frames less often, at most
 * 1 s apart). A loop thread sends a new viewer its snapshot, then hands the
 * socket to one fan-out thread that writes every later frame (live.c says
 * why); HTTP/2 viewers, which cannot be handed over, stay on their loop.
 */
#ifndef SOUK_LIVE_H
#define SOUK_LIVE_H
#include <stdatomic.h>
#include <pthread.h>
#include "core/state.h"
#include "http/http.h"

enum room_status { RS_SCHEDULED, RS_LIVE, RS_ENDED };

struct live_room;

struct live_item {
    int64_t id, room_id, live_price, per_user_limit, starts_at, created_at;
    struct live_room *room;
    struct sku *sku;
    char currency[4];
    _Atomic int64_t quantity, remaining, held, sold;
    pthread_mutex_t ulock; /* guards per_user */
    struct imap per_user;  /* user id → units held + sold (as intptr_t) */
};

struct live_room {
    int64_t id, created_at, scheduled_at, started_at, ended_at;
    struct merchant *m;
    char *title;
    _Atomic int status;
    _Atomic int64_t pinned_item_id;
    struct vec items; /* struct live_item *, guarded by the live rwlock */
    _Atomic int viewers;
    _Atomic uint64_t version; /* bumped on every change a viewer would see */
    struct live_feed *feed;   /* private to live.c */
};

void live_init(void);
/* Rebuild rooms, items and their counters (after state_load). */
int live_load(const struct store_ops *ops, struct store *st);

/* After the writer has started: give back units that a crash left in
 * ended rooms (see live.c). */
void live_repair(void);

/* Lookups; rooms and items are never freed. */
struct live_room *live_room_get(int64_t id);
struct live_item *live_item_get(struct live_room *r, int64_t item_id);
/* Rooms newest first, for lists (copy into out, at most max). */
size_t live_rooms_snapshot(struct live_room **out, size_t max);

/* With the state lock held: */
struct live_room *live_room_create(struct wtx *t, struct merchant *m, const char *title,
                                   int64_t scheduled_at, int64_t now);
int live_room_start(struct wtx *t, struct live_room *r, int64_t now);
int live_room_end(struct wtx *t, struct live_room *r, int64_t now);
int live_room_pin(struct wtx *t, struct live_room *r, struct live_item *it);
/* ERR_INSUFFICIENT_STOCK when the SKU has fewer available units. */
int live_item_add(struct wtx *t, struct live_room *r, struct sku *k, int64_t live_price,
                  int64_t quantity, int64_t per_user_limit, int64_t starts_at, int64_t now,
                  struct live_item **out);

/* Admission without the state lock: on ERR_OK, qty units are taken for u
 * (remaining −= qty, held += qty); the caller then creates the order with
 * live_order_create, or gives them back with live_admit_undo. */
int live_admit(struct live_item *it, const struct user *u, int64_t qty, int64_t now);
void live_admit_undo(struct live_item *it, const struct user *u, int64_t qty);
/* With the state lock held: the pending order for admitted units. */
struct order *live_order_create(struct wtx *t, struct live_item *it, struct user *u, int64_t qty,
                                json_t *shipping, int64_t now);
/* Queue an "order" event for the feed (buyer's name masked). */
void live_note_order(struct live_item *it, const struct user *u, int64_t qty);

/* SSE: start streaming room r's feed to request q (on q's loop thread). */
void live_feed_subscribe(struct live_room *r, struct http_req *q, json_t *snapshot);
/* Called by the server on every loop thread each tick. */
void live_feed_tick(int loop);
/* Start/stop the thread that builds feed frames. */
void live_feed_start(void);
void live_feed_stop(void);

const char *room_status_name(int s);
int64_t live_item_remaining(const struct live_item *it);

#endif
