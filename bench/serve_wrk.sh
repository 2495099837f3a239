# bench/serve_wrk.sh - sourced by serve_bench.sh and serve_ab.sh: wrk's
# percentiles. Needs $tmp. Writes $tmp/pct.lua (a wrk script printing p50,
# p90, p99 and p99.9 in microseconds from wrk's own histogram) and defines
# summary: wrk output -> "req/s p50 p90 p99 p99.9 non2xx" (ms); can_trace and
# sched_trace: a scheduler trace of one resolve run (serve_sched.py).
cat > "$tmp/pct.lua" <<'LUA'
done = function(summary, latency, requests)
    io.write(string.format("PCT %d %d %d %d\n", latency:percentile(50), latency:percentile(90),
                           latency:percentile(99), latency:percentile(99.9)))
end
LUA
summary() {
    awk '/Requests\/sec/ {rps=$2}
         $1=="PCT" {p50=$2/1000; p90=$3/1000; p99=$4/1000; p999=$5/1000}
         / Non-2xx/ {bad=$NF}
         END {printf "%s %.3f %.3f %.3f %.3f %s\n", rps, p50, p90, p99, p999, bad==""?0:bad}'
}
# can_trace: whether perf may record the scheduler system-wide (root or
# perf_event_paranoid <= -1)
can_trace() {
    command -v perf >/dev/null 2>&1 &&
        perf record -q -e sched:sched_switch -a -o "$tmp/probe.data" -- true >/dev/null 2>&1
}
# sched_trace PORT TOKEN WRK_THREADS DURATION: wrk -c8 on resolve for
# DURATION seconds (5 at least), the scheduler's switches and wake-ups
# recorded for 3 s of it; wrk's summary line in $tmp/sched.sum, and
# bench/serve_sched.py's account of the waits for a CPU in $tmp/sched.txt
sched_trace() {
    wrk -t"$3" -c8 -d$(($4 > 5 ? $4 : 5))s -s "$tmp/pct.lua" -H "Authorization: Bearer $2" \
        "http://127.0.0.1:$1/v1/resolve/svc7?from=frankfurt" >"$tmp/sched.wrk" &
    wp=$!
    sleep 1
    perf record -q -e sched:sched_switch -e sched:sched_waking -a -o "$tmp/sched.data" -- sleep 3 >/dev/null 2>&1 || true
    wait $wp
    summary <"$tmp/sched.wrk" >"$tmp/sched.sum"
    perf script -i "$tmp/sched.data" 2>/dev/null | python3 "$top/bench/serve_sched.py" | sed 's/^/    /' >"$tmp/sched.txt"
}
