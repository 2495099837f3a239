#!/usr/bin/env python3
"""Checks a plan document (fedbroker plan --format json) against things we
did not compute in C: exact decimal arithmetic with Python's decimal module,
the catalog CSV read with Python's csv module, and the totals' structure.
Usage: check_plan.py PLAN.json CATALOG_PRICES.csv [FOCUS.csv] [LINES.csv]"""
import csv
import json
import sys
from decimal import Decimal, ROUND_HALF_UP

plan = json.load(open(sys.argv[1]))
rows = {r["sku"]: r for r in csv.DictReader(open(sys.argv[2], newline=""))}
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def D(s):
    return Decimal(s)


def round6(x):
    return x.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


total = D(plan["total_monthly_cost"])
check(D(plan["lower_bound"]) <= total, "lower bound above total")
sum_w = Decimal(0)
sum_list = Decimal(0)
sum_credit = Decimal(0)
nlines = 0
for w in plan["workloads"]:
    check("placement" in w, "workload %s has no placement" % w["name"])
    contracted = Decimal(0)
    lst = Decimal(0)
    credit = Decimal(0)
    for l in w["lines"]:
        nlines += 1
        row = rows.get(l["sku"])
        check(row is not None, "line sku %s not in the catalog" % l["sku"])
        if row is None:
            continue
        # the unit price, source and date are the catalog's, verbatim
        check(D(row["usd_per_unit"]) == D(l["unit_price"]), "unit price of %s" % l["sku"])
        check(row["source"] == l["source"] and row["as_of"] == l["as_of"], "provenance of %s" % l["sku"])
        check(row["unit"] == l["unit"], "unit of %s" % l["sku"])
        q = D(l["quantity"])
        check(round6(q * D(l["unit_price"])) == D(l["list_cost"]),
              "list cost of %s: %s x %s != %s" % (l["sku"], q, l["unit_price"], l["list_cost"]))
        check(round6(q * D(l["contracted_unit_price"])) == D(l["contracted_cost"]),
              "contracted cost of %s" % l["sku"])
        if row["tier_start"]:
            lo, hi = D(row["tier_start"]), D(row["tier_end"]) if row["tier_end"] not in ("", "inf") else None
            check(q <= (hi - lo if hi is not None else q), "quantity of %s exceeds its tier band" % l["sku"])
        c = D(l.get("free_tier_credit", "0"))
        check(D(l["effective_cost"]) == D(l["contracted_cost"]) + c, "effective cost of %s" % l["sku"])
        contracted += D(l["contracted_cost"])
        lst += D(l["list_cost"])
        credit += c
    check(contracted == D(w["contracted_cost"]), "%s: lines add up to %s, not %s" % (w["name"], contracted, w["contracted_cost"]))
    check(lst == D(w["list_cost"]), "%s: list lines" % w["name"])
    check(D(w["monthly_cost"]) == contracted + D(w["egress_to_workloads"]), "%s: monthly cost" % w["name"])
    check(D(w["free_tier_credit"]) == credit, "%s: credit" % w["name"])
    sum_w += D(w["monthly_cost"])
    sum_list += lst + D(w["egress_to_workloads"])
    sum_credit += credit
check(sum_w == total, "workloads add up to %s, total says %s" % (sum_w, total))
check(sum_list == D(plan["list_monthly_cost"]), "list total")
check(sum_credit == D(plan["free_tier_credit"]), "credit total %s vs %s" % (sum_credit, plan["free_tier_credit"]))
check(D(plan["net_monthly_cost"]) == total + sum_credit, "net = total + credit")
# links: cost = volume x price per GiB, and they are part of the senders' totals
sent = {}
for l in plan["links"]:
    v, p, c = D(l["volume_gib"]), D(l["egress_usd_per_gib"]), D(l["monthly_cost"])
    check(abs(v * p - c) <= Decimal("0.000000001"), "link %s->%s cost %s != %s x %s" % (l["from"], l["to"], c, v, p))
    sent[l["from"]] = sent.get(l["from"], Decimal(0)) + c
    # the price is the source region's catalog row (egress is paid by the
    # sender): the row's provider is the sender's, a row of one region
    # ('self' in its egress_path's source side) is the sender's region, and
    # the price per GiB is the row's (per GB rows x 2^30/10^9, 9 places)
    fprov, freg = l["from_region"].split(":", 1)
    if l.get("sku"):
        row = rows.get(l["sku"])
        check(row is not None, "link %s->%s: sku %s not in the catalog" % (l["from"], l["to"], l["sku"]))
        if row is not None:
            check(row["provider"] == fprov, "link %s->%s priced by %s's row %s, not by the sender's provider %s"
                  % (l["from"], l["to"], row["provider"], l["sku"], fprov))
            srcs = [alt.split(">")[0].split("|") for alt in row["egress_path"].split(";")]
            if any("self" in s for s in srcs):
                check(row["region"] == freg, "link %s->%s priced from region %s, not from the sender's %s"
                      % (l["from"], l["to"], row["region"], freg))
            per = D(2**30) / D(10**9) if row["unit"] == "GB" else D(1)
            if not l.get("contract_rule"):
                want = (D(row["usd_per_unit"]) * per).quantize(Decimal("0.000000001"), rounding=ROUND_HALF_UP)
                check(D(l["egress_usd_per_gib"]) == want, "link %s->%s: %s USD/GiB, the row %s says %s"
                      % (l["from"], l["to"], l["egress_usd_per_gib"], l["sku"], want))
    else:
        # no row: only the documented same-region fallback, free and flagged
        check(l.get("egress_kind") == "same-region" and l["from_region"] == l["to_region"] and D(l["monthly_cost"]) == 0,
              "link %s->%s has no price row but is not the same-region fallback" % (l["from"], l["to"]))
    if "latency_budget_ms" in l and "rtt_ms" in l:
        check(l["rtt_ms"] <= l["latency_budget_ms"], "link %s->%s over its latency budget" % (l["from"], l["to"]))
for w in plan["workloads"]:
    check(sent.get(w["name"], Decimal(0)) == D(w["egress_to_workloads"]), "%s sends %s" % (w["name"], w["egress_to_workloads"]))
# free tiers: never more than the allowance
for f in plan["free_tiers"]:
    check(D(f["used"]) <= D(f["allowance"]), "free tier %s over its allowance" % f["sku"])
# totals by provider and by label add up to the total
for key in ("by_provider", "by_region"):
    s = sum((D(v) for v in plan["totals"][key].values()), Decimal(0))
    check(s == total, "%s adds up to %s" % (key, s))
for label, groups in plan["totals"]["by_label"].items():
    s = sum((D(v) for v in groups.values()), Decimal(0))
    check(s <= total, "label %s adds up to more than the total" % label)

if len(sys.argv) > 3:
    mandatory = ["BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
                 "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass",
                 "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
                 "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit",
                 "ProviderName", "PublisherName", "ServiceCategory", "ServiceName"]
    with open(sys.argv[3], newline="") as f:
        rd = csv.DictReader(f)
        for c in mandatory + ["RegionId", "SkuId", "Tags"]:
            check(c in rd.fieldnames, "FOCUS column %s missing" % c)
        eff = lst = Decimal(0)
        n = 0
        for r in rd:
            n += 1
            check(r["ChargeCategory"] in ("Usage", "Credit"), "ChargeCategory %s" % r["ChargeCategory"])
            # an estimate bills what it costs after the contract: BilledCost
            # is the EffectiveCost (docs/plan.md, "FOCUS")
            check(r["BilledCost"] != "" and D(r["BilledCost"]) == D(r["EffectiveCost"]),
                  "BilledCost %r is not the EffectiveCost %s" % (r["BilledCost"], r["EffectiveCost"]))
            check(r["BillingCurrency"] == "USD", "currency")
            json.loads(r["Tags"])
            if r["ChargeCategory"] == "Usage":
                # costs are quantity x unit price (to half a micro-USD), and a
                # contracted price at or below list gives a cost at or below list
                q = D(r["PricingQuantity"])
                for cost, price in (("ContractedCost", "ContractedUnitPrice"), ("ListCost", "ListUnitPrice")):
                    check(abs(q * D(r[price]) - D(r[cost])) <= Decimal("0.0000005"),
                          "FOCUS %s %s != %s x %s (%s)" % (cost, r[cost], q, r[price], r["ChargeDescription"]))
                if D(r["ContractedUnitPrice"]) <= D(r["ListUnitPrice"]):
                    check(D(r["ContractedCost"]) <= D(r["ListCost"]),
                          "FOCUS ContractedCost %s above ListCost %s (%s)" % (r["ContractedCost"], r["ListCost"], r["ChargeDescription"]))
            eff += D(r["EffectiveCost"])
            if r["ChargeCategory"] == "Usage":
                lst += D(r["ListCost"])
        check(eff == D(plan["net_monthly_cost"]), "FOCUS EffectiveCost adds up to %s, net is %s" % (eff, plan["net_monthly_cost"]))
        check(lst == D(plan["list_monthly_cost"]), "FOCUS ListCost adds up to %s" % lst)
        check(n >= nlines, "FOCUS has fewer rows than cost lines")
if len(sys.argv) > 4:
    with open(sys.argv[4], newline="") as f:
        rd = list(csv.DictReader(f))
        tot = [r for r in rd if r["workload"] == "TOTAL"]
        check(len(tot) == 1 and D(tot[0]["contracted_cost"]) == total, "CSV TOTAL row")
        s = sum((D(r["contracted_cost"]) for r in rd if r["workload"] != "TOTAL"), Decimal(0))
        check(s == total, "CSV lines add up to %s" % s)

for f in fails:
    print("FAIL:", f)
print("checked %d workloads, %d cost lines, %d links: %s" % (len(plan["workloads"]), nlines, len(plan["links"]),
      "ok" if not fails else "%d failures" % len(fails)))
sys.exit(1 if fails else 0)
