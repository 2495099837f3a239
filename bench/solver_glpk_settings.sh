#!/bin/sh
# solver_glpk_settings.sh - CPU time glpsol needs to prove the family
# instances optimal under several branch and bound settings, to choose the
# settings of our own branch and bound (core/solver/solver_bound.c,
# mip_run). CPU (user) time, not wall time: the machine is shared.
#
#   bench/solver_glpk_settings.sh FEDBROKER SIZE SEEDS OUTDIR [TMLIM]
#   bench/solver_glpk_settings.sh build/fedbroker 50x100 10 /tmp/glpk-set 20
#
# Writes OUTDIR/FAMILY-sSEED.json (bench/gen_families.py, as many links
# as workloads) and its LP export, then per setting one line per instance
# (instance, 1 when glpsol proved it optimal within TMLIM seconds of wall
# time, its user CPU seconds) in OUTDIR/set-NAME.txt, and a summary per
# setting over the instances every setting has: proven, CPU total,
# median, 90th percentile, worst.
set -eu
fb=$1 size=$2 seeds=$3 out=$4 tmlim=${5:-20}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
nw=${size%x*}
for fam in chains cliques compute egress hubs spread; do
    s=1
    while [ "$s" -le "$seeds" ]; do
        f="$out/$fam-s$s"
        [ -f "$f.json" ] || python3 "$here/gen_families.py" --family "$fam" --size "$size" --links "$nw" \
            --seed "$s" -o "$f.json"
        [ -f "$f.lp" ] || "$fb" solve "$f.json" --time-limit 0.01 --export-lp "$f.lp" >/dev/null 2>&1 || true
        s=$((s + 1))
    done
done
# name: glpsol options. "before" is what solver_bound.c used until
# 2026-12-07 (branch solver5), "dth" what it uses since.
run() {
    name=$1
    shift
    : >"$out/set-$name.txt"
    for f in "$out"/*-s*.lp; do
        /usr/bin/time -f %U -o "$out/time.$name" glpsol --lp "$f" "$@" --tmlim "$tmlim" -o /dev/null \
            >"$out/log.$name" 2>&1 || true
        echo "$(basename "$f") $(grep -c 'INTEGER OPTIMAL' "$out/log.$name" || true) $(cat "$out/time.$name")" \
            >>"$out/set-$name.txt"
    done
}
run before --pcost --bestb --gomory --mir --cover
run pch-nogomory --pcost --bestb --mir --cover
run dth --drtom --bestb --mir --cover
run dth-gomory --drtom --bestb --gomory --mir --cover
run dth-cover --drtom --bestb --cover
run pch-bestp --pcost --bestp --mir --cover
run dth-bestp --drtom --bestp --mir --cover
run dth-clique --drtom --bestb --mir --cover --clique
python3 - "$out" <<'EOF'
import glob, os, sys
res = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "set-*.txt"))):
    d = {}
    for line in open(f):
        p = line.split()
        if len(p) == 3:
            d[p[0]] = (int(p[1]), float(p[2]))
    res[os.path.basename(f)[4:-4]] = d
common = sorted(set.intersection(*[set(d) for d in res.values()]))
print("| setting | proven | CPU s: total / median / p90 / worst |")
print("|---|---|---|")
for k, d in res.items():
    c = sorted(d[x][1] for x in common)
    print("| %s | %d of %d | %.1f / %.2f / %.2f / %.2f |" % (
        k, sum(d[x][0] for x in common), len(common), sum(c), c[len(c) // 2], c[int(len(c) * 0.9)], c[-1]))
EOF
