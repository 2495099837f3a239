#!/bin/sh
# The main job on the embedded defaults (no cloud account): validate the
# example specs, render them for each provider, run the quantum example on the
# local simulator, plan the example federation across every loaded driver and
# write its cost placement report. Run by `make demo` (./quickstart demo).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
FEDBROKER="$top_builddir/fedbroker"
out="$top_builddir/demo"
rm -rf "$out"; mkdir -p "$out/home"
export FEDBROKER_HOME="$out/home" FEDBROKER_DRIVER_PATH="$top_builddir/stage/drivers"
ex="$top_srcdir/examples"
step() { printf '\n== %s\n' "$*"; }

step "drivers loaded from $FEDBROKER_DRIVER_PATH"
"$FEDBROKER" drivers

step "validate the example specs"
# one file at a time: the examples are independent specs, and two of them
# (hybrid-nye.yaml, hybrid-nye-predictive.yaml) are variants of one
# workload, which a single invocation rightly refuses as defined twice
bad=0
for f in "$ex"/*.yaml "$ex"/*.json; do
    "$FEDBROKER" validate "$f" || bad=1
done
[ "$bad" = 0 ]

step "render (provider-native documents, no network)"
render() { # spec target file
    if "$FEDBROKER" render "$1" --target "$2" > "$out/$3" 2> "$out/$3.err"; then
        echo "rendered $(basename "$1") for $2 -> demo/$3"
    else
        echo "$(basename "$1") cannot go to $2:"; sed 's/^/  /' "$out/$3.err"
    fi
}
for t in aws gcp k8s; do
    render "$ex/function.yaml" "$t" "function.$t.json"
    render "$ex/container.yaml" "$t" "container.$t.json"
done

step "quantum: the Bell pair on the local simulator"
"$FEDBROKER" quantum run "$ex/bell.qasm" --shots 1000 --seed 7
"$FEDBROKER" quantum run "$ex/bell.qasm" --probabilities
step "apply the QuantumJob spec on the local simulator; the result is stored with the job"
"$FEDBROKER" apply "$ex/quantum-bell.yaml" --target quantum:local
"$FEDBROKER" results
"$FEDBROKER" status

step "plan the example federation and write the finance report"
"$FEDBROKER" plan "$ex/federation.yaml" --export-lp "$out/federation.lp"
"$FEDBROKER" report --format html --output "$out/report.html"
"$FEDBROKER" report --format focus --output "$out/report.focus.csv"
"$FEDBROKER" report --format json --output "$out/report.json"
"$FEDBROKER" report --format md --output "$out/report.md"
echo
echo "reports: $out/report.html (open it in a browser), report.focus.csv, report.json, report.md"
echo "LP file: $out/federation.lp (check it with: glpsol --lp $out/federation.lp)"
