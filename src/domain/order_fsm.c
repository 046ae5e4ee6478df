#include <string.h>
#include "domain/order_fsm.h"

static const char *names[OS__COUNT] = {"pending_payment", "paid",      "shipped", "delivered",
                                       "completed",       "cancelled", "expired", "refunded"};

/* next[state][event]; -1 = not allowed. Cancel of a paid order is a refund. */
static const signed char next[OS__COUNT][OE__COUNT] = {
    /*                    PAY       SHIP        DELIVER       COMPLETE      CANCEL        EXPIRE */
    [OS_PENDING_PAYMENT] = {OS_PAID, -1, -1, -1, OS_CANCELLED, OS_EXPIRED},
    [OS_PAID] = {-1, OS_SHIPPED, -1, -1, OS_REFUNDED, -1},
    [OS_SHIPPED] = {-1, -1, OS_DELIVERED, -1, -1, -1},
    [OS_DELIVERED] = {-1, -1, -1, OS_COMPLETED, -1, -1},
    [OS_COMPLETED] = {-1, -1, -1, -1, -1, -1},
    [OS_CANCELLED] = {-1, -1, -1, -1, -1, -1},
    [OS_EXPIRED] = {-1, -1, -1, -1, -1, -1},
    [OS_REFUNDED] = {-1, -1, -1, -1, -1, -1},
};

int order_fsm_next(enum order_status s, enum order_event ev)
{
    if ((unsigned)s >= OS__COUNT || (unsigned)ev >= OE__COUNT) return -1;
    return next[s][ev];
}

const char *order_status_name(enum order_status s)
{
    return (unsigned)s < OS__COUNT ? names[s] : "unknown";
}

int order_status_parse(const char *name)
{
    for (int i = 0; i < OS__COUNT; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

int order_status_terminal(enum order_status s)
{
    return s == OS_COMPLETED || s == OS_CANCELLED || s == OS_EXPIRED || s == OS_REFUNDED;
}
