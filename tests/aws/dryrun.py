#!/usr/bin/python3
"""`fedbroker apply --dry-run --format json` for the AWS driver with
FEDBROKER_NOW and fixed AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN: two runs are byte-identical; neither the secret key nor
the session token appears; every Authorization header is the one botocore's
SigV4Auth computes for the same request (recomputed here with the real
token put back); the bodies are exactly the documents `fedbroker render`
shows; nothing is sent and nothing is stored."""
import json
import os
import sys
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import AK, EXAMPLES, SK, Checker, Env, Fake  # noqa: E402

import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

TOKEN = "FQoGZXIvYXdzEXAMPLEsessionTOKEN+/=never-print-me"
NOW = "2024-05-01T10:00:00Z"
ck = Checker("aws dry run")
fake = Fake()
env = Env(fake)
env.env["AWS_SESSION_TOKEN"] = TOKEN
fn_spec = os.path.join(EXAMPLES, "function.yaml")
ctr_spec = os.path.join(EXAMPLES, "container.yaml")
# a Function with schedule and queue triggers: Scheduler (REST-JSON) and SQS (JSON 1.0) requests too
os.makedirs(env.path("src"))
env.write("src/app.py", "def handler(event, context):\n    return 1\n")
trig_spec = env.write("job.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: nightly, tenant: ops}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{path: {env.path('src')}}}
  timeout: 60s
  triggers:
    - schedule: {{cron: "0 3 * * 1-5", timezone: Europe/Berlin}}
    - queue: {{name: ops-jobs, batchSize: 20}}
""")


def dry(target, *specs):
    return env.run("apply", "--dry-run", "--format", "json", "--target", target, *specs,
                   env={"FEDBROKER_NOW": NOW})


def check_signatures(reqs, region, what):
    bad = []
    for r in reqs:
        h = dict(r["headers"])
        auth = h.pop("Authorization")
        ck.ok(h.get("X-Amz-Security-Token") == "REDACTED", f"{what}: the session token header is redacted")
        h["X-Amz-Security-Token"] = TOKEN
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        url = urlsplit(r["url"])
        target = h.get("X-Amz-Target", "")
        service = ("ecs" if target.startswith("AmazonEC2ContainerService") else
                   "application-autoscaling" if target.startswith("AnyScaleFrontendService") else
                   "sqs" if target.startswith("AmazonSQS.") else
                   "scheduler" if url.path.startswith("/schedules") else "lambda")
        req = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode() or None)
        req.headers["Host"] = url.netloc
        for k, v in h.items():
            if k.lower() in signed:
                req.headers[k] = v
        req.context["timestamp"] = h["X-Amz-Date"]
        signer = botocore.auth.SigV4Auth(Credentials(AK, SK, TOKEN), service, region)
        creq = signer.canonical_request(req)
        sig = signer.signature(signer.string_to_sign(req, creq), req)
        want = (f"AWS4-HMAC-SHA256 Credential={AK}/{h['X-Amz-Date'][:8]}/{region}/{service}/aws4_request, "
                f"SignedHeaders={';'.join(signed)}, Signature={sig}")
        if auth != want:
            bad.append((r["method"], r["url"], auth, want, creq))
    ck.ok(reqs and not bad, f"{what}: every Authorization header is botocore's SigV4 for the request", bad)


for target, specs, what in (("aws:us-east-1", [fn_spec], "Lambda"),
                            ("aws:eu-west-1", [ctr_spec], "Fargate"),
                            ("aws:eu-west-1", [trig_spec], "Lambda with triggers")):
    rc1, a, e1 = dry(target, *specs)
    rc2, b, e2 = dry(target, *specs)
    ck.ok(rc1 == 0 and rc2 == 0, f"{what}: dry run succeeds", e1 + e2)
    ck.ok(a == b and a.strip(), f"{what}: two dry runs are byte-identical")
    ck.ok(SK not in a and TOKEN not in a and SK not in e1 and TOKEN not in e1,
          f"{what}: neither the secret key nor the session token is printed")
    reqs = json.loads(a)
    check_signatures(reqs, target.split(":")[1], what)
    ck.ok(all(r["headers"].get("X-Amz-Date") == "20240501T100000Z" for r in reqs),
          f"{what}: signed at FEDBROKER_NOW")
    rc, rout, rerr = env.run("render", "--target", target, *specs)
    docs = json.loads(rout)[0]["documents"] if rc == 0 else []
    ck.ok([d["method"] for d in docs] == [r["method"] for r in reqs]
          and [json.loads(r["body"]) for r in reqs] == [d["body"] for d in docs]
          and all(r["url"].endswith(d["path"]) for r, d in zip(reqs, docs)),
          f"{what}: the requests are exactly render's documents", (docs, reqs))
ops = [json.loads(r["body"]) for r in json.loads(dry("aws:us-east-1", fn_spec)[1])]
ck.ok(ops[0].get("FunctionName") == "demo-hello" and "ZipFile" in ops[0].get("Code", {})
      and ops[1] == {"AuthType": "NONE"}
      and ops[2] == {"StatementId": "FunctionURLAllowPublicAccess", "Action": "lambda:InvokeFunctionUrl",
                     "Principal": "*", "FunctionUrlAuthType": "NONE"}
      and ops[3] == {"StatementId": "FunctionURLAllowInvokeAction", "Action": "lambda:InvokeFunction",
                     "Principal": "*", "InvokedViaFunctionUrl": True} and len(ops) == 4,
      "Lambda create path: CreateFunction (zip), CreateFunctionUrlConfig NONE, the URL's two AddPermission "
      "(InvokeFunction only through the URL)", ops)
reqs = json.loads(dry("aws:eu-west-1", trig_spec)[1])
by_op = [(urlsplit(r["url"]).path, r["headers"].get("X-Amz-Target"), r["headers"].get("Content-Type")) for r in reqs]
ck.ok([p for p, t, c in by_op] == ["/2015-03-31/functions", "/schedules/ops-nightly-s0", "/", "/2015-03-31/event-source-mappings"]
      and by_op[2][1:] == ("AmazonSQS.CreateQueue", "application/x-amz-json-1.0"),
      "triggers' create path: CreateFunction, CreateSchedule, CreateQueue (SQS JSON 1.0), CreateEventSourceMapping",
      by_op)
bodies = [json.loads(r["body"]) for r in reqs]
ck.ok(bodies[1]["ScheduleExpression"] == "cron(0 3 ? * 2-6 *)"
      and bodies[1]["Target"] == {"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:ops-nightly",
                                  "RoleArn": "arn:aws:iam::123456789012:role/fedbroker-scheduler"}
      and bodies[3]["EventSourceArn"] == "arn:aws:sqs:eu-west-1:123456789012:ops-jobs" and bodies[3]["BatchSize"] == 20,
      "the dry run shows the real ARNs (accountId set), the translated cron and the scheduler role", bodies[1:])
rc, out, err = dry("aws:eu-west-1", ctr_spec)
targets = [r["headers"].get("X-Amz-Target") for r in json.loads(out)]
ck.ok(targets == ["AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
                  "AmazonEC2ContainerServiceV20141113.CreateService",
                  "AnyScaleFrontendService.RegisterScalableTarget",
                  "AnyScaleFrontendService.PutScalingPolicy"], "Fargate create path", targets)
rc, out3, err = dry("aws:us-east-1", fn_spec)
rc, out4, err = env.run("apply", "--dry-run", "--format", "json", "--target", "aws:us-east-1", fn_spec,
                        env={"FEDBROKER_NOW": "2024-05-02T10:00:00Z"})
ck.ok(out3 != out4, "another FEDBROKER_NOW gives other signatures (the clock is used)")
ck.ok(fake.log() == [], "nothing was sent to the fake", fake.log())
ck.ok(not os.path.exists(os.path.join(env.home, "state.db")), "nothing was stored")
fake.close()
env.close()
ck.done()
