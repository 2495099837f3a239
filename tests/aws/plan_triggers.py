#!/usr/bin/python3
"""Plan places a workload only where its triggers are wired, through the
CLI with the real drivers: AWS Lambda's offers say they wire http, queue and
schedule; Fargate's http only; the Kubernetes driver's http and schedule
(a CronJob); an offer that says nothing means http only
(docs/driver-abi.md). Without this, plan put a queue-fed Function on
Kubernetes, where the queue is never wired. Also: a Lambda image in another region's ECR
is refused by validate in plan mode, so plan drops those offers with the
reason. No cloud account and no fake needed."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env  # noqa: E402

ck = Checker("aws plan triggers")
env = Env(None)
LAMBDA_REGIONS = 11  # the AWS driver's default regions (drivers/aws/README.md)


def spec(name, triggers, placement="{}", kind="Function", body=None):
    body = body or "image: docker.io/acme/worker:1\n  resources: {memory: 512Mi}"
    return env.write(f"{name}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: {kind}
metadata: {{name: {name}, tenant: ops}}
spec:
  {body}
  triggers: {triggers}
  traffic: {{requestsPerMonth: 300000, meanDuration: 1500ms}}
  placement: {placement}
""")


def plan(path, fmt="json"):
    rc, out, err = env.run("plan", "--format", fmt, path)
    doc = json.loads(out) if fmt == "json" and out.strip().startswith("{") else None
    return rc, doc, out, err


def placed(doc):
    p = doc["workloads"][0]["placement"] if doc and doc.get("workloads") else {}
    return f"{p.get('provider')}:{p.get('service')}:{p.get('region')}" if p else None


# a queue-fed Function: Kubernetes is cheaper, but does not wire the queue
q_k8s = spec("worker", "[{queue: {name: jobs}}]", "{providers: [k8s, aws]}")
rc, doc, out, err = plan(q_k8s)
ck.ok(rc == 0 and placed(doc).startswith("aws:lambda:"), "a queue trigger: placed on Lambda, not on Kubernetes",
      (rc, placed(doc), err))
ck.ok(doc and doc["workloads"][0]["eliminated"].get("trigger") == 1,
      "the Kubernetes offer is eliminated for its trigger", doc and doc["workloads"][0]["eliminated"])
rc, doc, out, err = plan(spec("worker-k8s", "[{queue: {name: jobs}}]", "{providers: [k8s]}"), "table")
ck.ok(rc == 3 and "k8s:kubernetes:on-prem: cannot wire a queue trigger (the offer wires: http, schedule)" in out + err,
      "only Kubernetes allowed: infeasible, and the reason says why", out + err)

# a scheduled Function: every Function offer here wires schedules (Lambda
# through EventBridge Scheduler, Kubernetes as a CronJob; GCP's since issue
# 13), so none is eliminated for it, and both stay candidates
rc, doc, out, err = plan(spec("nightly", '[{schedule: {cron: "0 3 * * *"}}]', "{providers: [k8s, aws]}"))
w = doc["workloads"][0] if doc else {}
ck.ok(rc == 0 and placed(doc) is not None, "a schedule trigger: placed", (rc, err))
ck.ok("trigger" not in w.get("eliminated", {}), "no offer is eliminated for the schedule", w.get("eliminated"))
cands = {placed(doc).split(":")[0]} | {a["provider"] for a in w.get("alternatives", [])}
ck.ok(cands == {"aws", "k8s"}, "Lambda and the Kubernetes CronJob both compete for it", (placed(doc), w.get("alternatives")))
rc, doc, out, err = plan(spec("nightly-q", '[{schedule: {cron: "0 3 * * *"}}, {queue: {name: jobs}}]',
                              "{providers: [k8s, aws]}"))
w = doc["workloads"][0] if doc else {}
ck.ok(rc == 0 and placed(doc).startswith("aws:lambda:") and w.get("eliminated", {}).get("trigger") == 1,
      "a schedule and a queue: only Lambda wires both, Kubernetes is eliminated for the queue", (rc, w.get("eliminated")))
# an http-only Function is not touched
rc, doc, out, err = plan(spec("api", "[{http: {public: true}}]"))
ck.ok(rc == 0 and "trigger" not in doc["workloads"][0]["eliminated"], "an HTTP trigger eliminates nothing",
      doc and doc["workloads"][0]["eliminated"])
# a scheduled Container: Fargate serves its ports, wires no schedule
rc, doc, out, err = plan(spec("batch", '[{schedule: {cron: "0 3 * * *"}}]', "{providers: [aws]}", "Container",
                              "image: docker.io/acme/batch:1"), "table")
ck.ok(rc == 3 and "aws:fargate:us-east-1: cannot wire a schedule trigger (the offer wires: http)" in out + err,
      "a scheduled Container on AWS: infeasible, Fargate wires http only", out + err)

# an image in eu-west-1's ECR: Lambda in eu-west-1 only
ecr = "image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1\n  resources: {memory: 512Mi}"
rc, doc, out, err = plan(spec("thumbs", "[{http: {}}]", "{providers: [aws]}", body=ecr))
w = doc["workloads"][0] if doc else {}
ck.ok(rc == 0 and placed(doc) == "aws:lambda:eu-west-1"
      and all(a["region"] == "eu-west-1" for a in w.get("alternatives", [])),
      "an image in eu-west-1's ECR: placed in eu-west-1, nothing else offered", (rc, placed(doc), err))
ck.ok(w.get("eliminated", {}).get("driver") == LAMBDA_REGIONS - 1, "the other Lambda regions: refused by the driver",
      w.get("eliminated"))
rc, doc, out, err = plan(spec("thumbs-us", "[{http: {}}]", '{regions: ["aws:us-east-1"]}', body=ecr), "table")
ck.ok(rc == 3 and "ECR registry of eu-west-1" in out + err and "us-east-1" in out + err,
      "only us-east-1 allowed: infeasible, the reason names both regions", out + err)
env.close()
ck.done()
