#!/usr/bin/python3
"""placement.strategy predictive on Google Cloud (issue 17,
docs/simulation.md, "Capacity schedules"; drivers/gcp/README.md): the plan
places both parts of examples/hybrid-nye-predictive.yaml on Cloud Run, and
apply deploys the capacity schedule as Cloud Scheduler jobs that patch each
service's service-level scaling.minInstanceCount, through the real CLI and
the gcp driver against tests/fakes/fake_gcp.py (every request validated
against Google's discovery documents: cloudscheduler v1, run v2, iam v1).

- plan: both parts on gcp:cloud-run, hybrid-predictive, with the schedule;
  the function part's warm instances are priced (a capacity-schedule line).
- apply --dry-run --format json: the exact requests: the scaler account,
  roles/run.developer on each service, and one jobs.create per step of each
  part's schedule (the part schedules derived here from the plan's
  hybrid_part.schedule by the documented rule: consecutive equal values
  merged, the container part's floor, afterMinInstances), each a PATCH of
  the service with updateMask=scaling.minInstanceCount, the body's base64
  decoding to {"scaling": {"minInstanceCount": N}}, an OAuth token of the
  scaler, unix-cron at start + offset - lead (UTC).
- apply: the jobs in the fake equal the dry run's; then, the fake
  enforcing IAM (only the test's admin may call anything; others what a
  binding on the resource grants), each job is executed as Cloud Scheduler would (its uri, method, headers and body, with an access token
  of its oauthToken account) in time order, and after each the service's
  minInstanceCount is the schedule's floor at that step; the scaler may not
  patch the other part's service nor create a service (least privilege);
  discover finds every job tracked.
- status: no drift; a job's cron changed, one paused and one deleted out of
  band are drift (exit 4); apply repairs them (the paused one resumed); a
  further apply writes no job and no account (idempotent).
- destroy: no job, scaler account or service is left; nor after an apply
  that failed in the middle (Cloud Scheduler refusing the creates) and the
  apply that resumed it.
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import base64
import datetime
import json
import os
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gcp"))
from gcptest import APIS, PROJECT, REGION, TOP, Checker, Env, Fake, members, skip_unless_built  # noqa: E402

skip_unless_built()
ck = Checker("hybrid predictive on gcp")
SRC = open(os.path.join(TOP, "examples", "hybrid-nye-predictive.yaml")).read()
NYE = SRC.replace("ghcr.io/acme/nye-api:1.4", "europe-docker.pkg.dev/acme/nye/nye-api:1.4").replace(
    "    strategy: predictive\n", "    strategy: predictive\n    providers: [gcp]\n    regions: [gcp:%s]\n" % REGION)
assert NYE != SRC and "providers: [gcp]" in NYE
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
# the scaler accounts and their bindings go through IAM's API too
env = Env(fake, endpoints={a: "%s/%s" % (fake.url, a) for a in APIS + ("iam",)})
spec = env.write("nye.yaml", NYE)
T0 = datetime.datetime(2026, 12, 31, 18, tzinfo=datetime.timezone.utc)

# ---- plan ----------------------------------------------------------------------------------
rc, out, err = env.run("plan", "--no-save", "--format", "json", spec)
ck.ok(rc == 0, "plan of the predictive example on gcp exits 0", err[-1500:])
plan = json.loads(out) if rc == 0 else {"workloads": [], "hybrid": [{}]}
wl = {w["name"]: w for w in plan["workloads"]}
c, f = wl.get("nye-api", {}), wl.get("nye-api-overflow", {})
ck.ok(c.get("placement", {}).get("service") == "cloud-run" and f.get("placement", {}).get("service") == "cloud-run"
      and c.get("placement", {}).get("provider") == "gcp",
      "both parts are placed on gcp:cloud-run", (c.get("placement"), f.get("placement")))
hp = c.get("hybrid_part", {})
ck.ok(hp.get("strategy") == "hybrid-predictive", "placed as hybrid-predictive", hp.get("strategy"))
sched = hp.get("schedule", {})
ck.ok(sched.get("repeat") == "once" and sched.get("start") == "2026-12-31T18:00:00Z" and sched.get("steps"),
      "the plan carries the one-off schedule", sched)
ck.ok(any("capacity schedule" in (ln.get("note") or "") for ln in f.get("lines", [])),
      "the function part's warm instances are priced", [ln.get("note") for ln in f.get("lines", [])])
LEAD = sched.get("leadSeconds", 60)
PERIOD = sched.get("periodSeconds", 0)
floor = max(1, hp.get("baseline", 0))


def part_steps(col, lo):
    """The documented rule (docs/simulation.md): the column, none below lo,
    consecutive equal values merged."""
    out, last = [], None
    for s in sched.get("steps", []):
        v = max(lo, s[col])
        if v != last:
            out.append((s["offsetSeconds"], v))
            last = v
    return out


want_parts = {}
if max((s["containers"] for s in sched.get("steps", [])), default=0) > floor:
    want_parts["nye-api"] = (part_steps("containers", floor), floor)
if max((s["warmFunctions"] for s in sched.get("steps", [])), default=0) > 0:
    want_parts["nye-api-overflow"] = (part_steps("warmFunctions", 0), 0)
ck.ok(set(want_parts) == {"nye-api", "nye-api-overflow"}, "both parts have a schedule", list(want_parts))


def cron(t):
    return "%d %d %d %d *" % (t.minute, t.hour, t.day, t.month)


def expected_jobs():
    """{job id: (cron, service, min)} from the part schedules."""
    out = {}
    for part, (steps, after) in want_parts.items():
        svc = "projects/%s/locations/%s/services/%s" % (PROJECT, REGION, part)
        for i, (off, v) in enumerate(steps):
            out["%s-cap-%03d" % (part, i)] = (cron(T0 + datetime.timedelta(seconds=off - LEAD)), svc, v)
        out["%s-cap-end" % part] = (cron(T0 + datetime.timedelta(seconds=PERIOD)), svc, after)
    return out


WANT = expected_jobs()


def scaler(part):
    return "fbs-telecom-%s@%s.iam.gserviceaccount.com" % (part, PROJECT)


def job_view(body):
    ht = body.get("httpTarget", {})
    raw = json.loads(base64.b64decode(ht.get("body", "")) or b"{}")
    uri = ht.get("uri", "")
    svc = uri.split("/run/v2/", 1)[-1].split("?", 1)[0]
    return {"cron": body.get("schedule"), "tz": body.get("timeZone"), "method": ht.get("httpMethod"),
            "query": uri.split("?", 1)[-1], "svc": svc, "payload": raw,
            "ct": (ht.get("headers") or {}).get("Content-Type"),
            "sa": (ht.get("oauthToken") or {}).get("serviceAccountEmail")}


def check_jobs(jobs, what):
    ok = set(jobs) == set(WANT)
    bad = []
    for jid, body in jobs.items():
        w = WANT.get(jid)
        v = job_view(body)
        part = jid.rsplit("-cap-", 1)[0]
        if not w or (v["cron"], v["svc"], v["payload"]) != (w[0], w[1], {"scaling": {"minInstanceCount": w[2]}}) \
                or v["method"] != "PATCH" or v["query"] != "updateMask=scaling.minInstanceCount" or \
                v["tz"] != "Etc/UTC" or v["sa"] != scaler(part) or v["ct"] != "application/json" or \
                body.get("description") != "fedbroker telecom/%s" % part:
            bad.append((jid, v, w))
    ck.ok(ok and not bad, "%s: one job per step of each part's schedule and an end job, each patching its "
          "service's scaling.minInstanceCount with the scaler's OAuth token at start + offset - lead" % what,
          (sorted(set(jobs) ^ set(WANT)), bad[:3]))


# ---- the dry run -----------------------------------------------------------------------------
rc, out, err = env.run("apply", "--dry-run", "--format", "json", spec)
ck.ok(rc == 0, "apply --dry-run exits 0", err[-1500:])
reqs = json.loads(out) if rc == 0 and out.strip() else []
created = {}
for r in reqs:
    if r["method"] == "POST" and r["url"].split("?")[0].endswith("/locations/%s/jobs" % REGION):
        b = json.loads(r["body"])
        created[b["name"].rsplit("/", 1)[1]] = b
check_jobs({k: v for k, v in created.items() if "-cap-" in k}, "dry run")
grants = [json.loads(r["body"]) for r in reqs if r["url"].endswith(":setIamPolicy") and "/services/" in r["url"]]
ck.ok(any(b2.get("role") == "roles/run.developer" and b2.get("members") == ["serviceAccount:" + scaler("nye-api")]
          for g in grants for b2 in g["policy"]["bindings"]),
      "dry run: roles/run.developer for the scaler on the service", grants)
ck.ok(any(r["url"].endswith("/serviceAccounts") and json.loads(r["body"]).get("accountId") == "fbs-telecom-nye-api"
          for r in reqs), "dry run: the scaler account's create", [r["url"] for r in reqs])

# ---- apply ------------------------------------------------------------------------------------
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc == 0, "apply exits 0", err[-2000:])
live = {k: v for k, v in fake.jobs().items() if "-cap-" in k}
check_jobs(live, "after apply")
for part in ("nye-api", "nye-api-overflow"):
    pol = fake.policy("run", "projects/%s/locations/%s/services/%s" % (PROJECT, REGION, part))
    ck.ok(members(pol, "roles/run.developer") == ["serviceAccount:" + scaler(part)],
          "%s: only its scaler holds roles/run.developer on it" % part, pol)
st, proj_pol = fake.api("POST", "/cloudresourcemanager/v3/projects/%s:getIamPolicy" % PROJECT, {})
ck.ok(not any(scaler(p) in json.dumps(proj_pol or {}) for p in want_parts),
      "no project-level grant for the scalers", proj_pol)


def service(part):
    st, doc = fake.api("GET", "/run/v2/projects/%s/locations/%s/services/%s" % (PROJECT, REGION, part))
    return doc or {}


def execute(body):
    """What Cloud Scheduler does at the job's time: its HTTP request with an
    access token of its oauthToken account."""
    ht = body["httpTarget"]
    tok = fake.control("POST", "tokens", {"principal": "serviceAccount:" + ht["oauthToken"]["serviceAccountEmail"],
                                          "scopes": [ht["oauthToken"]["scope"]]})["access_token"]
    req = urllib.request.Request(ht["uri"], data=base64.b64decode(ht["body"]), method=ht["httpMethod"],
                                 headers=dict(ht.get("headers") or {}, Authorization="Bearer " + tok))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            code, op = r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    for _ in range(20):  # the update's operation, until done (the fake finishes it after a few reads)
        if op.get("done") or not op.get("name"):
            break
        _, op = fake.api("GET", "/run/v2/" + op["name"])
        op = op or {}
    return code, op


def when(body):
    m, h, d, mo, _ = body["schedule"].split()
    return (int(mo) if int(mo) > 1 else 13, int(d), int(h), int(m))  # Dec 31 before Jan 1


# the fake enforcing IAM from here: only the test's admin may do anything,
# the scalers only what their bindings on the services grant
fake.control("POST", "admins", {"principals": ["user:admin@example.com"]})
for part, (steps, after) in want_parts.items():
    ordered = sorted(((k, v) for k, v in live.items() if k.startswith(part + "-cap-")), key=lambda kv: when(kv[1]))
    seen, bad = [], []
    for jid, body in ordered:
        code, _ = execute(body)
        got = (service(part).get("scaling") or {}).get("minInstanceCount")
        seen.append((jid, code, got))
        if code != 200 or got != WANT[jid][2]:
            bad.append((jid, code, got, WANT[jid][2]))
    ck.ok(not bad and len(seen) == len(steps) + 1,
          "%s: executing each job in time order sets minInstanceCount to the schedule's floor of that step, the "
          "end job to %d" % (part, after), bad or seen)
other = {k: v for k, v in live.items() if k.startswith("nye-api-cap-")}
if other:
    b = json.loads(json.dumps(next(iter(other.values()))))
    b["httpTarget"]["uri"] = b["httpTarget"]["uri"].replace("/services/nye-api?", "/services/nye-api-overflow?")
    code, doc = execute(b)
    ck.ok(code == 403, "least privilege: the container part's scaler may not patch the function part's service",
          (code, doc))
    tok = fake.control("POST", "tokens", {"principal": "serviceAccount:" + scaler("nye-api")})["access_token"]
    st, doc, _ = fake.call("POST", "/run/v2/projects/%s/locations/%s/services?serviceId=x" % (PROJECT, REGION),
                           {"template": {"containers": [{"image": "europe-docker.pkg.dev/p/r/x:1"}]}}, tok)
    ck.ok(st == 403, "least privilege: the scaler may not create a service", (st, doc))
fake.control("POST", "admins", {"principals": None})
ck.ok(env.untracked() == [], "discover: every job, account and binding is tracked", env.untracked())
rc, out, err = env.run("discover", "--provider", "gcp", "--format", "json")
rows = json.loads(out) if rc == 0 else []
cap_rows = [r for r in rows if r.get("type") == "scheduler-capacity-job"]
ck.ok(len(cap_rows) == len(WANT) and all(r.get("managed") and r.get("tracked") for r in cap_rows),
      "discover lists the capacity jobs, managed and tracked", (cap_rows[:2], rc, err[-400:], sorted({r.get("type") for r in rows})))

# ---- drift and its repair --------------------------------------------------------------------
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(d["drift"] == [] for d in json.loads(out or "[]")), "no drift right after apply",
      (rc, out[-1500:], err[-500:]))
jn = "projects/%s/locations/%s/jobs/" % (PROJECT, REGION)
st1, _ = fake.api("PATCH", "/cloudscheduler/v1/%snye-api-cap-001?updateMask=schedule" % jn,
                  {"schedule": "7 7 7 7 *"})
st2, _ = fake.api("POST", "/cloudscheduler/v1/%snye-api-overflow-cap-001:pause" % jn, {})
st3, _ = fake.api("DELETE", "/cloudscheduler/v1/%snye-api-cap-end" % jn)
ck.ok((st1, st2, st3) == (200, 200, 200), "out-of-band changes made", (st1, st2, st3))
rc, out, err = env.run("status", "--format", "json")
fields = {d["workload"]: [x["field"] for x in d["drift"]] for d in json.loads(out or "[]")}
ck.ok(rc == 4 and "schedule.nye-api-cap-001.schedule" in fields.get("nye-api", []) and
      "schedule.nye-api-cap-end" in fields.get("nye-api", []) and
      "schedule.nye-api-overflow-cap-001.state" in fields.get("nye-api-overflow", []),
      "status reports the changed, deleted and paused jobs as drift (exit 4)", (rc, fields, err[-500:]))
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc == 0, "apply repairs the schedule", err[-1500:])
live = {k: v for k, v in fake.jobs().items() if "-cap-" in k}
check_jobs(live, "after the repair")
ck.ok(live.get("nye-api-overflow-cap-001", {}).get("state") == "ENABLED", "the paused job is resumed",
      live.get("nye-api-overflow-cap-001", {}).get("state"))
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(d["drift"] == [] for d in json.loads(out or "[]")), "no drift after the repair",
      (rc, out[-1500:]))
seq = fake.seq()
rc, out, err = env.run("apply", "--yes", spec)
writes = [e.get("method_id") for e in fake.log(seq) if (e.get("method_id") or "").startswith(
    ("cloudscheduler.projects.locations.jobs.", "iam.projects.serviceAccounts.create"))
    and not e["method_id"].endswith((".get", ".list"))]
listed = [e for e in fake.log(seq) if e.get("method_id") == "cloudscheduler.projects.locations.jobs.list"]
ck.ok(rc == 0 and writes == [] and listed, "apply again: the schedule is left as it is (no job or account written)",
      (rc, writes, err[-500:]))

# ---- destroy ---------------------------------------------------------------------------------
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy exits 0", err[-1500:])
ck.ok(not fake.jobs() and not fake.services(), "destroy leaves no job and no service",
      (list(fake.jobs()), list(fake.services())))
st, doc = fake.api("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT)
ck.ok(not [a["email"] for a in (doc or {}).get("accounts", []) if a["email"].startswith("fbs-")],
      "destroy deletes the scaler accounts", doc)
ck.ok(env.untracked() == [], "discover finds nothing left", env.untracked())

# ---- a failure in the middle: nothing orphaned, the next apply resumes -------------------------
fake.faults({"method": "cloudscheduler.projects.locations.jobs.create", "status": 400, "count": 1000})
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc != 0 and not [k for k in fake.jobs() if "-cap-" in k],
      "apply with Cloud Scheduler refusing every create fails, no job made", (rc, list(fake.jobs())))
fake.clear_faults()
rc, out, err = env.run("apply", "--yes", spec)
live = {k: v for k, v in fake.jobs().items() if "-cap-" in k}
ck.ok(rc == 0, "the next apply completes", err[-1500:])
check_jobs(live, "after the resumed apply")
rc, out, err = env.run("destroy", "--all")
st, doc = fake.api("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT)
ck.ok(rc == 0 and not fake.jobs() and not fake.services() and
      not [a["email"] for a in (doc or {}).get("accounts", []) if a["email"].startswith("fbs-")] and
      env.untracked() == [], "destroy after the interrupted apply leaves nothing",
      (rc, list(fake.jobs()), list(fake.services()), err[-500:]))
ck.done()
