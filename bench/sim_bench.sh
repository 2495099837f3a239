#!/bin/sh
# sim_bench.sh - `fedbroker simulate` on a year at one-minute steps
# (525,600 steps; bench/gen_profile.py): the five strategies and the
# baseline optimiser, timed inside the command (FEDBROKER_SIM_STATS), the
# median and worst of RUNS, for two families of profile: diurnal, and
# diurnal with sudden bursts (4 a day). For each family the optimiser's
# baseline is also compared with a full sweep of --baseline (every value,
# the full profile): does the heuristic for long profiles find the sweep's
# optimum? A benchmark, not a test: run it by hand (bench/README-sim.md).
#
#   bench/sim_bench.sh [--runs N] [--no-sweep] BUILDDIR
#
# BUILDDIR holds fedbroker and stage/drivers. Everything runs under nice;
# the load average is printed: compare within one run.
set -eu
runs=5 sweep=1
while [ $# -gt 1 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --no-sweep) sweep=0; shift ;;
    *) echo "sim_bench.sh: unknown option $1" >&2; exit 64 ;;
    esac
done
[ $# = 1 ] || { echo "usage: sim_bench.sh [--runs N] [--no-sweep] BUILDDIR" >&2; exit 64; }
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/simbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export FEDBROKER_HOME="$tmp/home" FEDBROKER_DRIVER_PATH="$build/stage/drivers"
FB="nice -n 10 $build/fedbroker"
spec="$here/../examples/hybrid-diurnal.yaml"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/gen_profile.py" --days 365 --step-minutes 1 --output "$tmp/diurnal.csv"
python3 "$here/gen_profile.py" --days 365 --step-minutes 1 --bursts 4 --output "$tmp/bursty.csv"
for fam in diurnal bursty; do
    : > "$tmp/$fam.stats"
    i=0
    while [ $i -lt "$runs" ]; do
        FEDBROKER_SIM_STATS=1 $FB simulate "$spec" --profile "$tmp/$fam.csv" --no-steps \
            --format json > "$tmp/$fam.json" 2>> "$tmp/$fam.stats"
        i=$((i + 1))
    done
    python3 - "$fam" "$tmp/$fam.stats" "$tmp/$fam.json" <<'PY'
import json, re, statistics, sys
fam, stats, out = sys.argv[1:]
pat = r"strategies ([0-9.]+) ms \(([0-9.]+) ms CPU\); optimiser ([0-9.]+) ms \(([0-9.]+) ms CPU, (\d+) runs\)"
rows = [tuple(float(x) for x in re.search(pat, l).groups()) for l in open(stats) if l.startswith("simulate stats")]
s, sc, o, oc = ([r[k] for r in rows] for k in range(4))
print("%-8s five strategies: median %.0f ms, worst %.0f ms wall (CPU median %.0f, worst %.0f); "
      "optimiser: median %.0f ms, worst %.0f ms wall (CPU median %.0f, worst %.0f; %d simulations); %d runs"
      % (fam, statistics.median(s), max(s), statistics.median(sc), max(sc), statistics.median(o), max(o),
         statistics.median(oc), max(oc), rows[0][4], len(rows)))
for st in json.load(open(out))["strategies"]:
    print("         %-18s baseline %-4s USD/month %-12s p99 %-8s avail %.5f fn share %.4f"
          % (st["strategy"], st.get("baseline", "-"), st["monthlyCost"], st["p99Ms"], st["availability"], st["functionShare"]))
PY
    if [ "$sweep" = 1 ]; then
        for strat in hybrid hybrid-predictive; do
            python3 - "$build/fedbroker" "$spec" "$tmp/$fam.csv" "$strat" "$tmp/$fam.json" <<'PY'
import json, subprocess, sys
fb, spec, prof, strat, out = sys.argv[1:]
chosen = [s for s in json.load(open(out))["strategies"] if s["strategy"] == strat][0]
res = {}
b = 0
while True:
    r = subprocess.run(["nice", "-n", "10", fb, "simulate", spec, "--profile", prof, "--strategy", strat,
                        "--baseline", str(b), "--no-steps", "--format", "json"], capture_output=True, text=True)
    if r.returncode != 0:
        break  # past maxInstances
    res[b] = json.loads(r.stdout)["strategies"][0]
    b += 1
met = {k: float(v["monthlyCost"]) for k, v in res.items() if v["sloMet"]}
best = min(met, key=lambda k: (met[k], k)) if met else None
print("         sweep %-18s %d baselines: minimum %s at %s; optimiser chose %d at %s: %s"
      % (strat, len(res), met.get(best), best, chosen["baseline"], chosen["monthlyCost"],
         "same" if best == chosen["baseline"] else "DIFFERENT"))
PY
        done
    fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
