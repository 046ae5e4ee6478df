/*
 * disco — discovery wired into the marketplace: the one place that owns the
 * search index, the recommender, trending and the exposure ledger, feeds
 * them from state (the order history, stored behaviour events, live
 * purchases, catalog changes) and runs every ranked list through the same
 * fair re-ranking step (discovery/fair.h) before it is shown.
 *
 * Threads: request threads call disco_* (they take the state lock only
 * where they read products or merchants); one background thread retrains
 * the recommender, refreshes the cold-start fallback and applies catalog
 * changes to the search index (a change is searchable within ~200 ms).
 */
#ifndef SOUK_DISCO_H
#define SOUK_DISCO_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/state.h"
#include "discovery/fair.h"
#include "discovery/reco.h"
#include "discovery/trending.h"

/* At start, before the writer runs: create the models and feed them the
 * stored behaviour events and the order history. */
int disco_load(const struct store_ops *ops, struct store *st);
/* Then start the background thread. */
void disco_start(void);
void disco_stop(void);

/* A behaviour event (POST /events or a paid order). user < 0 is an
 * anonymous session. kind: view, click, cart, purchase, search. */
enum disco_event { DE_VIEW, DE_CLICK, DE_CART, DE_PURCHASE, DE_SEARCH, DE__COUNT };
int disco_event_parse(const char *s);
const char *disco_event_name(int e);
void disco_record(int64_t user, enum disco_event kind, int64_t product, const char *query,
                  int64_t now);

/* The fair re-ranking step every list goes through: fair_rank() with
 * fair_default_params (FA*IR on ranks 1-10, discovery slots for merchants
 * the ledger says are owed exposure after them; discovery/fair.h). cands
 * (any order; their `owed` is overwritten) come from disco_candidate; out
 * gets at most k. The shown list is accounted in the exposure ledger. */
size_t disco_rank(enum fair_kind kind, struct fair_candidate *cands, size_t n, size_t k,
                  struct fair_candidate *out, int64_t now);
/* The feed's candidates for a list of `limit` items: reco_feed(exclude
 * bought) at fair_depth(limit) (200 for 20; at most cap), deep enough for
 * the discovery slots to find owed merchants. The fill after the personal
 * items (fallback, popular) keeps its order but is scored below every
 * personal item, since the re-ranker orders by score. Pass to disco_rank.
 * Thread-safe (no state lock needed). */
size_t disco_feed(struct reco *r, int64_t user, size_t limit, struct reco_item *out, size_t cap);
/* Account a list shown in the shopper's own order (a price or date sort):
 * no re-ranking, but its exposure counts. */
void disco_account(enum fair_kind kind, const struct fair_candidate *shown, size_t n, int64_t now);
/* Fill a candidate for product p with relevance rel (lock held). */
void disco_candidate(struct fair_candidate *c, const struct product *p, double rel, int64_t now);

struct search_index;
struct search_index *disco_search(void);
struct reco *disco_reco(void);
struct trending *disco_trending(void);
struct fair_ledger *disco_ledger(void);

#endif
