#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "http/static.h"
#include "util/log.h"

static const char *ctype_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".jpg", "image/jpeg"},
                 {".ico", "image/x-icon"},
                 {".woff2", "font/woff2"},
                 {".woff", "font/woff"},
                 {".ttf", "font/ttf"},
                 {".txt", "text/plain; charset=utf-8"},
                 {".webmanifest", "application/manifest+json"}};
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static void load_dir(struct static_files *s, const char *root, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", root, rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char relp[4096], full[4096];
        snprintf(relp, sizeof relp, "%s/%s", rel, de->d_name);
        snprintf(full, sizeof full, "%s%s", root, relp);
        struct stat st;
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            load_dir(s, root, relp);
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        FILE *f = fopen(full, "rb");
        if (!f) continue;
        struct static_file *sf = xcalloc(1, sizeof *sf);
        sf->len = (size_t)st.st_size;
        sf->data = xmalloc(sf->len + 1);
        if (fread(sf->data, 1, sf->len, f) != sf->len) sf->len = 0;
        fclose(f);
        sf->ctype = ctype_of(de->d_name);
        sf->immutable = strncmp(relp, "/assets/", 8) == 0;
        smap_put(&s->byname, relp, strlen(relp), sf);
        s->count++;
    }
    closedir(d);
}

void static_load(struct static_files *s, const char *dir)
{
    smap_init(&s->byname);
    s->count = 0;
    load_dir(s, dir, "");
    s->index = smap_get(&s->byname, "/index.html", 11);
    if (s->count) log_info("web: %zu files from %s", s->count, dir);
}

const struct static_file *static_find(const struct static_files *s, const char *path, size_t len)
{
    if (len == 1 && path[0] == '/') return s->index;
    const struct static_file *f = smap_get(&s->byname, path, len);
    if (f) return f;
    const char *last = path + len;
    while (last > path && last[-1] != '/') last--;
    if (memchr(last, '.', (size_t)(path + len - last))) return NULL;
    return s->index;
}
