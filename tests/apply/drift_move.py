#!/usr/bin/python3
"""The change set sees drift, and a move that fails half way leaves the old
placement serving (issue 11), against tests/fakes/fake_aws.py:
- a function changed out of band (botocore UpdateFunctionConfiguration on
  the fake) is an `update` in the next plan, with the drifted field and
  the reason; apply restores it and the plan after is no-op; --no-refresh
  plans from specHash alone;
- moving the function to another region while the fake refuses the new
  CreateFunction: apply exits 1, the old function still exists and is
  still what the store has; the next apply completes the move (new
  created, old deleted)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import Checker, Env, Fake, ops  # noqa: E402
from harness import federation, workload  # noqa: E402

ck = Checker("apply drift and move")
fake = Fake()
env = Env(fake)


def spec(region):
    return federation("dm", "dm", workload("Function", "x", """
    runtime: python3.12
    handler: app.handler
    code: {s3: {bucket: dm-code, key: x.zip}}
    resources: {memory: 256Mi}
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: new-york, weight: 1}]}
    placement: {regions: ["aws:%s"]}""" % region))


fed = env.write("dm.yaml", spec("us-east-1"))
plan_file = env.path("plan.json")
rc, out, err = env.run("apply", fed, "--yes")
ck.ok(rc == 0 and sorted(fake.state()["lambda"]) == ["us-east-1|dm-x"], "x applied to us-east-1", (rc, err[-800:]))

fake.client("lambda", "us-east-1").update_function_configuration(FunctionName="dm-x", MemorySize=1024)
rc, out, err = env.run("plan", fed, "--no-baselines", "--out", plan_file, "--detailed-exitcode")
doc = json.load(open(plan_file)) if os.path.exists(plan_file) else {"changes": []}
ch = [c for c in doc["changes"] if c["name"] == "x"]
ck.ok(rc == 2 and ch and ch[0]["action"] == "update" and ch[0]["reason"] == "drift at the provider"
      and any("emory" in f for f in ch[0]["fields"]), "drift out of band: an update with the drifted field",
      (rc, ch, err[-800:]))
rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--no-refresh", "--detailed-exitcode")
ck.ok(rc == 0, "--no-refresh: from specHash alone, no change", (rc, out[-400:]))
mark = fake.seq()
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 0 and "1 updated" in out and "UpdateFunctionConfiguration" in ops(fake.log(mark)),
      "apply restores the drifted function", (rc, out, err[-800:]))
rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
ck.ok(rc == 0, "then the plan is no-op", (rc, out[-400:], err[-400:]))

with open(fed, "w") as f:
    f.write(spec("eu-west-1"))
fake.faults([{"count": 1, "status": 400, "code": "ResourceLimitExceededException", "service": "lambda",
              "operation": "CreateFunction"}])
rc, out, err = env.run("apply", fed, "--yes")
ck.ok(rc == 1, "the move's create fails: exit 1", (rc, out, err[-800:]))
ck.ok(sorted(fake.state()["lambda"]) == ["us-east-1|dm-x"], "the old function keeps serving",
      sorted(fake.state()["lambda"]))
ck.ok(env.db("SELECT region, state FROM deployments WHERE workload='x'") == [("us-east-1", "applied")],
      "the store still has the old deployment", env.db("SELECT region, state FROM deployments"))
fake.clear_faults()
rc, out, err = env.run("apply", fed, "--yes")
ck.ok(rc == 0 and "1 moved" in out and sorted(fake.state()["lambda"]) == ["eu-west-1|dm-x"],
      "the next apply completes the move", (rc, out, err[-800:], sorted(fake.state()["lambda"])))
rc, out, err = env.run("destroy", "--federation", "dm")
ck.ok(rc == 0 and fake.state()["lambda"] == {}, "destroy --federation", (rc, err[-600:]))

env.close()
fake.close()
ck.done()
