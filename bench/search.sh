#!/bin/sh
# The search benchmark: builds bench/search_bench.c with souk's compiler flags
# (the Makefile's), runs it (~2-3 minutes at 1M products) and writes its
# Markdown section, "## Search", into bench/RESULTS.md (bench/set-section).
#
#   bench/search.sh                              # 1M products, 40k queries, 25 s of FTS5
#   PRODUCTS=100000 NO_RESULTS=1 bench/search.sh # a quick look, results file untouched
#
# Knobs: PRODUCTS (1000000), QUERIES (40000), FTS_SECONDS (25), FTS5_DB
# (/dev/shm/souk-search-bench.db, removed afterwards), CC, CFLAGS, NO_RESULTS.
set -eu
cd "$(dirname "$0")/.."

CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g}
OUT=build/search-bench
mkdir -p "$OUT"

# shellcheck disable=SC2086 # word splitting of flags is wanted
$CC $CFLAGS -std=gnu11 -Wall -Wextra -Werror -pthread -Isrc -D_GNU_SOURCE \
    $(pkg-config --cflags icu-uc icu-i18n libxxhash sqlite3) \
    -o "$OUT/search_bench" bench/search_bench.c \
    src/discovery/text.c src/discovery/search.c src/discovery/search_seg.c \
    $(pkg-config --libs icu-uc icu-i18n libxxhash sqlite3) -lstemmer -lm

export PRODUCTS="${PRODUCTS:-1000000}" QUERIES="${QUERIES:-40000}" FTS_SECONDS="${FTS_SECONDS:-25}"
if [ "${NO_RESULTS:-}" = 1 ]; then
    "$OUT/search_bench"
else
    "$OUT/search_bench" > "$OUT/section.md"
    cat "$OUT/section.md"
    bench/set-section "## Search" "$OUT/section.md"
fi
