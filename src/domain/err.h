/*
 * err — every error a request can end with, declared once.
 *
 * Each code maps to one HTTP status, one stable problem `code` (part of the
 * API contract: never rename one) and one human title, in err.c's table.
 * Functions across souk return `int` where 0 (ERR_OK) is success and any
 * other value is one of these.
 */
#ifndef SOUK_ERR_H
#define SOUK_ERR_H

enum err {
    ERR_OK = 0,
    ERR_BAD_JSON,
    ERR_INVALID,
    ERR_TOO_LARGE,
    ERR_UNAUTHORIZED,
    ERR_FORBIDDEN,
    ERR_NOT_FOUND,
    ERR_METHOD,
    ERR_EMAIL_TAKEN,
    ERR_BAD_CREDENTIALS,
    ERR_IDEM_REUSED,
    ERR_IDEM_IN_PROGRESS,
    ERR_INSUFFICIENT_STOCK,
    ERR_CART_EMPTY,
    ERR_PAYMENT_DECLINED,
    ERR_MIXED_CURRENCY,
    ERR_BELOW_MOQ,
    ERR_INVALID_TRANSITION,
    ERR_STOCK_RESERVED,
    ERR_MERCHANT_INACTIVE,
    ERR_SOLD_OUT,
    ERR_PER_USER_LIMIT,
    ERR_SALE_NOT_STARTED,
    ERR_ROOM_NOT_LIVE,
    ERR_ROOM_ENDED,
    ERR_BUSY,
    ERR_UNAVAILABLE,
    ERR_INTERNAL,
    ERR__COUNT
};

struct err_info {
    int status;
    const char *code;
    const char *title;
};

/* The row for e; never NULL (unknown values map to ERR_INTERNAL's row). */
const struct err_info *err_info(int e);

#endif
