#!/usr/bin/python3
"""Lambda's asynchronous states, with the fake started with
--lambda-pending 2 (a new function stays Pending, an updated one
InProgress, for two GetFunction calls, and the fake refuses further updates
meanwhile with 409 as Lambda does): apply polls GetFunction until the
function is Active before the URL calls, and after UpdateFunctionCode until
the update is done before UpdateFunctionConfiguration; status reports
pending while an out-of-band update is in progress."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, ops, rejected  # noqa: E402

ck = Checker("aws pending states")
fake = Fake("--lambda-pending", "2")
env = Env(fake)


def spec(memory, key):
    return env.write(f"slow-{key}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: slow, tenant: p}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: p-code, key: {key}.zip}}}}
  resources: {{memory: {memory}}}
  triggers: [{{http: {{path: /, public: true}}}}]
""")


OK = {("GetFunction", "ResourceNotFoundException")}
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("256Mi", "v1"))
log = fake.log()
o = ops(log)
ck.ok(rc == 0, "apply of a function that starts Pending succeeds", err)
ck.ok(not rejected(log, OK), "no request was refused (nothing sent to a Pending function too early)",
      rejected(log, OK))
i, j = o.index("CreateFunction"), o.index("CreateFunctionUrlConfig")
# two Pending answers, then Active: three GetFunction calls in between
ck.ok(o[i + 1:j] == ["GetFunction"] * 3, "GetFunction is polled until Active, then the URL is created", o)
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec("512Mi", "v2"))
log = fake.log(mark)
o = ops(log)
ck.ok(rc == 0 and not rejected(log), "an update of code and configuration succeeds", (o, err, rejected(log)))
a, b = o.index("UpdateFunctionCode"), o.index("UpdateFunctionConfiguration")
ck.ok(o[a + 1:b].count("GetFunction") >= 2, "the configuration update waits until the code update is done", o)
cfg = fake.state()["lambda"]["us-east-1|p-slow"]["config"]
ck.ok(cfg["MemorySize"] == 512, "the new configuration is live", cfg)
# an update in progress shows as pending
fake.client("lambda").update_function_configuration(FunctionName="p-slow", Timeout=20)
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 4 and '"status": "pending"' in out, "status says pending while an update is in progress", out)
fake.close()
env.close()
ck.done()
