/*
 * router — matches a method and path against the route table.
 *
 * Patterns are split into segments once, at start; matching compares
 * segment by segment (":name" matches any one non-empty segment) and fills
 * the request's params in order. Linear in the number of routes: ~50 routes
 * cost well under a microsecond.
 */
#ifndef SOUK_ROUTER_H
#define SOUK_ROUTER_H
#include "http/http.h"

#define ROUTER_MAX_SEGS 8

struct router_entry {
    const struct http_route *route;
    int nsegs;
    struct slice segs[ROUTER_MAX_SEGS]; /* ptr NULL = parameter */
};

struct router {
    struct router_entry *entries;
    size_t n;
};

enum { ROUTER_NONE, ROUTER_MATCH, ROUTER_WRONG_METHOD };

void router_init(struct router *rt, const struct http_route *routes, size_t n);
/* ROUTER_MATCH sets r->route and r->params. */
int router_match(const struct router *rt, enum http_method m, const char *path, size_t len,
                 struct http_req *r);

#endif
