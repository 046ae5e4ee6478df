/*
 * map — open-addressing hash maps from an int64 or a string to a pointer.
 *
 * Not thread-safe: the owner locks. Values are borrowed (the map never frees
 * them). String keys are copied and owned by the map. Keys 0 and INT64_MIN
 * are reserved in imap (empty and deleted slots; ids are always positive). Iteration order is unspecified.
 */
#ifndef SOUK_MAP_H
#define SOUK_MAP_H
#include <stddef.h>
#include <stdint.h>

struct imap {
    int64_t *keys;
    void **vals;
    size_t cap, len, tombs;
};

void imap_init(struct imap *m);
void imap_release(struct imap *m);
void *imap_get(const struct imap *m, int64_t key);
/* Insert or replace; returns the previous value or NULL. */
void *imap_put(struct imap *m, int64_t key, void *val);
/* Remove; returns the removed value or NULL. */
void *imap_del(struct imap *m, int64_t key);
/* Iterate: for (size_t i = 0; imap_next(m, &i, &k, &v);) ... */
int imap_next(const struct imap *m, size_t *pos, int64_t *key, void **val);

struct smap {
    char **keys;
    uint64_t *hashes;
    void **vals;
    size_t cap, len, tombs;
};

void smap_init(struct smap *m);
void smap_release(struct smap *m);
void *smap_get(const struct smap *m, const char *key, size_t len);
void *smap_put(struct smap *m, const char *key, size_t len, void *val);
void *smap_del(struct smap *m, const char *key, size_t len);
int smap_next(const struct smap *m, size_t *pos, const char **key, void **val);

/*
 * vec — a growable array of pointers. Aborts on out-of-memory (server
 * policy, as Redis does).
 */
struct vec {
    void **v;
    size_t n, cap;
};
void vec_push(struct vec *a, void *p);
void vec_release(struct vec *a);
/* Remove the first occurrence of p, keeping order. */
void vec_remove(struct vec *a, void *p);

/* Allocation that aborts on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
