#!/bin/sh
# plan_mem.sh - where `fedbroker plan`'s memory stands: for each generated
# federation, the peak RSS (/usr/bin/time -v, the whole process: binary,
# shared libraries, drivers, heap) and the peak heap (valgrind massif,
# malloc'd bytes only, FEDBROKER_PLAN_THREADS=1), each over the YAML bytes
# of the federation, and what the heap grows by per workload beyond the
# floor (the plan of one workload of that shape). RSS and heap do not
# depend on the machine's load (wall times would; none are printed). A
# benchmark, not a test: run it by hand (bench/README-plan.md, "Memory").
#
#   bench/plan_mem.sh [--sizes "1 1000"] [--shapes "identical distinct mixed"]
#                     [--seed S] [--no-massif] [--old DIR] BUILDDIR
#
# BUILDDIR holds fedbroker and stage/drivers; --old DIR an older fedbroker
# and DIR/drivers/*.so, measured the same way, its plan documents compared
# with the new build's byte for byte (but for solver.seconds).
set -eu
sizes="1 1000" shapes="identical distinct mixed" seed=1 massif=1 old=""
while [ $# -gt 1 ]; do
    case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-massif) massif=0; shift ;;
    --old) old=$2; shift 2 ;;
    *) echo "plan_mem.sh: unknown option $1" >&2; exit 64 ;;
    esac
done
[ $# = 1 ] || { echo "usage: plan_mem.sh [options] BUILDDIR" >&2; exit 64; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/plan_lib.sh"
plan_setup plan_mem.sh "$1" "$old"
py=${PYTHON:-/usr/bin/python3}
if [ $massif = 1 ] && ! command -v valgrind >/dev/null; then
    echo "plan_mem.sh: needs valgrind for the heap (or --no-massif)" >&2; exit 1
fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (RSS and heap do not depend on it)"
: > "$tmp/res"

# BIN DRIVERS SPEC TAG -> "rss_kb heap_bytes"
one() {
    FEDBROKER_DRIVER_PATH=$2 nice /usr/bin/time -f '%M' "$1" plan "$3" --no-save \
        --format json >"$tmp/plan.$4.json" 2>"$tmp/err" || true
    rss=$(tail -1 "$tmp/err")
    heap=-1
    if [ $massif = 1 ]; then
        FEDBROKER_DRIVER_PATH=$2 FEDBROKER_PLAN_THREADS=1 nice valgrind --tool=massif \
            --massif-out-file="$tmp/massif" "$1" plan "$3" --no-save --format json \
            >/dev/null 2>"$tmp/verr" || true
        heap=$("$py" -c '
import sys
best = 0
for l in open(sys.argv[1]):
    if l.startswith("mem_heap_B="): best = max(best, int(l.split("=")[1]))
print(best)' "$tmp/massif")
    fi
    echo "$rss $heap"
}

for shape in $shapes; do
    for n in $sizes; do
        spec="$tmp/$shape-$n.yaml"
        "$py" "$here/gen_plan_fed.py" --shape "$shape" -n "$n" --seed "$seed" -o "$spec"
        bytes=$(cat "$tmp/$shape-$n"*.yaml | wc -c)
        for which in old new; do
            [ $which = old ] && [ -z "$old" ] && continue
            bin="$build/fedbroker" drv="$tmp/new"
            [ $which = old ] && bin="$old/fedbroker" drv="$tmp/old"
            echo "$shape $n $which $bytes $(one "$bin" "$drv" "$spec" "$which")" >> "$tmp/res"
        done
        if [ -n "$old" ]; then
            "$py" - "$tmp/plan.old.json" "$tmp/plan.new.json" "$shape $n" <<'PY' >> "$tmp/same"
import json, sys
try:
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as e:
    print(sys.argv[3], "no plan to compare:", e); sys.exit(0)
for p in (a, b):
    p.get("solver", {}).pop("seconds", None)
print(sys.argv[3], "identical documents" if a == b else "DIFFERENT documents")
PY
        fi
        rm -f "$tmp/$shape-$n"*.yaml
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$py" - "$tmp/res" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
floor = {}
for shape, n, which, b, rss, heap in rows:
    if int(n) == 1: floor[(shape, which)] = (int(rss), int(heap))
print("| shape | workloads | build | spec bytes | peak RSS MB | RSS / spec | peak heap MB | heap / spec | heap KB per workload above the 1-workload floor |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
for shape, n, which, b, rss, heap in rows:
    n, b, rss, heap = int(n), int(b), int(rss), int(heap)
    f = floor.get((shape, which))
    grow = "-" if (f is None or n == 1 or heap < 0) else "%.1f" % ((heap - f[1]) / 1024 / (n - 1))
    print("| %s | %d | %s | %d | %.1f | %.0fx | %s | %s | %s |" % (
        shape, n, which, b, rss / 1024, rss * 1024 / b,
        "-" if heap < 0 else "%.1f" % (heap / 1048576), "-" if heap < 0 else "%.0fx" % (heap / b), grow))
PY
[ -f "$tmp/same" ] && { echo; echo "old vs new plans:"; cat "$tmp/same"; }
exit 0
