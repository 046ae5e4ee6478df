/*
 * figures.c — sales figures per day: GMV, orders, buyers, new buyers and
 * basket size, for one merchant (its owner and staff, operators) or the
 * whole platform (operators).
 *
 * Counted: orders that were paid (paid, shipped, delivered, completed), on
 * the day they were paid (UTC). GMV is in one currency (?currency=, default
 * the most used); orders in other currencies are left out, never converted.
 * Without ?from/?to the window is the 30 days ending on the last day with a
 * counted order, so an imported history shows its own last month.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api/api.h"
#include "api/handlers.h"
#include "domain/err.h"
#include "util/jsonx.h"
#include "util/log.h"

#define DAY_MS 86400000LL
#define MAX_DAYS 400

static int counted(const struct order *o)
{
    return o->status == OS_PAID || o->status == OS_SHIPPED || o->status == OS_DELIVERED ||
           o->status == OS_COMPLETED;
}

static int64_t order_day(const struct order *o)
{
    int64_t t = o->paid_at ? o->paid_at : o->created_at;
    return t >= 0 ? t / DAY_MS : (t - DAY_MS + 1) / DAY_MS;
}

static int parse_date(const char *s, int64_t *day)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10 ||
        s[10])
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    struct tm want = tm;
    time_t t = timegm(&tm);
    if (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon) return -1;
    *day = (int64_t)t / 86400;
    return 0;
}

static void fmt_date(int64_t day, char out[11])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Figures over the orders in v (all of a merchant's, or the platform's). */
static void figures(struct http_req *r, const struct vec *v)
{
    struct fields f = {0};
    const char *from_s = http_query(r, "from"), *to_s = http_query(r, "to"),
               *cur = http_query(r, "currency");
    int64_t from = 0, to = 0;
    if (from_s && parse_date(from_s, &from)) field_err(&f, "from", "must be a date YYYY-MM-DD");
    if (to_s && parse_date(to_s, &to)) field_err(&f, "to", "must be a date YYYY-MM-DD");
    if (cur && strlen(cur) != 3) field_err(&f, "currency", "must be an ISO 4217 code");
    if (api_fields_fail(r, &f)) return;

    /* The currency most orders use, and the last day with a counted order. */
    char best[4] = "CNY";
    int64_t last_day = now_ms() / DAY_MS;
    if (!cur) {
        struct {
            char c[4];
            size_t n;
        } tally[8] = {{{0}, 0}};
        for (size_t i = 0; i < v->n; i++) {
            const struct order *o = v->v[i];
            if (!counted(o)) continue;
            for (int k = 0; k < 8; k++) {
                if (!tally[k].n || memcmp(tally[k].c, o->currency, 4) == 0) {
                    memcpy(tally[k].c, o->currency, 4);
                    tally[k].n++;
                    break;
                }
            }
        }
        size_t top = 0;
        for (int k = 0; k < 8; k++)
            if (tally[k].n > top) {
                top = tally[k].n;
                memcpy(best, tally[k].c, 4);
            }
        cur = best;
    }
    if (!to_s) {
        int64_t maxd = 0;
        for (size_t i = 0; i < v->n; i++) {
            const struct order *o = v->v[i];
            if (counted(o) && strcmp(o->currency, cur) == 0 && order_day(o) > maxd) maxd = order_day(o);
        }
        to = maxd ? maxd : last_day;
    }
    if (!from_s) from = to - 29;
    if (to < from || to - from >= MAX_DAYS) {
        field_err(&f, "to", "the window must be 1 to 400 days, from ≤ to");
        api_fields_fail(r, &f);
        return;
    }
    size_t ndays = (size_t)(to - from + 1);
    int64_t *gmv = xcalloc(ndays, sizeof *gmv), *orders = xcalloc(ndays, sizeof *orders);
    struct imap *buyers = xcalloc(ndays, sizeof *buyers);
    struct imap first_seen; /* user → first counted day, for new buyers */
    imap_init(&first_seen);
    int64_t tot_gmv = 0, tot_orders = 0, tot_units = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct order *o = v->v[i];
        if (!counted(o) || strcmp(o->currency, cur) != 0) continue;
        int64_t d = order_day(o);
        int64_t seen = (int64_t)(intptr_t)imap_get(&first_seen, o->user_id);
        if (!seen || d + 1 < seen) imap_put(&first_seen, o->user_id, (void *)(intptr_t)(d + 1));
        if (d < from || d > to) continue;
        size_t k = (size_t)(d - from);
        gmv[k] += o->subtotal;
        orders[k]++;
        imap_put(&buyers[k], o->user_id, (void *)1);
        tot_gmv += o->subtotal;
        tot_orders++;
        for (int l = 0; l < o->nlines; l++) tot_units += o->lines[l].qty;
    }
    json_t *days = json_array();
    struct imap all_buyers;
    imap_init(&all_buyers);
    int64_t new_buyers = 0;
    for (size_t k = 0; k < ndays; k++) {
        char date[11];
        fmt_date(from + (int64_t)k, date);
        int64_t nb = 0;
        size_t pos = 0;
        int64_t uid;
        while (imap_next(&buyers[k], &pos, &uid, NULL)) {
            if ((int64_t)(intptr_t)imap_get(&first_seen, uid) == from + (int64_t)k + 1) nb++;
            imap_put(&all_buyers, uid, (void *)1);
        }
        new_buyers += nb;
        json_array_append_new(days, jpack("{sssIsIsIsI}", "date", date, "gmv", (json_int_t)gmv[k],
                                          "orders", (json_int_t)orders[k], "buyers",
                                          (json_int_t)buyers[k].len, "new_buyers", (json_int_t)nb));
        imap_release(&buyers[k]);
    }
    char fd[11], td[11];
    fmt_date(from, fd);
    fmt_date(to, td);
    json_t *totals = jpack("{sIsIsIsIsI}", "gmv", (json_int_t)tot_gmv, "orders",
                           (json_int_t)tot_orders, "buyers", (json_int_t)all_buyers.len,
                           "new_buyers", (json_int_t)new_buyers, "units", (json_int_t)tot_units);
    json_object_set_new(totals, "basket_size",
                        json_real(tot_orders ? (double)tot_units / (double)tot_orders : 0.0));
    json_object_set_new(totals, "average_order_value",
                        json_integer(tot_orders ? tot_gmv / tot_orders : 0));
    api_reply(r, 200, jpack("{sssssssoso}", "currency", cur, "from", fd, "to", td, "days", days,
                            "totals", totals));
    imap_release(&all_buyers);
    imap_release(&first_seen);
    free(buyers);
    free(gmv);
    free(orders);
}

void h_merchant_figures(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    struct merchant *m = api_path_merchant(r, u, 0, "only the merchant's staff read its figures");
    if (!m) goto out;
    figures(r, &m->orders);
out:
    state_unlock();
}

void h_admin_figures(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    if (u && !api_is_operator(u)) api_fail(r, ERR_FORBIDDEN, "only operators read platform figures");
    else if (u) figures(r, &S.order_list);
    state_unlock();
}
