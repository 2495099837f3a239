#!/bin/sh
# bench/gcp_apply.sh - `fedbroker apply --parallelism P` of N Cloud Run
# services against a stand-in for the Cloud Run Admin API v2 with a fixed
# latency per request, each create finishing after K operation polls; wall
# time against the ideal N x R x latency / P (R = requests per service,
# counted by the server). Numbers: bench/README-gcp.md.
#
#   bench/gcp_apply.sh [-b BUILDDIR] [-n SERVICES] [-l LATENCY_MS] [-p P1,P2,...]
#                      [-k POLLS] [-r RUNS] [-s SLEEP_SCALE] [-f fast|strict]
#
#   -f fast    bench/gcp_fastfake (C, libmicrohttpd, thread per connection):
#              answers the Run create path only, checks little (default)
#   -f strict  tests/fakes/fake_gcp.py: discovery documents, tokens, strict fields
#   -r RUNS    runs per parallelism (the table gets one row each, then the
#              median and the worst)
#   -s SCALE   FEDBROKER_SLEEP_SCALE for the operation polls' backoff (1 s,
#              x2, 60 s cap): 0 (default) measures the broker and the network,
#              1 waits as in production (the ideal then adds the backoff)
#
# The services are private Containers with no triggers (no IAM call); the
# access token comes from GOOGLE_OAUTH_ACCESS_TOKEN, so no token exchange.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build n=500 lat=20 pars=64 polls=3 runs=5 scale=0 fake=fast
while getopts b:n:l:p:k:r:s:f: o; do
    case $o in
    b) build=$OPTARG ;; n) n=$OPTARG ;; l) lat=$OPTARG ;; p) pars=$OPTARG ;; k) polls=$OPTARG ;;
    r) runs=$OPTARG ;; s) scale=$OPTARG ;; f) fake=$OPTARG ;; *) sed -n '2,20p' "$0"; exit 64 ;;
    esac
done
tmp=$(mktemp -d); chmod 755 "$tmp"
srv=
cleanup() { exec 3>&- 2>/dev/null || true; [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

python3 - "$tmp" "$n" <<'EOF'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
with open(f"{tmp}/svcs.yaml", "w") as f:
    for i in range(n):
        f.write(f"---\napiVersion: fedbroker.dev/v1\nkind: Container\n"
                f"metadata: {{name: svc-{i:05d}, tenant: bench}}\nspec:\n"
                f"  image: europe-docker.pkg.dev/bench/apps/app:1\n")
EOF

start_server() { # latency_ms
    rm -f "$tmp/port" "$tmp/in"; mkfifo "$tmp/in"
    if [ "$fake" = strict ]; then
        /usr/bin/python3 "$top/tests/fakes/fake_gcp.py" --port-file "$tmp/port" --latency-ms "$1" --op-polls "$polls" \
            --exit-on-stdin-eof < "$tmp/in" > /dev/null 2>&1 &
    else
        "$build/bench/gcp_fastfake" --port-file "$tmp/port" --latency-ms "$1" --op-polls "$polls" \
            < "$tmp/in" > /dev/null &
    fi
    srv=$!
    exec 3>"$tmp/in"
    i=0; while [ ! -s "$tmp/port" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
    port=$(cat "$tmp/port")
    if [ "$fake" = strict ]; then
        token=$(curl -s -X POST -d '{"principal": "user:bench@example.com"}' "http://127.0.0.1:$port/__fake/tokens" \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    else
        token=ya29.bench-fast-fake
    fi
}
stop_server() { exec 3>&-; wait "$srv" 2>/dev/null || true; srv=; }

count() { # -> "services requests"
    if [ "$fake" = strict ]; then
        curl -s "http://127.0.0.1:$port/__fake/log" | python3 -c '
import json, sys
log = json.load(sys.stdin)
names = {e["query"] for e in log if e.get("method_id", "").endswith("services.create") and e["status"] == 200}
print(len(names), len(log))'
    else
        curl -s "http://127.0.0.1:$port/__fake/count" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["unauthorized"] == 0 and s["refused"] == 0, s
print(s["services"], s["requests"])'
    fi
}

results=$tmp/results
: > "$results"
run() { # parallelism latency
    p=$1 l=$2
    start_server "$l"
    home=$tmp/home-$p-$l-$$-$(date +%s%N); mkdir -p "$home"
    printf '{"drivers": {"gcp": {"project": "fb-test-project", "regions": ["europe-west1"], "endpoints": {"run": "http://127.0.0.1:%s/run"}}}}\n' "$port" > "$home/config.json"
    t0=$(date +%s%N)
    FEDBROKER_HOME=$home FEDBROKER_DRIVER_PATH=$build/stage/drivers GOOGLE_OAUTH_ACCESS_TOKEN=$token \
    FEDBROKER_SLEEP_SCALE=$scale NO_GCE_CHECK=true \
        /usr/bin/time -f "%U %S" -o "$tmp/cpu" \
        "$build/fedbroker" apply --parallelism "$p" --target gcp:europe-west1 "$tmp/svcs.yaml" > "$tmp/out" 2> "$tmp/err" \
        || { echo "apply failed:"; tail -5 "$tmp/err"; exit 1; }
    t1=$(date +%s%N)
    set -- $(count)
    stop_server
    applied=$(grep -c '^applied' "$tmp/out" || true)
    [ "$1" = "$n" ] && [ "$applied" = "$n" ] || { echo "expected $n services, the server has $1, $applied applied"; exit 1; }
    wall=$(( (t1 - t0) / 1000000 ))
    python3 - "$p" "$l" "$n" "$2" "$wall" "$(cat "$tmp/cpu")" "$polls" "$scale" "$results" <<'EOF'
import sys
p, l, n, reqs, wall = (int(x) for x in sys.argv[1:6])
user, sys_ = (float(x) for x in sys.argv[6].split())
polls, scale, results = int(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
per = reqs / n
# the operation polls' backoff each lane sleeps per service (1 s, 2 s, 4 s, ...)
backoff = sum(min(1000 * 2 ** i, 60000) for i in range(polls)) * scale
lanes = -(-n // p)
ideal = lanes * (per * l + backoff) if backoff else n * per * l / p
ratio = wall / ideal if ideal else 0
rps = reqs / (wall / 1000) if wall else 0
print(f"| {p:>4} | {l:>3} | {n:>5} | {per:.1f} | {wall:>7} | {ideal:>7.0f} | {ratio:>5.2f} | {rps:>7.0f} | {user + sys_:>5.2f} |")
with open(results, "a") as f:
    f.write(f"{p} {ratio:.3f} {wall}\n")
EOF
}

echo "fake=$fake services=$n latency=${lat}ms polls=$polls sleep_scale=$scale, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "|    P |  ms | svcs | req/svc | wall ms | ideal ms | ratio |   req/s | cpu s |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in $(echo "$pars" | tr ',' ' '); do
    r=0; while [ $r -lt "$runs" ]; do run "$p" "$lat"; r=$((r + 1)); done
done
python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for p in sorted({r[0] for r in rows}, key=int):
    ratios = sorted(float(r[1]) for r in rows if r[0] == p)
    print(f"P = {p}: {len(ratios)} runs, ratio to the ideal median {statistics.median(ratios):.2f}, "
          f"worst {max(ratios):.2f}, best {min(ratios):.2f}")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
