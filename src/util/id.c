#include <stddef.h>
#include <stdatomic.h>
#include "util/id.h"
#include "util/log.h"

#define ID_EPOCH_MS 1704067200000LL /* 2024-01-01T00:00:00Z */

static _Atomic int64_t last_id;
static int64_t node_bits;

void id_set_node(unsigned node)
{
    node_bits = (int64_t)(node & 1023) << 12;
}

int64_t id_next(void)
{
    int64_t base = ((now_ms() - ID_EPOCH_MS) << 22) | node_bits;
    int64_t prev = atomic_load(&last_id), next;
    do {
        if (base > prev)
            next = base;
        else if ((prev & 0xFFF) != 0xFFF)
            next = prev + 1;
        else /* the millisecond's 4096 ids are used: borrow the next one */
            next = (((prev >> 22) + 1) << 22) | node_bits;
    } while (!atomic_compare_exchange_weak(&last_id, &prev, next));
    return next;
}

void id_bump(int64_t seen)
{
    int64_t prev = atomic_load(&last_id);
    while (seen > prev && !atomic_compare_exchange_weak(&last_id, &prev, seen))
        ;
}

int64_t id_at(int64_t ms)
{
    return ms > ID_EPOCH_MS ? (ms - ID_EPOCH_MS) << 22 : 0;
}

int64_t id_time_ms(int64_t id)
{
    return (id >> 22) + ID_EPOCH_MS;
}

int64_t id_parse(const char *s, size_t len)
{
    if (len == 0 || len > 19) return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        if (v > (INT64_MAX - (s[i] - '0')) / 10) return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

char *id_fmt(int64_t id, char *buf)
{
    char tmp[24];
    int n = 0;
    uint64_t v = (uint64_t)id;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return buf;
}
