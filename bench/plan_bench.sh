#!/bin/sh
# plan_bench.sh - `fedbroker plan` on generated federations of several
# shapes and sizes: wall time (median and worst of RUNS), CPU time, peak
# memory (/usr/bin/time -v), driver calls and where the time went
# (FEDBROKER_PLAN_STATS), and whether an older build (--old) gives the same
# plans. A benchmark, not a test: run it by hand (bench/README-plan.md).
#
#   bench/plan_bench.sh [--runs N] [--seeds "1 2 3"] [--sizes "100 1000"]
#                       [--shapes "identical distinct mixed"] [--old DIR] [--out FILE] BUILDDIR
#
# Each federation is generated once per seed (gen_plan_fed.py --seed) and
# planned RUNS times; the median and worst are over every seed and run.
# BUILDDIR holds fedbroker and stage/drivers; --old DIR holds an older
# fedbroker and drivers/*.so (copied from a build of that commit) that is
# run the same way. Everything runs under nice; say in the results that
# the machine was shared if it was (the load average is printed).
set -eu
runs=3 seeds=1 sizes="100 1000" shapes="identical distinct mixed" old="" out=""
while [ $# -gt 1 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    --old) old=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "plan_bench.sh: unknown option $1" >&2; exit 64 ;;
    esac
done
[ $# = 1 ] || { echo "usage: plan_bench.sh [options] BUILDDIR" >&2; exit 64; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/plan_lib.sh"
plan_setup plan_bench.sh "$1" "$old"
res="$tmp/results"
: > "$res"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

# one run: BIN DRIVERS SPEC TAG -> a line of results
one() {
    FEDBROKER_DRIVER_PATH=$2 FEDBROKER_PLAN_STATS=1 nice /usr/bin/time -v \
        "$1" plan "$3" --no-save --format json >"$tmp/plan.$4.json" 2>"$tmp/err" || true
    "${PYTHON:-/usr/bin/python3}" - "$tmp/err" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def get(pat, conv=float, default=0):
    m = re.search(pat, t)
    return conv(m.group(1)) if m else default
wall = t and re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t)
w = 0.0
if wall:
    for part in wall.group(1).split(":"):
        w = w * 60 + float(part)
print(w, get(r"User time \(seconds\): (\S+)"), get(r"System time \(seconds\): (\S+)"),
      get(r"Maximum resident set size \(kbytes\): (\d+)", int),
      get(r"driver calls: (\d+) validate", int, -1), get(r"(\d+) usage", int, -1),
      get(r"(\d+) evaluations", int, -1), get(r"([0-9.]+) ms evaluating", float, -1),
      get(r"([0-9.]+) ms solving", float, -1), get(r"([0-9.]+) ms in all", float, -1))
PY
}

for n in $sizes; do
    for shape in $shapes; do
      for seed in $seeds; do
        spec="$tmp/$shape-$n-s$seed.yaml"
        "${PYTHON:-/usr/bin/python3}" "$here/gen_plan_fed.py" --shape "$shape" -n "$n" --seed "$seed" -o "$spec"
        bytes=$(cat "$tmp/$shape-$n-s$seed"*.yaml | wc -c)
        r=1
        while [ $r -le "$runs" ]; do
            # old and new alternate, so both see the same load
            for which in old new; do
                [ $which = old ] && [ -z "$old" ] && continue
                bin="$build/fedbroker" drv="$tmp/new"
                [ $which = old ] && bin="$old/fedbroker" drv="$tmp/old"
                echo "$shape $n $which $bytes $(cut -d' ' -f1 /proc/loadavg) $(one "$bin" "$drv" "$spec" "$which")" >> "$res"
            done
            r=$((r + 1))
        done
        if [ -n "$old" ]; then
            # the same plan? (the last run of each; ties among more than 16
            # workloads and time-limited heuristic plans may differ, their
            # totals are compared)
            "${PYTHON:-/usr/bin/python3}" - "$tmp/plan.old.json" "$tmp/plan.new.json" "$shape" "$n seed $seed" <<'PY' >> "$tmp/same"
import json, sys
try:
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as e:
    print(sys.argv[3], sys.argv[4], "no plan to compare:", e); sys.exit(0)
def key(p):
    return (p.get("status"), p.get("total_monthly_cost"),
            [(x["name"], x.get("status"), x.get("total_monthly_cost")) for x in p.get("baselines", [])])
for p in (a, b):
    p.get("solver", {}).pop("seconds", None)
same = a == b
print(sys.argv[3], sys.argv[4], "identical documents" if same else
      ("same status, total and baselines" if key(a) == key(b) else "DIFFERENT: %s / %s" % (key(a), key(b))))
PY
        fi
        rm -f "$tmp/$shape-$n-s$seed"*.yaml
      done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"${PYTHON:-/usr/bin/python3}" - "$res" <<'PY' | tee "${out:-/dev/null}"
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    key = (f[0], int(f[1]), f[2])
    row = rows.setdefault(key, {"bytes": [], "load": [], "runs": []})
    row["bytes"].append(int(f[3]))
    row["load"].append(float(f[4]))
    row["runs"].append([float(x) for x in f[5:]])
print("| shape | workloads | spec bytes | build | runs | load avg | wall median s | wall worst s | CPU s median | CPU s worst | peak RSS MB (worst) | RSS / spec (worst) | validate | usage | evaluations | ms evaluating | ms solving |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (shape, n, which), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] != "old")):
    r = v["runs"]
    wall = [x[0] for x in r]
    cpu = [x[1] + x[2] for x in r]
    rss = max(x[3] for x in r) / 1024
    ratio = max(x[3] * 1024 / b for x, b in zip(r, v["bytes"]))
    last = r[-1]
    calls = lambda i: "-" if last[i] < 0 else "%d" % last[i]
    ms = lambda i: "-" if last[i] < 0 else "%.0f" % statistics.median(x[i] for x in r)
    print("| %s | %d | %d | %s | %d | %.1f-%.1f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0fx | %s | %s | %s | %s | %s |" % (
        shape, n, statistics.median(v["bytes"]), which, len(r), min(v["load"]), max(v["load"]),
        statistics.median(wall), max(wall), statistics.median(cpu), max(cpu), rss,
        ratio, calls(4), calls(5), calls(6), ms(7), ms(8)))
PY
[ -f "$tmp/same" ] && { echo; echo "old vs new plans:"; cat "$tmp/same"; } | tee -a "${out:-/dev/null}"
exit 0
