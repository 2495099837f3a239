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
# resolve's tail is ours. serve's CPU time (user+sys) per 1,000 answers
# is printed with each serve run.
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
srv_pid=; etcd_pid=
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
    [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir -m 700 "$tmp/home"
tok=$(python3 "$top/bench/serve_setup.py" "$tmp/home" 2000 1000)

FEDBROKER_HOME=$tmp/home HOME=$tmp/home "$FEDBROKER" serve --listen 127.0.0.1:0 --threads 2 \
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
cat > "$tmp/etcd.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
LUA
summary() { # wrk --latency output -> "req/s p50 p99" (ms)
    awk '/Requests\/sec/ {rps=$2}
         function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
         $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)}
         / Non-2xx/ {bad=$NF}
         END {printf "%s %.3f %.3f %s\n", rps, p50, p99, bad==""?0:bad}'
}
cpu_ticks() { # utime + stime of serve, in clock ticks
    awk '{print $14 + $15}' /proc/$srv_pid/stat
}
hz=$(getconf CLK_TCK)
# "req/s p50 p99 non2xx" and the serve CPU ticks before -> "... cpu_ms_per_1000"
with_cpu() {
    read -r rps p50 p99 bad
    t1=$(cpu_ticks)
    awk -v rps="$rps" -v p50="$p50" -v p99="$p99" -v bad="$bad" -v t0="$1" -v t1="$t1" -v hz="$hz" -v d="$dur" \
        'BEGIN {n = rps * d; printf "%s %s %s %s %.1f\n", rps, p50, p99, bad, (n > 0 ? (t1 - t0) * 1000 / hz / n * 1000 : 0)}'
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round conns target req/s p50_ms p99_ms non2xx serve_cpu_ms_per_1000 load1"
r=1
while [ $r -le "$rounds" ]; do
    for c in 8 64; do
        t0=$(cpu_ticks)
        s=$(wrk -t2 -c$c -d${dur}s --latency -H "Authorization: Bearer $tok" \
            "http://127.0.0.1:$sport/v1/resolve/svc7?from=frankfurt" | summary | with_cpu "$t0")
        echo "$r $c serve $s $(cut -d' ' -f1 /proc/loadavg)"
        if [ $c = 8 ]; then
            t0=$(cpu_ticks)
            s=$(wrk -t2 -c$c -d${dur}s --latency "http://127.0.0.1:$sport/v1/healthz" | summary | with_cpu "$t0")
            echo "$r $c serve-healthz $s $(cut -d' ' -f1 /proc/loadavg)"
        fi
        e=$(wrk -t2 -c$c -d${dur}s --latency -s "$tmp/etcd.lua" "http://127.0.0.1:$eport/v3/kv/range" | summary)
        echo "$r $c etcd $e - $(cut -d' ' -f1 /proc/loadavg)"
    done
    r=$((r+1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "serve RSS (10,000 endpoints, 1,000 tokens, after the runs): $(awk '/VmRSS/ {print $2, $3}' /proc/$srv_pid/status)"
echo "audit rows written: $(sqlite3 "$tmp/home/state.db" 'SELECT COUNT(*) FROM audit' 2>/dev/null || echo '?')"
curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$sport/metrics" | grep -E '^fedbroker_(audit|cache)'
