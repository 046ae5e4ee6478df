/*
 * loadgen — souk's own HTTP/1.1 load generator.
 *
 * One process, 1..2 threads, each with its own epoll loop and its share of N
 * keep-alive connections. Every connection has one request in flight (closed
 * loop, no pipelining): the next request leaves when the answer to the last one
 * is in. Latency is measured per request from the first write to the last byte
 * of the answer, into log-linear histograms (HDR-style: exact below 128 µs, then
 * 64 sub-buckets per power of two, i.e. under 1.6% error), one for all requests
 * and one per step kind of the scenario.
 *
 * Because the loop is closed, a stalled server also slows the load: the numbers
 * show what N clients waiting on each other see, not a fixed arrival rate
 * (no coordinated-omission correction).
 *
 * Scenarios are a small table of callbacks (struct lg_scenario): `next` writes a
 * connection's next request, `done` reads its answer and says whether an
 * iteration (a GET, a paid checkout, a bought flash item) completed. Each
 * connection keeps its own scenario state, so a multi-step flow is a state
 * machine per connection.
 *
 *   loadgen get      --url URL [--url-file F]
 *   loadgen checkout --url URL --tokens F --skus F
 *   loadgen flash    --url URL --tokens F --room ID --item ID [--pay]
 *
 * Output: a Markdown table row and key=value lines on stdout; a short human
 * summary on stderr. Exit status 0 when the run completed (whatever the server
 * answered), 1 when it could not reach the server at all, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_STEPS   8
#define LG_MAX_CODES   48
#define LG_MAX_HEADERS 8
#define LG_REQ_MAX     4096
#define LG_RESP_MAX    (8 << 20) /* an answer larger than this is a protocol error */
#define LG_MAX_RETRIES 3

/* ---------- time ---------- */

static inline uint64_t lg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---------- histogram ---------- */

/*
 * Bucket i < 128 holds exactly i µs. Above, a value v with its top bit at
 * position b (b >= 7) goes to shift = b - 6, so v >> shift is in 64..127, and
 * bucket 128 + (shift - 1) * 64 + (v >> shift) - 64. 31 shifts reach 2^37 µs
 * (38 hours); anything longer is clamped into the last bucket.
 */
#define LG_HIST_SHIFTS  31
#define LG_HIST_BUCKETS (128 + LG_HIST_SHIFTS * 64)

struct lg_hist {
    uint64_t counts[LG_HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
    uint64_t sum;
};

static inline int lg_hist_index(uint64_t v)
{
    if (v < 128) return (int)v;
    int shift = (63 - __builtin_clzll(v)) - 6;
    if (shift > LG_HIST_SHIFTS) return LG_HIST_BUCKETS - 1;
    return 128 + (shift - 1) * 64 + (int)((v >> shift) - 64);
}

/* The highest value a bucket holds: percentiles are reported pessimistically. */
static uint64_t lg_hist_bucket_high(int i)
{
    if (i < 128) return (uint64_t)i;
    int shift = (i - 128) / 64 + 1;
    uint64_t sub = (uint64_t)((i - 128) % 64 + 64);
    return ((sub + 1) << shift) - 1;
}

static inline void lg_hist_add(struct lg_hist *h, uint64_t v)
{
    h->counts[lg_hist_index(v)]++;
    h->total++;
    h->sum += v;
    if (v > h->max) h->max = v;
}

static void lg_hist_merge(struct lg_hist *into, const struct lg_hist *from)
{
    for (int i = 0; i < LG_HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->max > into->max) into->max = from->max;
}

/* Value (µs) at quantile q in 0..1. */
static uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
    if (h->total == 0) return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->total);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = lg_hist_bucket_high(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

/* ---------- tiny JSON reader (just enough to pull ids and codes out) ---------- */

static const char *js_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote; returns past the closing quote, or NULL. */
static const char *js_skip_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

static const char *js_skip_value(const char *p, const char *e)
{
    p = js_ws(p, e);
    if (p >= e) return NULL;
    if (*p == '"') return js_skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') {
                p = js_skip_string(p, e);
                if (p == NULL) return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
        p++;
    return p;
}

/*
 * Finds the value at a dotted path of object keys ("id", "order.id") and
 * copies it (a string without its quotes, or a raw number) into out.
 * Returns 0 when found. Escapes inside the string are not decoded: ids and
 * codes never contain any.
 */
static int js_get(const char *p, const char *e, const char *path, char *out, size_t outsz)
{
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t seglen = dot ? (size_t)(dot - path) : strlen(path);
        p = js_ws(p, e);
        if (p >= e || *p != '{') return -1;
        p++;
        for (;;) {
            p = js_ws(p, e);
            if (p >= e || *p != '"') return -1;
            const char *k = p + 1;
            const char *ke = js_skip_string(p, e);
            if (ke == NULL) return -1;
            size_t klen = (size_t)(ke - 1 - k);
            p = js_ws(ke, e);
            if (p >= e || *p != ':') return -1;
            p = js_ws(p + 1, e);
            if (klen == seglen && memcmp(k, path, seglen) == 0) break;
            p = js_skip_value(p, e);
            if (p == NULL) return -1;
            p = js_ws(p, e);
            if (p >= e || *p != ',') return -1;
            p++;
        }
        path += seglen;
        if (*path == '.') path++;
    }
    const char *v = p, *ve;
    if (p < e && *p == '"') {
        ve = js_skip_string(p, e);
        if (ve == NULL) return -1;
        v++;
        ve--;
    } else {
        ve = js_skip_value(p, e);
        if (ve == NULL || ve == v) return -1;
    }
    size_t n = (size_t)(ve - v);
    if (n + 1 > outsz) return -1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

/* ---------- options, shared read-only data ---------- */

struct lg_opts {
    const char *scenario;
    const char *url;
    char host[64]; /* for the Host header */
    struct sockaddr_in addr;
    const char *base_path; /* the path part of --url, for `get` without --url-file */
    int connections;
    int threads;
    double duration_s;
    double warmup_s;
    uint64_t max_requests;   /* 0 = unlimited */
    uint64_t max_iterations; /* 0 = unlimited */
    double timeout_s;
    const char *label;
    const char *url_file;
    const char *tokens_file;
    const char *skus_file;
    const char *room_id;
    const char *item_id;
    bool flash_pay;
    const char *ids_out; /* flash: every acknowledged (201) order id, one a line */
    bool no_keys;        /* diagnosis: leave Idempotency-Key out to see what the records cost */
    const char *stop_on_code;
    const char *headers[LG_MAX_HEADERS];
    int nheaders;
    char extra_headers[1024]; /* the --header lines, CRLF-terminated */
};

static struct lg_opts opts = {
    .connections = 64,
    .threads = 1,
    .duration_s = 10,
    .timeout_s = 10,
};

/* Unique per run so Idempotency-Keys never collide with an earlier run's. */
static char lg_run_id[32];

static atomic_uint_fast64_t lg_requests_claimed;
static atomic_uint_fast64_t lg_iterations_claimed;
static atomic_bool lg_stop; /* set on SIGINT/SIGTERM */

/* A request slot for --requests; false when the budget is spent. */
static bool lg_claim_request(void)
{
    if (opts.max_requests == 0) return true;
    return atomic_fetch_add(&lg_requests_claimed, 1) < opts.max_requests;
}

/* Scenarios call this when a new iteration begins; false when --iterations is spent. */
static bool lg_claim_iteration(void)
{
    if (opts.max_iterations == 0) return true;
    return atomic_fetch_add(&lg_iterations_claimed, 1) < opts.max_iterations;
}

/* Reads a file into lines; comment lines (#) and empty lines dropped. */
static char **lg_read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    size_t cap = 1024, n = 0;
    char **lines = malloc(cap * sizeof(*lines));
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof(*lines));
        }
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *count = n;
    return lines;
}

/* ---------- requests and answers ---------- */

struct lg_req {
    const char *data; /* buf, or a request the scenario built once (never freed) */
    size_t len;
    char buf[LG_REQ_MAX];
    int step; /* the scenario's step kind, an index into its steps[] */
};

struct lg_resp {
    int status; /* 0: no answer (connection failed LG_MAX_RETRIES times, or timed out) */
    const char *body;
    size_t body_len;
    const char *code; /* the problem `code`, or NULL */
};

/* Builds a request; body may be NULL. Returns -1 when it does not fit. */
static int lg_req_build(struct lg_req *r, int step, const char *method, const char *path,
                        const char *token, const char *idem_key, const char *body)
{
    size_t blen = body ? strlen(body) : 0;
    if (opts.no_keys) idem_key = NULL;
    int n = snprintf(r->buf, sizeof(r->buf), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s", method,
                     path, opts.host, token ? "Authorization: Bearer " : "", token ? token : "",
                     token ? "\r\n" : "", idem_key ? "Idempotency-Key: " : "",
                     idem_key ? idem_key : "", idem_key ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(r->buf)) return -1;
    int m;
    if (body)
        m = snprintf(r->buf + n, sizeof(r->buf) - (size_t)n,
                     "%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     opts.extra_headers, blen, body);
    else
        m = snprintf(r->buf + n, sizeof(r->buf) - (size_t)n, "%s\r\n", opts.extra_headers);
    if (m < 0 || (size_t)(n + m) >= sizeof(r->buf)) return -1;
    r->data = r->buf;
    r->len = (size_t)(n + m);
    r->step = step;
    return 0;
}

/* ---------- scenarios ---------- */

struct lg_scenario {
    const char *name;
    const char *const *steps; /* step kind names, NULL-terminated, at most LG_MAX_STEPS */
    const char *iteration;    /* what one completed iteration is, for the report */
    void (*setup)(void);      /* loads files; exits with a message on bad input */
    void *(*conn_new)(int conn_index, int conn_count);
    /* Writes the connection's next request into r; -1 when it has no more work. */
    int (*next)(void *state, struct lg_req *r);
    /* Takes the answer to the request `next` wrote; returns 1 when an iteration completed. */
    int (*done)(void *state, const struct lg_req *r, const struct lg_resp *resp);
};

/* --- get: GETs round-robin over a list of paths --- */

static char **get_paths;
static size_t get_npaths;
static struct lg_req *get_reqs; /* built once: a GET is the same bytes every time */
static const char *const get_steps[] = {"get", NULL};

static void get_setup(void)
{
    if (opts.url_file) {
        get_paths = lg_read_lines(opts.url_file, &get_npaths);
        if (get_npaths == 0) {
            fprintf(stderr, "loadgen: %s has no paths\n", opts.url_file);
            exit(2);
        }
    } else {
        get_paths = malloc(sizeof(*get_paths));
        get_paths[0] = strdup(opts.base_path);
        get_npaths = 1;
    }
    get_reqs = calloc(get_npaths, sizeof(*get_reqs));
    for (size_t i = 0; i < get_npaths; i++) {
        struct lg_req r;
        if (lg_req_build(&r, 0, "GET", get_paths[i], NULL, NULL, NULL) != 0) {
            fprintf(stderr, "loadgen: path too long: %s\n", get_paths[i]);
            exit(2);
        }
        get_reqs[i].data = strndup(r.buf, r.len);
        get_reqs[i].len = r.len;
    }
}

struct get_conn {
    size_t next_path;
};

static void *get_conn_new(int idx, int count)
{
    (void)count;
    struct get_conn *g = calloc(1, sizeof(*g));
    /* Start connections at different places so they do not walk in step. */
    g->next_path = (size_t)idx * 7919u % get_npaths;
    return g;
}

static int get_next(void *state, struct lg_req *r)
{
    struct get_conn *g = state;
    if (!lg_claim_iteration()) return -1;
    r->data = get_reqs[g->next_path].data;
    r->len = get_reqs[g->next_path].len;
    r->step = 0;
    g->next_path = (g->next_path + 1) % get_npaths;
    return 0;
}

static int get_done(void *state, const struct lg_req *r, const struct lg_resp *resp)
{
    (void)state;
    (void)r;
    return resp->status >= 200 && resp->status < 300;
}

/* --- shoppers: bearer tokens split between connections --- */

static char **lg_tokens;
static size_t lg_ntokens;

static void lg_load_tokens(void)
{
    if (opts.tokens_file == NULL) {
        fprintf(stderr, "loadgen: %s needs --tokens FILE\n", opts.scenario);
        exit(2);
    }
    lg_tokens = lg_read_lines(opts.tokens_file, &lg_ntokens);
    if (lg_ntokens < (size_t)opts.connections) {
        /* Two connections playing one shopper would race on one cart. */
        fprintf(stderr, "loadgen: %zu tokens for %d connections: need at least one each\n",
                lg_ntokens, opts.connections);
        exit(2);
    }
}

/*
 * Connection i of C plays shoppers i, i+C, i+2C, ... in turn, one per
 * iteration, so no shopper is ever used by two connections at once.
 */
struct lg_shoppers {
    size_t first, stride, cur;
};

static void lg_shoppers_init(struct lg_shoppers *s, int idx, int count)
{
    s->first = (size_t)idx;
    s->stride = (size_t)count;
    s->cur = s->first;
}

static const char *lg_shoppers_next(struct lg_shoppers *s)
{
    const char *t = lg_tokens[s->cur];
    s->cur += s->stride;
    if (s->cur >= lg_ntokens) s->cur = s->first;
    return t;
}

static uint64_t lg_rand(uint64_t *x)
{
    /* xorshift64*: only to spread the load, not for anything secret. */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 2685821657736338717ull;
}

/* --- checkout: 3 cart adds, checkout, pay --- */

enum { CK_ADD, CK_CHECKOUT, CK_PAY, CK_CLEANUP };
static const char *const checkout_steps[] = {"cart_add", "checkout", "pay", "cleanup", NULL};

struct ck_merchant {
    char id[32];
    char **skus;
    size_t nskus;
};
static struct ck_merchant *ck_merchants;
static size_t ck_nmerchants;

static void checkout_setup(void)
{
    lg_load_tokens();
    if (opts.skus_file == NULL) {
        fprintf(stderr, "loadgen: checkout needs --skus FILE (lines: sku_id merchant_id)\n");
        exit(2);
    }
    size_t n;
    char **lines = lg_read_lines(opts.skus_file, &n);
    ck_merchants = calloc(n + 1, sizeof(*ck_merchants));
    for (size_t i = 0; i < n; i++) {
        char sku[32], merchant[32];
        if (sscanf(lines[i], "%31s %31s", sku, merchant) != 2) {
            fprintf(stderr, "loadgen: %s: bad line '%s'\n", opts.skus_file, lines[i]);
            exit(2);
        }
        size_t m;
        for (m = 0; m < ck_nmerchants; m++)
            if (strcmp(ck_merchants[m].id, merchant) == 0) break;
        if (m == ck_nmerchants) {
            snprintf(ck_merchants[m].id, sizeof(ck_merchants[m].id), "%s", merchant);
            ck_merchants[m].skus = calloc(n, sizeof(char *));
            ck_nmerchants++;
        }
        ck_merchants[m].skus[ck_merchants[m].nskus++] = strdup(sku);
    }
    if (ck_nmerchants < 2) {
        fprintf(stderr, "loadgen: checkout needs SKUs of at least 2 merchants\n");
        exit(2);
    }
    size_t total = 0;
    for (size_t m = 0; m < ck_nmerchants; m++)
        total += ck_merchants[m].nskus;
    if (total < 3) {
        fprintf(stderr, "loadgen: checkout needs at least 3 SKUs\n");
        exit(2);
    }
}

struct ck_conn {
    int idx;
    struct lg_shoppers shoppers;
    uint64_t rng;
    uint64_t seq;
    int phase; /* -1: start an iteration; 0..2: add sku[phase]; 3: checkout; 4: pay; 5: cleanup */
    const char *token;
    const char *sku[3];
    bool added[3];
    char checkout_id[32];
    char key[64];
};

static void *checkout_conn_new(int idx, int count)
{
    struct ck_conn *c = calloc(1, sizeof(*c));
    c->idx = idx;
    lg_shoppers_init(&c->shoppers, idx, count);
    c->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)idx * 0x100000001b3ull) ^ (uint64_t)getpid();
    c->phase = -1;
    return c;
}

/* Two distinct SKUs of one merchant and one of another (or 1 + 2 if the first has one). */
static void ck_pick(struct ck_conn *c)
{
    size_t a = lg_rand(&c->rng) % ck_nmerchants;
    size_t b = (a + 1 + lg_rand(&c->rng) % (ck_nmerchants - 1)) % ck_nmerchants;
    struct ck_merchant *ma = &ck_merchants[a], *mb = &ck_merchants[b];
    if (ma->nskus < 2) {
        struct ck_merchant *t = ma;
        ma = mb;
        mb = t;
    }
    if (ma->nskus >= 2) {
        size_t i = lg_rand(&c->rng) % ma->nskus;
        size_t j = (i + 1 + lg_rand(&c->rng) % (ma->nskus - 1)) % ma->nskus;
        c->sku[0] = ma->skus[i];
        c->sku[1] = ma->skus[j];
        c->sku[2] = mb->skus[lg_rand(&c->rng) % mb->nskus];
    } else {
        /* Both merchants have one SKU: fall back to any 3 distinct SKUs. */
        size_t k = 0;
        for (size_t m = 0; m < ck_nmerchants && k < 3; m++)
            for (size_t s = 0; s < ck_merchants[m].nskus && k < 3; s++)
                c->sku[k++] = ck_merchants[m].skus[s];
    }
}

static const char ck_address[] =
    "{\"shipping_address\":{\"name\":\"Load Test\",\"phone\":\"+8613800000000\","
    "\"line1\":\"1 Bench Road\",\"city\":\"Hangzhou\",\"region\":\"Zhejiang\","
    "\"postal_code\":\"310000\",\"country\":\"CN\"}}";

static int checkout_next(void *state, struct lg_req *r)
{
    struct ck_conn *c = state;
    char path[128], body[128];
    if (c->phase == -1) {
        if (!lg_claim_iteration()) return -1;
        c->token = lg_shoppers_next(&c->shoppers);
        ck_pick(c);
        memset(c->added, 0, sizeof(c->added));
        c->phase = 0;
    }
    if (c->phase == 5) {
        /* Empty what a failed iteration left in the cart, one line at a time. */
        for (int i = 0; i < 3; i++) {
            if (c->added[i]) {
                c->added[i] = false;
                snprintf(path, sizeof(path), "/api/v1/cart/items/%s", c->sku[i]);
                return lg_req_build(r, CK_CLEANUP, "DELETE", path, c->token, NULL, NULL);
            }
        }
        if (!lg_claim_iteration()) return -1;
        c->token = lg_shoppers_next(&c->shoppers);
        ck_pick(c);
        c->phase = 0;
    }
    switch (c->phase) {
    case 0:
    case 1:
    case 2:
        snprintf(body, sizeof(body), "{\"sku_id\":\"%s\",\"qty\":1}", c->sku[c->phase]);
        return lg_req_build(r, CK_ADD, "POST", "/api/v1/cart/items", c->token, NULL, body);
    case 3:
        snprintf(c->key, sizeof(c->key), "lg-%s-%d-%" PRIu64 "-c", lg_run_id, c->idx, c->seq);
        return lg_req_build(r, CK_CHECKOUT, "POST", "/api/v1/checkout", c->token, c->key,
                            ck_address);
    case 4:
        snprintf(path, sizeof(path), "/api/v1/checkout/%s/pay", c->checkout_id);
        snprintf(c->key, sizeof(c->key), "lg-%s-%d-%" PRIu64 "-p", lg_run_id, c->idx, c->seq);
        return lg_req_build(r, CK_PAY, "POST", path, c->token, c->key, "{\"method\":\"sandbox\"}");
    }
    return -1;
}

static int checkout_done(void *state, const struct lg_req *r, const struct lg_resp *resp)
{
    struct ck_conn *c = state;
    (void)r;
    switch (c->phase) {
    case 0:
    case 1:
    case 2:
        if (resp->status == 200) {
            c->added[c->phase] = true;
            c->phase++;
        } else {
            c->phase = 5;
        }
        return 0;
    case 3:
        c->seq++;
        if (resp->status == 201 && js_get(resp->body, resp->body + resp->body_len, "id",
                                          c->checkout_id, sizeof(c->checkout_id)) == 0) {
            c->phase = 4;
        } else {
            /* A checkout that failed for certain left the cart as it was. */
            c->phase = resp->status == 201 ? -1 : 5;
        }
        return 0;
    case 4:
        c->phase = -1;
        return resp->status == 200;
    case 5:
        return 0;
    }
    return 0;
}

/* --- flash: many shoppers buy one live-room item --- */

enum { FL_BUY, FL_PAY };
static const char *const flash_steps[] = {"buy", "pay", NULL};

static FILE *flash_ids;
static pthread_mutex_t flash_ids_lock = PTHREAD_MUTEX_INITIALIZER;

static void flash_setup(void)
{
    lg_load_tokens();
    if (opts.ids_out && !(flash_ids = fopen(opts.ids_out, "w"))) {
        perror(opts.ids_out);
        exit(2);
    }
    if (opts.room_id == NULL || opts.item_id == NULL) {
        fprintf(stderr, "loadgen: flash needs --room ID --item ID\n");
        exit(2);
    }
}

struct fl_conn {
    int idx;
    struct lg_shoppers shoppers;
    uint64_t seq;
    int phase; /* 0: buy; 1: pay */
    const char *token;
    char order_id[32];
    char key[64];
};

static void *flash_conn_new(int idx, int count)
{
    struct fl_conn *f = calloc(1, sizeof(*f));
    f->idx = idx;
    lg_shoppers_init(&f->shoppers, idx, count);
    return f;
}

static int flash_next(void *state, struct lg_req *r)
{
    struct fl_conn *f = state;
    char path[160];
    if (f->phase == 0) {
        if (!lg_claim_iteration()) return -1;
        f->token = lg_shoppers_next(&f->shoppers);
        snprintf(path, sizeof(path), "/api/v1/live/rooms/%s/items/%s/buy", opts.room_id,
                 opts.item_id);
        snprintf(f->key, sizeof(f->key), "lg-%s-%d-%" PRIu64 "-b", lg_run_id, f->idx, f->seq++);
        return lg_req_build(r, FL_BUY, "POST", path, f->token, f->key, "{\"qty\":1}");
    }
    snprintf(path, sizeof(path), "/api/v1/orders/%s/pay", f->order_id);
    snprintf(f->key, sizeof(f->key), "lg-%s-%d-%" PRIu64 "-p", lg_run_id, f->idx, f->seq++);
    return lg_req_build(r, FL_PAY, "POST", path, f->token, f->key, "{\"method\":\"sandbox\"}");
}

static int flash_done(void *state, const struct lg_req *r, const struct lg_resp *resp)
{
    struct fl_conn *f = state;
    (void)r;
    if (f->phase == 0) {
        if (resp->status != 201) return 0;
        int have_id = js_get(resp->body, resp->body + resp->body_len, "order.id", f->order_id,
                             sizeof(f->order_id)) == 0;
        /* Every acknowledged order, warm-up included: the bench checks each
         * one is durable afterwards. */
        if (flash_ids && have_id) {
            pthread_mutex_lock(&flash_ids_lock);
            fprintf(flash_ids, "%s\n", f->order_id);
            pthread_mutex_unlock(&flash_ids_lock);
        }
        if (!opts.flash_pay) return 1;
        if (have_id) f->phase = 1;
        return 0;
    }
    f->phase = 0;
    return resp->status == 200;
}

static const struct lg_scenario lg_scenarios[] = {
    {"get", get_steps, "ok_gets", get_setup, get_conn_new, get_next, get_done},
    {"checkout", checkout_steps, "paid_checkouts", checkout_setup, checkout_conn_new, checkout_next,
     checkout_done},
    {"flash", flash_steps, "bought", flash_setup, flash_conn_new, flash_next, flash_done},
};

static const struct lg_scenario *lg_sc;

/* ---------- statistics ---------- */

struct lg_code_count {
    char code[40];
    uint64_t n;
};

struct lg_stats {
    struct lg_hist all;
    struct lg_hist step[LG_MAX_STEPS];
    uint64_t status[600]; /* [0]: no answer */
    struct lg_code_count codes[LG_MAX_CODES];
    int ncodes;
    uint64_t iterations;
    uint64_t conn_errors; /* connect failures, resets, early EOF */
    uint64_t timeouts;
    uint64_t reconnects; /* the server closed a keep-alive connection */
    uint64_t bytes_in;
};

static void lg_stats_code(struct lg_stats *s, const char *code, uint64_t n)
{
    for (int i = 0; i < s->ncodes; i++) {
        if (strcmp(s->codes[i].code, code) == 0) {
            s->codes[i].n += n;
            return;
        }
    }
    int i = s->ncodes < LG_MAX_CODES ? s->ncodes++ : LG_MAX_CODES - 1;
    if (i == LG_MAX_CODES - 1 && strcmp(s->codes[i].code, "other") != 0) {
        /* Table full: the last slot becomes a catch-all. */
        snprintf(s->codes[i].code, sizeof(s->codes[i].code), "other");
    } else if (s->codes[i].n == 0) {
        snprintf(s->codes[i].code, sizeof(s->codes[i].code), "%s", code);
    }
    s->codes[i].n += n;
}

static void lg_stats_merge(struct lg_stats *into, const struct lg_stats *from)
{
    lg_hist_merge(&into->all, &from->all);
    for (int i = 0; i < LG_MAX_STEPS; i++)
        lg_hist_merge(&into->step[i], &from->step[i]);
    for (int i = 0; i < 600; i++)
        into->status[i] += from->status[i];
    for (int i = 0; i < from->ncodes; i++)
        lg_stats_code(into, from->codes[i].code, from->codes[i].n);
    into->iterations += from->iterations;
    into->conn_errors += from->conn_errors;
    into->timeouts += from->timeouts;
    into->reconnects += from->reconnects;
    into->bytes_in += from->bytes_in;
}

/* ---------- connections and the event loop ---------- */

enum lg_conn_state { LG_IDLE, LG_CONNECTING, LG_SENDING, LG_WAITING, LG_BACKOFF, LG_DONE };

struct lg_thread;

struct lg_conn {
    struct lg_thread *t;
    int fd;
    enum lg_conn_state state;
    void *sc_state;
    struct lg_req req;
    bool have_req; /* req holds a request not yet answered (retried after a reconnect) */
    int retries;
    size_t sent;
    uint64_t sent_at;
    uint64_t retry_at;
    bool want_out; /* EPOLLOUT is registered */
    /* answer being read */
    char *rbuf;
    size_t rlen, rcap;
    size_t hdr_len; /* 0 until the header block is complete */
    int status;
    long long content_length; /* -1: unknown */
    bool chunked, close_after;
    size_t chunk_pos; /* chunked: where the next chunk-size line starts */
    size_t body_len;  /* chunked: decoded body bytes so far (moved down over the sizes) */
};

struct lg_thread {
    int index;
    pthread_t tid;
    int ep;
    struct lg_conn *conns;
    int nconns;
    int active; /* connections not LG_DONE */
    struct lg_stats stats;
    bool measuring;
    uint64_t start_us, measure_from_us, end_us;
    uint64_t last_answer_us;
    /* From /proc/thread-self/schedstat as the thread ends: its CPU time and
     * its time runnable but waiting for a CPU. The wait is how much of the
     * measured latency this machine's other work added to the generator. */
    uint64_t cpu_ns, run_delay_ns;
};

static uint64_t lg_start_us, lg_warm_end_us, lg_deadline_us;

static void lg_conn_issue(struct lg_conn *c);
static void lg_conn_connect(struct lg_conn *c);

static void lg_conn_close(struct lg_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(c->t->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    c->want_out = false;
}

static void lg_conn_finish(struct lg_conn *c)
{
    lg_conn_close(c);
    if (c->state != LG_DONE) {
        c->state = LG_DONE;
        c->t->active--;
    }
}

static void lg_set_out(struct lg_conn *c, bool on)
{
    if (c->want_out == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->t->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

/* Hands an answer (or its absence, status 0) to the scenario and the statistics. */
static void lg_conn_answered(struct lg_conn *c, int status, const char *body, size_t body_len)
{
    struct lg_thread *t = c->t;
    uint64_t now = lg_now_us();
    t->last_answer_us = now;
    struct lg_resp resp = {.status = status, .body = body, .body_len = body_len};
    char code[40];
    if (status >= 400 && body_len > 0 && body[0] == '{' &&
        js_get(body, body + body_len, "code", code, sizeof(code)) == 0)
        resp.code = code;
    bool in_window = t->measuring && (lg_deadline_us == 0 || now <= lg_deadline_us);
    if (in_window) {
        struct lg_stats *s = &t->stats;
        s->status[status >= 0 && status < 600 ? status : 0]++;
        if (status > 0) {
            uint64_t lat = now - c->sent_at;
            lg_hist_add(&s->all, lat);
            lg_hist_add(&s->step[c->req.step], lat);
        }
        if (resp.code) lg_stats_code(s, resp.code, 1);
    }
    int done = lg_sc->done(c->sc_state, &c->req, &resp);
    if (in_window && done > 0) t->stats.iterations++;
    c->have_req = false;
    c->retries = 0;
    if (opts.stop_on_code && resp.code && strcmp(resp.code, opts.stop_on_code) == 0)
        lg_conn_finish(c);
}

/* The connection broke with a request in flight: reconnect and send it again. */
static void lg_conn_failed(struct lg_conn *c, bool timeout)
{
    struct lg_thread *t = c->t;
    if (t->measuring) {
        if (timeout)
            t->stats.timeouts++;
        else
            t->stats.conn_errors++;
    }
    lg_conn_close(c);
    if (++c->retries > LG_MAX_RETRIES) {
        if (!c->have_req) {
            /* Cannot even connect: the server is not there. */
            lg_conn_finish(c);
            return;
        }
        /* Give up on this request; the scenario decides what comes next. */
        lg_conn_answered(c, 0, "", 0);
        if (c->state == LG_DONE) return;
    }
    /* Back off a little so a dead server does not spin us. */
    c->state = LG_BACKOFF;
    c->retry_at = lg_now_us() + 20000u * (uint64_t)(c->retries + 1);
}

static void lg_conn_connect(struct lg_conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perror("loadgen: socket");
        exit(1);
    }
    int on = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(c->t->ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->want_out = true;
    c->state = LG_CONNECTING;
    c->sent_at = lg_now_us(); /* for the connect timeout */
    if (connect(c->fd, (struct sockaddr *)&opts.addr, sizeof(opts.addr)) != 0 &&
        errno != EINPROGRESS) {
        lg_conn_failed(c, false);
    }
}

static void lg_conn_write(struct lg_conn *c)
{
    while (c->sent < c->req.len) {
        ssize_t n = write(c->fd, c->req.data + c->sent, c->req.len - c->sent);
        if (n < 0) {
            if (errno == EAGAIN) {
                lg_set_out(c, true);
                return;
            }
            if (errno == EINTR) continue;
            lg_conn_failed(c, false);
            return;
        }
        c->sent += (size_t)n;
    }
    lg_set_out(c, false);
    c->state = LG_WAITING;
}

static void lg_conn_issue(struct lg_conn *c)
{
    if (atomic_load(&lg_stop) || (lg_deadline_us && lg_now_us() >= lg_deadline_us)) {
        lg_conn_finish(c);
        return;
    }
    if (!c->have_req) {
        if (!lg_claim_request() || lg_sc->next(c->sc_state, &c->req) != 0) {
            lg_conn_finish(c);
            return;
        }
        c->have_req = true;
    }
    c->rlen = 0;
    c->hdr_len = 0;
    c->sent = 0;
    c->sent_at = lg_now_us();
    c->state = LG_SENDING;
    lg_conn_write(c);
}

/* Case-insensitive "name:" match at the start of a header line. */
static bool lg_header_is(const char *line, const char *end, const char *name, const char **value)
{
    size_t n = strlen(name);
    if ((size_t)(end - line) <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    *value = v;
    return true;
}

/* Parses the header block once it is complete. -1 on a malformed answer. */
static int lg_parse_head(struct lg_conn *c)
{
    char *p = c->rbuf, *end = c->rbuf + c->rlen;
    char *eoh = memmem(p, c->rlen, "\r\n\r\n", 4);
    if (eoh == NULL) return c->rlen > 65536 ? -1 : 0;
    c->hdr_len = (size_t)(eoh + 4 - p);
    if (c->rlen < 12 || memcmp(p, "HTTP/1.", 7) != 0) return -1;
    c->status = atoi(p + 9);
    c->content_length = -1;
    c->chunked = false;
    c->close_after = p[7] == '0'; /* HTTP/1.0 closes unless told otherwise; good enough */
    char *line = memchr(p, '\n', (size_t)(end - p)) + 1;
    while (line < eoh) {
        char *le = memchr(line, '\r', (size_t)(eoh + 2 - line));
        const char *v;
        if (lg_header_is(line, le, "content-length", &v))
            c->content_length = strtoll(v, NULL, 10);
        else if (lg_header_is(line, le, "transfer-encoding", &v))
            c->chunked = strncasecmp(v, "chunked", 7) == 0;
        else if (lg_header_is(line, le, "connection", &v))
            c->close_after = strncasecmp(v, "close", 5) == 0;
        line = le + 2;
    }
    if (c->status == 204 || c->status == 304 || (c->status >= 100 && c->status < 200))
        c->content_length = 0;
    c->chunk_pos = c->hdr_len;
    c->body_len = 0;
    return 1;
}

/*
 * Chunked bodies are decoded in place as they arrive: chunk data is moved down
 * to rbuf + hdr_len + body_len. Returns 1 when the last chunk is in, 0 when more
 * is needed, -1 on a malformed body.
 */
static int lg_parse_chunks(struct lg_conn *c)
{
    for (;;) {
        char *p = c->rbuf + c->chunk_pos, *end = c->rbuf + c->rlen;
        char *le = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (le == NULL) return 0;
        char *ep;
        unsigned long size = strtoul(p, &ep, 16);
        if (ep == p) return -1;
        if (size == 0) {
            /* Last chunk: no trailers expected, just the final CRLF. */
            if ((size_t)(end - le) < 4) return 0;
            if (memcmp(le + 2, "\r\n", 2) != 0) return -1;
            if ((size_t)(end - (le + 4)) != 0)
                return -1; /* bytes after the answer: we never pipeline */
            return 1;
        }
        char *data = le + 2;
        if ((size_t)(end - data) < size + 2) return 0;
        memmove(c->rbuf + c->hdr_len + c->body_len, data, size);
        c->body_len += size;
        /* The consumed bytes are now garbage; continue after the data's CRLF by
         * shifting the rest down so that chunk_pos follows the decoded body. */
        size_t rest = (size_t)(end - (data + size + 2));
        memmove(c->rbuf + c->hdr_len + c->body_len, data + size + 2, rest);
        c->rlen = c->hdr_len + c->body_len + rest;
        c->chunk_pos = c->hdr_len + c->body_len;
    }
}

static void lg_conn_read(struct lg_conn *c)
{
    if (c->rcap - c->rlen < 16384) {
        size_t ncap = c->rcap ? c->rcap * 2 : 65536;
        if (ncap > LG_RESP_MAX + 65536) {
            lg_conn_failed(c, false);
            return;
        }
        c->rbuf = realloc(c->rbuf, ncap);
        c->rcap = ncap;
    }
    ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen - 1);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        lg_conn_failed(c, false);
        return;
    }
    if (n == 0) {
        /* EOF: fine between answers with Connection: close, a failure otherwise. */
        lg_conn_failed(c, false);
        return;
    }
    if (c->t->measuring) c->t->stats.bytes_in += (uint64_t)n;
    if (c->state != LG_WAITING && c->state != LG_SENDING) {
        lg_conn_failed(c, false); /* bytes nobody asked for */
        return;
    }
    c->rlen += (size_t)n;
    if (c->hdr_len == 0) {
        int r = lg_parse_head(c);
        if (r < 0) {
            lg_conn_failed(c, false);
            return;
        }
        if (r == 0) return;
    }
    const char *body;
    size_t body_len;
    if (c->chunked) {
        int r = lg_parse_chunks(c);
        if (r < 0) {
            lg_conn_failed(c, false);
            return;
        }
        if (r == 0) return;
        body = c->rbuf + c->hdr_len;
        body_len = c->body_len;
    } else if (c->content_length >= 0) {
        if (c->rlen < c->hdr_len + (size_t)c->content_length) return;
        if (c->rlen > c->hdr_len + (size_t)c->content_length) {
            lg_conn_failed(c, false);
            return;
        }
        body = c->rbuf + c->hdr_len;
        body_len = (size_t)c->content_length;
    } else {
        /* Body until EOF: not something an API server should send; unsupported. */
        lg_conn_failed(c, false);
        return;
    }
    c->rbuf[c->hdr_len + body_len] = '\0';
    bool close_after = c->close_after;
    lg_conn_answered(c, c->status, body, body_len);
    if (c->state == LG_DONE) return;
    if (close_after) {
        if (c->t->measuring) c->t->stats.reconnects++;
        lg_conn_close(c);
        lg_conn_connect(c);
        return;
    }
    lg_conn_issue(c);
}

static void lg_conn_event(struct lg_conn *c, uint32_t events)
{
    if (c->state == LG_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            lg_conn_failed(c, false);
            return;
        }
        if (!(events & EPOLLOUT)) return;
        lg_set_out(c, false);
        lg_conn_issue(c);
        return;
    }
    if ((events & EPOLLOUT) && c->state == LG_SENDING) lg_conn_write(c);
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->fd >= 0) lg_conn_read(c);
}

/* Timeouts and reconnects after a back-off; run every few milliseconds. */
static void lg_thread_sweep(struct lg_thread *t, uint64_t now)
{
    uint64_t timeout_us = (uint64_t)(opts.timeout_s * 1e6);
    for (int i = 0; i < t->nconns; i++) {
        struct lg_conn *c = &t->conns[i];
        switch (c->state) {
        case LG_BACKOFF:
            if (now >= c->retry_at) {
                if (atomic_load(&lg_stop) || (lg_deadline_us && now >= lg_deadline_us))
                    lg_conn_finish(c);
                else
                    lg_conn_connect(c);
            }
            break;
        case LG_CONNECTING:
        case LG_SENDING:
        case LG_WAITING:
            if (now - c->sent_at > timeout_us) lg_conn_failed(c, true);
            break;
        default:
            break;
        }
    }
}

static void *lg_thread_main(void *arg)
{
    struct lg_thread *t = arg;
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    t->active = t->nconns;
    for (int i = 0; i < t->nconns; i++)
        lg_conn_connect(&t->conns[i]);
    t->measuring = lg_warm_end_us == lg_start_us;
    t->measure_from_us = lg_start_us;
    struct epoll_event events[256];
    uint64_t last_sweep = lg_now_us();
    while (t->active > 0) {
        int n = epoll_wait(t->ep, events, 256, 5);
        for (int i = 0; i < n; i++)
            lg_conn_event(events[i].data.ptr, events[i].events);
        uint64_t now = lg_now_us();
        if (!t->measuring && now >= lg_warm_end_us) {
            memset(&t->stats, 0, sizeof(t->stats));
            t->measuring = true;
            t->measure_from_us = lg_warm_end_us;
        }
        if (lg_deadline_us && now >= lg_deadline_us) {
            /* Answers still in flight at the deadline are not counted. */
            for (int i = 0; i < t->nconns; i++)
                lg_conn_finish(&t->conns[i]);
            break;
        }
        if (atomic_load(&lg_stop)) {
            for (int i = 0; i < t->nconns; i++)
                lg_conn_finish(&t->conns[i]);
            break;
        }
        if (now - last_sweep >= 5000) {
            lg_thread_sweep(t, now);
            last_sweep = now;
        }
    }
    /* The window ends at the deadline, or when the work ran out before it. */
    uint64_t now = lg_now_us();
    t->end_us = lg_deadline_us && now > lg_deadline_us ? lg_deadline_us : now;
    if (!lg_deadline_us && t->last_answer_us) t->end_us = t->last_answer_us;
    close(t->ep);
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f) {
        unsigned long long cpu = 0, wait = 0;
        if (fscanf(f, "%llu %llu", &cpu, &wait) == 2) {
            t->cpu_ns = cpu;
            t->run_delay_ns = wait;
        }
        fclose(f);
    }
    return NULL;
}

/* ---------- report ---------- */

static void lg_report(const struct lg_stats *s, double secs)
{
    const struct lg_hist *h = &s->all;
    double rps = secs > 0 ? (double)h->total / secs : 0;
    double ips = secs > 0 ? (double)s->iterations / secs : 0;
    uint64_t non2xx = 0;
    for (int i = 0; i < 600; i++)
        if (i < 200 || i >= 300) non2xx += s->status[i];
    const char *label = opts.label ? opts.label : opts.scenario;
#define MS(us) ((double)(us) / 1000.0)

    printf(
        "| scenario | req/s | %s/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | conn errors |\n",
        lg_sc->iteration);
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    printf("| %s | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %" PRIu64 " | %" PRIu64 " |\n", label,
           rps, ips, MS(lg_hist_quantile(h, .50)), MS(lg_hist_quantile(h, .90)),
           MS(lg_hist_quantile(h, .99)), MS(h->max), non2xx, s->conn_errors + s->timeouts);

    printf("scenario=%s\nlabel=%s\nconnections=%d\nthreads=%d\nduration_s=%.3f\n", opts.scenario,
           label, opts.connections, opts.threads, secs);
    printf("requests=%" PRIu64 "\nrps=%.1f\n", h->total, rps);
    printf("iterations=%" PRIu64 "\niterations_per_s=%.1f\niteration_kind=%s\n", s->iterations, ips,
           lg_sc->iteration);
    printf("p50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\nmean_ms=%.3f\n",
           MS(lg_hist_quantile(h, .50)), MS(lg_hist_quantile(h, .90)), MS(lg_hist_quantile(h, .99)),
           MS(lg_hist_quantile(h, .999)), MS(h->max),
           h->total ? MS((double)h->sum / (double)h->total) : 0.0);
    printf("non_2xx=%" PRIu64 "\nconn_errors=%" PRIu64 "\ntimeouts=%" PRIu64 "\nreconnects=%" PRIu64
           "\nbytes_in=%" PRIu64 "\n",
           non2xx, s->conn_errors, s->timeouts, s->reconnects, s->bytes_in);
    for (int i = 0; i < 600; i++)
        if (s->status[i]) printf("status_%d=%" PRIu64 "\n", i, s->status[i]);
    for (int i = 0; i < s->ncodes; i++)
        printf("code_%s=%" PRIu64 "\n", s->codes[i].code, s->codes[i].n);
    for (int k = 0; lg_sc->steps[k]; k++) {
        const struct lg_hist *sh = &s->step[k];
        if (sh->total == 0) continue;
        const char *n = lg_sc->steps[k];
        printf("step_%s_count=%" PRIu64 "\nstep_%s_rps=%.1f\n", n, sh->total, n,
               secs > 0 ? (double)sh->total / secs : 0);
        printf(
            "step_%s_p50_ms=%.3f\nstep_%s_p90_ms=%.3f\nstep_%s_p99_ms=%.3f\nstep_%s_max_ms=%.3f\n",
            n, MS(lg_hist_quantile(sh, .50)), n, MS(lg_hist_quantile(sh, .90)), n,
            MS(lg_hist_quantile(sh, .99)), n, MS(sh->max));
    }

    fprintf(stderr, "loadgen %s: %" PRIu64 " requests in %.2f s: %.0f req/s, %.0f %s/s\n", label,
            h->total, secs, rps, ips, lg_sc->iteration);
    fprintf(stderr, "  latency ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
            MS(lg_hist_quantile(h, .50)), MS(lg_hist_quantile(h, .90)),
            MS(lg_hist_quantile(h, .99)), MS(h->max));
    for (int k = 0; lg_sc->steps[k]; k++) {
        const struct lg_hist *sh = &s->step[k];
        if (sh->total && lg_sc->steps[1])
            fprintf(stderr, "  %-10s %8" PRIu64 " req  p50 %.2f  p99 %.2f  max %.2f ms\n",
                    lg_sc->steps[k], sh->total, MS(lg_hist_quantile(sh, .50)),
                    MS(lg_hist_quantile(sh, .99)), MS(sh->max));
    }
    if (non2xx || s->conn_errors || s->timeouts) {
        fprintf(stderr, "  statuses:");
        for (int i = 0; i < 600; i++)
            if (s->status[i]) fprintf(stderr, " %d×%" PRIu64, i, s->status[i]);
        for (int i = 0; i < s->ncodes; i++)
            fprintf(stderr, " %s×%" PRIu64, s->codes[i].code, s->codes[i].n);
        fprintf(stderr, "  conn errors %" PRIu64 ", timeouts %" PRIu64 "\n", s->conn_errors,
                s->timeouts);
    }
#undef MS
}

/* ---------- main ---------- */

static void lg_usage(void)
{
    fprintf(stderr,
            "usage: loadgen SCENARIO --url http://HOST:PORT[/path] [options]\n"
            "scenarios:\n"
            "  get       GETs round-robin over --url-file F (one path a line), else --url's path\n"
            "  checkout  --tokens F --skus F: 3 cart adds, checkout, pay per iteration\n"
            "  flash     --tokens F --room ID --item ID [--pay]: live-room buys of 1 unit\n"
            "options:\n"
            "  -c, --connections N   keep-alive connections (64)\n"
            "  -t, --threads N       event-loop threads, 1..2 (1)\n"
            "  -d, --duration S      measured seconds (10); 0 = until --requests/--iterations\n"
            "  -w, --warmup S        seconds run before measuring (0)\n"
            "  -n, --requests N      stop after N requests\n"
            "  -i, --iterations N    stop after N iterations begin\n"
            "      --timeout S       per-request timeout (10)\n"
            "  -H, --header 'K: V'   extra request header (repeatable)\n"
            "      --stop-on CODE    a connection stops when it gets problem code CODE\n"
            "      --ids-out FILE    flash: write every acknowledged order id to FILE\n"
            "      --no-keys         send no Idempotency-Key (to measure what keys cost)\n"
            "      --label NAME      name in the Markdown row\n");
    exit(2);
}

static void lg_on_signal(int sig)
{
    (void)sig;
    atomic_store(&lg_stop, true);
}

static void lg_parse_url(const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0) p += 7;
    const char *slash = strchr(p, '/');
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    if (hostlen == 0 || hostlen >= sizeof(opts.host)) {
        fprintf(stderr, "loadgen: bad --url %s\n", url);
        exit(2);
    }
    memcpy(opts.host, p, hostlen);
    opts.host[hostlen] = '\0';
    opts.base_path = slash ? slash : "/";
    char ip[64];
    snprintf(ip, sizeof(ip), "%s", opts.host);
    int port = 80;
    char *colon = strrchr(ip, ':');
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    if (strcmp(ip, "localhost") == 0) snprintf(ip, sizeof(ip), "127.0.0.1");
    opts.addr.sin_family = AF_INET;
    opts.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &opts.addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --url wants an IPv4 address, got %s\n", ip);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') lg_usage();
    opts.scenario = argv[1];
    for (size_t i = 0; i < sizeof(lg_scenarios) / sizeof(lg_scenarios[0]); i++)
        if (strcmp(lg_scenarios[i].name, opts.scenario) == 0) lg_sc = &lg_scenarios[i];
    if (lg_sc == NULL) {
        fprintf(stderr, "loadgen: unknown scenario %s\n", opts.scenario);
        lg_usage();
    }
    bool duration_given = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(s, l) ((strcmp(a, s) == 0 || strcmp(a, l) == 0) && v && ++i)
        if (OPT("-u", "--url"))
            opts.url = v;
        else if (OPT("-c", "--connections"))
            opts.connections = atoi(v);
        else if (OPT("-t", "--threads"))
            opts.threads = atoi(v);
        else if (OPT("-d", "--duration"))
            opts.duration_s = atof(v), duration_given = true;
        else if (OPT("-w", "--warmup"))
            opts.warmup_s = atof(v);
        else if (OPT("-n", "--requests"))
            opts.max_requests = strtoull(v, NULL, 10);
        else if (OPT("-i", "--iterations"))
            opts.max_iterations = strtoull(v, NULL, 10);
        else if (OPT("--timeout", "--timeout"))
            opts.timeout_s = atof(v);
        else if (OPT("--label", "--label"))
            opts.label = v;
        else if (OPT("--url-file", "--url-file"))
            opts.url_file = v;
        else if (OPT("--tokens", "--tokens"))
            opts.tokens_file = v;
        else if (OPT("--skus", "--skus"))
            opts.skus_file = v;
        else if (OPT("--room", "--room"))
            opts.room_id = v;
        else if (OPT("--item", "--item"))
            opts.item_id = v;
        else if (OPT("--stop-on", "--stop-on"))
            opts.stop_on_code = v;
        else if (OPT("--ids-out", "--ids-out"))
            opts.ids_out = v;
        else if (OPT("-H", "--header")) {
            if (opts.nheaders == LG_MAX_HEADERS) lg_usage();
            opts.headers[opts.nheaders++] = v;
        } else if (strcmp(a, "--pay") == 0)
            opts.flash_pay = true;
        else if (strcmp(a, "--no-keys") == 0)
            opts.no_keys = true;
        else {
            fprintf(stderr, "loadgen: bad option %s\n", a);
            lg_usage();
        }
#undef OPT
    }
    if (opts.url == NULL) lg_usage();
    /* A request or iteration budget without -d runs until the budget is spent. */
    if (!duration_given && (opts.max_requests || opts.max_iterations)) opts.duration_s = 0;
    if (opts.connections < 1 || opts.connections > 10000 || opts.threads < 1 || opts.threads > 2 ||
        opts.threads > opts.connections || opts.duration_s < 0 || opts.warmup_s < 0 ||
        opts.timeout_s <= 0) {
        fprintf(stderr, "loadgen: connections 1..10000, threads 1..2, durations >= 0\n");
        exit(2);
    }
    if (opts.duration_s == 0 && !opts.max_requests && !opts.max_iterations) {
        fprintf(stderr, "loadgen: -d 0 needs --requests or --iterations\n");
        exit(2);
    }
    lg_parse_url(opts.url);
    size_t off = 0;
    for (int i = 0; i < opts.nheaders; i++)
        off += (size_t)snprintf(opts.extra_headers + off, sizeof(opts.extra_headers) - off,
                                "%s\r\n", opts.headers[i]);
    if (off >= sizeof(opts.extra_headers)) {
        fprintf(stderr, "loadgen: headers too long\n");
        exit(2);
    }
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(lg_run_id, sizeof(lg_run_id), "%lx%x", (unsigned long)ts.tv_sec,
                 (unsigned)(getpid() & 0xffff) ^ (unsigned)(ts.tv_nsec & 0xffff));
    }

    lg_sc->setup();

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, lg_on_signal);
    signal(SIGTERM, lg_on_signal);

    struct lg_thread *threads = calloc((size_t)opts.threads, sizeof(*threads));
    struct lg_conn *conns = calloc((size_t)opts.connections, sizeof(*conns));
    for (int i = 0; i < opts.connections; i++) {
        conns[i].fd = -1;
        conns[i].sc_state = lg_sc->conn_new(i, opts.connections);
    }
    int per = opts.connections / opts.threads, extra = opts.connections % opts.threads, at = 0;
    for (int t = 0; t < opts.threads; t++) {
        threads[t].index = t;
        threads[t].conns = conns + at;
        threads[t].nconns = per + (t < extra);
        for (int i = 0; i < threads[t].nconns; i++)
            threads[t].conns[i].t = &threads[t];
        at += threads[t].nconns;
    }

    lg_start_us = lg_now_us();
    lg_warm_end_us = lg_start_us + (uint64_t)(opts.warmup_s * 1e6);
    lg_deadline_us = opts.duration_s > 0 ? lg_warm_end_us + (uint64_t)(opts.duration_s * 1e6) : 0;
    for (int t = 1; t < opts.threads; t++)
        pthread_create(&threads[t].tid, NULL, lg_thread_main, &threads[t]);
    lg_thread_main(&threads[0]);
    for (int t = 1; t < opts.threads; t++)
        pthread_join(threads[t].tid, NULL);

    static struct lg_stats total;
    uint64_t end = 0;
    for (int t = 0; t < opts.threads; t++) {
        lg_stats_merge(&total, &threads[t].stats);
        if (threads[t].end_us > end) end = threads[t].end_us;
    }
    double secs = end > lg_warm_end_us ? (double)(end - lg_warm_end_us) / 1e6 : 0;
    lg_report(&total, secs);
    uint64_t cpu_ns = 0, run_delay_ns = 0;
    for (int t = 0; t < opts.threads; t++) {
        cpu_ns += threads[t].cpu_ns;
        run_delay_ns += threads[t].run_delay_ns;
    }
    printf("cpu_s=%.3f\nrun_delay_s=%.3f\n", (double)cpu_ns / 1e9, (double)run_delay_ns / 1e9);
    if (flash_ids) fclose(flash_ids);
    uint64_t answered = 0;
    for (int i = 1; i < 600; i++)
        answered += total.status[i];
    return answered == 0 && total.all.total == 0 ? 1 : 0;
}
