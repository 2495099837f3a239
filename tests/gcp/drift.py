#!/usr/bin/python3
"""Drift, discovery and adoption against tests/fakes/fake_gcp.py, with the
changes made out of band through the API (as an admin, as a console user
or another tool would):

- drift: an env var and the image changed, the scaling raised, the allUsers
  binding removed, a Scheduler job's cron changed, a push subscription
  deleted, the secretAccessor binding removed: `fedbroker status` reports
  each field (want and live) and exits 4; observe sent only reads; apply
  puts everything back; status is clean again (exit 0). What the server
  fills in itself (default probes, the default service account of a
  service without one, ...) is never drift.
- status of a deployment whose service was deleted out of band: missing.
- discover: our services and functions are managed and tracked; one made by
  hand without our labels is unmanaged; one with our labels that the store
  does not know (another broker's, or a crash's) is managed and untracked.
- adoption: a service carrying our labels for this workload that the store
  does not know is adopted by apply (its id recorded, no second create); one
  of the same name without our labels, or with another tenant's labels, is
  refused (conflict, exit 1) and left alone."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcptest import (PROJECT, REGION, RUNNER, Checker, Env, Fake, members,  # noqa: E402
                     skip_unless_built)

skip_unless_built()
ck = Checker("gcp drift, discover, adoption")
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
st, doc = fake.api("POST", "/secretmanager/v1/projects/%s/secrets?secretId=api-key" % PROJECT,
                   {"replication": {"automatic": {}}})
spec = env.write("app.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/web:1
  ports: [{port: 8080, protocol: http, public: true}]
  env: {MODE: fast}
  secrets: [{env: API_KEY, ref: "gcp-sm://api-key"}]
  scaling: {maxInstances: 4}
---
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: report, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/report:1
  triggers:
    - schedule: {cron: "0 3 * * *"}
    - queue: {name: report-requests, batchSize: 1}
""")
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, spec)
ck.ok(rc == 0, "apply", (rc, out, err))
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(d["drift"] == [] for d in json.loads(out)), "no drift right after apply", out)

# ---- change things out of band ------------------------------------------------------------------------
base = "/run/v2/projects/%s/locations/%s/services/" % (PROJECT, REGION)
st, web = fake.api("GET", base + "web")
tmpl = web["template"]
tmpl["containers"][0]["image"] = "europe-docker.pkg.dev/p/r/web:hotfix"
tmpl["containers"][0]["env"] = [e if e["name"] != "MODE" else {"name": "MODE", "value": "debug"}
                                for e in tmpl["containers"][0]["env"]]
tmpl["scaling"]["maxInstanceCount"] = 40
st, op = fake.api("PATCH", base + "web?updateMask=template", {"template": tmpl})
ck.ok(st == 200, "out of band: image, env and scaling changed", op)
for _ in range(5):
    if op.get("done"):
        break
    st, op = fake.api("GET", "/run/v2/" + op["name"])
pol = fake.policy("run", web["name"])
pol["bindings"] = [b for b in pol.get("bindings", []) if b["role"] != "roles/run.invoker"]
st, _ = fake.api("POST", "/run/v2/%s:setIamPolicy" % web["name"], {"policy": pol})
ck.ok(st == 200, "out of band: allUsers removed")
spol = fake.policy("secretmanager", "projects/%s/secrets/api-key" % PROJECT)
spol["bindings"] = []
st, _ = fake.api("POST", "/secretmanager/v1/projects/%s/secrets/api-key:setIamPolicy" % PROJECT, {"policy": spol})
ck.ok(st == 200, "out of band: secretAccessor removed")
job = "/cloudscheduler/v1/projects/%s/locations/%s/jobs/report-s0" % (PROJECT, REGION)
st, _ = fake.api("PATCH", job + "?updateMask=schedule", {"schedule": "0 5 * * *"})
ck.ok(st == 200, "out of band: the job's cron changed")
st, _ = fake.api("DELETE", "/pubsub/v1/projects/%s/subscriptions/report-q0" % PROJECT)
ck.ok(st == 200, "out of band: the push subscription deleted")

mark = fake.seq()
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 4, "status exits 4 on drift", (rc, err))
rows = {d["workload"]: d for d in json.loads(out)} if out.strip() else {}
drift = {d["field"]: d for d in rows.get("web", {}).get("drift", [])}
ck.ok(drift.get("template.containers[0].image", {}).get("live") == "europe-docker.pkg.dev/p/r/web:hotfix"
      and drift["template.containers[0].image"].get("want") == "europe-docker.pkg.dev/p/r/web:1",
      "drift: the image, with want and live", list(drift))
ck.ok(any(f.startswith("template.containers[0].env") for f in drift), "drift: the env var", list(drift))
ck.ok(drift.get("template.scaling.maxInstanceCount", {}).get("live") == 40, "drift: maxInstanceCount 4 -> 40",
      list(drift))
ck.ok(drift.get("iam.roles/run.invoker.allUsers", {}).get("want") is True, "drift: the public binding",
      list(drift))
ck.ok(any(f.startswith("secrets.") for f in drift), "drift: the secretAccessor binding", list(drift))
ck.ok(not any(f.endswith("startupProbe") or "serviceAccount" in f or f.startswith("template.containers[0].ports")
              for f in drift), "what the server fills in is not drift", list(drift))
rdrift = {d["field"]: d for d in rows.get("report", {}).get("drift", [])}
ck.ok(rdrift.get("triggers[0].schedule", {}).get("live") == "0 5 * * *", "drift: the job's cron", list(rdrift))
ck.ok(rdrift.get("triggers[1]", {}).get("live") is None and "triggers[1]" in rdrift,
      "drift: the missing subscription", list(rdrift))
writes = [e for e in fake.log(mark) if e["method"] not in ("GET", "HEAD") and e.get("path") != "/token"]
ck.ok(writes == [], "observe sent only reads", [(e["method"], e.get("method_id")) for e in writes])

rc, out, err = env.run("apply", "--target", "gcp:" + REGION, spec)
ck.ok(rc == 0, "apply puts it back", (rc, out, err))
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(d["drift"] == [] for d in json.loads(out)), "status is clean again", out)
ck.ok(members(fake.policy("run", web["name"]), "roles/run.invoker") == ["allUsers"]
      and fake.jobs()["report-s0"]["schedule"] == "0 3 * * *" and "report-q0" in fake.subscriptions()
      and members(fake.policy("secretmanager", "projects/%s/secrets/api-key" % PROJECT),
                  "roles/secretmanager.secretAccessor") == ["serviceAccount:" + RUNNER],
      "the binding, the cron, the subscription and the grant are back")

# ---- deleted out of band: missing -----------------------------------------------------------------------
st, op = fake.api("DELETE", base + "web")
for _ in range(5):
    if op.get("done"):
        break
    st, op = fake.api("GET", "/run/v2/" + op["name"])
rc, out, err = env.run("status", "--format", "json")
rows = {d["workload"]: d for d in json.loads(out)} if out.strip() else {}
ck.ok(rows.get("web", {}).get("status") == "missing", "a service deleted out of band is missing", out)
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, spec)
ck.ok(rc == 0 and "web" in fake.services(), "apply creates it again", (rc, err))

# ---- discover --------------------------------------------------------------------------------------------
def create(sid, labels):
    st, op = fake.api("POST", base[:-1] + "?serviceId=" + sid,
                      {"labels": labels, "template": {"containers": [{"image": "europe-docker.pkg.dev/p/r/x:1"}]}})
    for _ in range(5):
        if op.get("done"):
            break
        st, op = fake.api("GET", "/run/v2/" + op["name"])
    return st


ck.ok(create("handmade", {"team": "ops"}) == 200, "a service made by hand")
ck.ok(create("orphan", {"managed-by": "fedbroker", "workload": "orphan", "tenant": "shop"}) == 200,
      "a service with our labels the store does not know")
rc, out, err = env.run("discover", "--provider", "gcp", "--format", "json")
found = {(r["type"], r.get("name")): r for r in json.loads(out)} if rc == 0 else {}
ck.ok(found.get(("run-service", "web"), {}).get("managed") and found[("run-service", "web")].get("tracked"),
      "discover: ours is managed and tracked", found.get(("run-service", "web")))
ck.ok(found.get(("run-service", "handmade"), {}).get("managed") is False, "discover: the hand-made one is unmanaged")
ck.ok(found.get(("run-service", "orphan"), {}).get("managed") and not found[("run-service", "orphan")].get("tracked")
      and found[("run-service", "orphan")].get("workload") == "orphan",
      "discover: the one with our labels is managed and untracked", found.get(("run-service", "orphan")))
ck.ok(found.get(("scheduler-job", "report-s0"), {}).get("tracked") and
      found.get(("pubsub-subscription", "report-q0"), {}).get("tracked") and
      found.get(("pubsub-topic", "report-requests"), {}).get("tracked"),
      "discover: the job, the subscription and the topic we made are tracked",
      [k for k in found if k[0] != "run-service"])

# ---- adoption ---------------------------------------------------------------------------------------------
adopt = env.write("orphan.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: orphan, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/orphan:2
""")
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, adopt)
log = fake.log(mark)
ck.ok(rc == 0 and not any(e.get("method_id", "").endswith("services.create") for e in log),
      "apply adopts the labelled service: no create", (rc, err, [e.get("method_id") for e in log]))
ck.ok(fake.services()["orphan"]["template"]["containers"][0]["image"].endswith("orphan:2"),
      "and updates it to the spec")
ck.ok(("run-service", "projects/%s/locations/%s/services/orphan" % (PROJECT, REGION)) in
      env.db("SELECT type, cloud_id FROM resources"), "its id is recorded")
for name, labels, why in (("handmade", None, "not managed by fedbroker"),
                          ("stranger", {"managed-by": "fedbroker", "workload": "stranger", "tenant": "other"},
                           "another fedbroker workload or tenant")):
    if labels:
        create(name, labels)
    p = env.write(name + ".yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: %s, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/x:9
""" % name)
    rc, out, err = env.run("apply", "--target", "gcp:" + REGION, p)
    ck.ok(rc == 1 and why in err, "apply refuses the same-named service that is %s" % why, (rc, err))
    ck.ok(fake.services()[name]["template"]["containers"][0]["image"].endswith("x:1"), "and leaves it alone")
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and set(fake.services()) == {"handmade", "stranger"}, "destroy --all leaves only what is not ours",
      (rc, err, list(fake.services())))
fake.close()
env.close()
ck.done()
