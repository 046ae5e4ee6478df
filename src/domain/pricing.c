#include "domain/pricing.h"
#include "domain/err.h"
#include "domain/money.h"

int64_t pricing_unit_price(int64_t base, const struct price_tier *tiers, int ntiers, int64_t qty)
{
    int64_t price = base;
    for (int i = 0; i < ntiers; i++)
        if (tiers[i].min_qty <= qty) price = tiers[i].price;
    return price;
}

int pricing_check_moq(int64_t moq, int64_t qty)
{
    return qty < moq ? ERR_BELOW_MOQ : ERR_OK;
}

int pricing_check_tiers(const struct price_tier *tiers, int ntiers, int *bad)
{
    for (int i = 0; i < ntiers; i++) {
        int ok = tiers[i].min_qty >= 2 && tiers[i].price >= 0 && tiers[i].price <= MONEY_MAX &&
                 (i == 0 || tiers[i].min_qty > tiers[i - 1].min_qty);
        if (!ok) {
            if (bad) *bad = i;
            return ERR_INVALID;
        }
    }
    return ERR_OK;
}

int pricing_line_total(int64_t unit_price, int64_t qty, int64_t *out)
{
    return money_mul(unit_price, qty, out) ? ERR_INVALID : ERR_OK;
}
