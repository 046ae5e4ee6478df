/*
 * search_seg.c — immutable index segments: build from documents, merge,
 * lookups, prefix completion and typo search. See search_int.h.
 */
#include "discovery/search_int.h"

#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <xxhash.h>

const float search_field_weight[SEARCH_FIELDS] = {3.0f, 1.5f, 1.0f};
const float search_field_b[SEARCH_FIELDS] = {0.5f, 0.5f, 0.75f};
const int64_t search_default_bounds[SEARCH_DEFAULT_BOUNDS] = {0,     1000,   5000,  10000,
                                                              50000, 100000, 500000};

#define HUGE_PAGE (2u << 20)

void *search_bigalloc(size_t n, bool zero)
{
    if (n < 2 * HUGE_PAGE) return zero ? search_xcalloc(1, n) : search_xmalloc(n);
    size_t sz = (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, sz);
    if (!p) abort();
    madvise(p, sz, MADV_HUGEPAGE); /* a hint: failure only costs speed */
    if (zero) memset(p, 0, sz);
    return p;
}

/* ---- string interning ---------------------------------------------------- */

void search_strtab_init(struct search_strtab *t)
{
    memset(t, 0, sizeof(*t));
    t->mask = 1023;
    t->slot = search_xcalloc(t->mask + 1, sizeof(uint32_t));
    SEARCH_GROW(t->off, t->off_cap, 1);
    t->off[0] = 0;
}

void search_strtab_release(struct search_strtab *t)
{
    free(t->blob);
    free(t->off);
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

static uint64_t hash_str(const void *s, size_t len)
{
    return XXH3_64bits(s, len);
}

static void strtab_rehash(struct search_strtab *t)
{
    uint32_t mask = t->mask * 2 + 1;
    uint32_t *slot = search_xcalloc((size_t)mask + 1, sizeof(uint32_t));
    for (size_t i = 0; i < t->n; i++) {
        size_t len;
        const char *s = search_strtab_str(t, (uint32_t)i, &len);
        uint32_t h = (uint32_t)hash_str(s, len) & mask;
        while (slot[h])
            h = (h + 1) & mask;
        slot[h] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = mask;
}

uint32_t search_strtab_intern(struct search_strtab *t, const void *s, size_t len, int *added)
{
    uint32_t h = (uint32_t)hash_str(s, len) & t->mask;
    for (;;) {
        uint32_t v = t->slot[h];
        if (!v) break;
        size_t l;
        const char *x = search_strtab_str(t, v - 1, &l);
        if (l == len && memcmp(x, s, len) == 0) {
            if (added) *added = 0;
            return v - 1;
        }
        h = (h + 1) & t->mask;
    }
    uint32_t id = (uint32_t)t->n++;
    SEARCH_GROW(t->blob, t->blob_cap, t->blob_len + len + 1);
    memcpy(t->blob + t->blob_len, s, len);
    t->blob[t->blob_len + len] = 0;
    t->blob_len += len + 1;
    SEARCH_GROW(t->off, t->off_cap, t->n + 1);
    t->off[t->n] = (uint32_t)t->blob_len;
    t->slot[h] = id + 1;
    if (t->n * 2 > t->mask) strtab_rehash(t);
    if (added) *added = 1;
    return id;
}

/* ---- builder ------------------------------------------------------------- */

struct segb_tup {
    uint32_t term, doc;
    uint8_t tf[SEARCH_FIELDS];
    uint8_t pad;
};

struct search_segb {
    struct text_analyzer *a;
    struct text_tokens tok;
    struct search_strtab terms, surfs, paths, curs;
    uint32_t *surf_term; /* surface → builder term number */
    size_t surf_term_cap;
    uint32_t *last_doc, *last_tup; /* per term: last document seen, its tuple */
    size_t last_cap;
    struct segb_tup *tup;
    size_t ntup, tup_cap;
    uint32_t ndocs;
    size_t dcap;
    int64_t *id, *price, *created, *merchant;
    uint8_t *kind, *cur;
    uint32_t *path;
    uint16_t *flen;
    uint32_t *title_off;
    char *titles;
    size_t titles_len, titles_cap;
    uint64_t flen_sum[SEARCH_FIELDS];
};

static void segb_reset(struct search_segb *b)
{
    search_strtab_init(&b->terms);
    search_strtab_init(&b->surfs);
    search_strtab_init(&b->paths);
    search_strtab_init(&b->curs);
    b->ndocs = 0;
    b->ntup = 0;
    b->titles_len = 0;
    memset(b->flen_sum, 0, sizeof(b->flen_sum));
}

struct search_segb *search_segb_new(struct text_analyzer *a)
{
    struct search_segb *b = search_xcalloc(1, sizeof(*b));
    b->a = a;
    text_tokens_init(&b->tok);
    segb_reset(b);
    return b;
}

static void segb_free_docs(struct search_segb *b)
{
    free(b->id);
    free(b->price);
    free(b->created);
    free(b->merchant);
    free(b->kind);
    free(b->cur);
    free(b->path);
    free(b->flen);
    free(b->title_off);
    free(b->titles);
    b->id = b->price = b->created = b->merchant = NULL;
    b->kind = b->cur = NULL;
    b->path = b->title_off = NULL;
    b->flen = NULL;
    b->titles = NULL;
    b->dcap = b->titles_cap = 0;
}

void search_segb_free(struct search_segb *b)
{
    if (!b) return;
    search_strtab_release(&b->terms);
    search_strtab_release(&b->surfs);
    search_strtab_release(&b->paths);
    search_strtab_release(&b->curs);
    free(b->surf_term);
    free(b->last_doc);
    free(b->last_tup);
    free(b->tup);
    segb_free_docs(b);
    text_tokens_release(&b->tok);
    free(b);
}

uint32_t search_segb_ndocs(const struct search_segb *b)
{
    return b->ndocs;
}

static void segb_grow_docs(struct search_segb *b, size_t need)
{
    if (need <= b->dcap) return;
    size_t c = b->dcap ? b->dcap * 2 : 256;
    b->id = search_xrealloc(b->id, c * sizeof(int64_t));
    b->price = search_xrealloc(b->price, c * sizeof(int64_t));
    b->created = search_xrealloc(b->created, c * sizeof(int64_t));
    b->merchant = search_xrealloc(b->merchant, c * sizeof(int64_t));
    b->kind = search_xrealloc(b->kind, c);
    b->cur = search_xrealloc(b->cur, c);
    b->path = search_xrealloc(b->path, c * sizeof(uint32_t));
    b->flen = search_xrealloc(b->flen, c * SEARCH_FIELDS * sizeof(uint16_t));
    b->title_off = search_xrealloc(b->title_off, (c + 1) * sizeof(uint32_t));
    b->dcap = c;
}

static uint32_t path_intern(struct search_strtab *paths, const struct search_doc *d)
{
    int64_t p[SEARCH_MAX_PATH];
    uint32_t n = d->n_category_ancestors;
    if (n > SEARCH_MAX_PATH - 1) n = SEARCH_MAX_PATH - 1;
    for (uint32_t i = 0; i < n; i++)
        p[i] = d->category_ancestors[d->n_category_ancestors - n + i]; /* keep the nearest */
    p[n] = d->category_id;
    return search_strtab_intern(paths, p, (n + 1) * sizeof(int64_t), NULL);
}

void search_segb_add(struct search_segb *b, const struct search_doc *d)
{
    static const size_t cap[SEARCH_FIELDS] = {SEARCH_TITLE_BYTES, SEARCH_ATTR_BYTES,
                                              SEARCH_DESC_BYTES};
    const char *text[SEARCH_FIELDS] = {d->title, d->attributes, d->description};
    uint32_t doc = b->ndocs;

    segb_grow_docs(b, (size_t)doc + 1);
    for (int f = 0; f < SEARCH_FIELDS; f++) {
        const char *s = text[f] ? text[f] : "";
        size_t len = strlen(s);
        uint32_t n = text_analyze(b->a, s, len, cap[f], TEXT_MODE_INDEX, &b->tok);
        b->flen[(size_t)doc * SEARCH_FIELDS + f] = (uint16_t)(n > 65535 ? 65535 : n);
        b->flen_sum[f] += n;
        for (uint32_t i = 0; i < n; i++) {
            const struct text_token *k = &b->tok.v[i];
            int added;
            uint32_t t = search_strtab_intern(&b->terms, k->term, k->term_len, &added);
            if (added) {
                if (b->terms.n > b->last_cap) {
                    size_t c = b->last_cap;
                    SEARCH_GROW(b->last_doc, c, b->terms.n);
                    c = b->last_cap;
                    SEARCH_GROW(b->last_tup, c, b->terms.n);
                    b->last_cap = c;
                }
                b->last_doc[t] = SEARCH_NONE;
            }
            uint32_t sf = search_strtab_intern(&b->surfs, k->surface, k->surface_len, &added);
            if (added) {
                SEARCH_GROW(b->surf_term, b->surf_term_cap, b->surfs.n);
                b->surf_term[sf] = t;
            }
            if (b->last_doc[t] != doc) {
                SEARCH_GROW(b->tup, b->tup_cap, b->ntup + 1);
                b->last_doc[t] = doc;
                b->last_tup[t] = (uint32_t)b->ntup;
                struct segb_tup *u = &b->tup[b->ntup++];
                u->term = t;
                u->doc = doc;
                memset(u->tf, 0, sizeof(u->tf));
                u->pad = 0;
            }
            uint8_t *tf = &b->tup[b->last_tup[t]].tf[f];
            if (*tf < 255) (*tf)++;
        }
    }
    /* Title kept for hits and highlights, cut like the analyzer cuts it. */
    const char *title = d->title ? d->title : "";
    size_t tl = strlen(title);
    if (tl > SEARCH_TITLE_BYTES) {
        tl = SEARCH_TITLE_BYTES;
        while (tl > 0 && ((unsigned char)title[tl] & 0xC0) == 0x80)
            tl--;
    }
    SEARCH_GROW(b->titles, b->titles_cap, b->titles_len + tl + 1);
    b->title_off[doc] = (uint32_t)b->titles_len;
    memcpy(b->titles + b->titles_len, title, tl);
    b->titles[b->titles_len + tl] = 0;
    b->titles_len += tl + 1;
    b->title_off[doc + 1] = (uint32_t)b->titles_len;

    b->id[doc] = d->id;
    b->price[doc] = d->price;
    b->created[doc] = d->created_at;
    b->merchant[doc] = d->merchant_id;
    b->kind[doc] = d->merchant_kind < SEARCH_KINDS ? d->merchant_kind : SEARCH_KINDS - 1;
    b->path[doc] = path_intern(&b->paths, d);
    uint32_t c = search_strtab_intern(&b->curs, d->currency, strnlen(d->currency, 3), NULL);
    b->cur[doc] = (uint8_t)(c > 255 ? 255 : c);
    b->ndocs++;
}

/* ---- finishing a segment ----------------------------------------------- */

static int cmp_str_idx(const void *x, const void *y, void *ctx)
{
    const struct search_strtab *t = ctx;
    return strcmp(t->blob + t->off[*(const uint32_t *)x], t->blob + t->off[*(const uint32_t *)y]);
}

static int cmp_idpos(const void *x, const void *y)
{
    const struct search_idpos *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

/* Length codes: 0..63 exact, then 192 geometric steps up to 65535. */
static uint32_t len_bound[256];
static pthread_once_t len_once = PTHREAD_ONCE_INIT;

static void len_init(void)
{
    for (int c = 0; c < 64; c++)
        len_bound[c] = (uint32_t)c;
    double x = 64, r = pow(65535.0 / 64.0, 1.0 / 191.0);
    for (int c = 64; c < 256; c++, x *= r) {
        uint32_t v = (uint32_t)(x + 0.5);
        len_bound[c] = v > len_bound[c - 1] ? v : len_bound[c - 1] + 1;
    }
}

uint8_t search_len_code(uint32_t len)
{
    pthread_once(&len_once, len_init);
    uint32_t lo = 0, hi = 255;
    while (lo < hi) { /* the last code whose bound is <= len */
        uint32_t mid = (lo + hi + 1) / 2;
        if (len_bound[mid] <= len)
            lo = mid;
        else
            hi = mid - 1;
    }
    return (uint8_t)lo;
}

uint32_t search_len_decode(uint8_t code)
{
    pthread_once(&len_once, len_init);
    return len_bound[code];
}

static void seg_norms(struct search_seg *s)
{
    float avg[SEARCH_FIELDS];
    for (int f = 0; f < SEARCH_FIELDS; f++) {
        avg[f] = s->ndocs ? (float)s->flen_sum[f] / (float)s->ndocs : 1.0f;
        if (avg[f] < 1.0f) avg[f] = 1.0f;
    }
    for (int f = 0; f < SEARCH_FIELDS; f++)
        for (int q = 0; q < 256; q++) {
            float len = (float)search_len_decode((uint8_t)q);
            s->normtab[f][q] = search_field_weight[f] /
                               (1.0f - search_field_b[f] + search_field_b[f] * len / avg[f]);
        }
}

static void seg_byid(struct search_seg *s)
{
    s->byid = search_xmalloc((size_t)s->ndocs * sizeof(*s->byid) + 1);
    for (uint32_t d = 0; d < s->ndocs; d++) {
        s->byid[d].id = s->id[d];
        s->byid[d].doc = d;
    }
    qsort(s->byid, s->ndocs, sizeof(*s->byid), cmp_idpos);
}

static uint32_t rmq_better(const struct search_seg *s, uint32_t a, uint32_t b)
{
    if (a == SEARCH_NONE) return b;
    if (b == SEARCH_NONE) return a;
    return search_seg_df(s, s->surf_term[b]) > search_seg_df(s, s->surf_term[a]) ? b : a;
}

static void seg_query_ready(struct search_seg *s)
{
    uint32_t cap = 16;
    while (cap < (uint64_t)s->nterms * 2)
        cap *= 2;
    s->hash_mask = cap - 1;
    s->term_hash = search_xcalloc(cap, sizeof(uint32_t));
    for (uint32_t t = 0; t < s->nterms; t++) {
        size_t len;
        const char *x = search_seg_term(s, t, &len);
        uint32_t h = (uint32_t)hash_str(x, len) & s->hash_mask;
        while (s->term_hash[h])
            h = (h + 1) & s->hash_mask;
        s->term_hash[h] = t + 1;
    }
    uint32_t p = 1;
    while (p < s->nsurf)
        p *= 2;
    s->rmq_size = p;
    s->rmq = search_xmalloc((size_t)2 * p * sizeof(uint32_t));
    for (uint32_t i = 0; i < p; i++)
        s->rmq[p + i] = i < s->nsurf ? i : SEARCH_NONE;
    for (uint32_t v = p - 1; v >= 1; v--)
        s->rmq[v] = rmq_better(s, s->rmq[2 * v], s->rmq[2 * v + 1]);
    s->rmq[0] = SEARCH_NONE;
}

static void seg_account(struct search_seg *s);

static int cmp_by_price(const void *x, const void *y, void *ctx)
{
    const struct search_seg *s = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    if (s->price[a] != s->price[b]) return s->price[a] < s->price[b] ? -1 : 1;
    return (s->id[a] > s->id[b]) - (s->id[a] < s->id[b]);
}

static int cmp_by_new(const void *x, const void *y, void *ctx)
{
    const struct search_seg *s = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    if (s->created[a] != s->created[b]) return s->created[a] > s->created[b] ? -1 : 1;
    return (s->id[a] < s->id[b]) - (s->id[a] > s->id[b]);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

uint32_t search_seg_find_cat(const struct search_seg *s, int64_t id)
{
    size_t lo = SEARCH_LOWER_BOUND(i, s->ncats, s->cat_ids[i], id);
    return lo < s->ncats && s->cat_ids[lo] == id ? (uint32_t)lo : SEARCH_NONE;
}

const struct search_dense *search_seg_dense(const struct search_seg *s, uint32_t term)
{
    size_t lo = SEARCH_LOWER_BOUND(i, s->ndense, s->dense[i].term, term);
    return lo < s->ndense && s->dense[lo].term == term ? &s->dense[lo] : NULL;
}

const struct search_tier *search_seg_tier(const struct search_seg *s, uint32_t term)
{
    size_t lo = SEARCH_LOWER_BOUND(i, s->ntiers, s->tiers[i].term, term);
    return lo < s->ntiers && s->tiers[lo].term == term ? &s->tiers[lo] : NULL;
}

struct tier_ent {
    uint32_t part;
    int64_t id;
    struct search_posting p;
};

/* Tier order: higher score part first, then smaller id (the result order). */
static bool tier_before(const struct tier_ent *a, const struct tier_ent *b)
{
    return a->part > b->part || (a->part == b->part && a->id < b->id);
}

static int cmp_tier(const void *x, const void *y)
{
    const struct tier_ent *a = x, *b = y;
    return tier_before(a, b) ? -1 : tier_before(b, a) ? 1 : 0;
}

/* The best SEARCH_TIER postings of a term: a heap whose root is the worst kept. */
static void tier_build(const struct search_seg *s, uint32_t t, struct tier_ent *h,
                       struct search_posting *out)
{
    uint32_t n = 0;
    for (uint64_t i = s->post_off[t]; i < s->post_off[t + 1]; i++) {
        struct tier_ent e = {s->post[i].part, s->id[s->post[i].doc], s->post[i]};
        if (n < SEARCH_TIER) {
            uint32_t j = n++;
            while (j > 0 && tier_before(&h[(j - 1) / 2], &e)) {
                h[j] = h[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            h[j] = e;
            continue;
        }
        if (!tier_before(&e, &h[0])) continue;
        uint32_t j = 0;
        for (;;) {
            uint32_t l = 2 * j + 1, r = l + 1, m = j;
            const struct tier_ent *mv = &e;
            if (l < n && tier_before(mv, &h[l])) m = l, mv = &h[l];
            if (r < n && tier_before(mv, &h[r])) m = r;
            if (m == j) break;
            h[j] = h[m];
            j = m;
        }
        h[j] = e;
    }
    qsort(h, n, sizeof(*h), cmp_tier);
    for (uint32_t i = 0; i < n; i++)
        out[i] = h[i].p;
}

/* part of every posting, from its term frequencies and the document's norms. */
static void seg_parts(struct search_seg *s)
{
    float *n3 = search_xmalloc(((size_t)s->ndocs * SEARCH_FIELDS + 1) * sizeof(float));
    for (size_t d = 0; d < s->ndocs; d++)
        for (int f = 0; f < SEARCH_FIELDS; f++)
            n3[d * SEARCH_FIELDS + f] =
                s->normtab[f][search_len_code(s->flen[d * SEARCH_FIELDS + f])];
    uint64_t np = s->post_off[s->nterms];
    for (uint64_t i = 0; i < np; i++) {
        struct search_posting *p = &s->post[i];
        const float *n = n3 + (size_t)p->doc * SEARCH_FIELDS;
        float tf = search_tf(p, 0) * n[0] + search_tf(p, 1) * n[1] + search_tf(p, 2) * n[2];
        p->part = (uint16_t)(tf / (SEARCH_K1 + tf) * 65535.0f + 0.5f);
    }
    free(n3);
}

/*
 * Everything derived from the documents and postings: norms, price buckets,
 * id index, category table and, for segments that answer queries, the
 * lookup structures.
 */
static void seg_complete(struct search_seg *s, bool query_ready)
{
    seg_norms(s);
    for (uint32_t d = 0; d < s->ndocs; d++) {
        uint8_t b = 0;
        while (b < SEARCH_DEFAULT_BOUNDS && search_default_bounds[b] <= s->price[d])
            b++;
        s->hot[d].pbucket = b;
    }
    seg_byid(s);

    /* Categories: every id on any path, sorted; each path entry points at its index. */
    size_t np = s->path_off[s->npaths];
    int64_t *ids = search_xmalloc(np * sizeof(int64_t) + 8);
    memcpy(ids, s->path_ids, np * sizeof(int64_t));
    qsort(ids, np, sizeof(int64_t), cmp_i64);
    size_t nc = 0;
    for (size_t i = 0; i < np; i++)
        if (nc == 0 || ids[nc - 1] != ids[i]) ids[nc++] = ids[i];
    s->cat_ids = ids;
    s->ncats = (uint32_t)nc;
    s->path_cat = search_xmalloc(np * sizeof(uint32_t) + 4);
    for (size_t i = 0; i < np; i++)
        s->path_cat[i] = search_seg_find_cat(s, s->path_ids[i]);
    if (!query_ready) {
        seg_account(s);
        return;
    }
    seg_parts(s);
    seg_query_ready(s);

    /* Documents per category, in document order. */
    s->cat_off = search_xcalloc(nc + 2, sizeof(uint64_t));
    for (uint32_t d = 0; d < s->ndocs; d++) {
        uint32_t p = s->hot[d].path;
        for (uint32_t j = s->path_off[p]; j < s->path_off[p + 1]; j++)
            s->cat_off[s->path_cat[j] + 1]++;
    }
    for (size_t c = 0; c < nc; c++)
        s->cat_off[c + 1] += s->cat_off[c];
    uint64_t *fill = search_xmalloc((nc + 1) * sizeof(uint64_t));
    memcpy(fill, s->cat_off, (nc + 1) * sizeof(uint64_t));
    s->cat_post = search_bigalloc((s->cat_off[nc] + 1) * sizeof(struct search_posting), true);
    for (uint32_t d = 0; d < s->ndocs; d++) {
        uint32_t p = s->hot[d].path;
        for (uint32_t j = s->path_off[p]; j < s->path_off[p + 1]; j++)
            s->cat_post[fill[s->path_cat[j]]++].doc = d;
    }
    free(fill);

    /* Sort orders and facet counts over everything. */
    s->by_price = search_xmalloc((size_t)s->ndocs * sizeof(uint32_t) + 4);
    s->by_new = search_xmalloc((size_t)s->ndocs * sizeof(uint32_t) + 4);
    for (uint32_t d = 0; d < s->ndocs; d++)
        s->by_price[d] = s->by_new[d] = d;
    qsort_r(s->by_price, s->ndocs, sizeof(uint32_t), cmp_by_price, s);
    qsort_r(s->by_new, s->ndocs, sizeof(uint32_t), cmp_by_new, s);
    s->all_pathcnt = search_xcalloc((size_t)s->npaths + 1, sizeof(uint32_t));
    for (uint32_t d = 0; d < s->ndocs; d++) {
        s->all_pathcnt[s->hot[d].path]++;
        s->all_kind[s->hot[d].kind]++;
        s->all_pbucket[s->hot[d].pbucket]++;
    }

    /* Bitmaps of dense terms. */
    size_t words = ((size_t)s->ndocs + 63) / 64;
    if (s->ndocs >= SEARCH_DENSE_MIN_DOCS) {
        for (uint32_t t = 0; t < s->nterms; t++)
            if (search_seg_df(s, t) * 16 >= s->ndocs) s->ndense++;
        s->dense = search_xcalloc(s->ndense + 1, sizeof(*s->dense));
        uint32_t k = 0;
        for (uint32_t t = 0; t < s->nterms && k < s->ndense; t++) {
            if (search_seg_df(s, t) * 16 < s->ndocs) continue;
            struct search_dense *x = &s->dense[k++];
            x->term = t;
            x->bits = search_bigalloc(words * sizeof(uint64_t), true);
            x->rank = search_bigalloc(words * sizeof(uint32_t), false);
            for (uint64_t i = s->post_off[t]; i < s->post_off[t + 1]; i++)
                x->bits[s->post[i].doc >> 6] |= 1ull << (s->post[i].doc & 63);
            uint32_t acc = 0;
            for (size_t w = 0; w < words; w++) {
                x->rank[w] = acc;
                acc += (uint32_t)__builtin_popcountll(x->bits[w]);
            }
        }
    }

    /* Impact tiers of the terms too long to score in full. */
    for (uint32_t t = 0; t < s->nterms; t++)
        if (search_seg_df(s, t) > SEARCH_RANK_BUDGET) s->ntiers++;
    if (s->ntiers) {
        struct tier_ent *h = search_xmalloc(SEARCH_TIER * sizeof(*h));
        s->tiers = search_xmalloc(s->ntiers * sizeof(*s->tiers));
        s->tier_post = search_xmalloc((size_t)s->ntiers * SEARCH_TIER * sizeof(*s->tier_post));
        uint32_t k = 0;
        for (uint32_t t = 0; t < s->nterms; t++)
            if (search_seg_df(s, t) > SEARCH_RANK_BUDGET) {
                s->tiers[k].term = t;
                s->tiers[k].off = (uint64_t)k * SEARCH_TIER;
                s->tiers[k].len = SEARCH_TIER;
                tier_build(s, t, h, s->tier_post + s->tiers[k].off);
                k++;
            }
        free(h);
    }
    seg_account(s);
}

static void seg_account(struct search_seg *s)
{
    size_t n = s->ndocs;
    s->bytes = sizeof(*s) + n * (sizeof(struct search_dochot) + 3 * 8 + 6 + 4 + 8 + 12) +
               (s->cat_off ? s->cat_off[s->ncats] * sizeof(struct search_posting) : 0) +
               (s->tiers ? (size_t)s->ntiers * SEARCH_TIER * sizeof(struct search_posting) : 0) +
               (size_t)s->ndense * ((size_t)s->ndocs + 63) / 64 * 12 + s->title_off[n] +
               s->post_off[s->nterms] * sizeof(struct search_posting) + s->term_off[s->nterms] +
               (size_t)s->nterms * (4 + 8 + 8) + s->surf_off[s->nsurf] + (size_t)s->nsurf * 8 +
               (size_t)s->rmq_size * 8 + (size_t)s->npaths * 4 + s->path_off[s->npaths] * 8;
}

struct search_seg *search_segb_finish(struct search_segb *b, bool query_ready)
{
    struct search_seg *s = search_xcalloc(1, sizeof(*s));
    uint32_t nt = (uint32_t)b->terms.n, ns = (uint32_t)b->surfs.n;
    atomic_init(&s->refs, 1);

    /* Terms in byte order; postings grouped by term with a counting sort, which
     * keeps them in document order because tuples were made in that order. */
    uint32_t *perm = search_xmalloc((size_t)nt * sizeof(uint32_t) + 4);
    uint32_t *rank = search_xmalloc((size_t)nt * sizeof(uint32_t) + 4);
    for (uint32_t i = 0; i < nt; i++)
        perm[i] = i;
    qsort_r(perm, nt, sizeof(uint32_t), cmp_str_idx, &b->terms);
    for (uint32_t i = 0; i < nt; i++)
        rank[perm[i]] = i;
    s->nterms = nt;
    s->term_off = search_xmalloc(((size_t)nt + 1) * sizeof(uint32_t));
    s->term_blob = search_xmalloc(b->terms.blob_len + 1);
    size_t bl = 0;
    for (uint32_t i = 0; i < nt; i++) {
        size_t len;
        const char *x = search_strtab_str(&b->terms, perm[i], &len);
        s->term_off[i] = (uint32_t)bl;
        memcpy(s->term_blob + bl, x, len + 1);
        bl += len + 1;
    }
    s->term_off[nt] = (uint32_t)bl;
    s->post_off = search_xcalloc((size_t)nt + 1, sizeof(uint64_t));
    for (size_t i = 0; i < b->ntup; i++)
        s->post_off[rank[b->tup[i].term] + 1]++;
    for (uint32_t i = 0; i < nt; i++)
        s->post_off[i + 1] += s->post_off[i];
    uint64_t *fill = search_xmalloc(((size_t)nt + 1) * sizeof(uint64_t));
    memcpy(fill, s->post_off, ((size_t)nt + 1) * sizeof(uint64_t));
    s->post = search_bigalloc(b->ntup * sizeof(struct search_posting) + 8, false);
    for (size_t i = 0; i < b->ntup; i++) {
        const struct segb_tup *u = &b->tup[i];
        struct search_posting *p = &s->post[fill[rank[u->term]]++];
        p->doc = u->doc;
        p->part = 0;
        p->tf_ta =
            (uint8_t)((u->tf[0] > 15 ? 15 : u->tf[0]) << 4 | (u->tf[1] > 15 ? 15 : u->tf[1]));
        p->tf_d = u->tf[2];
    }
    free(fill);
    free(perm);

    /* Surfaces in byte order, naming the final term numbers. */
    perm = search_xmalloc((size_t)ns * sizeof(uint32_t) + 4);
    for (uint32_t i = 0; i < ns; i++)
        perm[i] = i;
    qsort_r(perm, ns, sizeof(uint32_t), cmp_str_idx, &b->surfs);
    s->nsurf = ns;
    s->surf_off = search_xmalloc(((size_t)ns + 1) * sizeof(uint32_t));
    s->surf_blob = search_xmalloc(b->surfs.blob_len + 1);
    s->surf_term = search_xmalloc((size_t)ns * sizeof(uint32_t) + 4);
    bl = 0;
    for (uint32_t i = 0; i < ns; i++) {
        size_t len;
        const char *x = search_strtab_str(&b->surfs, perm[i], &len);
        s->surf_off[i] = (uint32_t)bl;
        memcpy(s->surf_blob + bl, x, len + 1);
        bl += len + 1;
        s->surf_term[i] = rank[b->surf_term[perm[i]]];
    }
    s->surf_off[ns] = (uint32_t)bl;
    free(perm);
    free(rank);

    /* Documents: hand the columns over. */
    s->ndocs = b->ndocs;
    if (b->ndocs == 0) segb_grow_docs(b, 1), b->title_off[0] = 0;
    s->hot = search_xcalloc((size_t)b->ndocs + 1, sizeof(*s->hot));
    for (uint32_t d = 0; d < b->ndocs; d++) {
        s->hot[d].kind = b->kind[d];
        s->hot[d].cur = b->cur[d];
        s->hot[d].path = b->path[d];
    }
    free(b->kind);
    free(b->cur);
    free(b->path);
    s->id = b->id;
    s->price = b->price;
    s->created = b->created;
    s->merchant = b->merchant;
    s->flen = b->flen;
    s->title_off = b->title_off;
    s->titles = b->titles ? b->titles : search_xcalloc(1, 1);
    b->id = b->price = b->created = b->merchant = NULL;
    b->kind = b->cur = NULL;
    b->path = b->title_off = NULL;
    b->flen = NULL;
    b->titles = NULL;
    b->dcap = b->titles_cap = 0;
    memcpy(s->flen_sum, b->flen_sum, sizeof(s->flen_sum));

    s->npaths = (uint32_t)b->paths.n;
    s->path_off = search_xmalloc(((size_t)s->npaths + 1) * sizeof(uint32_t));
    s->path_ids = search_xmalloc(b->paths.blob_len + 8);
    size_t np = 0;
    for (uint32_t i = 0; i < s->npaths; i++) {
        size_t len;
        const char *x = search_strtab_str(&b->paths, i, &len);
        s->path_off[i] = (uint32_t)np;
        memcpy(s->path_ids + np, x, len);
        np += len / sizeof(int64_t);
    }
    s->path_off[s->npaths] = (uint32_t)np;
    s->ncur = (uint32_t)b->curs.n;
    s->curs = search_xcalloc(s->ncur + 1, 4);
    for (uint32_t i = 0; i < s->ncur; i++) {
        size_t len;
        const char *x = search_strtab_str(&b->curs, i, &len);
        memcpy(s->curs[i], x, len);
    }

    seg_complete(s, query_ready);

    /* Empty the builder for the next segment. */
    search_strtab_release(&b->terms);
    search_strtab_release(&b->surfs);
    search_strtab_release(&b->paths);
    search_strtab_release(&b->curs);
    free(b->tup);
    b->tup = NULL;
    b->tup_cap = 0;
    segb_reset(b);
    return s;
}

void search_seg_ref(struct search_seg *s)
{
    if (s) atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void search_seg_unref(struct search_seg *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    free(s->hot);
    free(s->id);
    free(s->price);
    free(s->created);
    free(s->merchant);
    free(s->flen);
    free(s->path_cat);
    free(s->cat_ids);
    free(s->cat_off);
    free(s->cat_post);
    free(s->by_price);
    free(s->by_new);
    free(s->all_pathcnt);
    free(s->tiers);
    free(s->tier_post);
    for (uint32_t i = 0; i < s->ndense; i++) {
        free(s->dense[i].bits);
        free(s->dense[i].rank);
    }
    free(s->dense);
    free(s->title_off);
    free(s->titles);
    free(s->byid);
    free(s->path_off);
    free(s->path_ids);
    free(s->curs);
    free(s->term_off);
    free(s->term_blob);
    free(s->post_off);
    free(s->post);
    free(s->term_hash);
    free(s->surf_off);
    free(s->surf_blob);
    free(s->surf_term);
    free(s->rmq);
    free(s);
}

/* ---- merging ------------------------------------------------------------- */

/*
 * A k-way merge over the sorted string lists (terms or surfaces) of the
 * inputs, as a binary heap of input numbers ordered by their current string.
 */
struct kmerge {
    struct search_seg *const *in;
    bool surf;
    uint32_t *pos; /* current index per input */
    uint32_t *heap;
    unsigned n;
};

static const char *km_str(const struct kmerge *m, unsigned i)
{
    const struct search_seg *s = m->in[i];
    return m->surf ? s->surf_blob + s->surf_off[m->pos[i]] : s->term_blob + s->term_off[m->pos[i]];
}

static bool km_less(const struct kmerge *m, unsigned a, unsigned b)
{
    int c = strcmp(km_str(m, a), km_str(m, b));
    return c < 0 || (c == 0 && a < b);
}

static void km_sift(struct kmerge *m, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->n && km_less(m, m->heap[l], m->heap[best])) best = l;
        if (r < m->n && km_less(m, m->heap[r], m->heap[best])) best = r;
        if (best == i) return;
        uint32_t t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

static void km_init(struct kmerge *m, struct search_seg *const *in, unsigned n, bool surf)
{
    m->in = in;
    m->surf = surf;
    m->pos = search_xcalloc(n, sizeof(uint32_t));
    m->heap = search_xmalloc(n * sizeof(uint32_t));
    m->n = 0;
    for (unsigned i = 0; i < n; i++)
        if (surf ? in[i]->nsurf : in[i]->nterms) m->heap[m->n++] = i;
    for (unsigned i = m->n / 2 + 1; i-- > 0;)
        km_sift(m, i);
}

/* Advances the heap's top input; drops it when exhausted. */
static void km_next(struct kmerge *m)
{
    unsigned i = m->heap[0];
    uint32_t end = m->surf ? m->in[i]->nsurf : m->in[i]->nterms;
    if (++m->pos[i] >= end) m->heap[0] = m->heap[--m->n];
    if (m->n) km_sift(m, 0);
}

static void km_release(struct kmerge *m)
{
    free(m->pos);
    free(m->heap);
}

struct search_seg *search_seg_merge(struct search_seg *const *in, const uint64_t *const *dead,
                                    unsigned n, bool query_ready)
{
    struct search_seg *s = search_xcalloc(1, sizeof(*s));
    uint32_t **remap = search_xcalloc(n, sizeof(uint32_t *));
    uint32_t **tmap = search_xcalloc(n, sizeof(uint32_t *));
    struct search_strtab paths, curs;
    size_t nd = 0, tbytes = 0, tb = 0, npost = 0, termbytes = 0, surfbytes = 0, nterm = 0,
           nsurf = 0;
    atomic_init(&s->refs, 1);

    /* Documents, in input order minus the dead. */
    for (unsigned i = 0; i < n; i++) {
        remap[i] = search_xmalloc((size_t)in[i]->ndocs * sizeof(uint32_t) + 4);
        for (uint32_t d = 0; d < in[i]->ndocs; d++)
            if (search_bit(dead[i], d)) {
                remap[i][d] = SEARCH_NONE;
            } else {
                remap[i][d] = (uint32_t)nd++;
                tbytes += in[i]->title_off[d + 1] - in[i]->title_off[d];
            }
        npost += in[i]->post_off[in[i]->nterms];
        termbytes += in[i]->term_off[in[i]->nterms];
        surfbytes += in[i]->surf_off[in[i]->nsurf];
        nterm += in[i]->nterms;
        nsurf += in[i]->nsurf;
    }
    s->ndocs = (uint32_t)nd;
    s->hot = search_bigalloc((nd + 1) * sizeof(*s->hot), true);
    s->id = search_bigalloc(nd * sizeof(int64_t) + 8, false);
    s->price = search_bigalloc(nd * sizeof(int64_t) + 8, false);
    s->created = search_bigalloc(nd * sizeof(int64_t) + 8, false);
    s->merchant = search_xmalloc(nd * sizeof(int64_t) + 8);
    s->flen = search_xmalloc(nd * SEARCH_FIELDS * sizeof(uint16_t) + 8);
    s->title_off = search_xmalloc((nd + 1) * sizeof(uint32_t));
    s->titles = search_xmalloc(tbytes + 1);
    search_strtab_init(&paths);
    search_strtab_init(&curs);
    for (unsigned i = 0; i < n; i++) {
        const struct search_seg *x = in[i];
        uint32_t *pmap = search_xmalloc(((size_t)x->npaths + 1) * sizeof(uint32_t));
        uint8_t cmap[256];
        for (uint32_t p = 0; p < x->npaths; p++)
            pmap[p] =
                search_strtab_intern(&paths, x->path_ids + x->path_off[p],
                                     (x->path_off[p + 1] - x->path_off[p]) * sizeof(int64_t), NULL);
        for (uint32_t c = 0; c < x->ncur && c < 256; c++) {
            uint32_t v = search_strtab_intern(&curs, x->curs[c], strnlen(x->curs[c], 3), NULL);
            cmap[c] = (uint8_t)(v > 255 ? 255 : v);
        }
        for (uint32_t d = 0; d < x->ndocs; d++) {
            uint32_t o = remap[i][d];
            if (o == SEARCH_NONE) continue;
            s->id[o] = x->id[d];
            s->created[o] = x->created[d];
            s->merchant[o] = x->merchant[d];
            s->price[o] = x->price[d];
            s->hot[o].kind = x->hot[d].kind;
            s->hot[o].cur = cmap[x->hot[d].cur];
            s->hot[o].path = pmap[x->hot[d].path];
            for (int f = 0; f < SEARCH_FIELDS; f++) {
                uint16_t l = x->flen[(size_t)d * SEARCH_FIELDS + f];
                s->flen[(size_t)o * SEARCH_FIELDS + f] = l;
                s->flen_sum[f] += l;
            }
            uint32_t l = x->title_off[d + 1] - x->title_off[d];
            s->title_off[o] = (uint32_t)tb;
            memcpy(s->titles + tb, x->titles + x->title_off[d], l);
            tb += l;
        }
        free(pmap);
    }
    s->title_off[nd] = (uint32_t)tb;

    /* Terms: equal strings from several inputs become one term whose postings
     * are the inputs' in input order, which is document order. */
    struct kmerge m;
    s->term_off = search_xmalloc((nterm + 1) * sizeof(uint32_t));
    s->term_blob = search_xmalloc(termbytes + 1);
    s->post_off = search_xmalloc((nterm + 1) * sizeof(uint64_t));
    s->post = search_bigalloc(npost * sizeof(struct search_posting) + 8, false);
    for (unsigned i = 0; i < n; i++)
        tmap[i] = search_xmalloc((size_t)in[i]->nterms * sizeof(uint32_t) + 4);
    km_init(&m, in, n, false);
    size_t nt = 0, np = 0;
    tb = 0;
    s->post_off[0] = 0;
    while (m.n) {
        char str[TEXT_MAX_TERM + 8];
        size_t len = strlen(km_str(&m, m.heap[0]));
        if (len > TEXT_MAX_TERM) len = TEXT_MAX_TERM;
        memcpy(str, km_str(&m, m.heap[0]), len);
        str[len] = 0;
        /* Pop every input whose current term is this string; equal strings pop
         * in input order (km_less), which keeps postings in document order. */
        unsigned idxs[64];
        uint32_t tpos[64];
        unsigned k = 0;
        while (m.n && strcmp(km_str(&m, m.heap[0]), str) == 0) {
            idxs[k] = m.heap[0];
            tpos[k] = m.pos[m.heap[0]];
            k++;
            if (k == 64) abort(); /* more than 64 inputs: not a case this code is built for */
            km_next(&m);
        }
        size_t start = np;
        for (unsigned j = 0; j < k; j++) {
            const struct search_seg *x = in[idxs[j]];
            const uint32_t *rm = remap[idxs[j]];
            for (uint64_t p = x->post_off[tpos[j]]; p < x->post_off[tpos[j] + 1]; p++) {
                uint32_t o = rm[x->post[p].doc];
                if (o == SEARCH_NONE) continue;
                s->post[np] = x->post[p];
                s->post[np].doc = o;
                np++;
            }
        }
        uint32_t tid = SEARCH_NONE;
        if (np > start) {
            tid = (uint32_t)nt++;
            s->term_off[tid] = (uint32_t)tb;
            memcpy(s->term_blob + tb, str, len + 1);
            tb += len + 1;
            s->post_off[nt] = np;
        }
        for (unsigned j = 0; j < k; j++)
            tmap[idxs[j]][tpos[j]] = tid;
    }
    km_release(&m);
    s->nterms = (uint32_t)nt;
    s->term_off[nt] = (uint32_t)tb;
    /* (not shrunk: the slack is the dead documents' postings, a few percent) */

    /* Surfaces: keep those whose term survived. */
    s->surf_off = search_xmalloc((nsurf + 1) * sizeof(uint32_t));
    s->surf_blob = search_xmalloc(surfbytes + 1);
    s->surf_term = search_xmalloc(nsurf * sizeof(uint32_t) + 4);
    km_init(&m, in, n, true);
    size_t nsf = 0;
    tb = 0;
    while (m.n) {
        const char *str = km_str(&m, m.heap[0]);
        size_t len = strlen(str);
        uint32_t tid = SEARCH_NONE;
        char keep[TEXT_MAX_TERM + 8];
        if (len > TEXT_MAX_TERM) len = TEXT_MAX_TERM;
        memcpy(keep, str, len);
        keep[len] = 0;
        while (m.n && strcmp(km_str(&m, m.heap[0]), keep) == 0) {
            unsigned i = m.heap[0];
            if (tid == SEARCH_NONE) tid = tmap[i][in[i]->surf_term[m.pos[i]]];
            km_next(&m);
        }
        if (tid == SEARCH_NONE) continue;
        s->surf_off[nsf] = (uint32_t)tb;
        memcpy(s->surf_blob + tb, keep, len + 1);
        tb += len + 1;
        s->surf_term[nsf++] = tid;
    }
    km_release(&m);
    s->nsurf = (uint32_t)nsf;
    s->surf_off[nsf] = (uint32_t)tb;

    s->npaths = (uint32_t)paths.n;
    s->path_off = search_xmalloc(((size_t)s->npaths + 1) * sizeof(uint32_t));
    s->path_ids = search_xmalloc(paths.blob_len + 8);
    size_t npi = 0;
    for (uint32_t i = 0; i < s->npaths; i++) {
        size_t len;
        const char *x = search_strtab_str(&paths, i, &len);
        s->path_off[i] = (uint32_t)npi;
        memcpy(s->path_ids + npi, x, len);
        npi += len / sizeof(int64_t);
    }
    s->path_off[s->npaths] = (uint32_t)npi;
    s->ncur = (uint32_t)curs.n;
    s->curs = search_xcalloc(s->ncur + 1, 4);
    for (uint32_t i = 0; i < s->ncur; i++) {
        size_t len;
        const char *x = search_strtab_str(&curs, i, &len);
        memcpy(s->curs[i], x, len);
    }
    search_strtab_release(&paths);
    search_strtab_release(&curs);
    for (unsigned i = 0; i < n; i++) {
        free(remap[i]);
        free(tmap[i]);
    }
    free(remap);
    free(tmap);

    seg_complete(s, query_ready);
    return s;
}

/* ---- lookups --------------------------------------------------------------- */

uint32_t search_seg_find_term(const struct search_seg *s, const char *t, size_t len)
{
    if (!s->term_hash) return SEARCH_NONE;
    uint32_t h = (uint32_t)hash_str(t, len) & s->hash_mask;
    for (;;) {
        uint32_t v = s->term_hash[h];
        if (!v) return SEARCH_NONE;
        size_t l;
        const char *x = search_seg_term(s, v - 1, &l);
        if (l == len && memcmp(x, t, len) == 0) return v - 1;
        h = (h + 1) & s->hash_mask;
    }
}

uint32_t search_seg_find_id(const struct search_seg *s, int64_t id)
{
    size_t lo = SEARCH_LOWER_BOUND(i, s->ndocs, s->byid[i].id, id);
    return lo < s->ndocs && s->byid[lo].id == id ? s->byid[lo].doc : SEARCH_NONE;
}

/* <0: surface i sorts before every string starting with p; 0: starts with p; >0: after. */
static int prefix_cmp(const struct search_seg *s, uint32_t i, const char *p, size_t plen)
{
    size_t len;
    const char *x = search_seg_surface(s, i, &len);
    int c = memcmp(x, p, len < plen ? len : plen);
    if (c) return c;
    return len < plen ? -1 : 0;
}

void search_seg_prefix(const struct search_seg *s, const char *p, size_t plen, uint32_t *lo,
                       uint32_t *hi)
{
    uint32_t a = 0, b = s->nsurf;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (prefix_cmp(s, mid, p, plen) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    b = s->nsurf;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (prefix_cmp(s, mid, p, plen) <= 0)
            a = mid + 1;
        else
            b = mid;
    }
    *hi = a;
}

static uint32_t rmq_query(const struct search_seg *s, uint32_t l, uint32_t r)
{
    uint32_t best = SEARCH_NONE;
    for (l += s->rmq_size, r += s->rmq_size; l < r; l >>= 1, r >>= 1) {
        if (l & 1) best = rmq_better(s, best, s->rmq[l++]);
        if (r & 1) best = rmq_better(s, best, s->rmq[--r]);
    }
    return best;
}

uint32_t search_seg_top_terms(const struct search_seg *s, uint32_t lo, uint32_t hi, uint32_t *out,
                              uint32_t max)
{
    /* Best-first over sub-ranges: take the range's most frequent surface, then
     * split the range around it. At most 2 ranges are added per step. */
    struct {
        uint32_t l, r, best;
    } q[2 * 64 + 2];
    uint32_t nq = 0, nout = 0, steps = 0;
    if (!s->rmq || lo >= hi || max == 0) return 0;
    if (max > 64) max = 64;
    q[nq].l = lo, q[nq].r = hi, q[nq].best = rmq_query(s, lo, hi), nq++;
    while (nq && nout < max && steps++ < 4 * max) {
        uint32_t bi = 0;
        for (uint32_t i = 1; i < nq; i++)
            if (rmq_better(s, q[bi].best, q[i].best) == q[i].best && q[i].best != q[bi].best)
                bi = i;
        uint32_t l = q[bi].l, r = q[bi].r, p = q[bi].best;
        q[bi] = q[--nq];
        uint32_t t = s->surf_term[p];
        bool dup = false;
        for (uint32_t i = 0; i < nout; i++)
            dup |= out[i] == t;
        if (!dup) out[nout++] = t;
        if (p > l && nq < 2 * 64) q[nq].l = l, q[nq].r = p, q[nq].best = rmq_query(s, l, p), nq++;
        if (p + 1 < r && nq < 2 * 64)
            q[nq].l = p + 1, q[nq].r = r, q[nq].best = rmq_query(s, p + 1, r), nq++;
    }
    return nout;
}

/* ---- typo search ------------------------------------------------------------ */

#define FZ_MAXQ 64
#define FZ_MAXD (FZ_MAXQ + 4)

struct fuzzy {
    const struct search_seg *s;
    const uint32_t *q;
    int n, k;
    bool prefix;
    long budget;
    search_fuzzy_emit emit;
    void *ud;
    uint32_t cps[FZ_MAXD];
    uint8_t rows[FZ_MAXD][FZ_MAXQ + 1];
};

static uint8_t min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    m = m < c ? m : c;
    return (uint8_t)(m > 255 ? 255 : m);
}

/*
 * Visits the trie node whose surfaces are [lo, hi), sharing their first
 * depth bytes = the node's level code points; rows[level] is the edit
 * distance row of that prefix against q.
 */
static void fz_visit(struct fuzzy *f, uint32_t lo, uint32_t hi, size_t depth, int level)
{
    const struct search_seg *s = f->s;
    const uint8_t *row = f->rows[level];
    uint32_t i = lo;
    if (--f->budget < 0) return;
    if (f->prefix && row[f->n] <= f->k) {
        f->emit(f->ud, s, lo, hi, row[f->n]);
        /* Deeper nodes can only be closer if some cell is below this one. */
        int m = 255;
        for (int j = 0; j <= f->n; j++)
            m = row[j] < m ? row[j] : m;
        if (row[f->n] == 0 || m >= row[f->n]) return;
    }
    size_t len;
    search_seg_surface(s, i, &len);
    if (len == depth) {
        if (!f->prefix && row[f->n] <= f->k) f->emit(f->ud, s, i, i + 1, row[f->n]);
        i++;
    }
    if (level + 1 >= FZ_MAXD || (!f->prefix && level >= f->n + f->k)) return;
    while (i < hi) {
        const unsigned char *x = (const unsigned char *)s->surf_blob + s->surf_off[i] + depth;
        uint32_t cp = x[0];
        int L = 1;
        if (cp >= 0xF0)
            L = 4,
            cp = ((cp & 7) << 18) | ((x[1] & 63u) << 12) | ((x[2] & 63u) << 6) | (x[3] & 63u);
        else if (cp >= 0xE0)
            L = 3, cp = ((cp & 15) << 12) | ((x[1] & 63u) << 6) | (x[2] & 63u);
        else if (cp >= 0xC0)
            L = 2, cp = ((cp & 31) << 6) | (x[1] & 63u);
        /* End of this child: first surface whose next L bytes differ
         * (galloping: most children are small next to their parent). */
        uint32_t a = i + 1, b = hi, step = 1;
        while (a + step < hi &&
               memcmp(s->surf_blob + s->surf_off[a + step - 1] + depth, x, L) == 0) {
            a += step;
            step *= 2;
        }
        b = a + step < hi ? a + step : hi;
        while (a < b) {
            uint32_t mid = a + (b - a) / 2;
            if (memcmp(s->surf_blob + s->surf_off[mid] + depth, x, L) <= 0)
                a = mid + 1;
            else
                b = mid;
        }
        uint8_t *nr = f->rows[level + 1];
        const uint8_t *pr = level > 0 ? f->rows[level - 1] : NULL;
        int best = nr[0] = (uint8_t)(level + 1);
        for (int j = 1; j <= f->n; j++) {
            int cost = f->q[j - 1] != cp;
            nr[j] = min3(row[j] + 1, nr[j - 1] + 1, row[j - 1] + cost);
            if (pr && j >= 2 && f->q[j - 1] == f->cps[level - 1] && f->q[j - 2] == cp &&
                pr[j - 2] + 1 < nr[j])
                nr[j] = (uint8_t)(pr[j - 2] + 1);
            best = nr[j] < best ? nr[j] : best;
        }
        if (best <= f->k) {
            f->cps[level] = cp;
            fz_visit(f, i, a, depth + L, level + 1);
            if (f->budget < 0) return;
        }
        i = a;
    }
}

void search_seg_fuzzy(const struct search_seg *s, const uint32_t *q, int n, int k, bool prefix,
                      unsigned budget, search_fuzzy_emit emit, void *ud)
{
    struct fuzzy *f;
    if (n <= 0 || n > FZ_MAXQ || s->nsurf == 0) return;
    f = search_xmalloc(sizeof(*f));
    f->s = s;
    f->q = q;
    f->n = n;
    f->k = k;
    f->prefix = prefix;
    f->budget = budget;
    f->emit = emit;
    f->ud = ud;
    for (int j = 0; j <= n; j++)
        f->rows[0][j] = (uint8_t)j;
    /* Only surfaces that start below U+0800 (Latin, Greek, Cyrillic, ...):
     * the root of CJK would fan out into thousands of children for nothing. */
    uint32_t a = 0, b = s->nsurf;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if ((unsigned char)s->surf_blob[s->surf_off[mid]] < 0xE0)
            a = mid + 1;
        else
            b = mid;
    }
    /* The root is the empty prefix; skip an empty surface if there is one. */
    uint32_t lo = 0;
    if (lo < a && s->surf_off[1] - s->surf_off[0] == 1) lo++;
    if (lo < a) {
        /* The root itself never matches (callers ensure n > k). */
        fz_visit(f, lo, a, 0, 0);
    }
    free(f);
}
