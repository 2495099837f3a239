#!/bin/sh
# bench/serve_floor.sh - is a p99 under 1 ms at 8 connections possible at
# all on this machine with wrk beside the server? (issue 16; numbers:
# bench/README-serve.md, "Stop 25: serve16"). Four servers, each answering
# on loopback, measured by wrk -c8 (-t2 and -t1) in one interleaved run
# (the order rotated every round), ROUNDS times:
#   floor:   bench/floor_http (the least an HTTP/1.1 server does: epoll,
#            a fixed 200 once the headers end; 2 threads like serve's pool)
#   nginx:   nginx, 2 worker processes, `return 200` of a small JSON body,
#            no access log (when nginx is installed)
#   healthz: fedbroker serve's GET /v1/healthz (no token, store or audit row)
#   resolve: fedbroker serve's GET /v1/resolve/svc7?from=frankfurt with a
#            token (10,000 endpoints, 1,000 tokens: bench/serve_setup.py)
# Per run: req/s, wrk's p50 / p90 / p99 / p99.9 (ms), the server's CPU
# (user+sys) per 1,000 answers, and the load average. If floor and nginx
# miss 1 ms too, the target is the machine's (2 cores shared with wrk's
# threads), not the server's. Not a test: skips (exit 77) without wrk.
#
#   bench/serve_floor.sh [FEDBROKER=build/fedbroker] [DURATION=5] [ROUNDS=3]
#   FLOOR_HTTP=path/to/floor_http   (default build/bench/floor_http; built
#                                     by `make -C build bench/floor_http`)
#   SERVE_ARGS="--threads 1"         (more options for serve)
#   SHIELD=1                         (root: the run in an autogroup of its
#                                     own at nice -20: SHIELD below)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# SHIELD=1: the whole run (servers, wrk) in an autogroup of its own at
# nice -20 (bench/README-serve.md, "Stop 26"). This kernel groups
# the tasks of each session (setsid) into an autogroup
# (/proc/sys/kernel/sched_autogroup_enabled = 1) and shares the CPUs
# between autogroups first: `nice -n -20 bench/...` only reweights the
# bench's tasks against each other, not against the other sessions' builds.
# An autogroup's nice is its weight against the other sessions; -20 needs
# root (CAP_SYS_NICE). Relative priorities inside the bench (the audit
# writer's +5, SCHED_BATCH, --slice-us) are unchanged. It takes most of
# the 2 cores from every other session for as long as the run lasts.
. "$top/bench/bench_lib.sh"
bench_shield "$0" "$@"
bin=${1:-$top/build/fedbroker}
dur=${2:-5}
rounds=${3:-3}
floor=${FLOOR_HTTP:-$top/build/bench/floor_http}
command -v wrk >/dev/null 2>&1 || { echo "serve_floor: wrk is not installed (apt-get install wrk); skipped"; exit 77; }
[ -x "$floor" ] || { echo "serve_floor: $floor is missing (make -C build bench/floor_http)" >&2; exit 1; }
tmp=$(mktemp -d --suffix=.fb-serve-floor)
spid=; fpid=; npid=
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null || true
    [ -n "$fpid" ] && kill "$fpid" 2>/dev/null || true
    [ -n "$npid" ] && kill "$npid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
base=$((20000 + $$ % 20000))

mkdir -m 700 "$tmp/home"
tok=$(FEDBROKER=$bin python3 "$top/bench/serve_setup.py" "$tmp/home" 2000 1000)
FEDBROKER_HOME=$tmp/home HOME=$tmp/home "$bin" serve --listen 127.0.0.1:0 --threads 2 ${SERVE_ARGS:-} \
    --rate 1000000 --burst 1000000 --max-connections 2048 >"$tmp/serve.out" 2>/dev/null &
spid=$!
i=0
while ! grep -q listening "$tmp/serve.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
sport=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/serve.out")

fport=$base
"$floor" "$fport" 2 >"$tmp/floor.out" &
fpid=$!
i=0
while ! grep -q listening "$tmp/floor.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done

targets="floor healthz resolve"
nport=$((base + 1))
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    ngx=$(command -v nginx || echo /usr/sbin/nginx)
    mkdir "$tmp/nginx"
    cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$nport;
        location / { default_type application/json; return 200 '{"status":"ok"}\n'; }
    }
}
EOF
    "$ngx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
    npid=$!
    i=0
    until curl -sf "http://127.0.0.1:$nport/" >/dev/null 2>&1; do
        i=$((i+1)); [ $i -lt 50 ] || { cat "$tmp/nginx/stderr" >&2; kill "$npid"; npid=; break; }; sleep 0.1
    done
    [ -n "$npid" ] && targets="floor nginx healthz resolve"
fi

. "$top/bench/serve_wrk.sh"  # $tmp/pct.lua, summary
hz=$(getconf CLK_TCK)
# CPU ticks (user+sys) of a process and its children (nginx's workers)
ticks() {
    for p in $1 $(cat /proc/$1/task/*/children 2>/dev/null); do
        awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null
    done | awk '{t += $1} END {print t + 0}'
}
url() {
    case $1 in
    floor) echo "http://127.0.0.1:$fport/v1/healthz" ;;
    nginx) echo "http://127.0.0.1:$nport/v1/healthz" ;;
    healthz) echo "http://127.0.0.1:$sport/v1/healthz" ;;
    resolve) echo "http://127.0.0.1:$sport/v1/resolve/svc7?from=frankfurt" ;;
    esac
}
pidof_t() {
    case $1 in
    floor) echo "$fpid" ;;
    nginx) echo "$npid" ;;
    *) echo "$spid" ;;
    esac
}
curl -sf -H "Authorization: Bearer $tok" "$(url resolve)" >/dev/null
echo "serve = $bin ${SERVE_ARGS:-}; floor = $floor; targets: $targets"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round wrk_t target req/s p50_ms p90_ms p99_ms p99.9_ms non2xx cpu_ms_per_1000 load1"
r=1
while [ "$r" -le "$rounds" ]; do
    # rotate the order by one every round: each target runs first once
    order=$targets
    k=1
    while [ "$k" -lt "$r" ]; do
        order="$(echo "$order" | cut -d' ' -f2-) $(echo "$order" | cut -d' ' -f1)"
        k=$((k+1))
    done
    for wt in 2 1; do
        for target in $order; do
            pid=$(pidof_t "$target")
            t0=$(ticks "$pid")
            if [ "$target" = resolve ]; then
                s=$(wrk -t$wt -c8 -d${dur}s -s "$tmp/pct.lua" -H "Authorization: Bearer $tok" "$(url resolve)" | summary)
            else
                s=$(wrk -t$wt -c8 -d${dur}s -s "$tmp/pct.lua" "$(url "$target")" | summary)
            fi
            t1=$(ticks "$pid")
            echo "$r $wt $target $(echo "$s" | awk -v t0="$t0" -v t1="$t1" -v hz="$hz" -v d="$dur" \
                '{n = $1 * d; printf "%s %s %s %s %s %s %.1f", $1, $2, $3, $4, $5, $6, (n > 0 ? (t1 - t0) * 1000 / hz / n * 1000 : 0)}') $(cut -d' ' -f1 /proc/loadavg)"
        done
    done
    r=$((r+1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
