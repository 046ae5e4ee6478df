#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "core/programs.h"
#include "domain/err.h"
#include "util/id.h"
#include "util/log.h"

static struct vec programs; /* struct program *, id ascending */
static struct imap by_id;

void programs_init(void)
{
    memset(&programs, 0, sizeof programs);
    imap_init(&by_id);
}

static json_t *kinds_json(unsigned kinds)
{
    json_t *a = json_array();
    for (int k = 0; k < MK__COUNT; k++)
        if (kinds & (1u << k)) json_array_append_new(a, json_string(merchant_kind_name(k)));
    return a;
}

static void persist_program(struct wtx *t, const struct program *p)
{
    wtx_stmt(t, ST_PROGRAM_PUT);
    wtx_int(t, p->id);
    wtx_text(t, p->name);
    wtx_int(t, p->commission_bp);
    wtx_int(t, p->boost_pm);
    json_t *k = kinds_json(p->eligible_kinds);
    char *s = json_dumps(k, JSON_COMPACT);
    wtx_text(t, s);
    free(s);
    json_decref(k);
    wtx_int(t, p->starts_at);
    wtx_int(t, p->ends_at);
    wtx_int(t, p->created_at);
}

static struct program *add(int64_t id, const char *name, int bp, int boost, unsigned kinds,
                           int64_t starts, int64_t ends, int64_t created)
{
    struct program *p = xcalloc(1, sizeof *p);
    p->id = id;
    p->name = xstrdup(name);
    p->commission_bp = bp;
    p->boost_pm = boost;
    p->eligible_kinds = kinds;
    p->starts_at = starts;
    p->ends_at = ends;
    p->created_at = created;
    imap_init(&p->enrolled);
    vec_push(&programs, p);
    imap_put(&by_id, id, p);
    return p;
}

struct program *program_create(struct wtx *t, const char *name, int commission_bp, int boost_pm,
                               unsigned eligible_kinds, int64_t starts_at, int64_t ends_at,
                               int64_t now)
{
    struct program *p = add(id_next(), name, commission_bp, boost_pm, eligible_kinds, starts_at,
                            ends_at, now);
    persist_program(t, p);
    return p;
}

struct program *program_get(int64_t id)
{
    return imap_get(&by_id, id);
}

const struct vec *programs_all(void)
{
    return &programs;
}

int program_active(const struct program *p, int64_t now)
{
    return p->starts_at <= now && now < p->ends_at;
}

int program_is_enrolled(const struct program *p, const struct merchant *m)
{
    return imap_get(&p->enrolled, m->id) != NULL;
}

/* The boost table read by ranking threads without the state lock: an
 * immutable array swapped atomically on change; old tables are kept (a few
 * bytes per change, changes are rare) so readers never see freed memory. */
struct boost_row {
    int64_t merchant_id, starts_at, ends_at;
    int boost_pm;
};
struct boost_table {
    struct boost_table *older; /* superseded tables stay here: readers may hold them */
    size_t n;
    struct boost_row rows[];
};
static struct boost_table *_Atomic boosts;

static void rebuild_boosts(void)
{
    size_t n = 0;
    for (size_t i = 0; i < programs.n; i++) n += ((struct program *)programs.v[i])->enrolled.len;
    struct boost_table *bt = xcalloc(1, sizeof *bt + n * sizeof bt->rows[0]);
    for (size_t i = 0; i < programs.n; i++) {
        struct program *p = programs.v[i];
        size_t pos = 0;
        int64_t mid;
        while (imap_next(&p->enrolled, &pos, &mid, NULL))
            bt->rows[bt->n++] = (struct boost_row){mid, p->starts_at, p->ends_at, p->boost_pm};
    }
    bt->older = atomic_load(&boosts);
    atomic_store(&boosts, bt);
}

int program_enroll(struct wtx *t, struct program *p, struct merchant *m, int64_t now)
{
    if (!(p->eligible_kinds & (1u << m->kind))) return ERR_INVALID;
    if (program_is_enrolled(p, m)) return ERR_OK;
    imap_put(&p->enrolled, m->id, (void *)(intptr_t)now);
    wtx_stmt(t, ST_ENROLL_PUT);
    wtx_int(t, p->id);
    wtx_int(t, m->id);
    wtx_int(t, now);
    rebuild_boosts();
    return ERR_OK;
}

int programs_commission_bp(const struct merchant *m, int64_t now)
{
    int bp = m->commission_bp;
    for (size_t i = 0; i < programs.n; i++) {
        const struct program *p = programs.v[i];
        if (program_active(p, now) && program_is_enrolled(p, m) &&
            (p->eligible_kinds & (1u << m->kind)) && p->commission_bp < bp)
            bp = p->commission_bp;
    }
    return bp;
}

int programs_boost_pm(int64_t merchant_id, int64_t now)
{
    const struct boost_table *bt = atomic_load(&boosts);
    int boost = 1000;
    for (size_t i = 0; bt && i < bt->n; i++) {
        const struct boost_row *r = &bt->rows[i];
        if (r->merchant_id == merchant_id && r->starts_at <= now && now < r->ends_at &&
            r->boost_pm > boost)
            boost = r->boost_pm;
    }
    return boost > PROGRAM_BOOST_MAX_PM ? PROGRAM_BOOST_MAX_PM : boost;
}

static int row_program(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    unsigned kinds = 0;
    json_t *k = c[4].type == SV_TEXT ? json_loadb(c[4].s, c[4].len, 0, NULL) : NULL;
    for (size_t i = 0; k && i < json_array_size(k); i++) {
        int kind = merchant_kind_parse(json_string_value(json_array_get(k, i)));
        if (kind >= 0) kinds |= 1u << kind;
    }
    json_decref(k);
    char *name = xstrndup(c[1].s ? c[1].s : "", c[1].len);
    add(c[0].i, name, (int)c[2].i, (int)c[3].i, kinds, c[5].i, c[6].i, c[7].i);
    free(name);
    id_bump(c[0].i);
    return 0;
}

static int row_enroll(void *arg, const struct sval *c, int n)
{
    (void)arg;
    (void)n;
    struct program *p = program_get(c[0].i);
    if (p) imap_put(&p->enrolled, c[1].i, (void *)(intptr_t)c[2].i);
    return 0;
}

int programs_load(const struct store_ops *ops, struct store *st)
{
    if (ops->scan(st, SQ_PROGRAMS, row_program, NULL) ||
        ops->scan(st, SQ_ENROLLMENTS, row_enroll, NULL))
        return -1;
    rebuild_boosts();
    return 0;
}
