/*
 * Tests for src/import/retail (UCI Online Retail importer) and src/util/progress.
 *
 * The fixture tests/unit/fixtures/retail_small.csv has one or more lines for
 * every quirk of the real file; the comments in it are in this file instead
 * (CSV has none). Run from the repository root, as `make unit` does. The
 * real-file test is skipped, with a message, when the dataset is absent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "import/retail.h"
#include "util/progress.h"

#define FIXTURE   "tests/unit/fixtures/retail_small.csv"
#define REAL_FILE "/work/shared/data/online-retail/online_retail.csv.gz"

/* 2010-12-01 08:26:00 UTC, the first invoice's time. */
#define T_536365 1291191960

static const struct retail_product *find_product(const struct retail_data *d, const char *code)
{
    for (size_t i = 0; i < d->nproducts; i++)
        if (strcmp(d->products[i].code, code) == 0) return &d->products[i];
    return NULL;
}

static const struct retail_order *find_order(const struct retail_data *d, uint64_t invoice)
{
    for (size_t i = 0; i < d->norders; i++)
        if (d->orders[i].invoice == invoice) return &d->orders[i];
    return NULL;
}

static const struct retail_customer *find_customer(const struct retail_data *d, int64_t id)
{
    for (size_t i = 0; i < d->ncustomers; i++)
        if (d->customers[i].id == id) return &d->customers[i];
    return NULL;
}

static uint64_t sum_skipped(const struct retail_stats *s)
{
    uint64_t n = 0;
    for (int i = 0; i < RETAIL_SKIP_COUNT; i++)
        n += s->skipped[i];
    return n;
}

/* Structural invariants that hold for any load. */
static void check_invariants(const struct retail_data *d)
{
    assert_int_equal(d->stats.lines_read, d->stats.lines_kept + sum_skipped(&d->stats));
    assert_int_equal(d->stats.lines_kept, d->norder_lines);
    assert_true(d->stats.product_codes_seen >= d->nproducts);
    size_t next = 0;
    for (size_t i = 0; i < d->norders; i++) {
        const struct retail_order *o = &d->orders[i];
        assert_int_equal(o->first_line, next); /* contiguous, in order */
        assert_true(o->nlines >= 1);
        assert_true(o->customer < d->ncustomers);
        assert_int_equal(d->customers[o->customer].id, o->customer_id);
        assert_true(o->country < d->ncountries);
        next += o->nlines;
    }
    assert_int_equal(next, d->norder_lines);
    for (size_t i = 0; i < d->norder_lines; i++) {
        assert_true(d->order_lines[i].product < d->nproducts);
        assert_true(d->order_lines[i].qty > 0);
        assert_true(d->order_lines[i].price > 0);
    }
    for (size_t i = 0; i < d->nproducts; i++) {
        const struct retail_product *p = &d->products[i];
        assert_true(p->price > 0);
        assert_true(p->nlines >= 1);
        assert_true(p->first_seen <= p->last_seen);
        assert_non_null(p->title);
    }
}

static int load_fixture(void **state)
{
    struct retail_data *d = malloc(sizeof *d);
    assert_non_null(d);
    if (retail_load(FIXTURE, d, NULL) != 0) {
        print_message("cannot load %s: %s (run from the repository root)\n", FIXTURE, d->error);
        free(d);
        return -1;
    }
    *state = d;
    return 0;
}

static int release_fixture(void **state)
{
    retail_release(*state);
    free(*state);
    return 0;
}

static void test_skip_counts(void **state)
{
    const struct retail_data *d = *state;
    const struct retail_stats *s = &d->stats;
    assert_int_equal(s->lines_read, 45); /* the blank line is not a data line */
    assert_int_equal(s->lines_kept, 13);
    assert_int_equal(s->skipped[RETAIL_SKIP_MALFORMED], 7);
    assert_int_equal(s->skipped[RETAIL_SKIP_CANCELLATION], 2); /* incl. a repeated C line */
    assert_int_equal(s->skipped[RETAIL_SKIP_ADJUSTMENT], 1);
    assert_int_equal(s->skipped[RETAIL_SKIP_NON_PRODUCT], 13);
    assert_int_equal(s->skipped[RETAIL_SKIP_QUANTITY], 2);
    assert_int_equal(s->skipped[RETAIL_SKIP_PRICE], 3);
    assert_int_equal(s->skipped[RETAIL_SKIP_DUPLICATE], 2);
    assert_int_equal(s->skipped[RETAIL_SKIP_NO_CUSTOMER], 2);
    /* Physical line 42: the quoted line break and the blank line count as lines. */
    assert_int_equal(s->first_malformed, 42);
    assert_int_equal(s->codes_seen, 28);
    assert_int_equal(s->product_codes_seen, 13); /* 11 products + 21484, 22139 */
    assert_int_equal(d->nproducts, 11);
    assert_int_equal(d->ncustomers, 4);
    assert_int_equal(d->norders, 9);
    assert_int_equal(d->ncountries, 2);
    check_invariants(d);
}

static void test_skip_names(void **state)
{
    (void)state;
    for (int i = 0; i < RETAIL_SKIP_COUNT; i++) {
        assert_non_null(retail_skip_names[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(retail_skip_names[i], retail_skip_names[j]);
    }
    assert_string_equal(retail_skip_names[RETAIL_SKIP_DUPLICATE], "duplicate");
}

static void test_quoting(void **state)
{
    const struct retail_data *d = *state;
    assert_string_equal(find_product(d, "82567")->title, "AIRLINE LOUNGE,METAL SIGN");
    assert_string_equal(find_product(d, "22041")->title, "RECORD FRAME 7\" SINGLE SIZE");
    assert_string_equal(find_product(d, "21731")->title, "RED TOADSTOOL\nLED NIGHT LIGHT");
    assert_string_equal(find_product(d, "71053")->title, "WHITE METAL LANTERN"); /* trimmed */
    /* The CRLF line: no '\r' left on its last field. */
    const struct retail_order *o = find_order(d, 536377);
    assert_non_null(o);
    assert_string_equal(d->countries[o->country], "United Kingdom");
}

static void test_prices(void **state)
{
    const struct retail_data *d = *state;
    assert_int_equal(find_product(d, "82567")->price, 85);      /* "0.85" */
    assert_int_equal(find_product(d, "22041")->price, 210);     /* "2.1" */
    assert_int_equal(find_product(d, "22502")->price, 3897000); /* "38970.0" */
    assert_int_equal(find_product(d, "84879")->price, 1);       /* "0.005" rounds up */
    assert_int_equal(find_product(d, "22423")->price, 1275);    /* 2 x 12.75 beat 1 x 10.95 */
    assert_int_equal(find_product(d, "85123A")->price, 255);    /* tie 2.55/2.95: first seen */
    assert_null(find_product(d, "22139"));                      /* only at 0.0, -11062.06, 0.001 */
    assert_null(find_product(d, "22086")); /* "1,234.5" and the like: malformed */
    /* The line price is the line's own, not the product's usual one. */
    const struct retail_order *o = find_order(d, 536372);
    assert_non_null(o);
    assert_int_equal(o->nlines, 2);
    assert_int_equal(d->order_lines[o->first_line].price, 1095);
    assert_int_equal(d->order_lines[o->first_line + 1].price, 1275);
}

static void test_products(void **state)
{
    const struct retail_data *d = *state;
    const struct retail_product *p = find_product(d, "85123A");
    assert_non_null(p);
    assert_null(find_product(d, "85123a")); /* folded into 85123A */
    /* One kept line, one without a customer; its duplicate and the
     * cancellations do not count. */
    assert_int_equal(p->nlines, 2);
    assert_int_equal(p->qty_sold, 6 + 2);
    assert_int_equal(p->first_seen, T_536365);
    assert_int_equal(p->last_seen, 1291377600); /* 2010-12-03 12:00 */

    p = find_product(d, "22423");
    assert_string_equal(p->title, "REGENCY CAKESTAND 3 TIER"); /* 2 beat 1; empty ignored */
    assert_int_equal(p->nlines, 4);
    assert_int_equal(p->qty_sold, 1 + 2 + 4 + 1);

    /* Accounting codes, write-offs and zero prices make no product. */
    const char *none[] = {"POST", "D", "M", "BANK CHARGES", "AMAZONFEE",    "DOT",      "CRUK",
                          "PADS", "S", "B", "C2",           "GIFT_0001_40", "DCGSSBOY", "21484"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_null(find_product(d, none[i]));
}

static void test_customers(void **state)
{
    const struct retail_data *d = *state;
    const struct retail_customer *c = find_customer(d, 17850); /* from "17850.0" */
    assert_non_null(c);
    assert_int_equal(c->first_seen, T_536365);
    assert_string_equal(d->countries[c->country], "United Kingdom");
    assert_non_null(find_customer(d, 12346)); /* from "12346" */
    c = find_customer(d, 13047);
    assert_non_null(c);
    assert_string_equal(d->countries[c->country], "EIRE");
    assert_null(find_customer(d, 12583));        /* bought only accounting lines */
    assert_int_equal(d->customers[0].id, 17850); /* first-seen order */
}

static void test_orders(void **state)
{
    const struct retail_data *d = *state;
    /* 536365's third line comes late in the file; it is grouped with the others. */
    const struct retail_order *o = find_order(d, 536365);
    assert_non_null(o);
    assert_int_equal(o->customer_id, 17850);
    assert_int_equal(o->time, T_536365);
    assert_int_equal(o->nlines, 3);
    const char *codes[] = {"85123A", "71053", "84406B"};
    for (unsigned i = 0; i < 3; i++) {
        const struct retail_line *l = &d->order_lines[o->first_line + i];
        assert_string_equal(d->products[l->product].code, codes[i]);
    }
    assert_int_equal(d->order_lines[o->first_line].qty, 6);
    /* "12/7/2010 8:26", the UCI original's date form. */
    assert_int_equal(find_order(d, 536378)->time, 1291710360);
    /* No order from cancellations, adjustments, no-customer invoices. */
    assert_null(find_order(d, 536379));
    assert_null(find_order(d, 563185));
    assert_null(find_order(d, 536370));
    assert_null(find_order(d, 536374));
}

/* Writes the fixture gzip-compressed to a temporary file; returns its path. */
static void gzip_copy(const char *from, char *path, size_t n)
{
    snprintf(path, n, "/tmp/test_retail_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    gzFile out = gzopen(path, "wb");
    assert_non_null(out);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(gzwrite(out, buf, (unsigned)got), (int)got);
    fclose(in);
    assert_int_equal(gzclose(out), Z_OK);
}

static void test_gzip_same_as_plain(void **state)
{
    const struct retail_data *plain = *state;
    char path[64];
    gzip_copy(FIXTURE, path, sizeof path);
    struct retail_data gz;
    assert_int_equal(retail_load(path, &gz, NULL), 0);
    unlink(path);
    assert_memory_equal(&gz.stats, &plain->stats, sizeof gz.stats);
    assert_int_equal(gz.nproducts, plain->nproducts);
    assert_int_equal(gz.norder_lines, plain->norder_lines);
    assert_memory_equal(gz.order_lines, plain->order_lines,
                        plain->norder_lines * sizeof *plain->order_lines);
    retail_release(&gz);
}

static void write_file(char *path, size_t n, const char *text)
{
    snprintf(path, n, "/tmp/test_retail_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_load_errors(void **state)
{
    (void)state;
    struct retail_data d;
    assert_int_equal(retail_load("/nonexistent/retail.csv", &d, NULL), -1);
    assert_int_equal(errno, ENOENT);
    assert_true(d.error[0] != '\0');
    assert_null(d.products);

    char path[64];
    write_file(path, sizeof path, "InvoiceNo,StockCode,Description,Quantity\n1,2,3,4\n");
    assert_int_equal(retail_load(path, &d, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(d.error, "InvoiceDate"));
    unlink(path);

    write_file(path, sizeof path, "\n\n");
    assert_int_equal(retail_load(path, &d, NULL), -1);
    assert_int_equal(errno, EINVAL);
    unlink(path);

    /* A header only, with a BOM and columns in another order: fine, and empty. */
    write_file(
        path, sizeof path,
        "\xEF\xBB\xBF"
        "country,customerid,unitprice,invoicedate,quantity,description,stockcode,invoiceno\r\n"
        "United Kingdom,17850.0,2.55,2010-12-01 08:26:00,6,HEART,85123A,536365\r\n");
    assert_int_equal(retail_load(path, &d, NULL), 0);
    unlink(path);
    assert_int_equal(d.stats.lines_kept, 1);
    assert_int_equal(d.orders[0].invoice, 536365);
    assert_int_equal(d.products[0].price, 255);
    retail_release(&d);
    retail_release(&d); /* twice is harmless */
}

/* ---- merchants ---- */

static void merchant_sizes(const uint32_t *of, size_t n, unsigned m, size_t *sizes)
{
    memset(sizes, 0, m * sizeof *sizes);
    for (size_t i = 0; i < n; i++) {
        assert_true(of[i] < m);
        sizes[of[i]]++;
    }
}

static void test_merchants_shape(void **state)
{
    (void)state;
    const size_t cases[][2] = {{3796, 200}, {3796, 1}, {1000, 1000}, {5000, 37}, {7, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c][0];
        unsigned m = (unsigned)cases[c][1];
        uint32_t *of = malloc(n * sizeof *of);
        size_t *sizes = malloc(m * sizeof *sizes);
        retail_assign_merchants(n, m, 42, of);
        merchant_sizes(of, n, m, sizes);
        size_t sum = 0;
        for (unsigned j = 0; j < m; j++) {
            assert_true(sizes[j] >= 1);
            if (j) assert_true(sizes[j] <= sizes[j - 1]);
            sum += sizes[j];
        }
        assert_int_equal(sum, n);
        free(of);
        free(sizes);
    }

    /* Power law: merchant 0 vs merchant 9 should be about 10^1.1 = 12.6. */
    uint32_t of[3796];
    size_t sizes[200];
    retail_assign_merchants(3796, 200, 1, of);
    merchant_sizes(of, 3796, 200, sizes);
    double ratio = (double)(sizes[0] - 1) / (double)(sizes[9] - 1);
    assert_true(ratio > 11.0 && ratio < 14.5);

    /* Fewer products than merchants: the first ones get one each. */
    uint32_t few[3];
    retail_assign_merchants(3, 10, 7, few);
    size_t fsizes[10];
    merchant_sizes(few, 3, 10, fsizes);
    for (unsigned j = 0; j < 10; j++)
        assert_int_equal(fsizes[j], j < 3);
    retail_assign_merchants(0, 10, 7, NULL); /* nothing to do, no write */
}

static uint64_t fnv1a(const uint32_t *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *p = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof *v; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void test_merchants_deterministic(void **state)
{
    (void)state;
    static uint32_t a[3796], b[3796];
    retail_assign_merchants(3796, 200, 42, a);
    retail_assign_merchants(3796, 200, 42, b);
    assert_memory_equal(a, b, sizeof a);
    retail_assign_merchants(3796, 200, 43, b);
    assert_memory_not_equal(a, b, sizeof a);
    /* The answer itself is fixed: if this changes, every machine's demo data
     * changes with it. (Update only on purpose.) */
    size_t sizes[200];
    merchant_sizes(a, 3796, 200, sizes);
    assert_int_equal(sizes[0], 767);
    assert_int_equal(sizes[199], 3);
    assert_int_equal(fnv1a(a, 3796), 0x5af17169517c3028ull);
}

/* ---- progress ---- */

static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_progress_plain(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct progress p;
    progress_init(&p, "import", 48039726, f);
    for (uint64_t done = 0; done <= 48039726; done += 65536)
        progress_update(&p, done);
    progress_update(&p, 48039726);
    progress_finish(&p);
    progress_finish(&p); /* once only */
    char *s = slurp(f);
    assert_int_equal(count_lines(s), 10); /* 10%..90% and the final line */
    assert_non_null(strstr(s, "import: 30% (14.4 MB of 48.0 MB)\n"));
    assert_non_null(strstr(s, "import: 100% (48.0 MB of 48.0 MB) done in "));
    free(s);
    fclose(f);

    /* A jump prints only the step reached; items instead of bytes. */
    f = tmpfile();
    progress_init(&p, "load", 2000, f);
    progress_set_items(&p, "rows");
    progress_update(&p, 1000);
    progress_update(&p, 900); /* backwards: ignored */
    progress_finish(&p);
    s = slurp(f);
    assert_non_null(strstr(s, "load: 50% (1000 rows of 2000 rows)\n"));
    assert_int_equal(count_lines(s), 2);
    free(s);
    fclose(f);

    /* Unknown total: the final line only. NULL out: silent. */
    f = tmpfile();
    progress_init(&p, "scan", 0, f);
    progress_update(&p, 123456);
    progress_finish(&p);
    s = slurp(f);
    assert_int_equal(count_lines(s), 1);
    assert_non_null(strstr(s, "scan: 123.5 KB done in"));
    free(s);
    fclose(f);
    progress_init(&p, "quiet", 10, NULL);
    progress_update(&p, 5);
    progress_finish(&p);
}

/* ---- the real file ---- */

static void test_real_file(void **state)
{
    (void)state;
    if (access(REAL_FILE, R_OK) != 0) {
        print_message("skipping: %s is absent\n", REAL_FILE);
        skip();
    }
    FILE *log = tmpfile();
    struct progress p;
    progress_init(&p, "import", 7611818, log);
    struct retail_data d;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = retail_load(REAL_FILE, &d, &p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    progress_finish(&p);
    if (rc) fail_msg("load failed: %s", d.error);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    const struct retail_stats *s = &d.stats;
    print_message("online_retail.csv.gz: %.3f s; %llu lines, %llu kept; %zu products "
                  "(%llu codes, %llu product codes), %zu customers, %zu orders, %zu countries\n",
                  secs, (unsigned long long)s->lines_read, (unsigned long long)s->lines_kept,
                  d.nproducts, (unsigned long long)s->codes_seen,
                  (unsigned long long)s->product_codes_seen, d.ncustomers, d.norders, d.ncountries);
    for (int i = 0; i < RETAIL_SKIP_COUNT; i++)
        print_message("  skipped %-13s %llu\n", retail_skip_names[i],
                      (unsigned long long)s->skipped[i]);

    assert_int_equal(s->lines_read, 541909);
    assert_int_equal(s->codes_seen, 4070); /* README */
    assert_true(s->product_codes_seen >= 3900 && s->product_codes_seen <= 4070);
    assert_true(d.nproducts >= 3700 && d.nproducts <= s->product_codes_seen);
    assert_int_equal(s->skipped[RETAIL_SKIP_CANCELLATION], 9288); /* README */
    assert_int_equal(s->skipped[RETAIL_SKIP_ADJUSTMENT], 3);      /* README */
    assert_int_equal(s->skipped[RETAIL_SKIP_MALFORMED], 0);
    assert_true(d.ncustomers <= 4372 && d.ncustomers > 4000);
    assert_true(d.norders <= 25900 && d.norders > 15000);
    check_invariants(&d);
    assert_true(secs < 5.0);

    char *out = slurp(log);
    assert_non_null(strstr(out, "import: 50% ("));
    assert_non_null(strstr(out, "import: 100% (7.6 MB of 7.6 MB) done in"));
    free(out);
    fclose(log);
    retail_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_skip_counts, load_fixture, release_fixture),
        cmocka_unit_test(test_skip_names),
        cmocka_unit_test_setup_teardown(test_quoting, load_fixture, release_fixture),
        cmocka_unit_test_setup_teardown(test_prices, load_fixture, release_fixture),
        cmocka_unit_test_setup_teardown(test_products, load_fixture, release_fixture),
        cmocka_unit_test_setup_teardown(test_customers, load_fixture, release_fixture),
        cmocka_unit_test_setup_teardown(test_orders, load_fixture, release_fixture),
        cmocka_unit_test_setup_teardown(test_gzip_same_as_plain, load_fixture, release_fixture),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_merchants_shape),
        cmocka_unit_test(test_merchants_deterministic),
        cmocka_unit_test(test_progress_plain),
        cmocka_unit_test(test_real_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
