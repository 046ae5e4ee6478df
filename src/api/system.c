/* system.c — /healthz, /metrics (Prometheus text format), the OpenAPI doc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "api/handlers.h"
#include "core/state.h"
#include "domain/err.h"
#include "store/writer.h"

const char *api_openapi_path; /* set by main: docs/openapi.yaml */

void h_healthz(struct http_req *r)
{
    http_respond(r, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

void h_metrics(struct http_req *r)
{
    struct http_stats hs;
    struct writer_stats ws;
    http_stats_get(&hs);
    writer_stats_get(&ws);
    state_lock();
    size_t users = S.users.len, products = S.products.len, orders = S.orders.len,
           pending = S.pending.n, merchants = S.merchants.len;
    state_unlock();
    char buf[8192];
    size_t n = 0;
#define OUT(...) n += (size_t)snprintf(buf + n, sizeof buf - n, __VA_ARGS__)
    OUT("# TYPE souk_http_requests_total counter\nsouk_http_requests_total %llu\n",
        (unsigned long long)hs.requests);
    OUT("# TYPE souk_http_responses_total counter\n");
    for (int c = 1; c <= 5; c++)
        OUT("souk_http_responses_total{class=\"%dxx\"} %llu\n", c,
            (unsigned long long)hs.responses_by_class[c]);
    OUT("# TYPE souk_http_in_flight gauge\nsouk_http_in_flight %llu\n",
        (unsigned long long)hs.in_flight);
    OUT("# TYPE souk_http_open_streams gauge\nsouk_http_open_streams %llu\n",
        (unsigned long long)hs.open_streams);
    OUT("# TYPE souk_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < 16; i++) {
        cum += hs.latency_buckets[i];
        if (i < 15)
            OUT("souk_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                (100.0 * (1 << i)) / 1e6, (unsigned long long)cum);
        else
            OUT("souk_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)cum);
    }
    OUT("souk_http_request_duration_seconds_sum %g\n", hs.latency_sum_us / 1e6);
    OUT("souk_http_request_duration_seconds_count %llu\n", (unsigned long long)cum);
    OUT("# TYPE souk_commit_batches_total counter\nsouk_commit_batches_total %llu\n",
        (unsigned long long)ws.batches);
    OUT("# TYPE souk_commit_units_total counter\nsouk_commit_units_total %llu\n",
        (unsigned long long)ws.units);
    OUT("# TYPE souk_commit_statements_total counter\nsouk_commit_statements_total %llu\n",
        (unsigned long long)ws.statements);
    OUT("# TYPE souk_commit_max_batch gauge\nsouk_commit_max_batch %llu\n",
        (unsigned long long)ws.max_batch);
    OUT("# TYPE souk_commit_queue gauge\nsouk_commit_queue %llu\n",
        (unsigned long long)ws.queued);
    OUT("# TYPE souk_commit_seconds_total counter\nsouk_commit_seconds_total %g\n",
        ws.commit_us_total / 1e6);
    OUT("# TYPE souk_commit_fsync_seconds_total counter\nsouk_commit_fsync_seconds_total %g\n",
        ws.fsync_us_total / 1e6);
    OUT("# TYPE souk_users gauge\nsouk_users %zu\n", users);
    OUT("# TYPE souk_merchants gauge\nsouk_merchants %zu\n", merchants);
    OUT("# TYPE souk_products gauge\nsouk_products %zu\n", products);
    OUT("# TYPE souk_orders gauge\nsouk_orders %zu\n", orders);
    OUT("# TYPE souk_orders_pending_payment gauge\nsouk_orders_pending_payment %zu\n", pending);
#undef OUT
    http_respond(r, 200, "text/plain; version=0.0.4", buf, n < sizeof buf ? n : sizeof buf - 1);
}

void h_openapi(struct http_req *r)
{
    FILE *f = api_openapi_path ? fopen(api_openapi_path, "rb") : NULL;
    if (!f) {
        http_problem(r, ERR_NOT_FOUND, "the OpenAPI document is not installed", NULL);
        return;
    }
    char *buf = xmalloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    http_respond(r, 200, "application/yaml", buf, n);
    free(buf);
}
