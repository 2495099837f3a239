# bench/serve_wrk.sh - sourced by serve_bench.sh and serve_ab.sh: wrk's
# percentiles. Needs $tmp. Writes $tmp/pct.lua (a wrk script printing p50,
# p90, p99 and p99.9 in microseconds from wrk's own histogram) and defines
# summary: wrk output -> "req/s p50 p90 p99 p99.9 non2xx" (ms).
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
