#!/bin/sh
# bench/plan_apply.sh - `fedbroker apply --plan` of one Federation whose plan
# spans two providers: F Lambda functions (image functions, aws:us-east-1) and
# C Containers (Deployment + Service + HPA on Kubernetes), against
# bench/aws_fastfake and bench/k8s_fastfake with a fixed latency per request;
# wall time against the ideal R x latency / P (R = the requests both servers
# counted; the workloads are independent). The plan is made first (`plan
# --out`, not timed). Issue 11's "apply from a plan that spans two providers";
# numbers: bench/README-aws.md.
#
#   bench/plan_apply.sh [-b BUILDDIR] [-f FUNCTIONS] [-c CONTAINERS] [-l LATENCY_MS]
#                       [-p P] [-r RUNS] [-s SERVERBUILD] [-w CMD]
#
#   -r RUNS    runs (one row each, then the median and worst ratio and CPU per request)
#              Each row splits the wall time (the timeline, from the servers' first
#              request read and last answer sent, both servers together): pre ms
#              (apply start to the first request), fan-out ms (to the last answer),
#              post ms (to the apply's exit); the summary gives their medians.
#   -w 'CMD'   run the apply under CMD, e.g. -w 'valgrind --tool=callgrind
#              --callgrind-out-file=/tmp/cg.out' (instructions per request)
#   -s DIR     the build whose bench/aws_fastfake and bench/k8s_fastfake to run
#              (default: BUILDDIR's, else this tree's build/; they are check
#              programs, so a build that ran no `make check` has none)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/bench_lib.sh"
build=$top/build nf=750 nc=250 lat=20 par=64 runs=1 wrap= srv=
while getopts b:f:c:l:p:r:s:w: o; do
    case $o in
    b) build=$OPTARG ;; f) nf=$OPTARG ;; c) nc=$OPTARG ;; l) lat=$OPTARG ;; p) par=$OPTARG ;;
    r) runs=$OPTARG ;; s) srv=$OPTARG ;; w) wrap=$OPTARG ;;
    *) sed -n '2,20p' "$0"; exit 64 ;;
    esac
done
if [ -z "$srv" ]; then
    srv=$build; [ -x "$srv/bench/aws_fastfake" ] || srv=$top/build
fi
for f in aws_fastfake k8s_fastfake; do
    [ -x "$srv/bench/$f" ] || { echo "no $srv/bench/$f: make bench/$f in that build (or -s DIR)"; exit 1; }
done
tmp=$(mktemp -d); chmod 755 "$tmp"
sa= sk=
cleanup() {
    exec 3>&- 4>&- 2>/dev/null || true
    [ -n "$sa" ] && kill "$sa" 2>/dev/null; [ -n "$sk" ] && kill "$sk" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

python3 - "$tmp/fed.yaml" "$nf" "$nc" <<'PYEOF'
import sys
out, nf, nc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(out, "w") as f:
    f.write("apiVersion: fedbroker.dev/v1\nkind: Federation\n"
            "metadata: {name: mix, tenant: bench}\nspec:\n  workloads:\n")
    for i in range(nf):
        f.write(f"    - apiVersion: fedbroker.dev/v1\n      kind: Function\n"
                f"      metadata: {{name: fn-{i:05d}}}\n      spec:\n"
                f"        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1\n"
                f"        resources: {{memory: 256Mi}}\n"
                f"        traffic: {{requestsPerMonth: 100000, meanDuration: 20ms, "
                f"sources: [{{location: new-york, weight: 1}}]}}\n"
                f"        placement: {{regions: [\"aws:us-east-1\"]}}\n")
    for i in range(nc):
        f.write(f"    - apiVersion: fedbroker.dev/v1\n      kind: Container\n"
                f"      metadata: {{name: app-{i:05d}}}\n      spec:\n"
                f"        image: ghcr.io/bench/app:1\n"
                f"        ports: [{{port: 8080, protocol: http, public: false}}]\n"
                f"        resources: {{cpu: 100m, memory: 64Mi}}\n"
                f"        scaling: {{minInstances: 1, maxInstances: 3}}\n"
                f"        placement: {{providers: [k8s]}}\n")
PYEOF

start_servers() { # latency_ms
    rm -f "$tmp/pa" "$tmp/pk" "$tmp/ina" "$tmp/ink"; mkfifo "$tmp/ina" "$tmp/ink"
    "$srv/bench/aws_fastfake" --port-file "$tmp/pa" --latency-ms "$1" < "$tmp/ina" > /dev/null &
    sa=$!
    "$srv/bench/k8s_fastfake" --port-file "$tmp/pk" --latency-ms "$1" < "$tmp/ink" > /dev/null &
    sk=$!
    exec 3>"$tmp/ina" 4>"$tmp/ink"
    i=0; while { [ ! -s "$tmp/pa" ] || [ ! -s "$tmp/pk" ]; } && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
    pa=$(cat "$tmp/pa") pk=$(cat "$tmp/pk")
    bench_kubeconfig "$pk" "$tmp/kubeconfig"
}
stop_servers() { exec 3>&- 4>&-; wait "$sa" "$sk" 2>/dev/null || true; sa= sk=; }

count() { # -> "functions deployments requests first_ns last_ns"
    { curl -s "http://127.0.0.1:$pa/__fake/count"; echo; curl -s "http://127.0.0.1:$pk/__fake/count"; } |
        python3 -c '
import json, sys
a, k = (json.loads(l) for l in sys.stdin.read().split("\n") if l.strip())
assert a["unsigned"] == 0 and k["unauthorized"] == 0 and k["refused"] == 0, (a, k)
first = min(t for t in (a["first_ns"], k["first_ns"]) if t)
print(a["functions"], k["deployments"], a["requests"] + k["requests"], first, max(a["last_ns"], k["last_ns"]))'
}

: > "$tmp/results"
run() {
    start_servers "$lat"
    home=$tmp/home-$(date +%s%N); mkdir -p "$home"
    printf '{"drivers": {"k8s": {"kubeconfig": "%s", "allowInsecure": true}, "aws": {"regions": ["us-east-1"], "endpoints": {"lambda": "http://127.0.0.1:%s"}, "lambda": {"role": "arn:aws:iam::123456789012:role/bench"}}}}\n' \
        "$tmp/kubeconfig" "$pa" > "$home/config.json"
    export FEDBROKER_HOME=$home FEDBROKER_DRIVER_PATH=$build/stage/drivers \
        AWS_ACCESS_KEY_ID=AKIDFAKEEXAMPLE00001 AWS_SECRET_ACCESS_KEY='fakeSecretKey/EXAMPLE+00001+fedbrokerTEST'
    "$build/fedbroker" plan "$tmp/fed.yaml" --no-baselines --out "$tmp/plan.json" > /dev/null 2> "$tmp/err" \
        || { echo "plan failed:"; tail -5 "$tmp/err"; exit 1; }
    t0=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$tmp/cpu" $wrap \
        "$build/fedbroker" apply --plan "$tmp/plan.json" --yes --parallelism "$par" > "$tmp/out" 2> "$tmp/err" \
        || { echo "apply failed:"; tail -5 "$tmp/err"; exit 1; }
    t1=$(date +%s%N)
    set -- $(count)
    stop_servers
    [ "$1" = "$nf" ] && [ "$2" = "$nc" ] || { echo "expected $nf functions and $nc Deployments, the servers have $1 and $2"; exit 1; }
    wall=$(( (t1 - t0) / 1000000 ))
    python3 - "$par" "$lat" "$3" "$wall" "$(cat "$tmp/cpu")" "$tmp/results" "$t0" "$t1" "$4" "$5" <<'PYEOF'
import sys
p, l, reqs, wall = (int(x) for x in sys.argv[1:5])
user, sys_ = (float(x) for x in sys.argv[5].split())
t0, t1, first, last = (int(x) for x in sys.argv[7:11])
pre, fan, post = (first - t0) / 1e6, (last - first) / 1e6, (t1 - last) / 1e6
ideal = reqs * l / p
ratio = f"{wall / ideal:.2f}" if ideal else "-"
cpu = user + sys_
print(f"| {p:>4} | {l:>3} | {reqs:>6} | {wall:>7} | {ideal:>7.0f} | {ratio:>5} | {cpu:>5.2f} | {cpu * 1000 / reqs:.3f} "
      f"| {pre:>4.0f} | {fan:>5.0f} | {post:>4.0f} |")
with open(sys.argv[6], "a") as f:
    f.write(f"{wall / ideal if ideal else 0:.3f} {cpu * 1000 / reqs:.4f} {pre:.1f} {fan:.1f} {post:.1f}\n")
PYEOF
}

echo "plan apply: $nf functions (aws) + $nc containers (k8s), latency ${lat}ms, P=$par, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "|    P |  ms | requests | wall ms | ideal ms | ratio | cpu s | cpu ms/req | pre ms | fan-out ms | post ms |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
r=0; while [ $r -lt "$runs" ]; do run; r=$((r + 1)); done
python3 - "$tmp/results" "$lat" <<'PYEOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ratios = sorted(float(r[0]) for r in rows)
cpus = sorted(float(r[1]) for r in rows)
ratio = (f"ratio to the ideal median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}; "
         if sys.argv[2] != "0" else "")
print(f"{len(rows)} runs, {ratio}fedbroker CPU (user+sys) per request median "
      f"{statistics.median(cpus):.3f} ms, worst {max(cpus):.3f} ms")
med = [statistics.median(float(r[i]) for r in rows) for i in (2, 3, 4)]
print(f"timeline medians: pre {med[0]:.0f} ms, fan-out {med[1]:.0f} ms, post {med[2]:.0f} ms")
PYEOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
