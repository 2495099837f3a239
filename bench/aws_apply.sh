#!/bin/sh
# bench/aws_apply.sh - `fedbroker apply --parallelism P` of N Lambda
# functions against a fake AWS endpoint with a fixed latency per request;
# wall time against the ideal N x R x latency / P (R = requests per
# function, counted by the server). Numbers: bench/README-aws.md.
#
#   bench/aws_apply.sh [-b BUILDDIR] [-n FUNCTIONS] [-l LATENCY_MS] [-p P1,P2,...]
#                      [-f fast|strict] [-c] [-r RUNS] [-w CMD]
#
#   -f fast    bench/aws_fastfake (C, libmicrohttpd, thread per connection):
#              answers GetFunction/CreateFunction only, checks little (default)
#   -f strict  tests/fakes/fake_aws.py: botocore checks every signature and body
#   -c         also measure the server's own ceiling: the same apply with
#              latency 0 (requests per second the server and fedbroker manage)
#   -r RUNS    runs per parallelism and latency (default 1); then per group
#              the median and worst ratio and fedbroker's CPU (user + sys)
#              per request, the number issue 11 sets at <= 0.15 ms
#   -w 'CMD'   run fedbroker under CMD, e.g. -w 'valgrind --tool=callgrind
#              --callgrind-out-file=/tmp/cg.out' (instructions per request,
#              which the machine's load does not change; CPU then is CMD's)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build n=1000 lat=20 pars=10,64 fake=fast ceiling=0 runs=1 wrap=
while getopts b:n:l:p:f:cr:w: o; do
    case $o in
    b) build=$OPTARG ;; n) n=$OPTARG ;; l) lat=$OPTARG ;; p) pars=$OPTARG ;;
    f) fake=$OPTARG ;; c) ceiling=1 ;; r) runs=$OPTARG ;; w) wrap=$OPTARG ;;
    *) sed -n '2,22p' "$0"; exit 64 ;;
    esac
done
tmp=$(mktemp -d); chmod 755 "$tmp"
srv=
cleanup() { exec 3>&- 2>/dev/null || true; [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

# N image functions (no code to zip), 1000 documents per file at most.
python3 - "$tmp" "$n" <<'EOF'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
for part in range(0, n, 1000):
    with open(f"{tmp}/fns-{part // 1000:03d}.yaml", "w") as f:
        for i in range(part, min(n, part + 1000)):
            f.write(f"---\napiVersion: fedbroker.dev/v1\nkind: Function\n"
                    f"metadata: {{name: fn-{i:05d}, tenant: bench}}\nspec:\n"
                    f"  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1\n"
                    f"  resources: {{memory: 256Mi}}\n")
EOF

start_server() { # latency_ms
    rm -f "$tmp/port" "$tmp/in"; mkfifo "$tmp/in"
    if [ "$fake" = strict ]; then
        python3 "$top/tests/fakes/fake_aws.py" --port-file "$tmp/port" --latency-ms "$1" \
            --exit-on-stdin-eof < "$tmp/in" > /dev/null &
    else
        "$build/bench/aws_fastfake" --port-file "$tmp/port" --latency-ms "$1" < "$tmp/in" > /dev/null &
    fi
    srv=$!
    exec 3>"$tmp/in"
    i=0; while [ ! -s "$tmp/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    port=$(cat "$tmp/port")
}
stop_server() { exec 3>&-; wait "$srv" 2>/dev/null || true; srv=; }

count() { # -> "functions requests"
    if [ "$fake" = strict ]; then
        curl -s "http://127.0.0.1:$port/__fake/state" | python3 -c \
            'import json,sys; s=json.load(sys.stdin); print(len(s["lambda"]))'
        curl -s "http://127.0.0.1:$port/__fake/log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
    else
        curl -s "http://127.0.0.1:$port/__fake/count" | python3 -c \
            'import json,sys; s=json.load(sys.stdin); print(s["functions"]); print(s["requests"])'
    fi | tr '\n' ' '
}

run() { # parallelism latency -> prints a table row
    p=$1 l=$2
    start_server "$l"
    home=$tmp/home-$p-$l; mkdir -p "$home"
    printf '{"drivers": {"aws": {"regions": ["us-east-1"], "endpoints": {"lambda": "http://127.0.0.1:%s"}, "lambda": {"role": "arn:aws:iam::123456789012:role/bench"}}}}\n' "$port" > "$home/config.json"
    t0=$(date +%s%N)
    FEDBROKER_HOME=$home FEDBROKER_DRIVER_PATH=$build/stage/drivers \
    AWS_ACCESS_KEY_ID=AKIDFAKEEXAMPLE00001 AWS_SECRET_ACCESS_KEY='fakeSecretKey/EXAMPLE+00001+fedbrokerTEST' \
        /usr/bin/time -f "%U %S" -o "$tmp/cpu" $wrap \
        "$build/fedbroker" apply --parallelism "$p" --target aws:us-east-1 "$tmp"/fns-*.yaml > "$tmp/out" 2> "$tmp/err" \
        || { echo "apply failed:"; tail -5 "$tmp/err"; exit 1; }
    t1=$(date +%s%N)
    set -- $(count)
    stop_server
    applied=$(grep -c '^applied' "$tmp/out" || true)
    [ "$1" = "$n" ] && [ "$applied" = "$n" ] || { echo "expected $n functions, the server has $1, $applied applied"; exit 1; }
    wall=$(( (t1 - t0) / 1000000 ))
    python3 - "$p" "$l" "$n" "$2" "$wall" "$(cat "$tmp/cpu")" "$tmp/results" <<'EOF'
import sys
p, l, n, reqs, wall = (int(x) for x in sys.argv[1:6])
user, sys_ = (float(x) for x in sys.argv[6].split())
per = reqs / n
ideal = n * per * l / p
ratio = f"{wall / ideal:.2f}" if ideal else "-"
rps = reqs / (wall / 1000) if wall else 0
cpu = user + sys_
print(f"| {p:>4} | {l:>3} | {n:>5} | {per:.1f} | {wall:>7} | {ideal:>7.0f} | {ratio:>5} | {rps:>7.0f} | {cpu:>5.2f} | {cpu * 1000 / reqs:.3f} |")
with open(sys.argv[7], "a") as f:
    f.write(f"{p} {l} {wall / ideal if ideal else 0:.3f} {cpu * 1000 / reqs:.4f}\n")
EOF
}

echo "fake=$fake functions=$n latency=${lat}ms, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "|    P |  ms | funcs | req/fn | wall ms | ideal ms | ratio |   req/s | cpu s | cpu ms/req |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
: > "$tmp/results"
many() { r=0; while [ $r -lt "$runs" ]; do run "$1" "$2"; r=$((r + 1)); done; }
for p in $(echo "$pars" | tr ',' ' '); do many "$p" "$lat"; done
if [ "$ceiling" = 1 ]; then
    for p in $(echo "$pars" | tr ',' ' '); do many "$p" 0; done
fi
python3 - "$tmp/results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for key in dict.fromkeys((r[0], r[1]) for r in rows):
    sel = [r for r in rows if (r[0], r[1]) == key]
    ratios = sorted(float(r[2]) for r in sel)
    cpus = sorted(float(r[3]) for r in sel)
    ratio = (f"ratio to the ideal median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}; "
             if key[1] != "0" else "")
    print(f"P = {key[0]}, {key[1]} ms: {len(sel)} runs, {ratio}fedbroker CPU (user+sys) per "
          f"request median {statistics.median(cpus):.3f} ms, worst {max(cpus):.3f} ms")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
