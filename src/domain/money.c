#include <string.h>
#include "domain/money.h"

int money_mul(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) return -1;
    if (b != 0 && a > INT64_MAX / b) return -1;
    *out = a * b;
    return 0;
}

int money_add(int64_t a, int64_t b, int64_t *out)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return -1;
    *out = a + b;
    return 0;
}

int64_t money_commission(int64_t amount, int bp)
{
    /* amount ≤ ~10^17 and bp ≤ 10^4 could overflow int64: use 128 bits. */
    __int128 p = (__int128)(amount < 0 ? -amount : amount) * bp;
    int64_t c = (int64_t)((p + 5000) / 10000);
    return amount < 0 ? -c : c;
}

static const char *currencies[] = {"CNY", "USD", "EUR", "GBP", "JPY", "HKD", "KRW", "SGD",
                                   "AUD", "CAD", "CHF", "INR", "RUB", "BRL", "MYR", "THB",
                                   "VND", "IDR", "PHP", "AED", "SAR", "TRY", "MXN", "NZD",
                                   "SEK", "NOK", "DKK", "PLN", "ZAR", NULL};

int money_currency_ok(const char *code)
{
    if (!code || strlen(code) != 3) return 0;
    for (int i = 0; currencies[i]; i++)
        if (strcmp(currencies[i], code) == 0) return 1;
    return 0;
}

int money_exponent(const char *code)
{
    static const char *zero[] = {"JPY", "KRW", "VND", "IDR", NULL};
    for (int i = 0; zero[i]; i++)
        if (code && strcmp(zero[i], code) == 0) return 0;
    return 2;
}

int money_parse(const char *s, size_t len, int exp, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    int64_t whole = 0, frac = 0;
    int fdigits = 0, digits = 0, round_up = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (whole > (MONEY_MAX * 100) / 10) return -1;
        whole = whole * 10 + (s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (fdigits < exp) {
                frac = frac * 10 + (s[i] - '0');
                fdigits++;
            } else if (fdigits == exp) {
                round_up = s[i] >= '5';
                fdigits++;
            }
        }
    }
    if (i != len || digits == 0) return -1;
    int64_t scale = 1;
    for (int k = 0; k < exp; k++) scale *= 10;
    for (int k = fdigits > exp ? exp : fdigits; k < exp; k++) frac *= 10;
    if (whole > (INT64_MAX - frac - round_up) / scale) return -1;
    int64_t v = whole * scale + frac + round_up;
    *out = neg ? -v : v;
    return 0;
}
