#!/bin/sh
# solver_bench.sh - the placement solver against glpsol and cbc on generated
# instances (bench/gen_placement.py), in the same run.
#
#   bench/solver_bench.sh [--quick] [--limit S] [--seed N] [--fedbroker PATH]
#   bench/solver_bench.sh --families [solver_families.py options, e.g. --seeds 10]
#
# --families runs bench/solver_families.py instead: every instance family
# of bench/gen_families.py over several seeds and sizes, with the gap
# distribution per family and size (see bench/README-solver.md).
#
# Writes the instances, the LP files and every solver's output to bench/out/
# (gitignored) so glpsol and cbc can be rerun on them, and prints a markdown
# table. --quick skips glpsol and cbc on the two large sizes (they find no
# solution there within 120 s). --limit is glpsol's and cbc's time limit
# (default 120 s). Needs python3, glpk-utils, coinor-cbc.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out="$here/out"
FB=${FEDBROKER:-}
limit=120
quick=0
seed=1
if [ "${1:-}" = --families ]; then
    shift
    if [ -z "$FB" ]; then
        for c in "$top/build/fedbroker" "$top/fedbroker"; do [ -x "$c" ] && FB=$c && break; done
    fi
    [ -n "$FB" ] && [ -x "$FB" ] || { echo "solver_bench: build fedbroker first (or FEDBROKER=PATH)" >&2; exit 1; }
    exec python3 "$here/solver_families.py" --fedbroker "$FB" "$@"
fi
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --limit) limit=$2; shift ;;
    --seed) seed=$2; shift ;;
    --fedbroker) FB=$2; shift ;;
    *) echo "usage: $0 [--quick] [--limit S] [--seed N] [--fedbroker PATH]" >&2; exit 64 ;;
    esac
    shift
done
if [ -z "$FB" ]; then
    for c in "$top/build/fedbroker" "$top/fedbroker"; do [ -x "$c" ] && FB=$c && break; done
fi
[ -n "$FB" ] && [ -x "$FB" ] || { echo "solver_bench: build fedbroker first (or --fedbroker PATH)" >&2; exit 1; }
mkdir -p "$out"

# size:links:our time limit (s)
sizes="30x60:30:0.95 50x100:50:0.95 100x200:100:0.95 1000x500:1000:1.9 10000x300:10000:9.5"

now() { python3 -c 'import time; print("%.3f" % time.monotonic())'; }

row() { printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }
{
echo "machine: $(nproc) cores ($(uname -m)), load before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
row "instance" "ours: s" "ours: total" "ours: bound" "ours: gap" "glpsol ($limit s)" "cbc ($limit s)" "best proven optimum" "ours vs optimum"
row "---" "---" "---" "---" "---" "---" "---" "---" "---"
} | tee "$out/results.md"

for spec in $sizes; do
    size=${spec%%:*}; rest=${spec#*:}; links=${rest%%:*}; tl=${rest#*:}
    inst="$out/p$size.json"; lp="$out/p$size.lp"
    python3 "$here/gen_placement.py" --size "$size" --links "$links" --seed "$seed" -o "$inst"
    "$FB" solve "$inst" --format json --time-limit "$tl" --export-lp "$lp" > "$out/ours$size.json" 2> "$out/ours$size.err" || true
    ours=$(python3 - "$out/ours$size.json" <<'EOF'
import json, sys
try:
    o = json.load(open(sys.argv[1]))
except Exception:
    print("error|-|-|-|-"); sys.exit()
print("%.3f|%s|%s|%.4f%%|%s" % (o["seconds"], o["total_monthly_cost"], o["lower_bound"],
                                  100 * (o["gap"] or 0), o["status"]))
EOF
)
    g="skipped"; cb="skipped"; gobj=""; cobj=""; gst=""; cst=""
    if [ $quick -eq 0 ] || [ "$size" = 30x60 ] || [ "$size" = 50x100 ] || [ "$size" = 100x200 ]; then
        t0=$(now)
        glpsol --lp "$lp" --tmlim "$limit" -w "$out/glpsol$size.sol" > "$out/glpsol$size.log" 2>&1 || true
        t1=$(now)
        line=$(grep '^s mip' "$out/glpsol$size.sol" 2>/dev/null || true)
        gst=$(echo "$line" | awk '{print $5}')
        gobj=$(echo "$line" | awk '{print $6}')
        gt=$(python3 -c "print('%.1f' % ($t1 - $t0))")
        case $gst in
        o) g="optimal $gobj in $gt s" ;;
        f) gap=$(grep -E '^\+ .*mip =' "$out/glpsol$size.log" | tail -1 | awk '{print $(NF-2)}'); g="feasible $gobj (stopped at $gt s, gap $gap)" ;;
        n) g="infeasible ($gt s)" ;;
        *) g="no solution in $gt s"; gobj="" ;;
        esac
        t0=$(now)
        (cd "$out" && cbc "p$size.lp" sec "$limit" solve solu "cbc$size.sol" > "cbc$size.log" 2>&1) || true
        t1=$(now)
        ct=$(python3 -c "print('%.1f' % ($t1 - $t0))")
        first=$(head -1 "$out/cbc$size.sol" 2>/dev/null || true)
        case $first in
        *"no integer solution"*)
            lpv=$(echo "$first" | awk '{print $NF}')
            bb=$(grep -E 'best possible' "$out/cbc$size.log" | tail -1 | sed 's/.*best possible *//; s/[ ),].*//')
            cb="no solution in $ct s (LP relaxation $lpv, best possible ${bb:-?})" ;;
        Optimal*) cobj=$(echo "$first" | awk '{print $NF}'); cst=o; cb="optimal $cobj in $ct s" ;;
        Stopped*objective*) cobj=$(echo "$first" | awk '{print $NF}'); cst=f
            bb=$(grep -E 'best possible' "$out/cbc$size.log" | tail -1 | sed 's/.*best possible *//; s/[ ),].*//')
            cb="feasible $cobj (stopped at $ct s; best possible ${bb:-?})" ;;
        Infeasible*) cb="infeasible ($ct s)" ;;
        *) cb="no solution in $ct s" ;;
        esac
    fi
    opt=""
    [ "$gst" = o ] && opt=$gobj
    [ "$cst" = o ] && opt=$cobj
    vs="-"
    total=$(echo "$ours" | cut -d'|' -f2)
    if [ -n "$opt" ] && [ "$total" != "-" ]; then
        vs=$(python3 -c "print('%+.4f%%' % (100 * (float('$total') - float('$opt')) / float('$opt')))")
    fi
    row "$size, $links links" "$(echo "$ours" | cut -d'|' -f1)" "$total ($(echo "$ours" | cut -d'|' -f5))" \
        "$(echo "$ours" | cut -d'|' -f3)" "$(echo "$ours" | cut -d'|' -f4)" "$g" "$cb" "${opt:--}" "$vs" \
        | tee -a "$out/results.md"
done
echo
echo "files: $out (instances p*.json, LP files p*.lp, solver outputs and logs)"
