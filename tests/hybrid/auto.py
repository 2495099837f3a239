#!/usr/bin/python3
"""placement.strategy auto (issue 17, docs/simulation.md, "The plan places
the split"): the planner compares the five strategies and places the
cheapest that serves every request within the SLO, through the real CLI.

- examples/hybrid-daily-auto.yaml (a daily pattern, a surge every three
  hours, maxInstances 100): the plan's own side-by-side numbers
  (hybrid[].alternatives: monthlyCost, sloMet, availability) make
  hybrid-predictive the cheapest qualifying strategy, and the plan places
  it: two parts with a daily capacity schedule (hybrid_part.schedule).
  The margin is the reactive lag: without the schedule each surge's first
  minute spills to the functions (hybrid) or is dropped (reactive: below
  100% availability, so not a candidate).
- the same profile with maxInstances 45: the containers cannot hold the
  surges, the schedule must keep functions warm, and plain hybrid is the
  cheapest: auto places it, without a schedule.
(A trickle of traffic placed as one offer is tests/hybrid/split.py's check.)
The choice is recomputed here from the alternatives the plan prints, and
`simulate` (the model alone) agrees with the plan's costs, so the test does
not merely read back the planner's answer.
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import TOP, BrokerEnv, Checker, skip_unless_built  # noqa: E402

skip_unless_built("aws")
ck = Checker("hybrid auto")
env = BrokerEnv("fb-auto-", scrub=("AWS_", "GOOGLE_", "KUBERNETES_", "KUBECONFIG"))
SRC = open(os.path.join(TOP, "examples", "hybrid-daily-auto.yaml")).read()
NAME = "telecom/surge-api"


def plan(text, name):
    path = env.write(name, text)
    rc, out, err = env.run("plan", "--no-save", "--format", "json", path)
    p = json.loads(out) if rc == 0 and out.strip() else {}
    rc2, out2, err2 = env.run("simulate", path, "--no-steps", "--format", "json")
    sim = json.loads(out2) if rc2 == 0 and out2.strip() else {}
    return rc, p, err, sim


def qualifying(h):
    """The strategies that serve every request within the SLO, cheapest
    first, from the plan's side-by-side numbers."""
    rows = [a for a in h.get("alternatives", []) if a["sloMet"] and a["availability"] >= 1.0]
    return sorted(rows, key=lambda a: float(a["monthlyCost"]))


# ---- auto picks hybrid-predictive ---------------------------------------------------
rc, p, err, sim = plan(SRC, "daily.yaml")
ck.ok(rc == 0, "plan of examples/hybrid-daily-auto.yaml exits 0", err[-600:])
h = (p.get("hybrid") or [{}])[0]
alts = {a["strategy"]: a for a in h.get("alternatives", [])}
ck.ok(sorted(alts) == ["functions-only", "hybrid", "hybrid-predictive", "reactive", "static-peak"],
      "the plan shows the five strategies side by side", sorted(alts))
q = qualifying(h)
ck.ok(q and q[0]["strategy"] == "hybrid-predictive",
      "by the plan's numbers hybrid-predictive is the cheapest strategy that serves every request within the SLO",
      [(a["strategy"], a["monthlyCost"], a["sloMet"], a["availability"]) for a in h.get("alternatives", [])])
ck.ok(float(alts["hybrid-predictive"]["monthlyCost"]) < float(alts["hybrid"]["monthlyCost"]) and
      alts["reactive"]["availability"] < 1.0 and
      float(alts["reactive"]["monthlyCost"]) < float(alts["hybrid-predictive"]["monthlyCost"]),
      "predictive beats hybrid on cost; reactive is cheaper but drops requests in its lag",
      {k: (v["monthlyCost"], v["availability"]) for k, v in alts.items()})
simc = {s["strategy"]: s for s in sim.get("strategies", [])}
ck.ok(simc and all(abs(float(simc[k]["monthlyCost"]) - float(alts[k]["monthlyCost"])) < 0.01 for k in alts),
      "simulate (the model alone) gives the plan's cost for every strategy",
      {k: (simc.get(k, {}).get("monthlyCost"), alts[k]["monthlyCost"]) for k in alts})
placed = h.get("placed", {})
ck.ok(h.get("recommended") == "hybrid-predictive" and placed.get("as") == "split" and
      placed.get("strategy") == "hybrid-predictive", "auto places hybrid-predictive as the split", placed)
wl = {w["name"]: w for w in p.get("workloads", [])}
sched = wl.get("surge-api", {}).get("hybrid_part", {}).get("schedule", {})
ck.ok(sorted(wl) == ["surge-api", "surge-api-overflow"] and sched.get("repeat") == "daily" and
      sched.get("periodSeconds") == 86400 and len(sched.get("steps", [])) == 24,
      "two parts; the container part carries a daily schedule of 24 hourly steps", (sorted(wl), sched))
# the schedule raises the floor before each surge: the hours of 6,300/s hold
# more replicas than the quiet hours next to them
steps = [s["containers"] for s in sched.get("steps", [])]
ck.ok(len(steps) == 24 and all(steps[h] > steps[h - 1] for h in (1, 3, 5)) and steps[5] == max(steps),
      "the floors follow the surges", steps)

# ---- auto picks something else ----------------------------------------------------------
rc, p, err, sim = plan(SRC.replace("maxInstances: 100", "maxInstances: 45"), "daily45.yaml")
h = (p.get("hybrid") or [{}])[0]
alts = {a["strategy"]: a for a in h.get("alternatives", [])}
q = qualifying(h)
ck.ok(rc == 0 and q and q[0]["strategy"] == "hybrid" and
      float(alts["hybrid"]["monthlyCost"]) < float(alts["hybrid-predictive"]["monthlyCost"]),
      "maxInstances 45: by the plan's numbers plain hybrid is the cheapest qualifying strategy (warm functions "
      "cost more than the cold starts they avoid)",
      [(a["strategy"], a["monthlyCost"], a["sloMet"], a["availability"]) for a in h.get("alternatives", [])])
placed = h.get("placed", {})
wl = {w["name"]: w for w in p.get("workloads", [])}
ck.ok(placed.get("strategy") == "hybrid" and "schedule" not in wl.get("surge-api", {}).get("hybrid_part", {}),
      "auto places plain hybrid, without a capacity schedule", placed)

env.close()
ck.done()
