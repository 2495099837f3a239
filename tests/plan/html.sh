#!/bin/sh
# The HTML report is one self-contained file (no network): headless Chromium
# opens it, runs no fetches, and the DOM it renders has the charts (cost by
# provider and by team, cost vs latency) and the tables with the plan's
# numbers.
set -u
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/drv" "$tmp/home" "$tmp/profile"; chmod 755 "$tmp" "$tmp/drv"
for d in gcp k8s; do cp "$top_builddir/stage/drivers/$d.so" "$tmp/drv/"; chmod 755 "$tmp/drv/$d.so"; done
export FEDBROKER_HOME="$tmp/home" FEDBROKER_DRIVER_PATH="$tmp/drv"
# the code must be in the spec's tree (docs/spec.md "Files a spec reads")
cp -r "$top_srcdir/examples/src" "$tmp/src"
sed "s#../../examples/src/api#src/api#" "$top_srcdir/tests/plan/fed.yaml" > "$tmp/fed.yaml"
"$FEDBROKER" plan "$tmp/fed.yaml" --format html --output "$tmp/plan.html" || exit 1
"$FEDBROKER" report --format json > "$tmp/plan.json" || exit 1
if grep -Eq '(src|href)="(https?:)?//' "$tmp/plan.html"; then echo "FAIL: the report references the network"; exit 1; fi
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --dump-dom "file://$tmp/plan.html" > "$tmp/dom.html" 2>"$tmp/chromium.log"
[ -s "$tmp/dom.html" ] || { echo "FAIL: chromium rendered nothing"; cat "$tmp/chromium.log"; exit 1; }
"$PYTHON" - "$tmp/dom.html" "$tmp/plan.json" <<'PY'
import json, sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.svgs, self.ids, self.rows, self.text = [], {}, set(), {}, []
        self.cur_svg = self.cur_table = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a: self.ids.add(a["id"])
        if tag == "svg": self.cur_svg = a.get("id"); self.svgs[self.cur_svg] = {"rect": 0, "circle": 0}
        if tag in ("rect", "circle") and self.cur_svg: self.svgs[self.cur_svg][tag] += 1
        if tag == "table": self.cur_table = a.get("id"); self.rows[self.cur_table] = 0
        if tag == "tr" and self.cur_table: self.rows[self.cur_table] += 1
    def handle_endtag(self, tag):
        if tag == "svg": self.cur_svg = None
        if tag == "table": self.cur_table = None
    def handle_data(self, d): self.text.append(d)

p = P(); p.feed(open(sys.argv[1]).read())
plan = json.load(open(sys.argv[2]))
fails = []
def check(c, m):
    if not c: fails.append(m)
check(p.svgs.get("by-provider", {}).get("rect") == len(plan["totals"]["by_provider"]), "one bar per provider")
check(p.svgs.get("by-label", {}).get("rect") == len(plan["totals"]["by_label"].get("team", {})), "one bar per team")
chosen = sum(1 for w in plan["workloads"] if "p50_latency_ms" in w)
check(p.svgs.get("scatter", {}).get("circle", 0) >= chosen, "a point per placed workload with latency")
check(p.rows.get("workloads") == len(plan["workloads"]) + 1, "a row per workload")
check(p.rows.get("lines") == sum(len(w["lines"]) for w in plan["workloads"]) + 1, "a row per cost line")
check(plan["total_monthly_cost"] in "".join(p.text), "the total is shown exactly")
for f in fails: print("FAIL:", f)
print("chromium rendered %d charts, %d tables: %s" % (len(p.svgs), len(p.rows), "ok" if not fails else "failed"))
sys.exit(1 if fails else 0)
PY
