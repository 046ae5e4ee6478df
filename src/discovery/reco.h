/*
 * reco — behaviour events in, "similar items" and a personal feed out.
 *
 * Events. reco_add() records that a shopper (or an anonymous session: any
 * int64 id the caller keeps apart from shopper ids, e.g. negative) viewed,
 * clicked, carted or bought a product. It is cheap (one shard mutex, a scan
 * of the user's own entries) and safe from request threads. Purchases also
 * come from orders, including imported history: pass the order's own time.
 * Searches without a product go to trending, not here.
 *
 * What is kept. Per user, up to user_cap distinct products (the most recent;
 * the oldest is dropped), each with an interaction weight: the sum of its
 * events' kind weights (view 1, click 2, cart 4, purchase 8 by default, times
 * the event's own weight), decayed with half-life decay_days, and a "bought"
 * flag. Raw events are not kept: this is the model's input, not an audit log.
 *
 * The model (reco_train). Item-item cosine over per-user histories, built
 * from scratch from a snapshot of the per-user entries:
 *   - x(u,i) = log1p(weight of i for u, decayed to the newest event seen);
 *     decay is relative to the newest event, not the wall clock, so an
 *     imported 2011 history keeps its shape;
 *   - only each user's train_cap most recent products take part, and a user
 *     counts 1/log2(2 + n_u) (n_u: products used): a wholesaler with 200
 *     products says less about each pair than a shopper with 3;
 *   - sim(i,j) = sum_u f_u x(u,i) x(u,j) / sqrt(N_i N_j), N_i = sum_u f_u x(u,i)^2,
 *     a cosine, so popular items do not neighbour everything; pairs seen by
 *     fewer than min_support users are dropped;
 *   - the top `neighbours` per item are stored with a reason: bought_with when
 *     the co-occurrence came mostly from users who bought both, else
 *     viewed_with; plus a "popular" list (sum of x over users).
 * Training runs on the caller's thread (a background thread, or the one
 * reco_new starts when train_every_ms > 0). Readers never wait for it: the
 * model is immutable and reference-counted; reco_train swaps the pointer under
 * a mutex held for a few instructions, and the old model is freed when its
 * last reader lets go.
 *
 * Queries.
 *   - reco_similar: the product's stored neighbours (bought_with/viewed_with,
 *     anchor = the product). Nothing for a product the model does not know.
 *   - reco_feed: the user's feed_cap most recent products, each weighted by
 *     log1p(weight) * 0.5^(age / feed_half_life_days) (age relative to the
 *     user's newest event), spread over their best feed_neighbours
 *     neighbours (fewer, better neighbours gave a better feed on the
 *     validation split); an item's reason is because_you_bought /
 *     because_you_viewed with the history product that contributed most as
 *     anchor. Then, if fewer than k, the fallback list the
 *     caller set (trending, new merchants: reco_set_fallback), then popular.
 *     The feed sees events at once (the history is live); the neighbours are
 *     as of the last training. Cost: O(feed_cap * feed_neighbours), no
 *     allocation beyond one table of a few tens of KB.
 *   For fair exposure, ask for fair_depth(k) items (200 for a list of 20:
 *   the discovery slots need owed merchants among them) and pass them
 *   through disco_rank() (disco_feed() does both for the feed).
 *
 * Ownership: results are written into caller arrays; reco owns everything
 * else. User id 0 and INT64_MIN are not valid ids (ignored).
 */
#ifndef SOUK_DISCOVERY_RECO_H
#define SOUK_DISCOVERY_RECO_H

#include <stddef.h>
#include <stdint.h>

enum reco_event { RECO_VIEW, RECO_CLICK, RECO_CART, RECO_PURCHASE, RECO_EVENT_COUNT };
/* "view", "click", "cart", "purchase" */
extern const char *const reco_event_names[RECO_EVENT_COUNT];

enum reco_reason {
    RECO_BOUGHT_WITH,        /* similar: shoppers who bought the anchor bought this */
    RECO_VIEWED_WITH,        /* similar: shoppers who looked at the anchor looked at this */
    RECO_BECAUSE_YOU_BOUGHT, /* feed: neighbour of the anchor, which you bought */
    RECO_BECAUSE_YOU_VIEWED, /* feed: neighbour of the anchor, which you viewed/carted */
    RECO_TRENDING,           /* fallback, set by the caller */
    RECO_NEW_MERCHANT,       /* fallback, set by the caller */
    RECO_POPULAR,            /* the model's popular list */
    RECO_REASON_COUNT
};
/* "bought_with", "viewed_with", "because_you_bought", "because_you_viewed",
 * "trending", "new_merchant", "popular" */
extern const char *const reco_reason_names[RECO_REASON_COUNT];

struct reco_item {
    int64_t product;
    float score;    /* comparable within one answer only */
    uint8_t reason; /* enum reco_reason */
    int64_t anchor; /* the product the reason refers to; 0 for trending/new/popular */
};

struct reco_config {
    float kind_weight[RECO_EVENT_COUNT]; /* default 1, 2, 4, 8 */
    double decay_days;                   /* half-life of interaction weights; default 60 */
    size_t neighbours;                   /* stored per item (similar's depth); default 50 */
    size_t feed_neighbours;              /* of those, used by the feed; default 20 */
    size_t user_cap;                     /* distinct products kept per user; default 500 */
    size_t train_cap;                    /* most recent per user used in training; default 200 */
    size_t feed_cap;                     /* most recent per user used by the feed; default 50 */
    double feed_half_life_days;          /* recency weight in the feed; default 30 */
    uint32_t min_support;                /* users behind a pair; default 2 */
    size_t popular;                      /* length of the popular list; default 200 */
    int64_t train_every_ms;              /* > 0: reco_new starts a thread that retrains this often
                                            when there were new events; default 0 (caller trains) */
};

/* Zero fields take these defaults. decay_days and feed_neighbours were chosen on
 * a validation split of Online Retail (train < 2011-07-01, validate July to
 * September), not on the test period bench/eval_discovery.c reports. */
extern const struct reco_config reco_default_config;

struct reco;

/* cfg may be NULL. Aborts on out-of-memory (server policy). */
struct reco *reco_new(const struct reco_config *cfg);
/* Stops the training thread if any, and frees everything. No call may be in
 * progress on other threads. */
void reco_free(struct reco *r);

/* Records one event; weight <= 0 counts as 1. Thread-safe. */
void reco_add(struct reco *r, int64_t user, int64_t product, enum reco_event kind, float weight,
              int64_t ts_ms);

/* Builds a new model from everything added so far and publishes it.
 * Serialised with other reco_train calls. Returns the number of items with
 * at least one neighbour. */
size_t reco_train(struct reco *r);

/* Sets the list the feed falls back on after the personal items (reasons
 * RECO_TRENDING / RECO_NEW_MERCHANT as the caller sets them); copied, at most
 * 256 items. Thread-safe; refresh it as trending changes. */
void reco_set_fallback(struct reco *r, const struct reco_item *items, size_t n);

/* Up to k neighbours of `product`, best first, into out. Returns the count. */
size_t reco_similar(struct reco *r, int64_t product, size_t k, struct reco_item *out);

/* Up to k feed items for `user`, best first. exclude_bought: leave out
 * products the user bought (among its user_cap most recent products).
 * Returns the count (< k only when the model and fallback hold fewer). */
size_t reco_feed(struct reco *r, int64_t user, size_t k, int exclude_bought, struct reco_item *out);

struct reco_stats {
    uint64_t events;        /* reco_add calls accepted */
    uint64_t users;         /* users with entries */
    uint64_t model_version; /* 0 before the first training */
    uint64_t model_items;   /* products in the model */
    uint64_t model_pairs;   /* stored neighbour entries */
    double train_ms;        /* duration of the last training */
};
void reco_stats(struct reco *r, struct reco_stats *out);

#endif
