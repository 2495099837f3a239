#!/usr/bin/python3
"""A create whose answer is lost (issue 9, item 1): the fake creates the
function, then resets the connection (a fault with "after": true).
CreateFunction is not idempotent, so fedbroker does not resend it and the
apply fails, not knowing whether the function exists.

  - the deployment stays in the store (failed, with its spec), so
    `destroy --all` looks the function up by its name, adopts it and
    deletes it: the fake ends empty (today's main dropped the row and the
    function stayed, untracked);
  - a clear refusal (400 before anything is created) leaves no row, as
    before."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, ops  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: {name}, tenant: la}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: la-code, key: {name}.zip}}}}
"""


def main():
    ck = Checker("aws lost answer")
    fake = Fake()
    env = Env(fake)
    spec = env.write("lost.yaml", FN.format(name="lost"))
    fake.faults([{"count": 1, "reset": True, "after": True, "service": "lambda",
                  "operation": "CreateFunction"}])
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
    ck.ok(rc != 0 and "us-east-1|la-lost" in fake.state()["lambda"],
          "apply fails, and the function exists at the fake", (rc, err))
    ck.ok(env.db("SELECT workload, state FROM deployments") == [("lost", "failed")]
          and env.db("SELECT count(*) FROM deployments WHERE spec_json IS NOT NULL") == [(1,)],
          "the deployment stays in the store, failed, with its spec",
          env.db("SELECT workload, state FROM deployments"))
    mark = fake.seq()
    rc, out, err = env.run("destroy", "--all")
    o = ops(fake.log(mark))
    ck.ok(rc == 0 and "DeleteFunction" in o and not fake.state()["lambda"],
          "destroy --all finds it by name and deletes it", (rc, o, out, err))
    ck.ok(not env.db("SELECT * FROM deployments"), "and forgets the deployment")

    spec = env.write("refused.yaml", FN.format(name="refused"))
    fake.faults([{"count": 1, "status": 400, "code": "InvalidParameterValueException",
                  "service": "lambda", "operation": "CreateFunction"}])
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
    ck.ok(rc != 0 and not fake.state()["lambda"] and not env.db("SELECT * FROM deployments"),
          "a clear refusal creates nothing and leaves no deployment row",
          (rc, err, env.db("SELECT workload, state FROM deployments")))
    fake.close()
    env.close()
    ck.done()


if __name__ == "__main__":
    main()
