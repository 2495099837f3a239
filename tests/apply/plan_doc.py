#!/usr/bin/python3
"""Plan documents (issue 11, docs/plan.md): `plan --out FILE` writes a
document valid against schemas/plan.v1.schema.json (checked with
python3-jsonschema) that carries the state serial, the spec files' hashes,
the catalog's content hash, per workload specHash / driver version /
dependencies / federation, and the change set; `fedbroker plans` lists the
stored plans; every apply and destroy bumps the state serial (read from
the store with sqlite3) and the store migrates an old file to schema 3 in
one step."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import TOP, Checker, Env  # noqa: E402
from harness import workload  # noqa: E402

import jsonschema  # noqa: E402

ck = Checker("plan documents")
env = Env(None)
schema = json.load(open(os.path.join(TOP, "schemas", "plan.v1.schema.json")))
jsonschema.Draft7Validator.check_schema(schema)

fed = env.write_federation("fed.yaml", "lab", "physics", workload("QuantumJob", "bell", """
    program: {source: "OPENQASM 3.0; include \\"stdgates.inc\\"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;"}
    shots: 100
    backend: {type: simulator, providers: [local]}
    placement: {providers: [quantum]}"""), workload("QuantumJob", "ghz", """
    program: {source: "OPENQASM 3.0; include \\"stdgates.inc\\"; qubit[3] q; bit[3] c; h q[0]; cx q[0], q[1]; cx q[1], q[2]; c = measure q;"}
    shots: 100
    backend: {type: simulator, providers: [local]}
    placement: {providers: [quantum]}"""))

rc, out, err = env.run("plan", fed, "--out", env.path("plan.json"), "--no-baselines")
ck.ok(rc == 0, "plan --out exits 0", err)
doc = json.load(open(env.path("plan.json")))
errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
ck.ok(not errs, "the plan document is valid against schemas/plan.v1.schema.json",
      [e.message for e in errs[:5]])
ck.ok(doc["state_serial"] == 0, "a fresh store's serial is 0", doc["state_serial"])
ck.ok(doc["sources"] == [{"path": os.path.realpath(fed),
                          "sha256": hashlib.sha256(open(fed, "rb").read()).hexdigest()}],
      "sources: the spec file's path and SHA-256", doc["sources"])
ck.ok(len(doc["catalog"]["content_hash"]) == 64, "the catalog's content hash is recorded")
wl = {w["name"]: w for w in doc["workloads"]}
ck.ok(set(wl) == {"bell", "ghz"} and all(len(w["specHash"]) == 64 and w["driver_version"]
                                          and w["federation"] == "lab" for w in wl.values()),
      "each workload has its specHash, driver version and federation", wl)
ck.ok(doc["change_summary"] == {"create": 2, "update": 0, "move": 0, "delete": 0, "no-op": 0},
      "an empty state: everything is a create", doc["change_summary"])
ck.ok("Plan: 2 to create, 0 to update, 0 to move, 0 to delete." in out,
      "the table ends with the Terraform-like summary line", out[-600:])
ck.ok("+ create  physics/bell" in out, "creates are shown as '+ create'", out[-600:])

rc, out, err = env.run("plan", fed, "--no-baselines", "--detailed-exitcode")
ck.ok(rc == 2, "--detailed-exitcode: 2 when the plan has changes", (rc, err))

rc, out, err = env.run("plans", "--format", "json")
rows = json.loads(out) if rc == 0 else []
ck.ok(rc == 0 and len(rows) == 2 and rows[0]["state_serial"] == 0 and rows[0]["workloads"] == 2
      and rows[0]["changes"]["create"] == 2, "plans lists the stored plans", (rc, out, err))
ck.ok(env.db("SELECT value FROM meta WHERE key='state_serial'") == [(0,)], "the store holds serial 0")
ck.ok(env.db("PRAGMA user_version") == [(10,)], "the store is at the newest schema (10)")

# every apply and destroy bumps the serial; plans marks older plans stale
bell = env.write("bell.yaml", """\
apiVersion: fedbroker.dev/v1
kind: QuantumJob
metadata: {name: solo, tenant: physics}
spec:
  program: {source: "OPENQASM 3.0; qubit[1] q; bit[1] c; c[0] = measure q[0];"}
  shots: 10
  backend: {type: simulator, providers: [local]}
""")
rc, out, err = env.run("apply", bell, "--target", "quantum:local")
ck.ok(rc == 0, "apply --target quantum:local", err)
ck.ok(env.db("SELECT value FROM meta WHERE key='state_serial'") == [(1,)], "apply bumped the serial to 1")
rc, out, err = env.run("apply", bell, "--target", "quantum:local", "--dry-run")
ck.ok(env.db("SELECT value FROM meta WHERE key='state_serial'") == [(1,)], "a dry run does not bump it")
rc, out, err = env.run("destroy", "--workload", "solo")
ck.ok(rc == 0 and env.db("SELECT value FROM meta WHERE key='state_serial'") == [(2,)],
      "destroy bumped it to 2", (rc, err))
rc, out, err = env.run("plans")
ck.ok(rc == 0 and out.count("(stale)") == 2, "plans marks the plans made at serial 0 stale", out)

env.close()
ck.done()
