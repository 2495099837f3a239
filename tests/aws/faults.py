#!/usr/bin/python3
"""Faults injected through the fake's control API, with the real CLI and
aws.so: throttling (429 ThrottlingException) and 500s are retried and the
apply succeeds; a connection reset on a non-idempotent call (CreateFunction,
RegisterTaskDefinition) is not resent and surfaces as an error with a
diagnostic; nothing is orphaned (every resource the fake holds that
fedbroker created has a row in the store); a same-named function of ours is
adopted, one that is not ours is refused."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import ACCOUNT, Checker, Env, Fake, ops  # noqa: E402

ck = Checker("aws faults")
fake = Fake()
env = Env(fake)


def spec(name, extra=""):
    return env.write(f"{name}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: {name}, tenant: ops}}
spec:
  runtime: nodejs20
  handler: index.handler
  code: {{s3: {{bucket: ops-code, key: {name}.zip}}}}
  resources: {{memory: 256Mi}}
  scaling: {{reservedConcurrency: 3}}
  triggers: [{{http: {{path: /, public: true}}}}]
{extra}""")


def orphans():
    """Functions and services in the fake tagged as fedbroker's that the
    store does not know."""
    st = fake.state()
    known = {r[0] for r in env.db("SELECT cloud_id FROM resources")}
    out = []
    for key, f in st["lambda"].items():
        if f.get("tags", {}).get("managed-by") == "fedbroker" and f["config"]["FunctionArn"] not in known:
            out.append(f["config"]["FunctionArn"])
    for key, s in st["ecs_services"].items():
        if s["status"] == "ACTIVE" and s["serviceArn"] not in known:
            out.append(s["serviceArn"])
    for key, revs in st["ecs_task_definitions"].items():
        out += [t["taskDefinitionArn"] for t in revs if t["taskDefinitionArn"] not in known]
    return out


# ---- throttling and 5xx are retried ------------------------------------------------------
fake.faults([
    {"count": 2, "status": 429, "service": "lambda", "operation": "GetFunction"},
    {"count": 1, "status": 500, "service": "lambda", "operation": "CreateFunction"},
    {"count": 1, "status": 503, "retry_after": 0, "service": "lambda", "operation": "PutFunctionConcurrency"},
    {"count": 1, "status": 429, "code": "TooManyRequestsException", "service": "lambda",
     "operation": "CreateFunctionUrlConfig"},
])
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("throttled"))
log = fake.log(mark)
o = [(e.get("operation"), e.get("status")) for e in log]
ck.ok(rc == 0, "apply succeeds through 429, 500 and 503 answers", (err, o))
ck.ok(o[:3] == [("GetFunction", 429), ("GetFunction", 429), ("GetFunction", 404)],
      "GetFunction: two throttled attempts, then the answer", o)
ck.ok(("CreateFunction", 500) in o and ("CreateFunction", 201) in o
      and o.count(("CreateFunction", 201)) == 1, "CreateFunction: the 500 is followed by one success", o)
ck.ok(("PutFunctionConcurrency", 503) in o and ("PutFunctionConcurrency", 200) in o, "the 503 is retried", o)
ck.ok(("CreateFunctionUrlConfig", 429) in o and ("CreateFunctionUrlConfig", 201) in o,
      "TooManyRequestsException is retried", o)
st = fake.state()["lambda"].get("us-east-1|ops-throttled", {})
ck.ok(st.get("concurrency") == 3 and st.get("url", {}).get("AuthType") == "NONE",
      "the function ends up complete", st)
ck.ok(not orphans(), "nothing orphaned", orphans())

# ---- a reset on CreateFunction (not idempotent) surfaces --------------------------------------
fake.faults([{"count": 1, "reset": True, "service": "lambda", "operation": "CreateFunction"}])
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("reset"))
log = fake.log(mark)
ck.ok(rc != 0, "a reset CreateFunction fails the apply", rc)
ck.ok("not idempotent" in err and "POST 127.0.0.1" in err and "/2015-03-31/functions" in err
      and "apply again" in err,
      "the diagnostic says what was sent and that it was not resent", err)
ck.ok(ops(log).count("CreateFunction") == 1, "CreateFunction was sent once", ops(log))
ck.ok("us-east-1|ops-reset" not in fake.state()["lambda"], "nothing was created")
ck.ok(not orphans(), "nothing orphaned", orphans())
rows = env.db("SELECT phase FROM journal WHERE workload='reset'")
ck.ok(rows == [("failed",)], "the journal row says failed", rows)
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("reset"))
ck.ok(rc == 0 and "us-east-1|ops-reset" in fake.state()["lambda"], "apply again succeeds", err)
ck.ok(not orphans(), "nothing orphaned", orphans())

# ---- a reset on RegisterTaskDefinition (not idempotent) surfaces -----------------------------------
ctr = env.write("ctr.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: ops}
spec:
  image: public.ecr.aws/nginx/nginx:1.25
  ports: [{port: 8080, public: true}]
  scaling: {minInstances: 2, maxInstances: 2}
""")
fake.faults([{"count": 1, "reset": True, "service": "ecs", "operation": "RegisterTaskDefinition"}])
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:eu-west-1", ctr)
ck.ok(rc != 0 and "not idempotent" in err, "a reset RegisterTaskDefinition fails with a diagnostic", err)
ck.ok(ops(fake.log(mark)).count("RegisterTaskDefinition") == 1, "and was sent once")
ck.ok(not orphans(), "nothing orphaned", orphans())
fake.faults([{"count": 1, "status": 429, "service": "ecs", "operation": "RegisterTaskDefinition"},
             {"count": 1, "status": 500, "service": "ecs", "operation": "CreateService"}])
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:eu-west-1", ctr)
o = [(e.get("operation"), e.get("status")) for e in fake.log(mark)]
ck.ok(rc == 0 and ("RegisterTaskDefinition", 429) in o and ("CreateService", 500) in o
      and ("CreateService", 200) in o, "throttled RegisterTaskDefinition and a 500 on the token-guarded "
      "CreateService are retried", (o, err))
svc = fake.state()["ecs_services"].get("eu-west-1|prod|ops-web", {})
ck.ok(svc.get("desiredCount") == 2 and svc.get("status") == "ACTIVE", "the service runs 2 tasks", svc)
ck.ok(not orphans(), "nothing orphaned", orphans())

# ---- adopt ours, refuse theirs --------------------------------------------------------------------------
lam = fake.client("lambda", "us-east-1")
lam.create_function(FunctionName="ops-adopted", Runtime="nodejs20.x", Role="arn:aws:iam::123456789012:role/x",
                    Handler="index.handler", Code={"S3Bucket": "ops-code", "S3Key": "old.zip"},
                    Tags={"managed-by": "fedbroker", "workload": "adopted", "tenant": "ops"})
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("adopted"))
o = ops(fake.log(mark))
ck.ok(rc == 0 and "CreateFunction" not in o and "UpdateFunctionCode" in o,
      "a function tagged managed-by=fedbroker is adopted and updated", (o, err))
ck.ok((f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ops-adopted",) in env.db("SELECT cloud_id FROM resources"),
      "and recorded")
lam.create_function(FunctionName="ops-taken", Runtime="nodejs20.x", Role="arn:aws:iam::123456789012:role/x",
                    Handler="index.handler", Code={"S3Bucket": "ops-code", "S3Key": "theirs.zip"})
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("taken"))
o = [e for e in fake.log(mark) if e.get("method") != "GET"]
ck.ok(rc == 1 and "not managed by fedbroker" in err, "a same-named function that is not ours is refused "
      "(conflict)", (rc, err))
ck.ok(not o, "and left untouched", ops(o))
ck.ok(fake.state()["lambda"]["us-east-1|ops-taken"]["code"]["S3"].endswith("theirs.zip@"), "its code is theirs")
fake.close()
env.close()
ck.done()
