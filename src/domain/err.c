#include "domain/err.h"

static const struct err_info table[ERR__COUNT] = {
    [ERR_OK] = {200, "ok", "OK"},
    [ERR_BAD_JSON] = {400, "bad_json", "The body is not valid JSON"},
    [ERR_INVALID] = {422, "invalid", "Some fields are missing or wrong"},
    [ERR_TOO_LARGE] = {413, "too_large", "The request body is too large"},
    [ERR_UNAUTHORIZED] = {401, "unauthorized", "Sign in first"},
    [ERR_FORBIDDEN] = {403, "forbidden", "You are not allowed to do this"},
    [ERR_NOT_FOUND] = {404, "not_found", "Not found"},
    [ERR_METHOD] = {405, "method_not_allowed", "Method not allowed on this path"},
    [ERR_EMAIL_TAKEN] = {409, "email_taken", "That email already has an account"},
    [ERR_BAD_CREDENTIALS] = {401, "bad_credentials", "Wrong email or password"},
    [ERR_IDEM_REUSED] = {422, "idempotency_key_reused",
                         "This Idempotency-Key was used for a different request"},
    [ERR_IDEM_IN_PROGRESS] = {409, "idempotency_in_progress",
                              "A request with this Idempotency-Key is still running"},
    [ERR_INSUFFICIENT_STOCK] = {409, "insufficient_stock", "Not enough stock"},
    [ERR_CART_EMPTY] = {422, "cart_empty", "The cart is empty"},
    [ERR_PAYMENT_DECLINED] = {402, "payment_declined", "The payment was declined"},
    [ERR_MIXED_CURRENCY] = {422, "mixed_currency", "One checkout cannot mix currencies"},
    [ERR_BELOW_MOQ] = {422, "below_moq", "Quantity is below the minimum order quantity"},
    [ERR_INVALID_TRANSITION] = {409, "invalid_transition", "The order cannot make that move"},
    [ERR_STOCK_RESERVED] = {409, "stock_reserved", "Stock cannot go below what is reserved"},
    [ERR_MERCHANT_INACTIVE] = {409, "merchant_inactive", "The merchant is not active"},
    [ERR_SOLD_OUT] = {409, "sold_out", "Sold out"},
    [ERR_PER_USER_LIMIT] = {409, "per_user_limit", "You reached the limit for this item"},
    [ERR_SALE_NOT_STARTED] = {409, "sale_not_started", "The sale has not started yet"},
    [ERR_ROOM_NOT_LIVE] = {409, "room_not_live", "The live room is not live"},
    [ERR_ROOM_ENDED] = {409, "room_ended", "The live room has ended"},
    [ERR_BUSY] = {429, "busy", "Too many requests of this kind; retry shortly"},
    [ERR_UNAVAILABLE] = {503, "unavailable", "The server is shutting down"},
    [ERR_INTERNAL] = {500, "internal", "Internal error"},
};

const struct err_info *err_info(int e)
{
    if (e < 0 || e >= ERR__COUNT || !table[e].code) return &table[ERR_INTERNAL];
    return &table[e];
}
