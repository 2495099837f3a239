#!/usr/bin/python3
"""Budgets compared with net after free tiers (issue 12, docs/spec.md
"Budgets", docs/plan.md "Budgets").

1. A Lambda function whose contracted cost is over its budget but whose
   net (after Lambda's free tier) is within it is placed; with
   `basis: contracted` the same budget is infeasible (today's behaviour)
   and the message names the contracted figure; `basis: list` likewise.
   The free tier netted into each line is checked against the allowance
   in catalog/prices.csv (read here with csv and decimal).
2. A federation budget likewise.
3. Every plan's own report shows each budget's compared figure <= the
   budget, and the figure is the members' contracted_cost plus
   free_tier_credit, re-added here from their lines with Python's decimal.
4. A basis the schema does not know is refused at validate with its
   pointer (exit 2).
5. Brute force: a federation of three functions, each with three
   candidate offers (27 placements, Lambda's free tier shared when several
   land on AWS), nested in an outer federation with a fourth function d
   (two candidates: 54 placements). The trio's links (a -> b inside it,
   c -> d to the outer member) are in the trio's budget figure: each
   link's cost belongs to its sender, as the report allocates it. Each placement is planned pinned (one region per
   workload, no budget) and its report's figures read; then, for budget
   configurations on workload and federation level and every basis, the
   unpinned budgeted plan must be infeasible (exit 3) exactly when no
   placement keeps every budget, and otherwise cost exactly the cheapest
   placement that does.
"""
import csv
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
FB = os.environ.get("FEDBROKER", os.path.join(BUILD, "fedbroker"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("plan budget net")


def check(cond, what):
    return ck.ok(cond, what)


tmp = tempfile.mkdtemp(prefix="fb-budget-")
os.chmod(tmp, 0o755)
drivers = os.path.join(tmp, "drivers")
os.mkdir(drivers, 0o755)
for d in ("aws", "gcp"):
    shutil.copy(os.path.join(BUILD, "stage", "drivers", d + ".so"), drivers)
    os.chmod(os.path.join(drivers, d + ".so"), 0o755)
shutil.copytree(os.path.join(SRC, "examples", "src"), os.path.join(tmp, "src"))
env = dict(os.environ, FEDBROKER_HOME=os.path.join(tmp, "home"), FEDBROKER_DRIVER_PATH=drivers,
           FEDBROKER_NOW="2026-01-01T00:00:00Z")
for k in ("FEDBROKER_CONFIG", "FEDBROKER_CATALOG", "FEDBROKER_CATALOG_OVERRIDES"):
    env.pop(k, None)

with open(os.path.join(SRC, "catalog", "prices.csv"), newline="") as f:
    FREE = [r for r in csv.DictReader(f) if r["pricing_model"] == "free-tier"]


def run(*args):
    p = subprocess.run([FB] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    return p.returncode, p.stdout, p.stderr


def plan(text, name="spec.yaml"):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    rc, out, err = run("plan", path, "--format", "json", "--no-save", "--no-baselines")
    doc = json.loads(out) if rc == 0 and out.strip() else None
    return rc, doc, err


def function(name, requests, ms, mem, regions, budget=None, indent=""):
    b = ""
    if budget:
        b = ", budget: {monthly: \"%s\"%s}" % (budget[0], ", basis: %s" % budget[1] if budget[1] else "")
    lines = ["apiVersion: fedbroker.dev/v1", "kind: Function", "metadata: {name: %s, tenant: t}" % name,
             "spec:", "  runtime: python3.12", "  handler: handler.handler", "  code: {path: src/hello}",
             "  resources: {memory: %s, arch: arm64}" % mem,
             "  traffic: {requestsPerMonth: %d, meanDuration: %dms, egressPerRequest: 1Ki, "
             "sources: [{location: new-york, weight: 1}]}" % (requests, ms),
             "  placement: {regions: [%s]%s}" % (", ".join('"%s"' % r for r in regions), b)]
    return "\n".join(indent + ln for ln in lines) + "\n"


def federation(members, budget=None, links=(), name="trio"):
    out = ["apiVersion: fedbroker.dev/v1", "kind: Federation", "metadata: {name: %s, tenant: t}" % name, "spec:",
           "  workloads:"]
    for m in members:
        if m.startswith("{file:"):
            out.append("    - " + m)
            continue
        body = m.splitlines()
        out.append("    - " + body[0])
        out += ["      " + ln for ln in body[1:]]
    if links:
        out.append("  links:")
        out += ["    - {from: %s, to: %s, volumePerMonth: %s}" % ln for ln in links]
    if budget:
        out.append("  budget: {monthly: \"%s\"%s}" % (budget[0], ", basis: %s" % budget[1] if budget[1] else ""))
    return "\n".join(out) + "\n"


def link_costs(doc, members):
    """The egress of the links the members send, per basis (net and
    contracted: each link's monthly_cost; list: its list_cost)."""
    sent = [ln for ln in doc.get("links", []) if ln["from"] in members]
    c = sum((D(ln["monthly_cost"]) for ln in sent), D(0))
    return {"net": c, "contracted": c, "list": sum((D(ln["list_cost"]) for ln in sent), D(0))}


def D(x):
    return Decimal(x)


def figures(doc):
    """Per workload: {net, contracted, list}, re-added from its lines."""
    out = {}
    for w in doc["workloads"]:
        c = sum((D(ln["contracted_cost"]) for ln in w["lines"]), D(0))
        lst = sum((D(ln["list_cost"]) for ln in w["lines"]), D(0))
        cr = sum((D(ln.get("free_tier_credit", "0")) for ln in w["lines"]), D(0))
        check(c == D(w["contracted_cost"]) and cr == D(w["free_tier_credit"]),
              "%s: its lines add up to contracted_cost and free_tier_credit" % w["name"])
        out[w["name"]] = {"net": c + cr, "contracted": c, "list": lst}
    return out


def budgets_in_report(doc, what, fed_members=None):
    """Each budget in the plan's own report: compared <= budget, and the
    compared figure is the members' figure re-added from their lines, plus
    for a federation the links its members send (link_cost)."""
    fig = figures(doc)
    for b in doc.get("budgets", []):
        basis = b["basis"]
        if b["scope"] == "workload":
            members = [b["workload"]]
            want = D(0)
            check("link_cost" not in b, "%s: a workload's budget has no link_cost" % what)
        else:
            members = fed_members or [w["name"] for w in doc["workloads"]]
            lc = link_costs(doc, members)[basis]
            check(D(b["link_cost"]) == lc, "%s: the federation's link_cost %s is its members' links %s" %
                  (what, b["link_cost"], lc))
            want = lc
        want += sum((fig[m][basis] for m in members), D(0))
        check(D(b["compared"]) == want, "%s: %s budget of %s: compared %s is the %s figure %s" %
              (what, b["scope"], b.get("workload", b.get("federation")), b["compared"], basis, want))
        check(D(b["compared"]) <= D(b["budget"]) and b["within"] is True,
              "%s: the report shows %s %s <= budget %s" % (what, basis, b["compared"], b["budget"]))


# ---- 1. one function: contracted over its budget, net within ------------------------------
solo = function("solo", 800000, 100, "256Mi", ["aws:us-east-1"])
rc, doc, err = plan(solo)
check(rc == 0, "the function alone plans (%d %s)" % (rc, err[:300]))
w = doc["workloads"][0]
contracted, credit = D(w["contracted_cost"]), D(w["free_tier_credit"])
check(credit < 0, "Lambda's free tier nets into it (%s)" % credit)
# against the catalog: each covered line is under its allowance, so all of it is free
for ln in w["lines"]:
    rows = [r for r in FREE if r["provider"] == "aws" and r["service"] == ln["service"] and
            (r["sku_metric"] in ("free_tier_" + ln["metric"], ln["metric"] + "_free_tier"))]
    if rows:
        allowance = D(rows[0]["tier_end"])
        check(D(ln["quantity"]) <= allowance and D(ln.get("free_tier_quantity", "0")) == D(ln["quantity"]),
              "solo %s %s: %s of %s free (catalog allowance %s)" % (ln["service"], ln["metric"],
                                                                    ln.get("free_tier_quantity"), ln["quantity"], allowance))
net = contracted + credit
mid = ((net + contracted) / 2).quantize(Decimal("0.01"))
check(net < mid < contracted, "a budget between net %s and contracted %s: %s" % (net, contracted, mid))
for basis in (None, "net"):
    rc, doc, err = plan(function("solo", 800000, 100, "256Mi", ["aws:us-east-1"], (str(mid), basis)))
    check(rc == 0 and doc["workloads"][0]["placement"]["service"] == "lambda",
          "basis %s: contracted %s over the budget %s, net %s within: placed (%d %s)" %
          (basis or "(default)", contracted, mid, net, rc, err[:300]))
    if doc:
        budgets_in_report(doc, "solo basis %s" % basis)
        b = doc["budgets"][0]
        check(b["basis"] == "net" and D(b["compared"]) == net, "the report names basis net and compares %s" % net)
# the human formats show the budget and its figure, to the cent
path = os.path.join(tmp, "solo.yaml")
with open(path, "w") as f:
    f.write(function("solo", 800000, 100, "256Mi", ["aws:us-east-1"], (str(mid), None)))
c2 = net.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
rc, out, err = run("plan", path, "--no-save", "--no-baselines")
check(rc == 0 and ("Budget of workload t/solo (net after free tiers): %s of %s USD/month, within" % (c2, mid)) in out,
      "table: the budget line names net after free tiers %s of %s" % (c2, mid))
rc, out, err = run("plan", path, "--no-save", "--no-baselines", "--format", "md")
check(rc == 0 and ("| workload t/solo | net after free tiers | %s | %s | yes |" % (c2, mid)) in out,
      "markdown: the budgets table row names net after free tiers %s of %s" % (c2, mid))
for basis, words in (("contracted", "contracted (before free tiers)"), ("list", "at list prices")):
    rc, doc, err = plan(function("solo", 800000, 100, "256Mi", ["aws:us-east-1"], (str(mid), basis)))
    check(rc == 3, "basis %s: the same budget is infeasible, as before (exit %d)" % (basis, rc))
    check(("%s USD/month %s" % (contracted, words)) in err,
          "basis %s: the message names the figure compared (%s USD/month %s): %s" % (basis, contracted, words, err[:400]))
    check('the nearest relaxation is budget.monthly: "%s"' % contracted.quantize(Decimal("0.01"), rounding="ROUND_UP") in err,
          "basis %s: and the nearest relaxation" % basis)
# net below what the free tier can ever leave: infeasible, and the message says net
rc, doc, err = plan(function("solo", 800000, 100, "256Mi", ["aws:us-east-1"], ("0.000001", "net")))
if net > D("0.000001"):
    check(rc == 3 and "net after free tiers" in err, "a net budget below the net is infeasible and says net (%d)" % rc)

# ---- 2. a federation budget ----------------------------------------------------------------
pair = [function("a", 800000, 100, "256Mi", ["aws:us-east-1"]), function("b", 700000, 200, "512Mi", ["aws:us-east-1"])]
rc, doc, err = plan(federation(pair))
check(rc == 0, "the pair plans (%d %s)" % (rc, err[:300]))
fig = figures(doc)
fnet = sum(f["net"] for f in fig.values())
fcon = sum(f["contracted"] for f in fig.values())
check(D(doc["net_monthly_cost"]) == fnet, "without links the federation's net is the plan's net")
fmid = ((fnet + fcon) / 2).quantize(Decimal("0.01"))
check(fnet < fmid < fcon, "a federation budget between net %s and contracted %s: %s" % (fnet, fcon, fmid))
rc, doc, err = plan(federation(pair, (str(fmid), None)))
check(rc == 0, "federation: contracted %s over the budget %s, net %s within: placed (%d %s)" % (fcon, fmid, fnet, rc, err[:400]))
if doc:
    budgets_in_report(doc, "federation net")
    check(doc["status"] == "optimal", "federation net: proven optimal")
rc, doc, err = plan(federation(pair, (str(fmid), "contracted")))
check(rc == 3 and "budget of federation t/trio" in err, "federation basis contracted: infeasible as before (%d)" % rc)

# ---- 4. validate refuses an unknown basis --------------------------------------------------
path = os.path.join(tmp, "bad.yaml")
with open(path, "w") as f:
    f.write(function("bad", 1000, 10, "128Mi", ["aws:us-east-1"], ("1", "gross")))
rc, out, err = run("validate", path)
check(rc == 2 and "/spec/placement/budget/basis" in err, "basis: gross is refused with its pointer (%d %s)" % (rc, err[:300]))

# ---- 5. brute force ------------------------------------------------------------------------
REGIONS = ["aws:us-east-1", "aws:eu-west-1", "gcp:us-central1"]
SHAPES = [("a", 800000, 100, "256Mi"), ("b", 300000, 300, "512Mi"), ("c", 600000, 50, "128Mi")]
D_SHAPE, D_REGIONS = ("d", 200000, 100, "128Mi"), ["aws:us-east-1", "gcp:us-central1"]
# the trio's links: a -> b inside it, c -> d to a member of the outer
# federation only (counted: its sender is in the trio); d -> a is d's
TRIO_LINKS = [("a", "b", "12Gi")]
OUTER_LINKS = [("c", "d", "6Gi"), ("d", "a", "8Gi")]


def nested(members, dregions, budget=None):
    """The trio (in its own file, with budget) inside the outer federation
    with d; returns the outer federation's text."""
    with open(os.path.join(tmp, "trio.yaml"), "w") as f:
        f.write(federation(members, budget, TRIO_LINKS))
    return federation(["{file: trio.yaml}", function(*D_SHAPE, dregions)], None, OUTER_LINKS, "outer")


pinned = {}
for combo in itertools.product(range(len(REGIONS)), range(len(REGIONS)), range(len(REGIONS)), range(len(D_REGIONS))):
    members = [function(n, r, ms, mem, [REGIONS[k]]) for (n, r, ms, mem), k in zip(SHAPES, combo)]
    rc, doc, err = plan(nested(members, [D_REGIONS[combo[3]]]), "pin.yaml")
    if not check(rc == 0, "pinned %s plans (%d %s)" % ([REGIONS[k] for k in combo[:3]] + [D_REGIONS[combo[3]]], rc, err[:200])):
        continue
    pinned[combo] = (D(doc["total_monthly_cost"]), figures(doc), link_costs(doc, ["a", "b", "c"]))
check(len({lc["net"] for _, _, lc in pinned.values()}) > 3, "the trio's links cost differently by placement (%s)" %
      sorted({str(lc["net"]) for _, _, lc in pinned.values()})[:8])
# the pinned plans share Lambda's pool: somewhere a workload's net differs with its neighbours
nets_a = {f["a"]["net"] for c, (t, f, _) in pinned.items() if c[0] == 0}
check(len(nets_a) > 1, "a's net on aws:us-east-1 depends on where the others are (%s)" % sorted(nets_a))

rng = random.Random(12)
names = [s[0] for s in SHAPES]
configs = []


def values(n, basis):
    return sorted({f[n][basis] for _, f, _ in pinned.values()})


# a workload's lowest net is reached only when it has Lambda's pool to
# itself: a budget there moves the others off AWS (a dearer plan)
for n in names:
    # (a budget of 0 means none: at least a cent)
    configs.append(({n: (max(values(n, "net")[0].quantize(Decimal("0.01"), rounding="ROUND_UP"), D("0.01")), None)}, None))
for i in range(20):
    wb = {}
    for n in names:
        if rng.random() < 0.45:
            basis = rng.choice([None, "net", "net", "contracted", "list"])
            vals = values(n, basis or "net")
            wb[n] = ((vals[0] + (vals[-1] - vals[0]) * D(rng.random())).quantize(Decimal("0.01")), basis)
    fb = None
    if rng.random() < 0.5 or not wb:
        basis = rng.choice([None, "net", "contracted"])
        tots = sorted(sum(f[n][basis or "net"] for n in names) + lc[basis or "net"] for _, f, lc in pinned.values())
        fb = ((tots[0] + (tots[-1] - tots[0]) * D(rng.random())).quantize(Decimal("0.01")), basis)
    configs.append((wb, fb))
# federation budgets the members' own figures would meet but their links'
# egress decides: the cheapest members' figure (links left out) plus a
# share of what its links cost
for basis in (None, "contracted", "list"):
    k = basis or "net"
    own, lc = min(((sum(f[n][k] for n in names), lc[k]) for _, f, lc in pinned.values()), key=lambda x: x[0])
    for frac in ("0.3", "0.8"):
        configs.append(({}, ((own + lc * D(frac)).quantize(Decimal("0.01"), rounding="ROUND_UP"), basis)))
# and two that nothing can meet
configs.append(({"a": (D("0.01"), None), "b": (D("0.01"), None), "c": (D("0.01"), None)}, None))
configs.append(({}, (D("0.01"), "net")))
feasible_seen = infeasible_seen = searched = links_decide = 0
optima = set()
for wb, fb in configs:
    best = best_without_links = None
    for combo, (total, f, lc) in pinned.items():
        ok = all(f[n][(b or "net")] <= v for n, (v, b) in wb.items())
        ok_nl = ok
        if fb:
            own = sum(f[n][fb[1] or "net"] for n in names)
            ok = ok and own + lc[fb[1] or "net"] <= fb[0]
            ok_nl = ok_nl and own <= fb[0]
        if ok and (best is None or total < best):
            best = total
        if ok_nl and (best_without_links is None or total < best_without_links):
            best_without_links = total
    links_decide += best != best_without_links
    members = [function(n, r, ms, mem, REGIONS, (str(wb[n][0]), wb[n][1]) if n in wb else None)
               for (n, r, ms, mem) in SHAPES]
    rc, doc, err = plan(nested(members, D_REGIONS, (str(fb[0]), fb[1]) if fb else None), "bb.yaml")
    what = "budgets %s, federation %s" % ({n: (str(v), b) for n, (v, b) in wb.items()}, fb and (str(fb[0]), fb[1]))
    if best is None:
        infeasible_seen += 1
        check(rc == 3, "%s: no placement keeps them; plan exits 3 (got %d)" % (what, rc))
        check("net after free tiers" in err or "contracted" in err or "list prices" in err,
              "%s: the message names the compared figure" % what)
    else:
        feasible_seen += 1
        optima.add(best)
        if check(rc == 0 and doc is not None, "%s: a placement keeps them; plan finds one (%d %s)" % (what, rc, err[:300])):
            check(D(doc["total_monthly_cost"]) == best and doc["status"] == "optimal",
                  "%s: the plan costs the brute-force optimum %s (got %s, %s)" % (what, best, doc["total_monthly_cost"], doc["status"]))
            budgets_in_report(doc, what, names)
            searched += doc["solver"].get("budget_search_solves", 0) > 0
    if rc == 3 and "searched in" in err:
        searched += 1
check(len(optima) >= 2, "the budgets change the optimum: %s" % sorted(optima))
check(links_decide >= 2, "in %d configurations the trio's links' egress decides the plan (or whether there is one)" %
      links_decide)
check(feasible_seen >= 3 and infeasible_seen >= 2,
      "the configurations cover both outcomes (%d feasible, %d infeasible)" % (feasible_seen, infeasible_seen))
check(searched >= 2, "in %d of them the solver's first plan broke a budget and the search decided" % searched)

shutil.rmtree(tmp, ignore_errors=True)
ck.done()
