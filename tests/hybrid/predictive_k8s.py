#!/usr/bin/python3
"""placement.strategy predictive on Kubernetes (issue 17, docs/simulation.md,
"Capacity schedules"): the plan places both parts of the hybrid-predictive
strategy on the cluster when it is the cheapest, and the k8s driver deploys
the capacity schedule as CronJobs (batch/v1) that `kubectl patch` the HPA's
minReplicas (or a Knative Service's min-scale), run as a ServiceAccount
whose Role allows get and patch on exactly that object; through the real
CLI and k8s.so against tests/fakes/fake_k8s.py (every object validated
against the Kubernetes 1.36 OpenAPI, RBAC enforced for service accounts
with --rbac).

- plan: with the cluster in new-york (the traffic's source) both parts land
  on k8s, each cheaper than its next-best offer; with providers [k8s] the
  parts carry the schedule.
- apply --dry-run: the exact requests: a ServiceAccount, Role, RoleBinding
  and one CronJob per change of each part's floor, each CronJob's cron
  (minute hour day month, Etc/UTC) = start + offset - lead, computed here
  with datetime from the plan's hybrid_part.schedule, and its patch = that
  step's floor.
- apply: the objects in the fake equal the dry run's; the HPA's floor is
  the one in effect now (before the event: the deployed floor).
- execute every CronJob as its Job would: take the token of the job's
  ServiceAccount (TokenRequest), GET and merge-PATCH what the container's
  kubectl arguments say, as that account; the HPA's minReplicas follows
  the plan's schedule step by step, and each one-off job suspends its own
  CronJob. The same account is refused (403) on the other part's HPA, on
  a Deployment, and on creating a CronJob: the fake's RBAC authorizer
  matches the Role's rules (apiGroups, resources, verbs, resourceNames).
- status: no drift (the schedule moves minReplicas; that is not drift);
  a CronJob's schedule changed, another deleted and the Role widened out
  of band are drift; apply repairs them.
- apply again changes nothing; every object is recorded in the store.
- a daily pattern: repeating crons (M H * * *) a lead ahead, wrapping;
  a weekly one: M H * * D with cron's weekdays.
- apply in the middle of the event (FEDBROKER_NOW): the HPA's floor is
  that hour's, the steps already past are applied suspended.
- strategy hybrid over it: the schedule's objects are deleted and the
  HPA's floor taken back from the schedule's manager; predictive again.
- discover lists the Role and RoleBinding as ours and tracked; destroy
  leaves nothing; a second destroy is a no-op.
- Knative: both parts on service knative: the CronJobs patch the Knative
  Service's autoscaling.knative.dev/min-scale, the Role names
  services.serving.knative.dev; one patch executed as the account.
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import datetime
import json
import time
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8s"))
import k8sdrv  # noqa: E402
from k8sdrv import TOP, Checker, Env, Fake, ours  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("hybrid predictive k8s")
SRC = open(os.path.join(TOP, "examples", "hybrid-nye-predictive.yaml")).read()
K8S_ONLY = SRC.replace("    strategy: predictive", "    strategy: predictive\n    providers: [k8s]")
assert K8S_ONLY != SRC
NS = "fb-telecom"

fake = Fake("--rbac", "--knative", "--rollout-delay-ms", "50", "--knative-delay-ms", "50")
env = Env(fake.kubeconfig("kc-admin"), location="new-york")
spec_any = env.write("nye.yaml", SRC)
spec = env.write("nye-k8s.yaml", K8S_ONLY)

# ---- the plan: k8s is the cheapest for both parts -------------------------------------
rc, out, err = env.run("plan", "--no-save", "--format", "json", spec_any)
ck.ok(rc == 0, "plan of the predictive example with the cluster in new-york exits 0", err[-800:])
plan = json.loads(out) if rc == 0 else {"workloads": []}
wl = {w["name"]: w for w in plan["workloads"]}
for name in ("nye-api", "nye-api-overflow"):
    w = wl.get(name, {})
    alts = [a for a in w.get("alternatives", []) if a.get("monthly_cost")]
    ck.ok(w.get("placement", {}).get("provider") == "k8s" and
          w.get("hybrid_part", {}).get("strategy") == "hybrid-predictive" and alts and
          all(float(a["monthly_cost"]) > float(w["monthly_cost"]) for a in alts),
          "%s: the predictive part is placed on k8s, cheaper than every alternative" % name,
          (w.get("placement"), w.get("monthly_cost"), [a.get("monthly_cost") for a in alts][:5]))

rc, out, err = env.run("plan", "--no-save", "--format", "json", spec)
ck.ok(rc == 0, "plan with providers [k8s] exits 0", err[-800:])
plan = json.loads(out) if rc == 0 else {"workloads": []}
wl = {w["name"]: w for w in plan["workloads"]}
hp = wl.get("nye-api", {}).get("hybrid_part", {})
sched = hp.get("schedule", {})
ck.ok(sched.get("repeat") == "once" and sched.get("start") == "2026-12-31T18:00:00Z" and sched.get("steps"),
      "the container part carries the one-off schedule", sched)
lead = sched.get("leadSeconds", 0)
t0 = datetime.datetime(2026, 12, 31, 18, tzinfo=datetime.timezone.utc)


def floors(col, base):
    """[(seconds from start the step acts, floor)] of one column: one per
    change (the first always), every floor at least base."""
    out, last = [], None
    for s in sched.get("steps", []):
        v = max(base, s[col])
        if v != last:
            out.append((s["offsetSeconds"] - lead, v))
            last = v
    return out


def cron_at(sec):
    t = t0 + datetime.timedelta(seconds=sec)
    t -= datetime.timedelta(seconds=t.second)
    return "%d %d %d %d *" % (t.minute, t.hour, t.day, t.month)


FLOOR = max(1, hp.get("baseline", 0))
# the HPA's minReplicas is at least 1; the container part's at least its baseline
want_c = floors("containers", FLOOR) + [(sched.get("periodSeconds", 0), FLOOR)]
want_f = floors("warmFunctions", 1) + [(sched.get("periodSeconds", 0), 1)]


def expected(name, rows):
    """{CronJob name: (cron, patched minReplicas)}."""
    out = {}
    for i, (sec, v) in enumerate(rows):
        last = i == len(rows) - 1
        out["%s-capacity-%s" % (name, "end" if last else "%03d" % i)] = (cron_at(sec), v)
    return out


exp = {**expected("nye-api", want_c), **expected("nye-api-overflow", want_f)}
ck.ok(len(exp) > 4, "the schedule has steps for both parts", exp)


def cronjobs_of(bodies):
    """{name: (cron, minReplicas its patch sets)} of CronJob bodies, and
    the check that each is what the job runs: kubectl patch of the HPA named
    as the part, in the namespace, merge type, then (one-off) the suspend."""
    out, bad = {}, []
    for b in bodies:
        pod = b["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        first = (pod.get("initContainers") or pod["containers"])[0]
        a = first["args"]
        part = b["metadata"]["name"].rsplit("-capacity-", 1)[0]
        if not (first["command"] == ["kubectl"] and a[:5] == ["patch", "horizontalpodautoscalers.autoscaling", part,
                                                             "--namespace", NS] and
                a[a.index("--type") + 1] == "merge" and pod["serviceAccountName"] == part + "-capacity" and
                b["spec"]["timeZone"] == "Etc/UTC"):
            bad.append(b["metadata"]["name"])
        suspend = pod["containers"][0]["args"] if pod.get("initContainers") else None
        if suspend != ["patch", "cronjobs.batch", b["metadata"]["name"], "--namespace", NS, "--type", "merge",
                       "--patch", '{"spec":{"suspend":true}}', "--field-manager", "fedbroker-capacity"]:
            bad.append(("suspend", b["metadata"]["name"], suspend))
        patch = json.loads(a[a.index("--patch") + 1])
        out[b["metadata"]["name"]] = (b["spec"]["schedule"], patch["spec"]["minReplicas"])
    return out, bad


PATHS_HPA = "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s"
# ---- the dry run: the exact requests ----------------------------------------------------
seq0 = fake.last_seq()
rc, out, err = env.run("apply", "--dry-run", "--format", "json", spec)
ck.ok(rc == 0, "apply --dry-run exits 0", err[-800:])
reqs = json.loads(out) if rc == 0 and out.strip() else []
bodies, floor_patches = {}, {}
for r in reqs:
    if r["method"] == "PATCH" and r.get("body"):
        b = json.loads(r["body"])
        if r["headers"].get("Content-Type") == "application/merge-patch+json":
            floor_patches[r["url"]] = b
        else:
            bodies[(b["kind"], b["metadata"]["name"])] = (r["url"].split("?")[0], b)
hpa_url = fake.url + PATHS_HPA % (NS, "%s") + "?fieldManager=fedbroker-capacity"
ck.ok(floor_patches == {hpa_url % "nye-api": {"spec": {"minReplicas": FLOOR}},
                        hpa_url % "nye-api-overflow": {"spec": {"minReplicas": 1}}} and
      "minReplicas" not in bodies.get(("HorizontalPodAutoscaler", "nye-api"), ("", {"spec": {}}))[1]["spec"],
      "dry run: the floor in effect now is a merge patch as the schedule's manager, not in fedbroker's apply",
      (floor_patches, bodies.get(("HorizontalPodAutoscaler", "nye-api"))))
dry_cj, bad = cronjobs_of([b for (k, _), (_, b) in bodies.items() if k == "CronJob"])
ck.ok(dry_cj == exp and not bad, "dry run: one CronJob per change of each part's floor, a lead ahead, "
      "its patch the step's floor", (dry_cj, exp, bad))
role = bodies.get(("Role", "nye-api-capacity"), ("", {}))
ck.ok(role[0].endswith("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/nye-api-capacity" % NS) and
      role[1].get("rules", [{}])[0] == {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
                                         "resourceNames": ["nye-api"], "verbs": ["get", "patch"]} and
      role[1]["rules"][1]["resources"] == ["cronjobs"] and
      sorted(role[1]["rules"][1]["resourceNames"]) == sorted(n for n in exp if n.startswith("nye-api-capacity")),
      "dry run: the Role allows get and patch on exactly the part's HPA and its own CronJobs", role)
rb = bodies.get(("RoleBinding", "nye-api-capacity"), ("", {}))[1]
ck.ok(rb.get("subjects") == [{"kind": "ServiceAccount", "name": "nye-api-capacity", "namespace": NS}] and
      rb.get("roleRef") == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "nye-api-capacity"},
      "dry run: the RoleBinding binds the ServiceAccount to the Role", rb)
ck.ok(not [e for e in fake.log(seq0) if e.get("method") != "GET"], "the dry run changed nothing in the cluster",
      [(e.get("method"), e.get("path")) for e in fake.log(seq0) if e.get("method") != "GET"][:5])

# ---- apply ------------------------------------------------------------------------------
seq = fake.last_seq()
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc == 0, "apply exits 0", err[-1500:])
ck.ok(not k8sdrv.rejected(fake.log(seq), allow=(("get", 404),)), "the fake (OpenAPI 1.36) refused nothing",
      k8sdrv.rejected(fake.log(seq), allow=(("get", 404),))[:5])


def objs(kind):
    return {o["metadata"]["name"]: o for o in fake.objects() if o["kind"] == kind and
            o["metadata"].get("namespace") == NS}


live_cj, bad = cronjobs_of(objs("CronJob").values())
ck.ok(live_cj == exp and not bad, "the CronJobs in the fake equal the plan's schedule", (live_cj, exp, bad))
ck.ok({"nye-api-capacity", "nye-api-overflow-capacity"} <= set(objs("ServiceAccount")) and
      {"nye-api-capacity", "nye-api-overflow-capacity"} <= set(objs("Role")) and
      {"nye-api-capacity", "nye-api-overflow-capacity"} <= set(objs("RoleBinding")),
      "a ServiceAccount, Role and RoleBinding per part")
hpas = objs("HorizontalPodAutoscaler")
ck.ok(hpas.get("nye-api", {}).get("spec", {}).get("minReplicas") == FLOOR and
      hpas.get("nye-api-overflow", {}).get("spec", {}).get("minReplicas") == 1,
      "before the event the HPAs hold the deployed floors", {k: v["spec"]["minReplicas"] for k, v in hpas.items()})
ck.ok(not [n for n, o in objs("CronJob").items() if o["spec"].get("suspend")], "no step is suspended before its time")
recorded = {(t, i) for t, i in env.db("SELECT type, cloud_id FROM resources WHERE provider='k8s'")}
want_rec = {("k8s:CronJob", "%s/%s" % (NS, n)) for n in exp} | \
    {(t, "%s/%s-capacity" % (NS, p)) for t in ("k8s:ServiceAccount", "k8s:Role", "k8s:RoleBinding")
     for p in ("nye-api", "nye-api-overflow")}
ck.ok(want_rec <= recorded, "every schedule object is recorded in the store with its id",
      sorted(want_rec - recorded))


def generations():
    return {(o["kind"], o["metadata"]["name"]): (o["metadata"].get("generation"), o["metadata"]["resourceVersion"])
            for o in fake.objects() if o["metadata"].get("namespace") == NS and
            o["kind"] in ("CronJob", "Role", "RoleBinding", "ServiceAccount", "HorizontalPodAutoscaler")}


gen0, seq = generations(), fake.last_seq()
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc == 0 and generations() == gen0 and not [e for e in fake.log(seq) if e.get("method") in ("POST", "DELETE")],
      "apply again changes nothing (idempotent: no object rewritten, nothing created or deleted)",
      (rc, err[-300:], {k: (gen0.get(k), v) for k, v in generations().items() if gen0.get(k) != v}))


# ---- run every job as its pod would --------------------------------------------------------
def sa_token(sa):
    r = fake.post("/api/v1/namespaces/%s/serviceaccounts/%s/token" % (NS, sa), {"spec": {}})
    return r.json["status"]["token"] if r.status == 201 else None


PATHS = {"horizontalpodautoscalers.autoscaling": "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s",
         "cronjobs.batch": "/apis/batch/v1/namespaces/%s/cronjobs/%s",
         "services.serving.knative.dev": "/apis/serving.knative.dev/v1/namespaces/%s/services/%s"}


def run_kubectl(args, token):
    """What `kubectl patch RESOURCE NAME --namespace NS --type merge
    --patch P` sends: a GET of the object, then a merge PATCH. -> statuses."""
    assert args[0] == "patch" and args[a_i(args, "--type")] == "merge"
    path = PATHS[args[1]] % (args[a_i(args, "--namespace")], args[2])
    g = fake.get(path, token=token)
    p = fake.request("PATCH", path, args[a_i(args, "--patch")], ctype="application/merge-patch+json", token=token,
                     query={"fieldManager": args[a_i(args, "--field-manager")]})
    return g.status, p.status


def a_i(args, flag):
    return args.index(flag) + 1


def run_job(cj, token):
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return [run_kubectl(c["args"], token) for c in (pod.get("initContainers") or []) + pod["containers"]]


tokens = {p: sa_token(p + "-capacity") for p in ("nye-api", "nye-api-overflow")}
ck.ok(all(tokens.values()), "TokenRequest gives each part's schedule account a token")
# per part in the order of their times: the HPA after each job equals its step
seen, errs = [], []
for name in sorted(exp, key=lambda n: (n.rsplit("-capacity-", 1)[0], n.endswith("-end"), n)):
    part = name.rsplit("-capacity-", 1)[0]
    cj = objs("CronJob")[name]
    statuses = run_job(cj, tokens[part])
    got = objs("HorizontalPodAutoscaler")[part]["spec"]["minReplicas"]
    susp = objs("CronJob")[name]["spec"].get("suspend")
    seen.append((name, got))
    if statuses != [(200, 200), (200, 200)] or got != exp[name][1] or susp is not True:
        errs.append((name, statuses, got, exp[name][1], susp))
ck.ok(not errs and len(seen) == len(exp), "each job, run as its account, sets the HPA's minReplicas to its step's "
      "floor and suspends its own CronJob", errs or seen)
steps_c = [v for n, v in seen if n.startswith("nye-api-capacity")]
ck.ok(steps_c == [v for _, v in want_c], "the container part's HPA follows the schedule: %s" % steps_c)

# least privilege: the account may touch nothing else
tk = tokens["nye-api"]
other = fake.request("PATCH", PATHS["horizontalpodautoscalers.autoscaling"] % (NS, "nye-api-overflow"),
                     '{"spec":{"minReplicas":3}}', ctype="application/merge-patch+json", token=tk)
dep = fake.get("/apis/apps/v1/namespaces/%s/deployments/nye-api" % NS, token=tk)
lst = fake.get("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % NS, token=tk)
mk = fake.post("/apis/batch/v1/namespaces/%s/cronjobs" % NS, objs("CronJob")["nye-api-capacity-000"], token=tk)
ck.ok(other.status == 403 and "cannot patch resource \"horizontalpodautoscalers\"" in other.message and
      dep.status == 403 and lst.status == 403 and mk.status == 403,
      "the account is refused the other part's HPA, the Deployment, listing HPAs and creating a CronJob",
      (other.status, other.message[:300], dep.status, lst.status, mk.status))
ck.ok(objs("HorizontalPodAutoscaler")["nye-api-overflow"]["spec"]["minReplicas"] == want_f[-1][1],
      "the other part's HPA is untouched")

# ---- status and drift --------------------------------------------------------------------------
rc, out, err = env.run("status", "--format", "json")
res = {s["workload"]: s for s in json.loads(out)} if out.strip() else {}
ck.ok(rc == 0 and all(not s["drift"] for s in res.values()) and len(res) == 2,
      "status: no drift after the jobs ran (minReplicas and suspend are the schedule's)", out[-1500:] + err[-300:])
fake.request("PATCH", PATHS["cronjobs.batch"] % (NS, "nye-api-capacity-001"), '{"spec":{"schedule":"7 7 7 7 *"}}',
             ctype="application/merge-patch+json", query={"fieldManager": "intruder"})
fake.delete(PATHS["cronjobs.batch"] % (NS, "nye-api-overflow-capacity-end"))
fake.request("PATCH", "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/nye-api-capacity" % NS,
             json.dumps({"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
             ctype="application/merge-patch+json", query={"fieldManager": "intruder"})
rc, out, err = env.run("status", "--format", "json")
res = {s["workload"]: s for s in json.loads(out)} if out.strip() else {}
cd = {d["field"]: d for d in res.get("nye-api", {}).get("drift", [])}
fd = {d["field"]: d for d in res.get("nye-api-overflow", {}).get("drift", [])}
ck.ok(rc == 4 and cd.get("k8s:CronJob.schedule", {}).get("live") == "7 7 7 7 *" and
      cd["k8s:CronJob.schedule"]["want"] == exp["nye-api-capacity-001"][0],
      "status: a changed CronJob schedule is drift, with want and live", (rc, list(cd)))
ck.ok(any(f.startswith("k8s:Role.rules") for f in cd), "status: the widened Role is drift", list(cd))
ck.ok(fd.get("k8s:CronJob", {}).get("want") == "%s/nye-api-overflow-capacity-end" % NS and
      fd["k8s:CronJob"]["live"] is None, "status: the deleted CronJob is drift", fd)
# the intruder's manager owns what it changed: apply does not take it back
# silently (tests/k8s/lifecycle.py); with forceConflicts it does
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc != 0 and '"intruder"' in err and "forceConflicts" in err,
      "apply: the fields the intruder took are a conflict naming it", err[-600:])
env.write_config(location="new-york", forceConflicts=True)
rc, out, err = env.run("apply", "--yes", spec)
rc2, out2, err2 = env.run("status", "--format", "json")
live_cj, bad = cronjobs_of(objs("CronJob").values())
ck.ok(rc == 0 and rc2 == 0 and live_cj == exp and not bad and
      objs("Role")["nye-api-capacity"]["rules"][0]["resourceNames"] == ["nye-api"],
      "apply repairs the schedule and the Role", (rc, rc2, err[-500:], out2[-500:]))
ck.ok(objs("CronJob")["nye-api-capacity-000"]["spec"].get("suspend") is True,
      "apply does not re-arm a one-off step that ran (suspend is the job's)")

# ---- an apply in the middle of the event -----------------------------------------------------
mid = t0 + datetime.timedelta(hours=4, minutes=30)
rc, out, err = env.run("apply", "--yes", spec, env={"FEDBROKER_NOW": mid.strftime("%Y-%m-%dT%H:%M:%SZ")})
hour4 = [v for sec, v in want_c if sec <= 4.5 * 3600][-1]
ck.ok(rc == 0 and objs("HorizontalPodAutoscaler")["nye-api"]["spec"]["minReplicas"] == hour4,
      "apply at 22:30 sets the floor of 22:00's step (%d)" % hour4,
      (rc, err[-500:], objs("HorizontalPodAutoscaler")["nye-api"]["spec"].get("minReplicas")))

# ---- the schedule dropped: placed as plain hybrid -------------------------------------------------
# the floor the jobs moved belongs to their manager (fedbroker-capacity);
# fedbroker takes it back for the spec's value without forceConflicts
env.write_config(location="new-york")
plain = env.write("plain.yaml", K8S_ONLY.replace("strategy: predictive", "strategy: hybrid"))
seq = fake.last_seq()
rc, out, err = env.run("apply", "--yes", plain)
hpa_log = [(e["status"], e["query"].get("force")) for e in fake.log(seq) if e.get("method") == "PATCH" and
           e["path"].endswith("/horizontalpodautoscalers/nye-api")]
ck.ok(hpa_log == [(409, None), (200, "true")], "the HPA's apply met the conflict with fedbroker-capacity and "
      "forced only then", hpa_log)
# deletion is asynchronous (propagationPolicy Foreground: the fake's garbage
# collector removes the objects after its delay), so wait for it, bounded
for _ in range(100):
    left = sorted(n for k in ("CronJob", "Role", "RoleBinding", "ServiceAccount") for n in objs(k) if "-capacity" in n)
    if not left:
        break
    time.sleep(0.1)
ck.ok(rc == 0 and not left and objs("HorizontalPodAutoscaler")["nye-api"]["spec"]["minReplicas"] == FLOOR,
      "strategy hybrid over the predictive deployment: the schedule's objects are deleted, the HPA's floor is the "
      "spec's again (no conflict with the schedule's own manager)",
      (rc, err[-600:], left, objs("HorizontalPodAutoscaler")["nye-api"]["spec"].get("minReplicas")))
rc, out, err = env.run("apply", "--yes", spec)
ck.ok(rc == 0 and cronjobs_of(objs("CronJob").values())[0] == exp, "and predictive again: the schedule is back",
      err[-600:])

# ---- discover and destroy ----------------------------------------------------------------------
rc, out, err = env.run("discover", "--provider", "k8s", "--format", "json")
rows = json.loads(out) if rc == 0 else []
rb_rows = [r for r in rows if r["type"] in ("k8s:Role", "k8s:RoleBinding")]
ck.ok(len(rb_rows) == 4 and all(r["managed"] and r.get("tracked") for r in rb_rows),
      "discover lists the Roles and RoleBindings as ours and tracked", rb_rows or err[-300:])
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not ours(fake, NS), "destroy leaves nothing", (err[-500:], ours(fake, NS)))
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy again: nothing left, exit 0", err[-300:])

# ---- a daily pattern: repeating crons a lead ahead --------------------------------------------
day = [1400] * 8 + [2800] * 4 + [6300] * 2 + [2800] * 6 + [1400] * 4
start, end = K8S_ONLY.index("    profile:"), K8S_ONLY.index("  placement:")
daily = K8S_ONLY[:start] + "    profile: {pattern: daily, step: 1h, rps: [%s]}\n" % ", ".join(map(str, day)) + \
    K8S_ONLY[end:]
dspec = env.write("daily.yaml", daily)
rc, out, err = env.run("plan", "--no-save", "--format", "json", dspec)
dplan = {w["name"]: w for w in json.loads(out)["workloads"]} if rc == 0 else {}
dsched = dplan.get("nye-api", {}).get("hybrid_part", {}).get("schedule", {})
rc, out, err = env.run("apply", "--dry-run", "--format", "json", dspec)
dcj = {}
for r in (json.loads(out) if rc == 0 and out.strip() else []):
    b = json.loads(r["body"]) if r.get("body") else {}
    if b.get("kind") == "CronJob" and b["metadata"]["name"].startswith("nye-api-capacity"):
        pod = b["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        a = pod["containers"][0]["args"]
        dcj[b["metadata"]["name"]] = (b["spec"]["schedule"], json.loads(a[a.index("--patch") + 1])["spec"]["minReplicas"],
                                      "initContainers" in pod)
dl = dsched.get("leadSeconds", 0)
dwant, last = {}, None
for st in dsched.get("steps", []):
    v = max(FLOOR, st["containers"])
    if v == last:
        continue
    sec = (st["offsetSeconds"] - dl) % 86400
    dwant["nye-api-capacity-%03d" % len(dwant)] = ("%d %d * * *" % (sec // 60 % 60, sec // 3600), v, False)
    last = v
ck.ok(dsched.get("repeat") == "daily" and dcj == dwant and any(v[0].startswith("59 23 ") for v in dwant.values()),
      "daily pattern: one repeating cron per change a lead ahead (00:00's at 23:59), no end job, no self-suspend",
      (dcj, dwant))


def capacity_crons(text):
    """{CronJob name: (schedule, minReplicas)} of the container part in a dry run's requests."""
    out = {}
    for r in (json.loads(text) if text.strip() else []):
        b = json.loads(r["body"]) if r.get("body") else {}
        if b.get("kind") == "CronJob" and b["metadata"]["name"].startswith("nye-api-capacity"):
            a = b["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
            out[b["metadata"]["name"]] = (b["spec"]["schedule"], json.loads(a[a.index("--patch") + 1])["spec"]["minReplicas"])
    return out


# a weekly pattern (from Monday 00:00 UTC): the same day's surge only on Mondays
# and Sundays; cron's day of week counts from Sunday = 0
week = [1400] * 168
for h in list(range(10, 14)) + list(range(6 * 24 + 10, 6 * 24 + 14)):
    week[h] = 6300
weekly = K8S_ONLY[:start] + "    profile: {pattern: weekly, step: 1h, rps: [%s]}\n" % ", ".join(map(str, week)) + \
    K8S_ONLY[end:]
wspec = env.write("weekly.yaml", weekly)
rc, out, err = env.run("plan", "--no-save", "--format", "json", wspec)
wsched = {w["name"]: w for w in json.loads(out)["workloads"]}.get("nye-api", {}).get("hybrid_part", {}).get(
    "schedule", {}) if rc == 0 else {}
rc, out, err = env.run("apply", "--dry-run", "--format", "json", wspec)
wcj = capacity_crons(out if rc == 0 else "")
wl_, wwant, last = wsched.get("leadSeconds", 0), {}, None
for st in wsched.get("steps", []):
    v = max(FLOOR, st["containers"])
    if v == last:
        continue
    t = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(  # a Monday
        seconds=(st["offsetSeconds"] - wl_) % 604800)
    wwant["nye-api-capacity-%03d" % len(wwant)] = ("%d %d * * %d" % (t.minute, t.hour, int(t.strftime("%w"))), v)
    last = v
ck.ok(wsched.get("repeat") == "weekly" and wcj == wwant and {v[0].split()[4] for v in wwant.values()} >= {"1", "0"},
      "weekly pattern: crons on the pattern's weekdays (Monday 1, Sunday 0), a lead ahead", (wcj, wwant))

# ---- Knative: the min-scale annotation ---------------------------------------------------------
env.write_config(location="new-york", forceConflicts=True, knative=True)
kn = env.write("nye-kn.yaml", K8S_ONLY.replace("providers: [k8s]", "providers: [k8s]\n    services: [knative]"))
rc, out, err = env.run("apply", "--yes", kn)
ck.ok(rc == 0, "Knative: apply both parts on knative", err[-1500:])
kcj = {n: o for n, o in objs("CronJob").items() if n.startswith("nye-api-capacity")}
ksvc = [o for o in fake.objects() if o["kind"] == "Service" and o["apiVersion"].startswith("serving.knative.dev")
        and o["metadata"]["name"] == "nye-api"]
first = kcj.get("nye-api-capacity-001", {}).get("spec", {}).get("jobTemplate", {}).get("spec", {}).get(
    "template", {}).get("spec", {}).get("initContainers", [{}])[0].get("args", [])
ck.ok(first[:3] == ["patch", "services.serving.knative.dev", "nye-api"] and
      json.loads(first[first.index("--patch") + 1]) == {"spec": {"template": {"metadata": {"annotations": {
          "autoscaling.knative.dev/min-scale": str(want_c[1][1])}}}}},
      "Knative: the CronJob patches the Service's min-scale annotation", first)
krole = objs("Role").get("nye-api-capacity", {})
ck.ok(krole.get("rules", [{}])[0] == {"apiGroups": ["serving.knative.dev"], "resources": ["services"],
                                      "resourceNames": ["nye-api"], "verbs": ["get", "patch"]},
      "Knative: the Role allows get and patch on exactly that Knative Service", krole.get("rules"))
if kcj.get("nye-api-capacity-001"):
    st = run_job(kcj["nye-api-capacity-001"], sa_token("nye-api-capacity"))
    ks = [o for o in fake.objects() if o["kind"] == "Service" and
          o["apiVersion"].startswith("serving.knative.dev") and o["metadata"]["name"] == "nye-api"]
    ann = ks[0]["spec"]["template"]["metadata"]["annotations"] if ks else {}
    ck.ok(st == [(200, 200), (200, 200)] and ann.get("autoscaling.knative.dev/min-scale") == str(want_c[1][1]),
          "Knative: the job, run as its account, sets min-scale", (st, ann))
# the patch made a new revision: once Knative says Ready again, nothing drifted
fake.wait_for(PATHS["services.serving.knative.dev"] % (NS, "nye-api"),
              lambda o: o.get("status", {}).get("observedGeneration") == o["metadata"].get("generation") and
              any(c.get("type") == "Ready" and c.get("status") == "True" for c in o["status"].get("conditions", [])))
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(not s["drift"] for s in json.loads(out)), "Knative: status: no drift after the job moved "
      "min-scale", out[-800:] + err[-300:])
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not ours(fake, NS), "Knative: destroy leaves nothing", (err[-500:], ours(fake, NS)))

fake.close()
env.close()
ck.done()
