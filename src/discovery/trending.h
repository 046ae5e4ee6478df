/*
 * trending — which products and search queries are far above their usual
 * rate right now (GET /api/v1/trending, and the feed's cold-start fallback).
 *
 * Per key (a product id, or a normalised query string) it keeps event counts
 * in 60 one-minute buckets (the last hour) and a slow baseline: an
 * exponentially weighted average of the per-minute count of the minutes that
 * have left the hour window, with a time constant of baseline_tau_min
 * (default one day). The baseline is the usual rate *before* the last hour,
 * so a burst does not raise its own yardstick. Minutes before a key was first
 * seen count as zero events once less than an hour of history has been
 * folded in, so a brand-new product that gets a burst of attention trends.
 *
 *   usual = 60 * S / max(W, 60)      (S, W: decayed sums of counts and minutes)
 *   score = (last_hour + prior) / (usual + prior)
 *
 * A key is trending when last_hour >= min_count and score >= min_score. The
 * prior (events per hour) keeps rare keys from trending on a handful of
 * events, min_count keeps a single event from ever being trending. The
 * current minute counts at once: a burst is visible to the next
 * trending_top() call, well within a minute.
 *
 * Time is the caller's (ms since the epoch), so tests and replays drive it.
 * Events older than the hour window (relative to the key's newest event) are
 * dropped; a clock going backwards is treated as standing still.
 *
 * Memory is bounded: at most max_keys keys per kind. A new key in a full
 * table evicts the coldest of 8 sampled keys (lowest last_hour + usual,
 * then oldest). A key costs ~200 bytes (+ the query string).
 *
 * Thread safety: all functions may be called from any thread; the tables are
 * split in 16 shards with a mutex each, trending_add() locks one.
 */
#ifndef SOUK_DISCOVERY_TRENDING_H
#define SOUK_DISCOVERY_TRENDING_H

#include <stddef.h>
#include <stdint.h>

enum trending_kind { TRENDING_PRODUCT, TRENDING_QUERY, TRENDING_KIND_COUNT };

/* Longest normalised query kept, in bytes (longer ones are cut at a UTF-8
 * character boundary). */
#define TRENDING_QUERY_MAX 96

struct trending_config {
    size_t max_keys;         /* per kind; default 32768 */
    double prior;            /* events per hour on both sides; default 5 */
    uint32_t min_count;      /* events in the last hour; default 10 */
    double min_score;        /* default 3 */
    double baseline_tau_min; /* minutes; default 1440 */
};

/* Zero fields of a config take these defaults. */
extern const struct trending_config trending_default_config;

struct trending_item {
    int64_t product;                    /* TRENDING_PRODUCT */
    char query[TRENDING_QUERY_MAX + 1]; /* TRENDING_QUERY, normalised, NUL-terminated */
    double score;
    uint32_t last_hour; /* events in the 60 minutes up to now */
    double usual_hour;  /* baseline events per hour */
};

struct trending;

/* cfg may be NULL (defaults). Aborts on out-of-memory. */
struct trending *trending_new(const struct trending_config *cfg);
void trending_free(struct trending *t);

/* Counts n events (n >= 1; a purchase may count more than a view) for a
 * product id > 0 at now_ms. */
void trending_add_product(struct trending *t, int64_t product, uint32_t n, int64_t now_ms);

/* Counts one search for q[0..len): trimmed, runs of white space made one
 * space, ASCII letters lower-cased (the caller may pass text already folded
 * by the search module's normaliser). Empty queries are ignored. */
void trending_add_query(struct trending *t, const char *q, size_t len, int64_t now_ms);

/* Writes the normalised form of q into out (TRENDING_QUERY_MAX + 1 bytes)
 * and returns its length. */
size_t trending_normalize(const char *q, size_t len, char *out);

/*
 * The up to k trending keys of `kind` at now_ms, best score first (ties: more
 * events, then smaller key), into out[0..k). Returns how many. Scans the
 * kind's keys (those under min_count cost one comparison each).
 */
size_t trending_top(struct trending *t, enum trending_kind kind, int64_t now_ms, size_t k,
                    struct trending_item *out);

/* Number of keys held for a kind (for tests and metrics). */
size_t trending_size(struct trending *t, enum trending_kind kind);

#endif
