#!/usr/bin/python3
"""A portable secret materialised in AWS Secrets Manager at apply (issue 15,
item 3 on AWS), against tests/fakes/fake_aws.py, which validates every
request against the botocore 1.43.11 Secrets Manager model (the reference
subset in tests/reference/aws-models) and recomputes each SigV4
signature.

`fedbroker secret put db-password --tenant demo` stores a planted value; a
Container on Fargate names it as secret://db-password. apply --dry-run shows
CreateSecret with the value REDACTED. apply creates
fedbroker/demo/orders/db-password with the value (read back through a
botocore client), tagged managed-by=fedbroker, before the task definition
whose valueFrom names it, and records it. A second apply sends neither
CreateSecret nor PutSecretValue; after `secret put` of a new value, apply
sends one PutSecretValue (the new version becomes AWSCURRENT) and restarts
the tasks (UpdateService forceNewDeployment). A secret of the same name
without our tags is refused and left alone; a secret the broker does not
hold is an error at its pointer. destroy deletes the copy. Neither value is
in anything fedbroker printed (with FEDBROKER_LOG=debug) or stored.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import subprocess
import sys

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import FEDBROKER, Checker, Env, Fake, ops, settings  # noqa: E402

ck = Checker("identity aws secrets")
PLANT = "PLANTED-db-pass-3c9e1b"
PLANT2 = "PLANTED-rotated-8d27fa"
SM_NAME = "fedbroker/demo/orders/db-password"
fake = Fake()
env = Env(fake)
s = settings(fake)
s["endpoints"]["secretsmanager"] = fake.base
env.write_config(s)
env.env["FEDBROKER_LOG"] = "debug"
outputs = []


def run(*args, stdin=None):
    p = subprocess.run([FEDBROKER, *args], env=env.env, capture_output=True, timeout=300,
                       input=stdin.encode() if stdin is not None else None)
    out, err = p.stdout.decode(), p.stderr.decode()
    outputs.append(out + err)
    return p.returncode, out, err


def spec(name, secret):
    return env.write(f"{name}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: {name}, tenant: demo}}
spec:
  image: docker.io/acme/orders:1.4.2
  ports: [{{port: 8080, protocol: http}}]
  secrets: [{{env: DB_PASSWORD, ref: "secret://{secret}"}}]
  resources: {{memory: 1Gi, cpu: "0.5"}}
""")


def secret_state():
    return fake.state().get("secrets", {})


def current(sec):
    return [v["value"] for v in sec["versions"].values() if "AWSCURRENT" in v["stages"]]


try:
    orders = spec("orders", "db-password")
    T = ("--target", "aws:us-east-1")
    rc, out, err = run("secret", "put", "db-password", "--tenant", "demo", stdin=PLANT)
    ck.ok(rc == 0, "secret put db-password --tenant demo", err)
    rc, out, err = run("apply", spec("nosecret", "missing"), *T)
    ck.ok(rc == 2 and "no such secret" in err and "/spec/secrets/0/ref" in err and not secret_state(),
          "a secret the broker does not hold: exit 2 at its pointer, nothing created", (rc, err[-1500:]))
    run("destroy", "--workload", "nosecret", "--tenant", "demo")

    rc, out, err = run("apply", orders, *T, "--dry-run", "--format", "json")
    reqs = json.loads(out) if rc == 0 else []
    cs = [r for r in reqs if "secretsmanager.CreateSecret" in json.dumps(r)]
    ck.ok(rc == 0 and len(cs) == 1 and SM_NAME in json.dumps(cs[0]) and "REDACTED" in json.dumps(cs[0]),
          "dry run: one CreateSecret for the workload's copy, its value REDACTED", (rc, err[-1500:], out[:1500]))
    ck.ok(not secret_state(), "the dry run created nothing")

    mark = fake.seq()
    rc, out, err = run("apply", orders, *T)
    ck.ok(rc == 0, "apply creates the workload with its secret", err[-2000:])
    sec = secret_state().get(f"us-east-1|{SM_NAME}")
    ck.ok(sec is not None and current(sec) == [PLANT], "Secrets Manager holds the value as AWSCURRENT",
          sec and {k: v["stages"] for k, v in sec["versions"].items()})
    sm = fake.client("secretsmanager")
    got = sm.get_secret_value(SecretId=SM_NAME)
    ck.ok(got["SecretString"] == PLANT, "read back through botocore: the same value")
    ck.ok(sec and {"Key": "managed-by", "Value": "fedbroker"} in sec["tags"], "the copy is tagged managed-by=fedbroker",
          sec and sec["tags"])
    order = [e["operation"] for e in fake.log(mark) if e.get("operation") in ("CreateSecret", "RegisterTaskDefinition")]
    ck.ok(order == ["CreateSecret", "RegisterTaskDefinition"], "the secret exists before the task definition", order)
    tds = fake.state()["ecs_task_definitions"]
    vf = [sc for td in tds.values() for rev in td for c in rev.get("containerDefinitions", [])
          for sc in c.get("secrets", [])]
    ck.ok(vf and vf[-1] == {"name": "DB_PASSWORD", "valueFrom": SM_NAME},
          "the task definition reads DB_PASSWORD from the copy", vf)
    rows = env.db("SELECT type, cloud_id FROM resources WHERE type='secretsmanager-secret'")
    ck.ok(len(rows) == 1 and rows[0][1] == sec["arn"], "the copy is a recorded resource (its ARN)", rows)

    mark = fake.seq()
    rc, out, err = run("apply", orders, *T)
    sent = ops(fake.log(mark))
    ck.ok(rc == 0 and "CreateSecret" not in sent and "PutSecretValue" not in sent,
          "apply again: the same version is not sent again", sent)

    rc, out, err = run("secret", "put", "db-password", "--tenant", "demo", stdin=PLANT2)
    rc, out, err = run("status", "--format", "json")
    ck.ok(rc == 4 and f"secrets.{SM_NAME}.version" in out and "fedbroker-secret-version-00000000000000000002" in out,
          "status reports the copy's current version older than the broker's as drift", (rc, out[-1200:], err[-400:]))
    mark = fake.seq()
    rc, out, err = run("apply", orders, *T)
    log = fake.log(mark)
    sent = ops(log)
    sec = secret_state().get(f"us-east-1|{SM_NAME}")
    ck.ok(rc == 0 and sent.count("PutSecretValue") == 1 and current(sec) == [PLANT2] and len(sec["versions"]) == 2,
          "a new version: one PutSecretValue, now AWSCURRENT", (rc, sent, err[-1500:]))
    upd = [e for e in log if e.get("operation") == "UpdateService"]
    ck.ok(upd and upd[-1]["params"].get("forceNewDeployment") is True,
          "the service restarts its tasks to read it (forceNewDeployment)", upd and upd[-1]["params"])
    rc, out, err = run("status", "--format", "json")
    ck.ok(rc == 0 and f"secrets.{SM_NAME}.version" not in out, "and the drift is gone", (rc, out[-800:]))

    # a secret of the same name that is not ours
    sm.create_secret(Name="fedbroker/demo/other/db-password", SecretString="theirs-not-ours-value-0000")
    other = spec("other", "db-password")
    mark = fake.seq()
    rc, out, err = run("apply", other, *T)
    ck.ok(rc != 0 and "not managed by fedbroker" in err and "PutSecretValue" not in ops(fake.log(mark)),
          "a secret of that name without our tags is refused and left alone", (rc, err[-1500:]))
    run("destroy", "--workload", "other", "--tenant", "demo")
    ck.ok(sm.get_secret_value(SecretId="fedbroker/demo/other/db-password")["SecretString"] == "theirs-not-ours-value-0000",
          "its value is unchanged, also after destroy of that workload")

    for verb in (("status", "--format", "json"), ("discover", "--provider", "aws", "--format", "json"),
                 ("identity", "show", "orders", "--tenant", "demo"), ("secret", "list")):
        run(*verb)
    mark = fake.seq()
    rc, out, err = run("destroy", "--all")
    ck.ok(rc == 0 and "DeleteSecret" in ops(fake.log(mark)) and f"us-east-1|{SM_NAME}" not in secret_state(),
          "destroy deletes the workload's copy", (rc, err[-1500:]))

    for label, v in (("value", PLANT), ("new value", PLANT2)):
        ck.ok(not any(v in o for o in outputs), f"the {label} is in nothing fedbroker printed (debug log included)")
        ck.ok(not env.files_holding(v), f"the {label} is in no file of the state directory", env.files_holding(v))
finally:
    fake.close()
    env.close()
ck.done()
