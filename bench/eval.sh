#!/usr/bin/env bash
# bench/eval.sh — offline evaluation of the discovery core (feed, fair
# re-ranking) on the UCI Online Retail history; see bench/eval_discovery.c for
# the protocol. Not a timed test: ~1 minute on 2 cores.
#
# Builds $BUILD/libsouk.a with the Makefile's flags, links eval_discovery
# against it, runs it and writes its section into bench/RESULTS.md.
#
# Knobs (environment): BUILD=build/reco DATA=/work/shared/data/online-retail/online_retail.csv.gz
#   MERCHANTS=200 P= ALPHA= (empty: fair_default_params) NO_RESULTS=1 (print only)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build/reco}
DATA=${DATA:-/work/shared/data/online-retail/online_retail.csv.gz}
MERCHANTS=${MERCHANTS:-200}
PKGS="libh2o-evloop jansson libsodium sqlite3 icu-uc icu-i18n zlib libxxhash"

make -s BUILD="$BUILD" "$BUILD/libsouk.a"
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -pthread -Isrc -DH2O_USE_EPOLL=1 -D_GNU_SOURCE \
    $(pkg-config --cflags $PKGS) -o "$BUILD/bench/eval_discovery" bench/eval_discovery.c \
    "$BUILD/libsouk.a" $(pkg-config --libs $PKGS) -lstemmer -lssl -lcrypto -lm -pthread

args=(--data "$DATA" --merchants "$MERCHANTS")
[ -n "${P:-}" ] && args+=(--p "$P")
[ -n "${ALPHA:-}" ] && args+=(--alpha "$ALPHA")
rev=$(git rev-parse --short HEAD 2>/dev/null || true)
if [ -n "$rev" ] && [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then
    rev="$rev with uncommitted changes in src/"
fi
[ -n "$rev" ] && args+=(--rev "$rev")
if [ -n "${NO_RESULTS:-}" ]; then
    exec "$BUILD/bench/eval_discovery" "${args[@]}"
fi
"$BUILD/bench/eval_discovery" "${args[@]}" --out "$BUILD/bench/eval-section.md"
bench/set-section "$(head -1 "$BUILD/bench/eval-section.md")" "$BUILD/bench/eval-section.md"
