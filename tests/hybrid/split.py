#!/usr/bin/python3
"""The plan places a hybrid workload's split (issue 17, docs/simulation.md,
"The plan places the split"), through the real CLI, the real drivers and
the embedded catalog; apply against tests/fakes/fake_aws.py (botocore
recomputes every signature and validates every body against the botocore
models).

- plan of the New Year's Eve example: two workloads, the container part
  (the workload's name) and the function part (NAME-overflow), each with
  hybrid_part; their quantities are recomputed here from what `simulate
  --format json` reports (replica-seconds / the profile's seconds = mean
  replicas, x 730 h x the task's vCPU and GiB; function requests scaled to
  730 h), and the plan's total matches the simulator's hybrid monthly cost
  to the cent; the lines add up to the workloads, the workloads and links
  to the total; a link carries the overflow back to the containers; the
  document is valid against schemas/plan.v1.schema.json; the FOCUS rows of
  both parts add up to the net total.
- a quota that moves a part to another offer: the split is simulated again
  at the pair the solver chose, and the plan says so.
- placement.budget below the pair's cost: no placement (exit 3), naming
  the hybrid workload's budget; just above it: placed.
- strategy single: one workload; strategy auto where functions only is
  cheaper (a trickle of traffic): one workload, and the plan says why.
- apply: the function part is created first (Lambda with the image, the
  function part's memory, a function URL), the container part second (ECS
  service with the function URL in FEDBROKER_ENDPOINT_NYE_API_OVERFLOW and
  its autoscaler between the baseline and maxInstances).
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import csv
import io
import json
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import ACCOUNT, TOP, Checker, Env, Fake  # noqa: E402

import jsonschema  # noqa: E402

ck = Checker("hybrid split")
NYE = open(os.path.join(TOP, "examples", "hybrid-nye.yaml")).read()
# Lambda pulls images only from ECR in its own region
NYE_ECR = NYE.replace("ghcr.io/acme/nye-api:1.4", f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/nye-api:1.4")
assert NYE_ECR != NYE

env = Env(None)
spec = env.write("nye.yaml", NYE_ECR)


def plan_json(path, *extra):
    rc, out, err = env.run("plan", "--no-save", "--format", "json", *extra, path)
    return rc, (json.loads(out) if out.strip() else None), err


def D(s):
    return Decimal(s) if s is not None else Decimal(0)


# ---- the plan and the simulator agree ---------------------------------------------
rc, out, err = env.run("simulate", spec, "--strategy", "hybrid", "--no-steps", "--format", "json")
ck.ok(rc == 0, "simulate exits 0", err)
sim = json.loads(out)
h = sim["strategies"][0]
span = sim["profile"]["points"] * sim["profile"]["stepSeconds"]
mean_replicas = Decimal(repr(h["replicaSeconds"])) / span
fn_requests = round(h["offered"] * h["functionShare"] * 730 * 3600 / span)

rc, plan, err = plan_json(spec)
ck.ok(rc == 0 and plan is not None, "plan of the hybrid example exits 0", err)
wl = {w["name"]: w for w in plan["workloads"]}
ck.ok(sorted(wl) == ["nye-api", "nye-api-overflow"], "two workloads: the container part and the function part",
      sorted(wl))
c, f = wl["nye-api"], wl["nye-api-overflow"]
ck.ok(c["kind"] == "Container" and f["kind"] == "Function", "kinds Container and Function", (c["kind"], f["kind"]))
ck.ok(c["tenant"] == f["tenant"] == "telecom", "same tenant")
ck.ok(c["hybrid_part"]["part"] == "container" and f["hybrid_part"]["part"] == "function" and
      c["hybrid_part"]["of"] == f["hybrid_part"]["of"] == "nye-api", "hybrid_part names each part and what of",
      (c.get("hybrid_part"), f.get("hybrid_part")))
ck.ok(c["hybrid_part"]["baseline"] == h["baseline"], "the baseline is the simulator's optimum",
      (c["hybrid_part"]["baseline"], h["baseline"]))
ck.ok(c["placement"]["service"] == "fargate" and f["placement"]["service"] == "lambda",
      "the solver places the containers on Fargate and the overflow on Lambda",
      (c["placement"], f["placement"]))
lines = {ln["metric"]: ln for ln in c["lines"]}
# examples/hybrid-nye.yaml: 1 vCPU, 2 GiB a task (a valid Fargate size)
want_vcpu = (mean_replicas * 730).quantize(Decimal("0.000001"))
ck.ok(abs(D(lines["vcpu"]["quantity"]) - want_vcpu) <= Decimal("0.001"),
      "container vCPU-hours = mean replicas (replica-seconds / profile seconds) x 730 h",
      (lines["vcpu"]["quantity"], want_vcpu))
ck.ok(abs(D(lines["memory"]["quantity"]) - 2 * want_vcpu) <= Decimal("0.002"),
      "container GB-hours = mean replicas x 730 h x 2 GiB", (lines["memory"]["quantity"], 2 * want_vcpu))
flines = {ln["metric"]: ln for ln in f["lines"]}
ck.ok(abs(int(D(flines["requests"]["quantity"])) - fn_requests) <= 1,
      "function requests = the overflow the simulator sent to functions, scaled to 730 h",
      (flines["requests"]["quantity"], fn_requests))
for w in (c, f):
    ck.ok(sum(D(ln["contracted_cost"]) for ln in w["lines"]) == D(w["contracted_cost"]),
          f"{w['name']}: the lines add up to its cost")
links = [lk for lk in plan["links"] if lk["from"] == "nye-api-overflow" and lk["to"] == "nye-api"]
ck.ok(len(links) == 1, "a link from the function part to the container part", plan["links"])
tot = sum(D(w["contracted_cost"]) for w in plan["workloads"]) + sum(D(lk["monthly_cost"]) for lk in plan["links"])
ck.ok(tot == D(plan["total_monthly_cost"]), "workloads and links add up to the plan's total",
      (tot, plan["total_monthly_cost"]))
ck.ok(abs(D(plan["total_monthly_cost"]) - D(h["monthlyCost"])) < Decimal("0.01"),
      "the plan's total is the simulator's hybrid monthly cost (to the cent)",
      (plan["total_monthly_cost"], h["monthlyCost"]))
hy = plan["hybrid"][0]
ck.ok(hy["placed"] == {"as": "split", "container": "nye-api", "function": "nye-api-overflow", "strategy": "hybrid"},
      "hybrid[].placed says the split was placed", hy.get("placed"))
schema = json.load(open(os.path.join(TOP, "schemas", "plan.v1.schema.json")))
rc, out, err = env.run("plan", spec, "--out", env.path("plan.json"))
ck.ok(rc == 0, "plan --out exits 0", err)
doc = json.load(open(env.path("plan.json")))
errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
ck.ok(not errs, "the document is valid against schemas/plan.v1.schema.json", [e.message for e in errs[:5]])
ch = [(x["action"], x["workload"]) for x in doc["changes"]]
ck.ok(ch == [("create", "nye-api-overflow"), ("create", "nye-api")],
      "the change set creates the function part, then the container part", ch)
rc, out, err = env.run("plan", "--no-save", "--format", "focus", spec)
rows = list(csv.DictReader(io.StringIO(out)))
parts = {r["x_Workload"] for r in rows}
billed = sum(D(r["BilledCost"]) for r in rows)
ck.ok(rc == 0 and parts == {"nye-api", "nye-api-overflow"}, "FOCUS rows for both parts", (rc, parts, err[-300:]))
ck.ok(billed == D(plan["net_monthly_cost"]), "the FOCUS rows add up to the net total",
      (billed, plan["net_monthly_cost"]))

ck.ok(c["hybrid_part"].get("quantities_at_chosen_offers") is True and
      c["hybrid_part"]["simulated_at"] == "aws:fargate:us-east-1" and
      c["hybrid_part"]["simulated_function_at"] == "aws:lambda:us-east-1",
      "the quantities were simulated at the pair the solver chose", c["hybrid_part"])

# ---- a quota moves a part: simulated again at the pair chosen ----------------------------
qenv = Env(None)
with open(os.path.join(qenv.home, "config.json"), "w") as fh:
    json.dump({"quotas": {"aws:us-east-1": {"instances": 1}}}, fh)
qspec = qenv.write("nye.yaml", NYE_ECR)
rc, out, err = qenv.run("plan", "--no-save", "--format", "json", qspec)
ck.ok(rc == 0, "plan with one instance allowed in aws:us-east-1 exits 0", err[-500:])
if rc == 0:
    q = json.loads(out)
    qw = {w["name"]: w for w in q["workloads"]}
    labels = {n: "%s:%s:%s" % (w["placement"]["provider"], w["placement"]["service"], w["placement"]["region"])
              for n, w in qw.items()}
    hp = qw["nye-api"]["hybrid_part"]
    ck.ok(sum(1 for v in labels.values() if v.endswith(":us-east-1")) == 1,
          "the quota moves one part out of us-east-1", labels)
    ck.ok(hp["simulated_at"] == labels["nye-api"] and hp["simulated_function_at"] == labels["nye-api-overflow"] and
          hp.get("quantities_at_chosen_offers") is True,
          "the moved pair is simulated again: the quantities are the chosen pair's", (hp, labels))
    ck.ok(q["hybrid"][0]["containerOffer"] == labels["nye-api"] and
          q["hybrid"][0]["functionOffer"] == labels["nye-api-overflow"],
          "the strategies side by side are simulated at that pair too", q["hybrid"][0]["functionOffer"])
qenv.close()

# ---- budgets see both parts ---------------------------------------------------------
total = D(plan["total_monthly_cost"])
for budget, feasible in ((total - 50, False), (total + 1, True)):
    b = env.write(f"budget-{budget}.yaml", NYE_ECR.replace(
        "    latencySLO: {p99: 1500ms}", f"    latencySLO: {{p99: 1500ms}}\n    budget: {{monthly: \"{budget:.2f}\"}}"))
    rc, p, err = plan_json(b)
    if feasible:
        ck.ok(rc == 0 and len(p["workloads"]) == 2, f"a budget of {budget:.2f} (above the pair's cost): placed",
              (rc, err[-500:]))
    else:
        ck.ok(rc == 3 and "budget of hybrid workload telecom/nye-api" in (json.dumps(p) + err),
              f"a budget of {budget:.2f} (below the pair's cost): no placement, the hybrid budget named",
              (rc, err[-500:]))

# ---- single and auto ------------------------------------------------------------------
single = env.write("single.yaml", NYE_ECR.replace("strategy: hybrid", "strategy: single"))
rc, p, err = plan_json(single)
ck.ok(rc == 0 and [w["name"] for w in p["workloads"]] == ["nye-api"] and "hybrid_part" not in p["workloads"][0],
      "strategy single: one workload", (rc, err[-300:]))
trickle = NYE_ECR.replace("strategy: hybrid", "strategy: auto")
for r in (1400, 2100, 2800, 4200, 5600, 6300):
    trickle = trickle.replace(f"rps: {r}}}", "rps: 0.2}")
auto = env.write("auto.yaml", trickle)
rc, p, err = plan_json(auto)
ck.ok(rc == 0 and [w["name"] for w in p["workloads"]] == ["nye-api"],
      "strategy auto with a trickle of traffic: one workload", (rc, err[-300:]))
placed = p["hybrid"][0]["placed"] if p else {}
ck.ok(placed.get("as") == "one offer" and "auto" in placed.get("why", ""), "and the plan says why", placed)

# ---- apply deploys both parts ---------------------------------------------------------
fake = Fake()
aenv = Env(fake)
aspec = aenv.write("nye.yaml", NYE_ECR)
rc, out, err = aenv.run("apply", "--yes", aspec)
ck.ok(rc == 0, "apply exits 0", err[-800:])
log = fake.log()


def target(e):
    return dict(e["headers"]).get("X-Amz-Target", "")


def body(e):
    try:
        return json.loads(e.get("body") or "null")
    except ValueError:
        return None


create_fn = [e for e in log if e["method"] == "POST" and e["path"] == "/2015-03-31/functions"]
create_url = [e for e in log if e["method"] == "POST" and e["path"].endswith("nye-api-overflow/url")]
create_svc = [e for e in log if target(e).endswith(".CreateService")]
task_def = [e for e in log if target(e).endswith(".RegisterTaskDefinition")]
scal = [e for e in log if target(e).endswith(".RegisterScalableTarget")]
ck.ok(len(create_fn) == 1 and len(create_svc) == 1 and create_fn[0]["seq"] < create_svc[0]["seq"],
      "one Lambda function and one ECS service, the function first", [(e["method"], e["path"]) for e in log])
fb = body(create_fn[0]) if create_fn else {}
ck.ok(fb and fb.get("Code", {}).get("ImageUri", "").endswith("/nye-api:1.4") and
      fb.get("MemorySize") == c["hybrid_part"].get("function_memory_mib", fb.get("MemorySize")) and
      fb.get("FunctionName", "").endswith("nye-api-overflow"),
      "the function part runs the workload's image", fb)
ck.ok(len(create_url) == 1, "the function part gets a function URL (the gateway's backup)")
url = None
state = fake.state()
for fn in json.dumps(state).split('"FunctionUrl": "')[1:]:
    url = fn.split('"')[0]
td = body(task_def[0]) if task_def else {}
envs = {}
for cd in (td or {}).get("containerDefinitions", []):
    for kv in cd.get("environment", []):
        envs[kv["name"]] = kv["value"]
ck.ok(url and envs.get("FEDBROKER_ENDPOINT_NYE_API_OVERFLOW") == url,
      "the containers get the function's URL in FEDBROKER_ENDPOINT_NYE_API_OVERFLOW", (url, envs))
sb = body(scal[0]) if scal else {}
ck.ok(sb and sb.get("MinCapacity") == max(1, h["baseline"]) and sb.get("MaxCapacity") == 45,
      "the containers autoscale from the baseline (at least 1) to maxInstances", sb)
rows = aenv.db("SELECT name FROM workloads ORDER BY name")
ck.ok([r[0] for r in rows] == ["nye-api", "nye-api-overflow"], "the store has both parts", rows)
fake.close()
aenv.close()
env.close()
ck.done()
