#!/bin/sh
# bench/serve_cost.sh - instructions per resolve answer, by serve's thread
# group, under callgrind: the request threads (libmicrohttpd's workers),
# the audit writer (fb-audit) and the rest (main, the log flusher). The
# machine is shared (load 10-20 from other sessions), so wall times and
# even CPU times are noisy; instruction counts are not, and they say what
# a request and its audit row cost serve's CPUs (numbers:
# bench/README-serve.md, "serve5").
#
#   bench/serve_cost.sh FEDBROKER [DURATION=10]
#
# Makes a home like serve_bench.sh's (10,000 endpoints, 1,000 tokens),
# starts `FEDBROKER serve` under valgrind --tool=callgrind
# --separate-threads=yes, runs wrk -t1 -c8 for DURATION seconds on
# GET /v1/resolve/svc7?from=frankfurt, stops serve cleanly (every queued
# audit row committed), and divides each thread group's instructions by
# the audit rows written (one per answer: every credential use is a row).
# Prints: rows batches req_Ir/row audit_Ir/row other_Ir/row. The idle
# polling of the threads and each batch's fixed cost are divided by the
# rows too: the numbers mean something only with thousands of rows (an
# idle machine; at load 35 valgrind's serve answered a few dozen requests
# in 10 s). Not a test: skips (exit 77) without wrk or valgrind.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 FEDBROKER [DURATION]" >&2; exit 64; }
bin=$1
dur=${2:-10}
command -v wrk >/dev/null 2>&1 || { echo "serve_cost: wrk is not installed; skipped"; exit 77; }
command -v valgrind >/dev/null 2>&1 || { echo "serve_cost: valgrind is not installed; skipped"; exit 77; }
tmp=$(mktemp -d --suffix=.fb-serve-cost)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"; [ -z "${KEEP:-}" ] || echo "kept $tmp" >&2
}
trap cleanup EXIT INT TERM
mkdir -m 700 "$tmp/home"
tok=$(FEDBROKER=$bin python3 "$top/bench/serve_setup.py" "$tmp/home" 2000 1000)
# libtool wrapper scripts: valgrind the real binary
real=$bin
[ -x "$(dirname "$bin")/.libs/$(basename "$bin")" ] && real=$(dirname "$bin")/.libs/$(basename "$bin")
FEDBROKER_HOME=$tmp/home HOME=$tmp/home valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$tmp/cg.out" "$real" serve --listen 127.0.0.1:0 --threads 2 \
    --rate 1000000 --burst 1000000 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
i=0
while ! grep -q listening "$tmp/serve.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 600 ] || { cat "$tmp/serve.err" >&2; exit 1; }; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/serve.out")
rows0=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from audit').fetchone()[0])" "$tmp/home/state.db")
wrk -t1 -c8 -d"${dur}s" --timeout 30s -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/v1/resolve/svc7?from=frankfurt" >"$tmp/wrk.out"
batches0=$(curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/metrics" | awk '$1=="fedbroker_audit_batches_total" {print $2}')
kill -TERM "$pid"
wait "$pid" || true
pid=
rows1=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from audit').fetchone()[0])" "$tmp/home/state.db")
# one file per thread: cg.out-01 (main), -02, ...; a thread's group from
# the functions it ran: the audit writer's start routine `writer`,
# libmicrohttpd's workers' polling loop
req=0; aud=0; oth=0
for f in "$tmp"/cg.out-*; do
    ir=$(awk '/^summary:/ {print $2}' "$f")
    [ -n "$ir" ] || continue
    case $f in *-01) continue ;; esac  # the main thread: start-up and the home's load
    if grep -q '^fn=([0-9]*) writer$' "$f"; then aud=$((aud + ir))
    # a worker: any libmicrohttpd API function (a busy worker's file need
    # not name MHD_get_timeout; it names the handler's MHD_ calls)
    elif grep -q '^fn=([0-9]*) MHD_' "$f"; then req=$((req + ir))
    else oth=$((oth + ir))
    fi
done
n=$((rows1 - rows0))
[ "$n" -gt 0 ] || { echo "serve_cost: no audit rows written" >&2; exit 1; }
echo "rows batches req_Ir/row audit_Ir/row other_Ir/row"
echo "$n ${batches0:-?}(+stop) $((req / n)) $((aud / n)) $((oth / n))"
