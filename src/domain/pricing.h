/*
 * pricing — wholesale tiers and minimum order quantity (1688-style).
 *
 * A SKU has a base price and optional tiers {min_qty, price}, sorted by
 * min_qty strictly increasing, each min_qty ≥ 2. The unit price of a line of
 * qty units is the price of the highest tier whose min_qty ≤ qty, else the
 * base price. A qty under the SKU's moq is refused (ERR_BELOW_MOQ).
 */
#ifndef SOUK_PRICING_H
#define SOUK_PRICING_H
#include <stdint.h>

struct price_tier {
    int64_t min_qty;
    int64_t price;
};

/* Unit price for qty units. */
int64_t pricing_unit_price(int64_t base, const struct price_tier *tiers, int ntiers, int64_t qty);
/* ERR_OK, or ERR_BELOW_MOQ when qty < moq. */
int pricing_check_moq(int64_t moq, int64_t qty);
/* ERR_OK when tiers are well formed (sorted, min_qty ≥ 2, prices ≥ 0), else
 * ERR_INVALID with the index of the first bad tier in *bad. */
int pricing_check_tiers(const struct price_tier *tiers, int ntiers, int *bad);
/* Line total unit_price × qty into *out; ERR_INVALID on overflow. */
int pricing_line_total(int64_t unit_price, int64_t qty, int64_t *out);

#endif
