#!/usr/bin/python3
"""A portable secret materialised in Google Secret Manager at apply (issue
15, item 3 on GCP), against tests/fakes/fake_gcp.py (every request checked
against Google's discovery documents; a Cloud Run revision becomes ready
only when its service account may access the secrets its env names).

With the broker as issuer, `fedbroker secret put db-password --tenant demo`
stores a planted value; a Container on Cloud Run names it as
secret://db-password. The dry run shows the secret's create and addVersion
with the payload redacted. apply creates fedbroker_demo_orders_db-password
(labelled, recorded) holding the value (read back as base64 through the
fake), grants roles/secretmanager.secretAccessor on it to the workload's
own account fb-demo-orders and nobody else, and the service reads it
natively (env valueSource.secretKeyRef). A second apply adds no version; a
new `secret put` makes the next apply add one version and roll a new
revision. A secret of that name that is not ours is refused. destroy deletes
the copy and the account. Neither value, nor its base64 form, is in
anything fedbroker printed (FEDBROKER_LOG=debug) or in the state directory.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import base64
import json
import os
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
from gcptest import PROJECT, REGION, Checker, Env, Fake, members, methods, settings, skip_unless_built  # noqa: E402

skip_unless_built()
ck = Checker("identity gcp secrets")
PLANT = "PLANTED-gcp-db-pass-51c0e7"
PLANT2 = "PLANTED-gcp-rotated-a93d44"
SID = "fedbroker_demo_orders_db-password"
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
gs = settings(fake)
gs["endpoints"]["iam"] = fake.url + "/iam"
env.write_config(gs, extra={"identity": {"trustDomain": "prod.example.com", "issuer": "https://oidc.example.com/fb"}})
env.env["FEDBROKER_LOG"] = "debug"
outputs = []
SA = "fb-demo-orders@%s.iam.gserviceaccount.com" % PROJECT
T = ("--target", "gcp:%s" % REGION)


def run(*args, stdin=None):
    e = dict(env.env)
    import subprocess
    p = subprocess.run([os.environ.get("FEDBROKER") or os.path.join(os.environ.get("top_builddir", "build"),
                                                                   "fedbroker"), *args],
                       env=e, capture_output=True, timeout=300, input=stdin.encode() if stdin is not None else None)
    out, err = p.stdout.decode(), p.stderr.decode()
    outputs.append(out + err)
    return p.returncode, out, err


spec = env.write("orders.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: orders, tenant: demo}
spec:
  image: europe-docker.pkg.dev/demo/apps/orders:1
  ports: [{port: 8080, protocol: http}]
  secrets: [{env: DB_PASSWORD, ref: "secret://db-password"}]
""")


def secret_doc():
    st, doc = fake.api("GET", "/secretmanager/v1/projects/%s/secrets/%s" % (PROJECT, SID))
    return st, doc


def latest_value():
    st, doc = fake.api("GET", "/secretmanager/v1/projects/%s/secrets/%s/versions/latest:access" % (PROJECT, SID))
    data = ((doc or {}).get("payload") or {}).get("data", "")
    return base64.b64decode(data).decode() if st == 200 else None


def added_versions(since):
    return [m for m in methods(fake.log(since)) if m == "secretmanager.projects.secrets.addVersion"]


try:
    rc, out, err = run("secret", "put", "db-password", "--tenant", "demo", stdin=PLANT)
    ck.ok(rc == 0, "secret put", err)

    rc, out, err = run("apply", spec, *T, "--dry-run", "--format", "json")
    reqs = json.loads(out) if rc == 0 else []
    urls = [r.get("url", "") for r in reqs]
    av = [r for r in reqs if r.get("url", "").endswith(":addVersion")]
    ck.ok(rc == 0 and any("/secrets?secretId=" + SID in u for u in urls) and len(av) == 1,
          "the dry run shows the secret's create and its addVersion", (rc, err[-1500:], urls))
    ck.ok(fake.state() and secret_doc()[0] == 404, "the dry run made nothing")

    mark = fake.seq()
    rc, out, err = run("apply", spec, *T)
    ck.ok(rc == 0, "apply with secret://db-password on Cloud Run", (rc, err[-3000:]))
    st, sec = secret_doc()
    ck.ok(st == 200 and (sec.get("labels") or {}).get("managed-by") == "fedbroker" and
          (sec.get("labels") or {}).get("workload") == "orders", "the copy exists, labelled as the workload's", sec)
    ck.ok(latest_value() == PLANT, "it holds the broker's value")
    pol = fake.policy("secretmanager", "projects/%s/secrets/%s" % (PROJECT, SID))
    ck.ok(members(pol, "roles/secretmanager.secretAccessor") == ["serviceAccount:" + SA] and len(pol.get("bindings", [])) == 1,
          "only the workload's own account may read it", pol)
    svc = fake.services().get("orders", {})
    tmpl = svc.get("template") or {}
    env_ = (tmpl.get("containers") or [{}])[0].get("env") or []
    ref = [e for e in env_ if e.get("name") == "DB_PASSWORD"]
    ck.ok(tmpl.get("serviceAccount") == SA and ref and
          ref[0].get("valueSource", {}).get("secretKeyRef", {}).get("secret", "").endswith(SID),
          "the service runs as the account and reads the secret natively", (tmpl.get("serviceAccount"), ref))
    ck.ok(svc.get("latestReadyRevision"), "its revision is ready (the fake checks the account's access)", svc)
    order = [m for m in methods(fake.log(mark)) if m in ("secretmanager.projects.secrets.addVersion",
                                                          "run.projects.locations.services.create")]
    ck.ok(order[:1] == ["secretmanager.projects.secrets.addVersion"] and order[-1:] == ["run.projects.locations.services.create"],
          "the value is in Secret Manager before the service", order)
    rows = env.db("SELECT cloud_id FROM resources WHERE type='secretmanager-secret'")
    ck.ok(len(rows) == 1 and rows[0][0].endswith(SID), "the copy is a recorded resource", rows)

    mark = fake.seq()
    rc, out, err = run("apply", spec, *T)
    ck.ok(rc == 0 and added_versions(mark) == [], "a second apply adds no version", (rc, err[-800:]))

    rc, out, err = run("secret", "put", "db-password", "--tenant", "demo", stdin=PLANT2)
    rc, out, err = run("status", "--format", "json")
    ck.ok('fedbroker-version' in out and '"want": "2"' in out.replace('":"', '": "') or
          ('fedbroker-version' in out and '"2"' in out),
          "status reports the copy older than the broker's version as drift", (rc, out[-1200:], err[-400:]))
    rev0 = fake.services()["orders"].get("latestReadyRevision")
    mark = fake.seq()
    rc, out, err = run("apply", spec, *T)
    rev1 = fake.services()["orders"].get("latestReadyRevision")
    ck.ok(rc == 0 and len(added_versions(mark)) == 1 and latest_value() == PLANT2 and rev1 != rev0,
          "after secret put, apply adds one version and rolls a new revision", (rc, err[-1500:], rev0, rev1))
    rc, out, err = run("status", "--format", "json")
    ck.ok(rc == 0 and "fedbroker-version" not in out, "and the drift is gone", (rc, out[-800:]))

    # a foreign secret of the name another workload would use
    other = "fedbroker_demo_billing_db-password"
    fake.api("POST", "/secretmanager/v1/projects/%s/secrets?secretId=%s" % (PROJECT, other),
             {"replication": {"automatic": {}}, "labels": {"team": "x"}})
    bspec = env.write("billing.yaml", open(spec).read().replace("orders", "billing"))
    rc, out, err = run("apply", bspec, *T)
    ck.ok(rc != 0 and other in err and "not this workload's copy" in err, "a secret of that name that is not ours is refused",
          (rc, err[-800:]))

    rc, out, err = run("destroy", "--all")
    ck.ok(rc == 0 and secret_doc()[0] == 404, "destroy deletes the copy", (rc, err[-1500:]))
    st, doc = fake.api("GET", "/iam/v1/projects/%s/serviceAccounts/%s" % (PROJECT, SA))
    ck.ok(st == 404, "and the workload's account", (st, doc))

    text = "\n".join(outputs)
    forms = [PLANT, PLANT2, base64.b64encode(PLANT.encode()).decode(), base64.b64encode(PLANT2.encode()).decode()]
    ck.ok(not any(f in text for f in forms), "no value (nor its base64) in anything fedbroker printed (debug log on)")
    leaked = env.files_holding(*forms)
    ck.ok(not leaked, "nor in any file of the state directory", leaked)
finally:
    fake.close()
    env.close()
ck.done()
