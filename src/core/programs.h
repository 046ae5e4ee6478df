/*
 * programs — time-boxed merchant programs (Taobao/Tmall's push to bring
 * exporters and small merchants online): while a program is active
 * (starts_at ≤ now < ends_at), an enrolled merchant whose kind is eligible
 * gets the program's commission on NEW orders and a bounded ranking boost.
 *
 * Several active programs: the lowest commission and the highest boost
 * apply. The boost is in per mille (1000 = ×1.0) and capped at
 * PROGRAM_BOOST_MAX_PM, so a program can tilt ranking but never buy the top
 * of every list. All functions run with the state lock held.
 */
#ifndef SOUK_PROGRAMS_H
#define SOUK_PROGRAMS_H
#include <stdint.h>
#include "core/state.h"

#define PROGRAM_BOOST_MAX_PM 1500

struct program {
    int64_t id, starts_at, ends_at, created_at;
    char *name;
    int commission_bp, boost_pm;
    unsigned eligible_kinds; /* bit per enum merchant_kind */
    struct imap enrolled;    /* merchant id → created_at (as intptr_t) */
};

void programs_init(void);
int programs_load(const struct store_ops *ops, struct store *st);
struct program *program_create(struct wtx *t, const char *name, int commission_bp, int boost_pm,
                               unsigned eligible_kinds, int64_t starts_at, int64_t ends_at,
                               int64_t now);
struct program *program_get(int64_t id);
/* Programs in id order (borrowed vec). */
const struct vec *programs_all(void);
/* ERR_INVALID when m's kind is not eligible. Enrolling twice is a no-op. */
int program_enroll(struct wtx *t, struct program *p, struct merchant *m, int64_t now);
int program_is_enrolled(const struct program *p, const struct merchant *m);
int program_active(const struct program *p, int64_t now);

/* Commission for a new order of m now: the lowest of m's own and its
 * active programs'. */
int programs_commission_bp(const struct merchant *m, int64_t now);
/* Ranking boost for m now, per mille (1000 when none). Safe without the
 * state lock: reads an immutable snapshot rebuilt on every change. */
int programs_boost_pm(int64_t merchant_id, int64_t now);

#endif
