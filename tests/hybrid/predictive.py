#!/usr/bin/python3
"""placement.strategy predictive (issue 17, docs/simulation.md, "Capacity
schedules"): the plan places the hybrid-predictive strategy with the
capacity schedule the simulator chose, and apply deploys it as Application
Auto Scaling scheduled actions, through the real CLI and the aws driver
against tests/fakes/fake_aws.py (botocore recomputes every signature and
validates every request against the reference models, application-
autoscaling 2016-02-06 and lambda 2015-03-31 of botocore 1.43.11).

- plan of examples/hybrid-nye-predictive.yaml: both parts say
  hybrid-predictive; the schedule per hour is what the documented model
  gives for a planned event (the forecast is the profile): replicas
  ceil(rps x meanDuration / (targetConcurrency x 70%)) within [floor,
  maxInstances], warm function instances for the load above maxInstances
  x targetConcurrency; computed here from the profile, not read from our
  code; the baseline is `simulate`'s; the function part's provisioned
  concurrency line is the schedule's mean x the month x its memory; the
  document is valid against schemas/plan.v1.schema.json.
- apply --dry-run --format json: the exact requests, with a
  PutScheduledAction per change of the floor (at(start + offset - lead))
  and an end action, on the ECS service and on the Lambda alias, whose URL
  is the alias's.
- apply: the scheduled actions in the fake equal the plan's schedule; the
  alias points at the published version; the alias's public URL answers.
- status: no drift; an action changed and one deleted out of band are
  drift; apply repairs it.
- destroy: no scalable target, scheduled action, function or service left.
- on gcp only, both parts are placed on Cloud Run (the gcp driver renders
  schedules: tests/hybrid/predictive_gcp.py).
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import datetime
import json
import math
import os
import sys
import urllib.request
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import ACCOUNT, TOP, Checker, Env, Fake  # noqa: E402

import jsonschema  # noqa: E402
import yaml  # noqa: E402

ck = Checker("hybrid predictive")
SRC = open(os.path.join(TOP, "examples", "hybrid-nye-predictive.yaml")).read()
# Lambda pulls images only from ECR in its own region
NYE = SRC.replace("ghcr.io/acme/nye-api:1.4", f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/nye-api:1.4")
assert NYE != SRC
y = yaml.safe_load(NYE)
profile = y["spec"]["traffic"]["profile"]
D = 0.1  # meanDuration 100ms
C = y["spec"]["scaling"]["targetConcurrency"]
MAXI = y["spec"]["scaling"]["maxInstances"]

fake = Fake()
env = Env(fake)
spec = env.write("nye.yaml", NYE)

# ---- the plan carries the schedule --------------------------------------------------
rc, out, err = env.run("simulate", spec, "--strategy", "hybrid-predictive", "--no-steps", "--format", "json")
ck.ok(rc == 0, "simulate exits 0", err[-500:])
sim = json.loads(out)
sp = sim["strategies"][0]
start_ms = sim["offers"]["containers"]["startMs"]
rc, out, err = env.run("plan", "--no-save", "--format", "json", spec)
ck.ok(rc == 0, "plan of the predictive example exits 0", err[-800:])
plan = json.loads(out) if out.strip() else {"workloads": [], "hybrid": [{}]}
wl = {w["name"]: w for w in plan["workloads"]}
ck.ok(sorted(wl) == ["nye-api", "nye-api-overflow"], "two parts", sorted(wl))
c, f = wl.get("nye-api", {}), wl.get("nye-api-overflow", {})
hp = c.get("hybrid_part", {})
ck.ok(hp.get("strategy") == "hybrid-predictive" and f.get("hybrid_part", {}).get("strategy") == "hybrid-predictive",
      "both parts are the hybrid-predictive strategy's", hp.get("strategy"))
ck.ok(plan["hybrid"][0].get("placed", {}).get("strategy") == "hybrid-predictive",
      "hybrid[].placed names the strategy placed", plan["hybrid"][0].get("placed"))
ck.ok(hp.get("baseline") == sp["baseline"], "the baseline is simulate's", (hp.get("baseline"), sp["baseline"]))
floor = max(1, sp["baseline"])
want = []
for pt in profile:  # hourly steps: one row each
    load = pt["rps"] * D
    reps = min(MAXI, max(floor, math.ceil(load / (C * 0.7) - 1e-9)))
    # warm instances: the forecast overflow above the replicas the schedule keeps
    warm = max(0, math.ceil(load - min(MAXI, max(sp["baseline"], math.ceil(load / (C * 0.7) - 1e-9))) * C - 1e-9))
    want.append((reps, warm))
sched = hp.get("schedule", {})
got = [(s["containers"], s["warmFunctions"]) for s in sched.get("steps", [])]
ck.ok(got == want, "the schedule per hour is the model's for the planned event (replicas, warm instances)",
      (got, want))
lead = math.ceil(start_ms / 1000 / 60) * 60
ck.ok(sched.get("repeat") == "once" and sched.get("start") == "2026-12-31T18:00:00Z" and
      sched.get("periodSeconds") == 9 * 3600 and sched.get("leadSeconds") == lead,
      "a one-off schedule from the profile's start, over its 9 hours, acting the container start "
      "time (rounded up to a minute) ahead", sched)
schema = json.load(open(os.path.join(TOP, "schemas", "plan.v1.schema.json")))
rc, out, err = env.run("plan", spec, "--out", env.path("plan.json"))
doc = json.load(open(env.path("plan.json"))) if rc == 0 else {}
errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
ck.ok(rc == 0 and not errs, "the document is valid against schemas/plan.v1.schema.json",
      [e.message for e in errs[:5]] or err[-300:])

# ---- the dry run shows the exact requests -------------------------------------------
rc, out, err = env.run("apply", "--dry-run", "--format", "json", spec)
ck.ok(rc == 0, "apply --dry-run exits 0", err[-800:])
reqs = json.loads(out) if out.strip() else []


def target(r):
    return r["headers"].get("X-Amz-Target", "")


def actions_of(reqs, ns):
    out = {}
    for r in reqs:
        if target(r).endswith(".PutScheduledAction"):
            b = json.loads(r["body"])
            if b["ServiceNamespace"] == ns:
                out[b["ScheduledActionName"]] = (b["ResourceId"], b["Schedule"],
                                                 b["ScalableTargetAction"]["MinCapacity"],
                                                 b["ScalableTargetAction"]["MaxCapacity"])
    return out


t0 = datetime.datetime(2026, 12, 31, 18, tzinfo=datetime.timezone.utc)


def at(sec):
    return "at(%s)" % (t0 + datetime.timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S")


def expected(col, pin, after, rid):
    """The actions for one column of want: one per change, then the end."""
    out, last, i = {}, None, 0
    for h, row in enumerate(want):
        v = row[col]
        if v == last:
            continue
        out["fedbroker-step-%03d" % i] = (rid, at(h * 3600 - lead), v, v if pin else MAXI)
        last, i = v, i + 1
    out["fedbroker-end"] = (rid, at(len(want) * 3600), after, after if pin else MAXI)
    return out


ecs_rid = "service/prod/telecom-nye-api"
fn_rid = "function:telecom-nye-api-overflow:fedbroker"
want_ecs = expected(0, False, floor, ecs_rid)
want_fn = expected(1, True, 0, fn_rid)
ck.ok(actions_of(reqs, "ecs") == want_ecs, "dry run: the ECS service's scheduled actions are the schedule's floors",
      (actions_of(reqs, "ecs"), want_ecs))
ck.ok(actions_of(reqs, "lambda") == want_fn,
      "dry run: the alias's scheduled actions hold the warm instances as provisioned concurrency",
      (actions_of(reqs, "lambda"), want_fn))
pc_target = [json.loads(r["body"]) for r in reqs if target(r).endswith(".RegisterScalableTarget")
             and json.loads(r["body"])["ServiceNamespace"] == "lambda"]
ck.ok(pc_target and pc_target[0]["ResourceId"] == fn_rid and
      pc_target[0]["ScalableDimension"] == "lambda:function:ProvisionedConcurrency" and
      pc_target[0]["MaxCapacity"] == max(w for _, w in want),
      "dry run: the alias's provisioned concurrency is a scalable target up to the most warm instances", pc_target)
url_req = [r for r in reqs if r["url"].split("?")[0].endswith("/telecom-nye-api-overflow/url")]
ck.ok(url_req and url_req[0]["url"].endswith("?Qualifier=fedbroker"),
      "dry run: the function URL is the alias's", [r["url"] for r in url_req])
fn_mem = [json.loads(r["body"])["MemorySize"] for r in reqs if r["url"].endswith("/2015-03-31/functions")]

# ---- the function part is priced with the schedule it deploys ----------------------------
lines = {ln["metric"]: ln for ln in f.get("lines", [])}
pc = lines.get("provisioned_concurrency", {})
mean_p = Decimal(0)
steps = [w for _, w in want]
for h, w in enumerate(steps):
    secs = 3600 + (lead if h == len(steps) - 1 else 0)
    mean_p += Decimal(w * secs)
mean_p /= Decimal(9 * 3600)
want_gbs = mean_p * 2628000 * Decimal(fn_mem[0] if fn_mem else 0) / 1024
ck.ok(pc and abs(Decimal(pc["quantity"]) - want_gbs) < Decimal("0.01"),
      "provisioned concurrency GB-seconds = the schedule's mean warm instances x 730 h x the function's memory",
      (pc.get("quantity"), want_gbs))
tot = sum(Decimal(w["contracted_cost"]) for w in plan["workloads"]) + \
    sum(Decimal(lk["monthly_cost"]) for lk in plan.get("links", []))
ck.ok(tot == Decimal(plan.get("total_monthly_cost", "-1")), "workloads and links add up to the total",
      (tot, plan.get("total_monthly_cost")))

# ---- apply deploys it ---------------------------------------------------------------
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc == 0, "apply exits 0", err[-800:])
st = fake.state()


def live(ns):
    out = {}
    for a in st["autoscaling_scheduled_actions"].values():
        if a["ServiceNamespace"] == ns:
            out[a["ScheduledActionName"]] = (a["ResourceId"], a["Schedule"], a["ScalableTargetAction"]["MinCapacity"],
                                             a["ScalableTargetAction"]["MaxCapacity"])
    return out


ck.ok(live("ecs") == want_ecs, "the ECS service's scheduled actions in the fake equal the plan's schedule",
      (live("ecs"), want_ecs))
ck.ok(live("lambda") == want_fn, "the alias's scheduled actions in the fake equal the plan's warm instances",
      (live("lambda"), want_fn))
fn = st["lambda"].get("us-east-1|telecom-nye-api-overflow", {})
ck.ok(fn.get("aliases", {}).get("fedbroker", {}).get("FunctionVersion") == "1" and
      [v["config"]["Version"] for v in fn.get("versions", [])] == ["1"],
      "the alias points at the version apply published", (fn.get("aliases"), len(fn.get("versions", []))))
ck.ok((fn.get("url") or {}).get("FunctionArn", "").endswith(":telecom-nye-api-overflow:fedbroker"),
      "the function URL belongs to the alias", fn.get("url"))
if fn.get("url"):
    host = fn["url"]["FunctionUrl"].split("/")[2]
    req = urllib.request.Request(fake.base + "/", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    ck.ok(code == 200, "the alias's public URL answers an anonymous call (its own permissions)", code)

rc, out, err = env.run("status", "--format", "json")
res = {s["workload"]: s for s in json.loads(out)} if out.strip() else {}
ck.ok(rc == 0 and all(not s["drift"] for s in res.values()), "status: no drift", out[-800:] + err[-300:])

# re-apply: nothing new (the same version, the same actions), and the
# floor an action set (as if 20:59's had run) is kept, not reset
aas0 = fake.client("application-autoscaling", "us-east-1")
aas0.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/prod/telecom-nye-api",
                              ScalableDimension="ecs:service:DesiredCount", MinCapacity=45)
rc, out, err = env.run("apply", "--yes", spec)
st2 = fake.state()
tg = st2["autoscaling_targets"].get("us-east-1|ecs|service/prod/telecom-nye-api|ecs:service:DesiredCount", {})
ck.ok(tg.get("MinCapacity") == 45 and tg.get("MaxCapacity") == MAXI,
      "apply in the middle of the schedule keeps the floor its last action set", tg)
fn2 = st2["lambda"].get("us-east-1|telecom-nye-api-overflow", {})
ck.ok(rc == 0 and len(fn2.get("versions", [])) == 1 and len(st2["autoscaling_scheduled_actions"]) ==
      len(want_ecs) + len(want_fn), "apply again: no new version, the same actions", (rc, err[-300:]))

# ---- drift -----------------------------------------------------------------------------
aas = fake.client("application-autoscaling", "us-east-1")
aas.put_scheduled_action(ServiceNamespace="ecs", ResourceId=ecs_rid, ScalableDimension="ecs:service:DesiredCount",
                         ScheduledActionName="fedbroker-step-001", ScalableTargetAction={"MinCapacity": 5,
                                                                                         "MaxCapacity": MAXI})
aas.delete_scheduled_action(ServiceNamespace="lambda", ResourceId=fn_rid,
                            ScalableDimension="lambda:function:ProvisionedConcurrency",
                            ScheduledActionName="fedbroker-end")
rc, out, err = env.run("status", "--format", "json")
res = {s["workload"]: s for s in json.loads(out)} if out.strip() else {}
cd = {d["field"]: (d["want"], d["live"]) for d in res.get("nye-api", {}).get("drift", [])}
fd = {d["field"]: (d["want"], d["live"]) for d in res.get("nye-api-overflow", {}).get("drift", [])}
ck.ok(rc == 4 and list(cd) == ["schedule.fedbroker-step-001"] and cd["schedule.fedbroker-step-001"][1]["min"] == 5,
      "status: the changed ECS action is drift, with want and live", (rc, cd))
ck.ok(list(fd) == ["schedule.fedbroker-end"] and fd["schedule.fedbroker-end"][1] is None,
      "status: the deleted Lambda action is drift", fd)
rc, out, err = env.run("apply", "--yes", spec)
rc2, out, err2 = env.run("status", "--format", "json")
ck.ok(rc == 0 and rc2 == 0 and live("ecs") == want_ecs, "apply repairs the schedule", (rc, rc2, err[-300:]))
st = fake.state()
ck.ok(live("ecs") == want_ecs and live("lambda") == want_fn, "after the repair the fake holds the plan's schedule")

# ---- destroy -----------------------------------------------------------------------------
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy exits 0", err[-800:])
st = fake.state()
ck.ok(not st["autoscaling_targets"] and not st["autoscaling_scheduled_actions"] and not st["lambda"] and
      all(s["status"] != "ACTIVE" for s in st["ecs_services"].values()),
      "destroy leaves no scalable target, scheduled action, function or active service",
      (list(st["autoscaling_targets"]), list(st["autoscaling_scheduled_actions"]), list(st["lambda"])))
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy again: nothing left, exit 0", err[-300:])

# ---- a daily pattern: recurring cron() actions ------------------------------------------------
# 24 hourly rates from 00:00 UTC, repeated every day: the forecast is the
# pattern itself, each step's action runs at H:00 minus the lead (00:00's
# on the day before, 23:59), and a repeating schedule has no end action
day = [1400] * 8 + [2800] * 4 + [6300] * 2 + [2800] * 6 + [1400] * 4
daily = NYE
start = daily.index("    profile:")
end = daily.index("  placement:")
daily = daily[:start] + "    profile: {pattern: daily, step: 1h, rps: [%s]}\n" % ", ".join(map(str, day)) + daily[end:]
dspec = env.write("daily.yaml", daily)
rc, out, err = env.run("simulate", dspec, "--strategy", "hybrid-predictive", "--no-steps", "--format", "json")
dbase = json.loads(out)["strategies"][0]["baseline"] if rc == 0 else -1
rc, out, err = env.run("apply", "--dry-run", "--format", "json", dspec)
ck.ok(rc == 0, "daily pattern: apply --dry-run exits 0", err[-600:])
dreqs = json.loads(out) if rc == 0 and out.strip() else []
dfloor = max(1, dbase)


def cron(sec):
    sec %= 86400
    return "cron(%d %d * * ? *)" % (sec // 60 % 60, sec // 3600)


def dexpected(col, pin, rid):
    out, last, i = {}, None, 0
    for h, r in enumerate(day):
        load = r * D
        reps = min(MAXI, max(dbase, math.ceil(load / (C * 0.7) - 1e-9)))
        v = max(dfloor, reps) if col == 0 else max(0, math.ceil(load - reps * C - 1e-9))
        if v == last:
            continue
        out["fedbroker-step-%03d" % i] = (rid, cron(h * 3600 - lead), v, v if pin else MAXI)
        last, i = v, i + 1
    return out


ck.ok(actions_of(dreqs, "ecs") == dexpected(0, False, ecs_rid),
      "daily pattern: the ECS floors as cron() actions a lead ahead (00:00's at 23:59), no end action",
      (actions_of(dreqs, "ecs"), dexpected(0, False, ecs_rid)))
ck.ok(actions_of(dreqs, "lambda") == dexpected(1, True, fn_rid),
      "daily pattern: the warm instances as cron() actions", (actions_of(dreqs, "lambda"), dexpected(1, True, fn_rid)))

# ---- the table shows the schedule ------------------------------------------------------------
rc, out, err = env.run("plan", "--no-save", spec)
ck.ok(rc == 0 and "capacity schedule (once from 2026-12-31T18:00:00Z, each step %d s ahead" % lead in out and
      any(ln.split() == ["+5h00m", "45", "180"] for ln in out.splitlines()),
      "plan's table shows the capacity schedule", out[-1500:])

# ---- gcp renders schedules too (tests/hybrid/predictive_gcp.py deploys them) -----------------
gspec = env.write("gcp.yaml", SRC.replace("ghcr.io/acme", "docker.io/acme").replace("    strategy: predictive", "    strategy: predictive\n    providers: [gcp]"))
rc, out, err = env.run("plan", "--no-save", "--format", "json", gspec)
gw = {w["name"]: w for w in (json.loads(out) if rc == 0 else {"workloads": []})["workloads"]}
ck.ok(rc == 0 and all(w["placement"]["service"] == "cloud-run" and
                      w.get("hybrid_part", {}).get("strategy") == "hybrid-predictive" for w in gw.values()) and
      len(gw) == 2,
      "predictive on gcp only: both parts on Cloud Run, which renders the schedule", (rc, err[-600:]))

fake.close()
env.close()
ck.done()
