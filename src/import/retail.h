/*
 * retail — parser for the UCI "Online Retail" CSV (541,909 lines of a UK gift
 * wholesaler, 2010-12 to 2011-12; /work/shared/data/online-retail/README.md)
 * into compact in-memory arrays that the demo-data loader turns into souk
 * products, shoppers and orders.
 *
 * Input. The CSV, plain or gzip (read through zlib's gzopen/gzread, which
 * passes plain files through). RFC 4180: fields with commas, quotes or line
 * breaks are in double quotes and a quote inside is doubled. LF or CRLF line
 * ends; a UTF-8 BOM is skipped; blank lines are ignored and not counted. The
 * first line is a header naming the columns InvoiceNo, StockCode,
 * Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country (any
 * order, case-insensitive; extra columns are ignored).
 *   - InvoiceDate is "YYYY-MM-DD HH:MM[:SS]" (this copy) or "M/D/YYYY H:MM"
 *     (the UCI original). It has no zone; it is read as UTC.
 *   - UnitPrice is read as a decimal, never through a float, and rounded half
 *     away from zero to integer pence: "0.85" -> 85, "38970.0" -> 3897000,
 *     "0.001" -> 0.
 *   - CustomerID is an integer, possibly written as a float with a zero
 *     fraction: "17850.0" -> 17850. Empty means no customer.
 *
 * What each line becomes. Every data line gets exactly one fate: it is kept
 * as an order line, or skipped for the FIRST reason that applies, checked in
 * the order of enum retail_skip below. "Product line" means a line that passes
 * every check but the last (a sale of a real product at a positive price);
 * product lines without a customer still count towards their product.
 *
 * Definitions (the choices this importer makes):
 *   - A product is a stock code, upper-cased (85123a and 85123A are one
 *     product), that is not an accounting code (see RETAIL_SKIP_NON_PRODUCT)
 *     and has at least one product line. Codes seen only in cancellations or
 *     zero-price write-offs are not products: they have no price to list.
 *     Its title is the most frequent non-empty description on its product
 *     lines, trimmed of surrounding spaces, text otherwise kept as in the
 *     file (UPPER CASE UTF-8); its price is the most frequent unit price on
 *     its product lines. Ties go to the variant seen first.
 *   - A shopper (customer) is a CustomerID with at least one kept line. Its
 *     country is the country of its first kept line.
 *   - An order is an invoice (a numeric InvoiceNo) with at least one kept
 *     line. Its customer, time and country are those of its first kept line
 *     (in this file every invoice has one customer and one country). So
 *     every order has a customer: lines without one make no order lines.
 *
 * Arrays are in file order: products by the first well-formed line with their
 * code (any fate), customers and orders by their first kept line. Indexes are
 * stable for a given file: products[order_lines[i].product], customers[orders[j].customer].
 * The lines of order j are order_lines[orders[j].first_line ..
 * orders[j].first_line + orders[j].nlines), in file order.
 *
 * Ownership: everything reachable from struct retail_data (arrays and
 * strings) is owned by it and freed by retail_release(). Not thread-safe;
 * separate retail_data values may be loaded on separate threads.
 */
#ifndef SOUK_IMPORT_RETAIL_H
#define SOUK_IMPORT_RETAIL_H

#include <stddef.h>
#include <stdint.h>

struct progress;

/* Why a line made no order line, in the order the checks are made. */
enum retail_skip {
    RETAIL_SKIP_MALFORMED,    /* wrong field count, bad number/date, unclosed quote */
    RETAIL_SKIP_CANCELLATION, /* InvoiceNo starts with C */
    RETAIL_SKIP_ADJUSTMENT,   /* InvoiceNo starts with A (bad-debt adjustment) */
    RETAIL_SKIP_NON_PRODUCT,  /* POST, D, M, BANK CHARGES, AMAZONFEE, DOT, CRUK, PADS,
                                 S, B, C2, gift_*, or any code without a digit */
    RETAIL_SKIP_QUANTITY,     /* Quantity <= 0 (stock write-offs) */
    RETAIL_SKIP_PRICE,        /* UnitPrice <= 0 after rounding to pence */
    RETAIL_SKIP_DUPLICATE,    /* byte-identical to an earlier product line */
    RETAIL_SKIP_NO_CUSTOMER,  /* product line without CustomerID: counts for the
                                 product, makes no order line */
    RETAIL_SKIP_COUNT
};

/* Short stable names ("malformed", "cancellation", ...), indexed by enum retail_skip. */
extern const char *const retail_skip_names[RETAIL_SKIP_COUNT];

struct retail_product {
    const char *code;   /* upper-cased StockCode, e.g. "85123A" */
    const char *title;  /* most frequent description, trimmed; "" if none */
    int64_t price;      /* pence (GBP minor units), > 0 */
    int64_t first_seen; /* unix seconds of the earliest / latest product line */
    int64_t last_seen;
    int64_t qty_sold; /* sum of Quantity over product lines */
    uint32_t nlines;  /* number of product lines */
};

struct retail_customer {
    int64_t id;         /* CustomerID, > 0 */
    int64_t first_seen; /* unix seconds of the earliest kept line */
    uint16_t country;   /* index into retail_data.countries */
};

struct retail_order {
    uint64_t invoice;    /* InvoiceNo, e.g. 536365 */
    int64_t customer_id; /* CustomerID (never 0: see "An order" above) */
    int64_t time;        /* unix seconds */
    uint32_t customer;   /* index into retail_data.customers */
    uint32_t first_line; /* index into retail_data.order_lines */
    uint32_t nlines;     /* >= 1 */
    uint16_t country;    /* index into retail_data.countries */
};

struct retail_line {
    int64_t price;    /* unit price in pence, > 0 */
    uint32_t product; /* index into retail_data.products */
    int32_t qty;      /* > 0 */
};

struct retail_stats {
    uint64_t lines_read; /* data lines (header and blank lines excluded) */
    uint64_t lines_kept; /* = norder_lines */
    uint64_t skipped[RETAIL_SKIP_COUNT];
    /* Invariant: lines_read == lines_kept + sum(skipped). */
    uint64_t codes_seen;         /* distinct StockCode strings, exactly as written */
    uint64_t product_codes_seen; /* distinct upper-cased non-accounting codes on any
                                    well-formed line, sold or not (>= nproducts) */
    uint64_t first_malformed;    /* 1-based physical line of the first malformed
                                    record, 0 if none */
};

struct retail_data {
    struct retail_product *products;
    size_t nproducts;
    struct retail_customer *customers;
    size_t ncustomers;
    struct retail_order *orders;
    size_t norders;
    struct retail_line *order_lines;
    size_t norder_lines;
    const char **countries; /* as written in the file, e.g. "United Kingdom" */
    size_t ncountries;
    struct retail_stats stats;
    char error[256]; /* after a failed retail_load(): what went wrong */
    void *arena_;    /* private: string storage */
};

/*
 * Reads the file at `path` into `out`, which need not be initialised.
 * `progress` (may be NULL) is advanced over the bytes of the file as stored
 * (compressed bytes for .gz); the caller inits it with the file size and
 * calls progress_finish() (retail_load updates it to the end on success).
 *
 * Returns 0, or -1 with errno set (ENOENT, EIO, ENOMEM; EINVAL for an empty
 * file, a missing header column or a record over 16 MB) and out->error
 * describing it; after
 * -1, `out` holds nothing that needs releasing. Malformed data lines are
 * counted, not fatal.
 */
int retail_load(const char *path, struct retail_data *out, struct progress *progress);

/* Frees everything `d` owns and zeroes it; safe on a zeroed or released struct. */
void retail_release(struct retail_data *d);

/*
 * Spreads `nproducts` products over `nmerchants` merchants with power-law
 * (Zipf, exponent 1.1) sizes and writes out_merchant_of_product[i] in
 * [0, nmerchants) for every product i.
 *
 *   - Sizes: every merchant first gets 1 product, the rest are shared in
 *     proportion to 1/k^1.1 (k = 1 for merchant 0), rounded down, and what
 *     rounding leaves goes one each to the first merchants. So sizes are
 *     non-increasing in the merchant index (merchant 0 is the biggest), sum
 *     to nproducts, and are >= 1 when nproducts >= nmerchants; with fewer
 *     products than merchants, merchants 0..nproducts-1 get one each.
 *   - Which products: a Fisher-Yates shuffle driven by splitmix64(seed).
 *   - Deterministic: the same arguments give the same answer on every
 *     machine (integer arithmetic, and floating point only through IEEE
 *     sqrt, * and / before rounding to integers; no rand(), no libm pow).
 *   - nmerchants == 0 is treated as 1. Allocates nothing.
 */
void retail_assign_merchants(size_t nproducts, unsigned nmerchants, uint64_t seed,
                             uint32_t *out_merchant_of_product);

#endif
