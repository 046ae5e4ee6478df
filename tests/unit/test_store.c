/*
 * Tests for src/store: the SQLite engine (store_sqlite) and the group-commit
 * writer, against a fresh temporary data directory per test.
 *
 * Every test writes through the writer, stops it, closes the store, opens it
 * again and reads back with scan: what is checked is what survived a
 * close. The writer keeps its state in globals, so the tests run one after
 * another in this process and each stops the writer before it ends.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/writer.h"
#include "util/log.h"

/* The number of entries in sqlite.c's migrations[]: bump it when a migration
 * is appended. */
#define SCHEMA_VERSION 2

static const struct store_ops *ops = &store_sqlite;

/* ---- temporary data directories ---- */

static char dir[64];

static int dir_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/souk-unit-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    return 0;
}

/* Remove the directory and the files the store made in it. */
static int dir_teardown(void **state)
{
    (void)state;
    writer_stop(); /* no-op when a test already stopped it */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[400];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

static struct store *open_store(void)
{
    struct store *st = NULL;
    if (ops->open(&st, dir) != 0) fail_msg("cannot open a store in %s", dir);
    assert_non_null(st);
    return st;
}

/* ---- values ---- */

#define I(v)                                                                                       \
    {                                                                                              \
        SV_INT, (v), NULL, 0                                                                       \
    }
#define T(s)                                                                                       \
    {                                                                                              \
        SV_TEXT, 0, (s), sizeof(s) - 1                                                             \
    }
#define B(p, n)                                                                                    \
    {                                                                                              \
        SV_BLOB, 0, (const char *)(p), (n)                                                         \
    }
#define N                                                                                          \
    {                                                                                              \
        SV_NULL, 0, NULL, 0                                                                        \
    }
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void put_vals(struct wtx *t, enum store_stmt st, const struct sval *v, int n)
{
    wtx_stmt(t, st);
    for (int i = 0; i < n; i++) {
        switch (v[i].type) {
        case SV_NULL:
            wtx_null(t);
            break;
        case SV_INT:
            wtx_int(t, v[i].i);
            break;
        case SV_TEXT:
            wtx_textn(t, v[i].s, v[i].len);
            break;
        case SV_BLOB:
            wtx_blob(t, v[i].s, v[i].len);
            break;
        }
    }
}

/* Rows read by scan, copied out (scan's memory is borrowed). */
struct rows {
    int n, ncols[64];
    struct sval cols[64][32];
};

static int collect(void *arg, const struct sval *cols, int ncols)
{
    struct rows *r = arg;
    if (r->n == 64) fail_msg("more rows than expected");
    r->ncols[r->n] = ncols;
    for (int i = 0; i < ncols && i < 32; i++) {
        struct sval v = cols[i];
        if (v.type == SV_TEXT || v.type == SV_BLOB) {
            char *c = malloc(v.len + 1);
            if (v.len) memcpy(c, v.s, v.len);
            c[v.len] = 0;
            v.s = c;
        }
        r->cols[r->n][i] = v;
    }
    r->n++;
    return 0;
}

static void rows_release(struct rows *r)
{
    for (int k = 0; k < r->n; k++)
        for (int i = 0; i < r->ncols[k] && i < 32; i++)
            if (r->cols[k][i].type == SV_TEXT || r->cols[k][i].type == SV_BLOB)
                free((void *)r->cols[k][i].s);
    r->n = 0;
}

static void scan_all(struct store *st, enum store_query q, struct rows *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(ops->scan(st, q, collect, r), 0);
}

static const char *type_name(enum sval_type t)
{
    return t == SV_NULL ? "null" : t == SV_INT ? "int" : t == SV_TEXT ? "text" : "blob";
}

static void expect_row(const char *what, const struct sval *got, int ngot, const struct sval *want,
                       int nwant)
{
    if (ngot != nwant) fail_msg("%s: %d columns, want %d", what, ngot, nwant);
    for (int i = 0; i < nwant; i++) {
        const struct sval *g = &got[i], *w = &want[i];
        if (g->type != w->type)
            fail_msg("%s column %d: %s, want %s", what, i, type_name(g->type), type_name(w->type));
        if (w->type == SV_INT && g->i != w->i)
            fail_msg("%s column %d: %lld, want %lld", what, i, (long long)g->i, (long long)w->i);
        if ((w->type == SV_TEXT || w->type == SV_BLOB) &&
            (g->len != w->len || (w->len && memcmp(g->s, w->s, w->len) != 0)))
            fail_msg("%s column %d: \"%.*s\", want \"%.*s\"", what, i, (int)g->len, g->s,
                     (int)w->len, w->s);
    }
}

/* ---- migrations ---- */

static int pragma_int(const char *db_path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int v = -1;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_migrations(void **state)
{
    (void)state;
    char db[128];
    snprintf(db, sizeof db, "%s/souk.db", dir);
    struct store *st = open_store();
    ops->close(st);
    assert_int_equal(pragma_int(db, "PRAGMA user_version"), SCHEMA_VERSION);
    /* every table a query reads exists */
    static const char *tables[] = {"meta",           "users",       "tokens",     "merchants",
                                   "merchant_staff", "categories",  "products",   "skus",
                                   "cart_items",     "checkouts",   "orders",     "order_lines",
                                   "ledger",         "idempotency", "live_rooms", "live_items"};
    for (int i = 0; i < COUNT(tables); i++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'", tables[i]);
        if (pragma_int(db, sql) != 1) fail_msg("table %s missing", tables[i]);
    }
    /* a second open migrates nothing and keeps the data */
    st = open_store();
    writer_start(ops, st);
    struct wtx *t = wtx_new();
    const struct sval meta[] = {T("k"), T("v")};
    put_vals(t, ST_META_PUT, meta, 2);
    writer_submit_wait(t);
    writer_stop();
    ops->close(st);
    st = open_store();
    struct rows r;
    scan_all(st, SQ_META, &r);
    assert_int_equal(r.n, 1);
    rows_release(&r);
    ops->close(st);
    assert_int_equal(pragma_int(db, "PRAGMA user_version"), SCHEMA_VERSION);
}

/* Errors the test provokes are logged on stderr; keep the output clean. */
static int quiet_stderr(void)
{
    fflush(stderr);
    int saved = dup(2);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, 2);
        close(devnull);
    }
    return saved;
}

static void restore_stderr(int saved)
{
    if (saved < 0) return;
    dup2(saved, 2);
    close(saved);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char db_path[128];
    snprintf(db_path, sizeof db_path, "%s/souk.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *st = NULL;
    int saved = quiet_stderr();
    int newer = ops->open(&st, dir); /* data of a newer souk: do not touch it */
    int nodir = ops->open(&st, "/nonexistent-parent/souk-data");
    restore_stderr(saved);
    assert_int_equal(newer, -1);
    assert_int_equal(pragma_int(db_path, "PRAGMA user_version"), 99);
    assert_int_equal(nodir, -1); /* a data dir that cannot be created */
}

/* ---- every statement, read back by its query ---- */

static const unsigned char hash[32] = {0,  1,  2,  0,  255, 254, 7,  0,  9,  10, 11,
                                       12, 13, 14, 15, 0,   16,  17, 18, 19, 20, 21,
                                       22, 23, 24, 25, 26,  27,  28, 29, 30, 31};

static const struct sval r_user[] = {I(101), T("ann@example.com"), T("Ann Ö"), T("shopper"), N,
                                     I(1700)};
static const struct sval r_token[] = {B(hash, 32), I(101), I(1700)};
static const struct sval r_merchant[] = {I(201), I(101),      T("Alpha"), T("factory"), T("CN"),
                                         N,      T("active"), I(500),     I(1701)};
static const struct sval r_staff[] = {I(201), I(101), T("owner"), I(1702)};
static const struct sval r_category[] = {I(301), T("Tools"), N, I(1703)};
static const struct sval r_product[] = {I(401),         I(201),      I(301),  T("Hammer"), T(""),
                                        T("{\"a\":1}"), T("active"), I(1704), I(1705)};
static const struct sval r_sku[] = {I(501),  I(401),
                                    T("A1"), T("{\"color\":\"red\"}"),
                                    I(1999), T("USD"),
                                    I(20),   I(3),
                                    I(2),    T("[{\"min_qty\":5,\"price\":900}]"),
                                    I(1)};
static const struct sval r_cart[] = {I(101), I(501), I(2), I(1706)};
static const struct sval r_checkout[] = {I(601),  I(101),  I(5997), T("USD"),
                                         T("{}"), I(1800), I(1707)};
static const struct sval r_order[] = {I(701),
                                      I(601),
                                      I(201),
                                      I(101),
                                      T("paid"),
                                      I(5997),
                                      T("USD"),
                                      I(500),
                                      I(300),
                                      T("{}"),
                                      N,
                                      N,
                                      I(1708),
                                      I(1800),
                                      I(1709),
                                      I(1710),
                                      T("[[0,1708],[1,1709]]"),
                                      N};
static const struct sval r_line[] = {I(701), I(0), I(501), I(401), T("Hammer"), I(3), I(1999)};
static const struct sval r_ledger[] = {I(801),   I(201), T("sale"), I(INT64_MAX),
                                       T("USD"), I(701), I(1711)};
static const struct sval r_ledger2[] = {I(802),   I(201), T("commission"), I(INT64_MIN),
                                        T("USD"), N,      I(1711)};
static const struct sval r_idem[] = {
    I(901), I(101), T("key-1"), B(hash, 32), I(201), T("{\"ok\":true}"), I(1712)};
static const struct sval r_meta[] = {T("schema_note"), T("hello")};
static const struct sval r_room[] = {I(1001), I(201), T("Live"), T("live"), I(1713),
                                     I(1714), N,      N,         I(1715)};
static const struct sval r_item[] = {I(1101), I(1001), I(501), I(1500),      T("USD"),
                                     I(10),   I(2),    N,      T("on_sale"), I(1716)};

static const struct sval r_program[] = {I(1201), T("Exporters"), I(200), I(1500),
                                        T("[\"exporter\"]"), I(1717), I(1800), I(1718)};
static const struct sval r_enroll[] = {I(1201), I(201), I(1719)};
static const struct sval r_event[] = {I(1301), I(101), N, T("view"), I(401), N, I(1720)};

static const struct {
    const char *name;
    enum store_stmt st;
    enum store_query q;
    const struct sval *v;
    int n;
} contract[] = {
    {"users", ST_USER_PUT, SQ_USERS, r_user, COUNT(r_user)},
    {"tokens", ST_TOKEN_PUT, SQ_TOKENS, r_token, COUNT(r_token)},
    {"merchants", ST_MERCHANT_PUT, SQ_MERCHANTS, r_merchant, COUNT(r_merchant)},
    {"staff", ST_STAFF_PUT, SQ_STAFF, r_staff, COUNT(r_staff)},
    {"categories", ST_CATEGORY_PUT, SQ_CATEGORIES, r_category, COUNT(r_category)},
    {"products", ST_PRODUCT_PUT, SQ_PRODUCTS, r_product, COUNT(r_product)},
    {"skus", ST_SKU_PUT, SQ_SKUS, r_sku, COUNT(r_sku)},
    {"cart", ST_CART_PUT, SQ_CART, r_cart, COUNT(r_cart)},
    {"checkouts", ST_CHECKOUT_PUT, SQ_CHECKOUTS, r_checkout, COUNT(r_checkout)},
    {"orders", ST_ORDER_PUT, SQ_ORDERS, r_order, COUNT(r_order)},
    {"order_lines", ST_ORDER_LINE_PUT, SQ_ORDER_LINES, r_line, COUNT(r_line)},
    {"ledger", ST_LEDGER_PUT, SQ_LEDGER, r_ledger, COUNT(r_ledger)},
    {"idem", ST_IDEM_PUT, SQ_IDEM, r_idem, COUNT(r_idem)},
    {"meta", ST_META_PUT, SQ_META, r_meta, COUNT(r_meta)},
    {"rooms", ST_ROOM_PUT, SQ_ROOMS, r_room, COUNT(r_room)},
    {"live_items", ST_LIVE_ITEM_PUT, SQ_LIVE_ITEMS, r_item, COUNT(r_item)},
    {"programs", ST_PROGRAM_PUT, SQ_PROGRAMS, r_program, COUNT(r_program)},
    {"enrollments", ST_ENROLL_PUT, SQ_ENROLLMENTS, r_enroll, COUNT(r_enroll)},
    {"events", ST_EVENT_PUT, SQ_EVENTS, r_event, COUNT(r_event)},
};

static void write_contract_rows(void)
{
    struct wtx *t = wtx_new();
    assert_true(wtx_empty(t));
    for (int k = 0; k < COUNT(contract); k++)
        put_vals(t, contract[k].st, contract[k].v, contract[k].n);
    assert_false(wtx_empty(t));
    put_vals(t, ST_LEDGER_PUT, r_ledger2, COUNT(r_ledger2));
    writer_submit_wait(t);
}

static void test_roundtrip_every_statement(void **state)
{
    (void)state;
    assert_int_equal(COUNT(contract), SQ__COUNT); /* a new query needs a row here */
    struct store *st = open_store();
    writer_start(ops, st);
    write_contract_rows();
    writer_stop();
    ops->close(st);

    st = open_store();
    struct rows r;
    for (int k = 0; k < COUNT(contract); k++) {
        scan_all(st, contract[k].q, &r);
        int want_rows = contract[k].q == SQ_LEDGER ? 2 : 1;
        if (r.n != want_rows) fail_msg("%s: %d rows, want %d", contract[k].name, r.n, want_rows);
        expect_row(contract[k].name, r.cols[0], r.ncols[0], contract[k].v, contract[k].n);
        if (contract[k].q == SQ_LEDGER)
            expect_row("ledger 2", r.cols[1], r.ncols[1], r_ledger2, COUNT(r_ledger2));
        rows_release(&r);
    }
    ops->close(st);
}

static void test_update_and_delete_statements(void **state)
{
    (void)state;
    struct store *st = open_store();
    writer_start(ops, st);
    write_contract_rows();

    struct wtx *t = wtx_new();
    const struct sval stock[] = {I(7), I(1), I(12), I(501)};
    put_vals(t, ST_SKU_STOCK, stock, 4);
    const struct sval cart_del[] = {I(101), I(501)};
    put_vals(t, ST_CART_DEL, cart_del, 2);
    const struct sval tok_del[] = {B(hash, 32)};
    put_vals(t, ST_TOKEN_DEL, tok_del, 1);
    const struct sval purge[] = {I(1713)}; /* the idem row was created at 1712 */
    put_vals(t, ST_IDEM_PURGE, purge, 1);
    /* a put of an existing id replaces the row */
    const struct sval user2[] = {I(101),        T("ann@example.com"), T("Ann B"),
                                 T("operator"), T("$argon2id$x"),     I(1700)};
    put_vals(t, ST_USER_PUT, user2, COUNT(user2));
    const struct sval meta2[] = {T("schema_note"), T("bye")};
    put_vals(t, ST_META_PUT, meta2, 2);
    writer_submit_wait(t);
    writer_stop();
    ops->close(st);

    st = open_store();
    struct rows r;
    scan_all(st, SQ_SKUS, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.cols[0][6].i, 7);    /* on_hand */
    assert_int_equal(r.cols[0][7].i, 1);    /* reserved */
    assert_int_equal(r.cols[0][8].i, 12);   /* sold */
    assert_int_equal(r.cols[0][4].i, 1999); /* price untouched */
    rows_release(&r);
    scan_all(st, SQ_CART, &r);
    assert_int_equal(r.n, 0);
    scan_all(st, SQ_TOKENS, &r);
    assert_int_equal(r.n, 0);
    scan_all(st, SQ_IDEM, &r);
    assert_int_equal(r.n, 0);
    scan_all(st, SQ_USERS, &r);
    assert_int_equal(r.n, 1);
    expect_row("user replaced", r.cols[0], r.ncols[0], user2, COUNT(user2));
    rows_release(&r);
    scan_all(st, SQ_META, &r);
    assert_int_equal(r.n, 1);
    expect_row("meta replaced", r.cols[0], r.ncols[0], meta2, 2);
    rows_release(&r);
    ops->close(st);
}

static int stop_after_first(void *arg, const struct sval *cols, int ncols)
{
    (void)cols;
    (void)ncols;
    (*(int *)arg)++;
    return 1;
}

static void test_scan_order_and_stop(void **state)
{
    (void)state;
    struct store *st = open_store();
    writer_start(ops, st);
    struct wtx *t = wtx_new();
    /* written out of id order; scan returns id order */
    for (int64_t id = 5; id >= 1; id--) {
        const struct sval u[] = {I(id), T("e"), T("n"), T("shopper"), N, I(0)};
        put_vals(t, ST_USER_PUT, u, 6);
    }
    writer_submit_wait(t);
    writer_stop();
    ops->close(st);
    st = open_store();
    struct rows r;
    scan_all(st, SQ_USERS, &r);
    assert_int_equal(r.n, 5);
    for (int k = 0; k < 5; k++)
        assert_int_equal(r.cols[k][0].i, k + 1);
    rows_release(&r);
    int calls = 0;
    assert_int_equal(ops->scan(st, SQ_USERS, stop_after_first, &calls), 0);
    assert_int_equal(calls, 1);
    ops->close(st);
}

/* ---- the writer ---- */

static int64_t done_order[20000];
static int ndone;

static void record_done(void *arg)
{
    done_order[ndone++] = (int64_t)(intptr_t)arg; /* the writer thread only */
}

static void test_writer_done_and_empty_units(void **state)
{
    (void)state;
    struct store *st = open_store();
    writer_start(ops, st);
    ndone = 0;
    for (int i = 0; i < 5; i++) {
        struct wtx *t = wtx_new();
        if (i != 2) { /* unit 2 is empty: it commits (nothing) and is acknowledged */
            char key[8];
            snprintf(key, sizeof key, "k%d", i);
            wtx_stmt(t, ST_META_PUT);
            wtx_text(t, key);
            wtx_text(t, "v");
        }
        writer_submit(t, record_done, (void *)(intptr_t)i);
    }
    writer_submit(wtx_new(), NULL, NULL); /* done may be NULL */
    writer_submit_wait(wtx_new());        /* returns after everything before it */
    assert_int_equal(ndone, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(done_order[i], i);
    writer_stop();
    writer_stop(); /* twice is harmless */
    ops->close(st);
    st = open_store();
    struct rows r;
    scan_all(st, SQ_META, &r);
    assert_int_equal(r.n, 4);
    rows_release(&r);
    ops->close(st);
}

/* done() is the acknowledgement: when it runs, the unit must already be
 * committed, visible to any other connection to the database. */
struct seen {
    const char *key;
    int rows; /* -1 until done ran */
};

static void count_on_disk(void *arg)
{
    struct seen *w = arg;
    char path[128], sql[128];
    snprintf(path, sizeof path, "%s/souk.db", dir);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM meta WHERE key='%s'", w->key);
    sqlite3 *db;
    sqlite3_stmt *st;
    w->rows = -2;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) w->rows = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static void test_done_after_commit(void **state)
{
    (void)state;
    struct store *st = open_store();
    writer_start(ops, st);
    struct seen w[3] = {{"a", -1}, {"b", -1}, {"c", -1}};
    for (int i = 0; i < 3; i++) {
        struct wtx *t = wtx_new();
        wtx_stmt(t, ST_META_PUT);
        wtx_text(t, w[i].key);
        wtx_text(t, "v");
        writer_submit(t, count_on_disk, &w[i]);
    }
    writer_submit_wait(wtx_new());
    writer_stop();
    ops->close(st);
    for (int i = 0; i < 3; i++)
        if (w[i].rows != 1)
            fail_msg("unit %s acknowledged with %d rows on disk", w[i].key, w[i].rows);
}

/* Units from two threads; a shared lock orders "take a number, submit" as
 * the state lock does in souk. Each unit inserts a user with a NULL id, so
 * SQLite numbers the rows in commit order and the email says the number the
 * unit was submitted with. */
enum { UNITS = 10000, PER_THREAD = UNITS / 2 };

static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_seq;

static void *submitter(void *unused)
{
    (void)unused;
    for (int i = 0; i < PER_THREAD; i++) {
        struct wtx *t = wtx_new();
        char email[32];
        pthread_mutex_lock(&submit_lock);
        int seq = next_seq++;
        int n = snprintf(email, sizeof email, "u%d", seq);
        wtx_stmt(t, ST_USER_PUT);
        wtx_null(t);
        wtx_textn(t, email, (size_t)n);
        wtx_text(t, "name");
        wtx_text(t, "shopper");
        wtx_null(t);
        wtx_int(t, seq);
        writer_submit(t, record_done, (void *)(intptr_t)seq);
        pthread_mutex_unlock(&submit_lock);
    }
    return NULL;
}

static void run_submitters(void)
{
    next_seq = 0;
    ndone = 0;
    pthread_t a, b;
    pthread_create(&a, NULL, submitter, NULL);
    pthread_create(&b, NULL, submitter, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

static int check_commit_order(void *arg, const struct sval *cols, int ncols)
{
    int *k = arg;
    char want[32];
    snprintf(want, sizeof want, "u%d", *k);
    if (ncols != 6 || cols[1].type != SV_TEXT || cols[1].len != strlen(want) ||
        memcmp(cols[1].s, want, cols[1].len) != 0)
        fail_msg("row %d holds \"%.*s\", want %s", *k, (int)cols[1].len, cols[1].s, want);
    if (cols[5].i != *k) fail_msg("row %d: created_at %lld", *k, (long long)cols[5].i);
    (*k)++;
    return 0;
}

static void expect_units_on_disk(void)
{
    assert_int_equal(ndone, UNITS);
    for (int i = 0; i < UNITS; i++)
        if (done_order[i] != i)
            fail_msg("acknowledgement %d was for unit %lld", i, (long long)done_order[i]);
    struct store *st = open_store();
    int k = 0;
    assert_int_equal(ops->scan(st, SQ_USERS, check_commit_order, &k), 0);
    assert_int_equal(k, UNITS);
    ops->close(st);
}

static void test_group_commit_two_threads(void **state)
{
    (void)state;
    struct writer_stats s0, s1;
    writer_stats_get(&s0);
    struct store *st = open_store();
    writer_start(ops, st);
    run_submitters(); /* nobody waits */
    writer_stop();    /* commits everything submitted */
    ops->close(st);
    writer_stats_get(&s1);
    assert_int_equal(s1.units - s0.units, UNITS);
    assert_int_equal(s1.statements - s0.statements, UNITS);
    assert_int_equal(s1.queued, 0);
    assert_true(s1.batches - s0.batches <= UNITS);
    print_message("    group commit: %llu units in %llu transactions, %.2f ms per commit\n",
                  (unsigned long long)(s1.units - s0.units),
                  (unsigned long long)(s1.batches - s0.batches),
                  (double)(s1.commit_us_total - s0.commit_us_total) / 1000.0 /
                      (double)(s1.batches - s0.batches));
    expect_units_on_disk();
}

/* A unit whose done() holds the writer thread until the gate opens. */
struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int entered, open;
};

static void gate_done(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->m);
    g->entered = 1;
    pthread_cond_broadcast(&g->c);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void hold_writer(struct gate *g)
{
    struct wtx *t = wtx_new();
    const struct sval m[] = {T("gate"), T("held")};
    put_vals(t, ST_META_PUT, m, 2);
    writer_submit(t, gate_done, g);
    pthread_mutex_lock(&g->m);
    while (!g->entered)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void release_writer(struct gate *g)
{
    pthread_mutex_lock(&g->m);
    g->open = 1;
    pthread_cond_broadcast(&g->c);
    pthread_mutex_unlock(&g->m);
}

static void test_group_commit_one_batch(void **state)
{
    (void)state;
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    struct store *st = open_store();
    writer_start(ops, st);
    hold_writer(&g);
    struct writer_stats s0, s1;
    writer_stats_get(&s0);
    run_submitters(); /* all queue up behind the held writer */
    writer_stats_get(&s1);
    assert_int_equal(s1.queued, UNITS);
    assert_int_equal(s1.batches, s0.batches);
    release_writer(&g);
    writer_stop();
    ops->close(st);
    writer_stats_get(&s1);
    /* the 10,000 waiting units went to disk in a few large transactions
     * (one with today's MAX_BATCH of 20,000) */
    print_message("    held writer: %d units in %llu transactions\n", UNITS,
                  (unsigned long long)(s1.batches - s0.batches));
    assert_true(s1.batches - s0.batches >= 1);
    assert_true(s1.batches - s0.batches <= 10);
    assert_true(s1.max_batch >= UNITS / 10);
    assert_int_equal(s1.queued, 0);
    expect_units_on_disk();
}

/* A commit that fails aborts the process (writer.h: crash-only), and no unit
 * of the failed batch is on disk. Run in a child process. */
static void test_commit_failure_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);      /* never hang the suite */
        quiet_stderr(); /* the expected abort logs an error */
        struct store *st = NULL;
        if (ops->open(&st, dir) != 0) _exit(3);
        writer_start(ops, st);
        struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
        hold_writer(&g); /* committed: the "gate" row */
        struct wtx *ok = wtx_new();
        const struct sval m[] = {T("same-batch"), T("lost")};
        put_vals(ok, ST_META_PUT, m, 2);
        writer_submit(ok, NULL, NULL);
        struct wtx *bad = wtx_new();
        const struct sval u[] = {I(1), N /* email NOT NULL */, T("n"), T("shopper"), N, I(0)};
        put_vals(bad, ST_USER_PUT, u, 6);
        writer_submit(bad, NULL, NULL);
        release_writer(&g);
        for (;;)
            pause();
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("child ended with status %#x, want SIGABRT", status);
    struct store *st = open_store();
    struct rows r;
    scan_all(st, SQ_META, &r);
    assert_int_equal(r.n, 1); /* "gate" only */
    assert_int_equal(r.cols[0][0].len, 4);
    assert_memory_equal(r.cols[0][0].s, "gate", 4);
    rows_release(&r);
    scan_all(st, SQ_USERS, &r);
    assert_int_equal(r.n, 0);
    ops->close(st);
}

int main(void)
{
    log_quiet = 1;
#define TC(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)
    const struct CMUnitTest tests[] = {
        TC(test_migrations),
        TC(test_newer_schema_refused),
        TC(test_roundtrip_every_statement),
        TC(test_update_and_delete_statements),
        TC(test_scan_order_and_stop),
        TC(test_writer_done_and_empty_units),
        TC(test_done_after_commit),
        TC(test_group_commit_two_threads),
        TC(test_group_commit_one_batch),
        TC(test_commit_failure_aborts),
    };
#undef TC
    return cmocka_run_group_tests(tests, NULL, NULL);
}
