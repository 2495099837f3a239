#!/usr/bin/python3
"""Crash safety: the fake holds the request after CreateFunction (the
CreateFunctionUrlConfig of a public function) and the test kills fedbroker
with SIGKILL while it waits. The function ARN must already be in the store
(recorded right after CreateFunction returned), the journal row stays an
open intent, and the function is not lost:

  crash.py          apply again resumes (adopts the function, no second
                    CreateFunction), then `fedbroker destroy --all` removes it
                    from the fake;
  crash_destroy.py  `fedbroker destroy --all` right after the crash removes
                    it (core leaves a "creating" deployment row before the
                    first create, so destroy finds the recorded ARN)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import ACCOUNT, Checker, Env, Fake, ops, wait_for  # noqa: E402

ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:crash-victim"


def run(destroy_right_away):
    ck = Checker("aws crash" + (" (destroy right away)" if destroy_right_away else ""))
    fake = Fake()
    env = Env(fake)
    spec = env.write("victim.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: victim, tenant: crash}
spec:
  runtime: python3.12
  handler: app.handler
  code: {s3: {bucket: crash-code, key: victim.zip}}
  triggers: [{http: {path: /, public: true}}]
""")
    fake.faults([{"count": 1, "delay_ms": 60000, "service": "lambda",
                  "operation": "CreateFunctionUrlConfig"}])
    p = env.popen("apply", "--target", "aws:us-east-1", spec)
    held = wait_for(lambda: any(e.get("operation") == "CreateFunctionUrlConfig" for e in fake.log()), 60)
    ck.ok(held, "the fake holds the request after CreateFunction")
    p.send_signal(signal.SIGKILL)
    p.wait()
    ck.ok(p.returncode == -signal.SIGKILL, "fedbroker was killed mid-apply", p.returncode)
    fake.clear_faults()
    ck.ok("us-east-1|crash-victim" in fake.state()["lambda"], "the function exists in the fake")
    rows = env.db("SELECT type, cloud_id, tenant, workload FROM resources")
    ck.ok(("lambda-function", ARN, "crash", "victim") in rows, "its ARN is already in the store", rows)
    ck.ok(env.db("SELECT op, phase FROM journal") == [("apply", "intent")],
          "the journal row is an open intent", env.db("SELECT op, phase FROM journal"))
    if not destroy_right_away:
        mark = fake.seq()
        rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
        o = ops(fake.log(mark))
        ck.ok(rc == 0 and "CreateFunction" not in o and "CreateFunctionUrlConfig" in o,
              "apply again resumes: adopts the function, finishes the URL", (o, err))
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and "us-east-1|crash-victim" not in fake.state()["lambda"],
          "`fedbroker destroy --all` removes the function from the fake", (rc, out, err))
    ck.ok(not env.db("SELECT * FROM resources"), "and from the store", env.db("SELECT * FROM resources"))
    fake.close()
    env.close()
    ck.done()


if __name__ == "__main__":
    run(False)
