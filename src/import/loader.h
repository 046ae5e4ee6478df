/*
 * loader — turns parsed Online Retail data (import/retail.h) into souk
 * objects: merchants, a category tree, products with one SKU each, shoppers
 * and completed historical orders with their real timestamps and ledger.
 *
 * Used by `souk import` (the whole file) and `souk demo` (a slice of it).
 * Products are spread over `nmerchants` merchants with power-law sizes
 * (retail_assign_merchants: deterministic). An invoice that touches several
 * merchants becomes one order per merchant, as a checkout would.
 * Runs offline with the writer started; submits in batches without waiting.
 */
#ifndef SOUK_LOADER_H
#define SOUK_LOADER_H
#include <stddef.h>
#include <stdint.h>
#include "import/retail.h"

struct loader_opts {
    unsigned nmerchants;   /* ≥ 1 */
    size_t max_products;   /* 0 = all (the most sold first when limited) */
    size_t max_orders;     /* 0 = all */
    int activate;          /* approve the merchants */
    const char *email_tag; /* users are <role>-<n>@<tag>; default retail.souk.test */
    const char *currency;  /* default GBP (the file's) */
    int64_t fx_x100;       /* price multiplier × 100 into that currency; 0 = 100 */
};

struct loader_result {
    size_t merchants, categories, products, shoppers, orders, order_lines;
    int64_t gmv; /* pence */
};

/* 0, or -1 when the data dir already holds an import with this tag. */
int loader_run(const struct retail_data *d, const struct loader_opts *o, struct loader_result *res);
/* "WHITE HANGING HEART T-LIGHT HOLDER" → "White Hanging Heart T-Light Holder". */
void loader_title_case(const char *in, char *out, size_t cap);

#endif
