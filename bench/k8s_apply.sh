#!/bin/sh
# bench/k8s_apply.sh - `fedbroker apply --parallelism P` of N Containers
# (Deployment + Service + HorizontalPodAutoscaler each, plus a ServiceAccount
# and the tenant's namespace objects) through the k8s driver against a
# stand-in API server with a fixed latency per request; wall time against the
# ideal R x latency / P (R = the requests the server counted). Numbers:
# bench/README-k8s.md.
#
#   bench/k8s_apply.sh [-b BUILDDIR] [-n WORKLOADS] [-l LATENCY_MS] [-p P1,P2,...] [-r RUNS] [-w CMD] [-t DIR] [-s] [-c CAP] [-q]
#
#   bench/k8s_fastfake (C, libmicrohttpd, thread per connection, plain HTTP:
#   the kubeconfig's server is http:// and drivers.k8s.allowInsecure is set)
#   answers server-side apply, GET and DELETE after the latency, and checks
#   the bearer token, fieldManager=fedbroker and the content type.
#   -r RUNS    runs per parallelism (one row each, then the median and the worst
#              of the ratio and of fedbroker's CPU per request, user + sys)
#   -w 'CMD'   run fedbroker under CMD, e.g. -w 'valgrind --tool=callgrind
#              --callgrind-out-file=/tmp/cg.out' (instructions per request,
#              which the machine's load does not change; CPU then is CMD's)
#   Each row also splits the wall time: pre ms (start to the first request the
#   server read), fan-out ms (to the server's last answer), post ms (to the
#   exit), and the requests outstanding in the fan-out (mean, most; P at best).
#   -t DIR     keep each run's request log (k8s_fastfake --log) as DIR/run-N.log,
#              and the apply's start and end (ns) as DIR/run-N.times
#              (bench/k8s_timeline.py DIR/run-*.log: where the fan-out's time goes)
#   -c CAP     at most CAP requests to the cluster at once, whatever P (the host's
#              http.services.kubernetes.concurrency): with P above CAP, lanes queue
#              requests that the host sends as soon as a slot frees; the ideal is
#              then R x latency / min(P, CAP)
#   K8S_FASTFAKE=PATH  the stand-in server to use (default BUILDDIR/bench/k8s_fastfake;
#              for a build without the test programs, e.g. an A/B's A side)
#   SHIELD=1   (root) run in a session of its own whose autogroup has nice -20, so
#              other sessions' load mostly stays off the run (bench_lib.sh)
#   -q         the tenant has a ResourceQuota and a LimitRange (drivers.k8s settings):
#              two more requests, and the start waits for them
#   -s         create the state store before the timed apply (`fedbroker plans`),
#              as on a machine that has run fedbroker before; by default each
#              run's apply creates a fresh store (schema, six fdatasyncs) first
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/bench_lib.sh"
bench_shield "$0" "$@"
build=$top/build n=300 lat=5 pars=32 runs=5 wrap= logs= prestore= cap= quota=
while getopts b:n:l:p:r:w:t:sc:q o; do
    case $o in
    b) build=$OPTARG ;; n) n=$OPTARG ;; l) lat=$OPTARG ;; p) pars=$OPTARG ;; r) runs=$OPTARG ;; w) wrap=$OPTARG ;; t) logs=$OPTARG ;; s) prestore=1 ;; c) cap=$OPTARG ;; q) quota=1 ;;
    *) sed -n '2,38p' "$0"; exit 64 ;;
    esac
done
tmp=$(mktemp -d); chmod 755 "$tmp"
srv=
cleanup() { exec 3>&- 2>/dev/null || true; [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

python3 - "$tmp" "$n" <<'PYEOF'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
with open(f"{tmp}/apps.yaml", "w") as f:
    for i in range(n):
        f.write(f"---\napiVersion: fedbroker.dev/v1\nkind: Container\n"
                f"metadata: {{name: app-{i:05d}, tenant: bench}}\nspec:\n"
                f"  image: ghcr.io/bench/app:1\n"
                f"  ports: [{{port: 8080, protocol: http, public: false}}]\n"
                f"  resources: {{cpu: 100m, memory: 64Mi}}\n"
                f"  scaling: {{minInstances: 1, maxInstances: 3}}\n")
PYEOF

start_server() { # latency_ms
    rm -f "$tmp/port" "$tmp/in"; mkfifo "$tmp/in"
    runs_done=$((runs_done + 1))
    "${K8S_FASTFAKE:-$build/bench/k8s_fastfake}" --port-file "$tmp/port" --latency-ms "$1" \
        ${logs:+--log "$logs/run-$runs_done.log"} < "$tmp/in" > /dev/null &
    srv=$!
    exec 3>"$tmp/in"
    i=0; while [ ! -s "$tmp/port" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
    port=$(cat "$tmp/port")
    bench_kubeconfig "$port" "$tmp/kubeconfig"
}
stop_server() { exec 3>&-; wait "$srv" 2>/dev/null || true; srv=; }

count() { # -> "deployments requests first_ns last_ns busy_ns inflight_max"
    curl -s "http://127.0.0.1:$port/__fake/count" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["unauthorized"] == 0 and s["refused"] == 0, s
print(s["deployments"], s["requests"], s["first_ns"], s["last_ns"], s["busy_ns"], s["inflight_max"])'
}

[ -z "$logs" ] || mkdir -p "$logs"
runs_done=0
results=$tmp/results
: > "$results"
run() { # parallelism latency
    p=$1 l=$2
    start_server "$l"
    home=$tmp/home-$p-$l-$$-$(date +%s%N); mkdir -p "$home"
    # -c: the host holds at most $cap requests to the cluster at once
    # (http.services.kubernetes.concurrency), whatever the lanes
    http=
    [ -z "$cap" ] || http='"http": {"services": {"kubernetes": {"concurrency": '$cap'}}}, '
    k8s=
    [ -z "$quota" ] || k8s='"resourceQuota": {"pods": "2000"}, "limitRange": {"default": {"cpu": "500m"}}, '
    printf '{%s"drivers": {"k8s": {%s"kubeconfig": "%s", "allowInsecure": true}}}\n' "$http" "$k8s" "$tmp/kubeconfig" \
        > "$home/config.json"
    bound=$p; [ -z "$cap" ] || [ "$cap" -ge "$p" ] || bound=$cap
    [ -z "$prestore" ] || FEDBROKER_HOME=$home "$build/fedbroker" plans > /dev/null \
        || { echo "fedbroker plans (creating the store) failed"; exit 1; }
    t0=$(date +%s%N)
    FEDBROKER_HOME=$home FEDBROKER_DRIVER_PATH=$build/stage/drivers \
        /usr/bin/time -f "%U %S" -o "$tmp/cpu" $wrap \
        "$build/fedbroker" apply --parallelism "$p" --target k8s "$tmp/apps.yaml" > "$tmp/out" 2> "$tmp/err" \
        || { echo "apply failed:"; tail -5 "$tmp/err"; exit 1; }
    t1=$(date +%s%N)
    [ -z "$logs" ] || echo "$t0 $t1" > "$logs/run-$runs_done.times"
    set -- $(count)
    stop_server
    # the ideal R x latency / P (with -c below P: / the cap) holds only
    # while at most that many requests are outstanding at once: a run that
    # held more is refused, not reported
    [ "$6" -le "$bound" ] || { echo "the server held $6 requests at once, more than $bound"; exit 1; }
    applied=$(grep -c '^applied' "$tmp/out" || true)
    [ "$1" = "$n" ] && [ "$applied" = "$n" ] || { echo "expected $n Deployments, the server has $1, $applied applied"; exit 1; }
    wall=$(( (t1 - t0) / 1000000 ))
    python3 - "$p" "$l" "$n" "$2" "$wall" "$(cat "$tmp/cpu")" "$results" "$t0" "$t1" "$3" "$4" "$5" "$6" "$bound" <<'PYEOF'
import sys
p, l, n, reqs, wall = (int(x) for x in sys.argv[1:6])
user, sys_ = (float(x) for x in sys.argv[6].split())
results = sys.argv[7]
t0, t1, first, last, busy, inflight_max, bound = (int(x) for x in sys.argv[8:15])
# where the wall time went: before the first request reached the server,
# the fan-out (first request to last answer) and after the last answer;
# occ = the mean requests outstanding during the fan-out (P at best)
pre, fan, post = (first - t0) / 1e6, (last - first) / 1e6, (t1 - last) / 1e6
occ = busy / (last - first) if last > first else 0
per = reqs / n
# at most bound = min(P, -c) requests outstanding at once
ideal = reqs * l / bound
ratio = wall / ideal if ideal else 0
rps = reqs / (wall / 1000) if wall else 0
cpu = user + sys_
print(f"| {p:>4} | {l:>3} | {n:>5} | {per:.2f} | {wall:>7} | {ideal:>7.0f} | {ratio:>5.2f} | {rps:>7.0f} | {cpu:>5.2f} | {cpu * 1000 / reqs:.3f} "
      f"| {pre:>4.0f} | {fan:>4.0f} | {post:>4.0f} | {occ:>5.1f} | {inflight_max:>3} |")
with open(results, "a") as f:
    f.write(f"{p} {ratio:.3f} {wall} {cpu * 1000 / reqs:.4f}\n")
PYEOF
}

echo "k8s_fastfake workloads=$n latency=${lat}ms, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)${prestore:+, store created before the timed apply (-s)}${cap:+, at most $cap requests to the cluster at once (-c)}${quota:+, a ResourceQuota and a LimitRange (-q)}"
echo "|    P |  ms | workloads | req/workload | wall ms | ideal ms | ratio |   req/s | cpu s | cpu ms/req | pre ms | fan-out ms | post ms | mean out | max out |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in $(echo "$pars" | tr ',' ' '); do
    r=0; while [ $r -lt "$runs" ]; do run "$p" "$lat"; r=$((r + 1)); done
done
python3 - "$results" <<'PYEOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for p in sorted({r[0] for r in rows}, key=int):
    ratios = sorted(float(r[1]) for r in rows if r[0] == p)
    cpus = sorted(float(r[3]) for r in rows if r[0] == p)
    print(f"P = {p}: {len(ratios)} runs, ratio to the ideal median {statistics.median(ratios):.2f}, "
          f"worst {max(ratios):.2f}, best {min(ratios):.2f}; fedbroker CPU (user+sys) per request "
          f"median {statistics.median(cpus):.3f} ms, worst {max(cpus):.3f} ms")
PYEOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
