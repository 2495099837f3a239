#!/bin/sh
# bench/serve_bench.sh - issue 16's benchmark (numbers: bench/README-serve.md).
# `fedbroker serve` with 10,000 endpoints and 1,000 tokens, and Debian's
# etcd 3.4 (etcd-server) with one key, both started here; then wrk at 8 and
# 64 connections, DURATION seconds each, against
#   serve: GET /v1/resolve/svc7?from=frankfurt  (Authorization: Bearer ...)
#   etcd:  POST /v3/kv/range {"key": base64("svc7")}  (the JSON gateway)
# in the same run, alternating, ROUNDS times; and serve's resident memory.
# Beside them, at 8 connections, serve's GET /v1/healthz (no token, no
# store, no audit row: libmicrohttpd, the kernel and the scheduler only):
# the floor of serve's latency on this machine, which tells how much of
# resolve's tail is ours. At 8 connections each is run with wrk -t2 and
# -t1 (one wrk thread leaves a core to the servers). Each serve row also
# has serve's CPU time (user+sys) per 1,000 answers and, from serve's own
# histogram (fedbroker_http_request_duration_seconds: headers received to
# answer queued), the share of answers that took over 1 ms inside serve
# and the bucket of its 99th percentile: what the handler spends, against
# wrk's p99, which adds the kernel and the waits for a CPU. Last, with
# perf, a scheduler trace of one run (bench/serve_sched.py): who ran
# while wrk's and serve's threads waited.
# Not a test: skips (exit 77) without wrk or etcd.
#
#   bench/serve_bench.sh [DURATION=10] [ROUNDS=3]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
FEDBROKER=${FEDBROKER:-$top/build/fedbroker}
export FEDBROKER
dur=${1:-10}
rounds=${2:-3}
for t in wrk etcd; do
    command -v $t >/dev/null 2>&1 || { echo "serve_bench: $t is not installed (apt-get install wrk etcd-server); skipped"; exit 77; }
done
tmp=$(mktemp -d /tmp/fb-serve-bench.XXXXXX)
srv_pid=; srv0_pid=; etcd_pid=
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
    [ -n "$srv0_pid" ] && kill "$srv0_pid" 2>/dev/null || true
    [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir -m 700 "$tmp/home"
tok=$(python3 "$top/bench/serve_setup.py" "$tmp/home" 2000 1000)

# SERVE_ARGS: more options for serve (e.g. --slice-us 0, --threads 1)
FEDBROKER_HOME=$tmp/home HOME=$tmp/home "$FEDBROKER" serve --listen 127.0.0.1:0 --threads 2 ${SERVE_ARGS:-} \
    --rate 1000000 --burst 1000000 --max-connections 2048 >"$tmp/serve.out" 2>/dev/null &
srv_pid=$!
i=0
while ! grep -q listening "$tmp/serve.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
sport=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/serve.out")
eport=$((20000 + $$ % 20000))
etcd --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$eport" \
    --advertise-client-urls "http://127.0.0.1:$eport" --listen-peer-urls "http://127.0.0.1:$((eport+1))" \
    >"$tmp/etcd.log" 2>&1 &
etcd_pid=$!
i=0
until curl -sf "http://127.0.0.1:$eport/health" >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || { cat "$tmp/etcd.log"; exit 1; }; sleep 0.2; done
key=$(printf svc7 | base64)
val=$(printf 'https://svc7.eu-central-1.example/' | base64 -w0)
curl -sf -X POST "http://127.0.0.1:$eport/v3/kv/put" -d "{\"key\":\"$key\",\"value\":\"$val\"}" >/dev/null
# the answers the two give, once
curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$sport/v1/resolve/svc7?from=frankfurt" | head -c 200; echo
curl -sf -X POST "http://127.0.0.1:$eport/v3/kv/range" -d "{\"key\":\"$key\"}" | head -c 200; echo
# p50, p90, p99 and p99.9 from wrk's own histogram: $tmp/pct.lua, summary
. "$top/bench/serve_wrk.sh"
cat > "$tmp/etcd.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat "$tmp/pct.lua" >> "$tmp/etcd.lua"
cpu_ticks() { # utime + stime of serve, in clock ticks
    awk '{print $14 + $15}' /proc/$srv_pid/stat
}
hz=$(getconf CLK_TCK)
scrape() { curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$sport/metrics" >"$1"; }
# serve's own histogram (fedbroker_http_request_duration_seconds: headers
# received to answer queued) between two scrapes, for one route: the share
# of answers that took over 1 ms inside serve, and the bucket holding the
# 99th percentile ("<=0.00025": at most 250 us)
inside() {
    python3 - "$1" "$2" "$3" <<'PY'
import re, sys
def buckets(path, route):
    out = {}
    for line in open(path):
        m = re.match(r'fedbroker_http_request_duration_seconds_bucket\{route="%s",le="([^"]+)"\} (\d+)' % route, line)
        if m: out[m.group(1)] = int(m.group(2))
    return out
a, b = buckets(sys.argv[1], sys.argv[3]), buckets(sys.argv[2], sys.argv[3])
d = [(le, b[le] - a.get(le, 0)) for le in b]
n = dict(d).get("+Inf", 0)
over1 = n - dict(d).get("0.001", 0)
p99 = next((le for le, c in d if n and c >= 0.99 * n), "?")
print("%.4f%% <=%s" % (100.0 * over1 / n if n else 0, p99))
PY
}
# one wrk run against serve: "req/s p50 p90 p99 p99.9 non2xx cpu_ms_per_1000 inside_over_1ms inside_p99"
serve_run() { # conns wrk_threads route_class url [header]
    scrape "$tmp/m0"
    t0=$(cpu_ticks)
    if [ $# -gt 4 ]; then
        r=$(wrk -t$2 -c$1 -d${dur}s -s "$tmp/pct.lua" -H "$5" "$4" | summary)
    else
        r=$(wrk -t$2 -c$1 -d${dur}s -s "$tmp/pct.lua" "$4" | summary)
    fi
    t1=$(cpu_ticks)
    scrape "$tmp/m1"
    echo "$r" | awk -v t0="$t0" -v t1="$t1" -v hz="$hz" -v d="$dur" -v ins="$(inside "$tmp/m0" "$tmp/m1" "$3")" \
        '{n = $1 * d; printf "%s %s %s %s %s %s %.1f %s\n", $1, $2, $3, $4, $5, $6, (n > 0 ? (t1 - t0) * 1000 / hz / n * 1000 : 0), ins}'
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round conns wrk_t target req/s p50_ms p90_ms p99_ms p99.9_ms non2xx serve_cpu_ms_per_1000 inside_over_1ms inside_p99_s load1"
r=1
while [ $r -le "$rounds" ]; do
    for c in 8 64; do
        # wrk's threads: 2 (its default, the first rounds' number), and at 8
        # connections also 1, which leaves a core to the server: on 2 cores
        # wrk -t2 and the server's threads take turns on the CPUs
        wts=2
        [ $c = 8 ] && wts="2 1"
        for wt in $wts; do
            s=$(serve_run $c $wt resolve "http://127.0.0.1:$sport/v1/resolve/svc7?from=frankfurt" "Authorization: Bearer $tok")
            echo "$r $c $wt serve $s $(cut -d' ' -f1 /proc/loadavg)"
            if [ $c = 8 ]; then
                s=$(serve_run $c $wt healthz "http://127.0.0.1:$sport/v1/healthz")
                echo "$r $c $wt serve-healthz $s $(cut -d' ' -f1 /proc/loadavg)"
            fi
            e=$(wrk -t$wt -c$c -d${dur}s -s "$tmp/etcd.lua" "http://127.0.0.1:$eport/v3/kv/range" | summary)
            echo "$r $c $wt etcd $e - - - $(cut -d' ' -f1 /proc/loadavg)"
        done
    done
    r=$((r+1))
done
# The scheduler time slice of serve's request threads (--slice-us, docs/
# serve.md): a second serve, in a second home made the same way, with the
# kernel's default slice (--slice-us 0), against the first (default 100
# us), interleaved, resolve at 8 connections with wrk -t2 and -t1.
mkdir -m 700 "$tmp/home0"
tok0=$(python3 "$top/bench/serve_setup.py" "$tmp/home0" 2000 1000)
FEDBROKER_HOME=$tmp/home0 HOME=$tmp/home0 "$FEDBROKER" serve --listen 127.0.0.1:0 --threads 2 ${SERVE_ARGS:-} \
    --slice-us 0 --rate 1000000 --burst 1000000 --max-connections 2048 >"$tmp/serve0.out" 2>/dev/null &
srv0_pid=$!
i=0
while ! grep -q listening "$tmp/serve0.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
sport0=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/serve0.out")
echo "slice A/B: round wrk_t slice_us req/s p50_ms p90_ms p99_ms p99.9_ms non2xx load1"
r=1
while [ $r -le "$rounds" ]; do
    for wt in 2 1; do
        for sl in 100 0; do
            if [ $sl = 0 ]; then p=$sport0; k=$tok0; else p=$sport; k=$tok; fi
            s=$(wrk -t$wt -c8 -d${dur}s -s "$tmp/pct.lua" -H "Authorization: Bearer $k" \
                "http://127.0.0.1:$p/v1/resolve/svc7?from=frankfurt" | summary)
            echo "slice A/B: $r $wt $sl $s $(cut -d' ' -f1 /proc/loadavg)"
        done
    done
    r=$((r+1))
done
kill "$srv0_pid" 2>/dev/null || true
wait "$srv0_pid" 2>/dev/null || true

# Where the waits come from: one more resolve run at 8 connections per wrk
# thread count, with the scheduler's switches recorded for 3 s of it
# (perf, system-wide: needs root or perf_event_paranoid <= -1), and
# bench/serve_sched.py's account of who ran while wrk's and serve's
# threads waited for a CPU. Skipped without a usable perf.
if can_trace; then
    for wt in 2 1; do
        sched_trace "$sport" "$tok" "$wt" "$dur"
        echo "scheduler trace, resolve, wrk -t$wt -c8 (load $(cut -d' ' -f1 /proc/loadavg)): $(cat "$tmp/sched.sum")"
        cat "$tmp/sched.txt"
    done
else
    echo "scheduler trace skipped: perf is missing or may not record system-wide (run as root)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "serve RSS (10,000 endpoints, 1,000 tokens, after the runs): $(awk '/VmRSS/ {print $2, $3}' /proc/$srv_pid/status)"
echo "audit rows written: $(sqlite3 "$tmp/home/state.db" 'SELECT COUNT(*) FROM audit' 2>/dev/null || echo '?')"
curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$sport/metrics" | grep -E '^fedbroker_(audit|cache)'
