/* user.c — `souk user add` and `souk user seed` (offline: no server may be
 * using the data directory at the same time). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "core/auth.h"
#include "core/market.h"
#include "core/state.h"
#include "util/log.h"

static int user_add(int argc, char **argv)
{
    const char *data = NULL, *email = NULL, *password = NULL, *role = "shopper", *name = NULL;
    static const struct option longs[] = {{"data", required_argument, 0, 'd'},
                                          {"email", required_argument, 0, 'e'},
                                          {"password", required_argument, 0, 'p'},
                                          {"role", required_argument, 0, 'r'},
                                          {"name", required_argument, 0, 'n'},
                                          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'e': email = optarg; break;
        case 'p': password = optarg; break;
        case 'r': role = optarg; break;
        case 'n': name = optarg; break;
        default: return 2;
        }
    }
    int r = role_parse(role);
    if (!data || !email || !password || r < 0 || strlen(password) < 8 || !strchr(email, '@')) {
        fprintf(stderr, "usage: souk user add --data DIR --email E --password P (8+ chars)"
                        " --role shopper|operator|courier [--name N]\n");
        return 2;
    }
    struct store *st;
    if (cli_open(data, &st) != 0) return 1;
    char hash[AUTH_HASH_MAX];
    if (auth_hash_password(password, strlen(password), hash) != 0) {
        cli_close(st);
        return 1;
    }
    state_lock();
    if (market_user_by_email(email)) {
        state_unlock();
        cli_close(st);
        fprintf(stderr, "souk: %s already has an account\n", email);
        return 1;
    }
    struct wtx *t = wtx_new();
    struct user *u = market_user_create(t, email, name ? name : email, (enum role)r, hash, now_ms());
    int64_t id = u->id;
    state_unlock();
    writer_submit_wait(t);
    cli_close(st);
    printf("%lld\n", (long long)id);
    return 0;
}

static int user_seed(int argc, char **argv)
{
    const char *data = NULL, *out = NULL;
    long count = 0;
    static const struct option longs[] = {{"data", required_argument, 0, 'd'},
                                          {"count", required_argument, 0, 'c'},
                                          {"out", required_argument, 0, 'o'},
                                          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'c': count = atol(optarg); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    if (!data || !out || count < 1 || count > 10000000) {
        fprintf(stderr, "usage: souk user seed --data DIR --count N --out FILE\n");
        return 2;
    }
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return 1;
    }
    struct store *st;
    if (cli_open(data, &st) != 0) return 1;
    int64_t now = now_ms();
    /* Seeded shoppers are for load tests: they get a token each and no
     * password (they cannot sign in), which skips ~30 ms of Argon2id each. */
    long made = 0;
    while (made < count) {
        struct wtx *t = wtx_new();
        state_lock();
        for (int i = 0; i < 1000 && made < count; i++) {
            char email[64], token[AUTH_TOKEN_LEN + 1];
            snprintf(email, sizeof email, "seed-%lld-%ld@souk.test", (long long)(now % 100000000), made);
            struct user *u = market_user_create(t, email, "Seeded shopper", ROLE_SHOPPER, NULL, now);
            auth_issue_token(t, u, token);
            fprintf(f, "%s\n", token);
            made++;
        }
        state_unlock();
        writer_submit(t, NULL, NULL);
    }
    cli_close(st);
    fclose(f);
    fprintf(stderr, "souk: seeded %ld shoppers, tokens in %s\n", made, out);
    return 0;
}

int cmd_user(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0) return user_add(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "seed") == 0) return user_seed(argc - 1, argv + 1);
    fprintf(stderr, "usage: souk user add|seed ...\n");
    return 2;
}
