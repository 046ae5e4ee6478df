/*
 * sqlite.c — the embedded engine. One connection writes (the writer
 * thread); the checkpointer uses a second one. WAL mode, synchronous=FULL:
 * a commit returns after the WAL is fsynced, so a crash keeps it.
 *
 * Tables hold no secondary indexes: reads are served from memory, and the
 * measured cost of a random-key index is 5-10x per row (MEASURED.md). Keys
 * are time-ordered ids, so inserts append to the end of each b-tree.
 * wal_autocheckpoint is off on the writer: a checkpoint inside a commit
 * stalled transactions up to ~450 ms here; store_sqlite.checkpoint runs
 * from a background thread instead.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "store/store.h"
#include "util/log.h"
#include "util/map.h"

struct store {
    sqlite3 *db;   /* writer */
    sqlite3 *ckpt; /* checkpointer */
    sqlite3_stmt *stmts[ST__COUNT];
    char path[4096];
    int wal_frames; /* frames in the WAL after the last commit (wal hook) */
    /* checkpointer thread only: the WAL as its last checkpoint left it */
    int ckpt_frames;
    int64_t ckpt_at_us;
};

/* WAL frames past which the writer restarts the log itself (~64 MB of 4 KB
 * pages). PASSIVE checkpoints run every second from another connection, but
 * with commits every millisecond the log never empties on its own, so SQLite
 * never gets to reuse it from the start and the file grows without bound
 * (measured here: 38 MB to 429 MB in 8 s of checkout load). */
#define WAL_RESTART_FRAMES 16384

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    __atomic_store_n(&((struct store *)arg)->wal_frames, frames, __ATOMIC_RELAXED);
    return SQLITE_OK;
}

const struct store_ops *store_ops_current;
struct store *store_current;

/* Versioned migrations: entry i moves the schema from version i to i+1.
 * Never edit an entry once released; append a new one. */
static const char *migrations[] = {
    /* 1: the marketplace core */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,"
    " role TEXT NOT NULL, pwhash TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE tokens(hash BLOB PRIMARY KEY, user_id INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE merchants(id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " kind TEXT NOT NULL, country TEXT NOT NULL, description TEXT, status TEXT NOT NULL,"
    " commission_bp INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE merchant_staff(merchant_id INTEGER NOT NULL, user_id INTEGER NOT NULL,"
    " role TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(merchant_id, user_id))"
    " WITHOUT ROWID;"
    "CREATE TABLE categories(id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE products(id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL,"
    " category_id INTEGER NOT NULL, title TEXT NOT NULL, description TEXT, attributes TEXT,"
    " status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE skus(id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, code TEXT NOT NULL,"
    " attrs TEXT, price INTEGER NOT NULL, currency TEXT NOT NULL, on_hand INTEGER NOT NULL,"
    " reserved INTEGER NOT NULL, sold INTEGER NOT NULL, tiers TEXT, moq INTEGER NOT NULL);"
    "CREATE TABLE cart_items(user_id INTEGER NOT NULL, sku_id INTEGER NOT NULL,"
    " qty INTEGER NOT NULL, added_at INTEGER NOT NULL, PRIMARY KEY(user_id, sku_id))"
    " WITHOUT ROWID;"
    "CREATE TABLE checkouts(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
    " total INTEGER NOT NULL, currency TEXT NOT NULL, shipping TEXT, expires_at INTEGER,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, checkout_id INTEGER, merchant_id INTEGER NOT NULL,"
    " user_id INTEGER NOT NULL, status TEXT NOT NULL, subtotal INTEGER NOT NULL,"
    " currency TEXT NOT NULL, commission_bp INTEGER NOT NULL, commission INTEGER NOT NULL,"
    " shipping TEXT, carrier TEXT, tracking TEXT, created_at INTEGER NOT NULL,"
    " expires_at INTEGER, paid_at INTEGER, updated_at INTEGER NOT NULL, history TEXT,"
    " live_item_id INTEGER);"
    "CREATE TABLE order_lines(order_id INTEGER NOT NULL, n INTEGER NOT NULL,"
    " sku_id INTEGER NOT NULL, product_id INTEGER NOT NULL, title TEXT NOT NULL,"
    " qty INTEGER NOT NULL, unit_price INTEGER NOT NULL, PRIMARY KEY(order_id, n)) WITHOUT ROWID;"
    "CREATE TABLE ledger(id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL, kind TEXT NOT NULL,"
    " amount INTEGER NOT NULL, currency TEXT NOT NULL, order_id INTEGER,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE idempotency(id INTEGER PRIMARY KEY, scope INTEGER NOT NULL, key TEXT NOT NULL,"
    " fingerprint BLOB NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE live_rooms(id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL,"
    " title TEXT NOT NULL, status TEXT NOT NULL, scheduled_at INTEGER, started_at INTEGER,"
    " ended_at INTEGER, pinned_item_id INTEGER, created_at INTEGER NOT NULL);"
    "CREATE TABLE live_items(id INTEGER PRIMARY KEY, room_id INTEGER NOT NULL,"
    " sku_id INTEGER NOT NULL, live_price INTEGER NOT NULL, currency TEXT NOT NULL,"
    " quantity INTEGER NOT NULL, per_user_limit INTEGER NOT NULL, starts_at INTEGER,"
    " status TEXT NOT NULL, created_at INTEGER NOT NULL);",
    /* 2: merchant programs and shopper behaviour (discovery) */
    "CREATE TABLE programs(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " commission_bp INTEGER NOT NULL, boost_pm INTEGER NOT NULL, eligible_kinds TEXT NOT NULL,"
    " starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE program_enrollments(program_id INTEGER NOT NULL, merchant_id INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(program_id, merchant_id)) WITHOUT ROWID;"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER, session INTEGER,"
    " kind TEXT NOT NULL, product_id INTEGER, query TEXT, created_at INTEGER NOT NULL);",
};

static const char *stmt_sql[ST__COUNT] = {
    [ST_USER_PUT] = "INSERT OR REPLACE INTO users VALUES(?,?,?,?,?,?)",
    [ST_TOKEN_PUT] = "INSERT OR REPLACE INTO tokens VALUES(?,?,?)",
    [ST_TOKEN_DEL] = "DELETE FROM tokens WHERE hash=?",
    [ST_MERCHANT_PUT] = "INSERT OR REPLACE INTO merchants VALUES(?,?,?,?,?,?,?,?,?)",
    [ST_STAFF_PUT] = "INSERT OR REPLACE INTO merchant_staff VALUES(?,?,?,?)",
    [ST_CATEGORY_PUT] = "INSERT OR REPLACE INTO categories VALUES(?,?,?,?)",
    [ST_PRODUCT_PUT] = "INSERT OR REPLACE INTO products VALUES(?,?,?,?,?,?,?,?,?)",
    [ST_SKU_PUT] = "INSERT OR REPLACE INTO skus VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [ST_SKU_STOCK] = "UPDATE skus SET on_hand=?, reserved=?, sold=? WHERE id=?",
    [ST_CART_PUT] = "INSERT OR REPLACE INTO cart_items VALUES(?,?,?,?)",
    [ST_CART_DEL] = "DELETE FROM cart_items WHERE user_id=? AND sku_id=?",
    [ST_CHECKOUT_PUT] = "INSERT OR REPLACE INTO checkouts VALUES(?,?,?,?,?,?,?)",
    [ST_ORDER_PUT] = "INSERT OR REPLACE INTO orders VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_ORDER_LINE_PUT] = "INSERT OR REPLACE INTO order_lines VALUES(?,?,?,?,?,?,?)",
    [ST_LEDGER_PUT] = "INSERT OR REPLACE INTO ledger VALUES(?,?,?,?,?,?,?)",
    [ST_IDEM_PUT] = "INSERT OR REPLACE INTO idempotency VALUES(?,?,?,?,?,?,?)",
    /* by id: ids are time-ordered and the primary key, so no scan */
    [ST_IDEM_PURGE] = "DELETE FROM idempotency WHERE id < ?",
    [ST_META_PUT] = "INSERT OR REPLACE INTO meta VALUES(?,?)",
    [ST_ROOM_PUT] = "INSERT OR REPLACE INTO live_rooms VALUES(?,?,?,?,?,?,?,?,?)",
    [ST_LIVE_ITEM_PUT] = "INSERT OR REPLACE INTO live_items VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_PROGRAM_PUT] = "INSERT OR REPLACE INTO programs VALUES(?,?,?,?,?,?,?,?)",
    [ST_ENROLL_PUT] = "INSERT OR REPLACE INTO program_enrollments VALUES(?,?,?)",
    [ST_EVENT_PUT] = "INSERT INTO events VALUES(?,?,?,?,?,?,?)",
};

static const char *query_sql[SQ__COUNT] = {
    [SQ_USERS] = "SELECT * FROM users ORDER BY id",
    [SQ_TOKENS] = "SELECT * FROM tokens",
    [SQ_MERCHANTS] = "SELECT * FROM merchants ORDER BY id",
    [SQ_STAFF] = "SELECT * FROM merchant_staff ORDER BY created_at",
    [SQ_CATEGORIES] = "SELECT * FROM categories ORDER BY id",
    [SQ_PRODUCTS] = "SELECT * FROM products ORDER BY id",
    [SQ_SKUS] = "SELECT * FROM skus ORDER BY id",
    [SQ_CART] = "SELECT * FROM cart_items ORDER BY added_at",
    [SQ_CHECKOUTS] = "SELECT * FROM checkouts ORDER BY id",
    [SQ_ORDERS] = "SELECT * FROM orders ORDER BY id",
    [SQ_ORDER_LINES] = "SELECT * FROM order_lines ORDER BY order_id, n",
    [SQ_LEDGER] = "SELECT * FROM ledger ORDER BY id",
    [SQ_IDEM] = "SELECT * FROM idempotency ORDER BY id",
    [SQ_META] = "SELECT * FROM meta",
    [SQ_ROOMS] = "SELECT * FROM live_rooms ORDER BY id",
    [SQ_LIVE_ITEMS] = "SELECT * FROM live_items ORDER BY id",
    [SQ_PROGRAMS] = "SELECT * FROM programs ORDER BY id",
    [SQ_ENROLLMENTS] = "SELECT * FROM program_enrollments ORDER BY created_at",
    [SQ_EVENTS] = "SELECT * FROM events ORDER BY id",
};

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_err("sqlite: %s (in: %.80s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int migrate(sqlite3 *db)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int target = (int)(sizeof migrations / sizeof migrations[0]);
    for (int v = version; v < target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
        if (exec_sql(db, "BEGIN") || exec_sql(db, migrations[v]) || exec_sql(db, pragma) ||
            exec_sql(db, "COMMIT")) {
            exec_sql(db, "ROLLBACK");
            return -1;
        }
        log_info("store: migrated schema to version %d", v + 1);
    }
    if (version > target) {
        log_err("store: data was written by a newer souk (schema %d > %d)", version, target);
        return -1;
    }
    return 0;
}

static int sq_open(struct store **out, const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        log_err("store: cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/souk.db", dir);
    struct store *s = xcalloc(1, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        exec_sql(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                        " PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=OFF;"
                        " PRAGMA cache_size=-65536; PRAGMA busy_timeout=5000;") ||
        migrate(s->db)) {
        log_err("store: cannot open %s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_close(s->db);
        free(s);
        return -1;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i],
                               NULL) != SQLITE_OK) {
            log_err("store: prepare %d: %s", i, sqlite3_errmsg(s->db));
            return -1;
        }
    }
    /* wal_autocheckpoint=0 above; this hook replaces SQLite's own counter. */
    sqlite3_wal_hook(s->db, wal_hook, s);
    if (sqlite3_open_v2(path, &s->ckpt, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) return -1;
    /* A connection that has never read the database has not opened the WAL,
     * and its checkpoints silently do nothing (log = -1): read once. */
    exec_sql(s->ckpt, "PRAGMA busy_timeout=1000; SELECT count(*) FROM meta;");
    *out = s;
    return 0;
}

static void sq_close(struct store *s)
{
    if (!s) return;
    for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(s->stmts[i]);
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(s->ckpt);
    sqlite3_close(s->db);
    free(s);
}

static int sq_begin(struct store *s)
{
    return exec_sql(s->db, "BEGIN");
}

static int sq_commit(struct store *s)
{
    if (exec_sql(s->db, "COMMIT")) return -1;
    if (s->wal_frames > WAL_RESTART_FRAMES) {
        /* Between batches, on the writer's own connection: nothing else
         * writes, so this only waits for the few frames PASSIVE has not
         * copied yet, then the next commit starts the log from the top. */
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store: restart checkpoint: %s", sqlite3_errmsg(s->db));
        __atomic_store_n(&s->wal_frames, 0, __ATOMIC_RELAXED);
    }
    return 0;
}

static int sq_rollback(struct store *s)
{
    return exec_sql(s->db, "ROLLBACK");
}

static int sq_exec(struct store *s, enum store_stmt id, const struct sval *args, int nargs)
{
    sqlite3_stmt *st = s->stmts[id];
    for (int i = 0; i < nargs; i++) {
        const struct sval *v = &args[i];
        switch (v->type) {
        case SV_NULL: sqlite3_bind_null(st, i + 1); break;
        case SV_INT: sqlite3_bind_int64(st, i + 1, v->i); break;
        case SV_TEXT: sqlite3_bind_text(st, i + 1, v->s, (int)v->len, SQLITE_STATIC); break;
        case SV_BLOB: sqlite3_bind_blob(st, i + 1, v->s, (int)v->len, SQLITE_STATIC); break;
        }
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        log_err("store: statement %d: %s", id, sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

static int sq_scan(struct store *s, enum store_query q, store_row_fn row, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, query_sql[q], -1, &st, NULL) != SQLITE_OK) {
        log_err("store: query %d: %s", q, sqlite3_errmsg(s->db));
        return -1;
    }
    struct sval cols[32];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        if (n > 32) n = 32;
        for (int i = 0; i < n; i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: cols[i] = (struct sval){SV_NULL, 0, NULL, 0}; break;
            case SQLITE_INTEGER:
                cols[i] = (struct sval){SV_INT, sqlite3_column_int64(st, i), NULL, 0};
                break;
            case SQLITE_BLOB:
                cols[i].type = SV_BLOB;
                cols[i].s = sqlite3_column_blob(st, i);
                cols[i].len = (size_t)sqlite3_column_bytes(st, i);
                cols[i].i = 0;
                break;
            default:
                cols[i].type = SV_TEXT;
                cols[i].s = (const char *)sqlite3_column_text(st, i);
                cols[i].len = (size_t)sqlite3_column_bytes(st, i);
                cols[i].i = 0;
            }
        }
        if (row(arg, cols, n)) break;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Called every 100 ms; copies once a second, or as soon as the WAL has grown
 * by CKPT_EVERY_FRAMES. Under a flash sale the log passes WAL_RESTART_FRAMES
 * every few seconds, and the writer's RESTART must first copy whatever
 * PASSIVE has not: with a 1 s period that was up to a second of frames, a
 * 50-70 ms stall of every buy in flight (the sale's p99.9). */
#define CKPT_EVERY_FRAMES 2048
static int sq_checkpoint(struct store *s)
{
    int frames = __atomic_load_n(&s->wal_frames, __ATOMIC_RELAXED);
    int64_t now = mono_us();
    int grown = frames < s->ckpt_frames ? frames : frames - s->ckpt_frames; /* restarted */
    if (grown < CKPT_EVERY_FRAMES && now - s->ckpt_at_us < 1000000) return 0;
    s->ckpt_frames = frames;
    s->ckpt_at_us = now;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK && log < 0) {
        log_warn("store: checkpoint did nothing (the WAL is not open on its connection)");
        return -1;
    }
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : -1;
}

/* Rare reads (idempotent replays) use one read-only connection per thread:
 * WAL lets them run beside the writer without waiting for it. The
 * connection is closed when its thread exits. */
struct reader {
    sqlite3 *db;
    sqlite3_stmt *st;
};
static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_close(void *p)
{
    struct reader *rd = p;
    sqlite3_finalize(rd->st);
    sqlite3_close(rd->db);
    free(rd);
}

static void reader_key_init(void)
{
    pthread_key_create(&reader_key, reader_close);
}

static int sq_idem_body(struct store *s, int64_t id, char **body, size_t *len)
{
    pthread_once(&reader_once, reader_key_init);
    struct reader *rd = pthread_getspecific(reader_key);
    if (!rd) {
        rd = xcalloc(1, sizeof *rd);
        pthread_setspecific(reader_key, rd);
    }
    sqlite3 *rdb = rd->db;
    sqlite3_stmt *st = rd->st;
    if (!rdb) {
        if (sqlite3_open_v2(s->path, &rdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
            sqlite3_prepare_v3(rdb, "SELECT body FROM idempotency WHERE id=?", -1,
                               SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            log_err("store: read connection: %s", rdb ? sqlite3_errmsg(rdb) : "?");
            sqlite3_close(rdb);
            return -1;
        }
        sqlite3_busy_timeout(rdb, 1000);
        rd->db = rdb;
        rd->st = st;
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *body = xstrndup((const char *)sqlite3_column_text(st, 0), *len);
        rc = 0;
    }
    sqlite3_reset(st);
    return rc;
}

const struct store_ops store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .scan = sq_scan,
    .checkpoint = sq_checkpoint,
    .idem_body = sq_idem_body,
};
