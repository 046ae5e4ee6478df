/*
 * server.c — http.h on top of h2o 2.2.5 (libh2o-evloop).
 *
 * Traps of this h2o version (see shared/MEASURED.md): paths registered with
 * h2o are prefixes, so one catch-all handler does our own routing;
 * h2o_evloop_run returns -1 when a signal interrupts it; h2o_send_inline
 * does not set content-length; the body is buffered before on_req, bounded
 * by max_request_entity_size (h2o answers 413 itself past that bound, so we
 * set it well above cfg->max_body and answer problem+json ourselves below).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <h2o.h>
#include "http/http.h"
#include "http/router.h"
#include "http/static.h"
#include "domain/err.h"
#include "util/log.h"
#include "util/map.h"

struct http_req_priv {
    h2o_req_t *req; /* NULL once h2o has disposed of the request */
    struct loop *loop;
    int answered, disposed;
    int64_t t0_us;
    /* streaming */
    h2o_generator_t gen;
    int streaming, sending, close_after, stream_dead;
    http_handoff_fn handoff; /* set: hand the socket over once nothing is queued */
    void *handoff_arg;
    int handed;  /* ready() has run */
    int in_post; /* a posted function runs on it */
    char *inflight;
    char *pending;
    size_t pending_len, pending_cap, cap;
};

struct reqbox {
    struct http_req pub;
    struct http_req_priv priv;
};

struct loop {
    int index;
    pthread_t tid;
    int fd;
    h2o_evloop_t *evloop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    char *logbuf;
    size_t loglen;
    int64_t last_tick;
};

struct post_msg {
    h2o_multithread_message_t super;
    struct reqbox *box;
    void (*fn)(struct http_req *, void *);
    void *arg;
};

static const struct http_config *cfg;
static h2o_globalconf_t h2o_config;
static struct loop *loops;
static int nloops;
static volatile sig_atomic_t stopping;
static struct router router;
static struct static_files statics;

static _Atomic uint64_t st_requests, st_in_flight, st_streams, st_class[6], st_lat[16], st_lat_sum;

#define LOGBUF_SIZE 65536

void http_stop(void)
{
    stopping = 1;
}

int http_threads(void)
{
    return nloops;
}

void http_stats_get(struct http_stats *o)
{
    memset(o, 0, sizeof *o);
    o->requests = st_requests;
    o->in_flight = st_in_flight;
    o->open_streams = st_streams;
    for (int i = 0; i < 6; i++)
        o->responses_by_class[i] = st_class[i];
    for (int i = 0; i < 16; i++)
        o->latency_buckets[i] = st_lat[i];
    o->latency_sum_us = st_lat_sum;
}

static void log_flush(struct loop *l)
{
    if (!l->loglen) return;
    size_t off = 0;
    while (off < l->loglen) {
        ssize_t w = write(2, l->logbuf + off, l->loglen - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    l->loglen = 0;
}

static const char *method_name(enum http_method m)
{
    static const char *n[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER"};
    return n[m];
}

static void box_maybe_free(struct reqbox *b)
{
    /* Inside a posted function the box is freed after it returns. */
    if (b->priv.answered && b->priv.disposed && !b->priv.in_post) {
        free(b->priv.inflight);
        free(b->priv.pending);
        free(b);
    }
}

/* Bookkeeping shared by every way a request ends: counters, access log. */
static void mark_answered(struct reqbox *b, int status, size_t bytes)
{
    if (b->priv.answered) return;
    b->priv.answered = 1;
    st_in_flight--;
    int cls = status / 100;
    st_class[cls >= 1 && cls <= 5 ? cls : 0]++;
    int64_t us = mono_us() - b->priv.t0_us;
    int bucket = 0;
    while (bucket < 15 && us > (100LL << bucket))
        bucket++;
    st_lat[bucket]++;
    st_lat_sum += (uint64_t)us;
    struct loop *l = b->priv.loop;
    if (cfg->access_log && l) {
        if (l->loglen > LOGBUF_SIZE - 600) log_flush(l);
        char ts[32];
        int n = snprintf(l->logbuf + l->loglen, 600, "%s access %s %.*s %d %zu %.3fms\n",
                         time_fmt(now_ms(), ts), method_name(b->pub.method),
                         (int)(b->pub.path.len > 300 ? 300 : b->pub.path.len), b->pub.path.ptr,
                         status, bytes, us / 1000.0);
        if (n > 0) l->loglen += (size_t)(n < 600 ? n : 599);
    }
}

static void stream_handoff_now(struct reqbox *b);

static void on_dispose(void *p)
{
    struct reqbox *b = *(struct reqbox **)p;
    b->priv.req = NULL;
    b->priv.disposed = 1;
    if (b->priv.streaming && !b->priv.answered) b->priv.stream_dead = 1;
    /* Gone before the handoff: the owner still hears of it (fd -1). */
    if (b->priv.handoff && !b->priv.handed) stream_handoff_now(b);
    box_maybe_free(b);
}

int http_gone(struct http_req *r)
{
    return r->priv->req == NULL || r->priv->stream_dead;
}

void *http_alloc(struct http_req *r, size_t n)
{
    if (r->priv->req) return h2o_mem_alloc_pool(&r->priv->req->pool, n);
    /* Gone: the caller only needs scratch memory that is never sent. Leak-free
     * fallback is a shared chunk tied to nothing; this path is rare. */
    static __thread char scratch[65536];
    return n <= sizeof scratch ? scratch : NULL;
}

const char *http_header(struct http_req *r, const char *name, size_t *len)
{
    h2o_req_t *req = r->priv->req;
    if (!req) return NULL;
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0) return NULL;
    if (len) *len = req->headers.entries[i].value.len;
    return req->headers.entries[i].value.base;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *url_decode(struct http_req *r, const char *s, size_t len)
{
    char *out = http_alloc(r, len + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return out;
}

const char *http_query(struct http_req *r, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = r->query.ptr, *end = r->query.ptr + r->query.len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *seg_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(seg_end - p));
        const char *kend = eq ? eq : seg_end;
        if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0)
            return eq ? url_decode(r, eq + 1, (size_t)(seg_end - eq - 1)) : url_decode(r, "", 0);
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
    h2o_req_t *req = r->priv->req;
    if (!req) return;
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL,
                          h2o_strdup(&req->pool, value, SIZE_MAX).base, strlen(value));
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "OK";
    }
}

void http_respond(struct http_req *r, int status, const char *ctype, const char *body, size_t len)
{
    struct reqbox *b = (struct reqbox *)r;
    if (b->priv.answered) return;
    h2o_req_t *req = b->priv.req;
    mark_answered(b, status, len);
    if (req) {
        req->res.status = status;
        req->res.reason = reason(status);
        if (ctype)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                           strlen(ctype));
        req->res.content_length = len;
        if (r->method == HTTP_HEAD) len = 0;
        h2o_send_inline(req, body, len);
    }
    box_maybe_free(b);
}

void http_respond_json(struct http_req *r, int status, json_t *j)
{
    if (!j) {
        http_respond(r, status, NULL, "", 0);
        return;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
    json_decref(j);
    if (!s) {
        http_problem(r, ERR_INTERNAL, "could not encode the answer", NULL);
        return;
    }
    http_respond(r, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
}

void http_problem(struct http_req *r, int err, const char *detail, json_t *extra)
{
    const struct err_info *e = err_info(err);
    json_t *p = json_object();
    char type[96];
    snprintf(type, sizeof type, "https://souk.dev/problems/%s", e->code);
    json_object_set_new(p, "type", json_string(type));
    json_object_set_new(p, "title", json_string(e->title));
    json_object_set_new(p, "status", json_integer(e->status));
    json_object_set_new(p, "code", json_string(e->code));
    if (detail) json_object_set_new(p, "detail", json_string(detail));
    if (extra) {
        json_object_update(p, extra);
        json_decref(extra);
    }
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    http_respond(r, e->status, "application/problem+json", s, strlen(s));
    free(s);
}

/* ---- cross-thread completion ---- */

void http_post(struct http_req *r, void (*fn)(struct http_req *, void *), void *arg)
{
    struct reqbox *b = (struct reqbox *)r;
    struct post_msg *m = xcalloc(1, sizeof *m);
    m->box = b;
    m->fn = fn;
    m->arg = arg;
    h2o_multithread_send_message(&b->priv.loop->receiver, &m->super);
}

static void on_messages(h2o_multithread_receiver_t *recv, h2o_linklist_t *messages)
{
    (void)recv;
    while (!h2o_linklist_is_empty(messages)) {
        struct post_msg *m = H2O_STRUCT_FROM_MEMBER(struct post_msg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        m->box->priv.in_post = 1;
        m->fn(&m->box->pub, m->arg);
        m->box->priv.in_post = 0;
        box_maybe_free(m->box);
        free(m);
    }
}

/* ---- streaming ---- */

static void stream_flush(struct reqbox *b);

static void stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct reqbox *b = H2O_STRUCT_FROM_MEMBER(struct reqbox, priv.gen, gen);
    b->priv.sending = 0;
    free(b->priv.inflight);
    b->priv.inflight = NULL;
    stream_flush(b);
    if (b->priv.handoff && !b->priv.handed && !b->priv.sending) stream_handoff_now(b);
}

static void stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct reqbox *b = H2O_STRUCT_FROM_MEMBER(struct reqbox, priv.gen, gen);
    b->priv.stream_dead = 1;
}

static void stream_flush(struct reqbox *b)
{
    h2o_req_t *req = b->priv.req;
    if (!req || b->priv.stream_dead || b->priv.sending) return;
    if (b->priv.pending_len) {
        h2o_iovec_t buf = h2o_iovec_init(b->priv.pending, b->priv.pending_len);
        b->priv.inflight = b->priv.pending;
        b->priv.pending = NULL;
        b->priv.pending_len = b->priv.pending_cap = 0;
        b->priv.sending = 1;
        h2o_send(req, &buf, 1,
                 b->priv.close_after ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
        if (b->priv.close_after) b->priv.stream_dead = 1;
    } else if (b->priv.close_after) {
        b->priv.sending = 1;
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        b->priv.stream_dead = 1;
    }
}

void http_stream_begin(struct http_req *r, int status, const char *ctype, size_t cap)
{
    struct reqbox *b = (struct reqbox *)r;
    h2o_req_t *req = b->priv.req;
    b->priv.streaming = 1;
    b->priv.cap = cap;
    st_streams++;
    if (!req) {
        b->priv.stream_dead = 1;
        return;
    }
    req->res.status = status;
    req->res.reason = reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                   strlen(ctype));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    b->priv.gen.proceed = stream_proceed;
    b->priv.gen.stop = stream_stop;
    h2o_start_response(req, &b->priv.gen);
    b->priv.sending = 1;
    h2o_send(req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
}

int http_stream_write(struct http_req *r, const char *data, size_t len)
{
    struct reqbox *b = (struct reqbox *)r;
    if (!b->priv.req || b->priv.stream_dead || b->priv.close_after || b->priv.handoff) return -1;
    if (b->priv.pending_len + len > b->priv.cap) {
        /* A slow reader: drop it rather than buffer without bound. */
        b->priv.close_after = 1;
        b->priv.pending_len = 0;
        stream_flush(b);
        return -1;
    }
    if (b->priv.pending_len + len > b->priv.pending_cap) {
        size_t nc = b->priv.pending_cap ? b->priv.pending_cap * 2 : 4096;
        while (nc < b->priv.pending_len + len)
            nc *= 2;
        b->priv.pending = xrealloc(b->priv.pending, nc);
        b->priv.pending_cap = nc;
    }
    memcpy(b->priv.pending + b->priv.pending_len, data, len);
    b->priv.pending_len += len;
    stream_flush(b);
    return 0;
}

int http_stream_alive(struct http_req *r)
{
    struct reqbox *b = (struct reqbox *)r;
    h2o_req_t *req = b->priv.req;
    if (!req || b->priv.stream_dead) return 0;
    if (!req->conn->callbacks->get_socket) return 1;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (!sock) return 0;
    char c;
    ssize_t n = recv(h2o_socket_get_fd(sock), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        b->priv.stream_dead = 1;
        return 0;
    }
    return 1;
}

static void stream_handoff_now(struct reqbox *b)
{
    b->priv.handed = 1;
    int fd = -1;
    h2o_req_t *req = b->priv.req;
    if (req && !b->priv.stream_dead) {
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
        /* Lent, not duplicated: a viewer must cost one descriptor, not two
         * (10,000 viewers against a 20,000 limit stalled accept()). */
        if (sock) fd = h2o_socket_get_fd(sock);
    }
    /* From here h2o must never write: the owner's bytes follow the last chunk
     * h2o framed (b->priv.handoff stays set, so http_stream_write fails). */
    if (fd < 0) b->priv.stream_dead = 1;
    b->priv.handoff(&b->pub, fd, req && req->version == 0x101, b->priv.handoff_arg);
}

int http_stream_handoff(struct http_req *r, http_handoff_fn ready, void *arg)
{
    struct reqbox *b = (struct reqbox *)r;
    h2o_req_t *req = b->priv.req;
    if (!req || b->priv.stream_dead || b->priv.close_after || b->priv.handoff) return -1;
    if (req->version < 0x100 || req->version >= 0x200 || !req->conn->callbacks->get_socket ||
        !req->conn->callbacks->get_socket(req->conn))
        return -1;
    b->priv.handoff = ready;
    b->priv.handoff_arg = arg;
    if (!b->priv.sending && !b->priv.pending_len) stream_handoff_now(b);
    return 0;
}

void http_stream_close(struct http_req *r)
{
    struct reqbox *b = (struct reqbox *)r;
    if (b->priv.answered) return;
    st_streams--;
    if (b->priv.req && !b->priv.stream_dead) {
        b->priv.close_after = 1;
        if (b->priv.handoff) b->priv.pending_len = 0; /* the owner shut the socket down */
        stream_flush(b);
    }
    mark_answered(b, 200, 0);
    box_maybe_free(b);
}

/* ---- request entry ---- */

static enum http_method parse_method(h2o_iovec_t m)
{
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET"))) return HTTP_GET;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("POST"))) return HTTP_POST;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PUT"))) return HTTP_PUT;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PATCH"))) return HTTP_PATCH;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE"))) return HTTP_DELETE;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("HEAD"))) return HTTP_HEAD;
    return HTTP_OTHER;
}

static __thread struct loop *cur_loop;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    struct reqbox *b = xcalloc(1, sizeof *b);
    struct http_req *r = &b->pub;
    r->priv = &b->priv;
    b->priv.req = req;
    b->priv.loop = cur_loop;
    b->priv.t0_us = mono_us();
    r->loop = cur_loop->index;
    struct reqbox **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, on_dispose);
    *slot = b;
    st_requests++;
    st_in_flight++;

    r->method = parse_method(req->method);
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    r->path = (struct slice){req->path.base, plen};
    if (req->query_at != SIZE_MAX)
        r->query =
            (struct slice){req->path.base + req->query_at + 1, req->path.len - req->query_at - 1};
    r->body = (struct slice){req->entity.base ? req->entity.base : "", req->entity.len};

    if (stopping) {
        http_problem(r, ERR_UNAVAILABLE, NULL, NULL);
        return 0;
    }
    if (req->entity.len > cfg->max_body) {
        http_problem(r, ERR_TOO_LARGE, "the body is over the size limit", NULL);
        return 0;
    }
    enum http_method m = r->method == HTTP_HEAD ? HTTP_GET : r->method;
    int found = router_match(&router, m, r->path.ptr, r->path.len, r);
    if (found == ROUTER_MATCH) {
        r->route->handler(r);
        return 0;
    }
    if (found == ROUTER_WRONG_METHOD) {
        http_problem(r, ERR_METHOD, NULL, NULL);
        return 0;
    }
    if (m == HTTP_GET && statics.count && !(r->path.len >= 5 && !memcmp(r->path.ptr, "/api/", 5))) {
        const struct static_file *f = static_find(&statics, r->path.ptr, r->path.len);
        if (f) {
            http_add_header(r, "cache-control",
                            f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
            http_respond(r, 200, f->ctype, f->data, f->len);
            return 0;
        }
    }
    http_problem(r, ERR_NOT_FOUND, "no such path", NULL);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err) return;
    struct loop *l = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock) return;
    int one = 1;
    setsockopt(h2o_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    h2o_accept(&l->accept_ctx, sock);
}

static int open_listener(const char *host, int port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        log_err("listen: '%s' is not an IPv4 address", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 4096) != 0) {
        log_err("listen on %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    cur_loop = l;
    char name[16];
    snprintf(name, sizeof name, "souk-loop%d", l->index);
    pthread_setname_np(pthread_self(), name);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    l->evloop = h2o_evloop_create();
    h2o_context_init(&l->ctx, l->evloop, &h2o_config);
    l->accept_ctx.ctx = &l->ctx;
    l->accept_ctx.hosts = h2o_config.hosts;
    l->queue = h2o_multithread_create_queue(l->evloop);
    h2o_multithread_register_receiver(l->queue, &l->receiver, on_messages);
    l->listener = h2o_evloop_socket_create(l->evloop, l->fd, H2O_SOCKET_FLAG_DONT_READ);
    l->listener->data = l;
    h2o_socket_read_start(l->listener, on_accept);

    int64_t drain_deadline = 0;
    for (;;) {
        h2o_evloop_run(l->evloop, cfg->tick_ms > 0 && cfg->tick_ms < 100 ? cfg->tick_ms : 100);
        int64_t now = now_ms();
        if (cfg->on_tick && now - l->last_tick >= cfg->tick_ms) {
            l->last_tick = now;
            cfg->on_tick(l->index);
        }
        log_flush(l);
        if (stopping) {
            if (!drain_deadline) {
                drain_deadline = now + 10000;
                h2o_socket_read_stop(l->listener);
                h2o_socket_close(l->listener);
                l->listener = NULL;
            }
            /* Streams never finish on their own: they are not in-flight work. */
            if (st_in_flight <= st_streams || now > drain_deadline) break;
        }
    }
    log_flush(l);
    return NULL;
}

/* SO_REUSEPORT (one listener per loop) would also let a second process
 * share the port silently and take half the connections: first make sure
 * nobody else holds it. */
static int port_free(const char *host, int port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int ok = bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    if (!ok) log_err("listen on %s:%d: %s", host, port, strerror(errno));
    close(fd);
    return ok;
}

int http_serve(const struct http_config *c)
{
    cfg = c;
    if (!port_free(c->host, c->port)) return -1;
    nloops = c->threads > 0 ? c->threads : 1;
    router_init(&router, c->routes, c->nroutes);
    if (c->static_dir) static_load(&statics, c->static_dir);
    loops = xcalloc((size_t)nloops, sizeof *loops);
    for (int i = 0; i < nloops; i++) {
        loops[i].index = i;
        loops[i].logbuf = xmalloc(LOGBUF_SIZE);
        if ((loops[i].fd = open_listener(c->host, c->port)) < 0) return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    h2o_config_init(&h2o_config);
    h2o_config.max_request_entity_size = c->max_body * 16;
    h2o_hostconf_t *host =
        h2o_config_register_host(&h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *h = h2o_create_handler(path, sizeof *h);
    h->on_req = on_req;

    for (int i = 0; i < nloops; i++)
        pthread_create(&loops[i].tid, NULL, loop_main, &loops[i]);
    fprintf(stderr, "souk: listening on http://%s:%d\n", c->host, c->port);
    for (int i = 0; i < nloops; i++)
        pthread_join(loops[i].tid, NULL);
    return 0;
}
