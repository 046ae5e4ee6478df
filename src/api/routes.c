/* routes.c — every route souk serves, in one table (API.md is the contract;
 * docs/openapi.yaml describes the same list). */
#include "api/handlers.h"

#define V1 "/api/v1"

const struct http_route api_routes[] = {
    {HTTP_GET, "/healthz", h_healthz},
    {HTTP_GET, "/metrics", h_metrics},
    {HTTP_GET, V1 "/openapi.yaml", h_openapi},

    {HTTP_POST, V1 "/auth/register", h_register},
    {HTTP_POST, V1 "/auth/login", h_login},
    {HTTP_GET, V1 "/me", h_me},

    {HTTP_POST, V1 "/merchants", h_merchant_create},
    {HTTP_GET, V1 "/merchants", h_merchant_list},
    {HTTP_GET, V1 "/merchants/:id", h_merchant_get},
    {HTTP_POST, V1 "/merchants/:id/approve", h_merchant_approve},
    {HTTP_POST, V1 "/merchants/:id/suspend", h_merchant_suspend},
    {HTTP_PUT, V1 "/merchants/:id/commission", h_merchant_commission},
    {HTTP_POST, V1 "/merchants/:id/staff", h_merchant_staff_add},
    {HTTP_GET, V1 "/merchants/:id/ledger", h_merchant_ledger},
    {HTTP_GET, V1 "/merchants/:id/figures", h_merchant_figures},
    {HTTP_GET, V1 "/admin/figures", h_admin_figures},

    {HTTP_POST, V1 "/categories", h_category_create},
    {HTTP_GET, V1 "/categories", h_category_list},
    {HTTP_POST, V1 "/products", h_product_create},
    {HTTP_GET, V1 "/products", h_product_list},
    {HTTP_GET, V1 "/products/:id", h_product_get},
    {HTTP_PATCH, V1 "/products/:id", h_product_patch},
    {HTTP_GET, V1 "/skus/:id", h_sku_get},
    {HTTP_PUT, V1 "/skus/:id/stock", h_sku_stock},
    {HTTP_PATCH, V1 "/skus/:id", h_sku_patch},

    {HTTP_GET, V1 "/cart", h_cart_get},
    {HTTP_POST, V1 "/cart/items", h_cart_add},
    {HTTP_PATCH, V1 "/cart/items/:sku", h_cart_patch},
    {HTTP_DELETE, V1 "/cart/items/:sku", h_cart_delete},
    {HTTP_POST, V1 "/checkout", h_checkout},
    {HTTP_GET, V1 "/checkout/:id", h_checkout_get},
    {HTTP_POST, V1 "/checkout/:id/pay", h_checkout_pay},

    {HTTP_GET, V1 "/orders", h_order_list},
    {HTTP_GET, V1 "/orders/:id", h_order_get},
    {HTTP_POST, V1 "/orders/:id/pay", h_order_pay},
    {HTTP_POST, V1 "/orders/:id/cancel", h_order_cancel},
    {HTTP_POST, V1 "/orders/:id/ship", h_order_ship},
    {HTTP_POST, V1 "/orders/:id/deliver", h_order_deliver},
    {HTTP_POST, V1 "/orders/:id/complete", h_order_complete},

    {HTTP_POST, V1 "/live/rooms", h_live_room_create},
    {HTTP_GET, V1 "/live/rooms", h_live_room_list},
    {HTTP_GET, V1 "/live/rooms/:id", h_live_room_get},
    {HTTP_POST, V1 "/live/rooms/:id/start", h_live_room_start},
    {HTTP_POST, V1 "/live/rooms/:id/end", h_live_room_end},
    {HTTP_POST, V1 "/live/rooms/:id/items", h_live_item_add},
    {HTTP_POST, V1 "/live/rooms/:id/items/:item/buy", h_live_buy},
    {HTTP_POST, V1 "/live/rooms/:id/pin", h_live_pin},
    {HTTP_GET, V1 "/live/rooms/:id/events", h_live_events},

    {HTTP_POST, V1 "/programs", h_program_create},
    {HTTP_GET, V1 "/programs", h_program_list},
    {HTTP_GET, V1 "/programs/:id", h_program_get},
    {HTTP_POST, V1 "/programs/:id/enroll", h_program_enroll},

    {HTTP_POST, V1 "/events", h_event_create},
    {HTTP_GET, V1 "/search", h_search},
    {HTTP_GET, V1 "/feed", h_feed},
    {HTTP_GET, V1 "/products/:id/similar", h_similar},
    {HTTP_GET, V1 "/trending", h_trending},
    {HTTP_GET, V1 "/admin/exposure", h_admin_exposure},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
