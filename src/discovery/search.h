/*
 * search — the in-memory product search index (no HTTP in here).
 *
 * What it answers: full-text queries over title, attributes and description
 * (Chinese and English, see text.h), with filters (category including its
 * sub-categories, merchant kinds, price range, currency), four sort orders,
 * keyset pagination, facets (category, merchant kind, price buckets), BM25F
 * scores and an HTML-safe highlighted title.
 *
 * Matching:
 * - Every query term must match (AND). A CJK query run becomes its bigrams,
 *   each of which must match, so 双肩包 finds 北京奥运会双肩包.
 * - English terms match by stem (running ≈ runs ≈ run).
 * - Search-as-you-type: the last term also matches as a prefix of indexed
 *   words (the SEARCH_PREFIX_EXPANSIONS most frequent completions), unless
 *   the query ends with a space. A single CJK character always does.
 * - Typos: a word of 5+ characters also matches words within 1 edit
 *   (insert, delete, substitute or swap two neighbours), 9+ characters within
 *   2 edits. Numbers and CJK never match with typos.
 * - Score: BM25F (k1 1.2) over title (weight 3, b 0.5), attributes (1.5,
 *   0.5) and description (1, 0.75); per query term the best of its
 *   alternatives counts, prefix completions at 0.8, 1-edit words at 0.5,
 *   2-edit words at 0.3 of their score, so exact matches rank first.
 * - Typo alternatives are only looked for when a word (or, for the last
 *   word, its completions) matches fewer than SEARCH_TYPO_BELOW documents:
 *   a word the catalog knows is taken as meant.
 * - A query that has text but no word in it (only emoji or punctuation)
 *   matches nothing; an empty (or all-space) q lists by the sort order.
 *
 * Work per query is bounded (like Algolia's non-exhaustive counts): when
 * the rarest query term (or the category filter) has more than ~8k
 * documents in a segment, facets are counted on a uniform sample of them
 * and scaled (facets_exact = false); above ~32k, so is the total
 * (total_exact = false). The hits stay exact for one-word queries (impact
 * tiers), for every non-relevance sort and for browsing without q; only a
 * relevance query whose every word is in more than ~32k documents is ranked
 * on that sample (ranking_exact = false). SEARCH_EXACT turns the bounds off.
 *
 * Structure, threads, freshness (the details are in search_int.h):
 * - Readers use an immutable snapshot: a base segment, a delta segment with
 *   every document written since the base was built, and a bitmap of the
 *   base documents replaced or removed since. A query takes a reference to
 *   the current snapshot under a mutex held for a few instructions: readers
 *   never wait for writers, merges or loads.
 * - Writes (upsert, remove) may come from any thread. Each holds a mutex for
 *   a hash-map update (microseconds) and never waits for index building.
 *   They become searchable at the next publish: the index's own thread runs
 *   one every refresh_ms (default 100 ms) if something changed, or
 *   search_index_refresh does it at once. A publish rebuilds the delta
 *   (about 10 ms per 1,000 changed documents).
 * - When the delta (plus removed documents) reaches merge_docs (default
 *   max(2048, 2% of the base)), a background thread merges it into a new
 *   base (about 2 s at 1M documents, while memory holds both bases);
 *   queries and publishes carry on meanwhile.
 * - Only active documents are indexed: upserting one with active = false
 *   removes it.
 * - Pages: next_cursor is a keyset position (sort key, id), so pages neither
 *   repeat nor skip items while the index does not change. A relevance
 *   cursor carries a score: after changes, items whose score moved may
 *   appear on two pages or none.
 */
#ifndef SOUK_DISCOVERY_SEARCH_H
#define SOUK_DISCOVERY_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEARCH_KINDS             16   /* merchant_kind is 0..15 */
#define SEARCH_MAX_LIMIT         100  /* hits per page */
#define SEARCH_MAX_OFFSET        1000 /* use the cursor beyond this */
#define SEARCH_MAX_QUERY         1024 /* bytes of q read; the rest is ignored */
#define SEARCH_MAX_TERMS         16   /* query terms (AND) kept */
#define SEARCH_PREFIX_EXPANSIONS 4    /* completions of the last term, most frequent first */
#define SEARCH_MAX_PRICE_BOUNDS  15   /* price facet: up to 16 buckets */
#define SEARCH_MAX_PATH          8    /* category ancestors kept per document */
#define SEARCH_CURSOR_MAX        64   /* bytes of a cursor string, NUL included */
#define SEARCH_TYPO_BELOW        5    /* see "Typo alternatives" above */
#define SEARCH_FACET_CATEGORIES  50   /* default max_categories */

/* The merchant kinds of API.md, in that order (values for merchant_kind). */
enum search_merchant_kind {
    SEARCH_KIND_BRAND,
    SEARCH_KIND_SME,
    SEARCH_KIND_FACTORY,
    SEARCH_KIND_EXPORTER,
    SEARCH_KIND_RURAL,
    SEARCH_KIND_CROSSBORDER,
    SEARCH_KIND_INDIVIDUAL,
};
/* "brand" → SEARCH_KIND_BRAND ...; -1 if unknown. */
int search_merchant_kind_parse(const char *name);
/* The API name of a kind, or NULL. */
const char *search_merchant_kind_name(int kind);

/*
 * A product as the index sees it. The index copies what it keeps; the caller
 * keeps ownership of the strings. NULL strings are empty.
 */
struct search_doc {
    int64_t id;
    const char *title;       /* UTF-8 */
    const char *attributes;  /* UTF-8, e.g. "color: black; size: 42" */
    const char *description; /* UTF-8; the first 64 KB are indexed */
    int64_t category_id;
    /* Ancestors of category_id, root first, category_id itself not included
     * (at most SEARCH_MAX_PATH - 1 are kept). A filter on any of them, or on
     * category_id, matches the product. */
    const int64_t *category_ancestors; /* the parents of category_id, not itself */
    uint32_t n_category_ancestors;
    int64_t merchant_id;
    uint8_t merchant_kind; /* < SEARCH_KINDS */
    int64_t price;         /* minor units */
    char currency[4];      /* ISO 4217, NUL-terminated */
    int64_t created_at;    /* any increasing clock; used by sort=newest */
    bool active;
};

enum search_sort {
    SEARCH_SORT_RELEVANCE, /* score, then id; without q it is SEARCH_SORT_NEWEST */
    SEARCH_SORT_PRICE_ASC,
    SEARCH_SORT_PRICE_DESC,
    SEARCH_SORT_NEWEST, /* created_at descending, then id descending */
};
/* "relevance", "price_asc", "price_desc", "newest" → the enum; -1 if unknown. */
int search_sort_parse(const char *name);

enum {
    SEARCH_NO_TYPO = 1,      /* exact terms (and prefixes) only */
    SEARCH_NO_PREFIX = 2,    /* the last term is a whole word even without a trailing space */
    SEARCH_NO_FACETS = 4,    /* skip facet counting */
    SEARCH_NO_HIGHLIGHT = 8, /* hits carry no highlight */
    SEARCH_EXACT = 16,       /* count and rank every match, however many */
};

/* A query; a zeroed struct (plus q) is a valid query: no filters, relevance, 20 hits. */
struct search_query {
    const char *q;           /* UTF-8, NUL-terminated, may be NULL */
    int64_t category_id;     /* 0: any; else this category or any below it */
    uint32_t merchant_kinds; /* 0: any; else bit k set = merchant_kind k allowed */
    bool has_price_min, has_price_max;
    int64_t price_min, price_max; /* inclusive, minor units */
    const char *currency;         /* NULL: any */
    enum search_sort sort;
    uint32_t limit;     /* 0 → 20; capped at SEARCH_MAX_LIMIT */
    uint32_t offset;    /* hits to skip after the cursor; ≤ SEARCH_MAX_OFFSET */
    const char *cursor; /* next_cursor of the previous page, or NULL */
    /* Price facet bucket bounds, ascending (bucket i is [bound[i-1], bound[i]));
     * NULL → 0, 1000, 5000, 10000, 50000, 100000, 500000 minor units. */
    const int64_t *price_bounds;
    uint32_t n_price_bounds;
    uint32_t max_categories; /* category facet entries returned; 0 → SEARCH_FACET_CATEGORIES */
    unsigned flags;          /* SEARCH_NO_*, SEARCH_EXACT */
};

struct search_hit {
    int64_t id;
    double score; /* BM25F; 0 without q */
    const char *title;
    char *highlight; /* title, HTML-escaped, matches in <em></em>; NULL with SEARCH_NO_HIGHLIGHT */
    int64_t category_id;
    int64_t merchant_id;
    uint8_t merchant_kind;
    int64_t price;
    char currency[4];
    int64_t created_at;
};

struct search_facet {
    int64_t value; /* category id or merchant kind */
    uint32_t count;
};

struct search_price_bucket {
    int64_t min; /* INT64_MIN: open */
    int64_t max; /* exclusive; INT64_MAX: open */
    uint32_t count;
};

/*
 * Query answer. Everything in it (strings included) is owned by it until
 * search_result_release. Facets count all matches (not only this page):
 * categories count a product once for its category and once for every
 * ancestor, largest first (at most max_categories of them); kinds and
 * buckets with zero matches are omitted from kinds and kept in prices.
 */
struct search_result {
    struct search_hit *hits;
    uint32_t n_hits;
    uint64_t total;                      /* all matches, ignoring cursor and offset */
    bool total_exact;                    /* false: total is an estimate (see "Work per query") */
    bool facets_exact;                   /* false: facet counts are estimates */
    bool ranking_exact;                  /* false: hits are the best of a uniform sample */
    char next_cursor[SEARCH_CURSOR_MAX]; /* "" when this is the last page */
    struct search_facet *categories;
    uint32_t n_categories;
    struct search_facet kinds[SEARCH_KINDS];
    uint32_t n_kinds;
    struct search_price_bucket prices[SEARCH_MAX_PRICE_BOUNDS + 1];
    uint32_t n_prices;
    /* private */
    void *mem;
};

struct search_options {
    unsigned refresh_ms; /* 0 → 100; the index's thread publishes changes this often */
    bool manual_refresh; /* no thread: the caller calls search_index_refresh */
    uint32_t merge_docs; /* 0 → max(2048, base/50): delta size that triggers a merge */
};

struct search_stats {
    uint64_t docs; /* searchable documents */
    uint64_t base_docs, delta_docs, base_dead;
    uint64_t terms, postings; /* in the base */
    uint64_t bytes;           /* approximate memory of the current snapshot */
    uint64_t merges, publishes;
};

enum search_error {
    SEARCH_OK = 0,
    SEARCH_EINVAL = -1, /* a bad argument: cursor, sort, merchant kind(s), price bounds */
    SEARCH_EBUSY = -2,  /* a load or compaction while a load runs */
};

struct search_index;

/* opt may be NULL. Returns NULL if ICU/the stemmer cannot be loaded. */
struct search_index *search_index_new(const struct search_options *opt);
/* Stops the index's threads and frees everything; no query may be running. */
void search_index_free(struct search_index *idx);

/* Adds or replaces a document (by id); inactive documents are removed. */
int search_index_upsert(struct search_index *idx, const struct search_doc *doc);
/* Removes a document; removing an unknown id is not an error. */
int search_index_remove(struct search_index *idx, int64_t id);
/* Makes every write made before the call searchable now. */
int search_index_refresh(struct search_index *idx);
/* Merges the delta into the base now (waits for a running merge first). */
int search_index_compact(struct search_index *idx);

/*
 * Bulk build from storage (at start, or to rebuild): calls next(ctx, &doc)
 * until it returns false; doc's strings need to stay valid only until the
 * next call. Analysis runs on nthreads threads (0 → 2). The loaded documents
 * replace the base when this returns; writes made before or during the load
 * win over loaded documents with the same id. Inactive documents are
 * skipped. SEARCH_EBUSY if another load is running.
 */
typedef bool (*search_doc_next_fn)(void *ctx, struct search_doc *doc);
int search_index_load(struct search_index *idx, search_doc_next_fn next, void *ctx,
                      unsigned nthreads);

/*
 * Runs a query; thread-safe, any number at once. On success fills res (which
 * the caller must search_result_release) and returns SEARCH_OK; on
 * SEARCH_EINVAL res is empty (releasing it is harmless). Cost: see "Work per
 * query"; about 0.15 ms of CPU on average at 1M products (bench/).
 */
int search_index_query(struct search_index *idx, const struct search_query *q,
                       struct search_result *res);
void search_result_release(struct search_result *res);

void search_index_stats(struct search_index *idx, struct search_stats *st);

#endif
