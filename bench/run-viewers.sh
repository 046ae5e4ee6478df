#!/usr/bin/env bash
# Does a big audience slow the buy path? Runs bench/run-flash.sh in PAIRS
# interleaved pairs, without viewers and with VIEWERS viewers of the same
# room, and writes medians (and every run) to the "## Flash sale: buyers with
# and without N viewers" section of bench/RESULTS.md. Interleaved because
# this machine's noise (±15% between identical runs) is larger than the
# effect; a single pair proves nothing either way.
#
# The viewer client (bench/viewers.c) stands in for phones that would not
# share souk's two cores, so it runs at nice VIEWER_NICE (default 10): it
# takes what buyers and souk leave. souk's own fan-out work is all measured
# (its thread's CPU is in the table). VIEWER_NICE=0 to see the client compete.
#
# Knobs: PAIRS=3 VIEWERS=10000 VIEWER_NICE=10 DURATION=10 NO_RESULTS=1
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PAIRS=${PAIRS:-3}
VIEWERS=${VIEWERS:-10000}
VIEWER_NICE=${VIEWER_NICE:-10}
export DURATION=${DURATION:-10}
export CONNS=${CONNS:-64} # buyers' connections (run-flash.sh says why 64)
OUT="$ROOT/build/bench/run-viewers"
mkdir -p "$OUT"
: >"$OUT/runs.txt"
kv() { awk -F= -v k="$2" '$1 == k {print $2}' "$1"; }
for i in $(seq 1 "$PAIRS"); do
    for v in 0 "$VIEWERS"; do
        echo "viewers: pair $i, $v viewers" >&2
        VIEWERS=$v VIEWER_NICE=$VIEWER_NICE NO_RESULTS=1 bench/run-flash.sh >"$OUT/flash-$i-$v.md" 2>"$OUT/flash-$i-$v.err"
        F="$ROOT/build/bench/run-flash"
        fan=$(grep -o 'souk-fanout [0-9.]* s' "$OUT/flash-$i-$v.md" | awk '{print $2}' || true)
        cli=0; ev=0
        if [ "$v" -gt 0 ]; then
            cli=$(grep -o 'viewer client CPU during the hot run | [0-9.-]* s' "$OUT/flash-$i-$v.md" | awk '{print $(NF-1)}' || true)
            ev=$(awk -v s="$(kv "$F/viewers.out" stock_events)" -v n="$v" 'BEGIN {printf "%.1f", s / n}')
        fi
        # The buy path's own CPU per acknowledged order: loop thread(s) + writer
        # over the hot run (warm-up included on both sides of the ratio).
        loop=$(grep -o 'souk-loop[0-9]* [0-9.]* s' "$OUT/flash-$i-$v.md" | awk '{t += $2} END {print t + 0}')
        wri=$(grep -o 'souk-writer [0-9.]* s' "$OUT/flash-$i-$v.md" | awk '{print $2}' || true)
        per=$(awk -v a="$loop" -v b="${wri:-0}" -v n="$(wc -l <"$F/ids-hot.txt")" 'BEGIN {printf "%.1f", (a + b) * 1e6 / n}')
        # Their run-queue wait (runnable, not running) per order, and the
        # buyers' generator's own wait over the hot run.
        wait=$(join "$F/threads-0.txt" "$F/threads-1.txt" | awk -v n="$(wc -l <"$F/ids-hot.txt")" \
            '$1 ~ /^souk-(loop|writer)/ {w += $5 - $3} END {printf "%.1f", w / 1e3 / n}')
        gwait=$(kv "$F/hot.out" run_delay_s)
        pass=$(grep -q 'Checks after the run (PASS)' "$OUT/flash-$i-$v.md" && echo PASS || echo FAIL)
        echo "$v $(kv "$F/hot.out" iterations_per_s) $(kv "$F/hot.out" p50_ms) $(kv "$F/hot.out" p99_ms) $(kv "$F/hot.out" p999_ms) ${fan:-0} ${cli:-0} $ev $pass $per $wait ${gwait:-0}" >>"$OUT/runs.txt"
    done
done
med() { # column, viewers → median over that group's runs
    awk -v c="$1" -v v="$2" '$1 == v {print $c}' "$OUT/runs.txt" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
R0=$(med 2 0); RV=$(med 2 "$VIEWERS")
P0=$(med 4 0); PV=$(med 4 "$VIEWERS")
C0=$(med 10 0); CV=$(med 10 "$VIEWERS")
W0=$(med 11 0); WV=$(med 11 "$VIEWERS")
RATIO=$(awk -v a="$RV" -v b="$R0" 'BEGIN {printf "%.2f", a / b}')
TITLE="## Flash sale: buyers with and without $VIEWERS viewers"
[ "$CONNS" = 64 ] || TITLE="$TITLE, $CONNS connections"
SECTION=$(cat <<EOT
$TITLE

Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run-viewers.sh\` on $(nproc) cores, souk at $(git rev-parse --short HEAD)$([ -n "$(git status --porcelain -- src 2>/dev/null)" ] && echo ' with uncommitted changes in src/').
$PAIRS interleaved pairs of \`bench/run-flash.sh\` (20000 shoppers, $CONNS connections, one hot item, ${DURATION} s), the same sale
without viewers and with $VIEWERS viewers connected to the room's event stream throughout. Buyers' generator at
normal priority; the viewer client (bench/viewers.c, standing in for remote phones) at nice $VIEWER_NICE. souk
sends each viewer its snapshot from the loop thread, then its fan-out thread (nice 10) writes every frame
(at most 1 a second for this audience: the feed spends ~10,000 writes a second per room).

| runs | acknowledged orders/s (median) | p99 ms (median) | ratio of orders/s to no viewers | buy path CPU µs per order (loop + writer threads, median) | buy path wait for a CPU, µs per order (median) |
| --- | --- | --- | --- | --- | --- |
| no viewers | $(printf '%.0f' "$R0") | $P0 | 1.00 | $C0 | $W0 |
| $VIEWERS viewers | $(printf '%.0f' "$RV") | $PV | $RATIO | $CV | $WV |

Every run (all passed run-flash.sh's checks: each 201 found through the API and in the database, 0 oversold):

| viewers | orders/s | p50 ms | p99 ms | p99.9 ms | buy path CPU µs/order | buy path wait µs/order | generator's wait s | souk fan-out CPU s | viewer client CPU s | stock events per viewer | checks |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(awk '{printf "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $10, $11, $12, $6, $7, $8, $9}' "$OUT/runs.txt")

| target (issue 3, item 3) | measured | |
| --- | --- | --- |
| $VIEWERS viewers must not slow the buy path | orders/s ratio $RATIO, p99 $PV vs $P0 ms, buy path CPU $CV vs $C0 µs/order (medians) | $(awk -v r="$RATIO" -v a="$PV" -v b="$P0" 'BEGIN {print (r >= 0.95 && a <= 1.1 * b) ? "**met**" : "**not met**"}') |

Read as met when the median with viewers keeps at least 95% of the orders/s without them (the spread
between identical runs here is larger) and its p99 is within 10% of the p99 without them.
Raw outputs: \`build/bench/run-viewers/\`.
EOT
)
echo "$SECTION"
[ -n "${NO_RESULTS:-}" ] || bench/set-section "$TITLE" <(echo "$SECTION")
