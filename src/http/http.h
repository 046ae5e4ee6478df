/*
 * http — the HTTP/1.1 server souk's handlers run in. No handler sees h2o:
 * this header is the whole surface.
 *
 * Threads: `threads` event loops, each with its own SO_REUSEPORT listener.
 * A handler runs on the loop thread that accepted the connection and either
 * answers at once (http_respond*) or later: it returns without answering and
 * some other thread calls http_post(), which runs a function on the request's
 * own loop thread, where it answers. Every http_* call except http_post() must
 * be made on the request's loop thread.
 *
 * Lifetime: a struct http_req lives until it has been answered (or streamed
 * and closed) AND h2o has finished with the connection's request. If the
 * client goes away first, http_gone() turns 1 and answers are dropped
 * silently; a pending http_post() still runs so its owner can free its arg.
 *
 * Errors are application/problem+json (http_problem); routes come from one
 * table (struct http_route) given to http_serve.
 */
#ifndef SOUK_HTTP_H
#define SOUK_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OTHER };

struct slice {
    const char *ptr;
    size_t len;
};

struct http_req;
typedef void (*http_handler)(struct http_req *r);

/* One row of the route table. Patterns are absolute paths whose segments may
 * be ":name" (one path segment, passed in params[] in order). */
struct http_route {
    enum http_method method;
    const char *pattern;
    http_handler handler;
};

#define HTTP_MAX_PARAMS 4

struct http_req {
    enum http_method method;
    struct slice path;  /* without the query string */
    struct slice query; /* after '?', possibly empty */
    struct slice body;
    struct slice params[HTTP_MAX_PARAMS];
    int nparams;
    const struct http_route *route;
    void *caller; /* the API layer's authenticated caller, or NULL */
    int64_t caller_id;
    int loop;  /* index of the loop thread that owns this request */
    void *app; /* the API layer's per-request state (e.g. its idempotency record) */
    /* private to http/server.c */
    struct http_req_priv *priv;
};

struct http_config {
    const char *host;
    int port;
    int threads;
    const struct http_route *routes;
    size_t nroutes;
    size_t max_body;        /* larger bodies get 413 too_large */
    const char *static_dir; /* served at "/" with index.html fallback; may be NULL */
    /* Called on every loop thread about every `tick_ms` ms (0 = never). */
    void (*on_tick)(int loop);
    int tick_ms;
    int access_log; /* one line per request on stderr */
};

/* Serve until http_stop(); then stop accepting, let in-flight requests
 * finish (at most 10 s) and return 0. -1 when the port cannot be bound. */
int http_serve(const struct http_config *cfg);
/* Async-signal-safe: ask http_serve to drain and return. */
void http_stop(void);
/* Number of loop threads of the running server. */
int http_threads(void);

/* Header value by lower-case name, or NULL; *len gets its length. */
const char *http_header(struct http_req *r, const char *name, size_t *len);
/* Query parameter, URL-decoded and NUL-terminated in request memory; NULL
 * when absent. */
const char *http_query(struct http_req *r, const char *name);
/* Memory that lives as long as the request (freed with it). */
void *http_alloc(struct http_req *r, size_t n);
void http_add_header(struct http_req *r, const char *name, const char *value);

/* Answer with a body (copied). */
void http_respond(struct http_req *r, int status, const char *ctype, const char *body, size_t len);
/* Answer with JSON; takes ownership of j (may be NULL for no body). */
void http_respond_json(struct http_req *r, int status, json_t *j);
/* Answer application/problem+json for err (domain/err.h); detail may be NULL;
 * extra (taken) is merged into the problem object (e.g. errors: [...]). */
void http_problem(struct http_req *r, int err, const char *detail, json_t *extra);
int http_gone(struct http_req *r);
/* From any thread: run fn(r, arg) on r's loop thread. */
void http_post(struct http_req *r, void (*fn)(struct http_req *r, void *arg), void *arg);

/*
 * Streaming (Server-Sent Events). http_stream_begin sends the status and
 * headers; http_stream_write queues bytes (copied). Bytes queued but not yet
 * taken by the socket are capped at `cap`: past it the stream is closed and
 * -1 returned (a slow reader is dropped, never buffered without bound). The
 * owner must call http_stream_close exactly once, also after a failure.
 */
void http_stream_begin(struct http_req *r, int status, const char *ctype, size_t cap);
int http_stream_write(struct http_req *r, const char *data, size_t len);
void http_stream_close(struct http_req *r);
/* 0 when the client of a stream has gone. h2o does not read an HTTP/1
 * connection while it streams a response, so a quiet stream would only see
 * the close at its next write; this peeks at the socket (one syscall). */
int http_stream_alive(struct http_req *r);

/*
 * Hands the rest of a stream to the caller's own thread. A loop thread that
 * writes to thousands of viewers is a loop thread that does not admit buyers
 * (bench/RESULTS.md, "Flash sale with 10000 viewers"); h2o cannot move a
 * request to another loop, so the owner takes the socket instead.
 *
 * Once every byte queued with http_stream_write has reached the socket,
 * ready(r, fd, chunked, arg) runs on r's loop thread. fd is the connection's
 * own (non-blocking) descriptor, lent: h2o neither reads nor writes it from
 * then on, and closes it only after http_stream_close. The owner writes the
 * body on fd from any thread, framed as HTTP/1.1 chunks ("<hex length>\r\n
 * <bytes>\r\n") when `chunked`, raw otherwise (HTTP/1.0: the close ends the
 * body). It ends the stream with shutdown(fd, SHUT_RDWR) (so nothing h2o
 * writes can follow a half-written chunk), never close(fd), then
 * http_stream_close(r) on r's loop thread (http_post), exactly once, and
 * does not touch fd after posting it. fd is -1 when the stream died before
 * the handoff; the owner then only calls http_stream_close, through
 * http_post (ready may run while h2o disposes of the request).
 *
 * Returns -1, and changes nothing, when the connection cannot be handed over
 * (HTTP/2, or no socket): the stream then stays with http_stream_write.
 * After a 0, http_stream_write fails.
 */
typedef void (*http_handoff_fn)(struct http_req *r, int fd, int chunked, void *arg);
int http_stream_handoff(struct http_req *r, http_handoff_fn ready, void *arg);

/* Counters for /metrics. */
struct http_stats {
    uint64_t requests, responses_by_class[6], in_flight, open_streams;
    uint64_t latency_buckets[16]; /* ≤ 2^i * 100 µs; last is +Inf */
    uint64_t latency_sum_us;
};
void http_stats_get(struct http_stats *out);

#endif
