/*
 * fair — the one re-ranking step every ranked list (search, feed, similar)
 * passes through, and the exposure ledger behind GET /admin/exposure.
 *
 * What it does: two tiers (fair_rank = fair_ledger_owed + fair_rerank +
 * fair_record; disco_rank calls it for every list).
 *   1. Ranks 1..top (top = 10, the first screen): a FA*IR prefix constraint
 *      (Zehlike et al., CIKM 2017). In every prefix of k items the number of
 *      items from protected merchants (small or new) is at least m(k), the
 *      smallest count a Binomial(k, p) test at significance alpha would not
 *      reject as "fewer protected items than proportion p". A merge of two
 *      relevance-sorted queues: relevance order is kept inside each group,
 *      and what it costs is bounded by how far a protected item is pulled
 *      up. This tier is where NDCG@10 is measured, so it stays close to the
 *      relevance order: p = 0.6 asks for 4 of 10.
 *   2. Ranks after top: discovery slots, amortised over time (equity of
 *      attention, Biega et al., SIGIR 2018, in a simple greedy form). The
 *      ledger keeps a running, decayed exposure per merchant; a merchant is
 *      "owed" while its running exposure is below owed_share times the mean
 *      over merchants: the minimum share of attention every merchant, small
 *      and new ones in particular, is owed over time. Among the first j
 *      ranks of this tier at least floor(j * slots) go to owed merchants:
 *      each such slot takes, among the candidates of owed merchants not yet
 *      in the list, the one with the highest score x deficit (deficit = how
 *      far below its share the merchant is, in (0, 1]). One item per owed
 *      merchant per list, so the slots spread over many merchants; the
 *      merchants shown gain exposure, stop being owed, and the next lists
 *      serve others. Positions no owed candidate takes follow the FA*IR
 *      merge.
 *
 * Why. On the Online Retail replay (bench/eval_discovery.c: 200 merchants of
 * Zipf(1.1) catalogue sizes, bench/RESULTS.md "## Discovery evaluation") the
 * Gini of merchant exposure of the plain feed is 0.82, and the Gini of
 * catalogue sizes alone is 0.70: a 30% cut needs exposure flatter than
 * catalogue shares, i.e. reaching merchants the recommender almost never
 * ranks. FA*IR alone (p 0.6 over ranks 1-20, souk's previous default)
 * raised the small merchants' share from 26% to 42% but cut the Gini only
 * 9%: inside the protected group the most relevant items, a few merchants',
 * take the slots; p 0.8 cut 19% for 3.7% of NDCG@10. A global equity-of-
 * attention re-ranker (each position to the merchant most owed, subject to
 * DCG >= theta x ideal; prototyped earlier, not kept) cut the Gini 6% for
 * 16% of NDCG@10. Splitting the list does both jobs: the first screen keeps
 * its relevance, and ranks 11-20, which NDCG@10 does not weigh but which
 * carry 35% of a 20-item list's exposure, serve the owed merchants.
 * Measured with the defaults: NDCG@10 cost 0.65% (+-0.85%, one standard
 * error; all of it from tier 1), Gini 0.824 -> 0.516 (a 37% cut), small
 * merchants' share 26% -> 55%. Shown in 5 random customer orders instead
 * of the loader's, the cut stayed within 37.3-37.5%.
 *
 * What it costs.
 *   - Recall@20: 15% lower on the replay (0.075 -> 0.064). Ranks 11-20 hold owed
 *     merchants' items, less relevant than those they displace. This is
 *     the price of the discovery slots; slots < 1 or a higher owed_share
 *     lower it and the Gini cut with it (sweep in bench/RESULTS.md).
 *   - Candidates: an owed merchant can only be shown if one of its items is
 *     among the candidates, so a list of k asks for fair_depth(k)
 *     candidates (200 for 20; disco_feed does this for the feed). At 60
 *     candidates (3k) the Gini cut is 27%, at 100 35%, flat from 150.
 *   - Request path: one hash lookup per candidate under the ledger lock
 *     (fair_ledger_owed, then fair_record), a sort of the candidates and
 *     an O(k) merchant check per discovery pick; no bucket is scanned.
 *     disco_feed(20) plus fair_rank(20) take ~0.1 ms at p99 on the replay.
 *   - Search pages re-rank only the page's own hits (its set stays the
 *     same), and similar lists hold at most 50 neighbours, so tier 2 moves
 *     less there than on the feed.
 *
 * Parameters (struct fair_params, fair_default_params; fair.c says why):
 *   - p, alpha: FA*IR's minimum protected proportion and significance. We
 *     use the unadjusted alpha at every prefix (FA*IR's multiple-test
 *     adjustment lowers alpha; not adjusting is slightly stricter).
 *   - top: ranks 1..top are tier 1. slots: the share of the ranks after top
 *     reserved for owed merchants (1 = all of them; 0 = no tier 2, FA*IR
 *     over the whole list).
 *   - owed_share: the minimum share as a multiple of the mean running
 *     exposure (1.5: below 1.5 x mean is owed).
 *   - depth: candidates to ask for, at least (fair_depth).
 *   - max_boost: merchant programs' "bounded boost" is a per-candidate
 *     multiplier on relevance, clamped to [1, max_boost] (default 1.5),
 *     applied to the score in both tiers. It can reorder but never lifts an
 *     item above one whose score is more than max_boost times higher, and
 *     it never makes a merchant owed.
 *
 * Who is protected (tier 1): fair_group_of() classifies a merchant as SMALL
 * when it holds less than small_share of the live catalogue, NEW when it was
 * created less than new_days ago. Protected = any group bit set. Who is owed
 * (tier 2) depends only on the ledger: any merchant below its share, large
 * or small; one the ledger has never seen (a new merchant) is owed fully.
 *
 * Exposure: an item at rank r (1-based) gives its merchant 1/log2(1+r) of
 * exposure (1, 0.63, 0.5, ...), and one impression. The ledger accumulates
 * both per merchant and per kind in time buckets (default 1 hour, kept 90
 * days) so a report can cover any [from, to); and, for the owed test, one
 * running total per merchant and one overall, decayed with a half-life
 * (default 7 days) so the amortisation weighs recent attention. All kinds
 * of list count in the running totals.
 *
 * Thread safety: fair_table is immutable after init and may be shared by any
 * number of threads. fair_ledger locks internally.
 */
#ifndef SOUK_DISCOVERY_FAIR_H
#define SOUK_DISCOVERY_FAIR_H

#include <stddef.h>
#include <stdint.h>

enum fair_kind { FAIR_SEARCH, FAIR_FEED, FAIR_SIMILAR, FAIR_KIND_COUNT };
/* "search", "feed", "similar", indexed by enum fair_kind. */
extern const char *const fair_kind_names[FAIR_KIND_COUNT];

/* Group bits; a merchant with any bit set is protected. */
enum { FAIR_LARGE = 0, FAIR_SMALL = 1, FAIR_NEW = 2 };

struct fair_candidate {
    int64_t product;
    int64_t merchant;
    double relevance; /* higher is better */
    double boost;     /* program boost; <= 1 means none, clamped to max_boost */
    uint8_t group;    /* FAIR_SMALL | FAIR_NEW bits, from fair_group_of() */
    float owed;       /* in [0, 1]: the merchant's deficit, from fair_ledger_owed(); 0 = not owed */
};

struct fair_params {
    double p;          /* tier 1: minimum protected proportion, in [0, 1) */
    double alpha;      /* tier 1: significance of the binomial test, in (0, 1) */
    double max_boost;  /* cap of candidate.boost, >= 1 */
    size_t top;        /* ranks 1..top are tier 1; the ranks after it tier 2 */
    double slots;      /* tier 2: share of its ranks reserved for owed merchants, in [0, 1] */
    double owed_share; /* owed: running exposure < owed_share x mean, >= 0 */
    size_t depth;      /* candidates to ask for, at least (fair_depth) */
};

/* p 0.6, alpha 0.1, max_boost 1.5, top 10, slots 1, owed_share 1.5, depth 200
 * (fair.c says why). Fields left zero in other initialisers mean top 0 and
 * slots 0: plain FA*IR over the whole list. */
extern const struct fair_params fair_default_params;

struct fair_group_rule {
    double small_share; /* small: merchant's products < small_share * catalogue */
    int64_t new_ms;     /* new: created less than new_ms ago */
};
/* 0.5% of the catalogue, 30 days. */
extern const struct fair_group_rule fair_default_rule;

/* The group bits of a merchant with `products` of the `catalog` products,
 * created at created_ms (0 = unknown, never new). */
uint8_t fair_group_of(const struct fair_group_rule *rule, uint64_t products, uint64_t catalog,
                      int64_t created_ms, int64_t now_ms);

/* How many candidates to ask for to show a list of k: max(params->depth,
 * 3k). The discovery tier can only show owed merchants whose items are
 * among the candidates. */
size_t fair_depth(const struct fair_params *params, size_t k);

/*
 * The precomputed prefix table: m[k] for k = 0..n is the minimum number of
 * protected items in the first k. m[0] = 0 and m is non-decreasing with
 * m[k+1] - m[k] in {0, 1}.
 */
struct fair_table {
    struct fair_params params;
    size_t n;
    uint16_t *m; /* n + 1 entries, owned */
};

/* Builds the table for prefixes up to n (<= 1024). Returns 0, or -1 on bad
 * parameters (errno EINVAL). */
int fair_table_init(struct fair_table *t, const struct fair_params *params, size_t n);
void fair_table_release(struct fair_table *t);

/*
 * Re-ranks `in` (n candidates in any order) into `out` (room for k) and
 * returns the number written, min(n, k). score = relevance * clamp(boost, 1,
 * max_boost), ties kept in input order. At position pos:
 *   - tier 2 (pos > top, slots > 0): if fewer than floor((pos - top) * slots)
 *     owed items (owed > 0) are at ranks top+1..pos-1, take the candidate
 *     with the highest score * owed among owed merchants not yet in out;
 *   - otherwise (and when no such candidate is left) FA*IR's merge: if the
 *     protected count is below m[pos] the best protected candidate, else the
 *     better of the two queue heads.
 * If protected candidates run out when the merge needs one, the rest is
 * filled from the others and *short_of (if not NULL) is set to 1: the caller
 * should fetch a deeper candidate list. Positions beyond t->n are
 * constrained by m[t->n]. `in` and `out` must not overlap. Allocates nothing
 * for n <= 512.
 */
size_t fair_rerank(const struct fair_table *t, const struct fair_candidate *in, size_t n, size_t k,
                   struct fair_candidate *out, int *short_of);

/* Position weight of a 1-based rank: 1 / log2(1 + rank). */
double fair_position_weight(size_t rank);

/*
 * Gini coefficient of x[0..n) (values >= 0): 0 when all are equal, (n-1)/n
 * when one holds everything, 0 for n == 0 or an all-zero x. Sorts x in place.
 */
double fair_gini(double *x, size_t n);

/* ---- ledger ---- */

struct fair_ledger;

/* bucket_ms: bucket width (0 = 1 hour); nbuckets: how many are kept (0 = 90
 * days' worth); half_life_ms: of the running totals (0 = 7 days). Aborts on
 * out-of-memory. */
struct fair_ledger *fair_ledger_new(int64_t bucket_ms, size_t nbuckets, int64_t half_life_ms);
void fair_ledger_free(struct fair_ledger *l);

/* Registers a merchant (or updates its group) so it counts in the Gini and
 * in the mean of the owed test even with zero exposure, and so the report
 * can say which share went to protected merchants. */
void fair_ledger_set_merchant(struct fair_ledger *l, int64_t merchant, uint8_t group);

/* Accounts one shown list: ranking[i] is at rank i + 1. Adds to the
 * running totals and, unless older than the oldest kept bucket, to the
 * bucket of now_ms. A merchant not registered yet is registered with the
 * candidate's group (and the group of a registered one is updated). */
void fair_record(struct fair_ledger *l, enum fair_kind kind, const struct fair_candidate *ranking,
                 size_t n, int64_t now_ms);

/*
 * Sets c[i].owed for n candidates from the running totals at now_ms: with
 * E the merchant's running exposure and T = owed_share x (overall running
 * exposure / registered merchants), owed = 1 - E / T when E < T, else 0.
 * A merchant the ledger does not know has E = 0. Nobody is owed before any
 * exposure was recorded. One lock, one lookup per candidate.
 */
void fair_ledger_owed(struct fair_ledger *l, double owed_share, struct fair_candidate *c, size_t n,
                      int64_t now_ms);

/* The running exposure of `merchant` at now_ms (0 if unknown) and, if mean
 * is not NULL, the mean over registered merchants. */
double fair_ledger_running(struct fair_ledger *l, int64_t merchant, int64_t now_ms, double *mean);

/*
 * The whole step, as the server runs it: fair_ledger_owed(t->params.owed_share)
 * on `in` (written), fair_rerank into out, fair_record of what is shown.
 * Returns the number shown.
 */
size_t fair_rank(const struct fair_table *t, struct fair_ledger *l, enum fair_kind kind,
                 struct fair_candidate *in, size_t n, size_t k, struct fair_candidate *out,
                 int64_t now_ms);

struct fair_merchant_exposure {
    int64_t merchant;
    uint8_t group;
    uint64_t impressions[FAIR_KIND_COUNT];
    double exposure[FAIR_KIND_COUNT];
    uint64_t total_impressions;
    double total_exposure;
};

struct fair_report {
    int64_t from_ms, to_ms;                   /* as rounded to buckets: [from_ms, to_ms) */
    struct fair_merchant_exposure *merchants; /* by total_exposure desc, owned */
    size_t nmerchants;                        /* every registered merchant */
    uint64_t impressions[FAIR_KIND_COUNT];
    double exposure[FAIR_KIND_COUNT];
    double gini;                          /* of total_exposure over nmerchants */
    double gini_by_kind[FAIR_KIND_COUNT]; /* same, one kind */
    double protected_share;               /* share of total exposure to protected */
};

/*
 * Fills `out` with the exposure of buckets whose start lies in
 * [floor(from_ms), to_ms) at bucket granularity (to_ms <= from_ms: empty
 * range). Returns 0. Free with fair_report_release().
 */
int fair_report(struct fair_ledger *l, int64_t from_ms, int64_t to_ms, struct fair_report *out);
void fair_report_release(struct fair_report *r);

#endif
