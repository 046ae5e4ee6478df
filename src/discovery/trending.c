/*
 * trending — minute buckets and a slow baseline per key; see trending.h.
 */
#include "discovery/trending.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/map.h"

#define NSHARDS  16
#define NBUCKETS 60
#define NSAMPLE  8

const struct trending_config trending_default_config = {
    .max_keys = 32768,
    .prior = 5,
    .min_count = 10,
    .min_score = 3,
    .baseline_tau_min = 1440,
};

/*
 * One key. Invariants, with M = last_min:
 *   buckets[x % 60] holds the count of minute x for x in (M - 60, M];
 *   hour = the sum of those counts;
 *   every minute in [first_min, fold_next) has been folded into (s, w), and
 *   fold_next = max(first_min, M - 59), i.e. exactly the minutes that left.
 */
struct tkey {
    int64_t key;
    char *query; /* owned; NULL for products */
    int64_t last_min, first_min, fold_next;
    double s, w; /* decayed sums of per-minute counts and of minutes */
    uint32_t hour;
    uint16_t buckets[NBUCKETS];
};

struct shard {
    pthread_mutex_t mu;
    struct imap keys; /* key -> struct tkey * */
    uint64_t rng;
};

struct trending {
    struct trending_config cfg;
    double decay; /* exp(-1 / tau): one minute of decay */
    size_t shard_max;
    struct shard shards[TRENDING_KIND_COUNT][NSHARDS];
};

/* The scalars of a key as they would be at minute `now` (>= last_min). */
struct tview {
    uint32_t hour;
    double s, w;
};

static int64_t minute_of(int64_t ms)
{
    return ms >= 0 ? ms / 60000 : -((-ms + 59999) / 60000);
}

static struct tview tkey_view(const struct trending *t, const struct tkey *e, int64_t now)
{
    struct tview v = {e->hour, e->s, e->w};
    if (now <= e->last_min) return v;
    int64_t leave_to = now - 60; /* minutes <= leave_to have left the window */
    int64_t x = e->fold_next;
    /* minutes still in the old window: fold their bucket counts */
    int64_t in_window_end = leave_to < e->last_min ? leave_to : e->last_min;
    for (; x <= in_window_end; x++) {
        uint16_t c = e->buckets[((x % NBUCKETS) + NBUCKETS) % NBUCKETS];
        v.s = v.s * t->decay + c;
        v.w = v.w * t->decay + 1;
        v.hour -= c;
    }
    /* minutes after last_min that already left: zero counts, closed form */
    if (x <= leave_to) {
        double m = (double)(leave_to - x + 1);
        double dm = pow(t->decay, m);
        v.s *= dm;
        v.w = v.w * dm + (1 - dm) / (1 - t->decay);
    }
    return v;
}

static double tview_usual(const struct tview *v)
{
    return 60.0 * v->s / (v->w > 60 ? v->w : 60);
}

/* Moves the key's window forward to minute `now`. */
static void tkey_advance(const struct trending *t, struct tkey *e, int64_t now)
{
    if (now <= e->last_min) return;
    struct tview v = tkey_view(t, e, now);
    if (now - e->last_min >= NBUCKETS) {
        memset(e->buckets, 0, sizeof e->buckets);
    } else {
        for (int64_t x = e->last_min + 1; x <= now; x++)
            e->buckets[((x % NBUCKETS) + NBUCKETS) % NBUCKETS] = 0;
    }
    e->hour = v.hour;
    e->s = v.s;
    e->w = v.w;
    int64_t fn = now - 59;
    if (fn > e->fold_next) e->fold_next = fn;
    e->last_min = now;
}

struct trending *trending_new(const struct trending_config *cfg)
{
    struct trending *t = xcalloc(1, sizeof *t);
    const struct trending_config *d = &trending_default_config;
    t->cfg = cfg ? *cfg : *d;
    if (!t->cfg.max_keys) t->cfg.max_keys = d->max_keys;
    if (!(t->cfg.prior > 0)) t->cfg.prior = d->prior;
    if (!t->cfg.min_count) t->cfg.min_count = d->min_count;
    if (!(t->cfg.min_score > 0)) t->cfg.min_score = d->min_score;
    if (!(t->cfg.baseline_tau_min > 0)) t->cfg.baseline_tau_min = d->baseline_tau_min;
    t->decay = exp(-1.0 / t->cfg.baseline_tau_min);
    t->shard_max = (t->cfg.max_keys + NSHARDS - 1) / NSHARDS;
    for (int k = 0; k < TRENDING_KIND_COUNT; k++)
        for (int i = 0; i < NSHARDS; i++) {
            struct shard *s = &t->shards[k][i];
            pthread_mutex_init(&s->mu, NULL);
            imap_init(&s->keys);
            s->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(k * NSHARDS + i + 1);
        }
    return t;
}

void trending_free(struct trending *t)
{
    if (!t) return;
    for (int k = 0; k < TRENDING_KIND_COUNT; k++)
        for (int i = 0; i < NSHARDS; i++) {
            struct shard *s = &t->shards[k][i];
            size_t pos = 0;
            void *v;
            while (imap_next(&s->keys, &pos, NULL, &v)) {
                struct tkey *e = v;
                free(e->query);
                free(e);
            }
            imap_release(&s->keys);
            pthread_mutex_destroy(&s->mu);
        }
    free(t);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Evicts the coldest of NSAMPLE random keys of a full shard. */
static void shard_evict(const struct trending *t, struct shard *s, int64_t now)
{
    struct imap *m = &s->keys;
    struct tkey *victim = NULL;
    double vheat = 0;
    for (int i = 0; i < NSAMPLE; i++) {
        size_t pos = xorshift(&s->rng) & (m->cap - 1);
        while (m->keys[pos] == 0 || m->keys[pos] == INT64_MIN)
            pos = (pos + 1) & (m->cap - 1);
        struct tkey *e = m->vals[pos];
        struct tview v = tkey_view(t, e, now > e->last_min ? now : e->last_min);
        double heat = v.hour + tview_usual(&v);
        if (!victim || heat < vheat || (heat == vheat && e->last_min < victim->last_min)) {
            victim = e;
            vheat = heat;
        }
    }
    imap_del(m, victim->key);
    free(victim->query);
    free(victim);
}

static void trending_add(struct trending *t, enum trending_kind kind, int64_t key, const char *q,
                         size_t qlen, uint32_t n, int64_t now_ms)
{
    if (n == 0 || key == 0 || key == INT64_MIN) return;
    int64_t now = minute_of(now_ms);
    struct shard *s = &t->shards[kind][(uint64_t)key * 0x9E3779B97F4A7C15ull >> 60];
    pthread_mutex_lock(&s->mu);
    struct tkey *e = imap_get(&s->keys, key);
    if (!e) {
        if (s->keys.len >= t->shard_max) shard_evict(t, s, now);
        e = xcalloc(1, sizeof *e);
        e->key = key;
        if (q) e->query = xstrndup(q, qlen);
        e->last_min = e->first_min = e->fold_next = now;
        imap_put(&s->keys, key, e);
    }
    if (now > e->last_min) tkey_advance(t, e, now);
    if (now > e->last_min - NBUCKETS) { /* else: older than the window, dropped */
        if (now < e->first_min)         /* late event before the first one: keep the invariant */
            e->first_min = e->fold_next = now;
        uint16_t *b = &e->buckets[((now % NBUCKETS) + NBUCKETS) % NBUCKETS];
        uint32_t room = UINT16_MAX - *b, add = n < room ? n : room; /* saturate */
        *b = (uint16_t)(*b + add);
        e->hour += add;
    }
    pthread_mutex_unlock(&s->mu);
}

void trending_add_product(struct trending *t, int64_t product, uint32_t n, int64_t now_ms)
{
    if (product <= 0) return;
    trending_add(t, TRENDING_PRODUCT, product, NULL, 0, n, now_ms);
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t trending_normalize(const char *q, size_t len, char *out)
{
    size_t o = 0;
    int pending_space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c == 0) break;
        if (is_space(c)) {
            pending_space = o > 0;
            continue;
        }
        size_t need = (size_t)pending_space + 1;
        if (o + need > TRENDING_QUERY_MAX) break;
        if (pending_space) out[o++] = ' ';
        pending_space = 0;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    /* a cut at TRENDING_QUERY_MAX may split a UTF-8 sequence: drop its head */
    if (o > 0) {
        size_t start = o;
        while (start > 0 && o - start < 3 && ((unsigned char)out[start - 1] & 0xC0) == 0x80)
            start--;
        if (start > 0) {
            unsigned char lead = (unsigned char)out[--start];
            size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (o - start < want) o = start;
        }
        while (o > 0 && out[o - 1] == ' ')
            o--;
    }
    out[o] = 0;
    return o;
}

void trending_add_query(struct trending *t, const char *q, size_t len, int64_t now_ms)
{
    char norm[TRENDING_QUERY_MAX + 1];
    size_t n = trending_normalize(q, len, norm);
    if (n == 0) return;
    int64_t key = (int64_t)((XXH3_64bits(norm, n) & (uint64_t)INT64_MAX) | 1);
    trending_add(t, TRENDING_QUERY, key, norm, n, 1, now_ms);
}

static int item_better(const struct trending_item *a, int64_t akey, const struct trending_item *b,
                       int64_t bkey)
{
    if (a->score != b->score) return a->score > b->score;
    if (a->last_hour != b->last_hour) return a->last_hour > b->last_hour;
    return akey < bkey;
}

size_t trending_top(struct trending *t, enum trending_kind kind, int64_t now_ms, size_t k,
                    struct trending_item *out)
{
    if ((unsigned)kind >= TRENDING_KIND_COUNT || k == 0) return 0;
    int64_t now = minute_of(now_ms);
    size_t n = 0;
    int64_t *keys = xmalloc(k * sizeof *keys); /* out[i]'s key, for ties */
    for (int i = 0; i < NSHARDS; i++) {
        struct shard *s = &t->shards[kind][i];
        pthread_mutex_lock(&s->mu);
        size_t pos = 0;
        void *v;
        while (imap_next(&s->keys, &pos, NULL, &v)) {
            const struct tkey *e = v;
            if (e->hour < t->cfg.min_count) continue; /* hour only shrinks with time */
            struct tview tv = tkey_view(t, e, now > e->last_min ? now : e->last_min);
            if (tv.hour < t->cfg.min_count) continue;
            struct trending_item it;
            it.usual_hour = tview_usual(&tv);
            it.last_hour = tv.hour;
            it.score = (tv.hour + t->cfg.prior) / (it.usual_hour + t->cfg.prior);
            if (it.score < t->cfg.min_score) continue;
            /* insertion into the sorted top k */
            size_t at = n;
            while (at > 0 && item_better(&it, e->key, &out[at - 1], keys[at - 1]))
                at--;
            if (at >= k) continue;
            size_t last = n < k ? n : k - 1;
            memmove(&out[at + 1], &out[at], (last - at) * sizeof *out);
            memmove(&keys[at + 1], &keys[at], (last - at) * sizeof *keys);
            it.product = e->query ? 0 : e->key;
            it.query[0] = 0;
            if (e->query) {
                size_t ql = strlen(e->query);
                memcpy(it.query, e->query, ql + 1);
            }
            out[at] = it;
            keys[at] = e->key;
            if (n < k) n++;
        }
        pthread_mutex_unlock(&s->mu);
    }
    free(keys);
    return n;
}

size_t trending_size(struct trending *t, enum trending_kind kind)
{
    if ((unsigned)kind >= TRENDING_KIND_COUNT) return 0;
    size_t n = 0;
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_lock(&t->shards[kind][i].mu);
        n += t->shards[kind][i].keys.len;
        pthread_mutex_unlock(&t->shards[kind][i].mu);
    }
    return n;
}
