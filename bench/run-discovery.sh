#!/usr/bin/env bash
# Discovery over HTTP: search, similar items and the feed through souk's
# server, next to GET /products/{id} in the same run. bench/search.sh
# measures the index itself at 1M products in-process; this measures what a
# client gets from the server on a real catalogue: the Online Retail data set
# imported with `souk import` (3,796 products, 18,402 past orders).
#
# Queries are words of product titles (1 or 2 words, or a prefix of one), so
# frequent words come up more often; similar-items lists are asked for
# random products; feeds for anonymous sessions that first viewed three
# products each (so their feed is personal, not the cold-start fallback).
# Every list goes through the fair re-ranking step and the exposure ledger.
# Writes "## Discovery over HTTP" in bench/RESULTS.md.
#
# Knobs: SOUK_THREADS (souk's loop threads; default its own, cores/2) DURATION=10 WARMUP=2 CONNS=16 (few: p99 then shows the work, not a queue) SESSIONS=500 NO_RESULTS=1
#   DATA_FILE=/work/shared/data/online-retail/online_retail.csv.gz
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-16}
SESSIONS=${SESSIONS:-500}
DATA_FILE=${DATA_FILE:-/work/shared/data/online-retail/online_retail.csv.gz}
BUILD=${BUILD:-build/bench}
SOUK="$ROOT/$BUILD/souk"
LG="$ROOT/build/benchtools/loadgen"
OUT="$ROOT/$BUILD/run-discovery"
mkdir -p "$OUT"
log() { printf 'discovery: %s\n' "$*" >&2; }

make -s BUILD="$BUILD" >/dev/null
make -s -C bench OUT="$ROOT/build/benchtools" >/dev/null
DATA=$(mktemp -d /tmp/souk-disco.XXXXXX)
SOUK_PID=
cleanup() {
    [ -n "$SOUK_PID" ] && kill -9 "$SOUK_PID" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

log "importing $DATA_FILE"
"$SOUK" import --data "$DATA" "$DATA_FILE" >"$OUT/import.log" 2>&1
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$SOUK" serve --data "$DATA" --listen "127.0.0.1:$PORT" --quiet ${SOUK_THREADS:+--threads "$SOUK_THREADS"} >"$OUT/souk.log" 2>&1 &
SOUK_PID=$!
for _ in $(seq 1 200); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/healthz" >/dev/null || { log "souk did not start"; exit 1; }

# URL lists, from the catalogue in the database; sessions view 3 products each.
python3 - "$DATA/souk.db" "$OUT" "$BASE" "$SESSIONS" <<'PY'
import json, random, re, sqlite3, sys, urllib.parse, urllib.request
db, out, base, sessions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rnd = random.Random(20111209)
rows = sqlite3.connect(db).execute(
    "SELECT p.id, p.title FROM products p JOIN merchants m ON m.id = p.merchant_id"
    " WHERE p.status = 'active' AND m.status = 'active'").fetchall()
ids = [r[0] for r in rows]
words = [[w for w in re.findall(r"[A-Za-z]{3,}", t.lower())] for _, t in rows]
words = [w for w in words if w]
q = lambda s: "/api/v1/search?q=" + urllib.parse.quote(s)
with open(f"{out}/search.txt", "w") as f:
    for _ in range(20000):
        w = rnd.choice(words)
        k = rnd.random()
        if k < 0.5 or len(w) < 2:
            s = rnd.choice(w)
        elif k < 0.8:
            i = rnd.randrange(len(w) - 1)
            s = w[i] + " " + w[i + 1]
        else:
            x = rnd.choice(w)
            s = x[: max(3, len(x) // 2)]
        f.write(q(s) + "\n")
with open(f"{out}/products.txt", "w") as f:
    for _ in range(20000):
        f.write(f"/api/v1/products/{rnd.choice(ids)}\n")
with open(f"{out}/similar.txt", "w") as f:
    for _ in range(20000):
        f.write(f"/api/v1/products/{rnd.choice(ids)}/similar\n")
with open(f"{out}/feed.txt", "w") as f:
    for n in range(sessions):
        sid = f"bench-session-{n:06d}"
        for pid in rnd.sample(ids, 3):
            body = json.dumps({"kind": "view", "product_id": str(pid), "session": sid}).encode()
            req = urllib.request.Request(base + "/api/v1/events", data=body, method="POST",
                                         headers={"content-type": "application/json"})
            urllib.request.urlopen(req).read()
        f.write(f"/api/v1/feed?session={sid}\n")
PY
sleep 1
# How personal the feeds are: reasons of one sample feed per 50 sessions.
PERSONAL=$(head -n "$SESSIONS" "$OUT/feed.txt" | awk 'NR % 50 == 1' | while read -r u; do curl -sf "$BASE$u"; echo; done |
    python3 -c 'import sys, json
n = p = 0
for l in sys.stdin:
    if not l.strip(): continue
    for it in json.loads(l)["items"]:
        n += 1
        p += it.get("reason", {}).get("kind", "").startswith("because_you")
print(f"{p}/{n}")')

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SOUK_PID/stat"; }
kv() { awk -F= -v k="$2" '$1 == k {print $2}' "$1"; }
ROWS=""
# CONNS connections: throughput (p99 then includes queueing); 1 connection:
# one request at a time, so p99 is the request's own time.
for c in "$CONNS" 1; do
    for kind in products search similar feed; do
        log "$kind: $c connection(s), ${DURATION}s"
        T0=$(cpu_ticks)
        "$LG" get --url "$BASE" --url-file "$OUT/$kind.txt" -c "$c" -d "$DURATION" -w "$WARMUP" \
            >"$OUT/$kind-$c.out" 2>"$OUT/$kind-$c.err"
        T1=$(cpu_ticks)
        F="$OUT/$kind-$c.out"
        REQS=$(kv "$F" requests)
        US=$(awk -v a="$T0" -v b="$T1" -v n="$REQS" -v d="$DURATION" -v w="$WARMUP" \
            'BEGIN {printf "%.0f", (b - a) * 10000 / (n * (d + w) / d)}')
        OK=$(kv "$F" status_200)
        ROWS+="| $kind | $c | $(printf '%.0f' "$(kv "$F" rps)") | $(kv "$F" p50_ms) | $(kv "$F" p99_ms) | $US | ${OK:-0} of $REQS |"$'\n'
        eval "RPS_${kind}_$c=$(kv "$F" rps)"
        eval "P99_${kind}_$c=$(kv "$F" p99_ms)"
    done
done
kill -TERM "$SOUK_PID"
wait "$SOUK_PID" || true
SOUK_PID=

met() { awk -v r="$1" -v p="$2" -v R="$3" -v P="$4" 'BEGIN {print (r >= R && p <= P) ? "**met**" : "**not met**"}'; }
SECTION=$(cat <<EOF
## Discovery over HTTP

Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run-discovery.sh\` on $(nproc) cores, souk at $(git rev-parse --short HEAD)$([ -n "$(git status --porcelain -- src 2>/dev/null)" ] && echo ' with uncommitted changes in src/').
The Online Retail data set imported with \`souk import\` ($(grep -o '[0-9]* products' "$OUT/import.log" | head -1 || echo '? products')), served by one souk process with ${SOUK_THREADS:-its default number of} loop thread(s);
souk's load generator on the same 2 cores, $CONNS keep-alive connections, ${DURATION} s after ${WARMUP} s warm-up per row.
Search: 20,000 queries from title words (50% one word, 30% two, 20% a prefix); similar: random products;
feed: $SESSIONS anonymous sessions that each viewed 3 products first ($PERSONAL sampled feed items carry a
"because you viewed" reason, the rest are the fill). Every list is re-ranked by the fair step and
accounted in the exposure ledger. Server CPU per request includes the warm-up's share.

| GET | connections | req/s | p50 ms | p99 ms | server CPU µs/req | 200s |
| --- | --- | --- | --- | --- | --- | --- |
${ROWS}
| target (issue 4, item 6, here over HTTP) | measured | |
| --- | --- | --- |
| search ≥ 10,000 queries/s with p99 ≤ 5 ms ($CONNS connections) | $(printf '%.0f' "$(eval echo "\$RPS_search_$CONNS")")/s, p99 $(eval echo "\$P99_search_$CONNS") ms | $(met "$(eval echo "\$RPS_search_$CONNS")" "$(eval echo "\$P99_search_$CONNS")" 10000 5) |
| feed p99 ≤ 2 ms (one request at a time) | p99 $P99_feed_1 ms | $(met 1 "$P99_feed_1" 0 2) |

The 1M-product index and the FTS5 comparison are in "## Search" (in-process). Raw outputs: \`$BUILD/run-discovery/\`.
EOF
)
echo "$SECTION"
[ -n "${NO_RESULTS:-}" ] || bench/set-section "## Discovery over HTTP" <(echo "$SECTION")
