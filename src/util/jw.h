/*
 * jw — a JSON text writer for hot answers: appends straight into a growable
 * buffer, with no tree of objects in between (jansson builds a hash table
 * per object; the live buy answer spent more time there than anywhere else
 * in user space). Commas are managed by the writer; strings are escaped per
 * RFC 8259. The buffer aborts on out-of-memory (server policy).
 */
#ifndef SOUK_JW_H
#define SOUK_JW_H
#include <stddef.h>
#include <stdint.h>

struct jw {
    char *buf;
    size_t len, cap;
    int first; /* no comma before the next member or element */
};

void jw_init(struct jw *w);
void jw_release(struct jw *w);
/* Hand the text over (NUL-terminated); w is reset. */
char *jw_detach(struct jw *w, size_t *len);

void jw_obj(struct jw *w);  /* { */
void jw_end(struct jw *w);  /* } */
void jw_arr(struct jw *w);  /* [ */
void jw_aend(struct jw *w); /* ] */
/* A member name; the next value call is its value. */
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_int(struct jw *w, int64_t v);
void jw_null(struct jw *w);
/* Already-encoded JSON text as a value (e.g. json_dumps output). */
void jw_raw(struct jw *w, const char *json);
/* An id as a string ("123"), or null for 0. */
void jw_id(struct jw *w, int64_t id);
/* A time (ms since the epoch) as RFC 3339, or null for 0. */
void jw_time(struct jw *w, int64_t ms);

#endif
