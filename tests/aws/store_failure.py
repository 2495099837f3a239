#!/usr/bin/python3
"""The state store fails mid-apply (a trigger planted in state.db refuses
an insert, as a full or broken disk would): apply's writes go through a
writer thread that lanes wait for only before a request that may change
something, so the invariant must still hold through the real CLI, the
real aws.so and the botocore-checking fake:

  - the journal's intent cannot be stored: no CreateFunction is sent (the
    read-only GetFunction may be), apply fails with the store's message;
  - a recorded ARN cannot be stored: the function exists, the message says
    so and where (never "not sent"), the next change
    (CreateFunctionUrlConfig) is not sent and apply fails; once the store
    works again, apply adopts the function and finishes, or destroy finds
    it by its name and deletes it (issue 9, item 2);
  - the other workloads of the same apply are not held back by one that
    failed;
  - destroy: when its intent cannot be stored, no DeleteFunction is sent;
    once the store works, destroy removes the function and its rows."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, ops  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: {name}, tenant: sf}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: sf-code, key: {name}.zip}}}}
{extra}"""


def spec(env, names, public=False):
    extra = "  triggers: [{http: {path: /, public: true}}]\n" if public else ""
    return env.write("fns.yaml", "---\n".join(FN.format(name=n, extra=extra) for n in names))


def plant(env, table, message):
    env.run("status")  # creates and migrates the store
    env.db(f"CREATE TRIGGER planted BEFORE INSERT ON {table} "
           f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def main():
    ck = Checker("aws store failure")
    fake = Fake()

    # 1. the intent cannot be stored: nothing is created
    env = Env(fake)
    plant(env, "journal", "planted journal failure")
    rc, out, err = env.run("apply", "--parallelism", "4", "--target", "aws:us-east-1",
                           spec(env, ["a1", "a2", "a3"]))
    o = ops(fake.log())
    ck.ok(rc != 0, "apply fails", (rc, out, err))
    ck.ok("CreateFunction" not in o, "no CreateFunction was sent", o)
    ck.ok(not fake.state()["lambda"], "the fake holds no function", fake.state()["lambda"])
    ck.ok("planted journal failure" in err and "not sent" in err,
          "the error names the store's failure and the refused request", err)
    env.close()

    # 2. a recorded ARN cannot be stored: the next change is not sent
    fake.reset()
    env = Env(fake)
    plant(env, "resources", "planted resource failure")
    mark = fake.seq()
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec(env, ["b1"], public=True))
    o = ops(fake.log(mark))
    ck.ok(rc != 0, "apply fails", (rc, out, err))
    ck.ok("CreateFunction" in o and "CreateFunctionUrlConfig" not in o,
          "the function was created, its URL (the next change) was not", o)
    ck.ok("planted resource failure" in err, "the error names the store's failure", err)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:sf-b1"
    ck.ok(f"lambda-function {arn} (name sf-b1) exists at aws in us-east-1" in err
          and "not sent" not in err,
          "the message says the function exists and where (type, ARN, name, region), not `not sent`",
          err)
    ck.ok(env.db("SELECT phase FROM journal") == [("failed",)], "the journal row is closed as failed",
          env.db("SELECT phase FROM journal"))
    env.db("DROP TRIGGER planted")
    mark = fake.seq()
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec(env, ["b1"], public=True))
    o = ops(fake.log(mark))
    ck.ok(rc == 0 and "CreateFunction" not in o and "CreateFunctionUrlConfig" in o,
          "with the store back, apply adopts the function and adds its URL", (rc, o, err))
    ck.ok(len(env.db("SELECT cloud_id FROM resources")) >= 1, "the ARN is in the store now",
          env.db("SELECT cloud_id FROM resources"))
    env.close()

    # 2b. the same, then destroy right away: it finds the function by its name
    fake.reset()
    env = Env(fake)
    plant(env, "resources", "planted resource failure")
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec(env, ["b2"], public=True))
    ck.ok(rc != 0 and "us-east-1|sf-b2" in fake.state()["lambda"] and not env.db("SELECT * FROM resources"),
          "apply fails with the function created and its ARN not stored", (rc, err))
    env.db("DROP TRIGGER planted")
    mark = fake.seq()
    rc, out, err = env.run("destroy", "--all")
    o = ops(fake.log(mark))
    ck.ok(rc == 0 and "DeleteFunction" in o and "us-east-1|sf-b2" not in fake.state()["lambda"],
          "destroy --all looks the function up by its name and deletes it", (rc, o, out, err))
    ck.ok(not env.db("SELECT * FROM deployments") and not env.db("SELECT * FROM resources"),
          "and removes its rows", env.db("SELECT * FROM deployments"))
    env.close()

    # 3. one workload's failure does not hold back the others
    fake.reset()
    env = Env(fake)
    env.run("status")
    env.db("CREATE TRIGGER planted BEFORE INSERT ON journal WHEN NEW.workload = 'c2' "
           "BEGIN SELECT RAISE(ABORT, 'planted failure for c2'); END")
    rc, out, err = env.run("apply", "--parallelism", "4", "--target", "aws:us-east-1",
                           spec(env, ["c1", "c2", "c3"]))
    names = sorted(k.split("|")[1] for k in fake.state()["lambda"])
    ck.ok(rc != 0 and names == ["sf-c1", "sf-c3"], "c1 and c3 are created, c2 is not", (rc, names, err))
    ck.ok(sorted(r[0] for r in env.db("SELECT workload FROM deployments WHERE state = 'applied'"))
          == ["c1", "c3"], "the store shows c1 and c3 applied",
          env.db("SELECT workload, state FROM deployments"))
    env.close()

    # 4. destroy's intent cannot be stored: nothing is deleted
    fake.reset()
    env = Env(fake)
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec(env, ["d1"]))
    ck.ok(rc == 0 and "us-east-1|sf-d1" in fake.state()["lambda"], "d1 applied", (rc, err))
    env.db("CREATE TRIGGER planted BEFORE INSERT ON journal WHEN NEW.op = 'destroy' "
           "BEGIN SELECT RAISE(ABORT, 'planted destroy failure'); END")
    mark = fake.seq()
    rc, out, err = env.run("destroy", "--all")
    o = ops(fake.log(mark))
    ck.ok(rc != 0 and "DeleteFunction" not in o and "us-east-1|sf-d1" in fake.state()["lambda"],
          "destroy fails and sends no DeleteFunction", (rc, o, err))
    ck.ok("planted destroy failure" in err, "the error names the store's failure", err)
    ck.ok(env.db("SELECT workload FROM deployments") == [("d1",)], "the deployment row stays",
          env.db("SELECT workload FROM deployments"))
    env.db("DROP TRIGGER planted")
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and "us-east-1|sf-d1" not in fake.state()["lambda"]
          and not env.db("SELECT * FROM deployments") and not env.db("SELECT * FROM resources"),
          "with the store back, destroy removes the function and its rows", (rc, err))
    ck.ok(env.db("SELECT op, phase FROM journal WHERE op = 'destroy'") == [("destroy", "done")],
          "the journal shows the destroy done", env.db("SELECT op, phase FROM journal"))
    env.close()

    fake.close()
    ck.done()


if __name__ == "__main__":
    main()
