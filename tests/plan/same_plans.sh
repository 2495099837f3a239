#!/bin/sh
# The plan documents of the example federation and of the test federations,
# byte for byte against tests/plan/expected/, which were written by the plan
# code as it was before plan.c was split and its evaluations were cached
# and parallelised (commit "tests/plan: expected plans ..."). A refactoring
# or a performance change of plan must not change one byte of a plan.
#
# Each case is small enough (at most 16 workloads) that the plan is proven
# optimal and its ties are settled in offer order, so the placements, costs,
# bound and gap do not depend on thread timing. Masked: solver.seconds (wall
# time), and which method the solver credits with the plan and the bound
# (solver.plan_method, solver.bound_method): the heuristic, the bound
# thread and the exact phase race, and on a loaded machine a different one
# can get there first with the same plan and the same bound.
#
# REGEN=1 rewrites the expected files from the plans of this build: only do
# that on a commit whose plans are known to be right, and say so in its
# message.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
here="$top_srcdir/tests/plan"
exp="$here/expected"
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

mkdir -p "$tmp/all" "$tmp/gk" "$tmp/home"; chmod 755 "$tmp" "$tmp/all" "$tmp/gk"
for d in aws gcp k8s quantum; do cp "$top_builddir/stage/drivers/$d.so" "$tmp/all/"; done
for d in gcp k8s; do cp "$top_builddir/stage/drivers/$d.so" "$tmp/gk/"; done
chmod 755 "$tmp"/all/*.so "$tmp"/gk/*.so
export FEDBROKER_HOME="$tmp/home" FEDBROKER_NOW=2026-01-01T00:00:00Z
unset FEDBROKER_CONFIG FEDBROKER_CATALOG FEDBROKER_CATALOG_OVERRIDES

# the test federation (its code path made absolute) and variants of it
sed "s#../../examples/src/api#$top_srcdir/examples/src/api#" "$here/fed.yaml" > "$tmp/fed.yaml"
sed 's/placement: {residency: \[EU\]}/placement: {residency: [EU], antiAffinity: [orders]}/' "$tmp/fed.yaml" > "$tmp/anti.yaml"
sed 's/latencySLO: {p50: 150ms}/latencySLO: {p50: 5ms}/' "$tmp/fed.yaml" > "$tmp/slo.yaml"
sed 's/budget: {monthly: "5000"}/budget: {monthly: "10"}/' "$tmp/fed.yaml" > "$tmp/tenant.yaml"
cat > "$tmp/over.json" <<'JSON'
{"version": 1, "rules": [{"id": "cud-run", "provider": "gcp", "service": "cloud-run", "discount_pct": "20"}]}
JSON
printf '{"quotas": {"gcp:europe-west1": {"vcpu": 0.5}}}\n' > "$tmp/quota.json"
printf '{}\n' > "$tmp/empty.json"

# case NAME EXIT DRIVERS CONFIG SPEC ARGS...
case_() {
    name=$1 want=$2 drv=$3 cfg=$4 spec=$5; shift 5
    FEDBROKER_DRIVER_PATH="$tmp/$drv" FEDBROKER_CONFIG="$cfg" \
        "$FEDBROKER" plan "$spec" --format json --no-save --allow-path "$top_srcdir/examples/src" "$@" >"$tmp/$name.raw" 2>"$tmp/$name.err"
    got=$?
    [ "$got" = "$want" ] || { bad "$name: exit $got, expected $want"; cat "$tmp/$name.err"; return; }
    sed 's/"seconds": [-+0-9.eE]*/"seconds": 0/' "$tmp/$name.raw" > "$tmp/$name.json"
    # the JSON report on stdout is written as the document is built (one
    # workload at a time); --output FILE writes the whole document: the
    # same text
    FEDBROKER_DRIVER_PATH="$tmp/$drv" FEDBROKER_CONFIG="$cfg" \
        "$FEDBROKER" plan "$spec" --format json --no-save --allow-path "$top_srcdir/examples/src" "$@" \
        --output "$tmp/$name.whole.raw" >/dev/null 2>&1
    sed 's/"seconds": [-+0-9.eE]*/"seconds": 0/' "$tmp/$name.whole.raw" > "$tmp/$name.whole"
    mask='s/"\(bound_method\|plan_method\)": "[^"]*"/"\1": "-"/'
    if [ -s "$tmp/$name.whole" ] && cmp -s "$tmp/$name.whole" "$tmp/$name.json"; then
        ok "$name: written as built and written whole, the same text"
    elif [ -s "$tmp/$name.whole" ] && [ "$(sed "$mask" "$tmp/$name.whole" | cksum)" = "$(sed "$mask" "$tmp/$name.json" | cksum)" ]; then
        ok "$name: written as built and written whole, the same text (but for the solver's methods)"
    else
        bad "$name: the document written as it is built differs from the whole document (--output)"
        diff "$tmp/$name.whole" "$tmp/$name.json" | head -20
    fi
    if [ "${REGEN:-}" = 1 ]; then
        cp "$tmp/$name.json" "$exp/$name.json"; echo "wrote $exp/$name.json"; return
    fi
    sed "$mask" "$exp/$name.json" > "$tmp/$name.exp.masked"
    sed "$mask" "$tmp/$name.json" > "$tmp/$name.masked"
    if cmp -s "$tmp/$name.exp.masked" "$tmp/$name.masked"; then
        ok "$name: the same plan, byte for byte"
    else
        bad "$name: the plan differs from tests/plan/expected/$name.json"
        diff "$tmp/$name.exp.masked" "$tmp/$name.masked" | head -20
    fi
}

case_ example 0 all "$tmp/empty.json" "$top_srcdir/examples/federation.yaml"
case_ example-calendar 0 all "$tmp/empty.json" "$top_srcdir/examples/federation.yaml" --hours calendar:28 --no-baselines
case_ fed 0 gk "$tmp/empty.json" "$tmp/fed.yaml"
case_ fed-all-drivers 0 all "$tmp/empty.json" "$tmp/fed.yaml"
case_ fed-overrides 0 gk "$tmp/empty.json" "$tmp/fed.yaml" --overrides "$tmp/over.json"
case_ fed-quota 0 gk "$tmp/quota.json" "$tmp/fed.yaml" --no-baselines
case_ fed-anti-affinity 0 gk "$tmp/empty.json" "$tmp/anti.yaml"
case_ fed-slo-infeasible 3 gk "$tmp/empty.json" "$tmp/slo.yaml"
case_ fed-budget-infeasible 3 gk "$tmp/empty.json" "$tmp/tenant.yaml"
# generated by bench/gen_plan_fed.py (see the first line of each file)
case_ gen-identical 0 all "$tmp/empty.json" "$here/gen-identical.yaml"
case_ gen-distinct 0 all "$tmp/empty.json" "$here/gen-distinct.yaml"
case_ gen-mixed 0 all "$tmp/empty.json" "$here/gen-mixed.yaml"
exit $fail
