#!/bin/sh
# bench/apply_ab.sh - fedbroker's CPU (user and sys apart) for the same apply
# from two builds, run interleaved A B A B ... so that both see the same load:
# on a loaded machine the only CPU comparison worth making (bench/README-aws.md,
# bench/README-k8s.md, perf4 sections).
#
#   bench/apply_ab.sh -a BUILD_A -b BUILD_B [-k aws|k8s] [-n PAIRS] [-c CAP]
#
#   aws: bench/aws_apply.sh -n 1000 -l 20 -p 64 -r 1 per run
#   k8s: bench/k8s_apply.sh -n 300 -l 5 -p 32 -r 1 per run (with -c CAP: and
#        -c CAP, at most CAP requests to the cluster at once, for both sides)
# Prints each run's row (prefixed with A or B and the load average), then per
# side the medians of user, sys and user + sys seconds.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
a= b= kind=aws pairs=10 cap=
while getopts a:b:k:n:c: o; do
    case $o in
    a) a=$OPTARG ;; b) b=$OPTARG ;; k) kind=$OPTARG ;; n) pairs=$OPTARG ;; c) cap=$OPTARG ;;
    *) sed -n '2,13p' "$0"; exit 64 ;;
    esac
done
[ -n "$a" ] && [ -n "$b" ] || { sed -n '2,13p' "$0"; exit 64; }
case $kind in aws|k8s) ;; *) echo "-k: aws or k8s" >&2; exit 64 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
i=0
while [ "$i" -lt "$pairs" ]; do
    for side in A B; do
        dir=$a; [ "$side" = B ] && dir=$b
        w="/usr/bin/time -f %U:%S -a -o $tmp/$side"
        if [ "$kind" = aws ]; then
            row=$("$top/bench/aws_apply.sh" -b "$dir" -n 1000 -l 20 -p 64 -r 1 -w "$w" | grep '^| *64 ')
        else
            row=$("$top/bench/k8s_apply.sh" -b "$dir" -n 300 -l 5 -p 32 -r 1 ${cap:+-c "$cap"} -w "$w" | grep '^| *32 ')
        fi
        echo "$side $(cut -d' ' -f1 /proc/loadavg) $row"
    done
    i=$((i + 1))
done
python3 - "$tmp" <<'PY'
import statistics, sys
for side in "AB":
    rows = [l.strip().split(":") for l in open(f"{sys.argv[1]}/{side}") if l.count(":") == 1]
    u = [float(r[0]) for r in rows]
    s = [float(r[1]) for r in rows]
    print(f"{side}: {len(u)} runs, user median {statistics.median(u):.3f} s, sys median "
          f"{statistics.median(s):.3f} s, user+sys median "
          f"{statistics.median([x + y for x, y in zip(u, s)]):.3f} s")
PY
