#!/usr/bin/python3
"""Failure isolation in a plan-driven apply (issue 11) against
tests/fakes/fake_aws.py: `a` fails (the fake refuses its CreateFunction
with a quota error), `b` depends on `a`, `c` and the QuantumJob `q` depend
on nothing. apply goes on with c and q, skips b with the reason, exits 1
with the summary, and --format json gives each change's status; applying
again converges (a and b created, c and q unchanged, no change sent for c).
A QuantumJob in place runs again only with --rerun."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import Checker, Env, Fake  # noqa: E402
from harness import workload  # noqa: E402

ck = Checker("apply failures")
fake = Fake()
env = Env(fake)

FN = """
runtime: python3.12
handler: app.handler
code: {{s3: {{bucket: iso-code, key: {n}.zip}}}}
traffic: {{requestsPerMonth: 100000, meanDuration: 20ms, sources: [{{location: new-york, weight: 1}}]}}
placement: {{regions: ["aws:us-east-1"]}}
{deps}"""
fed = env.write_federation("iso.yaml", "iso", "iso",
                           workload("Function", "a", FN.format(n="a", deps="")),
                           workload("Function", "c", FN.format(n="c", deps="")),
                           workload("Function", "b", FN.format(n="b", deps="dependencies: [{workload: a}]")),
                           workload("QuantumJob", "q", """
    program: {source: "OPENQASM 3.0; qubit[1] q; bit[1] c; c[0] = measure q[0];"}
    shots: 20
    backend: {type: simulator, providers: [local]}
    placement: {providers: [quantum]}"""))

# parallelism 1: a's CreateFunction is the first one the fake sees
fake.faults([{"count": 1, "status": 400, "code": "ResourceLimitExceededException", "service": "lambda",
              "operation": "CreateFunction"}])
rc, out, err = env.run("apply", fed, "--yes", "--parallelism", "1", "--format", "json")
res = json.loads(out) if out.strip().startswith("{") else {"changes": [], "summary": {}}
st = {c["name"]: c["status"] for c in res["changes"]}
ck.ok(rc == 1, "one workload failed: exit 1", (rc, err[-2000:]))
ck.ok(st == {"a": "failed", "b": "skipped", "c": "done", "q": "done"},
      "a failed, its dependent b skipped, the independent c and q done", st)
why = [c.get("outcome_reason", "") for c in res["changes"] if c["name"] == "b"]
ck.ok(why and "dependency a" in why[0], "b says why it was skipped", why)
ck.ok(res["summary"].get("failed") == 1 and res["summary"].get("skipped") == 1
      and res["summary"].get("created") == 2, "the JSON summary counts them", res["summary"])
ck.ok(sorted(fake.state()["lambda"]) == ["us-east-1|iso-c"], "only c exists at the fake",
      sorted(fake.state()["lambda"]))
ck.ok("skipped: dependency a did not apply" in err, "the progress line of b says why", err[-1500:])

mark = fake.seq()
rc, out, err = env.run("apply", fed, "--yes", "--parallelism", "1")
ck.ok(rc == 0 and "2 created" in out and "2 unchanged" in out, "applying again converges", (rc, out, err[-1500:]))
ck.ok(sorted(fake.state()["lambda"]) == ["us-east-1|iso-a", "us-east-1|iso-b", "us-east-1|iso-c"],
      "a, b and c exist", sorted(fake.state()["lambda"]))
sent_c = [e.get("operation") for e in fake.log(mark) if (e.get("params") or {}).get("FunctionName") == "iso-c"
          and not e.get("operation", "").startswith(("Get", "List"))]
ck.ok(sent_c == [], "no change was sent for c (only the refresh's reads)", sent_c)
ck.ok(len(env.db("SELECT id FROM results WHERE workload='q'")) == 1, "q ran once")

rc, out, err = env.run("apply", fed, "--yes", "--rerun")
ck.ok(rc == 0 and "1 updated" in out and len(env.db("SELECT id FROM results WHERE workload='q'")) == 2,
      "--rerun runs the QuantumJob again", (rc, out, err[-800:]))
rc, out, err = env.run("destroy", "--federation", "iso")
ck.ok(rc == 0 and fake.state()["lambda"] == {} and not env.db("SELECT * FROM deployments"),
      "destroy --federation empties the fake and the store", (rc, err[-800:]))

env.close()
fake.close()
ck.done()
