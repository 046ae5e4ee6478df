/*
 * money — integer minor units and the arithmetic on them.
 *
 * Amounts are int64 minor units (1999 = 19.99 in a two-decimal currency);
 * floats never touch money. A price is at most MONEY_MAX; sums and products
 * are computed with money_add/money_mul, which report overflow, and callers
 * refuse the operation when they do (a checkout total is checked before
 * anything is reserved).
 */
#ifndef SOUK_MONEY_H
#define SOUK_MONEY_H
#include <stddef.h>
#include <stdint.h>

#define MONEY_MAX 1000000000000LL /* 10^12 minor units per price */

/* a × b into *out; -1 on overflow or a negative operand. */
int money_mul(int64_t a, int64_t b, int64_t *out);
/* a + b into *out; -1 on overflow. */
int money_add(int64_t a, int64_t b, int64_t *out);
/* Commission on amount at bp basis points (1 bp = 0.01%), rounded half up:
 * floor((amount × bp + 5000) / 10000) for amount ≥ 0. Negative amounts round
 * half away from zero, symmetric with the positive case. */
int64_t money_commission(int64_t amount, int bp);
/* 1 when code is an ISO 4217 currency souk accepts. */
int money_currency_ok(const char *code);
/* Decimal places of a currency (JPY, KRW, VND, IDR: 0; others 2). */
int money_exponent(const char *code);
/* Parse a decimal string ("12.50", "0.85", "38970.0") into minor units with
 * `exp` decimals, rounding half up past them; -1 on bad input. */
int money_parse(const char *s, size_t len, int exp, int64_t *out);

#endif
