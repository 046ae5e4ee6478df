#!/usr/bin/env bash
# bench/run-core.sh — the marketplace-core benchmark, end to end.
#
# Builds souk and the bench tools, measures the hello-world h2o ceiling, seeds a
# fresh souk (operator, 2000 shoppers, 2 approved merchants, 1000 products with
# 2 SKUs each), runs the product-read and checkout benchmarks, checks stock
# afterwards, and rewrites the "## Core" section of bench/RESULTS.md.
#
# Everything runs on 127.0.0.1 and stops by itself; every server this script
# starts is stopped on exit, failure or Ctrl-C. Raw outputs stay in
# $BUILD/run-core/ (default build/bench/run-core/).
#
# Knobs (environment): DURATION=10 WARMUP=2 CONNS=64 CHECKOUT_CONNS=64
#   PRODUCTS=500 (per merchant) SHOPPERS=2000 SOUK_THREADS= (empty: souk's default,
#   nproc/2) HELLO_THREADS= (default: as souk) LG_THREADS=1 BUILD=build/bench SOUK_PORT= HELLO_PORT=
#   (empty: a free port) NO_RESULTS=1 (do not touch RESULTS.md) KEEP_DATA=1
#   SOUK_BIN=path (benchmark that binary instead of building $BUILD/souk)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
CHECKOUT_CONNS=${CHECKOUT_CONNS:-64}
# One RESULTS.md section per checkout concurrency: group commit shares each
# fsync among the requests waiting, so the connection count matters.
TITLE="## Core"
[ "$CHECKOUT_CONNS" = 64 ] || TITLE="## Core, $CHECKOUT_CONNS checkout connections"
PRODUCTS=${PRODUCTS:-500}
SHOPPERS=${SHOPPERS:-2000}
# souk's default is one loop thread per two cores (src/cli/serve.c); hello gets the
# same, so the ratio compares like with like. SOUK_THREADS=N sets both.
DEFAULT_THREADS=$(($(nproc) / 2))
[ "$DEFAULT_THREADS" -ge 1 ] || DEFAULT_THREADS=1
SOUK_THREADS=${SOUK_THREADS:-}
HELLO_THREADS=${HELLO_THREADS:-${SOUK_THREADS:-$DEFAULT_THREADS}}
LG_THREADS=${LG_THREADS:-1}
BUILD=${BUILD:-build/bench}
SOUK_PORT=${SOUK_PORT:-}
HELLO_PORT=${HELLO_PORT:-}
OP_EMAIL=ops@bench.test
OP_PASSWORD=bench-password-1

OUT="$ROOT/$BUILD/run-core"
TOOLS="$ROOT/$BUILD/benchtools"
SOUK=${SOUK_BIN:-$ROOT/$BUILD/souk}
LG="$TOOLS/loadgen"
DATA=$(mktemp -d /tmp/souk-bench-core.XXXXXX)
RUN_TIMEOUT=$((DURATION + WARMUP + 60))

PIDS=()
log() { printf '[run-core %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# Stops one server: SIGTERM, up to 10 s to drain, then SIGKILL. Sets STOP_RC to its
# exit status (not in a $(...) subshell: only this shell can wait for its children).
STOP_RC=
stop_pid() {
    local pid=$1 i
    STOP_RC=0
    if kill -TERM "$pid" 2>/dev/null; then
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid did not stop in 10 s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || STOP_RC=$?
}

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping leftover pid $pid"
            stop_pid "$pid"
        fi
    done
    if [ -n "${KEEP_DATA:-}" ]; then log "data kept in $DATA"; else rm -rf "$DATA"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until URL answers 200, for at most $2 seconds.
wait_ready() {
    local url=$1 secs=$2 pid=$3 i
    for i in $(seq 1 $((secs * 10))); do
        kill -0 "$pid" 2>/dev/null || return 1
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# Server CPU time of a pid, in microseconds (utime + stime from /proc).
cpu_us() {
    local ticks hz
    ticks=$(awk '{print $14 + $15}' "/proc/$1/stat")
    hz=$(getconf CLK_TCK)
    echo $((ticks * 1000000 / hz))
}

# A TCP port nobody listens on. souk and hello listen with SO_REUSEPORT, so binding a
# port another server of the same user holds does not fail: the kernel would
# quietly split our connections between the two.
listeners() { ss -Htln "sport = :$1" 2>/dev/null | wc -l; }
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
        [ "$(listeners "$p")" = 0 ] && { echo "$p"; return; }
    done
    die "no free port found"
}
# After a start: exactly one listening socket per server thread, all ours.
check_port_ours() {
    local port=$1 pid=$2 others
    others=$(ss -Htlnp "sport = :$port" 2>/dev/null | grep -v "pid=$pid," || true)
    [ -z "$others" ] || die "another process also listens on port $port: $others"
}

kv() { sed -n "s/^$2=//p" "$1" | head -1; }

# Runs loadgen; NAME.out gets its stdout. Sets CPU_PER_REQ from the server's CPU.
run_lg() {
    local name=$1 pid=$2
    shift 2
    local c0 c1 reqs
    c0=$(cpu_us "$pid")
    timeout "$RUN_TIMEOUT" "$LG" "$@" -t "$LG_THREADS" -d "$DURATION" -w "$WARMUP" --label "$name" \
        >"$OUT/$name.out" 2>"$OUT/$name.err" || die "loadgen $name failed: $(tail -3 "$OUT/$name.err")"
    c1=$(cpu_us "$pid")
    sed 's/^/    /' "$OUT/$name.err" >&2
    reqs=$(kv "$OUT/$name.out" requests)
    # The CPU window includes the warm-up, so scale by its share of the run.
    CPU_PER_REQ=$(awk -v c=$((c1 - c0)) -v r="$reqs" -v d="$DURATION" -v w="$WARMUP" \
        'BEGIN { if (r > 0) printf "%.1f", c * d / (d + w) / r; else print "n/a" }')
    echo "cpu_us_per_req=$CPU_PER_REQ" >>"$OUT/$name.out"
}

# wrk -t1, one path; writes NAME.out with rps, p50_ms, p99_ms.
run_wrk() {
    local name=$1 pid=$2 url=$3 c0 c1
    c0=$(cpu_us "$pid")
    timeout "$RUN_TIMEOUT" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$OUT/$name.wrk" 2>&1 ||
        die "wrk $name failed"
    c1=$(cpu_us "$pid")
    awk -v cpu=$((c1 - c0)) '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
            if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v
        }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        /requests in/ { reqs = $1 }
        /Non-2xx/ { non2xx = $NF }
        /Socket errors/ { errs = $0 }
        END {
            printf "rps=%s\np50_ms=%.3f\np99_ms=%.3f\nrequests=%s\nnon_2xx=%d\n", rps, p50, p99, reqs, non2xx
            if (reqs > 0) printf "cpu_us_per_req=%.1f\n", cpu / reqs
            if (errs != "") printf "socket_errors=%s\n", errs
        }' "$OUT/$name.wrk" >"$OUT/$name.out"
    log "  wrk $name: $(kv "$OUT/$name.out" rps) req/s, p50 $(kv "$OUT/$name.out" p50_ms) ms, p99 $(kv "$OUT/$name.out" p99_ms) ms"
}

for tool in curl wrk node awk timeout ss; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup installs it)"
done
mkdir -p "$OUT"
[ -n "$SOUK_PORT" ] || SOUK_PORT=$(free_port)
[ -n "$HELLO_PORT" ] || HELLO_PORT=$(free_port)
rm -f "$OUT"/*.out "$OUT"/*.err "$OUT"/*.wrk "$OUT"/*.log

# CPU time stolen by the hypervisor and used by other processes makes a run noisy;
# both are recorded in the results so a reader can judge the numbers.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STEAL0=$(awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)

# ---------------------------------------------------------------- build
: >"$OUT/build.log"
if [ -z "${SOUK_BIN:-}" ]; then
    log "building souk ($BUILD) and the bench tools"
    timeout 1200 make -s -j"$(nproc)" BUILD="$BUILD" >"$OUT/build.log" 2>&1 ||
        die "make failed: $(tail -5 "$OUT/build.log")"
fi
[ -x "$SOUK" ] || die "$SOUK is not an executable"
timeout 300 make -s -C bench OUT="$TOOLS" >>"$OUT/build.log" 2>&1 ||
    die "bench tools failed to build: $(tail -5 "$OUT/build.log")"

# ---------------------------------------------------------------- hello ceiling
log "hello ceiling: $HELLO_THREADS threads, $CONNS connections, ${DURATION}s"
"$TOOLS/hello" --listen "127.0.0.1:$HELLO_PORT" --threads "$HELLO_THREADS" 2>"$OUT/hello.log" &
HELLO_PID=$!
PIDS+=("$HELLO_PID")
wait_ready "http://127.0.0.1:$HELLO_PORT/" 10 "$HELLO_PID" || die "hello did not start"
check_port_ours "$HELLO_PORT" "$HELLO_PID"
run_lg hello_get "$HELLO_PID" get --url "http://127.0.0.1:$HELLO_PORT/api/v1/products/1" -c "$CONNS"
run_wrk hello_wrk "$HELLO_PID" "http://127.0.0.1:$HELLO_PORT/api/v1/products/1"
stop_pid "$HELLO_PID"

# ---------------------------------------------------------------- souk: seed
log "seeding $DATA: operator, $SHOPPERS shoppers"
"$SOUK" user add --data "$DATA" --email "$OP_EMAIL" --password "$OP_PASSWORD" --role operator \
    >"$OUT/user-add.log" 2>&1 || die "souk user add: $(tail -3 "$OUT/user-add.log")"
t0=$(date +%s.%N)
"$SOUK" user seed --data "$DATA" --count "$SHOPPERS" --out "$DATA/tokens" >"$OUT/user-seed.log" 2>&1 ||
    die "souk user seed: $(tail -3 "$OUT/user-seed.log")"
t1=$(date +%s.%N)
[ "$(wc -l <"$DATA/tokens")" -ge "$SHOPPERS" ] || die "user seed wrote $(wc -l <"$DATA/tokens") tokens"
log "  user seed: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s for $SHOPPERS shoppers"

SERVE_ARGS=(serve --data "$DATA" --listen "127.0.0.1:$SOUK_PORT")
[ -n "$SOUK_THREADS" ] && SERVE_ARGS+=(--threads "$SOUK_THREADS")
"$SOUK" "${SERVE_ARGS[@]}" 2>"$OUT/souk.log" &
SOUK_PID=$!
PIDS+=("$SOUK_PID")
BASE="http://127.0.0.1:$SOUK_PORT"
wait_ready "$BASE/healthz" 20 "$SOUK_PID" || die "souk serve did not become ready: $(tail -5 "$OUT/souk.log")"
check_port_ours "$SOUK_PORT" "$SOUK_PID"
SOUK_THREADS_SHOWN=${SOUK_THREADS:-$DEFAULT_THREADS (its default)}

log "seeding the catalog through the API: 2 merchants × $PRODUCTS products × 2 SKUs"
timeout 600 node bench/seed-core.mjs seed "$BASE" "$OP_EMAIL" "$OP_PASSWORD" "$DATA" "$PRODUCTS" \
    >"$OUT/seed.out" 2>"$OUT/seed.err" || die "seeding: $(tail -3 "$OUT/seed.err")"
log "  $(tr '\n' ' ' <"$OUT/seed.out")"

# ---------------------------------------------------------------- souk: reads
ONE_PRODUCT=$(head -1 "$DATA/urls")
log "GET product: $(wc -l <"$DATA/urls") ids round-robin, $CONNS connections"
run_lg souk_get "$SOUK_PID" get --url "$BASE" --url-file "$DATA/urls" -c "$CONNS"
run_wrk souk_wrk "$SOUK_PID" "$BASE$ONE_PRODUCT"

# ---------------------------------------------------------------- souk: checkout
log "checkout: $CHECKOUT_CONNS connections, shoppers from $SHOPPERS tokens"
metric() { sed -n "s/^$1 //p" "$2" | head -1; }
curl -s --max-time 5 "$BASE/metrics" >"$OUT/metrics-before-checkout.txt" || true
run_lg souk_checkout "$SOUK_PID" checkout --url "$BASE" --tokens "$DATA/tokens" --skus "$DATA/skus" \
    -c "$CHECKOUT_CONNS"

timeout 300 node bench/seed-core.mjs stock "$BASE" "$DATA" >"$OUT/stock.out" 2>"$OUT/stock.err" ||
    log "stock check failed: $(tail -3 "$OUT/stock.err")"
log "  stock: $(tr '\n' ' ' <"$OUT/stock.out" 2>/dev/null)"

curl -s --max-time 5 "$BASE/metrics" >"$OUT/metrics.txt" || true
# The group-commit writer during the checkout run (warm-up included).
WRITER=$(awk -v b0="$(metric souk_commit_batches_total "$OUT/metrics-before-checkout.txt")" \
    -v b1="$(metric souk_commit_batches_total "$OUT/metrics.txt")" \
    -v u0="$(metric souk_commit_units_total "$OUT/metrics-before-checkout.txt")" \
    -v u1="$(metric souk_commit_units_total "$OUT/metrics.txt")" \
    -v s0="$(metric souk_commit_seconds_total "$OUT/metrics-before-checkout.txt")" \
    -v s1="$(metric souk_commit_seconds_total "$OUT/metrics.txt")" -v d=$((DURATION + WARMUP)) \
    'BEGIN { if (b1 > b0) printf "%d batches, %d units (%.1f per batch), %.2f s committing in %d s (%.0f%%), %.2f ms per batch", b1 - b0, u1 - u0, (u1 - u0) / (b1 - b0), s1 - s0, d, 100 * (s1 - s0) / d, 1000 * (s1 - s0) / (b1 - b0) }')
log "  writer: ${WRITER:-no souk_commit_* metrics}"
t0=$(date +%s.%N)
stop_pid "$SOUK_PID"
SOUK_RC=$STOP_RC
t1=$(date +%s.%N)
SOUK_STOP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
log "souk stopped with status $SOUK_RC in ${SOUK_STOP_S}s"

# ---------------------------------------------------------------- report
f() { kv "$OUT/$1.out" "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# 12345.6 → 12,346
fmt() { printf '%.0f' "${1:-0}" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }
# The non-2xx statuses, problem codes and transport errors of a loadgen run, or "none".
errors() {
    local e
    e=$(
        awk -F= '/^status_/ { s = substr($1, 8); if (s < 200 || s >= 300) printf "%s ×%s, ", s, $2 }
                 /^code_/ { printf "%s ×%s, ", substr($1, 6), $2 }
                 /^(conn_errors|timeouts)=/ { if ($2 > 0) printf "%s ×%s, ", $1, $2 }' "$OUT/$1.out"
    )
    e=${e%, }
    echo "${e:-none}"
}
H=$(f hello_get rps)
HW=$(f hello_wrk rps)
G=$(f souk_get rps)
GW=$(f souk_wrk rps)
C=$(f souk_checkout rps)
PAID=$(f souk_checkout iterations_per_s)
G99=$(f souk_get p99_ms)
read_ok=$(awk -v r="$G" -v p="$G99" 'BEGIN { print (r >= 60000 && p <= 5) ? "**met**" : "**not met**" }')
pay_ok=$(awk -v r="$PAID" 'BEGIN { print (r >= 5000) ? "**met**" : "**not met**" }')
step_row() {
    local s=$1 label=$2
    [ -n "$(f souk_checkout "step_${s}_count")" ] || return 0
    printf '| &nbsp;&nbsp;↳ %s | %s | %s | %s | | | |\n' "$label" "$(fmt "$(f souk_checkout "step_${s}_rps")")" \
        "$(f souk_checkout "step_${s}_p50_ms")" "$(f souk_checkout "step_${s}_p99_ms")"
}
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src 2>/dev/null | head -1)

STEAL=$(awk -v a="$STEAL0" -v b="$(awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)" \
    'BEGIN { split(a, x, " "); split(b, y, " "); if (y[2] > x[2]) printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]); else print "?" }')
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SECTION="$OUT/core-section.md"
{
    echo "$TITLE"
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run-core.sh\` on $(nproc) cores ($cpu_model),"
    echo "souk at $commit${dirty:+ with uncommitted changes in src/}. Load generator and server share the machine:"
    echo "${DURATION} s measured after ${WARMUP} s warm-up, $CONNS keep-alive connections ($CHECKOUT_CONNS for checkout),"
    echo "loadgen $LG_THREADS thread(s); hello $HELLO_THREADS threads, souk threads: $SOUK_THREADS_SHOWN."
    echo "Product reads round-robin over $(wc -l <"$DATA/urls") products; checkout = 3 cart adds (2 merchants) +"
    echo "checkout + sandbox pay per iteration, shoppers rotating over $SHOPPERS tokens."
    echo "Machine load average $LOAD_BEFORE before, $LOAD_AFTER after; CPU steal $STEAL% during the run"
    echo "(other work on the machine lowers every row; compare ratios within one run)."
    echo
    echo "| scenario | req/s | p50 ms | p99 ms | ratio to hello | server CPU µs/req | errors |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    printf '| hello GET, 60-byte JSON (loadgen) | %s | %s | %s | 1.00 | %s | %s |\n' "$(fmt "$H")" \
        "$(f hello_get p50_ms)" "$(f hello_get p99_ms)" "$(f hello_get cpu_us_per_req)" "$(errors hello_get)"
    printf '| hello GET (wrk -t1 -c%s) | %s | %s | %s | 1.00 | %s | %s |\n' "$CONNS" "$(fmt "$HW")" \
        "$(f hello_wrk p50_ms)" "$(f hello_wrk p99_ms)" "$(f hello_wrk cpu_us_per_req)" "$(f hello_wrk non_2xx) non-2xx $(f hello_wrk socket_errors)"
    printf '| souk GET /products/{id} (loadgen) | %s | %s | %s | %s | %s | %s |\n' "$(fmt "$G")" \
        "$(f souk_get p50_ms)" "$G99" "$(ratio "$G" "$H")" "$(f souk_get cpu_us_per_req)" \
        "$(errors souk_get)"
    printf '| souk GET one product (wrk -t1 -c%s) | %s | %s | %s | %s | %s | %s |\n' "$CONNS" "$(fmt "$GW")" \
        "$(f souk_wrk p50_ms)" "$(f souk_wrk p99_ms)" "$(ratio "$GW" "$HW")" "$(f souk_wrk cpu_us_per_req)" \
        "$(f souk_wrk non_2xx) non-2xx $(f souk_wrk socket_errors)"
    printf '| souk checkout flow, all requests (loadgen) | %s | %s | %s | %s | %s | %s |\n' "$(fmt "$C")" \
        "$(f souk_checkout p50_ms)" "$(f souk_checkout p99_ms)" "$(ratio "$C" "$H")" \
        "$(f souk_checkout cpu_us_per_req)" "$(errors souk_checkout)"
    step_row cart_add "POST /cart/items"
    step_row checkout "POST /checkout"
    step_row pay "POST /checkout/{id}/pay"
    step_row cleanup "DELETE /cart/items (after a failed step)"
    printf '| **paid checkouts/s** (end to end) | **%s** | | | | | |\n' "$(fmt "$PAID")"
    echo
    echo "| target | measured | |"
    echo "| --- | --- | --- |"
    echo "| product reads ≥ 60,000/s with p99 ≤ 5 ms | $(fmt "$G")/s, p99 $G99 ms | $read_ok |"
    echo "| durable paid checkouts ≥ 5,000/s | $(fmt "$PAID")/s | $pay_ok |"
    echo
    if [ -s "$OUT/stock.out" ]; then
        echo "After the run: $(kv "$OUT/stock.out" stock_sold) units sold, $(kv "$OUT/stock.out" stock_reserved) reserved" \
            "over $(kv "$OUT/stock.out" stock_skus) SKUs ($(kv "$OUT/stock.out" stock_inconsistent_skus) with available ≠ on_hand − reserved);"
        echo "the loadgen counted $(f souk_checkout iterations) paid checkouts in the window (×3 units; the warm-up adds to \`sold\`,"
        echo "and \`reserved\` is checkouts created but not yet paid when the load stopped)."
    fi
    [ -z "$WRITER" ] || echo "Group-commit writer during the checkout run: $WRITER."
    echo "souk exited with status $SOUK_RC ${SOUK_STOP_S} s after SIGTERM. Raw outputs: \`$BUILD/run-core/\`."
    echo
} >"$SECTION"

[ -n "${NO_RESULTS:-}" ] || bench/set-section "$TITLE" "$SECTION"
cat "$SECTION"
