/*
 * search_int.h — the insides of the search index, shared by search.c (the
 * index: snapshots, writer, queries) and search_seg.c (segments).
 *
 * A segment is an immutable inverted index over a set of documents:
 *
 *   documents   numbered 0..ndocs-1, stored column by column; what every
 *               match reads (facet data) packed in 8 bytes (search_dochot)
 *   terms       sorted strings; term t's postings are post[post_off[t] ..
 *               post_off[t+1]), ascending by document, one per document with
 *               its precomputed BM25F part and per-field term frequencies
 *   surfaces    sorted unstemmed word forms, each naming its term ("running"
 *               → "run"); prefix and typo search run over these
 *   rmq         a max segment tree over the surfaces' document frequencies,
 *               to pick the most frequent completions of a prefix quickly
 *   term_hash   open addressing, term string → term number
 *   dense       bitmaps with rank of the terms in >= 1/16 of the documents
 *   tiers       the best SEARCH_TIER postings of the longest terms, by score
 *   cat_post    documents per category (ancestors included), as postings
 *   by_price, by_new   document orders for the non-relevance sorts
 *   all_*       facet counts over all documents (browsing without q)
 *
 * Segments are built from documents (search_segb, one per thread) or by
 * merging segments (search_seg_merge: documents are concatenated in input
 * order minus the dead ones, so each term's postings stay sorted without a
 * per-term sort). Only query-ready segments (the base and the delta, not the
 * chunks of a bulk load) get the lookup structures. Once built nothing in a
 * segment changes; it is shared between snapshots by reference count.
 *
 * At 1M generated products (bench/): 38.5M postings, 430 MB in all.
 */
#ifndef SOUK_DISCOVERY_SEARCH_INT_H
#define SOUK_DISCOVERY_SEARCH_INT_H

#include "discovery/search.h"
#include "discovery/text.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_FIELDS 3 /* title, attributes, description */
#define SEARCH_NONE   UINT32_MAX

/* The first index i in [0, n) whose `key` (an expression in i) is not below
 * k, or n: the lower bound of a sorted array, for the lookups by term, id or
 * category that every segment does the same way. */
#define SEARCH_LOWER_BOUND(i, n, key, k)                                                           \
    __extension__({                                                                                \
        size_t lo_ = 0, hi_ = (n);                                                                 \
        while (lo_ < hi_) {                                                                        \
            size_t i = (lo_ + hi_) / 2;                                                            \
            if ((key) < (k))                                                                       \
                lo_ = i + 1;                                                                       \
            else                                                                                   \
                hi_ = i;                                                                           \
        }                                                                                          \
        lo_;                                                                                       \
    })
#define SEARCH_DESC_BYTES  (64 * 1024)
#define SEARCH_ATTR_BYTES  (16 * 1024)
#define SEARCH_TITLE_BYTES 4096

/* BM25F parameters (see search.h). */
#define SEARCH_K1 1.2f
extern const float search_field_weight[SEARCH_FIELDS];
extern const float search_field_b[SEARCH_FIELDS];

/*
 * Work bounds, per segment and query. D is the number of postings of the
 * rarest query term (or of the category filter).
 * - D <= SEARCH_FACET_BUDGET: everything is exact.
 * - D <= SEARCH_RANK_BUDGET: total and hits are exact; facets are counted on
 *   a uniform sample of about SEARCH_FACET_BUDGET proposals (every 2^k-th
 *   block of 4096 documents) and scaled, because facets read per-document
 *   data (a cache miss each) while ranking reads postings only.
 * - larger: total and facets come from one sample of that size; hits stay exact
 *   where a cheap exact method exists: the impact tier of a single term
 *   (relevance), the price or date order (other sorts).
 * Tuned on bench/search_bench.c (1M products, 2 cores).
 */
#define SEARCH_FACET_BUDGET 8192
#define SEARCH_RANK_BUDGET  32768
#define SEARCH_SAMPLE_SHIFT 12
/* Impact tiers: terms with more postings than the rank budget keep their best
 * SEARCH_TIER postings (by BM25F term score, then id) in score order. */
#define SEARCH_TIER (SEARCH_MAX_OFFSET + SEARCH_MAX_LIMIT + 52)

extern const int64_t search_default_bounds[7];
#define SEARCH_DEFAULT_BOUNDS 7

static inline void *search_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort(); /* STYLE.md: the server aborts on OOM */
    return p;
}

static inline void *search_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) abort();
    return p;
}

static inline void *search_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

/*
 * Large arrays that queries read at random (postings, per-document data):
 * 2 MB aligned and marked for transparent huge pages, which cuts the TLB
 * misses of random reads (THP is "madvise" on the target machines). Freed
 * with free().
 */
void *search_bigalloc(size_t n, bool zero);

/* Grows *p (of *cap elements of size sz) to hold at least need elements. */
static inline void search_grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    *p = search_xrealloc(*p, c * sz);
    *cap = c;
}
#define SEARCH_GROW(arr, cap, need) search_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/*
 * One document of a term. part is the term's BM25F saturation tf/(k1 + tf)
 * for this document in this segment, times 65535: a query's score is
 * idf * (k1 + 1) * weight * part, so scoring never reads the document
 * (at 1M documents such reads were most of the query time). The raw term
 * frequencies stay for merges, which recompute part with new averages.
 */
struct search_posting {
    uint32_t doc;
    uint16_t part;
    uint8_t tf_ta; /* title tf (high nibble) and attributes tf (low nibble), each <= 15 */
    uint8_t tf_d;  /* description tf, <= 255 */
};

static inline unsigned search_tf(const struct search_posting *p, int field)
{
    return field == 0 ? p->tf_ta >> 4 : field == 1 ? p->tf_ta & 15u : p->tf_d;
}

struct search_idpos {
    int64_t id;
    uint32_t doc;
};

/*
 * What a query touches for every matching document (facets, filters), in 8
 * bytes so that more of it stays in cache; queries prefetch it in batches.
 * Field lengths (for norms) are one byte each, as Lucene's: exact up to 63
 * tokens, then in steps of 3.7% (search_len_code).
 */
struct search_dochot {
    uint32_t path; /* category path number */
    uint8_t kind, cur;
    uint8_t pbucket; /* price bucket for search_default_bounds */
    uint8_t pad;
};

/* Field length ↔ its one-byte code. */
uint8_t search_len_code(uint32_t len);
uint32_t search_len_decode(uint8_t code);

/*
 * Terms in more than 1/16 of a segment's documents also get a bitmap with a
 * rank directory: "does document d have the term, and which posting is it"
 * in O(1), instead of galloping through a long list for every candidate of
 * a rarer term (that gallop was half the time of two-word queries).
 */
struct search_dense {
    uint32_t term;
    uint64_t *bits; /* (ndocs + 63) / 64 words */
    uint32_t *rank; /* postings before each word */
};

#define SEARCH_DENSE_MIN_DOCS 4096 /* no bitmaps for small segments */

struct search_tier {
    uint32_t term;
    uint32_t len;
    uint64_t off; /* into tier_post */
};

/*
 * An interning table of byte strings: each distinct string gets the next
 * number; blob holds them NUL-terminated, off[i]..off[i+1]-1 is string i.
 */
struct search_strtab {
    char *blob;
    size_t blob_len, blob_cap;
    uint32_t *off; /* n + 1 */
    size_t n, off_cap;
    uint32_t *slot; /* string number + 1, 0 = empty */
    uint32_t mask;
};

void search_strtab_init(struct search_strtab *t);
void search_strtab_release(struct search_strtab *t);
/* Returns the string's number, adding it if new (*added says which). */
uint32_t search_strtab_intern(struct search_strtab *t, const void *s, size_t len, int *added);
static inline const char *search_strtab_str(const struct search_strtab *t, uint32_t i, size_t *len)
{
    *len = t->off[i + 1] - t->off[i] - 1;
    return t->blob + t->off[i];
}

struct search_seg {
    atomic_int refs;
    uint32_t ndocs;
    /* documents */
    struct search_dochot *hot;
    int64_t *id, *price, *created, *merchant;
    /* weight_f / (1 - b_f + b_f * len / avglen_f) for each length code */
    float normtab[SEARCH_FIELDS][256];
    uint16_t *flen;      /* ndocs * 3: field lengths in tokens (for merges) */
    uint32_t *title_off; /* ndocs + 1, into titles (NUL-terminated) */
    char *titles;
    struct search_idpos *byid; /* sorted by id */
    uint64_t flen_sum[SEARCH_FIELDS];
    /* category paths: ids root first, the product's own category last */
    uint32_t npaths;
    uint32_t *path_off; /* npaths + 1 */
    int64_t *path_ids;
    uint32_t *path_cat; /* parallel to path_ids: index into cat_ids */
    uint32_t ncats;
    int64_t *cat_ids; /* sorted */
    /* query-ready only: documents per category (any level), as postings */
    uint64_t *cat_off; /* ncats + 1 */
    struct search_posting *cat_post;
    /* query-ready only: documents by price (asc, id asc), by created (desc, id desc) */
    uint32_t *by_price, *by_new;
    /* query-ready only: facet counts over all documents (dead ones included) */
    uint32_t *all_pathcnt;
    uint32_t all_kind[SEARCH_KINDS];
    uint32_t all_pbucket[SEARCH_DEFAULT_BOUNDS + 1];
    /* query-ready only: bitmaps of dense terms, sorted by term */
    struct search_dense *dense;
    uint32_t ndense;
    /* query-ready only: impact tiers, sorted by term */
    struct search_tier *tiers;
    uint32_t ntiers;
    struct search_posting *tier_post;
    /* currencies */
    uint32_t ncur;
    char (*curs)[4];
    /* terms */
    uint32_t nterms;
    uint32_t *term_off; /* nterms + 1 into term_blob */
    char *term_blob;
    uint64_t *post_off; /* nterms + 1 */
    struct search_posting *post;
    uint32_t *term_hash; /* term + 1, 0 = empty */
    uint32_t hash_mask;
    /* surfaces */
    uint32_t nsurf;
    uint32_t *surf_off; /* nsurf + 1 into surf_blob */
    char *surf_blob;
    uint32_t *surf_term;
    uint32_t *rmq; /* 2 * rmq_size: argmax surface by term df; leaves at rmq_size + i */
    uint32_t rmq_size;
    size_t bytes;
};

static inline const char *search_seg_term(const struct search_seg *s, uint32_t t, size_t *len)
{
    *len = s->term_off[t + 1] - s->term_off[t] - 1;
    return s->term_blob + s->term_off[t];
}

static inline uint64_t search_seg_df(const struct search_seg *s, uint32_t t)
{
    return s->post_off[t + 1] - s->post_off[t];
}

static inline const char *search_seg_surface(const struct search_seg *s, uint32_t i, size_t *len)
{
    *len = s->surf_off[i + 1] - s->surf_off[i] - 1;
    return s->surf_blob + s->surf_off[i];
}

/* Builds one segment from documents; not thread-safe (one per thread). */
struct search_segb;
struct search_segb *search_segb_new(struct text_analyzer *a);
void search_segb_add(struct search_segb *b, const struct search_doc *d);
uint32_t search_segb_ndocs(const struct search_segb *b);
/*
 * Turns what was added into a segment (refs = 1) and empties the builder.
 * query_ready = false skips the lookup structures (for merge inputs).
 */
struct search_seg *search_segb_finish(struct search_segb *b, bool query_ready);
void search_segb_free(struct search_segb *b);

/*
 * Merges segments in order into a new one (refs = 1). dead[i] (may be NULL) is
 * a bitmap of documents of in[i] to leave out.
 */
struct search_seg *search_seg_merge(struct search_seg *const *in, const uint64_t *const *dead,
                                    unsigned n, bool query_ready);

void search_seg_ref(struct search_seg *s);
void search_seg_unref(struct search_seg *s);

/* Term number of a term string, or SEARCH_NONE. */
uint32_t search_seg_find_term(const struct search_seg *s, const char *t, size_t len);
/* Document number of a product id, or SEARCH_NONE. */
uint32_t search_seg_find_id(const struct search_seg *s, int64_t id);
/* Surfaces starting with p: [*lo, *hi). */
void search_seg_prefix(const struct search_seg *s, const char *p, size_t len, uint32_t *lo,
                       uint32_t *hi);
/*
 * Up to max distinct terms of the surfaces [lo, hi), most frequent first;
 * returns how many were written to out.
 */
uint32_t search_seg_top_terms(const struct search_seg *s, uint32_t lo, uint32_t hi, uint32_t *out,
                              uint32_t max);

/*
 * Typo search: surfaces within k edits (Damerau, optimal string alignment)
 * of q (n code points, all below U+0800). Whole words: emit(ud, i, i+1, d)
 * for each surface i at distance d. With prefix: emit(ud, lo, hi, d) for
 * ranges of surfaces that start with something within d edits of q. At most
 * budget trie nodes are visited.
 */
typedef void (*search_fuzzy_emit)(void *ud, const struct search_seg *s, uint32_t lo, uint32_t hi,
                                  int dist);
void search_seg_fuzzy(const struct search_seg *s, const uint32_t *q, int n, int k, bool prefix,
                      unsigned budget, search_fuzzy_emit emit, void *ud);

/* The impact tier of a term, or NULL. */
const struct search_tier *search_seg_tier(const struct search_seg *s, uint32_t term);
/* The bitmap of a dense term, or NULL. */
const struct search_dense *search_seg_dense(const struct search_seg *s, uint32_t term);
/* Index of a category id in cat_ids, or SEARCH_NONE. */
uint32_t search_seg_find_cat(const struct search_seg *s, int64_t id);

static inline bool search_bit(const uint64_t *bm, uint32_t i)
{
    return bm && (bm[i >> 6] >> (i & 63)) & 1;
}

#endif
