/*
 * store — durable storage behind one interface, so that the SQLite engine
 * (embedded, the default) and a PostgreSQL engine (several nodes, next) are
 * interchangeable: a const table of function pointers, as curl's TLS
 * backends and SQLite's VFS.
 *
 * The rest of souk never writes SQL. It names statements (enum store_stmt)
 * and queries (enum store_query); each engine holds the text for its own
 * dialect. State is loaded once at start with the scan queries and is
 * served from memory afterwards; the store only ever receives writes, all
 * through writer.h's single durable path.
 *
 * Every byte of state lives under the data directory given to open().
 */
#ifndef SOUK_STORE_H
#define SOUK_STORE_H
#include <stddef.h>
#include <stdint.h>

enum sval_type { SV_NULL, SV_INT, SV_TEXT, SV_BLOB };

/* A value bound to a statement or read from a row. Text/blob memory is
 * borrowed: valid until the call returns (bind) or the next row (scan). */
struct sval {
    enum sval_type type;
    int64_t i;
    const char *s;
    size_t len;
};

/* Writes. Argument order is the column order in the comment. */
enum store_stmt {
    ST_USER_PUT,       /* id, email, name, role, pwhash, created_at */
    ST_TOKEN_PUT,      /* hash(blob), user_id, created_at */
    ST_TOKEN_DEL,      /* hash */
    ST_MERCHANT_PUT,   /* id, owner_id, name, kind, country, description, status, commission_bp, created_at */
    ST_STAFF_PUT,      /* merchant_id, user_id, role, created_at */
    ST_CATEGORY_PUT,   /* id, name, parent_id, created_at */
    ST_PRODUCT_PUT,    /* id, merchant_id, category_id, title, description, attributes(json), status, created_at, updated_at */
    ST_SKU_PUT,        /* id, product_id, code, attrs(json), price, currency, on_hand, reserved, sold, tiers(json), moq */
    ST_SKU_STOCK,      /* on_hand, reserved, sold, id */
    ST_CART_PUT,       /* user_id, sku_id, qty, added_at */
    ST_CART_DEL,       /* user_id, sku_id */
    ST_CHECKOUT_PUT,   /* id, user_id, total, currency, shipping(json), expires_at, created_at */
    ST_ORDER_PUT,      /* id, checkout_id, merchant_id, user_id, status, subtotal, currency, commission_bp,
                          commission, shipping(json), carrier, tracking, created_at, expires_at, paid_at,
                          updated_at, history(json), live_item_id */
    ST_ORDER_LINE_PUT, /* order_id, n, sku_id, product_id, title, qty, unit_price */
    ST_LEDGER_PUT,     /* id, merchant_id, kind, amount, currency, order_id, created_at */
    ST_IDEM_PUT,       /* id, scope, key, fingerprint(blob), status, body, created_at */
    ST_IDEM_PURGE,     /* id bound (id_at(time)): delete older */
    ST_META_PUT,       /* key, value */
    ST_ROOM_PUT,       /* id, merchant_id, title, status, scheduled_at, started_at, ended_at, pinned_item_id, created_at */
    ST_LIVE_ITEM_PUT,  /* id, room_id, sku_id, live_price, currency, quantity, per_user_limit, starts_at, status, created_at */
    ST_PROGRAM_PUT,    /* id, name, commission_bp, boost_pm, eligible_kinds(json), starts_at, ends_at, created_at */
    ST_ENROLL_PUT,     /* program_id, merchant_id, created_at */
    ST_EVENT_PUT,      /* id, user_id, session, kind, product_id, query, created_at */
    ST__COUNT
};

/* Loads. Columns are those of the matching *_PUT statement, in order. */
enum store_query {
    SQ_USERS,
    SQ_TOKENS,
    SQ_MERCHANTS,
    SQ_STAFF,
    SQ_CATEGORIES,
    SQ_PRODUCTS,
    SQ_SKUS,
    SQ_CART,
    SQ_CHECKOUTS,
    SQ_ORDERS,
    SQ_ORDER_LINES,
    SQ_LEDGER,
    SQ_IDEM,
    SQ_META,
    SQ_ROOMS,
    SQ_LIVE_ITEMS,
    SQ_PROGRAMS,
    SQ_ENROLLMENTS,
    SQ_EVENTS,
    SQ__COUNT
};

struct store;
typedef int (*store_row_fn)(void *arg, const struct sval *cols, int ncols);

struct store_ops {
    const char *name;
    /* Open (creating and migrating) the store in dir. 0 or -1 (logged). */
    int (*open)(struct store **out, const char *dir);
    void (*close)(struct store *s);
    int (*begin)(struct store *s);
    /* Commit durably: when it returns 0 the transaction survives kill -9
     * and power loss (SQLite: WAL + synchronous=FULL). */
    int (*commit)(struct store *s);
    int (*rollback)(struct store *s);
    int (*exec)(struct store *s, enum store_stmt st, const struct sval *args, int nargs);
    /* Call row() for every row of q, in id order; row returns non-zero to stop. */
    int (*scan)(struct store *s, enum store_query q, store_row_fn row, void *arg);
    /* Move WAL content into the database without blocking the writer.
     * Called about every 100 ms from one thread; may do nothing. */
    int (*checkpoint)(struct store *s);
    /* Read the stored answer of idempotency record id into *body (malloc'd).
     * Any thread; uses its own read connection. 0, or -1 when absent. */
    int (*idem_body)(struct store *s, int64_t id, char **body, size_t *len);
};

/* The store the process runs on (set once at start by the CLI). */
extern const struct store_ops *store_ops_current;
extern struct store *store_current;

extern const struct store_ops store_sqlite;

#endif
