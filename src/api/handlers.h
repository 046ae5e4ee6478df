/* handlers.h — every request handler, for the route table in routes.c. */
#ifndef SOUK_HANDLERS_H
#define SOUK_HANDLERS_H
#include "http/http.h"

void h_healthz(struct http_req *r);
void h_metrics(struct http_req *r);
void h_openapi(struct http_req *r);

void h_register(struct http_req *r);
void h_login(struct http_req *r);
void h_me(struct http_req *r);

void h_merchant_create(struct http_req *r);
void h_merchant_get(struct http_req *r);
void h_merchant_list(struct http_req *r);
void h_merchant_approve(struct http_req *r);
void h_merchant_suspend(struct http_req *r);
void h_merchant_commission(struct http_req *r);
void h_merchant_staff_add(struct http_req *r);
void h_merchant_ledger(struct http_req *r);

void h_category_create(struct http_req *r);
void h_category_list(struct http_req *r);
void h_product_create(struct http_req *r);
void h_product_get(struct http_req *r);
void h_product_list(struct http_req *r);
void h_product_patch(struct http_req *r);
void h_sku_get(struct http_req *r);
void h_sku_stock(struct http_req *r);
void h_sku_patch(struct http_req *r);

void h_cart_get(struct http_req *r);
void h_cart_add(struct http_req *r);
void h_cart_patch(struct http_req *r);
void h_cart_delete(struct http_req *r);
void h_checkout(struct http_req *r);
void h_checkout_get(struct http_req *r);
void h_checkout_pay(struct http_req *r);

void h_order_list(struct http_req *r);
void h_order_get(struct http_req *r);
void h_order_pay(struct http_req *r);
void h_order_cancel(struct http_req *r);
void h_order_ship(struct http_req *r);
void h_order_deliver(struct http_req *r);
void h_order_complete(struct http_req *r);

void h_live_room_create(struct http_req *r);
void h_live_room_list(struct http_req *r);
void h_live_room_get(struct http_req *r);
void h_live_room_start(struct http_req *r);
void h_live_room_end(struct http_req *r);
void h_live_item_add(struct http_req *r);
void h_live_pin(struct http_req *r);
void h_live_buy(struct http_req *r);
void h_live_events(struct http_req *r);

void h_program_create(struct http_req *r);
void h_program_list(struct http_req *r);
void h_program_get(struct http_req *r);
void h_program_enroll(struct http_req *r);

void h_merchant_figures(struct http_req *r);
void h_admin_figures(struct http_req *r);

void h_event_create(struct http_req *r);
void h_feed(struct http_req *r);
void h_search(struct http_req *r);
void h_similar(struct http_req *r);
void h_trending(struct http_req *r);
void h_admin_exposure(struct http_req *r);

/* The route table and its size. */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;

#endif
