/*
 * cli — the subcommands of build/souk (API.md "Running"). main.c parses the
 * command word and hands the remaining arguments to one of these.
 */
#ifndef SOUK_CLI_H
#define SOUK_CLI_H
#include "store/store.h"

struct serve_opts {
    const char *data, *listen, *web, *openapi;
    int payment_window_s, live_payment_window_s, threads, quiet;
};

/* Set before cli_open by commands that serve: also load discovery. */
extern int cli_serving;
/* Open the store in dir, load state, start the writer. 0 or -1. */
int cli_open(const char *dir, struct store **out);
/* Commit everything, stop the writer, close the store. */
void cli_close(struct store *st);
/* Serve until SIGTERM/SIGINT; the store is already open and loaded. */
int cli_serve(struct serve_opts *o, struct store *st);
/* Event-loop threads when --threads is not given. */
int cli_default_threads(void);
/* Where the project's files are, from the executable's path (build/..). */
const char *cli_project_dir(void);

int cmd_serve(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif
