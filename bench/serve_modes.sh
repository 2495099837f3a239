#!/bin/sh
# bench/serve_modes.sh - serve's threading and scheduling modes side by
# side (bench/README-serve.md, "serve5", part 4): one home like
# serve_bench.sh's (10,000 endpoints, 1,000 tokens), four servers of one
# binary on it (a pool of 2 workers on epoll, the default; a pool of 1;
# --thread-per-connection; the pool of 2 with --rt-priority 10), then,
# ROUNDS times, wrk -t2 -c8 on GET /v1/resolve/svc7?from=frankfurt for
# DURATION seconds against each in turn, with `perf stat -e
# context-switches,task-clock -p PID` around the run (software counters:
# they work in a VM without hardware ones). Per run: req/s, wrk's p50 /
# p90 / p99 / p99.9 ms, context switches and CPU microseconds per answer,
# the load. Not a test: skips (exit 77) without wrk or perf.
#
#   bench/serve_modes.sh FEDBROKER [DURATION=4] [ROUNDS=2]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 FEDBROKER [DURATION] [ROUNDS]" >&2; exit 64; }
bin=$1
dur=${2:-4}
rounds=${3:-2}
command -v wrk >/dev/null 2>&1 || { echo "serve_modes: wrk is not installed; skipped"; exit 77; }
command -v perf >/dev/null 2>&1 || { echo "serve_modes: perf is not installed; skipped"; exit 77; }
tmp=$(mktemp -d --suffix=.fb-serve-modes)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir -m 700 "$tmp/home"
tok=$(FEDBROKER=$bin python3 "$top/bench/serve_setup.py" "$tmp/home" 2000 1000)
. "$top/bench/serve_wrk.sh"
n=0
for args in "--threads 2" "--threads 1" "--thread-per-connection" "--threads 2 --rt-priority 10"; do
    n=$((n+1))
    # shellcheck disable=SC2086 # the options are words
    FEDBROKER_HOME=$tmp/home HOME=$tmp/home "$bin" serve --listen 127.0.0.1:0 $args --rate 1000000 \
        --burst 1000000 >"$tmp/s$n.out" 2>/dev/null &
    pids="$pids $!"
    i=0
    while ! grep -q listening "$tmp/s$n.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done
    echo "$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/s$n.out") $! $args" >"$tmp/m$n"
done
echo "round mode req/s p50_ms p90_ms p99_ms p99.9_ms non2xx cs_per_answer cpu_us_per_answer load1"
r=1
while [ "$r" -le "$rounds" ]; do
    for i in 1 2 3 4; do
        read -r port pid args <"$tmp/m$i"
        perf stat -x, -e context-switches,task-clock -p "$pid" -o "$tmp/ps" -- sleep "$dur" &
        sp=$!
        s=$(wrk -t2 -c8 -d"${dur}s" -s "$tmp/pct.lua" -H "Authorization: Bearer $tok" \
            "http://127.0.0.1:$port/v1/resolve/svc7?from=frankfurt" | summary)
        wait "$sp" || true
        cs=$(awk -F, '$3=="context-switches" {print $1}' "$tmp/ps")
        ms=$(awk -F, '$3=="task-clock" {print $1}' "$tmp/ps")
        echo "$r [$args] $(echo "$s ${cs:-0} ${ms:-0}" | awk -v d="$dur" \
            '{n = $1 * d; printf "%s %s %s %s %s %s %.2f %.1f", $1, $2, $3, $4, $5, $6, (n > 0 ? $7 / n : 0), (n > 0 ? $8 * 1000 / n : 0)}') $(cut -d' ' -f1 /proc/loadavg)"
    done
    r=$((r+1))
done
