/* import.c — `souk import --data DIR FILE [--merchants N]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "cli/cli.h"
#include "import/loader.h"
#include "import/retail.h"
#include "util/log.h"
#include "util/progress.h"

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_import(int argc, char **argv)
{
    const char *data = NULL;
    long merchants = 1;
    static const struct option longs[] = {{"data", required_argument, 0, 'd'},
                                          {"merchants", required_argument, 0, 'm'},
                                          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'm': merchants = atol(optarg); break;
        default: return 2;
        }
    }
    if (!data || optind != argc - 1 || merchants < 1 || merchants > 100000) {
        fprintf(stderr, "usage: souk import --data DIR FILE.csv[.gz] [--merchants N]\n");
        return 2;
    }
    const char *file = argv[optind];
    double t0 = secs();
    struct stat st;
    if (stat(file, &st) != 0) {
        perror(file);
        return 1;
    }
    struct progress pr;
    progress_init(&pr, "import: reading", (uint64_t)st.st_size, stderr);
    struct retail_data d;
    if (retail_load(file, &d, &pr) != 0) {
        fprintf(stderr, "souk: import: %s\n", d.error);
        return 1;
    }
    progress_finish(&pr);
    double t1 = secs();
    log_quiet = 1;
    struct store *store;
    if (cli_open(data, &store) != 0) {
        retail_release(&d);
        return 1;
    }
    struct loader_opts o = {.nmerchants = (unsigned)merchants, .activate = 1};
    struct loader_result res;
    fprintf(stderr, "import: writing %zu products and %zu invoices to %s\n", d.nproducts,
            d.norders, data);
    int rc = loader_run(&d, &o, &res);
    cli_close(store);
    double t2 = secs();
    if (rc != 0) {
        retail_release(&d);
        return 1;
    }
    printf("import: done in %.1f s (parse %.1f s, store %.1f s)\n", t2 - t0, t1 - t0, t2 - t1);
    printf("  lines read      %llu\n", (unsigned long long)d.stats.lines_read);
    printf("  lines kept      %llu (order lines)\n", (unsigned long long)d.stats.lines_kept);
    printf("  merchants       %zu\n", res.merchants);
    printf("  categories      %zu\n", res.categories);
    printf("  products        %zu\n", res.products);
    printf("  shoppers        %zu\n", res.shoppers);
    printf("  orders          %zu (%zu lines, GMV %lld.%02lld GBP)\n", res.orders,
           res.order_lines, (long long)(res.gmv / 100), (long long)(res.gmv % 100));
    printf("  lines skipped:\n");
    for (int i = 0; i < RETAIL_SKIP_COUNT; i++)
        printf("    %-14s %llu\n", retail_skip_names[i], (unsigned long long)d.stats.skipped[i]);
    retail_release(&d);
    return 0;
}
