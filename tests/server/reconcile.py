#!/usr/bin/python3
"""`fedbroker serve --reconcile INTERVAL` (issue 16) against
tests/fakes/fake_aws.py: a function applied through the API, then changed
out of band (botocore UpdateFunctionConfiguration on the fake). With the
policy `report` the reconciler reports the drift (/metrics
fedbroker_reconcile_drifted, an audit row reconcile.drift naming the
field) and leaves the function alone; with `reapply` it re-applies the
tenant's submitted spec as an operation (kind reconcile: the CLI's apply,
state lock and journal) and the function is restored, after which the
next pass finds no drift. The audit chain stays intact. Bad flags: exit
64. Skips (77) when the aws driver is not built."""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
import awstest  # noqa: E402
import servetest  # noqa: E402

if not os.path.exists(os.path.join(awstest.DRIVER_PATH, "aws.so")):
    print("SKIP: the aws driver is not built")
    sys.exit(77)
ck = awstest.Checker("serve reconcile")
ok = ck.ok


fake = awstest.Fake()
env = awstest.Env(fake)
rc, tok, err = env.run("token", "create", "--tenant", "dm", "--role", "admin")
tok = tok.strip()
for bad in (["--reconcile", "0s"], ["--reconcile", "soon"], ["--reconcile", "5s", "--reconcile-policy", "fix"],
            ["--reconcile-policy", "reapply"]):
    rc, out, err = env.run("serve", "--listen", "127.0.0.1:0", *bad)
    ok(rc == 64 and "reconcile" in err, f"serve {' '.join(bad)}: exit 64 naming the option", (rc, err))


def until(fn, secs=30):
    t = time.time()
    while time.time() - t < secs:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return fn()


def memory():
    fn = fake.state().get("lambda", {}).get("us-east-1|dm-x", {})
    return fn.get("MemorySize", fn.get("config", {}).get("MemorySize"))


def audit(action):
    con = sqlite3.connect(os.path.join(env.home, "state.db"))
    rows = con.execute("SELECT actor, tenant, outcome, detail_json FROM audit WHERE action=? ORDER BY id",
                       (action,)).fetchall()
    con.close()
    return rows


SPEC = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: x, tenant: dm}
spec:
  runtime: python3.12
  handler: app.handler
  code: {s3: {bucket: dm-code, key: x.zip}}
  resources: {memory: 256Mi}
  traffic: {requestsPerMonth: 100000, meanDuration: 20ms}
  placement: {providers: [aws], regions: ["aws:us-east-1"]}
"""
s = servetest.Server(env, tok, "--reconcile", "1s")
st, j = s.req("POST", "/v1/specs", SPEC, "application/yaml")
ok(st == 201, "the spec submitted", (st, j))
st, j = s.req("POST", "/v1/plans")
plan = j["plan"]
op = s.wait_op(j["href"])
ok(op["state"] == "succeeded", "planned", op)
st, j = s.req("POST", f"/v1/plans/{plan}/apply")
op = s.wait_op(j["href"])
ok(op["state"] == "succeeded" and memory() == 256, "applied through the API: the function has 256 MB", op)
runs0 = until(lambda: (s.metric("fedbroker_reconcile_runs_total") or 0) >= 2 and s.metric("fedbroker_reconcile_runs_total"))
ok(runs0 and s.metric("fedbroker_reconcile_drifted") == 0 and s.metric("fedbroker_reconcile_failures_total") == 0,
   "passes run every second; no drift", (runs0, s.metric("fedbroker_reconcile_drifted")))
fake.client("lambda", "us-east-1").update_function_configuration(FunctionName="dm-x", MemorySize=1024)
d = until(lambda: s.metric("fedbroker_reconcile_drifted") == 1)
ok(d, "drift out of band: fedbroker_reconcile_drifted 1", s.metric("fedbroker_reconcile_drifted"))
rows = audit("reconcile.drift")
ok(rows and rows[-1][0] == "serve:reconcile" and rows[-1][1] == "dm" and rows[-1][2] == "drifted"
   and "x" == json.loads(rows[-1][3])["workload"] and any("emory" in f for f in json.loads(rows[-1][3])["drift"]),
   "an audit row reconcile.drift: the tenant, the workload, the drifted field", rows[-1:])
time.sleep(2.5)
ok(memory() == 1024 and not audit("reconcile.reapply") and s.metric("fedbroker_reconcile_reapplies_total") == 0,
   "policy report: the function is left as it is", memory())
ok(s.stop() == 0, "SIGTERM: exit 0")

s = servetest.Server(env, tok, "--reconcile", "1s", "--reconcile-policy", "reapply")
restored = until(lambda: memory() == 256, 60)
ok(restored, "policy reapply: the function is restored to 256 MB", memory())
rows = audit("reconcile.reapply")
ok(rows and rows[0][2] == "queued" and rows[0][1] == "dm", "an audit row reconcile.reapply with its operation", rows)
opid = json.loads(rows[0][3])["operation"] if rows else "op-0"
op = s.wait_op(f"/v1/operations/{opid}")
ok(op["kind"] == "reconcile" and op["state"] == "succeeded", "the re-apply is an operation of kind reconcile", op)
d0 = until(lambda: s.metric("fedbroker_reconcile_drifted") == 0 and
           s.metric("fedbroker_reconcile_reapplies_total") >= 1)
ok(d0, "the next pass finds no drift", (s.metric("fedbroker_reconcile_drifted"), s.metric("fedbroker_reconcile_reapplies_total")))
ok(s.stop() == 0, "SIGTERM: exit 0")
rc, out, err = env.run("audit", "verify", "--format", "json")
ok(rc == 0 and json.loads(out)["ok"] is True, "the audit chain is intact", (rc, out, err))
fake.close()
ck.done()
