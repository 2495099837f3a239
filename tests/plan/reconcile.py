#!/usr/bin/env python3
"""Do the reports reconcile? Parses each human and machine format of one
plan and sums its lines with Python's decimal module (code we did not
write), then compares each sum with the totals the same report prints and
with the plan's exact totals rounded to the cent (half up).

Usage: reconcile.py PLAN.json TABLE.txt REPORT.md LINES.csv FOCUS.csv
Exit 0 when every column adds up, 1 with one FAIL line per mismatch."""
import csv
import json
import re
import sys
from decimal import Decimal as D, ROUND_HALF_UP

plan = json.load(open(sys.argv[1]))
table = open(sys.argv[2]).read().splitlines()
md = open(sys.argv[3]).read().splitlines()
fails = []
checked = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def cents(x):
    return D(x).quantize(D("0.01"), rounding=ROUND_HALF_UP)


total = D(plan["total_monthly_cost"])
net = D(plan["net_monthly_cost"])
lst = D(plan["list_monthly_cost"])
credit = D(plan["free_tier_credit"])
placed = [w for w in plan["workloads"] if "placement" in w]

# ---- table ----
m = re.match(r"Plan: \w+, total ([0-9.]+) USD/month \(list ([0-9.]+), free tier (-?[0-9.]+), net ([0-9.]+)\)",
             table[0])
check(m is not None, "table: no headline")
if m:
    check(D(m.group(1)) == cents(total), "table headline total %s != %s" % (m.group(1), cents(total)))
    check(D(m.group(2)) == cents(lst), "table headline list %s" % m.group(2))
    check(D(m.group(4)) == cents(net), "table headline net %s" % m.group(4))
    check(D(m.group(1)) + D(m.group(3)) == D(m.group(4)),
          "table headline: total %s + free tier %s is not the net %s" % (m.group(1), m.group(3), m.group(4)))
    credits = [D(x) for x in re.findall(r"^Free tier .* credit (-?[0-9.]+)$", "\n".join(table), re.M)]
    check(sum(credits, D(0)) == D(m.group(3)),
          "table: the free-tier credits add up to %s, the headline says %s" % (sum(credits, D(0)), m.group(3)))
start = next(i for i, l in enumerate(table) if l.startswith("WORKLOAD "))
rows, tot = [], None
for l in table[start + 1:]:
    if not l.strip():
        break
    f = l.split()
    if f[0] == "TOTAL":
        tot = D(l[64:76].strip())
        continue
    rows.append(D(l[64:76].strip()))
check(len(rows) == len(placed), "table: %d workload rows for %d workloads" % (len(rows), len(placed)))
check(tot is not None and sum(rows, D(0)) == tot, "table: the USD/MONTH column adds up to %s, TOTAL says %s" % (sum(rows, D(0)), tot))
check(tot == cents(total), "table: TOTAL %s is not the plan's total %s" % (tot, cents(total)))
for l in table:
    if l.startswith("By provider:"):
        s = sum((D(x) for x in re.findall(r" ([0-9]+\.[0-9]{2})(?= |$)", l)), D(0))
        check(s == tot, "table: by provider adds up to %s, not %s" % (s, tot))
checked.append("table")

# ---- Markdown ----
head = next((l for l in md if l.startswith("- total: ")), "")
m = re.match(r"- total: \*\*([0-9.]+) USD/month\*\* \(list ([0-9.]+), free tier (-?[0-9.]+), net ([0-9.]+)\)", head)
check(m is not None, "md: no headline")
if m:
    check(D(m.group(1)) == cents(total), "md headline total %s is not the plan's total %s" % (m.group(1), cents(total)))
    check(D(m.group(4)) == cents(net), "md headline net %s" % m.group(4))
    check(D(m.group(1)) + D(m.group(3)) == D(m.group(4)), "md headline: total + free tier is not the net")
wsum = D(0)
i = 0
nw = 0
while i < len(md):
    mm = re.match(r".* in `[^`]*`: \*\*([0-9.]+) USD/month\*\*", md[i])
    if mm:
        nw += 1
        amount = D(mm.group(1))
        wsum += amount
        # its lines table: the cost column adds up to the total row
        j = i + 1
        while j < len(md) and not md[j].startswith("| metric"):
            j += 1
        s = D(0)
        j += 2
        tot_row = None
        while j < len(md) and md[j].startswith("|"):
            cells = [c.strip() for c in md[j].strip("|").split("|")]
            if cells[0] == "**total**":
                tot_row = D(cells[6].strip("*"))
            else:
                s += D(cells[6])
            j += 1
        check(tot_row == amount, "md: workload total row %s != headline %s" % (tot_row, amount))
        check(s == amount, "md: a workload's lines add up to %s, not %s" % (s, amount))
        i = j
        continue
    i += 1
check(nw == len(placed), "md: %d workloads for %d" % (nw, len(placed)))
if m:
    check(wsum == D(m.group(1)), "md: workloads add up to %s, the headline says %s" % (wsum, m.group(1)))
prov = [D(c[2]) for c in ([x.strip() for x in l.strip("|").split("|")] for l in md if l.startswith("| provider |"))]
check(sum(prov, D(0)) == cents(total), "md: providers add up to %s" % sum(prov, D(0)))
checked.append("md")

# ---- CSV (exact) ----
with open(sys.argv[4], newline="") as f:
    rd = list(csv.DictReader(f))
body = [r for r in rd if r["workload"] != "TOTAL"]
t = [r for r in rd if r["workload"] == "TOTAL"]
check(len(t) == 1, "csv: one TOTAL row")
if t:
    for col in ("list_cost", "contracted_cost", "free_tier_credit", "effective_cost"):
        s = sum((D(r[col]) for r in body), D(0))
        check(s == D(t[0][col]), "csv: %s adds up to %s, TOTAL says %s" % (col, s, t[0][col]))
    check(D(t[0]["contracted_cost"]) == total and D(t[0]["effective_cost"]) == net, "csv: TOTAL row is not the plan's")
checked.append("csv")

# ---- FOCUS (exact) ----
with open(sys.argv[5], newline="") as f:
    rd = list(csv.DictReader(f))
# docs/plan.md "FOCUS": over the Usage rows list and contracted (the total);
# over every row billed, effective and contracted are the net, list is
# list + credit (a Credit row carries its credit in every cost column:
# FOCUS 1.2 ListCost-C-008-C and ContractedCost-C-008-C)
usage = [r for r in rd if r["ChargeCategory"] == "Usage"]
credits = [r for r in rd if r["ChargeCategory"] == "Credit"]
for col, rows, want in (("ListCost", usage, lst), ("ContractedCost", usage, total), ("BilledCost", rd, net),
                        ("EffectiveCost", rd, net), ("ContractedCost", rd, net), ("ListCost", rd, lst + credit)):
    check(all(r[col] != "" for r in rows), "focus: %s is empty on some row" % col)
    s = sum((D(r[col]) for r in rows if r[col] != ""), D(0))
    check(s == want, "focus: %s over %s rows adds up to %s, the plan says %s" % (col, len(rows), s, want))
credit_rows = sum((D(r["BilledCost"]) for r in credits), D(0))
check(credit_rows == credit, "focus: the Credit rows add up to %s, the plan's free tier is %s" % (credit_rows, credit))
for r in credits:
    check(r["ListCost"] == r["ContractedCost"] == r["EffectiveCost"] == r["BilledCost"],
          "focus: a Credit row's cost columns differ (FOCUS 1.2 ListCost-C-008-C): %s" % r["ChargeDescription"])
# one unit convention: binary data sizes only
units = {r["PricingUnit"] for r in rd if r["PricingUnit"]}
check(not any(u == "GB" or u.startswith("GB-") for u in units), "focus: decimal GB units remain: %s" % sorted(units))
# a link is paid by its sender: its tenant and tags are the sender's
names = {w["name"]: w for w in plan["workloads"]}
for r in rd:
    tags = json.loads(r["Tags"]) if r["Tags"] else {}
    if "fedbroker/link" in tags:
        sender = names.get(r["x_Workload"])
        check(sender is not None and r["x_Tenant"] == sender["tenant"] and tags.get("fedbroker/tenant") == sender["tenant"],
              "focus: link row %s does not carry its sender's tenant" % tags["fedbroker/link"])
        for k, v in (sender or {}).get("labels", {}).items():
            check(tags.get(k) == v, "focus: link row %s lacks the sender's label %s" % (tags["fedbroker/link"], k))
checked.append("focus")

for f in fails:
    print("FAIL:", f)
print("reconciled %s: %s" % (", ".join(checked), "ok" if not fails else "%d failures" % len(fails)))
sys.exit(1 if fails else 0)
