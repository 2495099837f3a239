#!/bin/sh
# What a price change does to a plan: `plan --catalog NEW --compare`
# against two independent plans (one per catalog), and `catalog diff` of
# the built-in catalog against NEW. A price the example's plan pays is
# doubled in a copy of the catalog.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/drv" "$tmp/home"; chmod 755 "$tmp" "$tmp/drv"
for d in aws gcp k8s quantum; do cp "$top_builddir/stage/drivers/$d.so" "$tmp/drv/"; chmod 755 "$tmp/drv/$d.so"; done
export FEDBROKER_HOME="$tmp/home" FEDBROKER_DRIVER_PATH="$tmp/drv"
unset FEDBROKER_CATALOG FEDBROKER_CATALOG_OVERRIDES
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

cp -r "$top_srcdir/examples" "$tmp/ex"
cp -r "$top_srcdir/catalog" "$tmp/new"
# Cloud Run tier-1 instance-based CPU: 0.000018 -> 0.000036 USD/vCPU-second
"$PYTHON" - "$tmp/new/prices.csv" <<'PY' || { echo "FAIL: could not edit the catalog copy"; exit 1; }
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
h = rows[0]
n = 0
for r in rows[1:]:
    d = dict(zip(h, r))
    if d["sku"].startswith("gcp/cloud-run/tier1/cpu/instance-based"):
        r[h.index("usd_per_unit")] = "0.000036"; n += 1
assert n == 1, n
csv.writer(open(sys.argv[1], "w", newline=""), lineterminator="\n").writerows(rows)
PY

"$FEDBROKER" catalog diff "$tmp/new" --format json > "$tmp/diff.json" 2>"$tmp/err" && ok "catalog diff against the built-in catalog" \
    || { bad "catalog diff NEW"; cat "$tmp/err"; }
"$FEDBROKER" catalog diff embedded "$tmp/new" --format json > "$tmp/diff2.json" 2>"$tmp/err" || bad "catalog diff embedded NEW"
"$PYTHON" - "$tmp/diff.json" "$tmp/diff2.json" <<'PY' && ok "the diff names the one changed row, +100%" || bad "catalog diff output"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["changes"] == b["changes"] and a["old"] == "embedded", (a["old"], b["old"])
assert a["summary"] == {"added": 0, "removed": 0, "changed": 1}, a["summary"]
c = a["changes"][0]
assert c["sku"].startswith("gcp/cloud-run/tier1/cpu/instance-based") and c["pct_change"] == "+100.00", c
PY

spec="$tmp/ex/federation.yaml"
"$FEDBROKER" plan "$spec" --no-save --no-baselines --format json > "$tmp/old.json" 2>/dev/null || bad "plan on the built-in catalog"
"$FEDBROKER" plan "$spec" --no-save --no-baselines --format json --catalog "$tmp/new" > "$tmp/new.json" 2>/dev/null || bad "plan on NEW"
"$FEDBROKER" plan "$spec" --catalog "$tmp/new" --compare --format json > "$tmp/cmp.json" 2>"$tmp/err" \
    && ok "plan --compare exits 0" || { bad "plan --compare"; cat "$tmp/err"; }
"$FEDBROKER" plan "$spec" --catalog "$tmp/new" --compare > "$tmp/cmp.txt" 2>/dev/null || bad "plan --compare (table)"
"$FEDBROKER" plan "$spec" --catalog "$tmp/new" --compare --format md > "$tmp/cmp.md" 2>/dev/null || bad "plan --compare (md)"
"$PYTHON" - "$tmp/old.json" "$tmp/new.json" "$tmp/cmp.json" "$tmp/cmp.txt" "$tmp/cmp.md" <<'PY' && ok "compare agrees with both plans; columns add up" || bad "compare output"
import json, re, sys
from decimal import Decimal as D, ROUND_HALF_UP
old, new, cmp = (json.load(open(f)) for f in sys.argv[1:4])
txt, md = open(sys.argv[4]).read().splitlines(), open(sys.argv[5]).read().splitlines()
def place(w):
    p = w.get("placement")
    return p and "%s:%s:%s" % (p["provider"], p["service"], p["region"])
t = cmp["totals"]["total_monthly_cost"]
assert D(t["old"]) == D(old["total_monthly_cost"]) and D(t["new"]) == D(new["total_monthly_cost"]), t
assert D(t["change"]) == D(t["new"]) - D(t["old"]), t
assert D(t["new"]) > D(t["old"]), "doubling a price the plan pays did not raise the total"
ow = {(w["tenant"], w["name"]): w for w in old["workloads"]}
moves = 0
for r in cmp["workloads"]:
    o, n = ow[(r["tenant"], r["workload"])], next(w for w in new["workloads"] if w["name"] == r["workload"])
    assert r.get("old_placement") == place(o) and r.get("new_placement") == place(n), r
    assert D(r["old_cost"]) == D(o["monthly_cost"]) and D(r["new_cost"]) == D(n["monthly_cost"]), r
    assert D(r["change"]) == D(r["new_cost"]) - D(r["old_cost"]), r
    assert r["moves"] == (place(o) != place(n)), r
    moves += r["moves"]
assert cmp["moves"] == moves
orders = next(r for r in cmp["workloads"] if r["workload"] == "orders")
assert orders["moves"] or D(orders["change"]) > 0, orders
# the human formats: each column adds up to its TOTAL, to the cent
cents = lambda x: D(x).quantize(D("0.01"), rounding=ROUND_HALF_UP)
rows = [l.split()[-3:] if not l.endswith("moves") else l.split()[-4:-1] for l in txt if re.match(r"^\S+\s+\S+:\S+", l)]
tot = next(l for l in txt if l.startswith("TOTAL")).split()[-3:]
for k in range(3):
    assert sum(D(r[k]) for r in rows) == D(tot[k]), (k, rows, tot)
assert D(tot[0]) == cents(t["old"]) and D(tot[1]) == cents(t["new"]), tot
mrows = [[c.strip() for c in l.strip("|").split("|")] for l in md if l.startswith("| acme-shop/")]
mt = next([c.strip().strip("*") for c in l.strip("|").split("|")] for l in md if l.startswith("| **total**"))
assert sum(D(r[3]) for r in mrows) == D(mt[3]) and sum(D(r[4]) for r in mrows) == D(mt[4]), (mrows, mt)
PY
[ -z "$(ls -A "$tmp/home" 2>/dev/null | grep -v '^drivers$')" ] || \
    { [ "$(sqlite3 "$tmp/home/state.db" 'SELECT count(*) FROM plans' 2>/dev/null || echo 0)" = 0 ] && ok "compare stores nothing" || bad "compare stored a plan"; }
"$FEDBROKER" plan "$spec" --compare >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 64 ] && grep -q "needs --catalog NEW" "$tmp/err" && ok "--compare without --catalog: usage error (64) with what to do" || bad "--compare without --catalog: exit $rc"
"$FEDBROKER" plan "$spec" --catalog "$tmp/new" --compare --format focus >/dev/null 2>&1; rc=$?
[ $rc = 64 ] && ok "--compare refuses --format focus (usage, 64)" || bad "--compare --format focus: exit $rc"
exit $fail
