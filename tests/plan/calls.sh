#!/bin/sh
# What a plan asks of the drivers, counted by the drivers themselves: the
# test driver countdrv (tests/drivers/countdrv.c) logs every validate and
# usage call it gets. Each workload shape (workloads whose normal forms
# differ only in metadata, docs/driver-abi.md "Plan calls"; a replica is a
# workload) is evaluated once on each offer of its kind, through its first
# workload, validate first and usage only where validate agreed; the
# single-provider baselines ask nothing more. And on the example federation
# with the real drivers, the baselines add no driver call and the catalog
# is opened once (FEDBROKER_PLAN_STATS).
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/drv" "$tmp/all" "$tmp/home"; chmod 755 "$tmp" "$tmp/drv" "$tmp/all"
cp "$TESTDRV_DIR/countdrv.so" "$tmp/drv/"
for d in aws gcp k8s quantum; do cp "$top_builddir/stage/drivers/$d.so" "$tmp/all/"; done
chmod 755 "$tmp"/drv/*.so "$tmp"/all/*.so
export FEDBROKER_HOME="$tmp/home" FEDBROKER_NOW=2026-01-01T00:00:00Z
unset FEDBROKER_CONFIG
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

# f1, f2, f3: one shape under three names and label sets; f4, f5: shapes of
# their own; f6: spread over two regions (two replicas of 1,000,000
# requests each: one shape).
fn() { # name labels requests memory [placement]
    cat <<YAML
    - apiVersion: fedbroker.dev/v1
      kind: Function
      metadata: {name: $1, labels: {$2}}
      spec:
        image: docker.io/acme/fn:1
        resources: {memory: $4}
        traffic: {requestsPerMonth: $3, meanDuration: 100ms, sources: [{location: frankfurt, weight: 1}]}
${5:-}
YAML
}
{
    printf 'apiVersion: fedbroker.dev/v1\nkind: Federation\nmetadata: {name: counted, tenant: t}\nspec:\n  workloads:\n'
    fn f1 "team: a" 3000000 512Mi
    fn f2 "team: b, app: x" 3000000 512Mi
    fn f3 "" 3000000 512Mi
    fn f4 "team: a" 4000000 512Mi
    fn f5 "team: a" 3000000 1Gi
    fn f6 "team: c" 2000000 512Mi "        placement: {spread: {minRegions: 2}}"
} > "$tmp/fed.yaml"

COUNTDRV_LOG="$tmp/calls.log" FEDBROKER_DRIVER_PATH="$tmp/drv" FEDBROKER_PLAN_STATS=1 \
    "$FEDBROKER" plan "$tmp/fed.yaml" --format json --no-save >"$tmp/plan.json" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] && ok "the federation is planned on countdrv" || { bad "plan exit $rc"; cat "$tmp/err"; }
"$PYTHON" - "$tmp/calls.log" "$tmp/plan.json" "$tmp/err" <<'PY' || fail=1
import collections, json, re, sys
calls = [l.split() for l in open(sys.argv[1]).read().splitlines()]
plan = json.load(open(sys.argv[2]))
stats = open(sys.argv[3]).read()
regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]
# what plan should ask: every shape, through its first workload, on every
# offer (f2 and f3 are f1's shape, f6's two replicas one shape), usage
# where validate did not refuse (us-west-2)
workloads = ["f1", "f4", "f5", "f6"]
want = collections.Counter()
for w in workloads:
    for r in regions:
        want[("validate", w, r)] += 1
        if r != "us-west-2":
            want[("usage", w, r)] += 1
got = collections.Counter(tuple(c) for c in calls)
fails = []
if got != want:
    extra = got - want
    missing = want - got
    fails.append("driver calls differ: %d made, %d expected; extra %s; missing %s"
                 % (sum(got.values()), sum(want.values()), dict(extra), dict(missing)))
# the baselines ask nothing: the stats line agrees with the driver's log
m = re.search(r"driver calls: (\d+) validate, (\d+) usage, (\d+) evaluate \((\d+) candidates\); catalog opened (\d+) times", stats)
if not m:
    fails.append("no stats line: " + stats)
else:
    v, u, e, ec, c = map(int, m.groups())
    if (e, ec) != (0, 0):
        fails.append("stats say %d evaluate calls; countdrv has no evaluate" % e)
    logged = (sum(n for k, n in got.items() if k[0] == "validate"),
              sum(n for k, n in got.items() if k[0] == "usage"))
    if (v, u) != logged:
        fails.append("stats say %d validate, %d usage; the driver logged otherwise" % (v, u))
    if c != 1:
        fails.append("catalog opened %d times" % c)
base = {b["name"]: b for b in plan.get("baselines", [])}
if base.get("all-countdrv", {}).get("status") != "feasible":
    fails.append("no feasible all-countdrv baseline: %s" % plan.get("baselines"))
for f in fails:
    print("FAIL:", f)
if not fails:
    print("ok: %d validate and %d usage calls: each shape once per offer, baselines included"
          % (sum(n for k, n in got.items() if k[0] == "validate"),
             sum(n for k, n in got.items() if k[0] == "usage")))
sys.exit(1 if fails else 0)
PY

# The same federation on countdrv_batch, which has evaluate (ABI 1.2):
# one evaluate call per shape for all four offers, no validate or usage
# call, and the same plan as countdrv's (the driver's name aside).
mkdir -p "$tmp/bdrv"; chmod 755 "$tmp/bdrv"
cp "$TESTDRV_DIR/countdrv_batch.so" "$tmp/bdrv/"; chmod 755 "$tmp/bdrv/countdrv_batch.so"
COUNTDRV_LOG="$tmp/bcalls.log" FEDBROKER_DRIVER_PATH="$tmp/bdrv" FEDBROKER_PLAN_STATS=1 \
    "$FEDBROKER" plan "$tmp/fed.yaml" --format json --no-save >"$tmp/bplan.json" 2>"$tmp/berr"
rc=$?
[ $rc = 0 ] || { bad "plan on countdrv_batch: exit $rc"; cat "$tmp/berr"; }
"$PYTHON" - "$tmp/bcalls.log" "$tmp/bplan.json" "$tmp/berr" "$tmp/plan.json" <<'PY' || fail=1
import collections, re, sys
calls = collections.Counter(tuple(l.split()) for l in open(sys.argv[1]).read().splitlines())
fails = []
want = collections.Counter({("evaluate", w, "4"): 1 for w in ["f1", "f4", "f5", "f6"]})
if calls != want:
    fails.append("countdrv_batch got %s, expected %s" % (dict(calls), dict(want)))
m = re.search(r"driver calls: (\d+) validate, (\d+) usage, (\d+) evaluate \((\d+) candidates\)",
              open(sys.argv[3]).read())
if not m or tuple(map(int, m.groups())) != (0, 0, 4, 16):
    fails.append("stats: %s" % (m.group(0) if m else "no stats line"))
def norm(path):
    text = open(path).read().replace("countdrv_batch", "countdrv")
    return re.sub(r'"seconds": [-+0-9.eE]*', '"seconds": 0', text)
if norm(sys.argv[2]) != norm(sys.argv[4]):
    fails.append("the plan through evaluate differs from the plan through validate and usage")
for f in fails:
    print("FAIL:", f)
if not fails:
    print("ok: evaluate: one call per shape for its 4 offers, the same plan")
sys.exit(1 if fails else 0)
PY

# the example federation with the real drivers: baselines add no driver call
stats() {
    FEDBROKER_DRIVER_PATH="$tmp/all" FEDBROKER_PLAN_STATS=1 "$FEDBROKER" plan \
        "$top_srcdir/examples/federation.yaml" --no-save "$@" 2>&1 >/dev/null |
        sed -n 's/.*driver calls: \([^;]*; catalog opened [0-9]* times\).*/\1/p'
}
with=$(stats)
without=$(stats --no-baselines)
echo "example federation: with baselines: $with; without: $without"
case $with in
*"catalog opened 1 times") ok "the catalog is opened once" ;;
*) bad "the catalog is opened more than once: $with" ;;
esac
[ -n "$with" ] && [ "$with" = "$without" ] && ok "the baselines call no driver" \
    || bad "the baselines call the drivers again: '$with' vs '$without'"
exit $fail
