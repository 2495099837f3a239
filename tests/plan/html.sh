#!/bin/sh
# The HTML report is one self-contained file (no network): headless Chromium
# opens it, runs no fetches, and the DOM it renders has the charts (cost by
# provider and by team, cost vs latency) and the tables with the plan's
# numbers (workloads, lines, links, netting and budgets, each adding up).
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
from decimal import Decimal as D, ROUND_HALF_UP
from html.parser import HTMLParser

class P(HTMLParser):
    """Collects the rendered DOM: charts (element counts per svg id), every
    table as rows of cell texts (keyed by id or class + data-workload), ids,
    links to the sources legend, and the text."""
    def __init__(self):
        super().__init__()
        self.svgs, self.ids, self.tables, self.text, self.hrefs = {}, set(), {}, [], []
        self.cur_svg = self.cur_table = self.cell = None
        self.row = None
        self.classes = {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a: self.ids.add(a["id"])
        if a.get("class"): self.classes[a["class"]] = self.classes.get(a["class"], 0) + 1
        if tag == "svg":
            self.cur_svg = a.get("id"); self.svgs[self.cur_svg] = {"rect": 0, "circle": 0}
        if tag in ("rect", "circle") and self.cur_svg: self.svgs[self.cur_svg][tag] += 1
        if tag == "table":
            self.cur_table = a.get("id") or "%s:%s" % (a.get("class"), a.get("data-workload"))
            self.tables[self.cur_table] = []
        if tag == "tr" and self.cur_table is not None:
            self.row = []; self.tables[self.cur_table].append(self.row)
        if tag in ("td", "th") and self.row is not None: self.cell = []
        if tag == "a" and "href" in a: self.hrefs.append(a["href"])
    def handle_endtag(self, tag):
        if tag == "svg": self.cur_svg = None
        if tag == "table": self.cur_table = None; self.row = None
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip()); self.cell = None
    def handle_data(self, d):
        self.text.append(d)
        if self.cell is not None: self.cell.append(d)

p = P(); p.feed(open(sys.argv[1]).read())
plan = json.load(open(sys.argv[2]))
fails = []
def check(c, m):
    if not c: fails.append(m)
def cents(x):
    return D(x).quantize(D("0.01"), rounding=ROUND_HALF_UP)

text = "".join(p.text)
total, net = cents(plan["total_monthly_cost"]), cents(plan["net_monthly_cost"])
check(p.svgs.get("by-provider", {}).get("rect") == len(plan["totals"]["by_provider"]), "one bar per provider")
check(p.svgs.get("by-label", {}).get("rect") == len(plan["totals"]["by_label"].get("team", {})), "one bar per team")
chosen = sum(1 for w in plan["workloads"] if "p50_latency_ms" in w)
check(p.svgs.get("scatter", {}).get("circle", 0) >= chosen, "a point per placed workload with latency")
check(p.classes.get("axis-label", 0) >= 2 and p.classes.get("tick", 0) >= 10, "the scatter's axes are labelled, with ticks")
check(p.classes.get("point-label", 0) == chosen, "each chosen point is labelled")
for sec in ("s-workloads", "s-lines", "s-links", "s-free-tier", "s-baselines", "s-sources", "s-charts"):
    check(sec in p.ids, "section %s" % sec)

# the numbers on the page add up: workloads to the total ...
wt = p.tables.get("workloads", [])
check(len(wt) == len(plan["workloads"]) + 2, "a row per workload, a header and a total")
amount = {r[0]: D(r[2]) for r in wt[1:-1]}
check(sum(amount.values(), D(0)) == D(wt[-1][2]) == total,
      "workloads add up to %s on the page, the total row says %s, the plan %s" % (sum(amount.values(), D(0)), wt[-1][2], total))
check(("total %s USD/month" % total) in " ".join(text.split()), "the headline shows the total to the cent")
# ... each workload's lines to its amount ...
for w in plan["workloads"]:
    if "placement" not in w: continue
    t = p.tables.get("lines:%s" % w["name"])
    check(t is not None, "a lines table for %s" % w["name"])
    if not t: continue
    body = t[1:-1]
    check(len(body) == len(w["lines"]) + (1 if D(w["egress_to_workloads"]) else 0), "a row per line of %s" % w["name"])
    s = sum((D(r[5]) for r in body), D(0))
    check(s == D(t[-1][5]) == amount.get(w["name"]), "%s: lines add up to %s, total row %s, workload row %s" % (w["name"], s, t[-1][5], amount.get(w["name"])))
# ... the links are the plan's ...
lt = p.tables.get("links", [])
check(len(lt) == len(plan["links"]) + 1, "a row per link")
for r, l in zip(lt[1:], plan["links"]):
    check(D(r[5]) == cents(l["monthly_cost"]), "link %s->%s shows %s" % (l["from"], l["to"], r[5]))
# ... and the total plus the free-tier credits is the net
nt = p.tables.get("netting", [])
check(len(nt) == len(plan["free_tiers"]) + 3, "netting: the total, a row per allowance, the net")
if nt:
    s = sum((D(r[2]) for r in nt[1:-1]), D(0))
    check(s == D(nt[-1][2]) == net, "netting: %s + credits adds up to %s, the net row says %s, the plan %s" % (nt[1][2], s, nt[-1][2], net))
    check(D(nt[1][2]) == total, "netting starts from the total")
# the budgets: the same figures as table and Markdown, each compared figure
# re-added here from the plan's workloads and links (a federation's members'
# contracted_cost + free_tier_credit, plus the links they send), and
# fed.yaml's federation holds every workload, so its net figure is the
# page's net
bt = p.tables.get("budgets", [])
check(plan.get("budgets") and "s-budgets" in p.ids, "a budgets section (fed.yaml has a federation budget)")
check(len(bt) == len(plan.get("budgets", [])) + 1, "a row per budget")
words = {"net": "net after free tiers", "contracted": "contracted (before free tiers)", "list": "at list prices"}
for r, b in zip(bt[1:], plan.get("budgets", [])):
    who = "%s %s/%s" % (b["scope"], b["tenant"], b.get("workload") or b.get("federation"))
    check(r[0] == who and r[1] == words[b["basis"]], "budget row %s: %s" % (who, r[:2]))
    if b["scope"] == "federation":
        mem = [w for w in plan["workloads"] if w["tenant"] == b["tenant"] and "placement" in w]
        names = {w["name"] for w in mem}
        key = {"net": ("contracted_cost", "free_tier_credit"), "contracted": ("contracted_cost",),
               "list": ("list_cost",)}[b["basis"]]
        lk = "list_cost" if b["basis"] == "list" else "monthly_cost"
        links = sum((D(l[lk]) for l in plan["links"] if l["from"] in names), D(0))
        want = sum((D(w[k]) for w in mem for k in key), D(0)) + links
        check(D(b["compared"]) == want and D(b["link_cost"]) == links,
              "%s: compared %s is its members' figures plus their links %s = %s" % (who, b["compared"], links, want))
        check(links > 0, "%s: its links cost something (%s)" % (who, links))
        if b["basis"] == "net" and len(mem) == len(plan["workloads"]):
            check(D(r[2]) == D(nt[-1][2]) if nt else False,
                  "%s: every workload is a member, so its figure %s is the page's net %s" % (who, r[2], nt and nt[-1][2]))
    check(D(r[2]) == cents(b["compared"]) and D(r[3]) == cents(b["budget"]),
          "%s: the page shows %s of %s (plan %s of %s)" % (who, r[2], r[3], b["compared"], b["budget"]))
    check(r[4] == ("yes" if D(b["compared"]) <= D(b["budget"]) else "no"), "%s: within says %s" % (who, r[4]))
# every source code on the page has its legend entry
codes = {h[5:] for h in p.hrefs if h.startswith("#src-")}
check(codes and all(("src-" + c) in p.ids for c in codes), "the legend explains every source: missing %s" % sorted(c for c in codes if "src-" + c not in p.ids))
for f in fails: print("FAIL:", f)
print("chromium rendered %d charts, %d tables: %s" % (len(p.svgs), len(p.tables), "ok" if not fails else "failed"))
sys.exit(1 if fails else 0)
PY
