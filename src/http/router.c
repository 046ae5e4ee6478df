#include <string.h>
#include "http/router.h"
#include "util/map.h"

static int split(const char *p, size_t len, struct slice *segs, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        if (p[i] == '/') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && p[j] != '/') j++;
        if (n == max) return -1;
        segs[n++] = (struct slice){p + i, j - i};
        i = j;
    }
    return n;
}

void router_init(struct router *rt, const struct http_route *routes, size_t n)
{
    rt->entries = xcalloc(n, sizeof *rt->entries);
    rt->n = n;
    for (size_t i = 0; i < n; i++) {
        struct router_entry *e = &rt->entries[i];
        e->route = &routes[i];
        e->nsegs = split(routes[i].pattern, strlen(routes[i].pattern), e->segs, ROUTER_MAX_SEGS);
        for (int k = 0; k < e->nsegs; k++)
            if (e->segs[k].ptr[0] == ':') e->segs[k].ptr = NULL;
    }
}

int router_match(const struct router *rt, enum http_method m, const char *path, size_t len,
                 struct http_req *r)
{
    struct slice segs[ROUTER_MAX_SEGS];
    /* A trailing slash or doubled slashes do not make a different resource. */
    int n = split(path, len, segs, ROUTER_MAX_SEGS);
    if (n < 0) return ROUTER_NONE;
    int result = ROUTER_NONE;
    for (size_t i = 0; i < rt->n; i++) {
        const struct router_entry *e = &rt->entries[i];
        if (e->nsegs != n) continue;
        int ok = 1, np = 0;
        for (int k = 0; k < n && ok; k++) {
            if (!e->segs[k].ptr) {
                if (np < HTTP_MAX_PARAMS) r->params[np++] = segs[k];
            } else if (e->segs[k].len != segs[k].len ||
                       memcmp(e->segs[k].ptr, segs[k].ptr, segs[k].len) != 0) {
                ok = 0;
            }
        }
        if (!ok) continue;
        if (e->route->method != m) {
            result = ROUTER_WRONG_METHOD;
            continue;
        }
        r->route = e->route;
        r->nparams = np;
        return ROUTER_MATCH;
    }
    return result;
}
