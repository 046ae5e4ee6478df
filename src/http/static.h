/*
 * static — the web apps' built files (web/dist), read into memory once at
 * start and served from there. A path with no file falls back to
 * /index.html so the single-page apps can route on the client.
 */
#ifndef SOUK_STATIC_H
#define SOUK_STATIC_H
#include <stddef.h>
#include "util/map.h"

struct static_file {
    char *data;
    size_t len;
    const char *ctype;
    int immutable; /* content-hashed asset: cache forever */
};

struct static_files {
    struct smap byname;
    size_t count;
    struct static_file *index;
};

/* Load every regular file under dir (recursively). Missing dir: count 0. */
void static_load(struct static_files *s, const char *dir);
/* The file for a URL path, the index fallback for a path without a dot in
 * its last segment, or NULL. */
const struct static_file *static_find(const struct static_files *s, const char *path, size_t len);

#endif
