/*
 * souk — a marketplace engine. `souk serve | demo | user add | user seed |
 * import` (API.md "Running"); each command lives in src/cli/.
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cmd_serve, "serve --data DIR --listen HOST:PORT   run the marketplace"},
    {"demo", cmd_demo, "demo [--data DIR] [--listen HOST:PORT]  seeded demo marketplace"},
    {"user", cmd_user, "user add|seed --data DIR ...           create users offline"},
    {"import", cmd_import, "import --data DIR FILE.csv[.gz]        import Online Retail data"},
};

int main(int argc, char **argv)
{
    if (argc >= 2)
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "usage: souk COMMAND ...\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, "  souk %s\n", commands[i].help);
    return 2;
}
