#!/bin/sh
# bench/serve_ab.sh - two `fedbroker serve` binaries A/B, interleaved in one
# run (numbers: bench/README-serve.md, "part 3"). Each serves its own home
# made by bench/serve_setup.py (10,000 endpoint rows, 1,000 tokens: the
# same as serve_bench.sh) with the same options; then, ROUNDS times, wrk at
# 8 connections (-t2 and -t1) against each in turn, the order swapped every
# round (A B, B A, ...): GET /v1/resolve/svc7?from=frankfurt (token,
# tenant, rate limit, the answer, an audit row, a log line) and
# GET /v1/healthz (libmicrohttpd and the kernel only). Per run: req/s,
# wrk's p50 / p90 / p99 / p99.9 in ms, and the server's CPU (user+sys) per
# 1,000 answers; the load average beside each. Not a test: skips (exit
# 77) without wrk.
#
#   bench/serve_ab.sh OLD_FEDBROKER NEW_FEDBROKER [DURATION=5] [ROUNDS=3]
#   SERVE_ARGS="--threads 1" bench/serve_ab.sh ...   # more serve options for both
#   SERVE_ARGS_B="--threads 1" bench/serve_ab.sh BIN BIN ...   # options A/B, one binary
#   SCHED_TRACE=1 bench/serve_ab.sh ...   # and a scheduler trace per server and round
#   TARGETS="resolve healthz names" bench/serve_ab.sh ...   # names: resolve
#       cycling through the 2,000 names (svc0..svc1999), so the answer
#       cache misses on each name's first request of every second
#   SHIELD=1 bench/serve_ab.sh ...   # in an autogroup of its own at nice -20
#       (root; see SHIELD below): the other sessions' load mostly off
#       the bench's CPUs. Each row ends with top_worker_pct, the busiest
#       libmicrohttpd worker's share of the workers' CPU (100: one worker
#       had all 8 connections)
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
[ $# -ge 2 ] || { echo "usage: $0 OLD_FEDBROKER NEW_FEDBROKER [DURATION] [ROUNDS]" >&2; exit 64; }
binA=$1
binB=$2
dur=${3:-5}
rounds=${4:-3}
command -v wrk >/dev/null 2>&1 || { echo "serve_ab: wrk is not installed (apt-get install wrk); skipped"; exit 77; }
tmp=$(mktemp -d --suffix=.fb-serve-ab)
pidA=; pidB=
cleanup() {
    [ -n "$pidA" ] && kill "$pidA" 2>/dev/null || true
    [ -n "$pidB" ] && kill "$pidB" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
start() { # name binary extra-args -> sets port_NAME, tok_NAME, pid
    mkdir -m 700 "$tmp/home$1"
    t=$(FEDBROKER=$2 python3 "$top/bench/serve_setup.py" "$tmp/home$1" 2000 1000)
    FEDBROKER_HOME=$tmp/home$1 HOME=$tmp/home$1 "$2" serve --listen 127.0.0.1:0 --threads 2 ${SERVE_ARGS:-} $3 \
        --rate 1000000 --burst 1000000 --max-connections 2048 >"$tmp/serve$1.out" 2>/dev/null &
    pid=$!
    i=0
    while ! grep -q listening "$tmp/serve$1.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
    eval "port_$1=\$(sed -n 's/.*:\([0-9]*\)\$/\1/p' \"\$tmp/serve\$1.out\")"
    eval "tok_$1=\$t"
}
start A "$binA" "${SERVE_ARGS_A:-}"
pidA=$pid
start B "$binB" "${SERVE_ARGS_B:-}"
pidB=$pid
. "$top/bench/serve_wrk.sh"  # $tmp/pct.lua, summary
# every request another of the 2,000 names, with pct.lua's percentiles
{ cat <<'LUA'
local i = 0
request = function()
    i = (i + 7919) % 2000
    return wrk.format("GET", "/v1/resolve/svc" .. i .. "?from=frankfurt")
end
LUA
cat "$tmp/pct.lua"; } >"$tmp/names.lua"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU ticks of the server's threads other than libmicrohttpd's workers
# (the audit writer, the log flusher, main; not MHD-worker or, with
# --threads 1, MHD-single): what competes with them
bg_ticks() { cat /proc/$1/task/*/stat | awk '$2 !~ /MHD-/ {t += $14 + $15} END {print t + 0}'; }
hz=$(getconf CLK_TCK)
# CPU ticks of each libmicrohttpd thread ("TID TICKS" lines): a worker
# serves the connections it accepted, so wrk's 8 connections may all land
# on one worker of the pool or be split (bench/README-serve.md, "Stop 26")
worker_ticks() {
    for t in /proc/$1/task/*; do
        case $(cat "$t/comm" 2>/dev/null) in
        MHD-*) echo "${t##*/} $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)" ;;
        esac
    done
}
# the busiest worker's share of the workers' CPU between two worker_ticks
# (100: one worker served every connection)
top_worker() {
    printf '%s\n%s\n' "$1" "$2" | awk 'NF == 2 {if ($1 in v) d[$1] = $2 - v[$1]; else v[$1] = $2}
        END {for (k in d) {s += d[k]; if (d[k] > m) m = d[k]}; printf "%d", (s > 0 ? 100 * m / s : 0)}'
}
# the scheduling policy of each server thread (0 normal, 3 batch) and nice
policies() {
    for t in /proc/$1/task/*; do
        printf '%s:%s/%s ' "$(cat "$t/comm")" "$(awk '/^policy/ {print $3}' "$t/sched")" \
            "$(awk '{print $19}' "$t/stat")"
    done
}
# wake the threads up once, so the policies are set
curl -sf -H "Authorization: Bearer $tok_A" "http://127.0.0.1:$port_A/v1/resolve/svc7?from=frankfurt" >/dev/null
curl -sf -H "Authorization: Bearer $tok_B" "http://127.0.0.1:$port_B/v1/resolve/svc7?from=frankfurt" >/dev/null
echo "A = $binA ${SERVE_ARGS_A:-}: threads (comm:policy/nice) $(policies "$pidA")"
echo "B = $binB ${SERVE_ARGS_B:-}: threads (comm:policy/nice) $(policies "$pidB")"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round wrk_t target bin req/s p50_ms p90_ms p99_ms p99.9_ms non2xx cpu_ms_per_1000 bg_cpu_ms_per_1000 load1 top_worker_pct"
r=1
while [ "$r" -le "$rounds" ]; do
    order="A B"
    [ $((r % 2)) = 0 ] && order="B A"
    for wt in 2 1; do
        for target in ${TARGETS:-resolve healthz}; do
            for b in $order; do
                eval "p=\$port_$b; k=\$tok_$b; pid=\$pid$b"
                t0=$(ticks "$pid"); b0=$(bg_ticks "$pid")
                w0=$(worker_ticks "$pid")
                if [ $target = resolve ]; then
                    s=$(wrk -t$wt -c8 -d${dur}s -s "$tmp/pct.lua" -H "Authorization: Bearer $k" \
                        "http://127.0.0.1:$p/v1/resolve/svc7?from=frankfurt" | summary)
                elif [ $target = names ]; then
                    s=$(wrk -t$wt -c8 -d${dur}s -s "$tmp/names.lua" -H "Authorization: Bearer $k" \
                        "http://127.0.0.1:$p/" | summary)
                else
                    s=$(wrk -t$wt -c8 -d${dur}s -s "$tmp/pct.lua" "http://127.0.0.1:$p/v1/healthz" | summary)
                fi
                t1=$(ticks "$pid"); b1=$(bg_ticks "$pid")
                w1=$(worker_ticks "$pid")
                echo "$r $wt $target $b $(echo "$s" | awk -v t0="$t0" -v t1="$t1" -v b0="$b0" -v b1="$b1" -v hz="$hz" -v d="$dur" \
                    '{n = $1 * d; printf "%s %s %s %s %s %s %.1f %.1f", $1, $2, $3, $4, $5, $6, (n > 0 ? (t1 - t0) * 1000 / hz / n * 1000 : 0), (n > 0 ? (b1 - b0) * 1000 / hz / n * 1000 : 0)}') $(cut -d' ' -f1 /proc/loadavg) $(top_worker "$w0" "$w1")"
            done
        done
    done
    r=$((r+1))
done
# SCHED_TRACE=1: then, ROUNDS times, one more resolve run (wrk -t2 -c8)
# against each, with the scheduler's switches recorded for 3 s of it
# (perf, system-wide: root) and bench/serve_sched.py's account of the
# waits for a CPU of wrk's threads and of the server's request threads
# (the other server is idle meanwhile, so its threads add no waits). On a
# loaded machine wrk's percentiles are the other sessions'; the request
# threads' own waits are what a scheduling option changes.
if [ "${SCHED_TRACE:-0}" = 1 ] && can_trace; then
    r=1
    while [ "$r" -le "$rounds" ]; do
        order="A B"
        [ $((r % 2)) = 0 ] && order="B A"
        for b in $order; do
            eval "p=\$port_$b; k=\$tok_$b"
            sched_trace "$p" "$k" 2 "$dur"
            echo "trace $r $b (load $(cut -d' ' -f1 /proc/loadavg)): wrk $(cat "$tmp/sched.sum")"
            cat "$tmp/sched.txt"
        done
        r=$((r+1))
    done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in A B; do
    eval "pid=\$pid$b"
    echo "$b RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
done
