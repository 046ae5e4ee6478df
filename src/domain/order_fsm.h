/*
 * order_fsm — the order state machine. Pure: it says which moves are legal
 * and what each move does to stock and the ledger; core/orders.c performs
 * them.
 *
 *                     pay                 ship               deliver             complete
 *   pending_payment ──────▶ paid ─────────────▶ shipped ──────────▶ delivered ──────────▶ completed
 *      │    │                 │
 *      │    │ expire          │ cancel (refund: units back to on_hand,
 *      │    ▼                 ▼        ledger refund + commission reversal)
 *      │  expired          refunded
 *      │ cancel
 *      ▼
 *   cancelled
 *
 * Stock effects (see core/catalog.h for the counters):
 *   create (checkout, live buy)  reserved += qty
 *   pay                          reserved -= qty, on_hand -= qty, sold += qty
 *   cancel / expire              reserved -= qty
 *   refund                       on_hand += qty, sold -= qty
 * Ledger effects: pay books sale (+subtotal) and commission (−commission);
 * refund books refund (−subtotal) and commission (+commission).
 * Terminal states: completed, cancelled, expired, refunded.
 */
#ifndef SOUK_ORDER_FSM_H
#define SOUK_ORDER_FSM_H

enum order_status {
    OS_PENDING_PAYMENT,
    OS_PAID,
    OS_SHIPPED,
    OS_DELIVERED,
    OS_COMPLETED,
    OS_CANCELLED,
    OS_EXPIRED,
    OS_REFUNDED,
    OS__COUNT
};

enum order_event { OE_PAY, OE_SHIP, OE_DELIVER, OE_COMPLETE, OE_CANCEL, OE_EXPIRE, OE__COUNT };

/* The state after ev from s, or -1 when the move is not allowed. */
int order_fsm_next(enum order_status s, enum order_event ev);
const char *order_status_name(enum order_status s);
/* -1 when name is not a status. */
int order_status_parse(const char *name);
/* 1 for completed, cancelled, expired, refunded. */
int order_status_terminal(enum order_status s);

#endif
